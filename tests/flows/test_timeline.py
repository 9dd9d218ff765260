"""Observed timelines and their comparison with the model (harness.flows.timeline), and
``calls.check`` live against the simulator SUBPROCESS reached as a target.

The unit part builds timelines by hand; the live part plays fixture scenarios, scenarios drawn
on generated tenants, and a deliberately wrong expectation (the model run with another
``member_ring_time`` than the simulator's) that must fail with the diff.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ConformanceFailure
from harness.flows.calls import SLIP, as_answered, check, slips
from harness.flows.context import FlowContext
from harness.flows.evidence import FolderEvidence
from harness.flows.timeline import (
    EARLY_BUDGET,
    JITTER_BUDGET,
    MIN_TOLERANCE,
    RELATIVE_BUDGET,
    UNKNOWN_MAILBOX,
    TimelineMismatch,
    compare,
    early_tolerance_for,
    jitter_tolerance_for,
    observed_timeline,
    tolerance_for,
)
from harness.guide.dump import write_tenant
from harness.guide.load import load_tenant
from harness.model import DEFAULT_PARAMS, Scenario, load_scenario, parse_scenario, predict
from harness.model.timeline import Event, EventKind, Outcome, Timeline
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sip.app import CALLABLE, CELLULAR_CALLABLE, NOT_CALLABLE, Platform
from harness.sip.observed import PhoneEvent, PhoneEventKind
from harness.sip.runtime import Runtime
from harness.strategies.scenarios import scenarios
from harness.strategies.tenants import dense_tenants as tenants
from harness.suite.derive import derive_checks
from harness.target.model import Capability, MissingCapability, SipEndpoint, Target
from tests.sim.sip.kit import FIXTURES, flow_context, sim_target

K = EventKind
SAMPLE = FIXTURES / "sample"
EXAMPLES = FIXTURES / "domain-examples"
SCALE = 0.05  # 1 simulated second = 50 ms: a 120 s give-up takes 6 s; tolerance 5 s


def ring(t: float, endpoint: str, caller_id: str = "20205") -> Event:
    return Event(t=t, kind=K.RING, endpoint=endpoint, caller_id=caller_id)


def event(t: float, kind: EventKind, endpoint: str) -> Event:
    return Event(t=t, kind=kind, endpoint=endpoint)


FORWARD = Timeline(
    events=(
        ring(0, "20203"),
        event(15, K.STOP, "20203"),
        ring(15, "09011112222", "0312345678"),
        event(19, K.ANSWER, "09011112222"),
    ),
    outcome=Outcome.ANSWERED,
    answered_by="09011112222",
)


def shifted(timeline: Timeline, index: int, dt: float) -> Timeline:
    events = list(timeline.events)
    events[index] = dataclasses.replace(events[index], t=events[index].t + dt)
    return dataclasses.replace(timeline, events=tuple(events))


# -- compare ---------------------------------------------------------------------------------


def test_identical_timelines_agree() -> None:
    diff = compare(FORWARD, FORWARD, tolerance=1.0)
    assert diff.ok and diff.problems() == []
    assert "timelines agree" in diff.text()


def test_an_event_within_the_tolerance_agrees_and_one_beyond_it_is_late() -> None:
    assert compare(FORWARD, shifted(FORWARD, 1, 1.0), tolerance=1.0).ok  # boundary: |Δ| = tol
    late = compare(FORWARD, shifted(FORWARD, 1, 1.01), tolerance=1.0)
    assert not late.ok
    assert late.problems() == [
        "stop at 20203 1.01 s late (model t=15, observed t=16.01, tolerance ±1 s)"
    ]
    early = compare(FORWARD, shifted(FORWARD, 3, -2.5), tolerance=1.0)
    assert "answer at 09011112222 2.50 s early" in early.problems()[0]
    assert "+1.01" in late.text() and "✗" in late.text()


def test_the_early_side_has_its_own_bound() -> None:
    assert compare(FORWARD, shifted(FORWARD, 1, 1.9), tolerance=2.0, early=0.5).ok
    assert compare(FORWARD, shifted(FORWARD, 1, -0.5), tolerance=2.0, early=0.5).ok
    early = compare(FORWARD, shifted(FORWARD, 1, -0.6), tolerance=2.0, early=0.5)
    assert early.problems() == [
        "stop at 20203 0.60 s early (model t=15, observed t=14.40, tolerance −0.5/+2 s)"
    ]
    assert "(tolerance −0.5/+2 s)" in early.text()


def late_by(timeline: Timeline, dt: float) -> Timeline:
    """Every event ``dt`` late: the call's own set-up latency."""
    events = tuple(dataclasses.replace(e, t=e.t + dt) for e in timeline.events)
    return dataclasses.replace(timeline, events=events)


