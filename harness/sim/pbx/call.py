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

State. The call's own state (``CallState``) and each leg's (``LegState``) change in one funnel
each, ``Call._transition`` and ``Call._leg_transition``, driven by one table each
(``CALL_TRANSITIONS``, ``LEG_TRANSITIONS``: state → {event: next state}, STYLE.md §2 and §16,
like ``harness.sip.transaction``). An undefined (state, event) is a HarnessError naming both:
a bug in this module, never a verdict. The table encodes DOMAIN.md's outcomes: the first answer
wins (rules 2–5: ANSWER), 代理応答 joins two calls (rule 8: PICKUP), 留守番電話 answers the caller
(rules 4, 5 and ``forward_fallback``: VOICEMAIL), a release ends an unanswered call (rules 2–5's
480/486/404: RELEASE), the caller may give up while it rings (CANCEL), and only a connected or
voicemail call is hung up (HANG_UP). Every one but HANG_UP leaves RINGING: once answered or
ended, no timer or late leg event can move the call again (they are filtered before the table).

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
from typing import Protocol, TypeVar

from harness.clock import Clock, TimerHandle
from harness.errors import HarnessError
from harness.guide.types import Action, GroupKind
from harness.sim.faults import (
    BUSY_AS_NO_ANSWER,
    GROUP_RING_TIME_LATE,
    NO_ANSWER_LATE,
    NO_ANSWER_RING_TIME_IGNORED,
    NO_FAULTS,
    PILOT_RINGS_AS_MEMBER,
    REACH_END_IGNORED,
    REACH_START_2_IGNORED,
    SEQUENTIAL_OUT_OF_ORDER,
    SEQUENTIAL_WAITS_ON_UNREGISTERED,
    SIMULTANEOUS_MEMBER_LATE,
    UNREACHABLE_FORWARD_NEVER,
    VOICEMAIL_NEVER_REACHED,
    VOICEMAIL_WHEN_OFF,
    Faults,
)
from harness.sim.pbx.config import (
    ForwardConfig,
    ForwardedCallerId,
    ForwardFallback,
    GroupConfig,
    InternalCallerId,
    PbxConfig,
    PbxParams,
    Presence,
    ReachConfig,
    ReachEndFrom,
    UnsetStateAction,
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
    outbound_caller_id,
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


class CallEvent(StrEnum):
    """What moves a call's state (the inputs of ``CALL_TRANSITIONS``)."""

    ANSWER = "answer"  # a leg answered first (rules 2–5)
    PICKUP = "pickup"  # 代理応答 joined this call with another (rule 8), either side
    VOICEMAIL = "voicemail"  # 留守番電話 answered the caller (rules 4, 5, forward_fallback)
    RELEASE = "release"  # the PBX ended it unanswered (ReleaseReason)
    CANCEL = "cancel"  # the caller gave up before an answer (SIP: CANCEL, or BYE while ringing)
    HANG_UP = "hang_up"  # either party ended a connected / voicemail call


# The one table for a call's state (STYLE.md §2): state → {event: next state}. A terminal state
# has no row: nothing moves an ended call.
CALL_TRANSITIONS: dict[CallState, dict[CallEvent, CallState]] = {
    CallState.RINGING: {
        CallEvent.ANSWER: CallState.CONNECTED,
        CallEvent.PICKUP: CallState.CONNECTED,
        CallEvent.VOICEMAIL: CallState.VOICEMAIL,
        CallEvent.RELEASE: CallState.RELEASED,
        CallEvent.CANCEL: CallState.CANCELLED,
    },
    CallState.CONNECTED: {CallEvent.HANG_UP: CallState.ENDED},
    CallState.VOICEMAIL: {CallEvent.HANG_UP: CallState.ENDED},
}


class LegState(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    STOPPED = "stopped"
    FAILED = "failed"


class LegEvent(StrEnum):
    """What moves a leg's state (the inputs of ``LEG_TRANSITIONS``)."""

    ANSWER = "answer"  # the leg answered first and was connected
    STOP = "stop"  # the PBX stopped it (SIP: CANCEL)
    FAIL = "fail"  # it ended unanswered (LegFailure)


# The one table for a leg's state: only a ringing leg moves; a late event about a leg that no
# longer rings is filtered before the table (a 200 crossing our CANCEL is stopped again).
LEG_TRANSITIONS: dict[LegState, dict[LegEvent, LegState]] = {
    LegState.RINGING: {
        LegEvent.ANSWER: LegState.ANSWERED,
        LegEvent.STOP: LegState.STOPPED,
        LegEvent.FAIL: LegState.FAILED,
    },
}


_S = TypeVar("_S", CallState, LegState)
_E = TypeVar("_E", CallEvent, LegEvent)


def _next_state(table: dict[_S, dict[_E, _S]], what: str, state: _S, event: _E) -> _S:
    """Look (state, event) up in ``table``; refuse an undefined transition naming both."""
    next_state = table.get(state, {}).get(event)
    if next_state is None:
        allowed = ", ".join(table.get(state, {})) or "none: it is final"
        raise HarnessError(
            f"{what} in state {state.value!r} cannot take event {event.value!r}"
            f" (events allowed there: {allowed}); this is a bug in harness.sim.pbx.call"
        )
    return next_state


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
        faults: Faults = NO_FAULTS,
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
        self.faults = faults  # named deviations switched on (harness.sim.faults)
        self.arrived_at = clock.now()
        self.state = CallState.RINGING  # the initial state; every change: _transition
        self.caller_id = CallerId(number=None)
        self.legs: dict[str, Leg] = {}
        self.answered_leg: Leg | None = None
        self.bridged_with: str | None = None
        self.release_reason: ReleaseReason | None = None
        self.recording_id: int | None = None
        self._stage: _Stage | None = None
        self._timers: list[TimerHandle] = []
        # forward_fallback=voicemail: the mailbox of the latest 転送 (None: no fallback).
        self._fallback_mailbox: str | None = None

    # --- events in ----------------------------------------------------------------------------

    def start(self) -> None:
        """Route the call and start its first stage (t = 0)."""
        route = route_call(
            self.config, self.params, origin=self.origin, dialled=self.dialled, faults=self.faults
        )
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
        self._leg_transition(leg, LegEvent.ANSWER)
        self.answered_leg = leg
        self._transition(CallEvent.ANSWER)
        self.driver.connect(leg_id)

    def leg_failed(self, leg_id: str, why: LegFailure) -> None:
        leg = self.legs.get(leg_id)
        if leg is None or not leg.live or self.state is not CallState.RINGING:
            return
        self._leg_transition(leg, LegEvent.FAIL)
        if self._stage is not None and leg_id in self._stage.legs:
            self._stage.leg_failed(leg, why)

    def caller_cancelled(self) -> None:
        """The caller gave up (SIP: CANCEL) before an answer; the glue answers it 487."""
        if self.state is CallState.RINGING:
            self._stop_all()
            self._finish(CallEvent.CANCEL)

    def hung_up(self) -> None:
        """Either party ended a connected call, or the caller left voicemail."""
        if self.state is CallState.VOICEMAIL and self.voicemail and self.recording_id:
            self.voicemail.finish(self.recording_id, at=self.clock.now())
        if self.state in (CallState.CONNECTED, CallState.VOICEMAIL):
            self._finish(CallEvent.HANG_UP)
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
        caller_id = self._shown_to(target, caller_id)
        leg_id = self.driver.start_leg(target, caller_id)
        leg = Leg(id=leg_id, target=target, caller_id=caller_id, started_at=self.clock.now())
        self.legs[leg_id] = leg
        stage.legs.add(leg_id)
        return leg

    def _ringing(self, target: LegTarget) -> bool:
        """A live leg of this call rings ``target`` already (it is not rung twice)."""
        return any(leg.live and leg.target == target for leg in self.legs.values())

    def _shown_to(self, target: LegTarget, caller_id: CallerId) -> CallerId:
        """Rule 7 (A, ``internal_caller_id=terminal_number_within_site``): an extension of the
        calling extension's own 拠点 sees its bare 端末番号."""
        if (
            self.params.internal_caller_id is InternalCallerId.TERMINAL_NUMBER_WITHIN_SITE
            and isinstance(target, ToExtension)
            and caller_id.number is not None
        ):
            caller = self.config.extensions.get(caller_id.number)
            callee = self.config.extensions.get(target.extension)
            if caller is not None and callee is not None:
                if caller.site_number == callee.site_number:
                    return CallerId(number=caller.terminal_number)
        return caller_id

    def _forwarded_caller_id(self, extension: str) -> CallerId | None:
        """Rule 7 (A): what a leg placed to an external number on behalf of ``extension`` (転送,
        シングルナンバーリーチ) presents; None when it cannot be placed."""
        if self.params.forwarded_external_caller_id is ForwardedCallerId.ORIGINAL_CALLER:
            return self.caller_id
        return outbound_caller_id(self.config, self.params, extension, self.faults)

    def _plain_target(self, extension: str, number: str) -> tuple[LegTarget, CallerId] | None:
        """A leg rung plainly on behalf of ``extension`` (a 接続先, or a group member's 転送先):
        an extension or pilot rings as the extension it is, with the caller's ID; an external
        number with the forwarded caller ID. None: ``number`` cannot be rung."""
        target = resolve_number(
            self.config, self.params, number, site_number=site_of(self.config, extension)
        )
        if isinstance(target, ToGroup):
            return ToExtension(extension=target.group.pilot or ""), self.caller_id
        if isinstance(target, ToExtension):
            return target, self.caller_id
        if isinstance(target, ToExternal):
            shown = self._forwarded_caller_id(extension)
            return None if shown is None else (target, shown)
        return None

    def _ring_limit(self, stage: _Stage) -> None:
        """Rule 4 (A, ``unanswered_ring_limit``): a leg with nothing else to end it is
        released after that many seconds (by default it rings until the caller gives up)."""
        limit = self.params.unanswered_ring_limit
        if limit is not None:
            self._later(stage, limit, lambda: self._release(ReleaseReason.NO_ANSWER))

    def _stop(self, leg: Leg) -> None:
        if leg.live:
            self._leg_transition(leg, LegEvent.STOP)
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
            plain = forwarded_by is not None and not self.params.forward_applies_target_settings
            self._enter(_ExtensionStage(self, destination.extension, hops=hops, plain=plain))
        elif isinstance(destination, ToGroup):
            if destination.group.kind is GroupKind.SIMULTANEOUS:
                self._enter(_SimultaneousStage(self, destination.group))
            else:
                self._enter(_SequentialStage(self, destination.group))
        else:
            caller_id: CallerId | None = self.caller_id
            if forwarded_by is not None:
                caller_id = self._forwarded_caller_id(forwarded_by)
            if caller_id is None:
                self._release(ReleaseReason.UNAVAILABLE)
                return
            self._enter(_ExternalStage(self, destination.number, caller_id))

    def _forward(self, from_extension: str, forward_to: str | None, *, hops: int) -> None:
        """Rule 4's 転送 from ``from_extension``; ``hops`` forwards were already made."""
        if self.params.forward_fallback is ForwardFallback.VOICEMAIL:
            self._fallback_mailbox = from_extension
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
            self._release(ReleaseReason.UNAVAILABLE)
            return
        self._enter_destination(destination, hops=hops + 1, forwarded_by=from_extension)

    def _to_voicemail(self, mailbox: str) -> None:
        if self.faults.on(VOICEMAIL_NEVER_REACHED):
            self._fallback_mailbox = None  # no voicemail to fall back to either
            self._release(ReleaseReason.UNAVAILABLE)
            return
        self._stop_all()
        self._transition(CallEvent.VOICEMAIL)
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
        if self._fallback_mailbox is not None:
            # forward_fallback=voicemail: the forwarded part ended unanswered.
            self._to_voicemail(self._fallback_mailbox)
            return
        self._stop_all()
        self.release_reason = reason
        self._finish(CallEvent.RELEASE)
        self.driver.release(reason)

    def _pick_up(self, group: GroupConfig) -> None:
        target = None if self.pickup_lookup is None else self.pickup_lookup(self, group)
        if target is None:
            self._release(ReleaseReason.NO_PICKUP)
            return
        target.picked_up_by(self)
        self._transition(CallEvent.PICKUP)
        self.bridged_with = target.id
        self.driver.bridge(target.id)

    def picked_up_by(self, picker: Call) -> None:
        """Rule 8: another member dialled the pickup code; stop ringing and join the picker."""
        self._stop_all()
        self._stage = None
        self._transition(CallEvent.PICKUP)
        self.bridged_with = picker.id
        self.driver.bridge(picker.id)

    def _transition(self, event: CallEvent) -> None:
        """The one place a call's state changes (STYLE.md §16), driven by ``CALL_TRANSITIONS``."""
        self.state = _next_state(CALL_TRANSITIONS, f"call {self.id}", self.state, event)

    def _leg_transition(self, leg: Leg, event: LegEvent) -> None:
        """The one place a leg's state changes, driven by ``LEG_TRANSITIONS``."""
        leg.state = _next_state(
            LEG_TRANSITIONS, f"leg {leg.id} of call {self.id}", leg.state, event
        )

    def _finish(self, event: CallEvent) -> None:
        self._transition(event)
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
    """Rule 4 (転送/留守番電話) for extension X, or rule 5 when X has シングルナンバーリーチ.

    ``plain``: X rings with none of its own settings (a 転送先 with
    ``forward_applies_target_settings`` off): busy / unavailable when it cannot ring."""

    def __init__(self, call: Call, extension: str, *, hops: int, plain: bool = False) -> None:
        super().__init__(call)
        self.extension = extension
        self.hops = hops
        self.plain = plain
        self.forward: ForwardConfig | None = None if plain else call.config.forwards.get(extension)
        self.no_answer_timer: TimerHandle | None = None

    def start(self) -> None:
        call = self.call
        reach = None if self.plain else call.config.reaches.get(self.extension)
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
            if fwd is not None and fwd.no_answer is not Action.NONE:
                no_answer = fwd.no_answer
                delay = self.ring_time(fwd) + (3.0 if call.faults.on(NO_ANSWER_LATE) else 0.0)
                self.no_answer_timer = call._later(self, delay, lambda: self.act(no_answer))
            else:
                call._ring_limit(self)

    def ring_time(self, fwd: ForwardConfig) -> float:
        """無応答's 呼出時間 (validation requires it; the default only keeps this total)."""
        if self.call.faults.on(NO_ANSWER_RING_TIME_IGNORED):
            return self.call.params.default_no_answer_ring_time
        return fwd.ring_time or self.call.params.default_no_answer_ring_time

    def state_holds(self, why: LegFailure) -> None:
        """X turned out unregistered or busy (before or while ringing): 圏外 / 話中."""
        fwd = self.forward
        if why is LegFailure.BUSY and fwd is not None and self.call.faults.on(BUSY_AS_NO_ANSWER):
            self.busy_as_no_answer(fwd)
            return
        if why is LegFailure.UNREGISTERED:
            action = Action.NONE if fwd is None else fwd.unreachable
            if self.call.faults.on(UNREACHABLE_FORWARD_NEVER):
                action = Action.NONE
            fallback = ReleaseReason.UNAVAILABLE
        elif why is LegFailure.BUSY:
            action = Action.NONE if fwd is None else fwd.busy
            fallback = ReleaseReason.BUSY
        else:
            action, fallback = Action.NONE, ReleaseReason.UNAVAILABLE
        if action is not Action.NONE:
            self.act(action)
        elif (
            fwd is not None
            and fwd.no_answer is not Action.NONE
            and self.call.params.unset_state_action is UnsetStateAction.NO_ANSWER_ACTION
        ):
            # Rule 4 (A): the state falls through to 無応答 — X does not ring, yet 無応答's
            # action comes after 呼出時間 as if it had rung unanswered (counted afresh when X
            # rejected while ringing).
            if self.no_answer_timer is not None:
                self.no_answer_timer.cancel()
            no_answer = fwd.no_answer
            self.call._later(self, self.ring_time(fwd), lambda: self.act(no_answer))
        else:
            self.call._release(fallback)

    def busy_as_no_answer(self, fwd: ForwardConfig) -> None:
        """Fault ``busy-as-no-answer``: 話中 is never looked at; after 呼出時間 comes 無応答's
        action, or busy when 無応答 is 設定しない."""
        if self.no_answer_timer is not None:
            self.no_answer_timer.cancel()
        no_answer = fwd.no_answer
        if no_answer is Action.NONE:
            self.call._release(ReleaseReason.BUSY)
        else:
            self.call._later(self, self.ring_time(fwd), lambda: self.act(no_answer))

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
    """An external number: one leg, no fallback (rule 4: 転送 has none)."""

    def __init__(self, call: Call, number: str, caller_id: CallerId) -> None:
        super().__init__(call)
        self.number = number
        self.caller_id = caller_id

    def start(self) -> None:
        self.call._ring(self, ToExternal(number=self.number), self.caller_id)
        self.call._ring_limit(self)

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        busy = why is LegFailure.BUSY
        self.call._release(ReleaseReason.BUSY if busy else ReleaseReason.UNAVAILABLE)


def _group_time(group: GroupConfig, default: float, faults: Faults) -> float:
    ring_time = default if group.ring_time is None else group.ring_time
    return ring_time + 2.0 if faults.on(GROUP_RING_TIME_LATE) else ring_time


MemberLeg = tuple[LegTarget, CallerId] | None


class _GroupStage(_Stage):
    """What rules 2 and 3 share: the legs a group's members contribute."""

    def __init__(self, call: Call, group: GroupConfig) -> None:
        super().__init__(call)
        self.group = group

    def member_legs(self) -> list[MemberLeg]:
        """One entry per member, in order. ``pilot_rings_as_member``: a pilot that is not a
        member comes first. ``group_members_apply_absence``: a member whose 無条件 is 転送 is
        replaced by its 転送先 rung plainly; 無条件 留守番電話 leaves it out (None)."""
        call = self.call
        members = list(self.group.members)
        pilot = self.group.pilot
        pilot_rings = call.params.pilot_rings_as_member or call.faults.on(PILOT_RINGS_AS_MEMBER)
        if pilot_rings and pilot is not None and pilot not in members:
            members.insert(0, pilot)
        legs: list[MemberLeg] = []
        for member in members:
            fwd = call.config.forwards.get(member)
            plain: MemberLeg = (ToExtension(extension=member), call.caller_id)
            if not call.params.group_members_apply_absence or fwd is None:
                legs.append(plain)
            elif fwd.unconditional is Action.VOICEMAIL:
                legs.append(None)
            elif fwd.unconditional is Action.FORWARD:
                forward_to = fwd.forward_to
                legs.append(None if forward_to is None else call._plain_target(member, forward_to))
            else:
                legs.append(plain)
        return legs

    def can_ring(self, leg: MemberLeg) -> bool:
        """An extension must be available; an external number is tried (its leg may fail)."""
        if leg is None:
            return False
        target = leg[0]
        return not isinstance(target, ToExtension) or (
            self.call.presence(target.extension) is Presence.AVAILABLE
        )


class _SimultaneousStage(_GroupStage):
    """Rule 2: every available member at t=0, first answer wins, the group ends at G."""

    def start(self) -> None:
        call = self.call
        self.rang = False
        legs = self.member_legs()
        late = legs.pop() if len(legs) > 1 and call.faults.on(SIMULTANEOUS_MEMBER_LATE) else None
        for leg in legs:
            if leg is not None and self.can_ring(leg) and not call._ringing(leg[0]):
                call._ring(self, *leg)
                self.rang = True
        if late is not None and self.can_ring(late):
            self.rang = True
            call._later(self, 2.0, functools.partial(self.ring_late, late))
        ring_time = _group_time(self.group, call.params.group_ring_time, call.faults)
        call._later(self, ring_time, self.time_up)
        if not self.rang:
            self.all_failed()

    def ring_late(self, leg: MemberLeg) -> None:
        """Fault ``simultaneous-member-late``: the last member's leg, 2 s after the others."""
        if leg is not None and self.can_ring(leg) and not self.call._ringing(leg[0]):
            self.call._ring(self, *leg)

    def time_up(self) -> None:
        self.call._release(ReleaseReason.NO_ANSWER if self.rang else ReleaseReason.UNAVAILABLE)

    def all_failed(self) -> None:
        # Rule 2 (A): at once; ``simultaneous_empty_ends_at_once`` off: silence until G.
        if self.call.params.simultaneous_empty_ends_at_once:
            self.call._release(ReleaseReason.UNAVAILABLE)

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        if not self.live_legs():
            self.all_failed()


class _SequentialStage(_GroupStage):
    """Rule 3: members in order, each for T (``sequential_rounds`` times through);
    unavailable members skipped at once (or their T passes in silence)."""

    def __init__(self, call: Call, group: GroupConfig) -> None:
        super().__init__(call, group)
        self.next_index = 0
        self.slot: TimerHandle | None = None
        self.ring_time = _group_time(group, call.params.member_ring_time, call.faults)
        self.sequence: list[MemberLeg] = []
        self.rang = False

    def start(self) -> None:
        members = self.member_legs()
        if self.call.faults.on(SEQUENTIAL_OUT_OF_ORDER):
            members.reverse()
        self.sequence = members * self.call.params.sequential_rounds
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
        costs_time = call.params.skip_unavailable_costs_ring_time
        while self.next_index < len(self.sequence):
            member = self.sequence[self.next_index]
            self.next_index += 1
            if member is not None and self.can_ring(member):
                call._ring(self, *member)
                self.rang = True
            elif not costs_time and not self.waits_on(member):
                continue
            end = start + self.ring_time
            self.slot = call._later(
                self, end - call.clock.now(), functools.partial(self.advance, end)
            )
            return
        call._release(ReleaseReason.NO_ANSWER if self.rang else ReleaseReason.UNAVAILABLE)

    def waits_on(self, member: MemberLeg) -> bool:
        """Fault ``sequential-waits-on-unregistered``: an unregistered member's T passes."""
        return (
            self.call.faults.on(SEQUENTIAL_WAITS_ON_UNREGISTERED)
            and member is not None
            and isinstance(member[0], ToExtension)
            and self.call.presence(member[0].extension) is Presence.UNREGISTERED
        )

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        self.advance()  # a member that fails while ringing: the next one at once


class _ReachStage(_Stage):
    """Rule 5: X at 0, 接続先i at 呼出開始時間i, everything stops at 呼出終了時間."""

    def __init__(self, call: Call, extension: str, reach: ReachConfig) -> None:
        super().__init__(call)
        self.extension = extension
        self.reach = reach
        self.pending = 0

    def start(self) -> None:
        call = self.call
        first_start = self.reach.legs[0].start if self.reach.legs else 0.0
        placed = [
            (first_start if call.faults.on(REACH_START_2_IGNORED) else reach_leg.start, leg)
            for reach_leg in self.reach.legs
            if (leg := call._plain_target(self.extension, reach_leg.number)) is not None
        ]
        end = self.reach.end
        if call.params.reach_end_from is ReachEndFrom.LAST_LEG_START:
            end += max((start for start, _ in placed), default=0.0)
        if call.params.reach_rings_extension:
            self.ring(ToExtension(extension=self.extension), call.caller_id)
        for start, (target, caller_id) in placed:
            if start >= end:
                continue  # (A) a leg whose start ≥ end never rings
            self.pending += 1
            call._later(self, start, functools.partial(self.ring_later, target, caller_id))
        if not call.faults.on(REACH_END_IGNORED):
            call._later(self, end, self.end)
        self.end_if_all_failed()

    def ring(self, target: LegTarget, caller_id: CallerId) -> None:
        call = self.call
        if call._ringing(target):
            return
        if not isinstance(target, ToExtension) or (
            call.presence(target.extension) is Presence.AVAILABLE
        ):
            call._ring(self, target, caller_id)

    def ring_later(self, target: LegTarget, caller_id: CallerId) -> None:
        self.pending -= 1
        self.ring(target, caller_id)
        self.end_if_all_failed()

    def end_if_all_failed(self) -> None:
        # Rule 5 (A, ``reach_early_end_when_all_failed``): every leg failed, none pending.
        if self.pending or self.live_legs() or not self.call.params.reach_early_end_when_all_failed:
            return
        if self.reach.voicemail or self.call.faults.on(VOICEMAIL_WHEN_OFF):
            self.call._to_voicemail(self.extension)
        else:
            self.call._release(ReleaseReason.UNAVAILABLE)

    def leg_failed(self, leg: Leg, why: LegFailure) -> None:
        self.end_if_all_failed()

    def end(self) -> None:
        if self.reach.voicemail or self.call.faults.on(VOICEMAIL_WHEN_OFF):
            self.call._to_voicemail(self.extension)
        else:
            self.call._release(ReleaseReason.NO_ANSWER)
