"""Run a model ``Scenario`` through the simulator's call engine on a ManualClock and read back
a model ``Timeline``, so the two implementations can be compared event for event.

The phones are played by this module: an endpoint's ``state`` becomes the engine's presence
(the caller's own extension is busy: it is in this call), ``answer_after`` / ``reject_after``
become ``leg_answered`` / ``leg_failed(BUSY)`` events, an unreachable or busy external number
fails its leg at once without ringing, and ``caller_gives_up_after`` becomes
``caller_cancelled``. Phone events due at the same t as an engine timer come first, in the
model's order (docs/model.md "Time and ties": answer, rejection, giving up, then timers).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from harness.clock import ManualClock
from harness.guide import Tenant
from harness.model.params import ModelParams
from harness.model.scenario import EndpointState, Scenario
from harness.model.timeline import KIND_RANK, WITHHELD, Event, EventKind, Outcome, Timeline
from harness.sim.pbx.call import Call, CallState, LegFailure, LegTarget, target_number
from harness.sim.pbx.config import PbxConfig, PbxParams, Presence
from harness.sim.pbx.routing import (
    CallerId,
    ExternalOrigin,
    InternalOrigin,
    ReleaseReason,
    ToExternal,
    strip_prefix,
)

# Model parameters that are the caller's, not the PBX's (the runner plays the caller).
MODEL_ONLY = frozenset({"caller_gives_up_after"})

_ANSWER, _REJECT, _GIVE_UP = 1, 2, 3  # same-t order of phone events; 0: a leg failing at once
_RELEASES: dict[ReleaseReason, tuple[EventKind, Outcome]] = {
    ReleaseReason.BUSY: (EventKind.BUSY, Outcome.BUSY),
    ReleaseReason.UNAVAILABLE: (EventKind.RELEASE, Outcome.UNAVAILABLE),
    ReleaseReason.HOP_LIMIT: (EventKind.RELEASE, Outcome.UNAVAILABLE),
    ReleaseReason.NO_ANSWER: (EventKind.RELEASE, Outcome.RELEASED),
    ReleaseReason.NOT_FOUND: (EventKind.REFUSED, Outcome.REFUSED),
    ReleaseReason.NO_CALLER_ID: (EventKind.REFUSED, Outcome.REFUSED),
    ReleaseReason.NO_PICKUP: (EventKind.REFUSED, Outcome.REFUSED),
}


def param_text(value: object) -> str:
    """A parameter value as ``--param NAME=VALUE`` writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return value.value if isinstance(value, StrEnum) else str(value)


def pbx_params(params: ModelParams) -> PbxParams:
    """The simulator's parameters with the model's values (by name, through ``--param`` text)."""
    names = [name for name in vars(params) if name not in MODEL_ONLY]
    return PbxParams().with_overrides({n: param_text(getattr(params, n)) for n in names})


@dataclass(order=True)
class _PhoneEvent:
    at: float
    rank: int
    seq: int
    action: Callable[[], None] = field(compare=False)


