"""Named faults of the embedded simulator: realistic ways a real deployment goes wrong.

Why. A conformance harness is worth the deviations it catches (issue 12 item 4). Each fault
here is one plausible defect of a real Smart PBX deployment — a dial plan without 186, a route
cache never invalidated, a registrar that forgets to expire bindings — switched on by name with
``serve --fault NAME`` (repeatable; ``serve --list-faults`` prints them). ``smartpbx-harness
mutation`` runs the conformance suite once per fault: a fault the suite does not catch is a gap
in the suite.

How. This module is the one registry: each fault is a frozen ``Fault`` record (kebab-case name,
area, one-line description, the module where it lives). The set switched on for one run is an
immutable ``Faults`` value handed down (dependency injection, never a global) to the parts that
consult it — the call engine, routing, the registrar, the store-backed SIP service, the web
site. At each place a fault changes, the code reads ``if faults.on(SOME_FAULT): …``: one small
switch, nothing else. With no fault on (``NO_FAULTS``, every default) the simulator behaves
exactly as without this module. docs/faults.md lists every fault with where it lives.

A fault is implemented where such a bug would live, from the settings and events that part
sees — never keyed on one tenant's numbers or a test's data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from harness.errors import InputError, Problem


class Area(StrEnum):
    """Which part of the service a fault breaks (docs/faults.md groups them so)."""

    GROUPS = "groups"  # 着信グループ: 順次着信, 一斉着信, コールピックアップ
    ABSENCE = "absence"  # 不在時動作: 転送/留守番電話, シングルナンバーリーチ, voicemail
    CALLER_ID = "caller-id"  # 発信者番号: internal, external, 184/186, inbound
    ROUTING = "routing"  # 外線着信設定 and settings taking effect
    REGISTRATION = "registration"  # the registrar: digest, expiry, enumeration
    WEB = "web"  # the settings site: validation, access, 開通前 接続エラー
    MFA = "mfa"  # 多要素認証: one-time codes
    MEDIA = "media"  # SDP and RTP: what the parties hear


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One named deviation; ``where`` is the module that consults it (for docs/faults.md)."""

    name: str
    area: Area
    description: str
    where: str


def _fault(name: str, area: Area, where: str, description: str) -> Fault:
    return Fault(name=name, area=area, description=description, where=where)


_CALL = "harness/sim/pbx/call.py"
_ROUTING = "harness/sim/pbx/routing.py"
_PBX = "harness/sim/pbx/pbx.py"
_REGISTRAR = "harness/sim/pbx/registrar.py"
_SERVICE = "harness/sim/pbx/service.py"

# --- groups -----------------------------------------------------------------------------------
SEQUENTIAL_OUT_OF_ORDER = _fault(
    "sequential-out-of-order",
    Area.GROUPS,
    _CALL,
    "順次着信 rings its members last to first instead of in the configured order",
)
GROUP_RING_TIME_LATE = _fault(
    "group-ring-time-late",
    Area.GROUPS,
    _CALL,
    "a ring group's 呼出時間 (or the default G / T) runs 2 s longer than set",
)
SIMULTANEOUS_MEMBER_LATE = _fault(
    "simultaneous-member-late",
    Area.GROUPS,
    _CALL,
    "一斉着信 rings its last member 2 s after the others",
)
PILOT_RINGS_AS_MEMBER = _fault(
    "pilot-rings-as-member",
    Area.GROUPS,
    _CALL,
    "a ring group's 代表番号 terminal rings first, as if it were a member",
)
PICKUP_WRONG_CALL = _fault(
    "pickup-wrong-call",
    Area.GROUPS,
    _PBX,
    "コールピックアップ answers the newest ringing call of the group instead of the oldest",
)
SEQUENTIAL_WAITS_ON_UNREGISTERED = _fault(
    "sequential-waits-on-unregistered",
    Area.GROUPS,
    _CALL,
    "順次着信 does not skip an unregistered member: its 呼出時間 passes in silence",
)

