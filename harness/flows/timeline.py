"""Observed timelines: what the phones saw, as a model ``Timeline``, compared with ``predict``.

Theory of operation (issue 11 item 1, docs/suite-timelines.md). Every virtual phone records
``PhoneEvent``s stamped by its clock (simulated seconds). :func:`observed_timeline` turns the
events of one call into the model's shape (``harness.model.timeline``), in simulated seconds
from the caller's dial:

- a called phone's ``ring`` / ``stop`` / ``answer`` are the model's events of that endpoint;
  its ``rejected`` after ringing (``reject_after``) is the model's ``stop`` of that leg, a
  ``rejected`` without ringing (busy) shows nothing, as in the model;
- the caller's ``busy`` / ``refused`` / ``release`` end the call (the model names the caller);
- the caller's ``connected`` with no phone answering is the voicemail (no terminal rings for
  it); SIP does not say whose mailbox answered, so its endpoint is the ``mailbox`` the caller
  of this function read elsewhere (a voicemail listing), else :data:`UNKNOWN_MAILBOX`;
- a pickup (another phone dials the pickup code) that connects is the model's ``answer`` by
  the picker; a pickup that finds nothing shows nothing, as in the model.

:func:`compare` pairs the k-th expected event of each (kind, endpoint) with the k-th observed
one; a pair agrees when the times are within the tolerance and the caller IDs are equal.
Unpaired expected events are *missing* (a phone that never rang when the model says it must),
unpaired observed ones *extra*. The outcomes must agree too, except that ``released`` and
``unavailable`` are one observable outcome: both reach the caller as a release (480), so a
phone cannot tell them apart.

:func:`tolerance_for` is the documented rule of how far (simulated seconds) an observation may
be from the model's instant on a target; ``Target.tolerance`` overrides it.
:func:`early_tolerance_for` is the much smaller bound on the early side: an observation is late
(set-up and delivery latency), never early, so a target whose timers fire too soon is caught
even at a small time scale.

:func:`jitter_tolerance_for` is the third, tighter bound on the late side, *anchored on the
call itself*: every event of one call is late by the same set-up latency (the caller's dial →
the call's arrival at the target, whose timers run from there) plus its own delivery latency.
The first paired event's lateness measures the set-up (the *anchor*); every other paired
event may differ from it by the jitter budget only, so a timer that fires 2 s late stands out
of a budget that no longer has to cover set-up under load. The anchor itself is held to the
absolute bounds. Events at the instant of a harness action (a phone's answer, a pickup, the
caller giving up: ``actions``) are the phones' timing, not the target's timers — they run
from the action, not from the call's arrival — and are held to the absolute bounds only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from harness.errors import ConformanceFailure
from harness.model.timeline import KIND_RANK, Event, EventKind, Outcome, Timeline
from harness.sip.observed import PhoneEvent, PhoneEventKind
from harness.target.model import Target

#: The endpoint of an observed voicemail whose mailbox no surface of the target names.
UNKNOWN_MAILBOX = "?"

#: Smallest tolerance, simulated seconds: the model's instants are whole seconds of timers a
#: deployment rounds to its own tick; at time scale 1 half a second covers that and loopback.
MIN_TOLERANCE = 0.5
#: Real seconds an event may lag (or lead) its scaled instant on the target: loopback SIP on
#: the loaded 2-core machine plus the scheduling of three processes' event loops (measured,
#: docs/suite-timelines.md: 134 events at load average 8.8, median 8 ms, p95 40 ms, max 87 ms
#: late; single outliers of 0.39–0.41 s at load average 15).
JITTER_BUDGET = 0.5
#: Real seconds an event may come *before* its scaled instant: only the two clocks' reading
#: instants (every event measured is late: set-up and delivery latency; min +1 ms seen).
EARLY_BUDGET = 0.02
#: Real seconds two events of one call may differ in lateness (after the anchor: the first
#: event's lateness, the call's own set-up): delivery jitter between events only. Measured
#: (docs/suite-timelines.md "Timer faults"): |drift| p95 143 ms, max 231 ms at load average
#: 5–11; a 一斉着信's four rings fanned out over 220 ms at load average 18.
RELATIVE_BUDGET = 0.3

_END_KINDS = frozenset(
    {EventKind.ANSWER, EventKind.VOICEMAIL, EventKind.BUSY, EventKind.RELEASE, EventKind.REFUSED}
)
_RELEASES = frozenset({Outcome.RELEASED, Outcome.UNAVAILABLE})
_CALLER_ENDS = {
    PhoneEventKind.BUSY: EventKind.BUSY,
    PhoneEventKind.REFUSED: EventKind.REFUSED,
    PhoneEventKind.RELEASE: EventKind.RELEASE,
}
_CALLEE_KINDS = {
    PhoneEventKind.RING: EventKind.RING,
    PhoneEventKind.STOP: EventKind.STOP,
    PhoneEventKind.ANSWER: EventKind.ANSWER,
}


def tolerance_for(target: Target) -> float:
    """How far (simulated seconds) an observed event may be from the model's instant.

    ``target.tolerance`` when the target file sets one; else
    ``max(MIN_TOLERANCE, JITTER_BUDGET / target.time_scale)``: a real-time jitter budget turned
    into simulated seconds (at scale 0.05, 10 s; at 0.1, 5 s; at 1.0, 0.5 s).
    """
    if target.tolerance is not None:
        return target.tolerance
    return max(MIN_TOLERANCE, JITTER_BUDGET / target.time_scale)


def early_tolerance_for(target: Target) -> float:
    """How much earlier (simulated seconds) than the model's instant an event may be observed:
    ``target.tolerance`` when set (symmetric), else
    ``max(MIN_TOLERANCE, EARLY_BUDGET / target.time_scale)`` (at scale 0.01, 2 s)."""
    if target.tolerance is not None:
        return target.tolerance
    return max(MIN_TOLERANCE, EARLY_BUDGET / target.time_scale)


def jitter_tolerance_for(target: Target) -> float | None:
    """How much later (simulated seconds) than the call's anchor an event may be observed:
    None when the target file sets ``tolerance`` (that bound alone applies), else
    ``max(MIN_TOLERANCE, RELATIVE_BUDGET / target.time_scale)`` (at 0.2, 1.5 s; at 0.1,
    3 s; at 0.01, 30 s)."""
    if target.tolerance is not None:
        return None
    return max(MIN_TOLERANCE, RELATIVE_BUDGET / target.time_scale)


def observed_timeline(
    events: Sequence[PhoneEvent],
    *,
    phones: Mapping[str, str],
    origin: float,
    scale: float,
    mailbox: str | None = None,
) -> Timeline:
    """The model-shaped timeline of one call from every phone's events.

    ``phones``: phone name → the model's endpoint (a 内線番号 or external digits); events of
    other phones are ignored. ``origin``: the phones' clock at the caller's dial (its ``dial``
    event); the caller's call is the first ``dial`` at or after it, later dials are pickups.
    ``scale``: simulated seconds of the model per unit of the events' ``t`` — the phones'
    clock scale over the target's time scale (1.0 when the phones run at the target's scale,
    as ``PhoneFactory.for_target`` makes them). ``mailbox``: the extension whose voicemail
    answered, when a surface of the target says so.
    """
    chosen = sorted((e for e in events if e.phone in phones and e.t >= origin), key=_when)
    dials = [e for e in chosen if e.kind is PhoneEventKind.DIAL]
    # A call is (phone, Call-ID): a proxy (Kamailio) keeps one Call-ID on both legs, so the
    # callee's events share the caller's Call-ID and only the phone tells them apart.
    caller_call = (dials[0].phone, dials[0].call_id) if dials else None
    pickups = {(e.phone, e.call_id) for e in dials[1:]}
    rang = {(e.phone, e.call_id) for e in chosen if e.kind is PhoneEventKind.RING}
    out: list[Event] = []
    picked_from: dict[str, float] = {}
    caller_connected: float | None = None
    for event in chosen:
        endpoint = phones[event.phone]
        t = (event.t - origin) * scale
        call = (event.phone, event.call_id)
        if call == caller_call:
            if event.kind is PhoneEventKind.CONNECTED:
                caller_connected = t
            elif event.kind in _CALLER_ENDS:
                out.append(Event(t=t, kind=_CALLER_ENDS[event.kind], endpoint=endpoint))
        elif call in pickups:
            if event.kind is PhoneEventKind.DIAL:
                picked_from.setdefault(endpoint, t)
            elif event.kind is PhoneEventKind.CONNECTED:
                out.append(Event(t=t, kind=EventKind.ANSWER, endpoint=endpoint))
        elif event.kind in _CALLEE_KINDS:
            caller_id = event.caller_id if event.kind is PhoneEventKind.RING else None
            out.append(
                Event(t=t, kind=_CALLEE_KINDS[event.kind], endpoint=endpoint, caller_id=caller_id)
            )
        elif event.kind is PhoneEventKind.REJECTED and (event.phone, event.call_id) in rang:
            out.append(Event(t=t, kind=EventKind.STOP, endpoint=endpoint))
    out.sort(key=lambda e: (e.t, KIND_RANK[e.kind]))
    out = _answer_closes_own_ring(out, picked_from)
    answered = any(e.kind is EventKind.ANSWER for e in out)
    if caller_connected is not None and not answered:
        out.append(
            Event(t=caller_connected, kind=EventKind.VOICEMAIL, endpoint=mailbox or UNKNOWN_MAILBOX)
        )
    out.sort(key=lambda e: (e.t, KIND_RANK[e.kind]))
    return _with_outcome(tuple(out))


def _answer_closes_own_ring(events: list[Event], picked_from: Mapping[str, float]) -> list[Event]:
    """A picker that was ringing itself answers with the pickup code: SIP cancels its own
    ringing leg (a ``stop``) once it dialled, the model closes that ring with the answer.
    Drop that one stop (``picked_from``: picker endpoint → when it dialled), so both say the
    same thing."""
    answer = next((e for e in events if e.kind is EventKind.ANSWER), None)
    if answer is None or answer.endpoint not in picked_from:
        return events
    dialled = picked_from[answer.endpoint]
    for index, event in enumerate(events):
        own_stop = event.kind is EventKind.STOP and event.endpoint == answer.endpoint
        if own_stop and event.t >= dialled:
            return events[:index] + events[index + 1 :]
    return events


def _when(event: PhoneEvent) -> float:
    return event.t


def _with_outcome(events: tuple[Event, ...]) -> Timeline:
    """The outcome from the first event that ends the call. A call that had not ended when
    observation stopped is ``released`` by convention; its end is missing from the events,
    which :func:`compare` reports, and ``TimelineDiff.text`` says the call had not ended."""
    end = next((e for e in events if e.kind in _END_KINDS), None)
    if end is None:
        return Timeline(events=events, outcome=Outcome.RELEASED)
    if end.kind is EventKind.ANSWER:
        return Timeline(events=events, outcome=Outcome.ANSWERED, answered_by=end.endpoint)
    if end.kind is EventKind.RELEASE:
        rang = any(e.kind is EventKind.RING for e in events)
        return Timeline(events=events, outcome=Outcome.RELEASED if rang else Outcome.UNAVAILABLE)
    outcome = {
        EventKind.VOICEMAIL: Outcome.VOICEMAIL,
        EventKind.BUSY: Outcome.BUSY,
        EventKind.REFUSED: Outcome.REFUSED,
    }[end.kind]
    return Timeline(events=events, outcome=outcome)


@dataclass(frozen=True, kw_only=True)
class DiffRow:
    """One line of the side-by-side comparison: an expected event, the observed one paired
    with it (either may be None), the time difference (observed − expected) and a verdict."""

    expected: Event | None
    observed: Event | None
    delta: float | None
    ok: bool
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class TimelineDiff:
    """The comparison of an expected and an observed timeline."""

    rows: tuple[DiffRow, ...]
    expected_outcome: Outcome
    observed_outcome: Outcome
    observed_ended: bool
    answered_by: tuple[str | None, str | None]
    tolerance: float
    early: float
    jitter: float | None = None
    #: The call's set-up lateness (observed − model of the first paired event), when anchored.
    anchor: float | None = None

    @property
    def outcome_ok(self) -> bool:
        if not self.observed_ended:
            return False
        same = (
            self.expected_outcome is self.observed_outcome
            or {
                self.expected_outcome,
                self.observed_outcome,
            }
            <= _RELEASES
        )
        return same and self.answered_by[0] == self.answered_by[1]

    @property
    def ok(self) -> bool:
        return self.outcome_ok and all(row.ok for row in self.rows)

    def problems(self) -> list[str]:
        """One sentence per disagreement (empty when the timelines agree)."""
        found = [row.note for row in self.rows if not row.ok]
        if not self.outcome_ok:
            found.append(f"outcome: the model says {self._outcome(0)}, observed {self._outcome(1)}")
        return found

    def _outcome(self, side: int) -> str:
        if side == 1 and not self.observed_ended:
            return "— (the call had not ended)"
        outcome = self.expected_outcome if side == 0 else self.observed_outcome
        by = self.answered_by[side]
        return f"{outcome.value} by {by}" if by else outcome.value

    def text(self) -> str:
        """A side-by-side table: expected | observed | Δ | ok, then the outcomes."""
        header = ("expected (model)", "observed", "Δ s", "ok")
        lines = [header]
        for row in self.rows:
            delta = "" if row.delta is None else f"{row.delta:+.2f}"
            mark = ("ok" + (f" ({row.note})" if row.note else "")) if row.ok else "✗ " + row.note
            lines.append((_event_text(row.expected), _event_text(row.observed), delta, mark))
        outcome_mark = "ok" if self.outcome_ok else "✗"
        lines.append(
            ("outcome: " + self._outcome(0), "outcome: " + self._outcome(1), "", outcome_mark)
        )
        widths = [max(_width(line[i]) for line in lines) for i in range(3)]
        rendered = [
            "  ".join(_pad(cell, widths[i]) if i < 3 else cell for i, cell in enumerate(line))
            for line in lines
        ]
        verdict = "agree" if self.ok else "DIFFER"
        rendered.insert(1, "-" * (sum(widths) + 8))
        bounds = _bounds(self.early, self.tolerance)
        if self.jitter is not None and self.anchor is not None:
            bounds += f"; anchor {self.anchor:+.2f} s, each later event within ±{self.jitter:g} s"
        return f"timelines {verdict} ({bounds})\n" + "\n".join(rendered)


def _event_text(event: Event | None) -> str:
    if event is None:
        return "—"
    shown = f" [{event.caller_id}]" if event.caller_id is not None else ""
    return f"{event.t:7.2f}  {event.kind.value:<9} {event.endpoint}{shown}"


def _width(text: str) -> int:
    """Display width: CJK characters (非通知) take two columns."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _bounds(early: float, late: float) -> str:
    if early == late:
        return f"tolerance ±{late:g} s"
    return f"tolerance −{early:g}/+{late:g} s"


