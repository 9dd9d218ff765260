"""Run a plan in simulated seconds: a small discrete-event loop.

Things that can happen, and their order when they fall on the same t (each is documented in
docs/model.md; the order is what makes the model deterministic):

1. a ringing leg answers (``answer_after`` seconds after it started ringing; earliest ringer
   first) — the answer arrives before any timer of the same instant fires;
2. a scenario pickup: a pickup-group member dials the pickup code and answers the oldest ringing
   leg of another member of its group (DOMAIN.md rule 8);
3. a ringing leg rejects busy (``reject_after`` seconds after it started ringing; earliest
   first): it stops, and when no leg of the stage is left ringing or pending the stage's
   ``all_failed`` step follows at once (a sequential group's next member, X's 話中 action…);
4. the caller gives up: every leg stops and the call is released;
5. the stage's time runs out (a 順次着信 member's T, 無応答's 呼出時間, 呼出終了時間…): its legs
   stop and the next stage starts at the same t;
6. a leg starts: it rings if its endpoint is registered, idle and not already ringing in this
   call, else it fails silently (a busy or unregistered phone shows nothing).

Events come out ordered by (t, stop < ring < answer < end of call).
"""

from __future__ import annotations

import math

from harness.model.numbering import TenantIndex
from harness.model.params import InternalCallerId, ModelParams
from harness.model.plan import End, Leg, Planner, Stage, Step
from harness.model.scenario import Pickup, Scenario
from harness.model.timeline import Event, EventKind, Outcome, Timeline

_END_EVENT = {
    Outcome.VOICEMAIL: EventKind.VOICEMAIL,
    Outcome.RELEASED: EventKind.RELEASE,
    Outcome.UNAVAILABLE: EventKind.RELEASE,
    Outcome.BUSY: EventKind.BUSY,
    Outcome.REFUSED: EventKind.REFUSED,
}

_ANSWER, _PICKUP, _REJECT, _GIVE_UP, _STAGE_END, _START = range(6)


