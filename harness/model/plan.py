"""From settings to a plan: which legs ring when, and what comes next.

A call is a chain of *stages*. In a stage some legs ring (each from an offset after the stage
starts); the stage ends after ``duration`` (stopping every leg) and the call goes on to
``then``: another stage or an :class:`End`. When every leg of a stage has failed (busy,
unreachable, rejecting) and none is pending, ``all_failed`` (if set) comes at once: that is how
a rejecting sequential member hands on to the next one and a rejecting extension acts as busy.
Inside a stage legs ring *plainly*: members' own 不在時動作 is not applied inside a group
(DOMAIN.md rule 2; ``group_members_apply_absence`` applies 無条件 only, as a replacement leg),
and single-number-reach legs are plain too. Only a chain of stages carries settings: that is
how 転送 to an extension applies that extension's settings (rule 4).

This module is pure: endpoint states are fixed for the whole scenario, so the plan is built
before the clock starts; :mod:`harness.model.engine` then runs it in simulated time.

DOMAIN.md "Call routing semantics", rules 2–7.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness.guide import Action, ForwardAbsence, GroupKind, SingleNumberReach
from harness.model.numbering import Target, TenantIndex
from harness.model.params import (
    ForwardedCallerId,
    ForwardFallback,
    MissingCallerId,
    ModelParams,
    ReachEndFrom,
    UnsetStateAction,
)
from harness.model.scenario import EndpointState, Scenario
from harness.model.timeline import WITHHELD, Outcome


@dataclass(frozen=True, kw_only=True)
class Leg:
    """``endpoint`` rings ``offset`` seconds after its stage starts, showing ``caller_id``."""

    endpoint: str
    offset: float
    caller_id: str


@dataclass(frozen=True, kw_only=True)
class End:
    """How the call ends when no one answered; ``mailbox`` for voicemail."""

    outcome: Outcome
    mailbox: str | None = None


@dataclass(frozen=True, kw_only=True)
class Stage:
    """Legs ringing together; see the module docstring."""

    label: str
    legs: tuple[Leg, ...]
    duration: float | None
    then: Stage | End
    all_failed: Stage | End | None = None


Step = Stage | End

RELEASED = End(outcome=Outcome.RELEASED)
UNAVAILABLE = End(outcome=Outcome.UNAVAILABLE)
BUSY = End(outcome=Outcome.BUSY)
REFUSED = End(outcome=Outcome.REFUSED)


class Planner:
    """Builds the plan of one call for one tenant, scenario and parameter set."""

    def __init__(self, index: TenantIndex, scenario: Scenario, params: ModelParams) -> None:
        self.index = index
        self.scenario = scenario
        self.params = params

    # --- endpoints ------------------------------------------------------------------------

    def state(self, endpoint: str) -> EndpointState:
        """The caller's own endpoint is in this call, hence busy for every leg of it."""
        if endpoint == self.scenario.caller:
            return EndpointState.BUSY
        return self.scenario.behaviour(endpoint).state

    def available(self, endpoint: str) -> bool:
        return self.state(endpoint) is EndpointState.REGISTERED

    def unavailable_end(self, endpoint: str) -> End:
        return BUSY if self.state(endpoint) is EndpointState.BUSY else UNAVAILABLE

    def ring_until_caller_gives_up(self, label: str, leg: Leg, rejected: Step = BUSY) -> Stage:
        """Rule 4 (A): with nothing to end it, a leg rings until the caller gives up
        (``unanswered_ring_limit``); ``rejected``: what follows when the leg rejects busy."""
        return Stage(
            label=label,
            legs=(leg,),
            duration=self.params.unanswered_ring_limit,
            then=RELEASED,
            all_failed=rejected,
        )

    # --- caller ID (rule 7) ---------------------------------------------------------------

    def outbound_caller_id(self, extension: str, *, withheld: bool) -> str | None:
        """External call from ``extension``: its 外線発信 number, 非通知 after 184; None when it
        has none and such calls are refused."""
        number = self.index.outbound.get(extension)
        if number is None:
            if self.params.external_call_without_caller_id is MissingCallerId.REFUSED:
                return None
            return WITHHELD
        return WITHHELD if withheld else number

    def forwarded_caller_id(self, extension: str, original: str) -> str | None:
        """A forwarded / single-number-reach leg to an external number (rule 7, A)."""
        if self.params.forwarded_external_caller_id is ForwardedCallerId.ORIGINAL_CALLER:
            return original
        return self.outbound_caller_id(extension, withheld=False)

    # --- destinations ---------------------------------------------------------------------

    def external(self, number: str, caller_id: str) -> Step:
        """One leg to an external number, with no fallback (rule 4: 転送 has none); a
        rejecting external number gives busy."""
        if not self.available(number):
            return self.unavailable_end(number)
        return self.ring_until_caller_gives_up(
            f"外線 {number}", Leg(endpoint=number, offset=0, caller_id=caller_id)
        )

    def extension(self, extension: str, caller_id: str, *, hops: int = 0) -> Step:
        """Rules 4–5: a call to ``extension``, applying its 不在時動作."""
        absence = self.index.absence.get(extension)
        if isinstance(absence, SingleNumberReach):
            return self.single_number_reach(extension, absence, caller_id)
        state = self.state(extension)
        leg = Leg(endpoint=extension, offset=0, caller_id=caller_id)
        if not isinstance(absence, ForwardAbsence):
            return self.plain_extension(extension, leg)
        actions = absence.actions
        if actions.unconditional is not Action.NONE:  # (1) 無条件
            return self.act(actions.unconditional, extension, absence, caller_id, hops)
        if state is EndpointState.UNREGISTERED:  # (2) 圏外
            if actions.unreachable is Action.NONE:
                return self.unset_state(UNAVAILABLE, extension, absence, caller_id, hops)
            return self.act(actions.unreachable, extension, absence, caller_id, hops)
        if state is EndpointState.BUSY:  # (3) 話中
            return self.busy(extension, absence, caller_id, hops)
        # (4) X rings; a rejection (486) is X being busy: 話中's action from then on
        # (only planned when some endpoint rejects: keeps the common case fast)
        rejected = self.busy(extension, absence, caller_id, hops) if self.scenario.rejects else BUSY
        if actions.no_answer is Action.NONE:
            return self.ring_until_caller_gives_up(f"内線 {extension}", leg, rejected)
        ring_time = absence.ring_time or self.params.default_no_answer_ring_time
        return Stage(
            label=f"内線 {extension} (無応答 {ring_time}s)",
            legs=(leg,),
            duration=ring_time,
            then=self.act(actions.no_answer, extension, absence, caller_id, hops),
            all_failed=rejected,
        )

    def plain_extension(self, extension: str, leg: Leg) -> Step:
        """An extension that rings with no 不在時動作 applied."""
        if not self.available(extension):
            return self.unavailable_end(extension)
        return self.ring_until_caller_gives_up(f"内線 {extension}", leg)

    def busy(self, extension: str, absence: ForwardAbsence, caller_id: str, hops: int) -> Step:
        """Rule 4 (3): X is busy (or rejects): 話中's action, or 設定しない's result."""
        action = absence.actions.busy
        if action is Action.NONE:
            return self.unset_state(BUSY, extension, absence, caller_id, hops)
        return self.act(action, extension, absence, caller_id, hops)

    def unset_state(
        self, end: End, extension: str, absence: ForwardAbsence, caller_id: str, hops: int
    ) -> Step:
        """Rule 4 (A): a holding state whose action is 設定しない (``unset_state_action``)."""
        no_answer = absence.actions.no_answer
        if (
            self.params.unset_state_action is UnsetStateAction.BUSY_OR_UNAVAILABLE
            or no_answer is Action.NONE
        ):
            return end
        ring_time = absence.ring_time or self.params.default_no_answer_ring_time
        return Stage(
            label=f"内線 {extension} (応答なし扱い {ring_time}s)",
            legs=(),
            duration=ring_time,
            then=self.act(no_answer, extension, absence, caller_id, hops),
        )

    def act(
        self, action: Action, extension: str, absence: ForwardAbsence, caller_id: str, hops: int
    ) -> Step:
        """転送 or 留守番電話 on behalf of ``extension`` (its own mailbox, rule 6)."""
        mailbox = End(outcome=Outcome.VOICEMAIL, mailbox=extension)
        if action is Action.VOICEMAIL:
            return mailbox
        step = self.forward(extension, absence.forward_to, caller_id, hops + 1)
        if self.params.forward_fallback is ForwardFallback.VOICEMAIL:
            return _fall_back(step, mailbox)
        return step

    def forward(self, extension: str, forward_to: str | None, caller_id: str, hops: int) -> Step:
        """Rule 4: 転送先 rings with no further fallback; an extension applies its own settings,
        at most ``forward_hop_limit`` hops."""
        if forward_to is None or hops > self.params.forward_hop_limit:
            return UNAVAILABLE
        site = self.index.site_of.get(extension)
        dest = self.index.resolve(forward_to.replace("-", ""), site=site, params=self.params)
        if dest is None:
            return UNAVAILABLE
        if dest.target is Target.GROUP:
            return self.group(dest.number, caller_id)
        if dest.target is Target.EXTENSION:
            if not self.params.forward_applies_target_settings:
                leg = Leg(endpoint=dest.number, offset=0, caller_id=caller_id)
                return self.plain_extension(dest.number, leg)
            return self.extension(dest.number, caller_id, hops=hops)
        shown = self.forwarded_caller_id(extension, caller_id)
        if shown is None:
            return UNAVAILABLE
        return self.external(dest.number, shown)

    def member_leg(self, member: str, caller_id: str) -> Leg | None:
        """With ``group_members_apply_absence`` (rule 2, A), the leg a group member contributes:
        itself, or its 無条件 転送先 instead, or nothing for 無条件 留守番電話 (None)."""
        absence = self.index.absence.get(member)
        if isinstance(absence, ForwardAbsence):
            action = absence.actions.unconditional
            if action is Action.VOICEMAIL:
                return None
            if action is Action.FORWARD:
                if absence.forward_to is None:
                    return None
                return self.plain_leg(member, absence.forward_to, 0, caller_id)
        return Leg(endpoint=member, offset=0, caller_id=caller_id)

    def group(self, pilot: str, caller_id: str) -> Step:
        """Rules 2–3: the group whose 代表番号 is ``pilot``."""
        group = self.index.groups[pilot]
        explicit = "ring_time" in group.model_fields_set
        members = list(group.members)
        if self.params.pilot_rings_as_member and pilot not in members:
            members.insert(0, pilot)
        legs: list[Leg | None]
        if self.params.group_members_apply_absence:
            legs = [self.member_leg(member, caller_id) for member in members]
        else:
            legs = [Leg(endpoint=member, offset=0, caller_id=caller_id) for member in members]
        if group.kind is GroupKind.SIMULTANEOUS:
            ring_time = group.ring_time if explicit else self.params.group_ring_time
            rung = tuple(leg for leg in legs if leg is not None)
            anyone = any(self.available(leg.endpoint) for leg in rung)
            return Stage(
                label=f"一斉着信 {pilot}",
                legs=rung,
                duration=ring_time,
                then=RELEASED if anyone else UNAVAILABLE,
                all_failed=UNAVAILABLE if self.params.simultaneous_empty_ends_at_once else None,
            )
        ring_time = group.ring_time if explicit else self.params.member_ring_time
        legs *= self.params.sequential_rounds
        usable = [leg is not None and self.available(leg.endpoint) for leg in legs]
        step: Step = RELEASED if any(usable) else UNAVAILABLE
        skip_at_once = not self.params.skip_unavailable_costs_ring_time
        for leg, ok in zip(reversed(legs), reversed(usable), strict=True):
            if not ok and skip_at_once:
                continue
            step = Stage(
                label=f"順次着信 {pilot} › {leg.endpoint if leg else '-'}",
                legs=(leg,) if ok and leg is not None else (),
                duration=ring_time,
                then=step,
                all_failed=step if ok else None,  # a rejecting member: the next one at once
            )
        return step

    def single_number_reach(self, extension: str, reach: SingleNumberReach, caller_id: str) -> Step:
        """Rule 5: X rings at 0, 接続先i at 呼出開始時間i, all stop at 呼出終了時間."""
        legs: list[Leg] = []
        if self.params.reach_rings_extension:
            legs.append(Leg(endpoint=extension, offset=0, caller_id=caller_id))
        for number, start in (
            (reach.reach_number_1, reach.reach_start_1),
            (reach.reach_number_2, reach.reach_start_2),
        ):
            if number is None or start is None:
                continue
            leg = self.plain_leg(extension, number, start, caller_id)
            if leg is not None:
                legs.append(leg)
        end = float(reach.reach_end)
        if self.params.reach_end_from is ReachEndFrom.LAST_LEG_START:
            end += max((leg.offset for leg in legs), default=0.0)
        at_end = End(outcome=Outcome.VOICEMAIL, mailbox=extension) if reach.voicemail else None
        failed: End | None = None
        if self.params.reach_early_end_when_all_failed:
            failed = at_end or UNAVAILABLE
        return Stage(
            label=f"シングルナンバーリーチ {extension}",
            legs=tuple(leg for leg in legs if leg.offset < end),  # start ≥ end never rings
            duration=end,
            then=at_end or RELEASED,
            all_failed=failed,
        )

    def plain_leg(self, extension: str, number: str, start: float, caller_id: str) -> Leg | None:
        """A leg placed on behalf of ``extension`` (a 接続先, or a group member's 転送先): an
        extension or pilot rings plainly with the caller's ID; an external number shows the
        forwarding extension's 外線発信 number (None: the leg cannot be placed)."""
        site = self.index.site_of.get(extension)
        dest = self.index.resolve(number.replace("-", ""), site=site, params=self.params)
        if dest is None:
            return None
        if dest.target is Target.EXTERNAL:
            shown = self.forwarded_caller_id(extension, caller_id)
            if shown is None:
                return None
            return Leg(endpoint=dest.number, offset=start, caller_id=shown)
        return Leg(endpoint=dest.number, offset=start, caller_id=caller_id)


_FALLS_BACK = (Outcome.BUSY, Outcome.UNAVAILABLE, Outcome.RELEASED)


def _fall_back(step: Step, mailbox: End) -> Step:
    """``forward_fallback = voicemail``: ``step`` with every busy / unavailable / released end
    replaced by ``mailbox`` (rule 4, the alternative reading)."""
    if isinstance(step, End):
        return mailbox if step.outcome in _FALLS_BACK else step
    return dataclasses.replace(
        step,
        then=_fall_back(step.then, mailbox),
        all_failed=None if step.all_failed is None else _fall_back(step.all_failed, mailbox),
    )