def compare(
    expected: Timeline,
    observed: Timeline,
    *,
    tolerance: float,
    early: float | None = None,
    jitter: float | None = None,
    actions: Collection[float] = (),
) -> TimelineDiff:
    """Pair the events of ``expected`` and ``observed`` and say where they differ: an observed
    event may be up to ``tolerance`` simulated seconds late and ``early`` (default: the same)
    early; with ``jitter``, every paired event after the first (the anchor) may moreover be
    at most ``jitter`` later or earlier than the anchor's own lateness, except the events at
    the model instants of harness ``actions`` (module docstring)."""
    early = tolerance if early is None else early
    rows: list[DiffRow] = []
    pool: dict[tuple[EventKind, str], list[Event]] = {}
    for event in observed.events:
        pool.setdefault(_key(event), []).append(event)
    anchor: float | None = None
    for event in expected.events:
        candidates = pool.get(_key(event))
        if not candidates and event.kind is EventKind.VOICEMAIL:
            candidates = pool.get((EventKind.VOICEMAIL, UNKNOWN_MAILBOX))
        if not candidates:
            rows.append(
                DiffRow(expected=event, observed=None, delta=None, ok=False, note=_missing(event))
            )
            continue
        seen = candidates.pop(0)
        row = _pair(event, seen, early, tolerance)
        timer = not any(abs(event.t - t) < 1e-6 for t in actions)
        if jitter is not None and timer and anchor is None:
            anchor = row.delta
        elif jitter is not None and timer and anchor is not None and row.delta is not None:
            row = _anchored(row, anchor, jitter)
        rows.append(row)
    for events in pool.values():
        for event in events:
            note = (
                f"extra: {event.kind.value} at {event.endpoint}, t={event.t:.2f}; not in the model"
            )
            rows.append(DiffRow(expected=None, observed=event, delta=None, ok=False, note=note))
    rows.sort(key=_row_order)
    return TimelineDiff(
        rows=tuple(rows),
        expected_outcome=expected.outcome,
        observed_outcome=observed.outcome,
        observed_ended=any(e.kind in _END_KINDS for e in observed.events),
        answered_by=(expected.answered_by, observed.answered_by),
        tolerance=tolerance,
        early=early,
        jitter=jitter,
        anchor=anchor,
    )


