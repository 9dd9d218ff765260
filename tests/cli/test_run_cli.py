"""``smartpbx-harness run`` and ``report``: pre-flight, the suite with its reports, exit codes.

The suite itself (harness.suite) is tested in tests/suite; here a stand-in suite in a temporary
folder records the same properties (docs/suite.md "Recorded properties") so that every exit
path of the command can be provoked on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main
from harness.cli import run as run_module
from harness.errors import HarnessError
from harness.flows.catalog import manual_steps
from harness.report.compliance import CaseResult
from harness.target.model import SipEndpoint, Target

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ご利用内容"


def fixtures_with(tmp_path: Path, *tenants: str) -> Path:
    root = tmp_path / "ご利用内容"
    for name in tenants:
        shutil.copytree(FIXTURES / name, root / name)
    return root


def test_run_predicts_every_scenario_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = fixtures_with(tmp_path, "domain-examples")
    (root / "broken").mkdir()  # the deliberately broken documents are skipped
    reports = tmp_path / "reports"
    assert main(["run", "--no-suite", "--fixtures", str(root), "--reports", str(reports)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("domain-examples: ok")
    assert "1 tenant(s) valid" in out
    written = reports / "timelines" / "domain-examples"
    assert sorted(p.name for p in written.iterdir()) == [
        "no-answer-forward.json",
        "sequential-nobody-answers.json",
        "single-number-reach-voicemail.json",
    ]
    reach = json.loads((written / "single-number-reach-voicemail.json").read_text("utf-8"))
    assert [(e["t"], e["kind"], e["endpoint"]) for e in reach["events"]] == [
        (0, "ring", "20204"),
        (5, "ring", "09011112222"),
        (10, "ring", "0311112222"),
        (30, "stop", "20204"),
        (30, "stop", "09011112222"),
        (30, "stop", "0311112222"),
        (30, "voicemail", "20204"),
    ]


def test_run_reports_every_invalid_tenant_and_scenario_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = fixtures_with(tmp_path, "domain-examples", "sample")
    (root / "sample" / "ご利用内容.yaml").write_text("お客様情報: {}\n", encoding="utf-8")
    bad = root / "domain-examples" / "scenarios" / "zz-bad.yaml"
    bad.write_text('call: {from: "20205", to: 20200}\n', encoding="utf-8")
    args = ["run", "--no-suite", "--reports", str(tmp_path / "r")]
    assert (
        main([*args, "--guide", str(root / "domain-examples"), "--guide", str(root / "sample")])
        == 2
    )
    captured = capsys.readouterr()
    assert "zz-bad.yaml › call › to: must be a quoted string" in captured.err
    assert "sample" in captured.err and "ご利用内容.yaml" in captured.err
    assert "2 input(s) refused: nothing was run" in captured.err


def test_the_same_tenant_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "elsewhere" / "sample"
    shutil.copytree(FIXTURES / "sample", copy)
    args = ["run", "--no-suite", "--reports", str(tmp_path / "r")]
    assert main([*args, "--guide", str(FIXTURES / "sample"), "--guide", str(copy)]) == 2
    err = capsys.readouterr().err
    assert f"--guide {copy}: the tenant 'sample' is also --guide {FIXTURES / 'sample'}" in err


def test_run_help_documents_targets_reports_and_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in (
        "--target embedded|FILE",
        "--guide DIR",
        "-n N",
        "<tenant>/compliance.md",
        "allure-report/index.html",
        "junit.xml",
        "skipped with the missing capability",
        "summary table per tenant x target",
        "1 a conformance failure",
        "3 the harness could not run",
    ):
        assert text in out, text


# A stand-in of harness.suite: the same options and recorded properties, one flow, one
# behaviour check (whose verdict STANDIN_CHECK chooses), one n/a flow, one skipped check.
STANDIN_CONFTEST = """
import os
from pathlib import Path

import pytest

