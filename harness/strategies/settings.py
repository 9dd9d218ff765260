"""Hypothesis strategies of 設定 (settings) consistent with a guide.

Two shapes of the same value space (DOMAIN.md "初期設定" and "不在時動作設定", all ranges):

- :func:`settings_for` (any guide): up to three ring groups of 順次着信 / 一斉着信 with 1–4
  members, 呼出時間 5–60 given or left out (left out is not the same as 20: it leaves the
  length to the service), disjoint コールピックアップ groups, 外線着信設定 of any line to an
  extension or a pilot, 外線発信設定, and a 不在時動作 (:func:`absences`) for any terminal but a
  VoIP-GW, whose 転送先 / 接続先 are any digits;
- :func:`dense_settings` (a dense tenant's guide): the same kinds, with every 転送先 / 接続先 an
  extension of the tenant or one of :data:`OUTSIDE`, so forwarding chains (and loops) and calls
  that reach the carrier side are common.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

from harness.guide.types import (
    GROUP_RING_TIME_RANGE,
    Action,
    ForwardAbsence,
    ForwardActions,
    GroupKind,
    Guide,
    InboundRoute,
    OutboundCallerId,
    RingGroup,
    Settings,
    SingleNumberReach,
    TerminalKind,
)

__all__ = ["OUTSIDE", "absences", "dense_settings", "settings_for"]

#: External numbers of the carrier side the dense settings forward to and scenarios call from.
OUTSIDE = ("09011112222", "0311112222", "08033334444", "09099998888")
#: 転送/留守番電話 呼出時間 (s), DOMAIN.md.
FORWARD_RING_TIME = (5, 30)
#: シングルナンバーリーチ 呼出開始時間1/2 and 呼出終了時間 (s), DOMAIN.md.
REACH_START = (1, 30)
REACH_END = (5, 60)
_RING_GROUP_KINDS = [GroupKind.SEQUENTIAL, GroupKind.SIMULTANEOUS]


def _phone_numbers() -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=1, max_size=20)


def absences(
    extension: str, *, numbers: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[ForwardAbsence | SingleNumberReach]:
    """A valid 不在時動作 for ``extension`` (転送/留守番電話 or シングルナンバーリーチ); its
    転送先 / 接続先 are drawn from ``numbers`` (default: any 1–20 digits)."""
    pool = numbers if numbers is not None else _phone_numbers()
    return _forward(extension, pool) | _reach(pool)


@st.composite
def _forward(draw: st.DrawFn, extension: str, numbers: st.SearchStrategy[str]) -> ForwardAbsence:
    actions = ForwardActions(
        unconditional=draw(st.sampled_from(Action)),
        busy=draw(st.sampled_from(Action)),
        unreachable=draw(st.sampled_from(Action)),
        no_answer=draw(st.sampled_from(Action)),
    )
    target = draw(numbers.filter(lambda n: n != extension))
    forward_to = target if actions.any_forward() else draw(st.none() | st.just(target))
    ring_time = None if actions.no_answer is Action.NONE else draw(st.integers(*FORWARD_RING_TIME))
    return ForwardAbsence(
        kind="転送/留守番電話", forward_to=forward_to, actions=actions, ring_time=ring_time
    )


@st.composite
def _reach(draw: st.DrawFn, numbers: st.SearchStrategy[str]) -> SingleNumberReach:
    second = draw(st.none() | numbers)
    return SingleNumberReach(
        kind="シングルナンバーリーチ",
        reach_number_1=draw(numbers),
        reach_start_1=draw(st.integers(*REACH_START)),
        reach_number_2=second,
        reach_start_2=None if second is None else draw(st.integers(*REACH_START)),
        reach_end=draw(st.integers(*REACH_END)),
        voicemail=draw(st.booleans()),
    )


@st.composite
def _ring_group(draw: st.DrawFn, pilot: str, members: st.SearchStrategy[str]) -> RingGroup:
    """順次着信 or 一斉着信 with 1–4 members; 呼出時間 in range or left out (the model_fields_set
    of the document model remembers which, as a document would)."""
    kind = draw(st.sampled_from(_RING_GROUP_KINDS))
    chosen = draw(st.lists(members, min_size=1, max_size=4, unique=True))
    ring_time = draw(st.none() | st.integers(*GROUP_RING_TIME_RANGE))
    if ring_time is None:
        return RingGroup(kind=kind, pilot=pilot, members=chosen)
    return RingGroup(kind=kind, pilot=pilot, members=chosen, ring_time=ring_time)


@st.composite
def _pickup_groups(draw: st.DrawFn, candidates: list[str]) -> list[RingGroup]:
    """Disjoint pickup groups of two or more, taken from a shuffled prefix of ``candidates``."""
    pool = draw(st.permutations(candidates))
    cut = draw(st.integers(0, len(pool)))
    start = 0
    groups: list[RingGroup] = []
    while cut - start >= 2 and draw(st.booleans()):
        size = draw(st.integers(2, cut - start))
        groups.append(RingGroup(kind=GroupKind.PICKUP, members=list(pool[start : start + size])))
        start += size
    return groups


@st.composite
def _settings(
    draw: st.DrawFn,
    guide: Guide,
    *,
    max_groups: int,
    numbers: st.SearchStrategy[str] | None,
) -> Settings:
    extensions = [t.extension for t in guide.terminals]
    candidates = [
        t.extension for t in guide.terminals if t.terminal_kind is not TerminalKind.VOIP_GW
    ]
    lines = [line.external_number for line in guide.external_lines]
    groups: list[RingGroup] = []
    if candidates:
        member = st.sampled_from(candidates)
        pilots = draw(st.lists(member, max_size=max_groups, unique=True))
        groups += [draw(_ring_group(pilot, member)) for pilot in pilots]
        groups += draw(_pickup_groups(candidates))
    destinations = extensions + [g.pilot for g in groups if g.pilot is not None]
    inbound = [
        InboundRoute(external_number=line, destination=draw(st.sampled_from(destinations)))
        for line in lines
        if draw(st.booleans())
    ]
    outbound = [
        OutboundCallerId(extension=ext, caller_id=draw(st.sampled_from(lines)))
        for ext in (extensions if lines else [])
        if draw(st.booleans())
    ]
    absent = draw(st.lists(st.sampled_from(candidates), unique=True)) if candidates else []
    return Settings(
        ring_groups=groups,
        inbound_routes=inbound,
        outbound_caller_ids=outbound,
        absence={ext: draw(absences(ext, numbers=numbers)) for ext in absent},
    )


def settings_for(guide: Guide) -> st.SearchStrategy[Settings]:
    """Valid settings of ``guide``: groups, routes, caller IDs and 不在時動作 that refer only
    to its extensions and lines; 転送先 / 接続先 any digits."""
    return _settings(guide, max_groups=3, numbers=None)


def dense_settings(guide: Guide) -> st.SearchStrategy[Settings]:
    """Valid settings of ``guide`` whose 転送先 / 接続先 are its extensions or the first three
    :data:`OUTSIDE` numbers: forwarding chains, loops and carrier-side legs come often."""
    extensions = [t.extension for t in guide.terminals]
    numbers = st.sampled_from(extensions + list(OUTSIDE[:3]))
    return _settings(guide, max_groups=2, numbers=numbers)
