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

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, TypeVar

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


@dataclass(frozen=True, kw_only=True)
class PbxParams:
    """The (A) assumptions of DOMAIN.md "Call routing semantics", each with its default."""

    # Rule 2: an unanswered 一斉着信 group ends after G seconds when the group has no 呼出時間.
    group_ring_time: float = 20.0
    # Rule 3: per-member ring time T of a 順次着信 group without its own 呼出時間.
    member_ring_time: float = 20.0
    # Rule 3: False = an unavailable member is skipped at once; True = the other reading, a
    # skipped member still costs T (and a member that fails while ringing keeps its slot).
    sequential_skip_costs_ring_time: bool = False
    # Rule 4: a 転送先 that is an extension applies its own settings, at most this many hops.
    forward_hop_limit: int = 5
    # Rule 8: the code a pickup-group member dials to answer another member's ringing call.
    pickup_code: str = "*8"
    # Rule 7: prefixes that withhold / present the caller ID for this call.
    withhold_prefix: str = "184"
    present_prefix: str = "186"
    # Rule 7: a number that is neither an extension nor a pilot is external when it starts so.
    external_prefix: str = "0"


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
                ring_time=float(g.ring_time),
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
                    kind=g.kind, pilot=g.pilot, members=g.members, ring_time=float(g.ring_time)
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
