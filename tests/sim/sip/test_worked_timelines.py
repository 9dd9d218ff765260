"""DOMAIN.md's worked timelines, observed by virtual phones over SIP against the simulator
SUBPROCESS, agree with the reference model's ``predict`` within the scaled tolerance.

The tests may import the model (the oracle); the simulator never does. Times are the phones'
simulated seconds (one ``ScaledClock`` at the simulator's scale), measured from the caller's
dial; the voicemail answer, which no terminal rings for, is observed as the caller's connect.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.clock import Clock, ScaledClock
from harness.guide.load import load_tenant
from harness.model.predict import predict
from harness.model.scenario import load_scenario
from harness.model.timeline import EventKind, Outcome, Timeline
from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sip.observed import PhoneEvent, PhoneEventKind
from harness.sip.phone import Phone
from harness.sip.runtime import Runtime
from tests.sim.sip.kit import FIXTURES, eventually, rows, subscriber, tenant_phones

TENANT = FIXTURES / "domain-examples"
SCENARIOS = sorted((TENANT / "scenarios").glob("*.yaml"))
SCALE = 0.2  # 1 simulated second = 200 ms: the 60 s sequential timeline takes 12 s
TOLERANCE = 2.0  # simulated seconds (400 ms real): loopback SIP on a loaded 2-core machine
Key = tuple[str, str, str | None]


@pytest.fixture(scope="module")
def worked_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    with start_simulator(
        TENANT, time_scale=SCALE, workdir=tmp_path_factory.mktemp("worked")
    ) as handle:
        yield handle


@pytest.fixture
def phone_clock(sip_runtime: Runtime) -> Clock:
    return ScaledClock(SCALE, loop=sip_runtime.loop)


def _observed(
    phones: dict[str, Phone], caller: str, expected: Timeline, origin: float, end: float
) -> list[tuple[Key, float]]:
    seen: list[tuple[Key, float]] = []
    for name, phone in phones.items():
        for event in phone.timeline():
            if event.t > end + 1e-9:
                continue
            key = _key(event, name, caller, expected)
            if key is not None:
                seen.append((key, event.t - origin))
    return sorted(seen, key=lambda item: item[1])


def _key(event: PhoneEvent, name: str, caller: str, expected: Timeline) -> Key | None:
    k = PhoneEventKind
    if name == caller:
        if event.kind is k.CONNECTED and expected.outcome is Outcome.VOICEMAIL:
            voicemail = next(e for e in expected.events if e.kind is EventKind.VOICEMAIL)
            return ("voicemail", voicemail.endpoint, None)
        if event.kind in (k.RELEASE, k.BUSY, k.REFUSED):
            return (event.kind.value, name, None)
        return None
    if event.kind in (k.RING, k.STOP, k.ANSWER, k.BUSY):
        return (event.kind.value, name, event.caller_id if event.kind is k.RING else None)
    return None


def _match(expected: Timeline, observed: list[tuple[Key, float]]) -> list[str]:
    """Pair every predicted event with an observed one of the same kind, endpoint and caller
    ID within TOLERANCE; list what is missing or extra."""
    left = list(observed)
    problems: list[str] = []
    for event in expected.events:
        key: Key = (event.kind.value, event.endpoint, event.caller_id)
        hit = next(
            (i for i, (k, t) in enumerate(left) if k == key and abs(t - event.t) <= TOLERANCE), None
        )
        if hit is None:
            problems.append(f"missing {event.t:g} {key}")
        else:
            left.pop(hit)
    problems += [f"extra {t:.2f} {k}" for k, t in left]
    return problems


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_worked_timeline_matches_the_model(
    path: Path, worked_sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    worked_sim.reset()
    tenant = load_tenant(TENANT)
    scenario = load_scenario(path)
    expected = predict(tenant, scenario)
    phones = tenant_phones(phone_factory, worked_sim, TENANT)
    outside = {e.endpoint for e in expected.events} | set(scenario.endpoints)
    for number in sorted(outside - set(phones)):
        phones[number] = subscriber(phone_factory, worked_sim, number)
    for number, behaviour in scenario.endpoints.items():
        if behaviour.answer_after is not None:
            phones[number].answer_after(behaviour.answer_after)

    caller = phones[scenario.caller]
    call = caller.call(scenario.dialled, timeout=20)
    origin = call.wait_for(PhoneEventKind.DIAL).t
    wait = 3 * (max(e.t for e in expected.events) * SCALE) + 10
    if expected.outcome is Outcome.ANSWERED:
        assert expected.answered_by is not None
        final = phones[expected.answered_by].wait_for(PhoneEventKind.ANSWER, wait).t
    elif expected.outcome is Outcome.VOICEMAIL:
        final = call.wait_for(PhoneEventKind.CONNECTED, wait).t
    else:
        final = call.wait_for(PhoneEventKind.RELEASE, wait).t
    # Events at the final instant (the stops sent with the release) may land just after it.
    end = final + TOLERANCE

    def agreement() -> bool:
        return not _match(expected, _observed(phones, scenario.caller, expected, origin, end))

    try:
        eventually(agreement, "the observed timeline to agree", timeout=TOLERANCE * SCALE + 3)
    except AssertionError:
        pass  # the assertion below shows the difference
    observed = _observed(phones, scenario.caller, expected, origin, end)
    if expected.outcome in (Outcome.ANSWERED, Outcome.VOICEMAIL):
        call.hangup()
    assert _match(expected, observed) == [], (expected.to_json(), observed)
    if expected.outcome is Outcome.VOICEMAIL:
        messages = eventually(lambda: rows(worked_sim, "/api/voicemail"), "the message listed")
        assert [m["extension"] for m in messages] == [expected.events[-1].endpoint]
