"""The reactive call controller: one ``Call`` per incoming call, events in, actions out, timers.

Theory of operation. A call arrives with an origin and dialled digits; ``routing.route_call``
picks its destination. From then on the call is a sequence of *stages* — ring an extension
(rule 4), a 一斉着信 or 順次着信 group (rules 2, 3), a シングルナンバーリーチ (rule 5), an external
number — exactly one current at a time. A stage acts through the ``LegDriver`` (start and stop
legs, connect, voicemail, release) and schedules its service timers on the ``Clock``. Events
come back from the SIP side (``leg_ringing``, ``leg_answered``, ``leg_failed``,
``caller_cancelled``, ``hung_up``) and are dispatched to the current stage. Forwarding (rule 4's
転送) replaces the stage; every live leg of the old stage is stopped and its timers cancelled
first, so a stale timer or a late event from an old leg can never act.

This is the simulator's own implementation of DOMAIN.md; it never consults harness.model
(DESIGN.md hard rule): the two must agree because both follow DOMAIN.md, and the differential
tests check that they do.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from harness.clock import Clock, TimerHandle
from harness.guide.types import Action, GroupKind
from harness.sim.pbx.config import (
    ForwardConfig,
    GroupConfig,
    PbxConfig,
    PbxParams,
    Presence,
    ReachConfig,
    ReachLeg,
)
from harness.sim.pbx.routing import (
    CallerId,
    ExternalOrigin,
    Origin,
    Refusal,
    ReleaseReason,
    ToExtension,
    ToExternal,
    ToGroup,
    ToPickup,
    resolve_number,
    route_call,
    site_of,
)
from harness.sim.pbx.voicemail import VoicemailStore

LegTarget = ToExtension | ToExternal


def target_number(target: LegTarget) -> str:
    """The extension or external number a leg rings."""
    return target.extension if isinstance(target, ToExtension) else target.number


class LegFailure(StrEnum):
    """Why a leg ended without an answer (SIP: 486/600 → busy, 404/480 → unregistered)."""

    BUSY = "busy"
    UNREGISTERED = "unregistered"
    ERROR = "error"


class LegDriver(Protocol):
    """What a call asks of the signalling side (the SIP glue, or a fake in tests).

    Every method is a command; outcomes come back as events on the ``Call``. ``stop_leg`` on a
    leg that has meanwhile answered (a 200 crossing a CANCEL) must hang that leg up.
    """

    def start_leg(self, target: LegTarget, caller_id: CallerId) -> str:
        """Start ringing ``target`` presenting ``caller_id``; return a new, unique leg id."""
        ...

    def stop_leg(self, leg: str) -> None:
        """Stop ringing ``leg`` (SIP: CANCEL)."""
        ...

    def connect(self, leg: str) -> None:
        """Answer the caller and join it with answered ``leg`` (SIP: 200 to the caller)."""
        ...

    def to_voicemail(self, mailbox: str) -> None:
        """Answer the caller with the voicemail of ``mailbox``."""
        ...

    def bridge(self, other_call: str) -> None:
        """Answer the caller and join it with the caller of call ``other_call`` (pickup)."""
        ...

    def release(self, reason: ReleaseReason) -> None:
        """End the call unanswered; the caller gets ``reason.sip_status``."""
        ...


class CallState(StrEnum):
    RINGING = "ringing"  # routing done, stages running
    CONNECTED = "connected"  # a leg answered, or bridged by pickup
    VOICEMAIL = "voicemail"
    RELEASED = "released"  # ended unanswered by the PBX
    CANCELLED = "cancelled"  # the caller gave up before an answer
    ENDED = "ended"  # hung up after connected / voicemail


TERMINAL = frozenset({CallState.RELEASED, CallState.CANCELLED, CallState.ENDED})


class LegState(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(kw_only=True)
class Leg:
    id: str
    target: LegTarget
    caller_id: CallerId
    started_at: float
    state: LegState = LegState.RINGING
    alerting: bool = False  # a 180 came back

    @property
    def live(self) -> bool:
        return self.state is LegState.RINGING


PresenceOf = Callable[[str], Presence]
PickupLookup = Callable[["Call", GroupConfig], "Call | None"]


class Call:
    """One call from arrival to its end. Create through ``Pbx.incoming`` (or directly in tests)."""

    _ids = itertools.count(1)

    def __init__(
        self,
        *,
        origin: Origin,
        dialled: str,
        driver: LegDriver,
        clock: Clock,
        config: PbxConfig,
        presence: PresenceOf,
        params: PbxParams | None = None,
        voicemail: VoicemailStore | None = None,
        pickup_lookup: PickupLookup | None = None,
        on_end: Callable[[Call], None] | None = None,
        call_id: str | None = None,
    ) -> None:
        self.id = call_id or f"call-{next(Call._ids)}"
        self.origin = origin
        self.dialled = dialled
        self.driver = driver
        self.clock = clock
        self.config = config
        self.presence = presence
        self.params = params or PbxParams()
        self.voicemail = voicemail
        self.pickup_lookup = pickup_lookup
        self.on_end = on_end
        self.arrived_at = clock.now()
        self.state = CallState.RINGING
        self.caller_id = CallerId(number=None)
        self.legs: dict[str, Leg] = {}
        self.answered_leg: Leg | None = None
        self.bridged_with: str | None = None
        self.release_reason: ReleaseReason | None = None
        self.recording_id: int | None = None
        self._stage: _Stage | None = None
        self._timers: list[TimerHandle] = []

    # --- events in ----------------------------------------------------------------------------

    def start(self) -> None:
        """Route the call and start its first stage (t = 0)."""
        route = route_call(self.config, self.params, origin=self.origin, dialled=self.dialled)
        if isinstance(route, Refusal):
            self._release(route.reason)
            return
        self.caller_id = route.caller_id
        destination = route.destination
        if isinstance(destination, ToPickup):
            self._pick_up(destination.group)
        else:
            self._enter_destination(destination, hops=0, forwarded_by=None)

    def leg_ringing(self, leg_id: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is not None and leg.live:
            leg.alerting = True

    def leg_answered(self, leg_id: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is None:
            return
        if not leg.live or self.state is not CallState.RINGING:
            # Answered after we stopped it (200 crossing CANCEL): hang that leg up again.
            if leg.state is not LegState.ANSWERED:
                self.driver.stop_leg(leg_id)
            return
        self._stop_all(except_leg=leg)
        leg.state = LegState.ANSWERED
        self.answered_leg = leg
        self.state = CallState.CONNECTED
        self.driver.connect(leg_id)

    def leg_failed(self, leg_id: str, why: LegFailure) -> None:
        leg = self.legs.get(leg_id)
        if leg is None or not leg.live or self.state is not CallState.RINGING:
            return
        leg.state = LegState.FAILED
        if self._stage is not None and leg_id in self._stage.legs:
            self._stage.leg_failed(leg, why)

    def caller_cancelled(self) -> None:
        """The caller gave up (SIP: CANCEL) before an answer; the glue answers it 487."""
        if self.state is CallState.RINGING:
            self._stop_all()
            self._finish(CallState.CANCELLED)

    def hung_up(self) -> None:
        """Either party ended a connected call, or the caller left voicemail."""
        if self.state is CallState.VOICEMAIL and self.voicemail and self.recording_id:
            self.voicemail.finish(self.recording_id, at=self.clock.now())
        if self.state in (CallState.CONNECTED, CallState.VOICEMAIL):
            self._finish(CallState.ENDED)
        elif self.state is CallState.RINGING:
            self.caller_cancelled()

    # --- queries ------------------------------------------------------------------------------

    @property
    def caller_extension(self) -> str | None:
        return None if isinstance(self.origin, ExternalOrigin) else self.origin.extension

    def ringing_extensions(self) -> list[str]:
        """Extensions this call is ringing now (for pickup)."""
        return [
            leg.target.extension
            for leg in self.legs.values()
            if leg.live and isinstance(leg.target, ToExtension)
        ]

    def busy_extensions(self) -> list[str]:
        """Extensions this call keeps busy: its calling extension, and the one that answered."""
        if self.state in TERMINAL:
            return []
        busy = [] if self.caller_extension is None else [self.caller_extension]
        if self.answered_leg is not None and isinstance(self.answered_leg.target, ToExtension):
            busy.append(self.answered_leg.target.extension)
        return busy

    # --- actions used by the stages -----------------------------------------------------------

    def _ring(self, stage: _Stage, target: LegTarget, caller_id: CallerId) -> Leg:
        leg_id = self.driver.start_leg(target, caller_id)
        leg = Leg(id=leg_id, target=target, caller_id=caller_id, started_at=self.clock.now())
        self.legs[leg_id] = leg
        stage.legs.add(leg_id)
        return leg

    def _stop(self, leg: Leg) -> None:
        if leg.live:
            leg.state = LegState.STOPPED
            self.driver.stop_leg(leg.id)

    def _stop_all(self, except_leg: Leg | None = None) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for leg in list(self.legs.values()):
            if leg is not except_leg:
                self._stop(leg)

    def _later(self, stage: _Stage, delay: float, action: Callable[[], None]) -> TimerHandle:
        """A service timer that acts only if its stage is still the current one."""

        def fire() -> None:
            if self._stage is stage and self.state is CallState.RINGING:
                action()

        handle = self.clock.call_later(delay, fire)
        self._timers.append(handle)
        return handle

    def _enter(self, stage: _Stage) -> None:
        self._stop_all()
        self._stage = stage
        stage.start()

    def _enter_destination(
        self,
        destination: ToExtension | ToGroup | ToExternal,
        *,
        hops: int,
        forwarded_by: str | None,
    ) -> None:
        if isinstance(destination, ToExtension):
            self._enter(_ExtensionStage(self, destination.extension, hops=hops))
        elif isinstance(destination, ToGroup):
            if destination.group.kind is GroupKind.SIMULTANEOUS:
                self._enter(_SimultaneousStage(self, destination.group))
            else:
                self._enter(_SequentialStage(self, destination.group))
        else:
            caller_id = self.caller_id
            if forwarded_by is not None:
                # Rule 7: a forwarded leg to an external number carries the forwarding
                # extension's 外線発信 number; without one it cannot be placed.
                presented = self.config.outbound_caller_ids.get(forwarded_by)
                if presented is None:
                    self._release(ReleaseReason.NO_CALLER_ID)
                    return
                caller_id = CallerId(number=presented)
            self._enter(_ExternalStage(self, destination.number, caller_id))

    def _forward(self, from_extension: str, forward_to: str | None, *, hops: int) -> None:
        """Rule 4's 転送 from ``from_extension``; ``hops`` forwards were already made."""
        if forward_to is None:
            self._release(ReleaseReason.UNAVAILABLE)
            return
        if hops >= self.params.forward_hop_limit:
            self._release(ReleaseReason.HOP_LIMIT)
            return
        destination = resolve_number(
            self.config,
            self.params,
            forward_to,
            site_number=site_of(self.config, from_extension),
        )
        if destination is None:
            self._release(ReleaseReason.NOT_FOUND)
            return
        self._enter_destination(destination, hops=hops + 1, forwarded_by=from_extension)

    def _to_voicemail(self, mailbox: str) -> None:
        self._stop_all()
        self.state = CallState.VOICEMAIL
        if self.voicemail is not None:
            caller = (
                self.origin.number
                if isinstance(self.origin, ExternalOrigin)
                else self.origin.extension
            )
            recording = self.voicemail.start(
                mailbox=mailbox,
                caller=caller,
                caller_id=self.caller_id.number,
                at=self.clock.now(),
            )
            self.recording_id = recording.id
        self.driver.to_voicemail(mailbox)

    def _release(self, reason: ReleaseReason) -> None:
        self._stop_all()
        self.release_reason = reason
        self._finish(CallState.RELEASED)
        self.driver.release(reason)

    def _pick_up(self, group: GroupConfig) -> None:
        target = None if self.pickup_lookup is None else self.pickup_lookup(self, group)
        if target is None:
            self._release(ReleaseReason.NO_PICKUP)
            return
        target.picked_up_by(self)
        self.state = CallState.CONNECTED
        self.bridged_with = target.id
        self.driver.bridge(target.id)

    def picked_up_by(self, picker: Call) -> None:
        """Rule 8: another member dialled the pickup code; stop ringing and join the picker."""
        self._stop_all()
        self._stage = None
        self.state = CallState.CONNECTED
        self.bridged_with = picker.id
        self.driver.bridge(picker.id)

    def _finish(self, state: CallState) -> None:
        self.state = state
        self._stage = None
        if self.on_end is not None:
            self.on_end(self)


