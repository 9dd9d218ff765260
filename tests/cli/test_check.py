"""``smartpbx-harness check``: summary lines and exit 0 for valid tenants, every problem and
exit 2 for invalid ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容"
SAMPLE = FIXTURES / "sample"


def test_valid_tenant_prints_summary_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("sample: ok — 2 extensions (1 site), ")
    assert "1 external line," in out
    assert err == ""


def test_every_sample_tenant_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    tenants = sorted(p for p in FIXTURES.iterdir() if (p / "ご利用内容.yaml").exists())
    assert len(tenants) >= 3
    assert main(["check", *map(str, tenants)]) == 0
    out, _ = capsys.readouterr()
    assert len(out.splitlines()) == len(tenants)


def test_invalid_tenant_prints_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    text = (SAMPLE / "ご利用内容.yaml").read_text(encoding="utf-8")
    text = text.replace(
        '端末番号: "201", 端末ID: abcde20201', '端末番号: "201", 端末ID: abcde20200'
    )
    text = text.replace("ccccddd2", "short")
    (bad / "ご利用内容.yaml").write_text(text, encoding="utf-8")
    assert main(["check", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "2 problems" in err
    assert "ご利用内容.yaml › 内線番号情報1 › row 2 (No: 2) › 端末ID" in err
    assert "ご利用内容.yaml › 内線番号情報2 › row 2 (No: 2) › パスワード" in err
    assert "Traceback" not in err


def test_mixed_folders_report_both_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "empty"
    missing.mkdir()
    assert main(["check", str(SAMPLE), str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("sample: ok")
    assert "ご利用内容.yaml: file not found" in err


def test_check_needs_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check"])
    assert exit_info.value.code == 2
    assert "DIR" in capsys.readouterr().err


def test_missing_path_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nope'}: does not exist: give a tenant folder holding" in err


@pytest.mark.timeout(30)  # before the fix: a FIFO hung check, /dev/zero read to MemoryError
def test_fifo_and_device_are_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo, device = tmp_path / "fifo", tmp_path / "device"
    fifo.mkdir()
    os.mkfifo(fifo / "ご利用内容.yaml")
    device.mkdir()
    (device / "ご利用内容.yaml").symlink_to("/dev/zero")
    assert main(["check", str(fifo), str(device)]) == 2
    err = capsys.readouterr().err
    assert "is a named pipe (FIFO) (after following symbolic links)" in err
    assert "is a device (after following symbolic links)" in err
    assert "Traceback" not in err


@pytest.mark.timeout(60)  # before the fix: past 60 s and 4.9 GiB
def test_alias_bomb_is_exit_2_naming_file_and_line(tmp_path: Path) -> None:
    from tests.guide.test_bounded_input import alias_bomb

    (tmp_path / "ご利用内容.yaml").write_text(alias_bomb(), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 2
    assert "ご利用内容.yaml (line 1): uses a YAML alias (*name)" in result.stderr
    assert "Traceback" not in result.stderr


def test_folder_name_that_is_not_utf8_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: a pydantic ValidationError traceback (the folder's name is the tenant's name).
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff")
    shutil.copytree(SAMPLE, folder)
    assert main(["check", folder]) == 2
    err = capsys.readouterr().err
    assert "the folder's name is not UTF-8 text: rename it" in err and "Traceback" not in err
