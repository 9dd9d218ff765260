"""The embedded target: ``smartpbx-harness serve`` started as a *process* on free loopback
ports for one tenant, reached only through its public surfaces (SIP, carrier port, web pages,
``/api/*``) exactly like a remote deployment, and stopped afterwards. Never imports
``harness.sim`` (DESIGN.md hard rule 3).

``serve`` writes a ready file (atomically) naming its ports and the path of its API token file
(mode 0600: the token never appears on a command line other users can see); the start waits
for it, polling, for at most ``START_TIMEOUT`` seconds, and when ``serve`` dies first the
``HarnessError`` carries the tail of its log.
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
from typing import TypeVar

from harness.errors import HarnessError
from harness.target.model import ApiAccess, MailAccess, SipEndpoint, Target
from harness.target.provisioning import ProvisioningClient

#: Real seconds ``serve`` may take to write its ready file.
START_TIMEOUT = 30.0
#: Real seconds a stopped ``serve`` may take to exit before it is killed.
STOP_TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"
#: The shortest registration the embedded registrar grants (``serve --min-expires``, real
#: seconds; a real deployment's is typically 60, Asterisk's minexpiry and Kamailio's
#: min_expires). Short, so that the suite's lapse check (a phone gone silent must stop ringing
#: once its Expires has passed, docs/suite.md) waits seconds, not a minute.
MIN_EXPIRES = 1

T = TypeVar("T")


@dataclass
class EmbeddedTarget:
    """A running ``serve`` process, the ``Target`` that points at it and its API client."""

    target: Target
    provisioning: ProvisioningClient = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path
    db: Path
    api_token: str = field(repr=False)
    #: The ready file's JSON: pid, base_url, http, smtp, sip, pstn, db, time_scale, api_token_file,
    #: faults (the names ``extra_args`` switched on with ``--fault``; docs/faults.md).
    ready: dict[str, object]

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Stop the process (SIGTERM: graceful; SIGKILL: ``kill -9``), wait, close the client."""
        stop_process(self.process, sig)
        self.provisioning.close()


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` unless it already ended; wait, and kill it when it outlives STOP_TIMEOUT."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def serve_command(
    tenant_dir: Path,
    *,
    ready: Path,
    time_scale: float,
    db: Path | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The ``python -m harness.cli serve`` command line of an embedded target."""
    command = [
        sys.executable, "-m", "harness.cli", "serve", "--guide", str(tenant_dir),
        "--host", LOOPBACK, "--time-scale", repr(time_scale), "--ready-file", str(ready),
        "--min-expires", str(MIN_EXPIRES),
    ]  # fmt: skip
    if db is not None:
        command += ["--db", str(db)]
    return command + list(extra_args)


@contextmanager
def start_embedded(
    tenant_dir: Path,
    *,
    time_scale: float = 0.01,
    workdir: Path | None = None,
    extra_args: Sequence[str] = (),
    name: str = "embedded",
    db: Path | None = None,
) -> Iterator[EmbeddedTarget]:
    """Start ``serve`` for ``tenant_dir`` on free loopback ports, yield it once ready, stop it.

    ``workdir`` receives ``ready.json`` and ``serve.log`` (a temporary folder otherwise);
    ``db`` keeps the settings in that file (``serve --db``); ``extra_args`` go to ``serve``
    as they are (``--param NAME=VALUE``, ``--lockout-after``…).
    """
    with tempfile.TemporaryDirectory(prefix="smartpbx-sim-run-") as scratch:
        folder = workdir or Path(scratch)
        ready_file = folder / "ready.json"
        ready_file.unlink(missing_ok=True)
        log = folder / "serve.log"
        command = serve_command(
            tenant_dir, ready=ready_file, time_scale=time_scale, db=db, extra_args=extra_args
        )
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 (our own CLI)
                command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ}
            )
        embedded: EmbeddedTarget | None = None
        try:
            ready = _wait_ready(process, ready_file, log)
            embedded = _embedded(ready, process=process, log=log, name=name, scale=time_scale)
            yield embedded
        finally:
            if embedded is not None:
                embedded.kill()
            else:
                stop_process(process, signal.SIGKILL)


def _embedded(
    ready: dict[str, object],
    *,
    process: subprocess.Popen[bytes],
    log: Path,
    name: str,
    scale: float,
) -> EmbeddedTarget:
    base_url = _field(ready, "base_url", str, log)
    token = read_token(Path(_field(ready, "api_token_file", str, log)))
    target = Target(
        name=name,
        kind="embedded",
        time_scale=scale,
        sip=SipEndpoint(host=LOOPBACK, port=_field(ready, "sip", int, log), transport="udp"),
        carrier=SipEndpoint(host=LOOPBACK, port=_field(ready, "pstn", int, log), transport="udp"),
        web_base_url=base_url,
        mail=MailAccess(api=f"{base_url}/api/mail", token=token),
        api=ApiAccess(base_url=base_url, token=token),
        voicemail_api=f"{base_url}/api/voicemail",
        voicemail_token=token,
        changes_settings=True,
        pbx_features=True,
    )
    assert target.api is not None
    return EmbeddedTarget(
        target=target,
        provisioning=ProvisioningClient(target.api),
        process=process,
        log=log,
        db=Path(_field(ready, "db", str, log)),
        api_token=token,
        ready=ready,
    )


def _field(ready: dict[str, object], key: str, kind: type[T], log: Path) -> T:
    value = ready.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise HarnessError(
            f"serve's ready file has no {kind.__name__} {key!r} (found {value!r}); see {log}"
        )
    return value


def read_token(path: Path) -> str:
    """The provisioning API's bearer token from the file ``serve`` wrote (mode 0600)."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise HarnessError(f"cannot read the simulator's API token file {path}: {error}") from error


def _wait_ready(process: subprocess.Popen[bytes], ready: Path, log: Path) -> dict[str, object]:
    """Wait (polling, bounded) for the ready file ``serve`` writes atomically."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ready.exists():
            try:
                info = json.loads(ready.read_text(encoding="utf-8"))
            except ValueError as error:
                raise HarnessError(
                    f"serve's ready file {ready} is not JSON ({error}); see {log}"
                ) from error
            if not isinstance(info, dict):
                raise HarnessError(f"serve's ready file {ready} is not a JSON object; see {log}")
            return {str(k): v for k, v in info.items()}
        if process.poll() is not None:
            raise HarnessError(
                f"the simulator (serve) exited with {process.returncode} before it was ready; "
                f"the end of {log}:\n" + _tail(log)
            )
        time.sleep(0.02)
    stop_process(process, signal.SIGKILL)
    raise HarnessError(
        f"the simulator (serve) was not ready within {START_TIMEOUT:g} s; the end of {log}:\n"
        + _tail(log)
    )


def _tail(log: Path, size: int = 4000) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-size:]