def pytest_addoption(parser):
    for name, kwargs in (("--target", {"default": "embedded"}),
                         ("--guide", {"action": "append", "default": []})):
        try:
            parser.addoption(name, **kwargs)
        except ValueError:  # the real suite's options are loaded too
            pass

def pytest_generate_tests(metafunc):
    if "tenant" in metafunc.fixturenames:
        guides = metafunc.config.getoption("--guide")
        metafunc.parametrize("tenant", [Path(g).name for g in guides])

PROPERTIES = {
    "test_admin_login": [("flow", "p2-admin-login"), ("steps", "P2-S1-1 P2-S1-3")],
    "test_ring_group": [("check", "ring-group"), ("steps", "P2-S2-3"),
                        ("requirement", "every member rings at once (一斉着信)")],
    "test_iphone": [("flow", "p4-iphone"), ("steps", "P4-S2-6")],
    "test_mfa": [("flow", "p2-mfa"), ("steps", "P2-S1-4")],
}

def pytest_collection_modifyitems(items):
    for item in items:
        target = item.config.getoption("--target")
        item.user_properties += [("tenant", item.callspec.params["tenant"]),
                                 ("target", Path(target).stem)]
        item.user_properties += PROPERTIES[item.originalname]
"""

STANDIN_TESTS = """
import os

import pytest

from harness.errors import ConformanceFailure

def test_admin_login(tenant):
    pass

def test_ring_group(tenant, record_property):
    record_property("evidence", f"evidence/{tenant}/ring-group.txt")
    mode = os.environ.get("STANDIN_CHECK", "conform")
    if mode == "deviate" and tenant == "sample":
        raise ConformanceFailure("20201 never rang, model says at t=0")
    if mode == "broken":
        raise RuntimeError("the phone factory crashed")

def test_iphone(tenant, request):
    request.node.user_properties += [("verdict", "n/a"), ("reason", "no iPhone terminal")]
    pytest.skip("no iPhone terminal")

def test_mfa(tenant):
    pytest.skip("needs mail")
