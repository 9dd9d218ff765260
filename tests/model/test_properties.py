"""Invariants of the model over generated tenants and scenarios (Hypothesis).

Each property names the DOMAIN.md rule it guards; the generators in ``strategies`` reach every
destination rule, group kind, 不在時動作 option, endpoint state, pickup and give-up time.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.guide import ForwardAbsence, RingGroup, SingleNumberReach, Tenant
from harness.model import (
    DEFAULT_PARAMS,
    WITHHELD,
    EndpointBehaviour,
    EndpointState,
    EventKind,
    ForwardedCallerId,
    InboundCallerId,
    InternalCallerId,
    ModelParams,
    Outcome,
    ReachEndFrom,
    Scenario,
    Timeline,
    predict,
)
from harness.model.timeline import FINAL_KIND, KIND_RANK
from harness.strategies.params import model_params
from harness.strategies.scenarios import lines_of, scenarios, tenants_and_scenarios
from harness.strategies.tenants import dense_tenants as tenants

CASES = tenants_and_scenarios()

# Each invariant is a check of one prediction under given parameters: the tests below run each
# under the default parameters, and ``test_invariants_hold_under_any_parameters`` runs them all
# under randomly drawn parameter combinations. Where an alternative reading legitimately
# changes what an invariant says, the check takes ``params`` and states the general rule.


def check_order(timeline: Timeline) -> None:
    """Time never goes backwards; at one t, stops come before rings before the answer/end
    (DOMAIN.md: ``20 stop 200, ring 201``) — except the stop of a ring that began at that
    same t: a leg answered (or rejected) at once by another endpoint of a 一斉着信 burst rang
    for 0 s, and its stop can only follow its ring (SIP: INVITE, then CANCEL)."""
    events = timeline.events
    assert all(e.t >= 0 for e in events)
    assert [e.t for e in events] == sorted(e.t for e in events)
    for before, after in zip(events, events[1:], strict=False):
        if before.t != after.t or KIND_RANK[before.kind] <= KIND_RANK[after.kind]:
            continue
        # Out of rank at one t: only the stop of a zero-length ring may follow rings.
        assert after.kind is EventKind.STOP and before.kind in (EventKind.RING, EventKind.STOP)
        assert any(
            e.kind is EventKind.RING and e.endpoint == after.endpoint and e.t == after.t
            for e in events
        ), f"stop of {after.endpoint} after a ring at {after.t} without a zero-length ring"


def check_outcome(timeline: Timeline) -> None:
    last = timeline.events[-1]
    assert last.kind is FINAL_KIND[timeline.outcome]
    ending = {
        EventKind.ANSWER,
        EventKind.BUSY,
        EventKind.VOICEMAIL,
        EventKind.RELEASE,
        EventKind.REFUSED,
    }
    assert [e.kind in ending for e in timeline.events].count(True) == 1
    if timeline.outcome is Outcome.ANSWERED:
        assert timeline.answered_by == last.endpoint
    else:
        assert timeline.answered_by is None


def ringing_intervals(timeline: Timeline) -> list[tuple[str, float, float]]:
    """(endpoint, ring t, stop/answer t) for every ring; asserts each ring is closed once."""
    open_at: dict[str, float] = {}
    intervals: list[tuple[str, float, float]] = []
    for event in timeline.events:
        if event.kind is EventKind.RING:
            assert event.endpoint not in open_at, f"{event.endpoint} rings twice at once"
            open_at[event.endpoint] = event.t
        elif event.kind is EventKind.STOP:
            intervals.append((event.endpoint, open_at.pop(event.endpoint), event.t))
        elif event.kind is EventKind.ANSWER and event.endpoint in open_at:
            intervals.append((event.endpoint, open_at.pop(event.endpoint), event.t))
    assert open_at == {}, f"rings never stopped or answered: {open_at}"
    return intervals


def check_rings_closed(timeline: Timeline) -> None:
    stops = [e for e in timeline.events if e.kind is EventKind.STOP]
    assert len(ringing_intervals(timeline)) >= len(stops)


def check_nothing_after_answer(timeline: Timeline) -> None:
    if timeline.outcome is not Outcome.ANSWERED:
        return  # covered by check_outcome
    answered_at = timeline.events[-1].t
    stopped_then = {
        e.endpoint for e in timeline.events if e.kind is EventKind.STOP and e.t == answered_at
    }
    for event in timeline.events:
        if event.kind is EventKind.RING and event.t >= answered_at:
            assert event.t == answered_at  # nothing rings after the answer …
            # … and at its instant only the answerer, or a leg of the same burst stopped then
            assert event.endpoint == timeline.answered_by or event.endpoint in stopped_then


def check_registered(scenario: Scenario, timeline: Timeline) -> None:
    for event in timeline.events:
        if event.kind in (EventKind.RING, EventKind.ANSWER):
            assert event.endpoint != scenario.caller
            assert scenario.behaviour(event.endpoint).state is EndpointState.REGISTERED


def check_rejections(scenario: Scenario, timeline: Timeline) -> None:
    """A ringing endpoint that rejects stops exactly ``reject_after`` after it started ringing
    (unless something ended its ring earlier), and never answers after that."""
    for endpoint, start, end in ringing_intervals(timeline):
        reject_after = scenario.behaviour(endpoint).reject_after
        if reject_after is not None:
            assert end - start <= reject_after


def check_give_up(scenario: Scenario, params: ModelParams, timeline: Timeline) -> None:
    gives_up = scenario.caller_gives_up_after
    limit = params.caller_gives_up_after if gives_up is None else gives_up
    assert all(e.t <= limit for e in timeline.events)


def check_caller_ids(
    tenant: Tenant, scenario: Scenario, params: ModelParams, timeline: Timeline
) -> None:
    """Rule 7 (A) under ``params``: internal callers show their 内線番号 (or its bare 端末番号
    within the 拠点, ``internal_caller_id``), external legs a 外線番号 of the tenant (or the
    original caller, ``forwarded_external_caller_id``), callers from outside their number (or
    the dialled line, ``inbound_caller_id``), 非通知 after the withhold prefix."""
    terminals = {t.extension: t for t in tenant.guide.terminals}
    extensions = set(terminals)
    caller = terminals.get(scenario.caller)
    shown_as = {scenario.caller}
    short = InternalCallerId.TERMINAL_NUMBER_WITHIN_SITE
    if caller is not None and params.internal_caller_id is short:
        shown_as.add(caller.terminal_number)
    withhold = params.withhold_prefix
    withheld = bool(withhold) and scenario.dialled.startswith(withhold or "")
    lines = set(lines_of(tenant))
    original = params.forwarded_external_caller_id is ForwardedCallerId.ORIGINAL_CALLER
    for event in timeline.events:
        if event.kind is not EventKind.RING:
            assert event.caller_id is None
            continue
        shown = event.caller_id
        if event.endpoint not in extensions:
            allowed = {WITHHELD} | lines | ({scenario.caller} if original else set())
            assert shown in allowed
        elif caller is not None:
            # the caller's 内線番号 (or 端末番号), a looped-back 外線発信 number, or 非通知
            assert shown in shown_as | {WITHHELD} | lines
            present = params.present_prefix or ""
            if not withheld and _without(scenario.dialled, present) in extensions:
                same_site = terminals[event.endpoint].site_number == caller.site_number
                if same_site:
                    assert shown in shown_as
                else:
                    assert shown == scenario.caller
        elif params.inbound_caller_id is InboundCallerId.DIALLED_LINE:
            assert shown in lines
        else:
            assert shown == (WITHHELD if withheld else scenario.caller)


def _without(digits: str, prefix: str) -> str:
    return digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits


def check_ring_counts(params: ModelParams, timeline: Timeline) -> None:
    rings = Counter(e.endpoint for e in timeline.events if e.kind is EventKind.RING)
    # one endpoint rings at most once per 転送 hop (the hop limit + the first call), plus the
    # rounds of one sequential group (≤ 4 members + a pilot) and two reach legs at the end
    bound = max(10, params.forward_hop_limit + 1 + 5 * params.sequential_rounds + 2)
    assert all(count <= bound for count in rings.values())


@given(CASES)
def test_times_never_go_backwards_and_stops_come_before_rings(
    case: tuple[Tenant, Scenario],
) -> None:
    check_order(predict(*case))


@given(CASES)
def test_outcome_matches_the_last_event_and_nothing_follows_it(
    case: tuple[Tenant, Scenario],
) -> None:
    check_outcome(predict(*case))


@given(CASES)
def test_every_ring_has_a_matching_stop_or_answer(case: tuple[Tenant, Scenario]) -> None:
    check_rings_closed(predict(*case))


@given(CASES)
def test_nothing_rings_at_or_after_the_answer(case: tuple[Tenant, Scenario]) -> None:
    check_nothing_after_answer(predict(*case))


@given(CASES)
def test_only_registered_endpoints_ring_and_answer(case: tuple[Tenant, Scenario]) -> None:
    tenant, scenario = case
    check_registered(scenario, predict(tenant, scenario))


@given(CASES)
def test_a_rejecting_endpoint_stops_ringing_when_it_rejects(
    case: tuple[Tenant, Scenario],
) -> None:
    tenant, scenario = case
    check_rejections(scenario, predict(tenant, scenario))


@given(CASES)
def test_predict_is_deterministic(case: tuple[Tenant, Scenario]) -> None:
    assert predict(*case).to_json() == predict(*case).to_json()


@given(CASES)
def test_the_caller_gives_up_when_the_scenario_says(case: tuple[Tenant, Scenario]) -> None:
    tenant, scenario = case
    check_give_up(scenario, DEFAULT_PARAMS, predict(tenant, scenario))


@given(CASES)
def test_caller_id_rules(case: tuple[Tenant, Scenario]) -> None:
    tenant, scenario = case
    check_caller_ids(tenant, scenario, DEFAULT_PARAMS, predict(tenant, scenario))


@given(CASES)
def test_no_endpoint_rings_more_than_the_plan_allows(case: tuple[Tenant, Scenario]) -> None:
    check_ring_counts(DEFAULT_PARAMS, predict(*case))


# The parameters multiply the space of cases: four times the profile's examples.
@settings(max_examples=4 * settings().max_examples)
@given(CASES, model_params())
def test_invariants_hold_under_any_parameters(
    case: tuple[Tenant, Scenario], params: ModelParams
) -> None:
    tenant, scenario = case
    timeline = predict(tenant, scenario, params)
    check_order(timeline)
    check_outcome(timeline)
    check_rings_closed(timeline)
    check_nothing_after_answer(timeline)
    check_registered(scenario, timeline)
    check_rejections(scenario, timeline)
    check_give_up(scenario, params, timeline)
    check_caller_ids(tenant, scenario, params, timeline)
    check_ring_counts(params, timeline)
    assert predict(tenant, scenario, params) == timeline


@st.composite
def calls_to(draw: st.DrawFn, pick: str) -> tuple[Tenant, Scenario, str]:
    """A generated tenant where one extension X is forced to have ``pick`` (a sequential group
    with pilot X, シングルナンバーリーチ, or 転送/留守番電話 with 無応答 set and 無条件 not), and a
    scenario dialling X directly."""
    tenant = draw(tenants())
    settings = tenant.settings
    pilots = {g.pilot for g in settings.ring_groups}
    extensions = [t.extension for t in tenant.guide.terminals]
    free = [e for e in extensions if e not in pilots]
    assume(free)
    x = draw(st.sampled_from(free))
    others = [e for e in extensions if e != x] + ["09011112222"]
    groups, absence = list(settings.ring_groups), dict(settings.absence)
    if pick == "sequential":
        members = draw(st.lists(st.sampled_from(extensions), min_size=1, max_size=4, unique=True))
        groups.append(
            RingGroup.model_validate({"種別": "順次着信", "代表番号": x, "メンバー": members})
        )
    elif pick == "reach":
        absence[x] = SingleNumberReach.model_validate(
            {
                "種別": "シングルナンバーリーチ",
                "接続先番号1": draw(st.sampled_from(others)),
                "呼出開始時間1": draw(st.integers(1, 30)),
                "接続先番号2": draw(st.sampled_from(others)),
                "呼出開始時間2": draw(st.integers(1, 30)),
                "呼出終了時間": draw(st.integers(5, 60)),
                "留守番電話": draw(st.booleans()),
            }
        )
    else:
        absence[x] = ForwardAbsence.model_validate(
            {
                "種別": "転送/留守番電話",
                # external: the action is then observable at once (a ring, busy, or release)
                "転送先電話番号": "09011112222",
                "転送動作": {
                    "無条件": "設定しない",
                    "話中": draw(st.sampled_from(["転送", "留守番電話", "設定しない"])),
                    "圏外": draw(st.sampled_from(["転送", "留守番電話", "設定しない"])),
                    "無応答": draw(st.sampled_from(["転送", "留守番電話"])),
                },
                "呼出時間": draw(st.integers(5, 30)),
            }
        )
    new_settings = settings.model_copy(update={"ring_groups": groups, "absence": absence})
    tenant = tenant.model_copy(update={"settings": new_settings})
    scenario = draw(scenarios(tenant))
    scenario = dataclasses.replace(scenario, dialled=x)
    return tenant, scenario, x


#: The rule-specific invariants run under the default parameters and under any combination.
PARAMS = pytest.mark.parametrize(
    "param_strategy", [st.just(DEFAULT_PARAMS), model_params()], ids=["default", "any-params"]
)


@PARAMS
@given(data=st.data())
def test_a_sequential_group_never_rings_two_members_at_once(
    param_strategy: st.SearchStrategy[ModelParams], data: st.DataObject
) -> None:
    tenant, scenario, _ = data.draw(calls_to("sequential"))
    params = data.draw(param_strategy)
    # internal_pilot_starts_group=false: dialling the pilot rings the pilot's own extension
    # (whose シングルナンバーリーチ may ring several legs): no group, nothing to check
    assume(params.internal_pilot_starts_group)
    ringing = 0
    for event in predict(tenant, scenario, params).events:
        ringing += {EventKind.RING: 1, EventKind.STOP: -1}.get(event.kind, 0)
        assert ringing <= 1


@PARAMS
@given(data=st.data())
def test_no_reach_leg_rings_at_or_after_呼出終了時間(
    param_strategy: st.SearchStrategy[ModelParams], data: st.DataObject
) -> None:
    tenant, scenario, x = data.draw(calls_to("reach"))
    params = data.draw(param_strategy)
    reach = tenant.settings.absence[x]
    assert isinstance(reach, SingleNumberReach)
    end = float(reach.reach_end)
    if params.reach_end_from is ReachEndFrom.LAST_LEG_START:
        # the end moves by the start of the last leg placed: at most the later 呼出開始時間
        end += max(reach.reach_start_1 or 0, reach.reach_start_2 or 0)
    for event in predict(tenant, scenario, params).events:
        assert event.t <= end
        if event.kind is EventKind.RING:
            assert event.t < end


@PARAMS
@given(data=st.data())
def test_無応答_acts_exactly_at_呼出時間(
    param_strategy: st.SearchStrategy[ModelParams], data: st.DataObject
) -> None:
    tenant, scenario, x = data.draw(calls_to("no_answer"))
    params = data.draw(param_strategy)
    absence = tenant.settings.absence[x]
    assert isinstance(absence, ForwardAbsence) and absence.ring_time is not None
    ring_time = absence.ring_time
    # X rings and nothing else can end the call before 呼出時間
    endpoints = dict(scenario.endpoints)
    endpoints[x] = EndpointBehaviour(answer_after=None)
    scenario = dataclasses.replace(
        scenario,
        caller=next(t.extension for t in tenant.guide.terminals if t.extension != x),
        endpoints=endpoints,
        pickups=(),
        caller_gives_up_after=ring_time + 1 + (scenario.caller_gives_up_after or 0),
    )
    events = predict(tenant, scenario, params).events
    assert events[0].kind is EventKind.RING and events[0].endpoint == x and events[0].t == 0
    x_events = [(e.t, e.kind) for e in events if e.endpoint == x]
    assert x_events[:2] == [(0, EventKind.RING), (ring_time, EventKind.STOP)]
    # the action (転送先 rings, X's voicemail, or the call ends) happens at that same instant
    at_ring_time = [e for e in events if e.t == ring_time]
    assert len(at_ring_time) >= 2 and at_ring_time[0].kind is EventKind.STOP
    assert all(e.t >= ring_time for e in events[1:])