class _Stage:
    """One step of a call's routing; owns the legs it started."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.legs: set[str] = set()

    def start(self) -> None:
        raise NotImplementedError

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        raise NotImplementedError

    def live_legs(self) -> list[Leg]:
        return [self.call.legs[i] for i in self.legs if self.call.legs[i].live]


class _ExtensionStage(_Stage):
    """Rule 4 (転送/留守番電話) for extension X, or rule 5 when X has シングルナンバーリーチ."""

    def __init__(self, call: Call, extension: str, *, hops: int) -> None:
        super().__init__(call)
        self.extension = extension
        self.hops = hops
        self.forward: ForwardConfig | None = call.config.forwards.get(extension)

    def start(self) -> None:
        call = self.call
        reach = call.config.reaches.get(self.extension)
        if reach is not None:
            call._enter(_ReachStage(call, self.extension, reach))
            return
        fwd = self.forward
        if fwd is not None and fwd.unconditional is not Action.NONE:
            self.act(fwd.unconditional)
            return
        presence = call.presence(self.extension)
        if presence is Presence.UNREGISTERED:
            self.state_holds(LegFailure.UNREGISTERED)
        elif presence is Presence.BUSY:
            self.state_holds(LegFailure.BUSY)
        else:
            call._ring(self, ToExtension(extension=self.extension), call.caller_id)
            if fwd is not None and fwd.no_answer is not Action.NONE and fwd.ring_time:
                call._later(self, fwd.ring_time, lambda: self.act(fwd.no_answer))

    def state_holds(self, why: LegFailure) -> None:
        """X turned out unregistered or busy (before or while ringing): 圏外 / 話中."""
        fwd = self.forward
        if why is LegFailure.UNREGISTERED:
            action = Action.NONE if fwd is None else fwd.unreachable
            fallback = ReleaseReason.UNAVAILABLE
        elif why is LegFailure.BUSY:
            action = Action.NONE if fwd is None else fwd.busy
            fallback = ReleaseReason.BUSY
        else:
            action, fallback = Action.NONE, ReleaseReason.UNAVAILABLE
        if action is Action.NONE:
            self.call._release(fallback)
        else:
            self.act(action)

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        self.state_holds(why)

    def act(self, action: Action) -> None:
        call = self.call
        if action is Action.VOICEMAIL:
            call._to_voicemail(self.extension)
        elif action is Action.FORWARD:
            assert self.forward is not None
            call._forward(self.extension, self.forward.forward_to, hops=self.hops)
        else:  # pragma: no cover - callers never act on 設定しない
            call._release(ReleaseReason.UNAVAILABLE)


class _ExternalStage(_Stage):
    """An external number: one leg, no timer, no fallback (rule 4: 転送 has no fallback)."""

    def __init__(self, call: Call, number: str, caller_id: CallerId) -> None:
        super().__init__(call)
        self.number = number
        self.caller_id = caller_id

    def start(self) -> None:
        self.call._ring(self, ToExternal(number=self.number), self.caller_id)

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        busy = why is LegFailure.BUSY
        self.call._release(ReleaseReason.BUSY if busy else ReleaseReason.UNAVAILABLE)


def _group_time(group: GroupConfig, default: float) -> float:
    return default if group.ring_time is None else group.ring_time


class _SimultaneousStage(_Stage):
    """Rule 2: every available member at t=0, first answer wins, the group ends at G."""

    def __init__(self, call: Call, group: GroupConfig) -> None:
        super().__init__(call)
        self.group = group

    def start(self) -> None:
        call = self.call
        available = [m for m in self.group.members if call.presence(m) is Presence.AVAILABLE]
        if not available:
            call._release(ReleaseReason.UNAVAILABLE)
            return
        for member in available:
            call._ring(self, ToExtension(extension=member), call.caller_id)
        ring_time = _group_time(self.group, call.params.group_ring_time)
        call._later(self, ring_time, lambda: call._release(ReleaseReason.NO_ANSWER))

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        if not self.live_legs():
            self.call._release(ReleaseReason.UNAVAILABLE)


class _SequentialStage(_Stage):
    """Rule 3: members in order, each for T; unavailable skipped at once (or costs T)."""

    def __init__(self, call: Call, group: GroupConfig) -> None:
        super().__init__(call)
        self.group = group
        self.next_index = 0
        self.slot: TimerHandle | None = None
        self.ring_time = _group_time(group, call.params.member_ring_time)

    def start(self) -> None:
        self.advance()

    def advance(self, slot_start: float | None = None) -> None:
        """Ring the next available member. ``slot_start`` is when this slot was due (the
        previous slot's planned end), so a late timer never delays the slots after it."""
        call = self.call
        for leg in self.live_legs():
            call._stop(leg)
        if self.slot is not None:
            self.slot.cancel()
            self.slot = None
        start = call.clock.now() if slot_start is None else slot_start
        costs_time = call.params.sequential_skip_costs_ring_time
        while self.next_index < len(self.group.members):
            member = self.group.members[self.next_index]
            self.next_index += 1
            if call.presence(member) is Presence.AVAILABLE:
                call._ring(self, ToExtension(extension=member), call.caller_id)
            elif not costs_time:
                continue
            end = start + self.ring_time
            self.slot = call._later(
                self, end - call.clock.now(), functools.partial(self.advance, end)
            )
            return
        call._release(ReleaseReason.NO_ANSWER)

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        if not self.call.params.sequential_skip_costs_ring_time:
            self.advance()


class _ReachStage(_Stage):
    """Rule 5: X at 0, 接続先i at 呼出開始時間i, everything stops at 呼出終了時間."""

    def __init__(self, call: Call, extension: str, reach: ReachConfig) -> None:
        super().__init__(call)
        self.extension = extension
        self.reach = reach
        self.pending = 0

    def start(self) -> None:
        call = self.call
        if call.presence(self.extension) is Presence.AVAILABLE:
            call._ring(self, ToExtension(extension=self.extension), call.caller_id)
        for reach_leg in self.reach.legs:
            if reach_leg.start >= self.reach.end:
                continue  # (A) a leg whose start ≥ end never rings
            self.pending += 1
            call._later(self, reach_leg.start, functools.partial(self.ring_reach, reach_leg))
        call._later(self, self.reach.end, self.end)
        self.end_if_all_failed()

    def ring_reach(self, reach_leg: ReachLeg) -> None:
        call = self.call
        self.pending -= 1
        target = resolve_number(
            call.config,
            call.params,
            reach_leg.number,
            site_number=site_of(call.config, self.extension),
        )
        if isinstance(target, ToGroup):
            # A pilot named as 接続先 is rung as the extension it is (no group, no forwarding).
            target = ToExtension(extension=target.group.pilot or "")
        if isinstance(target, ToExternal):
            presented = call.config.outbound_caller_ids.get(self.extension)
            if presented is not None:
                call._ring(self, target, CallerId(number=presented))
        elif isinstance(target, ToExtension):
            if call.presence(target.extension) is Presence.AVAILABLE:
                call._ring(self, target, call.caller_id)
        self.end_if_all_failed()

    def end_if_all_failed(self) -> None:
        if self.pending == 0 and not self.live_legs():
            self.end()

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        self.end_if_all_failed()

    def end(self) -> None:
        if self.reach.voicemail:
            self.call._to_voicemail(self.extension)
        else:
            self.call._release(ReleaseReason.NO_ANSWER)
