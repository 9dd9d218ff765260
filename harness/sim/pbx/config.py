"""A frozen snapshot of the settings the PBX routes by, and the (A) parameters of its behaviour.

The call controller never reads the store or the documents directly: each call takes the
``PbxConfig`` current when it arrives, so a setting saved on the web site takes effect on the
next call (DESIGN.md "Concurrency") and a call in progress is never changed under its feet.

``PbxConfig.from_tenant`` builds the snapshot from a loaded ``harness.guide.Tenant``; the web
side's store builds the same dataclasses from its tables (see docs/pbx.md "Configuration").

Every assumption marked (A) in DOMAIN.md is a field of ``PbxParams`` with the default DOMAIN.md
states, so a carrier can flip it when its deployment behaves otherwise.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, TypeVar

from harness.errors import InputError, Problem
from harness.guide.types import (
    Action,
    ForwardAbsence,
    GroupKind,
    SingleNumberReach,
    Tenant,
    TerminalKind,
)

if TYPE_CHECKING:
    from harness.sim.rules import AbsenceValue
    from harness.sim.store import RoutingSnapshot

K = TypeVar("K")
V = TypeVar("V")


class ForwardedCallerId(StrEnum):
    """Which number a forwarded or シングルナンバーリーチ leg to an external number presents."""

    FORWARDING_EXTENSION = "forwarding_extension"  # rule 7: the forwarding X's 外線発信 number
    ORIGINAL_CALLER = "original_caller"  # the caller ID X was shown


class MissingCallerId(StrEnum):
    """What an external call from an extension without 外線発信設定 does (rule 7)."""

    REFUSED = "refused"
    WITHHELD = "withheld"  # it goes out 非通知


class ReachEndFrom(StrEnum):
    """What シングルナンバーリーチ's 呼出終了時間 is measured from (rule 5)."""

    ARRIVAL = "arrival"
    LAST_LEG_START = "last_leg_start"


class ForwardFallback(StrEnum):
    """What follows a 転送 whose 転送先 does not answer (rule 4)."""

    NONE = "none"  # busy / unavailable / released reach the caller
    VOICEMAIL = "voicemail"  # the forwarding extension's voicemail instead


class UnsetStateAction(StrEnum):
    """What 話中 / 圏外 whose 転送動作 is 設定しない does (rule 4)."""

    BUSY_OR_UNAVAILABLE = "busy_or_unavailable"
    NO_ANSWER_ACTION = "no_answer_action"  # silence for 呼出時間, then 無応答's action


class InternalCallerId(StrEnum):
    """The caller ID an extension sees on an internal call (rule 7)."""

    FULL_EXTENSION = "full_extension"
    TERMINAL_NUMBER_WITHIN_SITE = "terminal_number_within_site"


class InboundCallerId(StrEnum):
    """The caller ID an extension sees on a call from outside (rule 7)."""

    CALLER = "caller"
    DIALLED_LINE = "dialled_line"  # the tenant's 外線番号 the call came in on