class _Phones:
    """The endpoints of one scenario, driving one ``Call`` (the engine's ``LegDriver``)."""

    def __init__(self, scenario: Scenario, clock: ManualClock) -> None:
        self.scenario = scenario
        self.clock = clock
        self.call: Call | None = None
        self.queue: list[_PhoneEvent] = []
        self.seq = itertools.count()
        self.legs: dict[str, str] = {}  # leg id → endpoint
        self.live: set[str] = set()
        self.events: list[Event] = []
        self.outcome: Outcome | None = None
        self.answered_by: str | None = None

    def state(self, endpoint: str) -> EndpointState:
        if endpoint == self.scenario.caller:
            return EndpointState.BUSY
        return self.scenario.behaviour(endpoint).state

    def presence(self, extension: str) -> Presence:
        state = self.state(extension)
        if state is EndpointState.UNREGISTERED:
            return Presence.UNREGISTERED
        return Presence.BUSY if state is EndpointState.BUSY else Presence.AVAILABLE

    def emit(self, kind: EventKind, endpoint: str, caller_id: str | None = None) -> None:
        self.events.append(
            Event(t=self.clock.now(), kind=kind, endpoint=endpoint, caller_id=caller_id)
        )

    def later(self, delay: float, rank: int, action: Callable[[], None]) -> None:
        at = self.clock.now() + delay
        heapq.heappush(self.queue, _PhoneEvent(at, rank, next(self.seq), action))

    # --- LegDriver ----------------------------------------------------------------------------

    def start_leg(self, target: LegTarget, caller_id: CallerId) -> str:
        leg = f"leg{len(self.legs) + 1}"
        endpoint = target_number(target)
        self.legs[leg] = endpoint
        state = self.state(endpoint)
        if isinstance(target, ToExternal) and state is not EndpointState.REGISTERED:
            why = LegFailure.BUSY if state is EndpointState.BUSY else LegFailure.UNREGISTERED
            self.later(0, 0, lambda: self._fail(leg, why))
            return leg
        self.live.add(leg)
        self.emit(EventKind.RING, endpoint, caller_id.number or WITHHELD)
        behaviour = self.scenario.behaviour(endpoint)
        if behaviour.answer_after is not None:
            self.later(behaviour.answer_after, _ANSWER, lambda: self._answer(leg))
        if behaviour.reject_after is not None:
            self.later(behaviour.reject_after, _REJECT, lambda: self._reject(leg))
        return leg

    def stop_leg(self, leg: str) -> None:
        if leg in self.live:
            self.live.discard(leg)
            self.emit(EventKind.STOP, self.legs[leg])

    def connect(self, leg: str) -> None:
        self.outcome, self.answered_by = Outcome.ANSWERED, self.legs[leg]
        self.emit(EventKind.ANSWER, self.legs[leg])

    def to_voicemail(self, mailbox: str) -> None:
        self.outcome = Outcome.VOICEMAIL
        self.emit(EventKind.VOICEMAIL, mailbox)

    def bridge(self, other_call: str) -> None:  # pragma: no cover - no pickups here
        raise AssertionError("scenarios with pickups are not run through this runner")

    def release(self, reason: ReleaseReason) -> None:
        kind, self.outcome = _RELEASES[reason]
        self.emit(kind, self.scenario.caller)

    # --- phone events -------------------------------------------------------------------------

    def _answer(self, leg: str) -> None:
        if leg in self.live and self.call is not None:
            self.live.discard(leg)
            self.call.leg_answered(leg)

    def _reject(self, leg: str) -> None:
        if leg in self.live and self.call is not None and self.call.state is CallState.RINGING:
            self.live.discard(leg)
            self.emit(EventKind.STOP, self.legs[leg])
            self.call.leg_failed(leg, LegFailure.BUSY)

    def _fail(self, leg: str, why: LegFailure) -> None:
        if self.call is not None:
            self.call.leg_failed(leg, why)

    def give_up(self) -> None:
        if self.call is not None and self.call.state is CallState.RINGING:
            self.call.caller_cancelled()
            self.outcome = Outcome.RELEASED
            self.emit(EventKind.RELEASE, self.scenario.caller)


def observe(
    tenant: Tenant, scenario: Scenario, params: PbxParams, *, gives_up_after: float
) -> Timeline:
    """The engine's timeline of ``scenario`` (no pickups) on ``tenant``."""
    assert not scenario.pickups, "pickups need several calls: not run here"
    clock = ManualClock()
    phones = _Phones(scenario, clock)
    config = PbxConfig.from_tenant(tenant)
    dialled = scenario.dialled
    if scenario.caller in config.extensions:
        origin: InternalOrigin | ExternalOrigin = InternalOrigin(extension=scenario.caller)
    else:  # the carrier side strips 184 / 186 from a subscriber's call (carrier.py)
        withheld = None
        if dialled not in config.inbound_routes:
            dialled, withheld = strip_prefix(params, dialled)
        origin = ExternalOrigin(number=None if withheld else scenario.caller)
    call = phones.call = Call(
        origin=origin,
        dialled=dialled,
        driver=phones,
        clock=clock,
        config=config,
        presence=phones.presence,
        params=params,
    )
    gives_up = scenario.caller_gives_up_after
    phones.later(gives_up_after if gives_up is None else gives_up, _GIVE_UP, phones.give_up)
    call.start()
    while phones.outcome is None and phones.queue:
        due = phones.queue[0].at
        timer = clock.next_deadline()
        if timer is not None and timer < due:
            clock.advance(timer - clock.now())
            continue
        # Phone events before the engine's timers of the same t: move time without firing.
        clock._now = due  # noqa: SLF001 - the runner owns this clock
        heapq.heappop(phones.queue).action()
    assert phones.outcome is not None, f"the call never ended: {phones.events}"
    return Timeline(
        events=tuple(_canonical(phones.events)),
        outcome=phones.outcome,
        answered_by=phones.answered_by,
    )


def _canonical(events: list[Event]) -> list[Event]:
    """Events in contract order; the order of simultaneous stops or rings carries no meaning."""
    return sorted(events, key=lambda e: (e.t, KIND_RANK[e.kind], e.endpoint, e.caller_id or ""))


def canonical(timeline: Timeline) -> Timeline:
    return Timeline(
        events=tuple(_canonical(list(timeline.events))),
        outcome=timeline.outcome,
        answered_by=timeline.answered_by,
    )