"""


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    suite = tmp_path / "standin"
    suite.mkdir()
    (suite / "conftest.py").write_text(STANDIN_CONFTEST, encoding="utf-8")
    (suite / "test_standin.py").write_text(STANDIN_TESTS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no project ini: the stand-in runs as a user's suite would
    return suite


def run_args(tmp_path: Path, suite: Path, *tenants: str) -> list[str]:
    root = fixtures_with(tmp_path, *tenants)
    guides = [arg for name in tenants for arg in ("--guide", str(root / name))]
    return ["run", "--suite", str(suite), "--reports", str(tmp_path / "reports"), *guides]


@pytest.mark.slow
def test_a_conforming_run_exits_0_with_a_matrix_per_tenant_and_report_re_renders(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(run_args(tmp_path, standin, "domain-examples", "sample")) == 0
    out = capsys.readouterr().out
    table = out[out.index("tenant ") :].splitlines()
    assert table[0].split() == ["tenant", "target", "passed", "failed", "broken", "skipped", "n/a"]
    assert table[2].split() == ["domain-examples", "embedded", "2", "0", "0", "1", "1"]
    assert table[3].split() == ["sample", "embedded", "2", "0", "0", "1", "1"]
    reports = tmp_path / "reports"
    for tenant in ("domain-examples", "sample"):
        matrix = json.loads((reports / tenant / "compliance.json").read_text(encoding="utf-8"))
        assert (matrix["tenant"], matrix["target"]) == (tenant, "embedded")
        steps = {s["id"]: s for s in matrix["steps"]}
        assert list(steps) == [s.id for s in manual_steps()]  # every catalog step, in order
        assert steps["P2-S1-1"]["verdict"] == "pass"
        group = steps["P2-S2-3"]
        assert group["verdict"] == "pass"
        assert [(t["kind"], t["name"]) for t in group["tests"]] == [("check", "ring-group")]
        assert group["tests"][0]["evidence"] == [f"evidence/{tenant}/ring-group.txt"]
        assert (steps["P4-S2-6"]["verdict"], steps["P4-S2-6"]["reason"]) == (
            "n/a",
            "no iPhone terminal",
        )
        assert (steps["P2-S1-4"]["verdict"], steps["P2-S1-4"]["reason"]) == (
            "skipped",
            "needs mail",
        )
        assert steps["P3-S1-1"]["verdict"] == "out_of_scope" and steps["P3-S1-1"]["reason"]
        markdown = (reports / tenant / "compliance.md").read_text(encoding="utf-8")
        assert "skipped: needs mail" in markdown and "`check ring-group`" in markdown
    index = json.loads((reports / "index.json").read_text(encoding="utf-8"))
    assert [e["tenant"] for e in index] == ["domain-examples", "sample"]
    junit = (reports / "junit.xml").read_text(encoding="utf-8")
    assert 'tests="8"' in junit and 'failures="0"' in junit
    assert '<property name="check" value="ring-group"' in junit  # xunit1 keeps properties
    html_report = reports / "allure-report" / "index.html"
    assert html_report.stat().st_size > 100_000  # the single-file report embeds its data
    allure = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (reports / "allure-results").glob("*-result.json")
    ]
    by_name = {r["name"]: r for r in allure}
    check = by_name["test_ring_group[sample]"]
    labels = {(lb["name"], lb["value"]) for lb in check["labels"]}
    assert {("epic", "P.2 web"), ("feature", "ring-group"), ("tenant", "sample")} <= labels
    assert ("harness_id", "sample/check/ring-group") in labels
    # historyId follows tenant + check id, not the node id
    assert check["historyId"] == hashlib.md5(b"sample/check/ring-group").hexdigest()
    assert len({r["historyId"] for r in allure}) == len(allure) == 8
    environment = (reports / "allure-results" / "environment.properties").read_text("utf-8")
    assert "tenant=domain-examples, sample" in environment and "target=embedded" in environment
    assert "time_scale=0.01" in environment and "smartpbx-harness=" in environment
    assert str(html_report) in out and str(reports / "index.html") in out

    # `report` re-renders what the run wrote, from results.json.
    before = (reports / "sample" / "compliance.json").read_text(encoding="utf-8")
    shutil.rmtree(reports / "sample")
    (reports / "index.html").unlink()
    html_report.unlink()
    assert main(["report", "--reports", str(reports)]) == 0
    assert (reports / "sample" / "compliance.json").read_text(encoding="utf-8") == before
    assert (reports / "index.html").exists() and html_report.exists()
    lines = capsys.readouterr().out.splitlines()
    assert ["sample", "embedded", "2", "0", "0", "1", "1"] in [line.split() for line in lines]


@pytest.mark.slow
def test_a_deviating_target_exits_1_naming_the_failing_check(
    tmp_path: Path,
    standin: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STANDIN_CHECK", "deviate")
    assert main(run_args(tmp_path, standin, "domain-examples", "sample")) == 1
    out = capsys.readouterr().out
    assert "Not conforming:\n  failed  sample › check ring-group: " in out
    assert "ConformanceFailure: 20201 never rang, model says at t=0" in out
    matrix = json.loads((tmp_path / "reports/sample/compliance.json").read_text("utf-8"))
    assert next(s for s in matrix["steps"] if s["id"] == "P2-S2-3")["verdict"] == "failed"


@pytest.mark.slow
def test_a_broken_check_exits_3(
    tmp_path: Path,
    standin: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STANDIN_CHECK", "broken")
    assert main(run_args(tmp_path, standin, "sample")) == 3
    assert "Broken:\n  broken  sample › check ring-group: RuntimeError: the phone" in (
        capsys.readouterr().out
    )


def result(outcome: str) -> CaseResult:
    return CaseResult(nodeid=outcome, outcome=outcome, steps=())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcomes", "pytest_code", "expected"),
    [
        (("passed", "skipped", "n/a"), 0, 0),
        (("passed", "failed"), 1, 1),
        (("failed", "broken"), 1, 1),  # the verdict on the target is known: it deviates
        (("passed", "broken"), 1, 3),
        ((), 5, 3),  # nothing collected is no verdict
        (("passed",), 3, 3),  # pytest internal error
        (("passed",), 1, 3),  # pytest failed where the classification saw nothing
    ],
)
def test_exit_code_of_a_run(outcomes: tuple[str, ...], pytest_code: int, expected: int) -> None:
    assert run_module.verdict([result(o) for o in outcomes], pytest_code) == expected


def test_a_broken_guide_stops_the_run_before_any_test(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = run_args(tmp_path, standin, "sample")
    guide = tmp_path / "ご利用内容" / "sample" / "ご利用内容.yaml"
    guide.write_text("お客様情報: {}\n", encoding="utf-8")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "ご利用内容.yaml" in err and "nothing was run" in err
    assert not (tmp_path / "reports" / "results.json").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: None, "does not exist"),
        (lambda path: path.mkdir(), "is a folder"),
        (
            lambda path: path.write_text("[target\nname = 1\n", encoding="utf-8"),
            "is not valid TOML",
        ),
    ],
    ids=["missing", "a folder", "bad TOML"],
)
def test_a_broken_target_file_stops_the_run_with_exit_2(
    tmp_path: Path,
    standin: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], object],
    message: str,
) -> None:
    target = tmp_path / "acme.toml"
    make(target)
    assert main([*run_args(tmp_path, standin, "sample"), "--target", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"--target {target}: {message}" in err and "give `embedded` or a target file" in err
    assert not (tmp_path / "reports" / "results.json").exists()


def test_an_unreachable_target_stops_the_run_with_exit_3(
    tmp_path: Path,
    standin: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The CLI's side of the contract: load_target_file's Target goes to require_reachable,
    # whose HarnessError (TargetUnreachable) stops the run before pytest (exit 3).
    target_file = tmp_path / "acme.toml"
    target_file.write_text('[target]\nname = "acme"\n', encoding="utf-8")
    target = Target(
        name="acme", kind="remote", time_scale=1.0, sip=SipEndpoint(host="127.0.0.1", port=9)
    )
    probed: list[Target] = []

    def unreachable(checked: Target) -> None:
        probed.append(checked)
        raise HarnessError("target 'acme': sip 127.0.0.1:9 does not answer OPTIONS")

    functions = {"load_target_file": lambda path: target, "require_reachable": unreachable}
    monkeypatch.setattr(run_module, "_target_function", lambda module, name: functions[name])
    assert main([*run_args(tmp_path, standin, "sample"), "--target", str(target_file)]) == 3
    assert probed == [target]
    assert "sip 127.0.0.1:9 does not answer OPTIONS" in capsys.readouterr().err
    assert not (tmp_path / "reports" / "results.json").exists()


def test_time_scale_is_refused_with_a_target_file(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*run_args(tmp_path, standin, "sample"), "--target", "x.toml", "--time-scale", "0.1"]
    assert main(args) == 2
    assert "applies to --target embedded only" in capsys.readouterr().err


def test_workers_are_refused_with_a_target_file(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a target file is ONE shared deployment: its flows and checks run serially
    args = [*run_args(tmp_path, standin, "sample"), "--target", "x.toml", "-n", "2"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "-n 2" in err and "ONE shared deployment" in err and "leave -n out" in err


def test_a_missing_suite_is_a_broken_harness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = run_args(tmp_path, tmp_path / "no-such-suite", "sample")
    args[args.index("--suite") + 1] = "harness.no_such_suite"
    assert main(args) == 3
    assert "the conformance suite harness.no_such_suite is not installed" in (
        capsys.readouterr().err
    )


def test_the_suite_command_passes_target_guides_scale_and_workers(tmp_path: Path) -> None:
    args = argparse.Namespace(
        suite="harness.suite", target="embedded", time_scale=0.02, workers="2", pytest_args=["-x"]
    )
    command = run_module.suite_command(args, [tmp_path / "a", tmp_path / "b"], tmp_path / "r")
    assert command[1:5] == ["-m", "pytest", "--pyargs", "harness.suite"]
    for part in (
        "--target=embedded",
        f"--guide={tmp_path / 'a'}",
        f"--guide={tmp_path / 'b'}",
        "--suite-time-scale=0.02",
        f"--compliance-dir={tmp_path / 'r'}",
        f"--junitxml={tmp_path / 'r' / 'junit.xml'}",
    ):
        assert part in command, part
    assert command[-5:] == ["-n", "2", "--dist", "loadgroup", "-x"]


def test_report_refuses_a_folder_without_a_finished_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--reports", str(tmp_path)]) == 2
    assert f"--reports {tmp_path}: holds no results.json" in capsys.readouterr().err


def test_run_over_the_committed_fixtures_predicts_every_scenario(tmp_path: Path) -> None:
    scenarios = sorted(FIXTURES.glob("*/scenarios/*.yaml"))
    assert main(["run", "--no-suite", "--reports", str(tmp_path)]) == 0  # the bundled tenants
    written = sorted((tmp_path / "timelines").glob("*/*.json"))
    assert [(p.parent.name, p.stem) for p in written] == [
        (p.parent.parent.name, p.stem) for p in scenarios
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: None, "does not exist: give a folder of tenant folders"),
        (lambda root: root.write_text("x", encoding="utf-8"), "is a file, not a folder"),
        (lambda root: (root / "broken").mkdir(parents=True), "holds no tenant folder"),
    ],
    ids=["missing", "a file", "no tenant"],
)
def test_fixtures_that_hold_no_tenant_are_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], object],
    message: str,
) -> None:
    # Issue 9 item 4: `run --no-suite --fixtures nope` printed "0 problems".
    root = tmp_path / "nope"
    make(root)
    args = ["run", "--no-suite", "--fixtures", str(root), "--reports", str(tmp_path / "r")]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert f"run: 1 problem\n  - --fixtures {root}: {message}" in captured.err
    assert "0 problems" not in captured.err and "valid" not in captured.out


def test_reports_folder_that_cannot_be_written_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: a NotADirectoryError traceback after the first tenant was predicted.
    root = fixtures_with(tmp_path, "domain-examples")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    reports = tmp_path / "a-file" / "reports"
    assert main(["run", "--no-suite", "--fixtures", str(root), "--reports", str(reports)]) == 2
    err = capsys.readouterr().err
    assert f"--reports {reports}: cannot be written (Not a directory)" in err


def test_a_real_target_file_is_validated_and_probed_before_any_test(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # With harness.target's own config and probe (contracts.md): a bad key is exit 2 naming
    # it; a target nothing answers for is exit 3 — both before pytest runs.
    pytest.importorskip("harness.target.config")
    pytest.importorskip("harness.target.probe")
    args = run_args(tmp_path, standin, "sample")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[target]\nname = "x"\ntime_scale = 1.0\nchanges_settings = false\ncolour = "red"\n'
        '[sip]\nproxy = "127.0.0.1:9"\ntransport = "udp"\n',
        encoding="utf-8",
    )
    assert main([*args, "--target", str(bad)]) == 2
    assert "colour" in capsys.readouterr().err
    silent = tmp_path / "silent.toml"
    silent.write_text(
        '[target]\nname = "silent"\ntime_scale = 1.0\nchanges_settings = false\n'
        '[sip]\nproxy = "127.0.0.1:9"\ntransport = "udp"\n',
        encoding="utf-8",
    )
    assert main([*args, "--target", str(silent)]) == 3
    assert "127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "reports" / "results.json").exists()
