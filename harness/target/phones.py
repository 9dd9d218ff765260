"""The phone factory: virtual phones set up as the manual says, on one runtime and one clock.

Terminals come from the tenant's 内線番号情報1 rows with their app profile (P.3–P.5, P.7);
external subscribers register on the target's carrier side. Every phone's SIP is recorded into
one pcap and one text ladder (evidence, ../shared/STYLE.md §12).

``PhoneFactory.for_target(runtime, target, guide)`` points everything at one ``Target``: the
resolver is the DNS a person's phone would have — the tenant's 内線サーバアドレス and
内線サーバアドレス(UNO接続) both lead to ``target.sip`` — subscribers (``subscriber(number)``)
register on ``target.carrier``, and the phones' clock runs at ``target.time_scale`` (one time
scale per run: the answer delays are scaled like the service's own timers).
"""

from __future__ import annotations

from pathlib import Path

from harness.clock import Clock, ScaledClock
from harness.errors import HarnessError
from harness.guide.types import Guide, Terminal, TerminalKind
from harness.sip.app import (
    AccountSettings,
    AppProfile,
    ConnectionMode,
    FlexibleInterConnect,
    Network,
    Platform,
)
from harness.sip.ladder import LadderTap
from harness.sip.pcap import PcapTap
from harness.sip.phone import DEFAULT_EXPIRES, Phone, TransportName
from harness.sip.resolver import Resolver
from harness.sip.runtime import Runtime
from harness.sip.transport import Address, Faults
from harness.target.model import Capability, MissingCapability, SipEndpoint, Target

#: Default time scale of the phones' service timers (1 simulated second = 10 ms).
DEFAULT_PHONE_SCALE = 0.01


class PhoneFactory:
    """Makes ``Phone``s on one runtime with one clock and resolver; ``close()`` closes all.

    ``resolver`` may be replaced between phones (e.g. once the server under test is up).
    ``target`` (set by ``for_target``) says where subscribers register and which transport
    phones use by default.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        clock: Clock,
        resolver: Resolver | None = None,
        pcap: Path | None = None,
        ladder: Path | None = None,
        target: Target | None = None,
        media: bool = False,
    ) -> None:
        self.runtime = runtime
        #: Phones made from now on exchange RTP on their calls (harness.sip.media).
        self.media = media
        self.clock = clock
        self.resolver = resolver or Resolver()
        self.target = target
        self.phones: list[Phone] = []
        self.pcap_path = pcap
        self._pcap = PcapTap(pcap) if pcap is not None else None
        self._ladder_path = ladder
        self.ladder = LadderTap()

    @classmethod
    def for_target(
        cls,
        runtime: Runtime,
        target: Target,
        guide: Guide,
        *,
        pcap: Path | None = None,
        ladder: Path | None = None,
    ) -> PhoneFactory:
        """A factory whose phones reach ``target``: terminals of ``guide`` send to
        ``target.sip`` (their SIPサーバ stays the 内線サーバアドレス, as the manual says),
        subscribers to ``target.carrier``; the clock runs at ``target.time_scale``; phones
        exchange RTP on their calls when the target has ``media``."""
        return cls(
            runtime,
            clock=ScaledClock(target.time_scale, loop=runtime.loop),
            resolver=target_resolver(target, guide),
            pcap=pcap,
            ladder=ladder,
            target=target,
            media=target.has(Capability.MEDIA),
        )

    @property
    def transport(self) -> TransportName:
        """The transport phones use unless told otherwise: the target's SIP transport."""
        if self.target is not None and self.target.sip.transport == "tcp":
            return "TCP"
        return "UDP"

    def find(self, name: str, *, platform: Platform | None = None) -> Phone | None:
        """The newest open phone named ``name`` (a 内線番号 or an external number), if any;
        with ``platform``, the newest whose app runs on that platform."""
        return next(
            (
                p
                for p in reversed(self.phones)
                if p.name == name and (platform is None or p.profile.platform is platform)
            ),
            None,
        )

    def subscriber(self, number: str) -> Phone:
        """An external phone of ``number`` on the target's carrier side (not yet registered):
        the harness's external test number. MissingCapability CARRIER without one."""
        if self.target is None:
            raise HarnessError(
                "this PhoneFactory was not made for a target (PhoneFactory.for_target): "
                "it does not know the carrier side"
            )
        carrier = self.target.carrier
        if carrier is None:
            raise MissingCapability(self.target.name, (Capability.CARRIER,))
        return self.phone(
            number,
            user_id=number,
            password="unused",  # the carrier side of the simulator asks for none
            sip_server=f"{carrier.host}:{carrier.port}",
            network=Network.cellular(),
            transport="TCP" if carrier.transport == "tcp" else "UDP",
        )

    def phone(
        self,
        name: str,
        *,
        user_id: str,
        password: str,
        sip_server: str,
        platform: Platform = Platform.ANDROID,
        service_code: str | None = None,
        flexible_interconnect: FlexibleInterConnect | None = None,
        network: Network | None = None,
        transport: TransportName | None = None,
        expires: int = DEFAULT_EXPIRES,
        faults: Faults | None = None,
    ) -> Phone:
        """A phone whose app is set up with exactly these settings (not yet registered);
        ``transport`` defaults to the target's (UDP without a target)."""
        profile = AppProfile(
            platform=platform,
            account=AccountSettings(
                user_id=user_id,
                password=password,
                sip_server=sip_server,
                service_code=service_code,
            ),
            flexible_interconnect=flexible_interconnect,
            network=network or _default_network(platform),
        )
        return self.from_profile(name, profile, transport=transport, expires=expires, faults=faults)

    def from_profile(
        self,
        name: str,
        profile: AppProfile,
        *,
        transport: TransportName | None = None,
        expires: int = DEFAULT_EXPIRES,
        faults: Faults | None = None,
    ) -> Phone:
        phone = Phone.open(
            self.runtime,
            name=name,
            profile=profile,
            resolver=self.resolver,
            clock=self.clock,
            transport=transport or self.transport,
            expires=expires,
            faults=faults,
            taps=(self.ladder, self._pcap) if self._pcap is not None else (self.ladder,),
            media=self.media,
        )
        self.ladder.name(phone.local, name)
        self.phones.append(phone)
        return phone

    def for_terminal(
        self,
        guide: Guide,
        terminal: Terminal,
        *,
        platform: Platform | None = None,
        network: Network | None = None,
        wifi_names: tuple[str, ...] = (),
        **options: object,
    ) -> Phone:
        """The phone of one 内線番号情報1 row, set up as the manual says: ユーザID = 端末ID,
        パスワード, SIPサーバ = 内線サーバアドレス, サービスコード when the guide has one, and the
        UNO address (with ``wifi_names``) when the guide has 内線サーバアドレス(UNO接続).
        Named by its 内線番号. ``platform`` defaults by 端末種別 (スマートフォン → Android)."""
        customer = guide.customer
        chosen = platform or platform_for(terminal.terminal_kind)
        fic = None
        if customer.uno_address and chosen is not Platform.IP_PHONE:
            fic = FlexibleInterConnect(
                uno_server=customer.uno_address,
                wifi_names=wifi_names,
                connection_mode=ConnectionMode.FLEXIBLE_INTERCONNECT,
            )
        return self.phone(
            terminal.extension,
            user_id=terminal.terminal_id,
            password=terminal.password,
            sip_server=customer.sip_domain,
            platform=chosen,
            service_code=customer.service_code,
            flexible_interconnect=fic,
            network=network,
            **options,  # type: ignore[arg-type]
        )

    def for_guide(self, guide: Guide, **options: object) -> dict[str, Phone]:
        """One phone per 内線番号情報1 row, keyed by 内線番号."""
        return {
            terminal.extension: self.for_terminal(guide, terminal, **options)  # type: ignore[arg-type]
            for terminal in guide.terminals
        }

    def pcap_mark(self) -> int:
        """Where the phones' pcap stands (0 without one): give it to ``pcap_since``."""
        return self._pcap.mark() if self._pcap is not None else 0

    def pcap_since(self, mark: int) -> Path | None:
        """A pcap of the phones' packets since ``pcap_mark()`` (beside the run's pcap, replaced
        at each call), or None without a capture or packets: the evidence of one step or check
        without copying the whole run's capture each time."""
        if self._pcap is None or self.pcap_path is None:
            return None
        return self._pcap.write_since(mark, self.pcap_path.with_suffix(".part.pcap"))

    def close(self) -> None:
        """Close every phone made (unregistering the registered ones), then the pcap."""
        errors: list[BaseException] = []
        for phone in reversed(self.phones):
            try:
                phone.close()
            except Exception as exc:  # keep closing the others; report the first
                errors.append(exc)
        self.phones.clear()
        if self._pcap is not None:
            self._pcap.close()
        if self._ladder_path is not None:
            self.ladder.write(self._ladder_path)
        if errors:
            raise errors[0]