# --- absence (不在時動作, voicemail) -------------------------------------------------------------
NO_ANSWER_LATE = _fault(
    "no-answer-late",
    Area.ABSENCE,
    _CALL,
    "無応答 acts 3 s after 呼出時間 instead of at 呼出時間",
)
NO_ANSWER_RING_TIME_IGNORED = _fault(
    "no-answer-ring-time-ignored",
    Area.ABSENCE,
    _CALL,
    "無応答's 呼出時間 setting is ignored: it always acts after the default 20 s",
)
BUSY_AS_NO_ANSWER = _fault(
    "busy-as-no-answer",
    Area.ABSENCE,
    _CALL,
    "a busy extension is treated as 無応答: 無応答's action after 呼出時間, not 話中's at once",
)
UNREACHABLE_FORWARD_NEVER = _fault(
    "unreachable-forward-never",
    Area.ABSENCE,
    _CALL,
    "圏外 forwarding never happens: an unregistered extension gives 480 whatever 圏外 says",
)
REACH_START_2_IGNORED = _fault(
    "reach-start-2-ignored",
    Area.ABSENCE,
    _CALL,
    "シングルナンバーリーチ's 呼出開始時間2 is ignored: 接続先番号2 rings at 呼出開始時間1",
)
REACH_END_IGNORED = _fault(
    "reach-end-ignored",
    Area.ABSENCE,
    _CALL,
    "シングルナンバーリーチ's 呼出終了時間 is ignored: the legs ring until the caller gives up",
)
VOICEMAIL_NEVER_REACHED = _fault(
    "voicemail-never-reached",
    Area.ABSENCE,
    _CALL,
    "留守番電話 is never reached: where voicemail should answer, the call is released (480)",
)
VOICEMAIL_WHEN_OFF = _fault(
    "voicemail-when-off",
    Area.ABSENCE,
    _CALL,
    "シングルナンバーリーチ goes to 留守番電話 at 呼出終了時間 even with 留守番電話 off",
)

# --- caller ID (発信者番号) ----------------------------------------------------------------------
EXTERNAL_SHOWS_EXTENSION = _fault(
    "external-shows-extension",
    Area.CALLER_ID,
    _ROUTING,
    "an external call presents the caller's 内線番号 instead of its 外線発信設定 外線番号",
)
OUTBOUND_CALLER_ID_IGNORED = _fault(
    "outbound-caller-id-ignored",
    Area.CALLER_ID,
    _ROUTING,
    "外線発信設定 is ignored: every extension calls out with one 外線番号 (the lowest)",
)
WITHHOLD_184_IGNORED = _fault(
    "withhold-184-ignored",
    Area.CALLER_ID,
    _ROUTING,
    "184 is stripped but not honoured: the callee sees the number instead of 非通知",
)
PRESENT_186_IGNORED = _fault(
    "present-186-ignored",
    Area.CALLER_ID,
    _ROUTING,
    "the dial plan lacks 186: 186 + a number is dialled as is and is not found (404)",
)
INBOUND_CALLER_ID_DROPPED = _fault(
    "inbound-caller-id-dropped",
    Area.CALLER_ID,
    _ROUTING,
    "a call from outside reaches the extension as 非通知: the caller's number is dropped",
)
INTERNAL_SHOWS_EXTERNAL_NUMBER = _fault(
    "internal-shows-external-number",
    Area.CALLER_ID,
    _ROUTING,
    "an internal call presents the caller's 外線発信 number instead of its 内線番号",
)

# --- routing (外線着信設定, settings in force) --------------------------------------------------
INBOUND_ROUTE_STALE = _fault(
    "inbound-route-stale",
    Area.ROUTING,
    _SERVICE,
    "外線着信設定 keeps routing to the previous 着信先 after a change (a stale route cache)",
)
INBOUND_PILOT_RINGS_EXTENSION = _fault(
    "inbound-pilot-rings-extension",
    Area.ROUTING,
    _ROUTING,
    "外線着信設定 to a group's 代表番号 rings that extension alone instead of starting the group",
)
SETTINGS_NEED_RESTART = _fault(
    "settings-need-restart",
    Area.ROUTING,
    _SERVICE,
    "a setting saved on the site takes effect only after a restart of the service",
)