def test_anchored_a_whole_call_late_by_its_set_up_agrees_but_one_timer_2_s_late_does_not() -> None:
    # at scale 0.1: late tolerance 5 s, the anchor's jitter 1.5 s
    bounds = {"tolerance": 5.0, "early": 0.5, "jitter": 1.5}
    assert compare(FORWARD, late_by(FORWARD, 3.0), **bounds).ok  # set-up: all equally late
    assert compare(FORWARD, shifted(FORWARD, 1, 2.0), tolerance=5.0, early=0.5).ok  # unanchored
    late_timer = compare(FORWARD, shifted(late_by(FORWARD, 0.3), 1, 2.0), **bounds)
    assert not late_timer.ok
    assert late_timer.anchor == pytest.approx(0.3)
    assert late_timer.problems() == [
        "stop at 20203 2.00 s later than the call's own set-up lateness (+0.30 s at its first "
        "event; model t=15, Δ +2.30 s, allowed ±1.5 s)"
    ]
    assert "anchor +0.30 s, each later event within ±1.5 s" in late_timer.text()
    # an event much less late than the first one is as suspicious: the first was the late one
    early_rest = compare(FORWARD, shifted(late_by(FORWARD, 2.5), 0, 2.0), **bounds)
    assert not early_rest.ok and len(early_rest.problems()) == 3
    assert all("earlier than the call's own set-up" in p for p in early_rest.problems())


def test_anchored_events_at_a_harness_action_are_held_to_the_absolute_bounds_only() -> None:
    # the 転送先's answer at t=19 is its phone's action, re-predicted at its observed instant:
    # its Δ is the phone's, not the target's set-up lateness
    observed = shifted(late_by(FORWARD, 3.0), 3, -3.0)
    bounds = {"tolerance": 5.0, "early": 0.5, "jitter": 1.5}
    assert not compare(FORWARD, observed, **bounds).ok
    assert compare(FORWARD, observed, **bounds, actions={19.0}).ok


def test_anchored_the_absolute_bounds_still_hold_for_the_anchor_and_every_event() -> None:
    beyond = compare(FORWARD, late_by(FORWARD, 5.5), tolerance=5.0, early=0.5, jitter=1.5)
    assert not beyond.ok and len(beyond.problems()) == 4  # each 5.5 s late, none drifting
    assert all(" late (model t=" in p for p in beyond.problems())


def test_the_anchors_jitter_is_the_relative_budget_in_simulated_seconds() -> None:
    assert jitter_tolerance_for(target(0.1)) == pytest.approx(RELATIVE_BUDGET / 0.1)
    assert jitter_tolerance_for(target(1.0)) == MIN_TOLERANCE
    assert jitter_tolerance_for(target(0.01)) < tolerance_for(target(0.01))
    assert jitter_tolerance_for(target(0.1, tolerance=0.25)) is None  # the file's bound only


def test_the_model_is_asked_with_the_answers_as_they_reached_the_target() -> None:
    scenario = parse_scenario(
        {"call": {"from": "20205", "to": "20203"},
         "endpoints": {"09011112222": {"answer_after": 4}}},
        source="answer",
    )  # fmt: skip
    # the 転送先 rang 0.8 s late, so its answer came 0.8 s late: the call as played
    observed = shifted(shifted(FORWARD, 2, 0.8), 3, 0.8)
    played = as_answered(scenario, FORWARD, observed)
    assert played.behaviour("09011112222").answer_after == pytest.approx(4.8)
    # an answer no later than asked leaves the scenario as it is (never shortened)
    assert as_answered(scenario, FORWARD, FORWARD) is scenario
    assert as_answered(scenario, FORWARD, shifted(FORWARD, 3, -0.5)) is scenario
    # the whole call 1 s late (its set-up): on the target's clock, which started as late, the
    # answer came when asked — the scenario as written (large's reach-mobile-answers, -n 2)
    assert as_answered(scenario, FORWARD, late_by(FORWARD, 1.0)) is scenario
    # and lateness beyond the set-up's still moves it
    assert as_answered(
        scenario, FORWARD, shifted(shifted(late_by(FORWARD, 1.0), 2, 0.8), 3, 0.8)
    ).behaviour("09011112222").answer_after == pytest.approx(4.8)


