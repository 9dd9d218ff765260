"""What a run is pointed at: a ``Target`` and its capabilities (DESIGN.md "Data flow").

The same suite runs against every target; only the ``Target`` differs. A capability the target
lacks makes the checks that need it *skipped with that capability named* (``MissingCapability``),
never silently passed. Two kinds of target exist: ``embedded`` (the harness starts
``smartpbx-harness serve`` as a process on free loopback ports, :mod:`harness.target.embedded`)
and ``remote`` (read from a TOML target file, :mod:`harness.target.config`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

SipTransport = Literal["udp", "tcp"]
TargetKind = Literal["embedded", "remote"]


class Capability(StrEnum):
    """What a target offers beyond SIP registration and calls between terminals."""

    #: The business portal and the Web設定変更サイト (``[web] base_url``).
    WEB = "web"
    #: The embedded simulator's provisioning API (reset, settings, lines): fast set-up for the
    #: project's own tests and fuzzers, never the only way a check can run.
    PROVISIONING_API = "provisioning_api"
    #: A carrier side where the harness's external test numbers register and call
    #: (``[carrier] proxy``): 外線着信設定 / 外線発信設定 checks, forwarding to external numbers.
    CARRIER = "carrier"
    #: A reader of the e-mails the service sends (one-time codes of 多要素認証).
    MAIL = "mail"
    #: A listing of voicemail messages (``/api/voicemail`` on the simulator).
    VOICEMAIL_API = "voicemail_api"
    #: The run may write settings (``changes_settings = true``): the 初期設定 and 不在時動作 steps
    #: are performed on the web pages. Without it the run is verify-only.
    CHANGES_SETTINGS = "changes_settings"
    #: The Smart PBX call features: 着信グループ, 不在時動作 (転送/留守番電話,
    #: シングルナンバーリーチ), 外線着信設定 routing. A plain SIP server (Kamailio) has
    #: none of them.
    PBX_FEATURES = "pbx_features"
    #: The phones' RTP reaches the far phone (the target anchors media where the harness's
    #: phones can reach it, or passes SDP end to end): every answered call between two of the
    #: harness's phones is checked for two-way audio (harness.flows.calls, docs/media.md).
    MEDIA = "media"


@dataclass(frozen=True, kw_only=True)
class SipEndpoint:
    """Where SIP is sent: ``host:port`` over ``transport`` (the proxy of RFC 3261 §8.1.2)."""

    host: str
    port: int
    transport: SipTransport = "udp"

    def __str__(self) -> str:
        return f"{self.host}:{self.port};transport={self.transport}"


@dataclass(frozen=True, kw_only=True)
class MailAccess:
    """How one-time codes are read: an HTTP listing of sent mail, with an optional token."""

    api: str
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class ApiAccess:
    """The provisioning API of an embedded simulator: base URL and bearer token."""

    base_url: str
    token: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Target:
    """Everything a run needs to reach a deployment (or the embedded simulator).

    ``time_scale`` is real seconds per simulated second of the service's timers (ring times,
    forwarding, single-number reach) and of the phones' answer delays: one scale per run.
    ``tolerance`` is how far (simulated seconds) an observed event may be from the model's
    instant; ``harness.flows.timeline`` documents how it is chosen.
    """

    name: str
    kind: TargetKind
    time_scale: float
    sip: SipEndpoint
    carrier: SipEndpoint | None = None
    web_base_url: str | None = None
    mail: MailAccess | None = None
    api: ApiAccess | None = None
    changes_settings: bool = False
    pbx_features: bool = True
    media: bool = True
    voicemail_api: str | None = None
    voicemail_token: str | None = field(default=None, repr=False)
    tolerance: float | None = None

    @property
    def capabilities(self) -> frozenset[Capability]:
        """The capabilities this target has, derived from what it names."""
        present = {
            Capability.WEB: self.web_base_url is not None,
            Capability.PROVISIONING_API: self.api is not None,
            Capability.CARRIER: self.carrier is not None,
            Capability.MAIL: self.mail is not None,
            Capability.VOICEMAIL_API: self.voicemail_api is not None,
            Capability.CHANGES_SETTINGS: self.changes_settings,
            Capability.PBX_FEATURES: self.pbx_features,
            Capability.MEDIA: self.media,
        }
        return frozenset(c for c, has in present.items() if has)

    def has(self, *needed: Capability) -> bool:
        return all(c in self.capabilities for c in needed)

    def missing(self, needed: Iterable[Capability]) -> tuple[Capability, ...]:
        """The capabilities of ``needed`` this target lacks, in ``needed``'s order."""
        return tuple(c for c in needed if c not in self.capabilities)

    def require(self, *needed: Capability) -> None:
        """Raise :class:`MissingCapability` naming what this target lacks of ``needed``."""
        lacking = self.missing(needed)
        if lacking:
            raise MissingCapability(self.name, lacking)


class MissingCapability(Exception):
    """A check needs a capability the target lacks: the verdict is *skipped*, with the reason.

    Not a ``HarnessError`` (nothing broke) and not a ``ConformanceFailure`` (nothing deviated).
    """

    def __init__(self, target: str, capabilities: tuple[Capability, ...]) -> None:
        self.target = target
        self.capabilities = capabilities
        names = ", ".join(c.value for c in capabilities)
        super().__init__(f"target {target!r} lacks the capability {names}")