# --- registration ------------------------------------------------------------------------------
WRONG_PASSWORD_ACCEPTED = _fault(
    "wrong-password-accepted",
    Area.REGISTRATION,
    _REGISTRAR,
    "the registrar accepts a wrong password for a known 端末ID",
)
REGISTRATION_NEVER_EXPIRES = _fault(
    "registration-never-expires",
    Area.REGISTRATION,
    _REGISTRAR,
    "a registration never expires: a phone gone silent still rings after its Expires",
)
UNREGISTER_IGNORED = _fault(
    "unregister-ignored",
    Area.REGISTRATION,
    _REGISTRAR,
    "REGISTER with Expires: 0 answers 200 but keeps the binding: the phone still rings",
)
UNKNOWN_TERMINAL_DISTINCT = _fault(
    "unknown-terminal-distinct",
    Area.REGISTRATION,
    _REGISTRAR,
    "an unknown 端末ID gets 404 where a wrong password gets 401: extensions can be enumerated",
)

# --- web ---------------------------------------------------------------------------------------
RING_TIME_UPPER_UNCHECKED = _fault(
    "ring-time-upper-unchecked",
    Area.WEB,
    "harness/sim/rules.py",
    "不在時動作設定 takes a 呼出時間 above 30 s (e.g. 31) without a message, saving 30",
)
OTHER_EXTENSION_ABSENCE = _fault(
    "other-extension-absence",
    Area.WEB,
    "harness/sim/web/user.py",
    "a 端末ユーザ can open and change another extension's 不在時動作 (?extension=…)",
)
CONNECTION_ERROR_NEVER_SHOWN = _fault(
    "connection-error-never-shown",
    Area.WEB,
    "harness/sim/web/admin.py",
    "外線着信設定 before 開通 shows success, not 接続エラー (the route is still not in force)",
)

# --- mfa ---------------------------------------------------------------------------------------
OTP_REUSABLE = _fault(
    "otp-reusable",
    Area.MFA,
    "harness/sim/store/accounts.py",
    "a one-time code stays valid after use: the same code logs in again",
)
OTP_NEVER_EXPIRES = _fault(
    "otp-never-expires",
    Area.MFA,
    "harness/sim/store/accounts.py",
    "a one-time code is accepted after its 10 minutes: the expiry is never compared",
)
MFA_NOT_ENFORCED = _fault(
    "mfa-not-enforced",
    Area.MFA,
    "harness/sim/web/auth.py",
    "多要素認証 on, a 端末ユーザ still logs in with the password alone",
)

# --- media (SDP / RTP) ------------------------------------------------------------------------
ONE_WAY_AUDIO = _fault(
    "one-way-audio",
    Area.MEDIA,
    "harness/sim/pbx/sip_glue/session.py",
    "the SDP answer relayed to the caller names a media port nobody listens on (a relay port "
    "never opened): the callee never hears the caller",
)
CODEC_MISMATCH = _fault(
    "codec-mismatch",
    Area.MEDIA,
    "harness/sim/pbx/sip_glue/session.py",
    "the SDP answer relayed to the caller offers only G.729, a codec the caller never offered "
    "(a transcoding profile applied on one side only): no codec is agreed, nobody hears anyone",
)
_VOICEMAIL_MEDIA = "harness/sim/pbx/sip_glue/voicemail_media.py"
VOICEMAIL_RECORDS_SILENCE = _fault(
    "voicemail-records-silence",
    Area.MEDIA,
    _VOICEMAIL_MEDIA,
    "留守番電話 keeps a message's length but records silence (the recorder reads the wrong "
    "stream): the owner hears nothing of it",
)
DTMF_IGNORED = _fault(
    "dtmf-ignored",
    Area.MEDIA,
    _VOICEMAIL_MEDIA,
    "RFC 4733 telephone-events are not recognised (the IVR listens for in-band tones only): "
    "no 留守番電話パスワード can be entered, no message heard",
)