def test_a_phones_reject_moves_with_the_ring_it_saw() -> None:
    """answer 0 s / reject 1 s after the ring: a ring 1.9 s late and an answer 0.9 s after it
    is an answered call, as the phone played it (the live fuzzer's seed 7 under load). On the
    target's clock — late by the call's set-up, the 1.9 s of its first ring — the answer came
    0.9 s after the ring and the reject was due 1 s after it."""
    tenant = load_tenant(SAMPLE)
    scenario = parse_scenario(
        {"call": {"from": "20200", "to": "20201"},
         "endpoints": {"20201": {"answer_after": 0, "reject_after": 1}}},
        source="race",
    )  # fmt: skip
    expected = predict(tenant, scenario)
    assert [e.kind for e in expected.events] == [K.RING, K.ANSWER]
    observed = Timeline(
        events=(ring(1.9, "20201", "20200"), event(2.8, K.ANSWER, "20201")),
        outcome=Outcome.ANSWERED,
        answered_by="20201",
    )
    played = as_answered(scenario, expected, observed)
    assert played.behaviour("20201").answer_after == pytest.approx(0.9)
    assert played.behaviour("20201").reject_after == pytest.approx(1.0)
    assert predict(tenant, played).outcome is Outcome.ANSWERED


def _no_answer_race() -> tuple[Scenario, Timeline]:
    """CI, stop 18: the callee meant to answer 2 s after its ring (3 s before its 無応答 timer)
    answered 12.26 s after it, with the target as late: voicemail missing, an extra answer."""
    scenario = parse_scenario(
        {"call": {"from": "20200", "to": "20201"}, "endpoints": {"20201": {"answer_after": 2}}},
        source="slip",
    )
    observed = Timeline(
        events=(ring(0.93, "20201", "20200"), event(13.19, K.ANSWER, "20201")),
        outcome=Outcome.ANSWERED,
        answered_by="20201",
    )
    return scenario, observed


def test_an_answer_far_behind_its_schedule_is_the_harnesss_slip() -> None:
    scenario, observed = _no_answer_race()
    (slip,) = slips(scenario, observed)
    assert slip.startswith("20201 answered at t=13.19, 10.26 s after its schedule"), slip
    # an answer within SLIP of the phone's own ring + answer_after is a fair play
    on_time = dataclasses.replace(
        observed, events=(observed.events[0], event(0.93 + 2 + SLIP - 0.01, K.ANSWER, "20201"))
    )
    assert slips(scenario, on_time) == []
    # the ring it answered is its last (a 順次着信 rings a member again in the next round)
    again = dataclasses.replace(
        observed,
        events=(observed.events[0], ring(10, "20201", "20200"), event(12.5, K.ANSWER, "20201")),
    )
    assert slips(scenario, again) == []
    # a phone that never answers, or answers nothing it was asked to, never slips
    unasked = dataclasses.replace(scenario, endpoints={})
    assert slips(unasked, observed) == []


@dataclasses.dataclass
class _Plays:
    """Stand-in for ``calls._play``: hands out the plays given, counting them."""

    plays: list[object]
    count: int = 0

    def __call__(self, *_args: object) -> object:
        self.count += 1
        return self.plays.pop(0)


def _fake_play(scenario: Scenario, observed: Timeline, expected: Timeline) -> object:
    from harness.flows import calls

    diff = compare(expected, observed, tolerance=5.0)
    return calls._Play(
        cast=calls._Cast(phones={}, marks={}),
        call=None,  # the target of these checks has no media: the caller's call is not heard
        aside=frozenset(),
        played=scenario,
        expected=expected,
        observed=observed,
        diff=diff,
        ladder_mark=0,
        pcap_mark=0,
    )


def _slip_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plays: list[object]
) -> tuple[FlowContext, _Plays, FolderEvidence]:
    from harness.flows import calls

    fake = _Plays(plays)
    monkeypatch.setattr(calls, "_play", fake)
    monkeypatch.setattr(calls, "_record", lambda *_args: None)
    monkeypatch.setattr(calls, "_hang_up", lambda _cast: None)
    evidence = FolderEvidence(tmp_path / "evidence")
    # check() itself reads only the target's time scale and the evidence (the play is faked)
    target = SimpleNamespace(time_scale=0.01, has=lambda *_capabilities: False)
    ctx = SimpleNamespace(target=target, evidence=evidence)
    return typing.cast(FlowContext, ctx), fake, evidence