@dataclass(frozen=True, kw_only=True)
class PbxParams:
    """The (A) assumptions of DOMAIN.md "Call routing semantics", each with its default.

    Names, values and defaults are those of the reference model's ``ModelParams`` (the two are
    written independently; tests/test_param_parity.py keeps the fields from drifting). What
    each alternative does: docs/pbx.md "Parameters". Times are seconds.
    """

    # Rule 1 / numbering.
    internal_pilot_starts_group: bool = True  # False: a pilot dialled internally rings its X
    bare_terminal_number_within_site: bool = True  # False: only the full 内線番号 reaches
    own_number_loops_back: bool = True  # an own 外線番号 dialled comes back in as inbound
    # Rule 2.
    group_ring_time: float = 20.0  # G, when a 一斉着信 group has no 呼出時間
    simultaneous_empty_ends_at_once: bool = True  # False: silence until G
    group_members_apply_absence: bool = False  # True: members' 無条件 転送/留守番電話 apply
    pilot_rings_as_member: bool = False  # True: a non-member pilot rings as first member
    # Rule 3.
    member_ring_time: float = 20.0  # T, when a 順次着信 group has no 呼出時間
    skip_unavailable_costs_ring_time: bool = False  # True: an unavailable member's T passes
    sequential_rounds: int = 1  # how many times the members are gone through
    # Rule 4.
    unanswered_ring_limit: float | None = None  # None: ring until the caller gives up
    forward_hop_limit: int = 5  # 転送 hops; the next one makes the call unavailable
    forward_applies_target_settings: bool = True  # False: a 転送先 extension rings plainly
    forward_fallback: ForwardFallback = ForwardFallback.NONE
    unset_state_action: UnsetStateAction = UnsetStateAction.BUSY_OR_UNAVAILABLE
    default_no_answer_ring_time: float = 20.0  # 無応答 set without 呼出時間 (never validated)
    # Rule 5.
    reach_rings_extension: bool = True  # False: only the 接続先 ring
    reach_end_from: ReachEndFrom = ReachEndFrom.ARRIVAL
    reach_early_end_when_all_failed: bool = True  # False: wait for 呼出終了時間
    # Rule 7.
    internal_caller_id: InternalCallerId = InternalCallerId.FULL_EXTENSION
    inbound_caller_id: InboundCallerId = InboundCallerId.CALLER
    withhold_prefix: str | None = "184"  # None: no withholding prefix
    present_prefix: str | None = "186"
    external_call_without_caller_id: MissingCallerId = MissingCallerId.REFUSED
    forwarded_external_caller_id: ForwardedCallerId = ForwardedCallerId.FORWARDING_EXTENSION
    # Rule 8.
    pickup_code: str = "*8"
    # 留守番電話 retrieval (docs/pbx.md "Voicemail").
    voicemail_access_code: str = "*98"  # an extension dials it to hear its own mailbox
    voicemail_password_attempts: int = 3  # wrong passwords in a row that lock the mailbox
    # Simulator only (not an (A)): a number that is neither an extension nor a pilot is
    # external when it starts so.
    external_prefix: str = "0"

    def with_overrides(self, overrides: Mapping[str, str]) -> PbxParams:
        """A copy with ``NAME=VALUE`` strings applied; InputError names every bad one."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, object] = {}
        problems: list[Problem] = []
        for name, text in overrides.items():
            if name not in fields:
                rule = "unknown parameter; valid names: " + ", ".join(sorted(fields))
                problems.append(Problem(where=f"--param {name}", rule=rule))
                continue
            try:
                changes[name] = _parse_value(getattr(self, name), str(fields[name].type), text)
            except ValueError as error:
                problems.append(Problem(where=f"--param {name}", rule=str(error), value=text))
        if problems:
            raise InputError(problems, subject="PBX parameters")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _parse_value(current: object, annotation: str, text: str) -> object:
    """``text`` as a value of the field whose current value is ``current``."""
    optional = "None" in annotation
    if optional and text.lower() in ("none", "null", ""):
        return None
    if isinstance(current, StrEnum):
        choices = [member.value for member in type(current)]
        if text not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return type(current)(text)
    if isinstance(current, bool):
        truth = {"true": True, "yes": True, "1": True, "on": True}
        truth |= {"false": False, "no": False, "0": False, "off": False}
        if text.lower() not in truth:
            raise ValueError("must be true or false")
        return truth[text.lower()]
    if annotation.startswith("int"):
        if not text.isdigit() or int(text) < 1:
            raise ValueError("must be a whole number ≥ 1")
        return int(text)
    if annotation.startswith("float"):
        try:
            seconds = float(text)
        except ValueError:
            raise ValueError(
                "must be a number of seconds" + (" or none" if optional else "")
            ) from None
        if not seconds >= 0 or seconds == float("inf"):
            raise ValueError("must be a finite number of seconds ≥ 0")
        return seconds
    if not text:
        raise ValueError("must not be empty" + (" (or none)" if optional else ""))
    return text


class Presence(StrEnum):
    """An endpoint's state when a call decides whether to ring it (DOMAIN.md, routing intro)."""

    AVAILABLE = "available"
    BUSY = "busy"
    UNREGISTERED = "unregistered"


class _TerminalLike(Protocol):
    @property
    def extension(self) -> str: ...
    @property
    def site_number(self) -> str: ...
    @property
    def terminal_number(self) -> str: ...
    @property
    def terminal_id(self) -> str: ...
    @property
    def terminal_kind(self) -> TerminalKind: ...


