"""The live differential property (harness.suite.differential): the embedded simulator, one
``serve`` for the whole property with its settings replaced per example, against the model.

The property runs under the loaded Hypothesis profile (conftest.py) with a profile's own
example count: ``ci`` a few dozen (derandomized, under a minute), ``dev`` fewer, ``thorough``
thousands. A failure prints the minimal counterexample (both timelines, 設定.yaml, the scenario
file) and the seed, and attaches it with the pcap to Allure when Allure is writing.

That the property can fail: the same engine against a simulator started with a deviation
(``serve --param unanswered_ring_limit=30``: an unanswered call is released after 30 s where
the model, DOMAIN.md rule 4, rings until the caller gives up) must find a counterexample and
shrink it to what shows the deviation: no setting at all, one plain call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

from harness.flows.evidence import FolderEvidence
from harness.flows.timeline import TimelineMismatch
from harness.guide.load import load_tenant
from harness.guide.types import Settings
from harness.model import load_scenario, predict
from harness.sip.runtime import Runtime
from harness.suite.differential import (
    SCENARIO_FILE,
    Differential,
    RunResult,
    default_tenant,
    embedded_differential,
)

#: Examples per Hypothesis profile (conftest.py registers dev, ci, thorough).
EXAMPLES = {"dev": 12, "ci": 30, "thorough": 2000}
#: The simulator's deviation the failing run must find (the model's unanswered_ring_limit is
#: None: ring until the caller gives up, 120 s by default).
DEVIATION = ("--param", "unanswered_ring_limit=30")


def profile_settings() -> settings:
    """The loaded profile with its example count for a live property (each example is a call
    at the scaled clock: ≈ 0.5–2 s)."""
    name = settings.get_current_profile_name()
    return settings(settings.default, max_examples=EXAMPLES.get(name, EXAMPLES["dev"]))


@pytest.fixture(scope="module")
def differential(
    tmp_path_factory: pytest.TempPathFactory, sip_runtime: Runtime
) -> Iterator[Differential]:
    workdir = tmp_path_factory.mktemp("differential")
    with embedded_differential(default_tenant(), workdir, sip_runtime) as running:
        yield running


def report_failure(result: RunResult, folder: Path) -> str:
    """Attach the counterexample (to Allure when active, and ``folder``); the message."""
    counterexample = result.counterexample
    assert counterexample is not None
    evidence = FolderEvidence(folder)
    counterexample.attach(evidence, folder)
    return (
        f"{counterexample.report()}\nreproduce: {result.seed_text('--hypothesis-seed')} "
        f"({result.examples} examples, {result.failures} failing runs while shrinking)"
    )


@pytest.mark.slow
def test_the_simulator_agrees_with_the_model_on_drawn_settings_and_calls(
    differential: Differential, tmp_path: Path
) -> None:
    chosen = profile_settings()
    result = differential.run(chosen)
    if result.counterexample is not None:
        pytest.fail(report_failure(result, tmp_path), pytrace=False)
    assert result.failures == 0
    assert result.examples >= chosen.max_examples  # every example was a call, none rejected
    for unconfirmed in result.unconfirmed:  # shown with -rP: latency outliers, replayed fine
        print(f"failed once, agreed on its replay: {unconfirmed.text()}")


@pytest.mark.slow
def test_a_deviating_simulator_is_found_and_shrunk_to_what_shows_it(
    tmp_path: Path, sip_runtime: Runtime
) -> None:
    with embedded_differential(
        default_tenant(), tmp_path / "sim", sip_runtime, serve_args=DEVIATION
    ) as deviating:
        result = deviating.run(settings(max_examples=40, derandomize=True))
    counterexample = result.counterexample
    assert counterexample is not None, f"no counterexample in {result.examples} examples"
    assert not counterexample.flaky, counterexample.report()
    assert isinstance(counterexample.error, TimelineMismatch)
    assert any("early" in p for p in counterexample.error.diff.problems()), counterexample.report()
    # Shrunk to what shows the deviation: the settings to nothing (it needs none), the call to
    # one that rings unanswered past 30 s with no pickup.
    minimal = counterexample.tenant.settings
    assert minimal == Settings(), counterexample.report()
    assert counterexample.scenario.pickups == ()
    assert result.failures >= 2 and result.derandomized  # found, then shrunk
    # Printed readably: the diff, 設定.yaml and a scenario file `predict --scenario` reads.
    report = counterexample.report()
    assert "DIFFER" in report and "着信グループ: []" in report and "call:" in report
    folder = counterexample.write(tmp_path / "out", "counterexample")
    replayed = load_tenant(folder)
    assert replayed.settings == minimal
    scenario = load_scenario(folder / SCENARIO_FILE)
    assert scenario == counterexample.scenario
    assert predict(replayed, scenario) == counterexample.error.expected
    assert yaml.safe_load((folder / SCENARIO_FILE).read_text(encoding="utf-8"))["call"]
    assert (folder / "phones.pcap").stat().st_size > 0
