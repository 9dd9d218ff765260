"""``VirtualApp``: a Smart PBX app as the manual's reader uses it — screens, taps, typed settings.

A phone from the run's PhoneFactory (``ctx.phones``) wrapped with its platform's screens
(:mod:`harness.sip.app_screens`). A flow opens the app, taps what the manual says to tap, types
what the ご利用内容のご案内 says to type, and reads what the app shows::

    app = VirtualApp(ctx, terminal, Platform.ANDROID)
    app.open()                          # 起動画面
    app.tap("設定画面へ")                # → アカウント設定
    app.enter_account(user_id=…, password=…, sip_server=tenant's 内線サーバアドレス)
    app.tap("保存")                      # applies the settings: the REGISTER leaves now
    app.status()                        # 通話不可 while registering, then 通話可能 …

The SIPサーバ typed is the tenant's 内線サーバアドレス (or, for Flexible InterConnect, its
内線サーバアドレス(UNO接続)); the factory's resolver maps both names to the target's SIP proxy
(``target.sip``), so the same flow runs on the embedded simulator, a remote deployment or a plain
SIP server. The phones speak the target's transport (``[sip] transport``).

The button a screen ``applies`` with (保存, キーパッド) is the moment the app takes the settings
and (re-)registers: :meth:`Phone.start_register` begins the REGISTER, and ``shown_while_
registering`` keeps what the app showed while it was in flight (P.3 ⑨ そのままお待ちください).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from harness.errors import ConformanceFailure
from harness.flows.applicability import NotApplicable
from harness.guide.types import Tenant, Terminal, TerminalKind
from harness.sip.app import (
    NOT_CALLABLE,
    AccountSettings,
    AppProfile,
    ConnectionMode,
    FlexibleInterConnect,
    Network,
    Platform,
    RegistrationState,
    Route,
)
from harness.sip.app_screens import (
    ACCOUNT,
    FIC,
    WIFI,
    Screen,
    ScreenError,
    indicator,
    screen,
    start_screen,
)
from harness.sip.phone import CallHandle, Phone, TransportName
from harness.sip.resolver import Resolver
from harness.sip.transport import Address
from harness.target.model import Target

if TYPE_CHECKING:
    from harness.flows.context import FlowContext

#: The 端末種別 whose 内線番号情報1 rows each app runs (the manual's page per platform).
APP_TERMINAL_KIND: dict[Platform, TerminalKind] = {
    Platform.ANDROID: TerminalKind.SMARTPHONE,
    Platform.IPHONE: TerminalKind.SMARTPHONE,
    Platform.WINDOWS: TerminalKind.SOFTPHONE,
}

#: Real seconds an app waits for its registration to settle: covers Timer F (32 s) of a
#: server that never answers, so the verdict is "unreachable", never a hang.
SETTLE_TIMEOUT = 40.0


def app_resolver(target: Target, tenant: Tenant) -> Resolver:
    """What DNS is for a real app: the tenant's 内線サーバアドレス and, when it has one, its
    内線サーバアドレス(UNO接続) both lead to the target's SIP proxy (``target.sip``). The phone
    factory of a run needs exactly this for the app flows (P.7 types the UNO address)."""
    proxy = Address(host=target.sip.host, port=target.sip.port)
    customer = tenant.guide.customer
    names = {customer.sip_domain: proxy}
    if customer.uno_address is not None:
        names[customer.uno_address] = proxy
    return Resolver(entries=names, allow_remote=target.kind == "remote")


def terminal_for(tenant: Tenant, platform: Platform) -> Terminal:
    """The first 内線番号情報1 row whose 端末種別 runs ``platform``'s app; NotApplicable when
    the tenant has none (the manual's page for that platform has nothing to do)."""
    kind = APP_TERMINAL_KIND[platform]
    for terminal in tenant.guide.terminals:
        if terminal.terminal_kind is kind:
            return terminal
    raise NotApplicable(
        f"内線番号情報1 has no terminal of 端末種別 {kind.value}: the {platform} app "
        "page of the manual has no user in this tenant"
    )


def expect(ok: bool, *, what: str, expected: str, seen: str) -> None:
    """ConformanceFailure ``what: expected …, the target/app showed …`` unless ``ok``."""
    if not ok:
        raise ConformanceFailure(f"{what}: expected {expected}, saw {seen}")


class VirtualApp:
    """One installed app on one terminal: screens, typed settings and the phone behind them."""

    def __init__(
        self,
        ctx: FlowContext,
        terminal: Terminal,
        platform: Platform,
        *,
        network: Network | None = None,
    ) -> None:
        if platform not in APP_TERMINAL_KIND:
            raise ValueError(f"{platform} has no app in the manual (P.3–P.5)")
        self.ctx = ctx
        self.terminal = terminal
        self.platform = platform
        self.network = network or _default_network(platform)
        self.name = f"{terminal.extension} {platform}"
        self._screen: Screen | None = None
        self._typed: dict[str, str] = {}
        self._uno_server: str | None = None
        self._wifi_names: tuple[str, ...] = ()
        self._connection_mode = ConnectionMode.NORMAL
        self._phone: Phone | None = None
        #: What the app showed while the last REGISTER was in flight (None before any).
        self.shown_while_registering: str | None = None

    # -- screens ---------------------------------------------------------------------------------

    def open(self) -> Screen:
        """Launch the app: its first screen (P.3 ⑤, P.4 キーボード, P.5 ⑨)."""
        self._screen = start_screen(self.platform)
        return self._screen

    def screen(self) -> Screen:
        """The screen the app shows now (ScreenError before ``open``)."""
        if self._screen is None:
            raise ScreenError(f"the {self.platform} app of {self.terminal.extension} is not open")
        return self._screen

    def tap(self, label: str) -> Screen:
        """Tap ``label`` on the current screen; the button a screen applies with (保存,
        キーパッド) takes the settings typed and begins registering. Returns the new screen."""
        current = self.screen()
        target = current.leads_to(label)
        if label in current.applies:
            self._apply()
        self._screen = screen(self.platform, target)
        return self._screen

    def go(self, *labels: str) -> Screen:
        """Tap ``labels`` in order (a path of the manual: 設定 → アプリの設定 → …)."""
        for label in labels:
            self.tap(label)
        return self.screen()

    # -- typing ----------------------------------------------------------------------------------

    def enter_account(
        self,
        *,
        user_id: str,
        password: str,
        sip_server: str,
        service_code: str | None = None,
    ) -> None:
        """Type アカウント設定 (on that screen): ユーザID, パスワード, SIPサーバ, サービスコード."""
        self._on(ACCOUNT)
        fields = self.screen().fields
        values = (user_id, password, sip_server, service_code or "")
        self._typed.update(zip(fields, values, strict=False))

    def enter_uno_server(self, address: str) -> None:
        """Flexible InterConnect接続設定 › SIPサーバ (P.7 ①–④)."""
        self._on(FIC)
        self._uno_server = address

    def set_connection_mode(self, mode: ConnectionMode) -> None:
        """Windows PC: Flexible InterConnect接続設定 › 接続モード (P.7 Windows ②)."""
        self._on(FIC)
        self._connection_mode = mode

    def add_wifi(self, network_name: str) -> None:
        """Wi-Fi登録 › 追加 / ネットワーク追加 › ネットワーク名 (P.7 ⑦–⑨)."""
        self._on(WIFI)
        if network_name not in self._wifi_names:
            self._wifi_names = (*self._wifi_names, network_name)

    def typed(self, field: str) -> str | None:
        """What the user typed into ``field`` of アカウント設定 (None: left empty)."""
        return self._typed.get(field) or None

    def move_to(self, network: Network, *, timeout: float = SETTLE_TIMEOUT) -> str:
        """The phone joins ``network`` (another Wi-Fi, 3G/LTE): the app registers again through
        the address the Flexible InterConnect rule picks; returns the status then shown."""
        self.network = network
        self._apply()
        return self.wait_settled(timeout)

    # -- what the app shows ----------------------------------------------------------------------

    def status(self) -> str:
        """The status text as the app shows it (通話不可 before any registration)."""
        return self._phone.status_text if self._phone is not None else NOT_CALLABLE

    def state(self) -> RegistrationState:
        if self._phone is None:
            return RegistrationState.UNREGISTERED
        return self._phone.registration_state

    def indicator(self) -> str | None:
        """電話アイコン (Android status bar) / 緑マーク (Windows キーパッド) when usable."""
        return indicator(self.platform, self.screen().name, self.state())

    def route(self) -> Route:
        """The address the app registers through now (internet or UNO, P.7's rule)."""
        return self.profile().route()

    def server(self) -> str:
        return self.profile().server()

    def last_answer(self) -> str:
        """The last REGISTER answer or error, for evidence and failure messages."""
        phone = self._phone
        if phone is None:
            return "no REGISTER sent"
        status = phone.virtual.last_register_status
        error = phone.virtual.last_error
        parts = [f"REGISTER answered {status}" if status is not None else "no answer"]
        if error:
            parts.append(error)
        return "; ".join(parts)

    def wait_settled(self, timeout: float = SETTLE_TIMEOUT) -> str:
        """Wait until the REGISTER in flight has an outcome; the status text then shown."""
        phone = self.phone
        try:
            return phone.wait_settled(timeout)
        except TimeoutError:
            raise ConformanceFailure(
                f"{self.name}: the registration had no outcome within {timeout} s "
                f"(the app kept showing {phone.status_text})"
            ) from None

    @property
    def has_phone(self) -> bool:
        """The settings have been applied at least once (there is a phone behind the app)."""
        return self._phone is not None

    @property
    def phone(self) -> Phone:
        """The phone behind the app (the settings have been applied at least once)."""
        if self._phone is None:
            raise ScreenError(f"the {self.platform} app has not applied any settings yet")
        return self._phone

    def call(self, number: str, *, button: Literal["IP電話モード", "IP電話"]) -> CallHandle:
        """Dial ``number`` from the keyboard / keypad screen with the platform's call button."""
        current = self.screen()
        if button not in current.words:
            raise ScreenError(f"{self.platform} app, {current.name}: there is no 「{button}」")
        return self.phone.call(number)

    def close(self) -> None:
        """Quit the app: unregister and close the phone (the factory closes it otherwise)."""
        if self._phone is not None:
            self._phone.close()

    # -- internals -------------------------------------------------------------------------------

    def profile(self) -> AppProfile:
        """The settings as typed so far, as the app would apply them."""
        fields = screen(self.platform, ACCOUNT).fields
        user_field, password_field, server_field = fields[:3]
        fic = None
        if self._uno_server is not None:
            fic = FlexibleInterConnect(
                uno_server=self._uno_server,
                wifi_names=self._wifi_names,
                connection_mode=self._connection_mode,
            )
        return AppProfile(
            platform=self.platform,
            account=AccountSettings(
                user_id=self._typed.get(user_field, ""),
                password=self._typed.get(password_field, ""),
                sip_server=self._typed.get(server_field, ""),
                service_code=self._typed.get("サービスコード") or None,
            ),
            flexible_interconnect=fic,
            network=self.network,
        )

    def _apply(self) -> None:
        profile = self.profile()
        if self._phone is None:
            self._phone = self.ctx.phones.from_profile(
                self.name, profile, transport=transport_of(self.ctx)
            )
        else:
            self._phone.reconfigure(profile)
        self.shown_while_registering = self._phone.start_register()

    def _on(self, name: str) -> None:
        current = self.screen()
        if current.name != name:
            raise ScreenError(
                f"{self.platform} app: the fields of {name} are not on {current.name}"
            )


def transport_of(ctx: FlowContext) -> TransportName:
    """The phones' transport: the target's ``[sip] transport``."""
    return "TCP" if ctx.target.sip.transport == "tcp" else "UDP"


def _default_network(platform: Platform) -> Network:
    return Network.wired() if platform is Platform.WINDOWS else Network.cellular()
