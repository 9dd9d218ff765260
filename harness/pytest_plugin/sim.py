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

import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.errors import HarnessError
from harness.target.embedded import start_embedded, stop_process
from harness.target.model import Target

SAMPLE_GUIDE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "sample"


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
    target: Target | None = field(default=None, repr=False)
    """The embedded target this process is (harness.target: SIP, carrier, web, mail, API)."""

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
        stop_process(self.process, sig)
        self.client.close()


@contextmanager
def start_simulator(
    guide: Path = SAMPLE_GUIDE,
    *,
    time_scale: float = 0.01,
    db: Path | None = None,
    extra_args: Sequence[str] = (),
    workdir: Path | None = None,
) -> Iterator[SimulatorHandle]:
    """Start ``python -m harness.cli serve`` on free ports; wait until ready; stop at the end.

    A thin layer over :func:`harness.target.embedded.start_embedded` (the embedded target)
    for the project's own tests: the same process, with a raw JSON client.
    """
    with start_embedded(
        guide, time_scale=time_scale, db=db, extra_args=extra_args, workdir=workdir
    ) as embedded:
        ready = embedded.ready
        token = embedded.api_token
        handle = SimulatorHandle(
            base_url=str(ready["base_url"]),
            http_port=_port(ready, "http"),
            smtp_port=_port(ready, "smtp"),
            sip_port=embedded.target.sip.port,
            db=embedded.db,
            process=embedded.process,
            log=embedded.log,
            client=httpx.Client(
                base_url=str(ready["base_url"]),
                timeout=30,
                headers={"Authorization": f"Bearer {token}"},
            ),
            guide=guide.resolve(),
            pstn_port=embedded.target.carrier.port if embedded.target.carrier else None,
            api_token=token,
            target=embedded.target,
        )
        try:
            yield handle
        finally:
            handle.kill()


def _port(ready: dict[str, object], key: str) -> int:
    value = ready.get(key)
    if not isinstance(value, int):
        raise HarnessError(f"serve's ready file has no port {key!r} (found {value!r})")
    return value


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
    return restore_session_tenant(simulator)


def restore_session_tenant(simulator: SimulatorHandle) -> SimulatorHandle:
    """The session's tenant and its settings back: reloaded when a test loaded another
    tenant, otherwise a reset (sessions ended, mail and lockouts cleared)."""
    if simulator.api("GET", "/api/tenant")["path"] != str(simulator.guide):
        simulator.load_tenant(simulator.guide)
    else:
        simulator.reset()
    return simulator