def test_a_play_the_harness_slipped_is_played_again_and_never_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = load_tenant(SAMPLE)
    scenario, slipped = _no_answer_race()
    expected = predict(tenant, scenario)
    good = Timeline(
        events=(ring(0.9, "20201", "20200"), event(2.9, K.ANSWER, "20201")),
        outcome=Outcome.ANSWERED,
        answered_by="20201",
    )
    wrong_expected = Timeline(
        events=(
            ring(0, "20201", "20200"),
            event(5, K.STOP, "20201"),
            event(5, K.VOICEMAIL, "20201"),
        ),
        outcome=Outcome.VOICEMAIL,
    )
    plays = [_fake_play(scenario, slipped, wrong_expected), _fake_play(scenario, good, expected)]
    ctx, fake, evidence = _slip_context(tmp_path, monkeypatch, plays)
    assert check(ctx, scenario, name="slip") is good
    assert fake.count == 2
    (void,) = [p for p in (tmp_path / "evidence").rglob("*void*")]
    assert "10.26 s after its schedule" in void.read_text(encoding="utf-8")
    assert evidence.written


def test_a_deviation_without_a_slip_fails_at_once_and_endless_slips_are_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.errors import HarnessError
    from harness.flows import calls

    scenario, slipped = _no_answer_race()
    wrong_expected = Timeline(
        events=(
            ring(0, "20201", "20200"),
            event(5, K.STOP, "20201"),
            event(5, K.VOICEMAIL, "20201"),
        ),
        outcome=Outcome.VOICEMAIL,
    )
    # on time but not what the model says: failed on the first play, never replayed
    on_time = Timeline(
        events=(ring(0.9, "20201", "20200"), event(2.9, K.ANSWER, "20201")),
        outcome=Outcome.ANSWERED,
        answered_by="20201",
    )
    ctx, fake, _ = _slip_context(
        tmp_path / "a", monkeypatch, [_fake_play(scenario, on_time, wrong_expected)]
    )
    with pytest.raises(TimelineMismatch):
        check(ctx, scenario, name="deviation")
    assert fake.count == 1
    # slipped on every play: no verdict on the target, a broken check naming the load
    plays = [_fake_play(scenario, slipped, wrong_expected) for _ in range(calls.PLAYS)]
    ctx, fake, _ = _slip_context(tmp_path / "b", monkeypatch, plays)
    with pytest.raises(HarnessError, match="missed its own schedule in all 3 plays") as raised:
        check(ctx, scenario, name="overloaded")
    assert not isinstance(raised.value, ConformanceFailure)
    assert "--time-scale" in str(raised.value)
    assert fake.count == calls.PLAYS


def test_a_ring_that_never_came_is_named_with_the_models_instant() -> None:
    observed = dataclasses.replace(FORWARD, events=FORWARD.events[:2] + FORWARD.events[3:])
    diff = compare(FORWARD, observed, tolerance=1.0)
    assert not diff.ok
    assert diff.problems() == ["phone 09011112222 never rang; the model says it rings at t=15"]
    assert "DIFFER" in diff.text()


def test_an_extra_event_is_reported() -> None:
    extra = ring(3, "20200")
    observed = dataclasses.replace(FORWARD, events=(FORWARD.events[0], extra, *FORWARD.events[1:]))
    diff = compare(FORWARD, observed, tolerance=1.0)
    assert diff.problems() == ["extra: ring at 20200, t=3.00; not in the model"]


def test_a_different_caller_id_or_outcome_is_reported() -> None:
    events = list(FORWARD.events)
    events[2] = ring(15, "09011112222", "非通知")
    withheld = dataclasses.replace(FORWARD, events=tuple(events))
    assert compare(FORWARD, withheld, tolerance=1.0).problems() == [
        "caller ID at 09011112222: the model says 0312345678, observed 非通知"
    ]
    released = Timeline(
        events=(ring(0, "20203"), event(15, K.STOP, "20203"), event(15, K.RELEASE, "20205")),
        outcome=Outcome.RELEASED,
    )
    diff = compare(FORWARD, released, tolerance=1.0)
    assert "outcome: the model says answered by 09011112222, observed released" in diff.problems()
    assert not diff.ok


def test_released_and_unavailable_are_one_observable_outcome() -> None:
    expected = Timeline(events=(event(0, K.RELEASE, "20205"),), outcome=Outcome.UNAVAILABLE)
    observed = dataclasses.replace(expected, outcome=Outcome.RELEASED)
    assert compare(expected, observed, tolerance=1.0).ok
    busy = Timeline(events=(event(0, K.BUSY, "20205"),), outcome=Outcome.BUSY)
    assert not compare(expected, busy, tolerance=1.0).ok


def test_a_call_that_had_not_ended_fails_on_the_outcome() -> None:
    diff = compare(FORWARD, dataclasses.replace(FORWARD, events=FORWARD.events[:3]), tolerance=1)
    assert "the call had not ended" in diff.text()
    assert not diff.outcome_ok