def _row_order(row: DiffRow) -> tuple[float, int]:
    event = row.expected or row.observed
    assert event is not None
    return (event.t, KIND_RANK[event.kind])


def _key(event: Event) -> tuple[EventKind, str]:
    return (event.kind, event.endpoint)


def _missing(event: Event) -> str:
    if event.kind is EventKind.RING:
        return f"phone {event.endpoint} never rang; the model says it rings at t={event.t:g}"
    return f"missing: {event.kind.value} at {event.endpoint}; the model says at t={event.t:g}"


def _pair(expected: Event, observed: Event, early: float, late: float) -> DiffRow:
    delta = observed.t - expected.t
    problems: list[str] = []
    if delta > late or -delta > early:
        side = "late" if delta > 0 else "early"
        problems.append(
            f"{expected.kind.value} at {expected.endpoint} {abs(delta):.2f} s {side} "
            f"(model t={expected.t:g}, observed t={observed.t:.2f}, {_bounds(early, late)})"
        )
    if expected.caller_id != observed.caller_id:
        problems.append(
            f"caller ID at {expected.endpoint}: the model says {expected.caller_id}, "
            f"observed {observed.caller_id}"
        )
    if observed.endpoint == UNKNOWN_MAILBOX and not problems:
        note = "mailbox not observable over SIP"
        return DiffRow(expected=expected, observed=observed, delta=delta, ok=True, note=note)
    return DiffRow(
        expected=expected, observed=observed, delta=delta, ok=not problems, note="; ".join(problems)
    )