class Run:
    """One call in progress. ``ringing`` maps endpoint → answer time (inf: never), in the
    order the legs started ringing; ``rejecting`` endpoint → when it rejects busy."""

    def __init__(
        self, index: TenantIndex, planner: Planner, scenario: Scenario, params: ModelParams
    ) -> None:
        self.index = index
        self.planner = planner
        self.scenario = scenario
        self.params = params
        self.events: list[Event] = []
        self.ringing: dict[str, float] = {}
        self.rejecting: dict[str, float] = {}
        self.short_caller_ids = (
            params.internal_caller_id is InternalCallerId.TERMINAL_NUMBER_WITHIN_SITE
        )
        self.pickups: list[Pickup] = sorted(scenario.pickups, key=lambda p: p.at)
        gives_up = scenario.caller_gives_up_after
        self.give_up_at = params.caller_gives_up_after if gives_up is None else gives_up

    def emit(self, t: float, kind: EventKind, endpoint: str, caller_id: str | None = None) -> None:
        self.events.append(Event(t=t, kind=kind, endpoint=endpoint, caller_id=caller_id))

    def stop_all(self, t: float, *, except_: str | None = None) -> None:
        for endpoint in self.ringing:
            if endpoint != except_:
                self.emit(t, EventKind.STOP, endpoint)
        self.ringing = {}
        self.rejecting = {}

    def timeline(self, outcome: Outcome, answered_by: str | None = None) -> Timeline:
        # Events are emitted already in contract order (t, then stop < ring < answer < end):
        # time only moves forward, a stage's stops are emitted before the next stage's rings,
        # and an answer's stops before the answer. The property tests check it.
        return Timeline(events=tuple(self.events), outcome=outcome, answered_by=answered_by)

    def finish(self, t: float, end: End) -> Timeline:
        endpoint = end.mailbox if end.mailbox is not None else self.scenario.caller
        self.emit(t, _END_EVENT[end.outcome], endpoint)
        return self.timeline(end.outcome)

    def answer(self, t: float, endpoint: str) -> Timeline:
        self.stop_all(t, except_=endpoint)
        self.emit(t, EventKind.ANSWER, endpoint)
        return self.timeline(Outcome.ANSWERED, endpoint)

    def run(self, step: Step) -> Timeline:
        t = 0.0
        while isinstance(step, Stage):
            result = self.run_stage(step, t)
            if isinstance(result, Timeline):
                return result
            t, step = result
        return self.finish(t, step)

    def run_stage(self, stage: Stage, t0: float) -> Timeline | tuple[float, Step]:
        pending: list[tuple[float, Leg]] = sorted(
            ((t0 + leg.offset, leg) for leg in stage.legs), key=lambda item: item[0]
        )
        end_at = math.inf if stage.duration is None else t0 + stage.duration
        now = t0
        while True:
            if stage.all_failed is not None and not self.ringing and not pending:
                return now, stage.all_failed
            answer_at, answerer = math.inf, ""
            for endpoint, at in self.ringing.items():
                if at < answer_at:
                    answer_at, answerer = at, endpoint
            reject_at, rejecter = math.inf, ""
            if self.rejecting:
                for endpoint, at in self.rejecting.items():
                    if at < reject_at:
                        reject_at, rejecter = at, endpoint
            pickup_at = self.pickups[0].at if self.pickups else math.inf
            start_at = pending[0][0] if pending else math.inf
            t, what = min(
                (answer_at, _ANSWER),
                (pickup_at, _PICKUP),
                (reject_at, _REJECT),
                (self.give_up_at, _GIVE_UP),
                (end_at, _STAGE_END),
                (start_at, _START),
            )
            now = t
            if what == _ANSWER:
                return self.answer(t, answerer)
            if what == _PICKUP:
                picked = self.pickup(self.pickups.pop(0))
                if picked is not None:
                    return self.answer(t, picked)
            elif what == _REJECT:
                del self.ringing[rejecter], self.rejecting[rejecter]
                self.emit(t, EventKind.STOP, rejecter)
            elif what == _GIVE_UP:
                self.stop_all(t)
                return self.finish(t, End(outcome=Outcome.RELEASED))
            elif what == _STAGE_END:
                self.stop_all(t)
                return t, stage.then
            else:
                _, leg = pending.pop(0)
                self.start(t, leg)

    def start(self, t: float, leg: Leg) -> None:
        endpoint = leg.endpoint
        if not self.planner.available(endpoint) or endpoint in self.ringing:
            return
        shown = self.shown(leg) if self.short_caller_ids else leg.caller_id
        self.emit(t, EventKind.RING, endpoint, shown)
        behaviour = self.scenario.behaviour(endpoint)
        answer_after = behaviour.answer_after
        self.ringing[endpoint] = math.inf if answer_after is None else t + answer_after
        if behaviour.reject_after is not None:
            self.rejecting[endpoint] = t + behaviour.reject_after

    def shown(self, leg: Leg) -> str:
        """Rule 7 (A, ``internal_caller_id=terminal_number_within_site``): the caller ID
        ``leg``'s endpoint sees."""
        site = self.index.site_of.get(leg.caller_id)
        if site is None or self.index.site_of.get(leg.endpoint) != site:
            return leg.caller_id
        return leg.caller_id[len(site) :]

    def pickup(self, pickup: Pickup) -> str | None:
        """Rule 8: who answers when ``pickup.by`` dials a code now (None: nothing happens)."""
        code = pickup.code if pickup.code is not None else self.params.pickup_code
        if code != self.params.pickup_code or not self.planner.available(pickup.by):
            return None
        group = self.index.pickup_group.get(pickup.by, ())
        # The model follows one call, so "the oldest ringing call of another member" is this
        # call whenever one of its ringing legs is another member of ``by``'s group.
        if any(endpoint != pickup.by and endpoint in group for endpoint in self.ringing):
            return pickup.by
        return None
