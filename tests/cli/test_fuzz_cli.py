"""``smartpbx-harness fuzz``: bad input is exit 2 with the reason; a short embedded run is
exit 0 with the summary (examples, per second, failures, the seed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

TARGETS = Path(__file__).resolve().parents[2] / "targets"


def test_a_target_that_may_not_change_settings_is_refused_with_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SMARTPBX_MAIL_TOKEN", "x")
    code = main(
        ["fuzz", "--target", str(TARGETS / "deployment.example.toml"), "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "fuzzing replaces the tenant's settings" in err
    assert "provisioning_api" in err and "changes_settings" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--target", "no-such.toml"], "does not exist"),
        (["--guide", "no-such-folder"], "no-such-folder"),
    ],
)
def test_bad_options_are_exit_2_naming_the_problem(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["fuzz", *args, "--out", str(tmp_path)])
    assert code == 2
    assert expected in capsys.readouterr().err


@pytest.mark.slow
def test_a_short_embedded_run_agrees_and_prints_the_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["fuzz", "--examples", "3", "--seed", "7", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "examples run: 3" in out and "/s)" in out
    assert "failing runs: 0 (counterexample: none)" in out
    assert "reproduce: --seed=7" in out
    assert not (tmp_path / "out" / "counterexample").exists()