def _anchored(row: DiffRow, anchor: float, jitter: float) -> DiffRow:
    """``row`` also held to the call's anchor: its lateness within ±``jitter`` of the
    anchor's (the first paired event's), else a problem naming both."""
    assert row.expected is not None and row.delta is not None
    drift = row.delta - anchor
    if abs(drift) <= jitter:
        return row
    side = "later" if drift > 0 else "earlier"
    problem = (
        f"{row.expected.kind.value} at {row.expected.endpoint} {abs(drift):.2f} s {side} than "
        f"the call's own set-up lateness ({anchor:+.2f} s at its first event; model "
        f"t={row.expected.t:g}, Δ {row.delta:+.2f} s, allowed ±{jitter:g} s)"
    )
    note = f"{row.note}; {problem}" if not row.ok and row.note else problem
    return dataclasses.replace(row, ok=False, note=note)


class TimelineMismatch(ConformanceFailure):
    """The target's behaviour differs from the model's timeline (verdict: failed).

    Carries both timelines and the diff; the message is the side-by-side table.
    """

    def __init__(
        self, expected: Timeline, observed: Timeline, diff: TimelineDiff, *, name: str = "call"
    ) -> None:
        self.expected = expected
        self.observed = observed
        self.diff = diff
        self.name = name
        problems = "\n".join(f"  - {p}" for p in diff.problems())
        super().__init__(
            f"{name}: the observed timeline differs from the model's\n{problems}\n\n{diff.text()}"
        )
