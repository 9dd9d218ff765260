"""The store's read API: frozen, keyword-only records (STYLE.md §3), no behaviour but lookups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from harness.guide.types import GroupKind, TerminalKind
from harness.sim.rules import AbsenceValue

Role = Literal["admin", "terminal_user"]
Stage = Literal["anonymous", "mfa_register", "mfa_code", "full"]


@dataclass(frozen=True, kw_only=True)
class TerminalRecord:
    extension: str
    no: int
    site_number: str
    terminal_number: str
    terminal_id: str
    terminal_kind: TerminalKind
    ha1_md5: str
    ha1_sha256: str


@dataclass(frozen=True, kw_only=True)
class ExternalLineRecord:
    external_number: str
    no: int
    kind: str
    line_live: bool


@dataclass(frozen=True, kw_only=True)
class GroupRecord:
    id: int
    kind: GroupKind
    pilot: str | None
    members: tuple[str, ...]
    ring_time: int | None  # None: left out (the service default applies)


@dataclass(frozen=True, kw_only=True)
class InboundRecord:
    external_number: str
    destination: str
    applied: bool
    """False when set before the line was 開通 (接続エラー): not in effect until 設定 again."""


@dataclass(frozen=True, kw_only=True)
class RoutingSnapshot:
    """Everything the SIP side needs to route a call, as of one committed ``version``."""

    version: int
    sip_domain: str
    terminals: Mapping[str, TerminalRecord]
    """内線番号 → terminal."""
    external_lines: Mapping[str, ExternalLineRecord]
    groups: tuple[GroupRecord, ...]
    inbound_routes: Mapping[str, InboundRecord]
    """外線番号 → route (check ``applied`` and the line's ``line_live``)."""
    outbound_caller_ids: Mapping[str, str]
    """内線番号 → 外線番号 presented on its external calls."""
    absence: Mapping[str, AbsenceValue]
    """内線番号 → 不在時動作 (absent: 未設定)."""
    voicemail_passwords: Mapping[str, str]

    def terminal_by_id(self, terminal_id: str) -> TerminalRecord | None:
        """The terminal whose 端末ID (SIP user) is ``terminal_id``."""
        for terminal in self.terminals.values():
            if terminal.terminal_id == terminal_id:
                return terminal
        return None

    def group_by_pilot(self, pilot: str) -> GroupRecord | None:
        for group in self.groups:
            if group.pilot == pilot:
                return group
        return None


@dataclass(frozen=True, kw_only=True)
class RingTimeDefaults:
    """The 呼出時間 (s) the SIP side gives a group saved without one: PbxParams G
    (``group_ring_time``, 一斉着信) and T (``member_ring_time``, 順次着信, per member). The SIP
    side sets them on its store when it starts (``serve --param``); the settings site shows
    them as 「既定（20秒）」."""

    simultaneous: float = 20.0
    sequential: float = 20.0


@dataclass(frozen=True, kw_only=True)
class Account:
    login_id: str
    role: Role
    extension: str | None
    email: str | None
    failed_logins: int
    locked_at: float | None = None
    """Simulated seconds (the simulator's clock) when the account locked; None: not locked.
    It stays set after the lock has run out until the next login attempt clears it: ask
    ``Store.locked_until(account, now=)``."""


@dataclass(frozen=True, kw_only=True)
class Session:
    token: str
    csrf_token: str
    portal_login_id: str | None
    login_id: str | None
    stage: Stage


@dataclass(frozen=True, kw_only=True)
class TenantSummary:
    name: str
    source_path: str
    sip_domain: str
    uno_address: str | None
    service_code: str | None
    admin_login_id: str
    terminal_user_login_ids: Mapping[str, str]
    """内線番号 → ログインID of its 端末ユーザ."""
    mfa_enabled: bool


LoginOutcome = Literal["ok", "bad_credentials", "locked", "locked_now"]
"""``locked_now``: this failure locked the account (the caller logs it); ``locked``: it was
locked already (the password was not even checked)."""


@dataclass(frozen=True, kw_only=True)
class RegistrationRow:
    """One current binding of a 端末ID, as the SIP side hands it to
    ``Store.replace_registrations`` (a row of ``registrations``)."""

    extension: str
    contact: str
    source: str
    """Where the REGISTER came from (host:port)."""
    expires_at: float
    """Unix seconds (wall clock)."""


@dataclass(frozen=True, kw_only=True)
class PstnRegistrationRow:
    """The carrier-side binding of one external number, as the SIP side hands it to
    ``Store.replace_pstn_registrations`` (a row of ``pstn_registrations``)."""

    contact: str
    transport: str
    source: str
    """Where the REGISTER came from (host:port)."""
    expires_at: float
    """Unix seconds (wall clock)."""