@dataclass(frozen=True, kw_only=True)
class ExtensionConfig:
    """One extension (内線番号) and its terminal."""

    extension: str
    site_number: str
    terminal_number: str
    terminal_id: str
    terminal_kind: TerminalKind

    @classmethod
    def of(cls, terminal: _TerminalLike) -> ExtensionConfig:
        """From a guide ``Terminal`` row or a store ``TerminalRecord``."""
        return cls(
            extension=terminal.extension,
            site_number=terminal.site_number,
            terminal_number=terminal.terminal_number,
            terminal_id=terminal.terminal_id,
            terminal_kind=terminal.terminal_kind,
        )


@dataclass(frozen=True, kw_only=True)
class ForwardConfig:
    """不在時動作 = 転送/留守番電話: an action per state, the 転送先 and 無応答's 呼出時間."""

    forward_to: str | None
    unconditional: Action = Action.NONE
    busy: Action = Action.NONE
    unreachable: Action = Action.NONE
    no_answer: Action = Action.NONE
    ring_time: float | None = None


@dataclass(frozen=True, kw_only=True)
class ReachLeg:
    """接続先番号i rung from 呼出開始時間i seconds after the call reached the extension."""

    number: str
    start: float


@dataclass(frozen=True, kw_only=True)
class ReachConfig:
    """不在時動作 = シングルナンバーリーチ."""

    legs: tuple[ReachLeg, ...]
    end: float
    voicemail: bool


@dataclass(frozen=True, kw_only=True)
class GroupConfig:
    """着信グループ: ``pilot`` is None exactly for pickup groups; ``ring_time`` None = default."""

    kind: GroupKind
    pilot: str | None
    members: tuple[str, ...]
    ring_time: float | None = None


def _frozen(items: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(items))