FAULTS: tuple[Fault, ...] = (
    SEQUENTIAL_OUT_OF_ORDER,
    GROUP_RING_TIME_LATE,
    SIMULTANEOUS_MEMBER_LATE,
    PILOT_RINGS_AS_MEMBER,
    PICKUP_WRONG_CALL,
    SEQUENTIAL_WAITS_ON_UNREGISTERED,
    NO_ANSWER_LATE,
    NO_ANSWER_RING_TIME_IGNORED,
    BUSY_AS_NO_ANSWER,
    UNREACHABLE_FORWARD_NEVER,
    REACH_START_2_IGNORED,
    REACH_END_IGNORED,
    VOICEMAIL_NEVER_REACHED,
    VOICEMAIL_WHEN_OFF,
    EXTERNAL_SHOWS_EXTENSION,
    OUTBOUND_CALLER_ID_IGNORED,
    WITHHOLD_184_IGNORED,
    PRESENT_186_IGNORED,
    INBOUND_CALLER_ID_DROPPED,
    INTERNAL_SHOWS_EXTERNAL_NUMBER,
    INBOUND_ROUTE_STALE,
    INBOUND_PILOT_RINGS_EXTENSION,
    SETTINGS_NEED_RESTART,
    WRONG_PASSWORD_ACCEPTED,
    REGISTRATION_NEVER_EXPIRES,
    UNREGISTER_IGNORED,
    UNKNOWN_TERMINAL_DISTINCT,
    RING_TIME_UPPER_UNCHECKED,
    OTHER_EXTENSION_ABSENCE,
    CONNECTION_ERROR_NEVER_SHOWN,
    OTP_REUSABLE,
    OTP_NEVER_EXPIRES,
    MFA_NOT_ENFORCED,
    ONE_WAY_AUDIO,
    CODEC_MISMATCH,
    VOICEMAIL_RECORDS_SILENCE,
    DTMF_IGNORED,
)
"""Every fault, grouped by area (the order ``serve --list-faults`` prints)."""

BY_NAME: dict[str, Fault] = {fault.name: fault for fault in FAULTS}


@dataclass(frozen=True)
class Faults:
    """The faults switched on for one simulator run; empty (``NO_FAULTS``) by default."""

    active: frozenset[Fault] = frozenset()

    def on(self, fault: Fault) -> bool:
        """Whether ``fault`` is switched on (the one question the simulator asks)."""
        return fault in self.active

    @property
    def names(self) -> list[str]:
        """The active faults' names in registry order (the ready file lists them so)."""
        return [fault.name for fault in FAULTS if fault in self.active]

    @classmethod
    def named(cls, names: Iterable[str]) -> Faults:
        """The faults called ``names``; InputError for any unknown one, naming the closest
        registered names and pointing to ``serve --list-faults``."""
        problems = []
        chosen: set[Fault] = set()
        for name in names:
            fault = BY_NAME.get(name.strip())
            if fault is not None:
                chosen.add(fault)
                continue
            close = difflib.get_close_matches(name.strip(), list(BY_NAME), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            problems.append(
                Problem(
                    where=f"--fault {name}",
                    rule=f"no such fault; {hint}serve --list-faults prints every name",
                )
            )
        if problems:
            raise InputError(problems, subject="serve")
        return cls(frozenset(chosen))


NO_FAULTS = Faults()
"""No fault on: the simulator as specified (DOMAIN.md)."""


def listing() -> str:
    """What ``serve --list-faults`` prints: one line per fault, grouped by area."""
    width = max(len(fault.name) for fault in FAULTS)
    lines = []
    for area in Area:
        faults = [fault for fault in FAULTS if fault.area is area]
        if not faults:
            continue
        lines.append(f"{area.value}:")
        lines += [f"  {fault.name:<{width}}  {fault.description}" for fault in faults]
    return "\n".join(lines)
