"""``smartpbx-harness serve``: refuses what it must, prints what a person needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.cli import EXIT_BAD_INPUT, main
from harness.pytest_plugin.sim import SAMPLE_GUIDE, start_simulator


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com", "::"])
def test_non_loopback_host_is_refused(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--guide", str(SAMPLE_GUIDE), "--host", host]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "loopback only" in err and host in err


def test_missing_guide_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--guide", str(tmp_path / "none")]) == EXIT_BAD_INPUT
    assert "ご利用内容.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--http-port", "70000", "port out of range"),
        ("--smtp-port", "abc", "not a port number"),
        ("--time-scale", "0", "time scale must be > 0"),
        ("--time-scale", "fast", "not a number"),
    ],
)
def test_bad_options_are_explained(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--guide", str(SAMPLE_GUIDE), option, value])
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_help_names_the_sip_ports() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = " ".join(result.stdout.split())  # argparse wraps the help lines
    assert "--sip-port N SIP port of the tenant (registrar/PBX" in text
    assert "--pstn-port P SIP port of the carrier side, where external numbers register" in text


def test_serve_prints_urls_and_credentials_and_serves(tmp_path: Path) -> None:
    with start_simulator(SAMPLE_GUIDE, workdir=tmp_path) as handle:
        banner = handle.log.read_text(encoding="utf-8")
        for expected in (
            f"{handle.base_url}/b-portal/login",
            f"{handle.base_url}/SmartPBX/Login",
            "01234abc.smart-pbx.jp",
            "adm01234abc",
            "Adm1nPass01",
            "aaaabbbb",
            "abcde20200",
            "READY {",
        ):
            assert expected in banner
        page = httpx.get(f"{handle.base_url}/SmartPBX/Login")
        assert "Arcstar Smart PBX Web設定変更サイト" in page.text
    assert handle.process.returncode == 0  # SIGTERM stops it cleanly


def test_db_of_another_tenant_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.sim.documents import read_tenant
    from harness.sim.store import Store

    db = tmp_path / "other.sqlite3"
    store = Store(db)
    rich = Path(__file__).resolve().parents[1] / "sim" / "tenants" / "rich"
    store.load_tenant(read_tenant(rich), source_path=str(rich))
    store.close()
    assert main(["serve", "--guide", str(SAMPLE_GUIDE), "--db", str(db)]) == EXIT_BAD_INPUT
    assert "holds the settings of tenant 'rich'" in capsys.readouterr().err


def test_unwritable_ready_file_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "harness.cli", "serve", "--guide", str(SAMPLE_GUIDE),
            "--ready-file", str(tmp_path / "missing-dir" / "ready.json"),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--ready-file: cannot be written" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("no_such_thing=1", "unknown parameter; valid names: "),
        ("forward_fallback=maybe", "must be one of none, voicemail"),
        ("reach_end_from=later", "must be one of arrival, last_leg_start"),
        ("sequential_rounds=0", "must be a whole number ≥ 1"),
        ("group_ring_time=soon", "must be a number of seconds"),
        ("unanswered_ring_limit=-3", "must be a finite number of seconds ≥ 0"),
        ("simultaneous_empty_ends_at_once=perhaps", "must be true or false"),
        ("pickup_code=", "must not be empty"),
        ("member_ring_time", "must be NAME=VALUE"),
    ],
)
def test_bad_param_is_explained(
    param: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--guide", str(SAMPLE_GUIDE), "--param", param]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "PBX parameters" in err and message in err, err
    if "unknown" in message:  # the valid names are listed
        assert "forward_fallback" in err and "internal_caller_id" in err


def test_every_bad_param_is_reported_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--param", "sequential_rounds=x", "--param", "bogus=1", "--param", "pickup_code=*9"]
    assert main(["serve", "--guide", str(SAMPLE_GUIDE), *args]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--param sequential_rounds" in err and "--param bogus" in err
    assert "--param pickup_code" not in err
