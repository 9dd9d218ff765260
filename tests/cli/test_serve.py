"""``smartpbx-harness serve``: refuses what it must, prints what a person needs."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from harness.cli import EXIT_BAD_INPUT, main
from harness.pytest_plugin.sim import SAMPLE_GUIDE, SimulatorHandle, start_simulator


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com", "::"])
def test_non_loopback_host_is_refused(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--guide", str(SAMPLE_GUIDE), "--host", host]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "loopback only" in err and host in err


def test_missing_guide_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--guide", str(tmp_path / "none")]) == EXIT_BAD_INPUT
    assert f"{tmp_path / 'none'}: does not exist: give a tenant folder holding ご利用内容.yaml" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--http-port", "70000", "port out of range"),
        ("--smtp-port", "abc", "not a port number"),
        ("--time-scale", "0", "time scale must be > 0"),
        ("--time-scale", "fast", "not a time scale"),
        ("--time-scale", "inf", "time scale must be > 0 (and finite)"),
        ("--lockout-time", "inf", "must be > 0 seconds (and finite)"),
        ("--min-expires", "0", "must be 1–7200 seconds"),
        ("--min-expires", "1.5", "not a whole number of seconds"),
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


# --- issue 9 item 3: what a person needs, one database per serve, ports named ---------------


def _log_after_exit(handle: SimulatorHandle) -> str:
    """The whole output of a simulator that has exited (the log is complete then)."""
    assert handle.process.poll() is not None
    return handle.log.read_text(encoding="utf-8")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl+C", "SIGTERM"])
def test_banner_says_how_to_read_codes_and_stop_and_the_end_is_said(
    tmp_path: Path, sig: signal.Signals
) -> None:
    db = tmp_path / "kept.sqlite3"
    with start_simulator(SAMPLE_GUIDE, db=db, workdir=tmp_path) as handle:
        banner = handle.log.read_text(encoding="utf-8")
        # The hint is a command that works: the API wants its bearer token (issue 10.5).
        token_file = f"{db}.api-token"
        assert (
            "one-time codes          mailed to the SMTP sink; read them: curl -H "
            f'"Authorization: Bearer $(cat {token_file})" {handle.base_url}/api/mail'
        ) in banner
        assert f"Stop with Ctrl+C (or SIGTERM); the settings stay in {db}" in banner
        handle.kill(sig)
        assert handle.process.returncode == 0
        last = _log_after_exit(handle).splitlines()[-1]
    assert last == (
        f"Arcstar Smart PBX simulator stopped; the settings stay in {db} "
        f"(serve --db {db} continues with them)"
    )


def test_a_temporary_database_is_said_to_be_discarded(tmp_path: Path) -> None:
    with start_simulator(SAMPLE_GUIDE, workdir=tmp_path) as handle:
        handle.kill()
        text = _log_after_exit(handle)
    assert "Stop with Ctrl+C (or SIGTERM); its temporary database is discarded" in text
    assert text.splitlines()[-1].startswith("Arcstar Smart PBX simulator stopped; its temporary")


@pytest.mark.timeout(120)  # before the fix the second serve was accepted and ran on
def test_a_second_serve_on_the_same_db_is_refused_naming_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shared.sqlite3"
    with start_simulator(SAMPLE_GUIDE, db=db, workdir=tmp_path) as first:
        assert main(["serve", "--guide", str(SAMPLE_GUIDE), "--db", str(db)]) == EXIT_BAD_INPUT
        err = capsys.readouterr().err
        assert (
            f"--db {db}: is in use by another running serve (pid {first.process.pid}, lock "
            f"file {db}.lock): stop that one first (Ctrl+C in its terminal, or kill "
            f"{first.process.pid}), or give another --db file"
        ) in err
        # Another spelling of the same file is the same database.
        other = tmp_path / "." / "shared.sqlite3"
        assert main(["serve", "--guide", str(SAMPLE_GUIDE), "--db", str(other)]) == 2
        assert "is in use by another running serve" in capsys.readouterr().err
        assert first.health()["status"] == "ok"  # the first one is untouched


def test_the_lock_dies_with_its_process_even_by_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite3"
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    with start_simulator(SAMPLE_GUIDE, db=db, workdir=tmp_path / "first") as first:
        first.kill(signal.SIGKILL)
    assert (tmp_path / "killed.sqlite3.lock").exists()  # left behind, and harmless:
    with start_simulator(SAMPLE_GUIDE, db=db, workdir=tmp_path / "second") as second:
        assert second.health()["status"] == "ok"
        pid = (tmp_path / "killed.sqlite3.lock").read_text(encoding="ascii").strip()
        assert pid == str(second.process.pid)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a folder: give a new file name, or a file a previous serve"),
        (lambda p: None, "does not exist: create it"),
        (
            lambda p: p.write_text("root:x:0:0\n", encoding="utf-8"),
            "is not an SQLite database, so it is left untouched",
        ),
        (
            lambda p: sqlite3.connect(p).execute("CREATE TABLE moz_places (url)").close(),
            "is the SQLite database of another program",
        ),
    ],
    ids=["a folder", "no such folder", "a text file", "another program's database"],
)
@pytest.mark.timeout(60)  # before the fix another program's database was served
def test_a_db_that_is_no_simulator_database_is_refused_untouched(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], object],
    message: str,
) -> None:
    db = tmp_path / "db"
    make(db)
    target = db / "x.sqlite3" if message.startswith("does not exist") else db
    before = sorted(tmp_path.rglob("*"))
    contents = target.read_bytes() if target.is_file() else None
    assert main(["serve", "--guide", str(SAMPLE_GUIDE), "--db", str(target)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"--db {target}: " in err and message in err and "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before  # no lock file, no -wal, nothing created
    assert (target.read_bytes() if target.is_file() else None) == contents


@contextmanager
def _taken_port(kind: socket.SocketKind) -> Iterator[int]:
    """A loopback port held by another socket (TCP: listening) for the block."""
    with socket.socket(socket.AF_INET, kind) as holder:
        holder.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize(
    ("option", "kind"),
    [
        ("--http-port", socket.SOCK_STREAM),
        ("--smtp-port", socket.SOCK_STREAM),
        ("--sip-port", socket.SOCK_STREAM),
        ("--sip-port", socket.SOCK_DGRAM),
        ("--pstn-port", socket.SOCK_STREAM),
        ("--pstn-port", socket.SOCK_DGRAM),
    ],
    ids=["http", "smtp", "sip-tcp", "sip-udp", "pstn-tcp", "pstn-udp"],
)
def test_a_port_in_use_is_exit_2_naming_the_option_and_port(
    option: str, kind: socket.SocketKind, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: exit 2 for HTTP/SMTP (the HTTP message without the port), exit 3 for SIP/PSTN.
    protocol = "TCP" if kind == socket.SOCK_STREAM else "UDP"
    with _taken_port(kind) as port:
        code = main(["serve", "--guide", str(SAMPLE_GUIDE), option, str(port)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert (
        f"{option} {port}: is in use: another program listens on {protocol} 127.0.0.1:{port}; "
        "choose another or 0 for a free one"
    ) in err


def test_one_port_for_two_listeners_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["--sip-port", str(port), "--pstn-port", str(port)]
    assert main(["serve", "--guide", str(SAMPLE_GUIDE), *args]) == EXIT_BAD_INPUT
    assert (
        f"--pstn-port {port}: is also given as --sip-port: each listener needs its own port"
    ) in capsys.readouterr().err


def test_post_tenant_with_an_alias_bomb_is_refused_and_serving_goes_on(tmp_path: Path) -> None:
    # Issue 10 item 4 (b): a 697-byte bomb through POST /api/tenant froze SIP and HTTP for 29 s.
    from tests.guide.test_bounded_input import alias_bomb

    bomb = tmp_path / "bomb"
    bomb.mkdir()
    (bomb / "ご利用内容.yaml").write_text(alias_bomb(), encoding="utf-8")
    with start_simulator(SAMPLE_GUIDE, workdir=tmp_path) as handle:
        response = handle.client.post("/api/tenant", json={"path": str(bomb)}, timeout=20)
        assert response.status_code == 422
        assert "uses a YAML alias (*name)" in response.text
        assert handle.api("GET", "/api/tenant")["admin_login_id"] == "adm01234abc"  # unchanged


@pytest.mark.timeout(60)  # before: exit 3, and in-process the started web site kept running
def test_a_port_taken_after_the_check_is_still_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import harness.cli.serve

    # The port is free when checked, taken by the time the SIP side binds it.
    monkeypatch.setattr(harness.cli.serve, "check_ports", lambda host, ports: None)
    with _taken_port(socket.SOCK_DGRAM) as port:
        code = main(["serve", "--guide", str(SAMPLE_GUIDE), "--sip-port", str(port)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert (
        f"--http-port/--smtp-port/--sip-port/--pstn-port: cannot listen: cannot bind UDP "
        f"127.0.0.1:{port}: "
    ) in err
    assert err.rstrip().endswith("; choose another or 0 for a free one")