def test_an_unknown_mailbox_matches_the_models_voicemail_and_says_so() -> None:
    expected = Timeline(events=(event(20, K.VOICEMAIL, "20200"),), outcome=Outcome.VOICEMAIL)
    observed = Timeline(
        events=(event(20.3, K.VOICEMAIL, UNKNOWN_MAILBOX),), outcome=Outcome.VOICEMAIL
    )
    diff = compare(expected, observed, tolerance=1.0)
    assert diff.ok and "mailbox not observable over SIP" in diff.text()
    other = Timeline(events=(event(20, K.VOICEMAIL, "20201"),), outcome=Outcome.VOICEMAIL)
    assert not compare(expected, other, tolerance=1.0).ok


def test_timeline_mismatch_is_a_conformance_failure_carrying_both_timelines() -> None:
    observed = shifted(FORWARD, 1, 5)
    diff = compare(FORWARD, observed, tolerance=1.0)
    error = TimelineMismatch(FORWARD, observed, diff, name="無応答で携帯に転送")
    assert isinstance(error, ConformanceFailure)
    assert error.expected is FORWARD and error.observed is observed and error.diff is diff
    assert str(error).startswith("無応答で携帯に転送: the observed timeline differs")
    assert "stop at 20203 5.00 s late" in str(error) and diff.text() in str(error)


# -- observed_timeline -----------------------------------------------------------------------


def phone_event(
    t: float, kind: PhoneEventKind, phone: str, call: str, **fields: object
) -> PhoneEvent:
    return PhoneEvent(t=t, kind=kind, phone=phone, call_id=call, **fields)  # type: ignore[arg-type]


def test_phone_events_become_the_models_events_from_the_callers_dial() -> None:
    p = PhoneEventKind
    events = [
        phone_event(90.0, p.DIAL, "caller", "c1", peer="0312345678"),  # before: another call
        phone_event(100.0, p.DIAL, "caller", "c2", peer="0312345678"),
        phone_event(100.1, p.RINGBACK, "caller", "c2"),
        phone_event(100.25, p.RING, "20203", "l1", caller_id="09099998888"),
        phone_event(100.2, p.REJECTED, "20204", "l2", caller_id="09099998888"),  # busy: nothing
        phone_event(102.0, p.RING, "20200", "l3", caller_id="09099998888"),
        phone_event(103.0, p.REJECTED, "20200", "l3", caller_id="09099998888"),  # rang: stop
        phone_event(107.5, p.STOP, "20203", "l1"),
        phone_event(107.5, p.RING, "mobile", "l4", caller_id="0312345678"),
        phone_event(109.5, p.ANSWER, "mobile", "l4", caller_id="0312345678"),
        phone_event(109.6, p.CONNECTED, "caller", "c2"),
        phone_event(110.0, p.RING, "stranger", "l5", caller_id="x"),  # not one of the cast
    ]
    names = {"caller": "09099998888", "20203": "20203", "20204": "20204", "20200": "20200"}
    names["mobile"] = "09011112222"
    observed = observed_timeline(events, phones=names, origin=100.0, scale=2.0)
    assert observed.to_json() == {
        "events": [
            {"t": 0.5, "kind": "ring", "endpoint": "20203", "caller_id": "09099998888"},
            {"t": 4, "kind": "ring", "endpoint": "20200", "caller_id": "09099998888"},
            {"t": 6, "kind": "stop", "endpoint": "20200"},
            {"t": 15, "kind": "stop", "endpoint": "20203"},
            {"t": 15, "kind": "ring", "endpoint": "09011112222", "caller_id": "0312345678"},
            {"t": 19, "kind": "answer", "endpoint": "09011112222"},
        ],
        "outcome": "answered",
        "answered_by": "09011112222",
    }


def test_the_callers_connect_without_an_answer_is_the_voicemail() -> None:
    p = PhoneEventKind
    events = [
        phone_event(0.0, p.DIAL, "20205", "c", peer="20200"),
        phone_event(0.0, p.RING, "20200", "l", caller_id="20205"),
        phone_event(20.0, p.STOP, "20200", "l"),
        phone_event(20.1, p.CONNECTED, "20205", "c"),
    ]
    names = {"20205": "20205", "20200": "20200"}
    unknown = observed_timeline(events, phones=names, origin=0.0, scale=1.0)
    assert unknown.outcome is Outcome.VOICEMAIL
    assert unknown.events[-1] == event(20.1, K.VOICEMAIL, UNKNOWN_MAILBOX)
    named = observed_timeline(events, phones=names, origin=0.0, scale=1.0, mailbox="20200")
    assert named.events[-1].endpoint == "20200"


