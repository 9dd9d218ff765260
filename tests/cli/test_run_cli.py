"""``smartpbx-harness run``: predictions over a fixtures folder, and the suite with its reports."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main

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
    assert "3 timelines predicted" in out
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


def test_run_reports_invalid_tenants_and_scenarios_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = fixtures_with(tmp_path, "domain-examples", "sample")
    (root / "sample" / "ご利用内容.yaml").write_text("お客様情報: {}\n", encoding="utf-8")
    bad = root / "domain-examples" / "scenarios" / "zz-bad.yaml"
    bad.write_text('call: {from: "20205", to: 20200}\n', encoding="utf-8")
    assert (
        main(["run", "--no-suite", "--fixtures", str(root), "--reports", str(tmp_path / "r")]) == 2
    )
    captured = capsys.readouterr()
    assert "zz-bad.yaml › call › to: must be a quoted string" in captured.err
    assert "sample" in captured.err and "ご利用内容.yaml" in captured.err
    assert "3 timelines predicted" in captured.out  # the valid ones still ran


def test_run_help_names_its_reports(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "compliance.md" in out and "allure-report/index.html" in out and "not covered" in out


SUITE = """
import pytest

@pytest.mark.manual_step("P2-S1-1")
def test_portal_login():
    assert True

@pytest.mark.manual_step("P2-S1-3")
def test_admin_login():
    assert "ログイン" == "ログアウト"

@pytest.mark.manual_step("P2-S1-4")
@pytest.mark.peers
def test_against_kamailio_is_not_part_of_the_conformance_run():
    raise AssertionError("must be deselected")

def test_without_a_step_is_not_part_of_the_conformance_run():
    raise AssertionError("must be deselected")
"""


def test_run_executes_the_suite_and_writes_matrix_junit_and_allure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES.parents[1])  # the project folder: node_modules, allurerc.mjs
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_steps.py").write_text(SUITE, encoding="utf-8")
    (suite / "pytest.ini").write_text("[pytest]\nmarkers =\n    peers: x\n", encoding="utf-8")
    root = fixtures_with(tmp_path, "domain-examples")
    reports = tmp_path / "reports"
    code = main(["run", "--fixtures", str(root), "--reports", str(reports), "--suite", str(suite)])
    assert code == 1  # one conformance test failed
    matrix = json.loads((reports / "compliance.json").read_text(encoding="utf-8"))
    verdicts = {s["id"]: s["verdict"] for s in matrix["steps"]}
    assert (verdicts["P2-S1-1"], verdicts["P2-S1-3"], verdicts["P2-S1-4"]) == (
        "pass",
        "fail",
        "not covered",
    )
    junit = (reports / "junit.xml").read_text(encoding="utf-8")
    assert 'tests="2"' in junit and 'failures="1"' in junit
    index = reports / "allure-report" / "index.html"
    assert index.stat().st_size > 100_000  # the single-file report embeds its app and data
    assert list((reports / "allure-results").glob("*-result.json"))
    out = capsys.readouterr().out
    assert "compliance matrix (fail: 1, n/a: 10, not covered:" in out
    assert str(index) in out


def test_run_refuses_a_missing_suite_folder(tmp_path: Path) -> None:
    root = fixtures_with(tmp_path, "domain-examples")
    args = ["run", "--fixtures", str(root), "--reports", str(tmp_path / "r")]
    assert main([*args, "--suite", str(tmp_path / "nope")]) == 2


def test_run_over_the_committed_fixtures_predicts_every_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenarios = sorted(FIXTURES.glob("*/scenarios/*.yaml"))
    assert main(["run", "--no-suite", "--fixtures", str(FIXTURES), "--reports", str(tmp_path)]) == 0
    assert f"{len(scenarios)} timelines predicted" in capsys.readouterr().out
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
    assert "0 problems" not in captured.err and "timelines predicted" not in captured.out


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
