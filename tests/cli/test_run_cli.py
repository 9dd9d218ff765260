"""``smartpbx-harness run``: the interim main job over a fixtures folder."""

from __future__ import annotations

import json
import shutil
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
    assert main(["run", "--fixtures", str(root), "--reports", str(reports)]) == 0
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
    assert main(["run", "--fixtures", str(root), "--reports", str(tmp_path / "r")]) == 2
    captured = capsys.readouterr()
    assert "zz-bad.yaml › call › to: must be a quoted string" in captured.err
    assert "sample" in captured.err and "ご利用内容.yaml" in captured.err
    assert "3 timelines predicted" in captured.out  # the valid ones still ran


def test_run_help_says_it_is_the_interim_job(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "INTERIM" in capsys.readouterr().out


def test_run_over_the_committed_fixtures_predicts_every_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenarios = sorted(FIXTURES.glob("*/scenarios/*.yaml"))
    assert main(["run", "--fixtures", str(FIXTURES), "--reports", str(tmp_path)]) == 0
    assert f"{len(scenarios)} timelines predicted" in capsys.readouterr().out
    written = sorted((tmp_path / "timelines").glob("*/*.json"))
    assert [(p.parent.name, p.stem) for p in written] == [
        (p.parent.parent.name, p.stem) for p in scenarios
    ]
