"""``smartpbx-harness predict``: table, JSON contract, and bad input refused with exit 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cli import main

EXAMPLES = Path(__file__).parents[2] / "fixtures" / "ご利用内容" / "domain-examples"
FORWARD = EXAMPLES / "scenarios" / "no-answer-forward.yaml"


def test_predict_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "--guide", str(EXAMPLES), "--scenario", str(FORWARD)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["t", "(s)", "event", "endpoint", "caller", "ID"]
    assert [line.split() for line in lines[2:]] == [
        ["0", "ring", "20203", "20205"],
        ["15", "stop", "20203"],
        ["15", "ring", "09011112222", "0312345678"],
        ["19", "answer", "09011112222"],
        ["outcome:", "answered", "(answered", "by", "09011112222)"],
    ]


def test_predict_json_is_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["predict", "--guide", str(EXAMPLES), "--scenario", str(FORWARD), "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == {
        "events": [
            {"t": 0, "kind": "ring", "endpoint": "20203", "caller_id": "20205"},
            {"t": 15, "kind": "stop", "endpoint": "20203"},
            {"t": 15, "kind": "ring", "endpoint": "09011112222", "caller_id": "0312345678"},
            {"t": 19, "kind": "answer", "endpoint": "09011112222"},
        ],
        "outcome": "answered",
        "answered_by": "09011112222",
    }


def test_predict_param_changes_the_prediction(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = EXAMPLES / "scenarios" / "sequential-nobody-answers.yaml"
    args = ["predict", "--guide", str(EXAMPLES), "--scenario", str(scenario), "--json"]
    assert main([*args, "--param", "member_ring_time=10"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["t"] for e in events if e["kind"] == "ring"] == [0, 10, 20]


def refusal(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    return captured.err


def test_unknown_param_lists_the_valid_names(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["predict", "--guide", str(EXAMPLES), "--scenario", str(FORWARD), "--param", "T=5"]
    err = refusal(capsys, args)
    assert "--param T: unknown parameter; valid names: " in err
    assert "member_ring_time" in err and "forward_hop_limit" in err


def test_bad_param_value_and_form(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["predict", "--guide", str(EXAMPLES), "--scenario", str(FORWARD)]
    err = refusal(capsys, [*base, "--param", "forward_hop_limit=many", "--param", "oops"])
    assert "--param oops: must be NAME=VALUE" in err


def test_bad_scenario_is_refused_with_where_and_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('call: {from: "20205", to: "20203"}\nendpoints: {"20299": {state: gone}}\n')
    err = refusal(capsys, ["predict", "--guide", str(EXAMPLES), "--scenario", str(bad)])
    assert "bad.yaml › endpoints › 20299 › state: must be one of registered" in err


def test_scenario_naming_an_unknown_extension_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text('call: {from: "20295", to: "20203"}\n')
    err = refusal(capsys, ["predict", "--guide", str(EXAMPLES), "--scenario", str(bad)])
    assert "typo.yaml › call › from: must be an extension of tenant domain-examples" in err


def test_missing_guide_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refusal(
        capsys, ["predict", "--guide", str(tmp_path / "nope"), "--scenario", str(FORWARD)]
    )
    assert "nope" in err


def test_enum_and_boolean_params_and_a_rejecting_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """20203 forwards on 無応答 to 09011112222, which rings and rejects after 2 s: busy by
    default; with forward_fallback=voicemail, 20203's voicemail (docs/model.md)."""
    scenario = tmp_path / "reject.yaml"
    scenario.write_text(
        'call: {from: "20205", to: "20203"}\nendpoints:\n  "09011112222": {reject_after: 2}\n',
        encoding="utf-8",
    )
    args = ["predict", "--guide", str(EXAMPLES), "--scenario", str(scenario), "--json"]
    assert main(args) == 0
    default = json.loads(capsys.readouterr().out)
    assert default["outcome"] == "busy" and default["events"][-1]["t"] == 17
    assert main([*args, "--param", "forward_fallback=voicemail"]) == 0
    fallback = json.loads(capsys.readouterr().out)
    assert fallback["events"][-1] == {"t": 17, "kind": "voicemail", "endpoint": "20203"}
    assert (
        main([*args, "--param", "reach_rings_extension=false", "--param", "withhold_prefix=none"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == default  # neither applies to this call


def test_scenario_that_is_not_utf8_is_refused_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 9 item 4: a Shift_JIS scenario was a UnicodeDecodeError traceback and exit 1.
    scenario = tmp_path / "sjis.yaml"
    text = 'description: 無応答\ncall: {from: "20205", to: "20203"}\n'
    scenario.write_bytes(text.encode("cp932"))
    err = refusal(capsys, ["predict", "--guide", str(EXAMPLES), "--scenario", str(scenario)])
    assert "sjis.yaml: is not UTF-8 text (byte 13): save the file as UTF-8" in err


@pytest.mark.timeout(30)  # a FIFO without a writer would block the read forever
def test_scenario_that_is_a_fifo_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    err = refusal(
        capsys, ["predict", "--guide", str(EXAMPLES), "--scenario", str(tmp_path / "pipe.yaml")]
    )
    assert "pipe.yaml: must be a regular file, but " in err and "named pipe (FIFO)" in err
