"""``smartpbx-harness mutation`` on a stand-in suite (the real one runs in
tests/suite/test_mutation_live.py): the baseline gate, caught / missed / broken, the JSON
contract, -j, the exit codes and the refusals of bad input.

The stand-in reads the fault each run gives every ``serve`` (``--suite-serve-arg``) and
deviates the way its name says: ``caught-…`` fails a check, ``missed-…`` conforms, ``broken-…``
crashes (a harness defect, never a catch); ``STANDIN_BASELINE=deviate`` fails the fault-free
run too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.suite import mutation
from harness.suite.mutation import Fault, parse_fault_list, select_faults
from tests.cli.test_run_cli import STANDIN_CONFTEST

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "sample"

STANDIN_TESTS = """
import os

from harness.errors import ConformanceFailure

def fault(config):
    args = config.getoption("--suite-serve-arg")
    return next((a.split("=", 1)[1] for a in args if a.startswith("--fault=")), "")

def test_admin_login(tenant):
    pass

def test_ring_group(tenant, request):
    name = fault(request.config)
    if name.startswith("caught") or os.environ.get("STANDIN_BASELINE") == "deviate":
        raise ConformanceFailure(f"20201 never rang ({name or 'no fault'})")
    if name.startswith("broken"):
        raise RuntimeError("the phone factory crashed")
"""

FAULTS = (
    Fault(name="caught-order", description="a sequential group rings out of order"),
    Fault(name="missed-late", description="a group's 呼出時間 off by 2 s"),
    Fault(name="caught-pilot", description="the pilot rings as a member"),
    Fault(name="broken-crash", description="the stand-in crashes"),
)


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    suite = tmp_path / "standin"
    suite.mkdir()
    (suite / "conftest.py").write_text(STANDIN_CONFTEST, encoding="utf-8")
    (suite / "test_standin.py").write_text(STANDIN_TESTS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(mutation, "list_faults", lambda: FAULTS)
    return suite


def args(tmp_path: Path, suite: Path, *faults: str) -> list[str]:
    named = [a for f in faults for a in ("--fault", f)]
    return ["mutation", "--suite", str(suite), "--guide", str(SAMPLE), "--reports",
            str(tmp_path / "reports"), *named]  # fmt: skip


@pytest.mark.slow
def test_every_fault_caught_exits_0_with_the_json_contract(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*args(tmp_path, standin, "caught-order", "caught-pilot"), "--json", "-j", "2"])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert set(report) == {"faults", "caught", "total", "kill_rate"}
    assert (report["caught"], report["total"], report["kill_rate"]) == (2, 2, 1.0)
    assert [f["name"] for f in report["faults"]] == ["caught-order", "caught-pilot"]
    for entry in report["faults"]:
        assert set(entry) == {"name", "description", "caught", "by", "seconds"}
        assert entry["caught"] is True
        assert entry["by"] == ["sample/ring-group"]
        assert entry["seconds"] > 0
    assert report["faults"][0]["description"] == "a sequential group rings out of order"
    assert "baseline: green" in out.err and "[2/2]" in out.err
    assert (tmp_path / "reports" / "caught-pilot" / "results.json").is_file()


@pytest.mark.slow
def test_a_missed_fault_exits_1_and_the_table_names_what_caught_the_others(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(args(tmp_path, standin, "missed-late", "caught-order"))
    out = capsys.readouterr().out
    assert code == 1
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["missed-late"][1:3] == ["missed", "—"]
    assert rows["caught-order"][1:3] == ["caught", "sample/ring-group"]
    assert "1/2 caught (kill rate 50%)" in out


@pytest.mark.slow
def test_a_broken_fault_run_is_not_a_catch_and_exits_3(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*args(tmp_path, standin, "broken-crash"), "--json"])
    out = capsys.readouterr()
    assert code == 3
    report = json.loads(out.out)
    assert report["faults"][0]["caught"] is False and report["faults"][0]["by"] == []
    assert "broken-crash: broken" in out.err and "phone factory crashed" in out.err


@pytest.mark.slow
def test_a_baseline_that_is_not_green_stops_before_any_fault_and_exits_1(
    tmp_path: Path,
    standin: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STANDIN_BASELINE", "deviate")
    code = main(args(tmp_path, standin, "caught-order"))
    err = capsys.readouterr().err
    assert code == 1
    assert "baseline (the fault-free simulator) is not green" in err
    assert "failed sample/ring-group: " in err and "20201 never rang (no fault)" in err
    assert not (tmp_path / "reports" / "caught-order").exists()


def test_an_unknown_fault_is_refused_naming_the_valid_ones(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args(tmp_path, standin, "no-such-fault")) == 2
    err = capsys.readouterr().err
    assert "--fault no-such-fault" in err and "caught-order, caught-pilot" in err
    assert not (tmp_path / "reports" / "baseline").exists()


def test_a_fault_named_twice_is_refused() -> None:
    with pytest.raises(Exception, match="given twice"):
        select_faults(FAULTS, ["caught-order", "caught-order"])


@pytest.mark.parametrize(
    ("option", "value"), [("-j", "0"), ("-j", "two"), ("--time-scale", "0"), ("--time-scale", "x")]
)
def test_bad_options_exit_2_saying_what_to_give(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["mutation", option, value])
    assert stopped.value.code == 2
    assert "give a positive number" in capsys.readouterr().err


def test_a_broken_tenant_folder_is_refused_before_any_run(
    tmp_path: Path, standin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = SAMPLE.parents[0] / "broken" / "pilot-missing"
    assert main(["mutation", "--suite", str(standin), "--guide", str(broken)]) == 2
    assert "pilot-missing" in capsys.readouterr().err


def test_the_fault_list_is_read_line_by_line_whatever_the_separator() -> None:
    text = (
        "Faults (serve --fault NAME):\n"
        "  sequential-out-of-order  a sequential group rings out of order\n"
        "group-ring-time-off: 呼出時間 off by 2 s\n"
        "\n"
        "pilot_rings — the pilot rings as a member\n"
    )
    assert parse_fault_list(text) == (
        Fault(name="sequential-out-of-order", description="a sequential group rings out of order"),
        Fault(name="group-ring-time-off", description="呼出時間 off by 2 s"),
        Fault(name="pilot_rings", description="the pilot rings as a member"),
    )
