"""DOMAIN.md's worked timelines, observed by virtual phones over SIP against the simulator
SUBPROCESS, agree with the reference model's ``predict`` within the tolerance.

The tests may import the model (the oracle); the simulator never does. The comparison is the
conformance suite's own (``harness.flows.calls.check``): phones made for the simulator as a
target (one ``ScaledClock`` at its scale), times in simulated seconds from the caller's dial,
the voicemail answer — which no terminal rings for — observed as the caller's connect. Any
missing, extra, late or early event, a different caller ID or outcome fails the test
(``TimelineMismatch``, with the side-by-side diff).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.flows.calls import check
from harness.model.predict import predict
from harness.model.scenario import load_scenario
from harness.model.timeline import Outcome
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sip.runtime import Runtime
from tests.sim.sip.kit import FIXTURES, eventually, flow_context, rows, sim_target

TENANT = FIXTURES / "domain-examples"
SCENARIOS = sorted((TENANT / "scenarios").glob("*.yaml"))
SCALE = 0.2  # 1 simulated second = 200 ms: the 60 s sequential timeline takes 12 s
TOLERANCE = 2.0  # simulated seconds (400 ms real): loopback SIP on a loaded 2-core machine


@pytest.fixture(scope="module")
def worked_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    with start_simulator(
        TENANT, time_scale=SCALE, workdir=tmp_path_factory.mktemp("worked")
    ) as handle:
        yield handle


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_worked_timeline_matches_the_model(
    path: Path, worked_sim: SimulatorHandle, sip_runtime: Runtime, tmp_path: Path
) -> None:
    worked_sim.reset()
    target = sim_target(worked_sim, scale=SCALE, tolerance=TOLERANCE)
    ctx = flow_context(target, TENANT, sip_runtime, tmp_path)
    scenario = load_scenario(path)
    expected = predict(ctx.tenant, scenario)
    try:
        observed = check(ctx, scenario, name=path.stem)
    finally:
        ctx.phones.close()
    assert observed.outcome is expected.outcome
    assert len(observed.events) == len(expected.events)
    if expected.outcome is Outcome.VOICEMAIL:
        messages = eventually(lambda: rows(worked_sim, "/api/voicemail"), "the message listed")
        assert [m["extension"] for m in messages] == [expected.events[-1].endpoint]