def test_a_proxy_keeps_one_call_id_on_both_legs_and_the_phone_tells_them_apart() -> None:
    # Kamailio forwards the caller's INVITE: the callee's leg has the caller's Call-ID.
    p = PhoneEventKind
    events = [
        phone_event(0.0, p.DIAL, "20200", "same", peer="20201"),
        phone_event(0.01, p.RING, "20201", "same", caller_id="20200"),
        phone_event(2.0, p.ANSWER, "20201", "same", caller_id="20200"),
        phone_event(2.01, p.CONNECTED, "20200", "same"),
    ]
    names = {"20200": "20200", "20201": "20201"}
    observed = observed_timeline(events, phones=names, origin=0.0, scale=1.0)
    assert observed.outcome is Outcome.ANSWERED
    assert observed.events == (ring(0.01, "20201", "20200"), event(2.0, K.ANSWER, "20201"))


def test_a_pickup_that_connects_is_the_pickers_answer_and_one_that_fails_shows_nothing() -> None:
    p = PhoneEventKind
    events = [
        phone_event(0.0, p.DIAL, "out", "c", peer="0312345678"),
        phone_event(0.0, p.RING, "20200", "l", caller_id="out"),
        phone_event(0.0, p.RING, "20201", "own", caller_id="out"),
        phone_event(2.0, p.DIAL, "20202", "miss", peer="*8"),
        phone_event(2.0, p.REFUSED, "20202", "miss"),
        phone_event(4.0, p.DIAL, "20201", "pick", peer="*8"),
        phone_event(4.0, p.STOP, "20200", "l"),
        phone_event(4.05, p.STOP, "20201", "own"),  # its own leg: closed by its answer
        phone_event(4.1, p.CONNECTED, "20201", "pick"),
        phone_event(4.1, p.CONNECTED, "out", "c"),
    ]
    names = {"out": "out", "20200": "20200", "20201": "20201", "20202": "20202"}
    observed = observed_timeline(events, phones=names, origin=0.0, scale=1.0)
    assert [(e.t, e.kind, e.endpoint) for e in observed.events] == [
        (0.0, K.RING, "20200"),
        (0.0, K.RING, "20201"),
        (4.0, K.STOP, "20200"),
        (4.1, K.ANSWER, "20201"),
    ]
    assert observed.answered_by == "20201"


def test_the_callers_end_names_the_caller_and_a_release_without_rings_is_unavailable() -> None:
    p = PhoneEventKind
    events = [
        phone_event(5.0, p.DIAL, "a", "c", peer="20200"),
        phone_event(5.0, p.RELEASE, "a", "c", status=480),
    ]
    observed = observed_timeline(events, phones={"a": "20205"}, origin=5.0, scale=1.0)
    assert observed.events == (event(0.0, K.RELEASE, "20205"),)
    assert observed.outcome is Outcome.UNAVAILABLE


# -- tolerance_for ---------------------------------------------------------------------------


def target(scale: float = SCALE, **fields: object) -> Target:
    sip = SipEndpoint(host="127.0.0.1", port=5060)
    return Target(name="t", kind="remote", time_scale=scale, sip=sip, **fields)  # type: ignore[arg-type]


def test_tolerance_is_the_jitter_budget_in_simulated_seconds_with_a_floor() -> None:
    assert tolerance_for(target(0.05)) == pytest.approx(JITTER_BUDGET / 0.05)
    assert tolerance_for(target(1.0)) == MIN_TOLERANCE
    assert tolerance_for(target(0.01)) > tolerance_for(target(0.1))
    assert tolerance_for(target(0.05, tolerance=0.25)) == 0.25
    assert early_tolerance_for(target(0.01)) == pytest.approx(EARLY_BUDGET / 0.01)
    assert early_tolerance_for(target(0.1)) == MIN_TOLERANCE
    assert early_tolerance_for(target(0.01)) < tolerance_for(target(0.01))
    assert early_tolerance_for(target(0.05, tolerance=0.25)) == 0.25


# -- live: calls.check against the simulator as a target ------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    with start_simulator(
        SAMPLE, time_scale=SCALE, workdir=tmp_path_factory.mktemp("timeline-sim")
    ) as handle:
        yield handle


@pytest.fixture
def on_tenant(
    live: SimulatorHandle, sip_runtime: Runtime, tmp_path: Path
) -> Iterator[Callable[[Path], FlowContext]]:
    made: list[FlowContext] = []

    def make(folder: Path) -> FlowContext:
        if live.api("GET", "/api/tenant")["path"] != str(folder.resolve()):
            live.load_tenant(folder)
        else:
            live.reset()
        scratch = tmp_path / str(len(made))
        ctx = flow_context(sim_target(live, scale=SCALE), folder, sip_runtime, scratch)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.phones.close()


