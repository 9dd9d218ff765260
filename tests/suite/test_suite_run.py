"""``pytest --pyargs harness.suite`` end to end, with the target's surfaces replaced by fakes.

What is real here: the options, the pre-flight, the plan (tenants loaded, checks derived), the
parametrization, the collection order (flows before checks), the capability skips, the verdict
mapping and the reset after flows. What is fake: the embedded target, the phones, the evidence
and ``calls.check`` (their own tests live with them), so the run takes no SIP or browser.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import harness.suite.conftest as suite_conftest
from harness.errors import ConformanceFailure, HarnessError, InputError, Problem
from harness.flows.applicability import NotApplicable
from harness.flows.context import FlowContext
from harness.flows.step import Flow
from harness.model import Scenario, Timeline, predict
from harness.suite import surfaces
from harness.suite.plan import load_tenants
from harness.target.model import ApiAccess, Capability, SipEndpoint, Target

pytest_plugins = ["pytester"]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容"
SAMPLE = FIXTURES / "sample"
FAILING = "group:20200:simultaneous-no-answer"  # the fake target deviates here…
CRASHING = "register:20201"  # …and the fake harness breaks here


@dataclass
class FakeWorld:
    started: list[Path] = field(default_factory=list)
    serve_args: list[tuple[str, ...]] = field(default_factory=list)
    resets: int = 0
    played: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)


class FakeApi:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def reset(self) -> None:
        self.world.resets += 1


class FakePhones:
    def close(self) -> None:
        pass


class FakeEvidence:
    def after_step(self, step: object) -> None:
        pass


def fake_target(name: str) -> Target:
    """Every capability but the carrier side and the web site."""
    return Target(
        name=name,
        kind="embedded",
        time_scale=0.01,
        sip=SipEndpoint(host="127.0.0.1", port=5060),
        api=ApiAccess(base_url="http://127.0.0.1:9", token="t"),
        changes_settings=True,
    )


def run(ctx: FlowContext, steps: tuple[str, ...]) -> None:
    ctx.executed.extend(steps)


def fake_flows(world: FakeWorld) -> tuple[Flow, ...]:
    def complete(ctx: FlowContext) -> None:
        world.order.append("flow")
        run(ctx, ("P2-S1-1", "P2-S1-2"))

    def not_applicable(ctx: FlowContext) -> None:
        raise NotApplicable("no iPhone terminal in 内線番号情報1")

    def sloppy(ctx: FlowContext) -> None:
        run(ctx, ("P4-S2-5", "P4-S2-7"))  # P4-S2-7 is not one of its steps

    def partial(ctx: FlowContext) -> None:
        run(ctx, ("P4-S2-5",))  # declares P4-S2-6 as well: nothing to do for it here

    def web(ctx: FlowContext) -> None:
        ctx.open_page()

    def make(name: str, steps: tuple[str, ...], body: object, *needs: Capability) -> Flow:
        return Flow(
            name=name,
            section="P.2",
            steps=steps,
            needs=needs,
            requirement="r",
            run=body,  # type: ignore[arg-type]
            module=__name__,
        )

    return (
        make("complete", ("P2-S1-1", "P2-S1-2"), complete),
        make("not-applicable", ("P4-S2-5",), not_applicable),
        make("sloppy", ("P4-S2-5", "P4-S2-6"), sloppy),
        make("partial", ("P4-S2-5", "P4-S2-6"), partial),
        make("web", ("P2-S1-1",), web, Capability.WEB),
    )


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    world = FakeWorld()

    @contextmanager
    def start_embedded(
        tenant_dir: Path, *, time_scale: float, workdir: Path, extra_args: Sequence[str] = ()
    ) -> Iterator[object]:
        world.started.append(tenant_dir)
        world.serve_args.append(tuple(extra_args))

        @dataclass
        class Embedded:
            target: Target
            provisioning: object

        yield Embedded(target=fake_target(tenant_dir.name), provisioning=FakeApi(world))

    def check_call(
        ctx: FlowContext,
        scenario: Scenario,
        *,
        params: object,
        name: str,
        platforms: object,
        background: object = (),
        lapsed: object = (),
    ) -> Timeline:
        world.order.append("check")
        world.played.append(name)
        if name == FAILING:
            raise ConformanceFailure(f"{name}: the far end saw 非通知")
        if name == CRASHING:
            raise RuntimeError("phone runtime died")
        return predict(ctx.tenant, scenario)

    monkeypatch.setattr(surfaces, "start_embedded", start_embedded)
    monkeypatch.setattr(surfaces, "phone_factory", lambda *a, **k: FakePhones())
    monkeypatch.setattr(surfaces, "folder_evidence", lambda *a, **k: FakeEvidence())
    monkeypatch.setattr(surfaces, "mail_reader", lambda target: None)
    monkeypatch.setattr(surfaces, "check_call", check_call)
    monkeypatch.setattr(surfaces, "reset", lambda api: api.reset())
    monkeypatch.setattr(suite_conftest, "flows_of", lambda: fake_flows(world))
    return world


def verdicts_in(junit: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") == "verdict":
                found[str(case.get("name"))] = str(prop.get("value"))
    return found


def not_run_in(junit: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") == "not_run":
                found[str(case.get("name")).split("[", 1)[1].rstrip("]")] = str(prop.get("value"))
    return found


def test_the_suite_runs_every_flow_then_every_check_with_typed_verdicts(
    pytester: pytest.Pytester, world: FakeWorld
) -> None:
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_inprocess(
        "--pyargs",
        "harness.suite",
        "--guide",
        str(SAMPLE),
        f"--junitxml={junit}",
        "-p",
        "no:randomly",
        # In-process runs nest in this test: pytest-playwright's soft-assertion scope cannot
        # (no flow here uses a browser), and without it the project's addopts do not parse.
        "-p",
        "no:playwright",
        "-o",
        "addopts=",
        "-ra",
    )
    checks = load_tenants([SAMPLE])[0].checks
    needs_carrier = {c.id for c in checks if Capability.CARRIER in c.needs}
    verdicts = verdicts_in(junit)
    by_check = {name.split("/", 1)[1].rstrip("]"): v for name, v in verdicts.items()}
    # a target without a carrier side: those checks are skipped, naming the capability
    assert {k for k, v in by_check.items() if v == "skipped"} == needs_carrier | {"web"}
    assert "needs carrier" in result.stdout.str()
    assert by_check[FAILING] == "failed"
    assert by_check[CRASHING] == "broken"
    assert by_check["complete"] == "passed"
    assert by_check["not-applicable"] == "n/a"
    assert by_check["sloppy"] == "broken"
    assert by_check["partial"] == "passed"
    assert not_run_in(junit) == {"sample/partial": "P4-S2-6"}
    played = [c.id for c in checks if c.id not in needs_carrier]
    assert world.played == played  # every check the target supports, in derived order
    assert world.order.index("flow") < world.order.index("check")
    assert world.started == [SAMPLE.resolve()]  # one embedded target per tenant and worker
    assert world.serve_args == [()]  # no --suite-serve-arg: serve exactly as configured
    assert world.resets == 1  # flows ran on a provisioning target: reset once before checks
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == len(played) - 2 + 2  # checks but two, plus two flows
    assert outcomes["failed"] == 3  # the deviating and crashing checks, the sloppy flow


def test_suite_serve_args_reach_every_embedded_serve_as_they_are(
    pytester: pytest.Pytester, world: FakeWorld
) -> None:
    result = pytester.runpytest_inprocess(
        "--pyargs",
        "harness.suite",
        "--guide",
        str(SAMPLE),
        "--suite-serve-arg=--fault=sequential-out-of-order",
        "--suite-serve-arg=--param=sequential_rounds=2",
        "-k",
        "complete",
        "-p",
        "no:playwright",
        "-o",
        "addopts=",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert world.serve_args == [("--fault=sequential-out-of-order", "--param=sequential_rounds=2")]


def test_suite_serve_args_with_a_target_file_are_refused_naming_the_option(
    pytester: pytest.Pytester, world: FakeWorld
) -> None:
    target_file = pytester.path / "remote.toml"
    target_file.write_text('[target]\nname = "remote"\n', encoding="utf-8")
    result = pytester.runpytest_inprocess(
        "--pyargs",
        "harness.suite",
        "--guide",
        str(SAMPLE),
        f"--target={target_file}",
        "--suite-serve-arg=--fault=x",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--suite-serve-arg" in err and "--target embedded only" in err
    assert world.started == [] and world.played == []


def test_a_broken_tenant_folder_stops_the_run_before_any_test(
    pytester: pytest.Pytester, world: FakeWorld
) -> None:
    broken = FIXTURES / "broken" / "pilot-missing"
    result = pytester.runpytest_inprocess("--pyargs", "harness.suite", "--guide", str(broken))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pilot-missing" in result.stderr.str() and "設定.yaml" in result.stderr.str()
    assert "Nothing was run" in result.stderr.str()
    assert world.started == [] and world.played == []


def test_a_missing_tenant_folder_is_named(pytester: pytest.Pytester, world: FakeWorld) -> None:
    missing = pytester.path / "no-such-tenant"
    result = pytester.runpytest_inprocess("--pyargs", "harness.suite", "--guide", str(missing))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "no-such-tenant" in result.stderr.str() and "does not exist" in result.stderr.str()


def test_a_bad_target_file_stops_the_run_naming_the_key(
    pytester: pytest.Pytester, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def load_target_file(path: Path) -> Target:
        raise InputError(
            [Problem(where=f"{path} › [target] › time_scale", rule="must be > 0", value="0")],
            subject="target file",
        )

    monkeypatch.setattr(surfaces, "load_target_file", load_target_file)
    result = pytester.runpytest_inprocess(
        "--pyargs", "harness.suite", "--guide", str(SAMPLE), "--target", "acme.toml"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "acme.toml › [target] › time_scale" in result.stderr.str()
    assert world.played == []


def test_an_unreachable_target_exits_3_before_any_test(
    pytester: pytest.Pytester, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(target: Target) -> None:
        raise HarnessError("sip 127.0.0.1:5999 does not answer OPTIONS")

    monkeypatch.setattr(surfaces, "load_target_file", lambda path: fake_target("remote"))
    monkeypatch.setattr(surfaces, "require_reachable", unreachable)
    result = pytester.runpytest_inprocess(
        "--pyargs", "harness.suite", "--guide", str(SAMPLE), "--target", "acme.toml"
    )
    assert result.ret == 3
    assert "127.0.0.1:5999" in result.stdout.str() + result.stderr.str()
    assert world.played == []


def test_a_bad_time_scale_is_refused(pytester: pytest.Pytester, world: FakeWorld) -> None:
    result = pytester.runpytest_inprocess(
        "--pyargs", "harness.suite", "--guide", str(SAMPLE), "--suite-time-scale", "0"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--suite-time-scale" in result.stderr.str()


def test_the_project_tests_are_not_preflighted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest_inprocess("--guide", "/nonexistent", "-p", "no:playwright")
    result.assert_outcomes(passed=1)
