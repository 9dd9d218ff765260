"""Fixtures for the embedded simulator, run as a real subprocess (``smartpbx-harness serve``).

- ``simulator`` (session scope): one simulator on free loopback ports for the whole session (one
  per xdist worker), killed at the end. Options: ``--sim-guide DIR`` (tenant folder, default the
  manual's sample), ``--sim-time-scale X`` (default 0.01).
- ``sim`` (function scope): the same simulator, reset (``POST /api/reset``) before the test.
- ``start_simulator(...)``: a context manager for tests that need their own process (restart,
  ``kill -9``).

Tests reach the simulator only through its public surfaces: HTTP pages, the provisioning API
(``SimulatorHandle.api``), the SMTP sink's messages (``mail()``), and SIP.

The provisioning API needs ``serve``'s bearer token: the handle reads it from the file the ready
file names (``api_token_file``, mode 0600) — never from a command line other users can see — and
its ``client`` sends it with every request (``api_token`` holds it for tests that need it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.errors import HarnessError

SAMPLE_GUIDE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "sample"
START_TIMEOUT = 30.0


@dataclass
class SimulatorHandle:
    """A running simulator subprocess and a small client of its provisioning API."""

    base_url: str
    http_port: int
    smtp_port: int
    sip_port: int | None
    db: Path
    process: subprocess.Popen[bytes]
    log: Path
    client: httpx.Client = field(repr=False)
    guide: Path = SAMPLE_GUIDE
    pstn_port: int | None = None
    """The carrier side's SIP port, where external numbers register."""
    api_token: str = field(default="", repr=False)
    """The provisioning API's bearer token (``client`` already sends it)."""

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the provisioning API; a non-2xx answer raises HarnessError with its message."""
        response = self.client.request(method, path, json=body)
        if response.status_code >= 300:
            raise HarnessError(f"{method} {path} → {response.status_code}: {response.text[:2000]}")
        return response.json()

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.api("GET", "/api/health")
        return result

    def load_tenant(self, path: str | Path) -> dict[str, Any]:
        result: dict[str, Any] = self.api("POST", "/api/tenant", {"path": str(path)})
        return result

    def reset(self) -> None:
        self.api("POST", "/api/reset")

    def settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self.api("GET", "/api/settings")
        return result

    def put_settings(self, document: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.api("PUT", "/api/settings", document)
        return result

    def set_line_live(self, external_number: str, live: bool) -> None:
        self.api("PUT", f"/api/lines/{external_number}", {"line_live": live})

    def set_mfa(self, enabled: bool) -> None:
        self.api("PUT", "/api/mfa", {"enabled": enabled})

    def mail(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("GET", "/api/mail")
        return result

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Stop the process (SIGTERM: graceful; SIGKILL: ``kill -9``) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.client.close()


def _serve_command(
    guide: Path, *, ready: Path, time_scale: float, db: Path | None, extra: Sequence[str]
) -> list[str]:
    command = [
        sys.executable, "-m", "harness.cli", "serve", "--guide", str(guide),
        "--host", "127.0.0.1", "--time-scale", str(time_scale), "--ready-file", str(ready),
    ]  # fmt: skip
    if db is not None:
        command += ["--db", str(db)]
    return command + list(extra)


@contextmanager
def start_simulator(
    guide: Path = SAMPLE_GUIDE,
    *,
    time_scale: float = 0.01,
    db: Path | None = None,
    extra_args: Sequence[str] = (),
    workdir: Path | None = None,
) -> Iterator[SimulatorHandle]:
    """Start ``python -m harness.cli serve`` on free ports; wait until ready; stop at the end."""
    with tempfile.TemporaryDirectory(prefix="smartpbx-sim-run-") as scratch:
        folder = workdir or Path(scratch)
        ready = folder / "ready.json"
        ready.unlink(missing_ok=True)
        log = folder / "serve.log"
        command = _serve_command(guide, ready=ready, time_scale=time_scale, db=db, extra=extra_args)
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 (our own CLI)
                command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ}
            )
        handle: SimulatorHandle | None = None
        try:
            info = _wait_ready(process, ready, log)
            token = _read_token(Path(info["api_token_file"]))
            handle = SimulatorHandle(
                base_url=info["base_url"],
                http_port=info["http"],
                smtp_port=info["smtp"],
                sip_port=info["sip"],
                db=Path(info["db"]),
                process=process,
                log=log,
                client=httpx.Client(
                    base_url=info["base_url"],
                    timeout=30,
                    headers={"Authorization": f"Bearer {token}"},
                ),
                guide=guide.resolve(),
                pstn_port=info.get("pstn"),
                api_token=token,
            )
            yield handle
        finally:
            if handle is not None:
                handle.kill()
            elif process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _read_token(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise HarnessError(f"cannot read the simulator's API token file {path}: {error}") from error


def _wait_ready(process: subprocess.Popen[bytes], ready: Path, log: Path) -> dict[str, Any]:
    """Wait (polling, bounded) for the ready file the serve command writes atomically."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ready.exists():
            info: dict[str, Any] = json.loads(ready.read_text(encoding="utf-8"))
            return info
        if process.poll() is not None:
            raise HarnessError(
                f"the simulator exited with {process.returncode} before it was ready:\n"
                + log.read_text(encoding="utf-8", errors="replace")[-4000:]
            )
        time.sleep(0.02)
    process.kill()
    raise HarnessError(f"the simulator was not ready within {START_TIMEOUT} s; see {log}")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smartpbx-sim", "embedded Smart PBX simulator")
    group.addoption(
        "--sim-guide",
        default=str(SAMPLE_GUIDE),
        help="tenant folder the session's simulator loads (default: the manual's sample)",
    )
    group.addoption(
        "--sim-time-scale",
        type=float,
        default=0.01,
        help="real seconds per simulated second of the simulator (default 0.01)",
    )


@pytest.fixture(scope="session")
def simulator(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulatorHandle]:
    """One simulator subprocess for the session (per xdist worker)."""
    guide = Path(str(request.config.getoption("--sim-guide")))
    scale = float(request.config.getoption("--sim-time-scale"))
    with start_simulator(
        guide, time_scale=scale, workdir=tmp_path_factory.mktemp("simulator")
    ) as handle:
        handle.guide = guide.resolve()
        yield handle


@pytest.fixture
def sim(simulator: SimulatorHandle) -> SimulatorHandle:
    """The session's simulator, back to the session's tenant and its settings before the test.

    A test that loaded another tenant gets the session's one reloaded; otherwise a reset.
    """
    if simulator.api("GET", "/api/tenant")["path"] != str(simulator.guide):
        simulator.load_tenant(simulator.guide)
    else:
        simulator.reset()
    return simulator