SAMPLE_SCENARIOS = sorted((SAMPLE / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SAMPLE_SCENARIOS, ids=[p.stem for p in SAMPLE_SCENARIOS])
def test_check_agrees_with_the_model_on_the_sample_scenarios(
    path: Path, on_tenant: Callable[[Path], FlowContext]
) -> None:
    ctx = on_tenant(SAMPLE)
    scenario = load_scenario(path)
    observed = check(ctx, scenario, name=path.stem)
    expected = predict(ctx.tenant, scenario)
    assert observed.outcome in {expected.outcome} | (
        {Outcome.RELEASED, Outcome.UNAVAILABLE} if expected.outcome is Outcome.RELEASED else set()
    )
    assert len(observed.events) == len(expected.events)
    assert isinstance(ctx.evidence, FolderEvidence)
    names = sorted(p.name for p in ctx.evidence.written)
    assert any("expected timeline" in n for n in names) and any("SIP ladder" in n for n in names)
    assert any(n.endswith(".pcap") for n in names)


def test_the_phones_are_reused_across_checks_on_one_context(
    on_tenant: Callable[[Path], FlowContext],
) -> None:
    ctx = on_tenant(SAMPLE)
    chosen = [load_scenario(p) for p in SAMPLE_SCENARIOS[:2]]
    for scenario in chosen:
        check(ctx, scenario)
    count = len(ctx.phones.phones)
    assert count == len(ctx.tenant.guide.terminals) + 1  # + the inbound call's caller
    for scenario in chosen:
        check(ctx, scenario)
    assert len(ctx.phones.phones) == count


def test_a_wrong_expectation_is_a_timeline_mismatch_with_the_diff(
    on_tenant: Callable[[Path], FlowContext],
) -> None:
    ctx = on_tenant(EXAMPLES)
    scenario = load_scenario(EXAMPLES / "scenarios" / "sequential-nobody-answers.yaml")
    wrong = dataclasses.replace(DEFAULT_PARAMS, member_ring_time=45)  # the simulator's is 20
    with pytest.raises(TimelineMismatch) as caught:
        check(ctx, scenario, params=wrong, name="順次着信 T=45")
    error = caught.value
    assert not error.diff.ok
    assert any("late" in p or "early" in p for p in error.diff.problems()), error.diff.text()
    stop = next(e for e in error.observed.events if (e.kind, e.endpoint) == (K.STOP, "20200"))
    assert stop.t < 45 - tolerance_for(ctx.target)  # the simulator's T=20, not the model's 45
    assert "順次着信 T=45" in str(error) and "DIFFER" in str(error)
    assert isinstance(ctx.evidence, FolderEvidence)
    diff_file = next(p for p in ctx.evidence.written if "timeline diff" in p.name)
    assert "DIFFER" in diff_file.read_text(encoding="utf-8")


def test_a_scenario_with_an_external_number_needs_the_carrier(
    on_tenant: Callable[[Path], FlowContext],
) -> None:
    ctx = on_tenant(SAMPLE)
    ctx = dataclasses.replace(ctx, target=dataclasses.replace(ctx.target, carrier=None))
    with pytest.raises(MissingCapability) as caught:
        check(ctx, load_scenario(SAMPLE / "scenarios" / "inbound-call.yaml"))
    assert caught.value.capabilities == (Capability.CARRIER,)


@settings(
    max_examples=4,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_check_agrees_with_the_model_on_generated_tenants(
    data: st.DataObject,
    live: SimulatorHandle,
    sip_runtime: Runtime,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tenant = data.draw(tenants())
    scenario: Scenario = data.draw(scenarios(tenant))
    scratch = tmp_path_factory.mktemp("generated")
    folder = write_tenant(tenant, scratch)
    live.load_tenant(folder)
    ctx = flow_context(sim_target(live, scale=SCALE), folder, sip_runtime, scratch)
    try:
        check(ctx, scenario)
    finally:
        ctx.phones.close()


BEHAVIOURS = {
    "member-rejects-other-answers": {
        "call": {"from": "09099998888", "to": "0312345678"},
        "endpoints": {"20201": {"reject_after": 3}, "20200": {"answer_after": 6}},
    },
    "member-busy": {
        "call": {"from": "09099998888", "to": "0312345678"},
        "endpoints": {"20200": {"state": "busy"}, "20201": {"answer_after": 2}},
    },
    "member-unregistered": {
        "call": {"from": "09099998888", "to": "0312345678"},
        "endpoints": {"20201": {"state": "unregistered"}},
    },
    "only-member-rejects": {
        "call": {"from": "20201", "to": "20200"},
        "endpoints": {"20200": {"reject_after": 4}},
    },
}


@pytest.mark.parametrize("title", sorted(BEHAVIOURS))
def test_check_plays_each_endpoint_behaviour(
    title: str, on_tenant: Callable[[Path], FlowContext]
) -> None:
    """busy (486 at once), unregistered (圏外), reject_after (rings, then 486) as the model
    reads them; each scenario's timeline differs from the all-idle one, so a behaviour that
    was not applied fails the check."""
    ctx = on_tenant(SAMPLE)
    scenario = parse_scenario(BEHAVIOURS[title], source=title)
    idle = dataclasses.replace(scenario, endpoints={})
    assert predict(ctx.tenant, scenario) != predict(ctx.tenant, idle)
    observed = check(ctx, scenario, name=title)
    assert len(observed.events) == len(predict(ctx.tenant, scenario).events)


def test_each_terminal_runs_the_app_a_check_names_with_one_registration(
    on_tenant: Callable[[Path], FlowContext], live: SimulatorHandle
) -> None:
    ctx = on_tenant(EXAMPLES)
    checks = {c.id: c for c in derive_checks(ctx.tenant)}
    pair = checks["call:android->iphone"]
    caller, callee = pair.scenario.caller, pair.scenario.dialled
    observed = check(ctx, pair.scenario, name=pair.id, platforms=pair.platforms)
    assert [e.caller_id for e in observed.events if e.kind is K.RING] == [caller]
    iphone = ctx.phones.find(callee, platform=Platform.IPHONE)
    android = ctx.phones.find(caller, platform=Platform.ANDROID)
    assert iphone is not None and android is not None
    assert (iphone.status_text, android.status_text) == (CELLULAR_CALLABLE, CALLABLE)
    # the callee back on its default app: the iPhone app's registration is gone first, so the
    # target rings one phone of the terminal, as the model says
    check(ctx, checks[f"register:{callee}"].scenario, platforms={callee: Platform.ANDROID})
    assert iphone.status_text == NOT_CALLABLE
    now = ctx.phones.find(callee, platform=Platform.ANDROID)
    assert now is not None and now.status_text == CALLABLE
    terminal_id = ctx.tenant.terminal_for(callee).terminal_id
    rows = [r for r in live.api("GET", "/api/registrations") if r["terminal_id"] == terminal_id]
    assert len(rows) == 1, rows
    # and to the iPhone app again: the same phone is reused, registered again
    count = len(ctx.phones.phones)
    check(ctx, pair.scenario, name=pair.id, platforms=pair.platforms)
    assert len(ctx.phones.phones) == count and iphone.status_text == CELLULAR_CALLABLE
    assert now.status_text == NOT_CALLABLE


def test_an_agreeing_call_heard_one_way_fails_after_it_is_hung_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timelines agree, but on a target with ``media`` a side hears nothing: the check
    fails with NoTwoWayAudio naming it (the call is hung up first); without ``media`` the
    same play passes and the audio is never asked about."""
    from harness.flows import calls
    from harness.target.model import Capability

    tenant = load_tenant(SAMPLE)
    scenario, _ = _no_answer_race()
    expected = predict(tenant, scenario)
    good = Timeline(
        events=(ring(0.9, "20201", "20200"), event(2.9, K.ANSWER, "20201")),
        outcome=Outcome.ANSWERED,
        answered_by="20201",
    )
    asked: list[str] = []
    hung_up: list[object] = []

    def unheard(_ctx: object, label: str, *_rest: object) -> list[str]:
        asked.append(label)
        return ["20201 does not hear 20200 within 2 s"]

    ctx, _, _ = _slip_context(tmp_path, monkeypatch, [_fake_play(scenario, good, expected)])
    monkeypatch.setattr(calls, "two_way_audio", unheard)
    monkeypatch.setattr(calls, "_hang_up", hung_up.append)
    monkeypatch.setattr(ctx.target, "has", lambda *c: c == (Capability.MEDIA,))
    with pytest.raises(calls.NoTwoWayAudio, match="20201 does not hear 20200"):
        check(ctx, scenario, name="one-way")
    assert asked == ["one-way"] and len(hung_up) == 1

    ctx, _, _ = _slip_context(tmp_path / "b", monkeypatch, [_fake_play(scenario, good, expected)])
    asked.clear()
    assert check(ctx, scenario, name="no media") is good
    assert asked == []