def target_resolver(target: Target, guide: Guide) -> Resolver:
    """The resolver of a run on ``target``: 内線サーバアドレス and 内線サーバアドレス(UNO接続)
    → ``target.sip``; the carrier proxy → itself. IP literals of a remote target pass."""
    entries = {guide.customer.sip_domain: _address(target.sip)}
    if guide.customer.uno_address:
        entries[guide.customer.uno_address] = _address(target.sip)
    if target.carrier is not None:
        entries[f"{target.carrier.host}:{target.carrier.port}"] = _address(target.carrier)
    return Resolver(entries=entries, allow_remote=target.kind == "remote")


def _address(endpoint: SipEndpoint) -> Address:
    return Address(host=endpoint.host, port=endpoint.port)


#: The app platforms each 端末種別 can run, the default first (DOMAIN.md "Terminal kinds"): a
#: スマートフォン runs the Android (P.3) or the iPhone (P.4) app, a ソフトフォン the Windows PC app
#: (P.5); an IP Phone / VoIP-GW is no app (Platform.IP_PHONE).
PLATFORMS: dict[TerminalKind, tuple[Platform, ...]] = {
    TerminalKind.SMARTPHONE: (Platform.ANDROID, Platform.IPHONE),
    TerminalKind.SOFTPHONE: (Platform.WINDOWS,),
    TerminalKind.IP_PHONE: (Platform.IP_PHONE,),
    TerminalKind.VOIP_GW: (Platform.IP_PHONE,),
}


def platforms_for(kind: TerminalKind) -> tuple[Platform, ...]:
    """Every app platform a 端末種別 can run, the default (``platform_for``) first."""
    return PLATFORMS[kind]


def platform_for(kind: TerminalKind) -> Platform:
    """The app platform a 端末種別 runs by default (スマートフォン → Android; the iPhone app
    is chosen explicitly with ``platform=``)."""
    return PLATFORMS[kind][0]


def _default_network(platform: Platform) -> Network:
    if platform in (Platform.WINDOWS, Platform.IP_PHONE):
        return Network.wired()
    return Network.cellular()