@dataclass(frozen=True, kw_only=True)
class PbxConfig:
    """Everything a call is routed by, as one immutable value."""

    extensions: Mapping[str, ExtensionConfig] = field(default_factory=lambda: _frozen({}))
    groups: tuple[GroupConfig, ...] = ()
    # 外線着信設定: external number → extension or pilot.
    inbound_routes: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    # 外線発信設定: extension → the 外線番号 presented on its external calls.
    outbound_caller_ids: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    forwards: Mapping[str, ForwardConfig] = field(default_factory=lambda: _frozen({}))
    reaches: Mapping[str, ReachConfig] = field(default_factory=lambda: _frozen({}))
    # 外線番号情報: the tenant's external numbers (calls to them come from outside).
    external_numbers: frozenset[str] = frozenset()

    def group_of_pilot(self, number: str) -> GroupConfig | None:
        """The ring group whose 代表番号 is ``number``."""
        for group in self.groups:
            if group.pilot == number and group.kind is not GroupKind.PICKUP:
                return group
        return None

    def pickup_group_of(self, extension: str) -> GroupConfig | None:
        """The pickup group ``extension`` is a member of (at most one, DOMAIN.md 初期設定)."""
        for group in self.groups:
            if group.kind is GroupKind.PICKUP and extension in group.members:
                return group
        return None

    def by_terminal_id(self, terminal_id: str) -> ExtensionConfig | None:
        return self._by_terminal_id.get(terminal_id)

    @functools.cached_property
    def _by_terminal_id(self) -> Mapping[str, ExtensionConfig]:
        # Every REGISTER and INVITE asks: an index, built once per (immutable) config.
        return {ext.terminal_id: ext for ext in self.extensions.values()}

    @classmethod
    def from_tenant(cls, tenant: Tenant) -> PbxConfig:
        """The snapshot of a loaded tenant folder (ご利用内容.yaml + 設定.yaml)."""
        extensions = {t.extension: ExtensionConfig.of(t) for t in tenant.guide.terminals}
        settings = tenant.settings
        groups = tuple(
            GroupConfig(
                kind=g.kind,
                pilot=g.pilot,
                members=tuple(g.members),
                # Left out of the document: PbxParams' G / T apply (rules 2, 3).
                ring_time=_ring_time(g.kind, g.ring_time, "ring_time" in g.model_fields_set),
            )
            for g in settings.ring_groups
        )
        forwards: dict[str, ForwardConfig] = {}
        reaches: dict[str, ReachConfig] = {}
        for extension, absence in settings.absence.items():
            if isinstance(absence, ForwardAbsence):
                forwards[extension] = ForwardConfig(
                    forward_to=strip_hyphens(absence.forward_to),
                    unconditional=absence.actions.unconditional,
                    busy=absence.actions.busy,
                    unreachable=absence.actions.unreachable,
                    no_answer=absence.actions.no_answer,
                    ring_time=None if absence.ring_time is None else float(absence.ring_time),
                )
            else:
                reaches[extension] = reach_config(absence)
        return cls(
            extensions=_frozen(extensions),
            groups=groups,
            inbound_routes=_frozen(
                {r.external_number: r.destination for r in settings.inbound_routes}
            ),
            outbound_caller_ids=_frozen(
                {o.extension: o.caller_id for o in settings.outbound_caller_ids}
            ),
            forwards=_frozen(forwards),
            reaches=_frozen(reaches),
            external_numbers=frozenset(
                line.external_number for line in tenant.guide.external_lines
            ),
        )

    @classmethod
    def from_snapshot(cls, snapshot: RoutingSnapshot) -> PbxConfig:
        """The snapshot of the web side's store (``Store.routing_snapshot()``).

        An inbound route is in force only when it was applied while its line was 開通 and the
        line still is (manual P.2 note *1: a route set before 開通 fails until 設定 again).
        """
        forwards: dict[str, ForwardConfig] = {}
        reaches: dict[str, ReachConfig] = {}
        for extension, absence in snapshot.absence.items():
            if absence.reach_number_1 is not None:
                reaches[extension] = _reach_from_value(absence)
            else:
                forwards[extension] = ForwardConfig(
                    forward_to=strip_hyphens(absence.forward_to),
                    unconditional=absence.unconditional,
                    busy=absence.busy,
                    unreachable=absence.unreachable,
                    no_answer=absence.no_answer,
                    ring_time=None if absence.ring_time is None else float(absence.ring_time),
                )
        live = {n for n, line in snapshot.external_lines.items() if line.line_live}
        return cls(
            extensions=_frozen({e: ExtensionConfig.of(t) for e, t in snapshot.terminals.items()}),
            groups=tuple(
                GroupConfig(
                    kind=g.kind,
                    pilot=g.pilot,
                    members=g.members,
                    # None where the document (or the form) left 呼出時間 out: G / T apply.
                    ring_time=_ring_time(g.kind, g.ring_time or 0, g.ring_time is not None),
                )
                for g in snapshot.groups
            ),
            inbound_routes=_frozen(
                {
                    number: route.destination
                    for number, route in snapshot.inbound_routes.items()
                    if route.applied and number in live
                }
            ),
            outbound_caller_ids=_frozen(dict(snapshot.outbound_caller_ids)),
            forwards=_frozen(forwards),
            reaches=_frozen(reaches),
            external_numbers=frozenset(snapshot.external_lines),
        )


def _ring_time(kind: GroupKind, ring_time: float, given: bool) -> float | None:
    """A ring group's 呼出時間; None (PbxParams' G or T apply) when not given, and always for a
    pickup group, which does not ring."""
    return float(ring_time) if given and kind is not GroupKind.PICKUP else None


def _reach_from_value(absence: AbsenceValue) -> ReachConfig:
    legs = []
    for number, start in (
        (absence.reach_number_1, absence.reach_start_1),
        (absence.reach_number_2, absence.reach_start_2),
    ):
        if number is not None and start is not None:
            legs.append(ReachLeg(number=number.replace("-", ""), start=float(start)))
    return ReachConfig(
        legs=tuple(legs), end=float(absence.reach_end or 0), voicemail=absence.voicemail
    )


def strip_hyphens(number: str | None) -> str | None:
    """転送先電話番号 allows hyphens; they are stripped (DOMAIN.md 不在時動作設定)."""
    return None if number is None else number.replace("-", "")


def reach_config(absence: SingleNumberReach) -> ReachConfig:
    legs = [ReachLeg(number=absence.reach_number_1.replace("-", ""), start=absence.reach_start_1)]
    if absence.reach_number_2 is not None and absence.reach_start_2 is not None:
        legs.append(
            ReachLeg(number=absence.reach_number_2.replace("-", ""), start=absence.reach_start_2)
        )
    return ReachConfig(legs=tuple(legs), end=float(absence.reach_end), voicemail=absence.voicemail)
