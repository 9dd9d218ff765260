"""Invariants of the model over generated tenants and scenarios (Hypothesis).

Each property names the DOMAIN.md rule it guards; the generators in ``strategies`` reach every
destination rule, group kind, 不在時動作 option, endpoint state, pickup and give-up time.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import assume, given
from hypothesis import strategies as st

from harness.guide import ForwardAbsence, RingGroup, SingleNumberReach, Tenant
from harness.model import (
    WITHHELD,
    EndpointBehaviour,
    EndpointState,
    EventKind,
    Outcome,
    Scenario,
    Timeline,
    predict,
)
from harness.model.timeline import FINAL_KIND, KIND_RANK
from tests.model.strategies import lines_of, scenarios, tenants, tenants_and_scenarios

CASES = tenants_and_scenarios()


@given(CASES)
def test_times_never_go_backwards_and_stops_come_before_rings(
    case: tuple[Tenant, Scenario],
) -> None:
    events = predict(*case).events
    order = [(e.t, KIND_RANK[e.kind]) for e in events]  # stop < ring < answer < end of call
    assert order == sorted(order)
    assert all(e.t >= 0 for e in events)


@given(CASES)
def test_outcome_matches_the_last_event_and_nothing_follows_it(
    case: tuple[Tenant, Scenario],
) -> None:
    timeline = predict(*case)
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


@given(CASES)
def test_every_ring_has_a_matching_stop_or_answer(case: tuple[Tenant, Scenario]) -> None:
    timeline = predict(*case)
    stops = [e for e in timeline.events if e.kind is EventKind.STOP]
    assert len(ringing_intervals(timeline)) >= len(stops)


@given(CASES)
def test_nothing_rings_at_or_after_the_answer(case: tuple[Tenant, Scenario]) -> None:
    timeline = predict(*case)
    if timeline.outcome is not Outcome.ANSWERED:
        return  # covered by the outcome/last-event property
    answered_at = timeline.events[-1].t
    answerer = timeline.answered_by
    for event in timeline.events:
        if event.kind is EventKind.RING and event.t >= answered_at:
            assert event.endpoint == answerer and event.t == answered_at


@given(CASES)
def test_only_registered_endpoints_ring_and_answer(case: tuple[Tenant, Scenario]) -> None:
    tenant, scenario = case
    for event in predict(tenant, scenario).events:
        if event.kind in (EventKind.RING, EventKind.ANSWER):
            assert event.endpoint != scenario.caller
            assert scenario.behaviour(event.endpoint).state is EndpointState.REGISTERED


@given(CASES)
def test_predict_is_deterministic(case: tuple[Tenant, Scenario]) -> None:
    assert predict(*case).to_json() == predict(*case).to_json()


@given(CASES)
def test_the_caller_gives_up_when_the_scenario_says(case: tuple[Tenant, Scenario]) -> None:
    _, scenario = case
    limit = scenario.caller_gives_up_after or 120
    assert all(e.t <= limit for e in predict(*case).events)


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


@given(calls_to("sequential"))
def test_a_sequential_group_never_rings_two_members_at_once(
    case: tuple[Tenant, Scenario, str],
) -> None:
    tenant, scenario, _ = case
    ringing = 0
    for event in predict(tenant, scenario).events:
        ringing += {EventKind.RING: 1, EventKind.STOP: -1}.get(event.kind, 0)
        assert ringing <= 1


@given(calls_to("reach"))
def test_no_reach_leg_rings_at_or_after_呼出終了時間(case: tuple[Tenant, Scenario, str]) -> None:
    tenant, scenario, x = case
    reach = tenant.settings.absence[x]
    assert isinstance(reach, SingleNumberReach)
    for event in predict(tenant, scenario).events:
        assert event.t <= reach.reach_end
        if event.kind is EventKind.RING:
            assert event.t < reach.reach_end


@given(calls_to("no_answer"))
def test_無応答_acts_exactly_at_呼出時間(case: tuple[Tenant, Scenario, str]) -> None:
    tenant, scenario, x = case
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
    events = predict(tenant, scenario).events
    assert events[0].kind is EventKind.RING and events[0].endpoint == x and events[0].t == 0
    x_events = [(e.t, e.kind) for e in events if e.endpoint == x]
    assert x_events[:2] == [(0, EventKind.RING), (ring_time, EventKind.STOP)]
    # the action (転送先 rings, X's voicemail, or the call ends) happens at that same instant
    at_ring_time = [e for e in events if e.t == ring_time]
    assert len(at_ring_time) >= 2 and at_ring_time[0].kind is EventKind.STOP
    assert all(e.t >= ring_time for e in events[1:])


@given(CASES)
def test_caller_id_rules(case: tuple[Tenant, Scenario]) -> None:
    tenant, scenario = case
    extensions = {t.extension for t in tenant.guide.terminals}
    internal_caller = scenario.caller in extensions
    withheld = scenario.dialled.startswith("184")
    lines = set(lines_of(tenant))
    for event in predict(tenant, scenario).events:
        if event.kind is not EventKind.RING:
            assert event.caller_id is None
            continue
        shown = event.caller_id
        if event.endpoint not in extensions:
            # external legs show a 外線番号 of the tenant (X's 外線発信 number) or 非通知
            assert shown == WITHHELD or shown in lines
        elif internal_caller:
            # extensions see the caller's full 内線番号, a looped-back 外線発信 number, or 非通知
            assert shown in {scenario.caller, WITHHELD} | lines
            if not withheld and _without(scenario.dialled, "186") in extensions:
                assert shown == scenario.caller
        else:
            assert shown == (WITHHELD if withheld else scenario.caller)


def _without(digits: str, prefix: str) -> str:
    return digits[len(prefix) :] if digits.startswith(prefix) else digits


@given(CASES)
def test_no_endpoint_rings_more_than_the_plan_allows(case: tuple[Tenant, Scenario]) -> None:
    rings = Counter(e.endpoint for e in predict(*case).events if e.kind is EventKind.RING)
    # at most 1 + 5 forwarding hops + a sequential group's members can ring one endpoint
    assert all(count <= 10 for count in rings.values())
