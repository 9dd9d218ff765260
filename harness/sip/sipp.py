"""SIPp (Debian ``sip-tester``) driven as a subprocess, with its results as typed values.

Scenarios are XML files kept in ``harness/sip/sipp_scenarios`` (package data):

- ``register``: REGISTER → 401 → REGISTER with digest → 200, one user per call (``users``).
- ``uac``: INVITE → 200 → ACK → pause (``duration_ms``) → BYE, from an outside caller.
- ``uac_auth``: the same by a user of the domain, answering a 407 with proxy authorization.
- ``uas``: INVITE → 180 → pause (``duration_ms``: ring time before answering) → 200, ACK, BYE.

Everything SIPp binds is on 127.0.0.1 (``-i``/``-bind_local``, media ``-mi``, control ``-ci``)
on free ports. SIPp writes its cumulative statistics (``-trace_stat``) and unexpected messages
(``-trace_err``) into the run's working directory, kept as evidence; ``SippResult`` carries the
exit status and the parsed statistics. No pysipp (it needs pluggy < 1).

Exit status (``man sipp``): 0 all calls successful, 1 at least one call failed, 97 exit on an
internal command (calls may have been processed), 99 normal exit without calls processed,
-1 (255) fatal error, -2 (254) fatal error binding a socket. 0/1/97/99 are results; 254/255
are a broken harness set-up and raise ``HarnessError`` with SIPp's own words.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
import re
import signal
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from harness.errors import HarnessError, InputError, Problem
from harness.sip.peers._net import BoundSocket, bound_addresses, free_port
from harness.sip.peers._process import LOOPBACK, ManagedProcess, Peer, require_binary, tail

SIPP_BINARY = "/usr/bin/sipp"
SCENARIOS = ("register", "uac", "uac_auth", "uas")
Transport = Literal["udp", "tcp"]

EXIT_MEANINGS: Mapping[int, str] = {
    0: "all calls successful",
    1: "at least one call failed",
    97: "exit on internal command",
    99: "normal exit without calls processed",
    254: "fatal error binding a socket",
    255: "fatal error",
}
_RESULT_STATUSES = frozenset({0, 1, 97, 99})
# A value SIPp puts into a CSV field and then into a header: no separator, bracket or space.
_FIELD_RE = re.compile(r"[^;\[\]\s]{1,128}")


def scenario_file(name: str) -> Path:
    """The path of a packaged scenario (``register``, ``uac``, ``uac_auth``, ``uas``)."""
    if name not in SCENARIOS:
        raise InputError(
            [Problem(where="SIPp scenario", rule=f"one of {', '.join(SCENARIOS)}", value=name)],
            subject="SIPp settings",
        )
    resource = importlib.resources.files("harness.sip.sipp_scenarios").joinpath(f"{name}.xml")
    return Path(str(resource))


# --------------------------------------------------------------------------------------------
# Statistics


def _duration_seconds(value: str) -> float:
    """SIPp durations: ``HH:MM:SS`` or ``HH:MM:SS:uuuuuu`` (microseconds)."""
    parts = value.strip().split(":")
    if len(parts) not in (3, 4) or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a SIPp duration: {value!r}")
    hours, minutes, seconds = (int(p) for p in parts[:3])
    micros = int(parts[3]) if len(parts) == 4 else 0
    return hours * 3600 + minutes * 60 + seconds + micros / 1_000_000


def _epoch(value: str) -> float:
    """SIPp date fields are ``YYYY-MM-DD<TAB>HH:MM:SS.uuuuuu<TAB>epoch``; the epoch is exact."""
    return float(value.split("\t")[-1])


@dataclass(frozen=True, kw_only=True)
class SippStats:
    """The cumulative (``(C)``) counters of the last line of a ``-trace_stat`` file."""

    total_calls: int
    successful_calls: int
    failed_calls: int
    current_calls: int
    retransmissions: int
    elapsed_s: float
    """Wall time covered by the statistics (start to last dump), from SIPp's own clock."""
    call_rate: float
    """Calls created per second over the run, as SIPp computes it (``CallRate(C)``)."""
    response_time_1_ms: float | None
    """Mean response time 1 (``start_rtd="1"`` → ``rtd="1"``) in ms; None if not measured."""
    response_time_2_ms: float | None
    call_length_ms: float
    failures: Mapping[str, int] = field(default_factory=dict)
    """Non-zero ``Failed*`` counters by SIPp name without the prefix (``UnexpectedMessage``…)."""

    @property
    def successful_per_second(self) -> float:
        """Successful calls per second of the run (0 when the run took no measurable time)."""
        return self.successful_calls / self.elapsed_s if self.elapsed_s > 0 else 0.0


def parse_stat_csv(text: str) -> SippStats:
    """Parse a SIPp ``-trace_stat`` file (``;``-separated, one header line, one line per dump).

    Raises ``HarnessError`` when the file holds no data line or misses a column.
    """
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise HarnessError("SIPp statistics file has no data line (did SIPp start at all?)")
    header, last = rows[0], rows[-1]
    values = dict(zip(header, last, strict=False))

    def number(name: str) -> float:
        try:
            return float(values[name])
        except (KeyError, ValueError):
            raise HarnessError(
                f"SIPp statistics: column {name!r} missing or not a number "
                f"(found {values.get(name)!r})"
            ) from None

    def millis(name: str) -> float:
        """A duration column in milliseconds (SIPp resolution: 1 ms)."""
        try:
            return _duration_seconds(values[name]) * 1000
        except (KeyError, ValueError):
            raise HarnessError(
                f"SIPp statistics: column {name!r} missing or not a duration "
                f"(found {values.get(name)!r})"
            ) from None

    failures = {
        name[len("Failed") : -len("(C)")]: int(float(value))
        for name, value in values.items()
        if name.startswith("Failed") and name.endswith("(C)") and name != "FailedCall(C)"
        if value.strip() and float(value) != 0
    }
    try:
        elapsed = _epoch(values["CurrentTime"]) - _epoch(values["StartTime"])
    except (KeyError, ValueError):
        raise HarnessError("SIPp statistics: StartTime/CurrentTime missing or unreadable") from None
    return SippStats(
        total_calls=int(number("TotalCallCreated")),
        successful_calls=int(number("SuccessfulCall(C)")),
        failed_calls=int(number("FailedCall(C)")),
        current_calls=int(number("CurrentCall")),
        retransmissions=int(number("Retransmissions(C)")),
        elapsed_s=elapsed,
        call_rate=number("CallRate(C)"),
        response_time_1_ms=millis("ResponseTime1(C)") if "ResponseTime1(C)" in values else None,
        response_time_2_ms=millis("ResponseTime2(C)") if "ResponseTime2(C)" in values else None,
        call_length_ms=millis("CallLength(C)"),
        failures=failures,
    )


@dataclass(frozen=True, kw_only=True)
class SippResult:
    """One finished SIPp run: exit status, statistics and where the evidence is."""

    scenario: str
    exit_status: int
    stats: SippStats
    wall_s: float
    """Seconds from process start to exit, measured by the driver."""
    workdir: Path
    stat_file: Path
    error_file: Path
    log_file: Path

    @property
    def meaning(self) -> str:
        return EXIT_MEANINGS.get(self.exit_status, f"unknown exit status {self.exit_status}")

    @property
    def ok(self) -> bool:
        """Every call succeeded and at least one was made."""
        return (
            self.exit_status == 0
            and self.stats.failed_calls == 0
            and self.stats.successful_calls > 0
        )

    @property
    def successful_calls(self) -> int:
        return self.stats.successful_calls

    @property
    def failed_calls(self) -> int:
        return self.stats.failed_calls

    def errors(self, lines: int = 40) -> str:
        """The tail of SIPp's unexpected-message log (empty when nothing went wrong)."""
        return tail(self.error_file, lines)

    def summary(self) -> str:
        s = self.stats
        return (
            f"SIPp {self.scenario}: exit {self.exit_status} ({self.meaning}); "
            f"{s.successful_calls} successful, {s.failed_calls} failed of {s.total_calls}, "
            f"{s.successful_per_second:.1f}/s"
            + (
                f", response time {s.response_time_1_ms:.0f} ms"
                if s.response_time_1_ms is not None
                else ""
            )
            + (f", failures {dict(s.failures)}" if s.failures else "")
        )


# --------------------------------------------------------------------------------------------
# Running SIPp


@dataclass(frozen=True, kw_only=True)
class SippUser:
    """A digest user for the injection file: 端末ID and password."""

    user: str
    password: str


def injection_csv(users: Sequence[SippUser]) -> str:
    """The ``-inf`` file: field0 = user, field1 = an ``[authentication]`` keyword for it.

    SIPp cannot nest ``[field1]`` inside ``[authentication ...]``, but it expands an
    ``[authentication]`` keyword found in an injected field, so the file carries the keyword.
    """
    problems = [
        Problem(
            where=f"SIPp users › row {row} › {name}",
            rule="1–128 characters without ';', '[', ']' or white space",
            value=value,
        )
        for row, item in enumerate(users, start=1)
        for name, value in (("user", item.user), ("password", item.password))
        if not _FIELD_RE.fullmatch(value)
    ]
    if problems:
        raise InputError(problems, subject="SIPp users")
    lines = ["SEQUENTIAL"]
    lines += [f"{u.user};[authentication username={u.user} password={u.password}]" for u in users]
    return "\n".join(lines) + "\n"


class Sipp(Peer):
    """One SIPp process. ``run()`` for a client run to completion; ``start()``/``stop()`` (or
    ``with``) for a UAS serving while a test calls it.

    ``remote`` is the (host, port) requests go to (absent for a UAS). ``domain`` fills
    ``[domain]`` in Request-URIs, From and To (default: the remote address); ``service`` is the
    callee user; ``users`` the digest users of ``register``/``uac_auth``; ``contact`` the
    ``host:port`` a REGISTER binds (default: SIPp's own address). ``rate`` is calls per second,
    ``limit`` the maximum simultaneous calls, ``calls`` the number of calls after which SIPp
    exits, ``duration_ms`` the pause of the scenario (call length for UACs, ring time for the
    UAS), ``timeout_s`` a global limit after which SIPp stops (a UAS too; None for none).
    ``scenario`` may also be the path of another scenario file; ``server`` says whether it
    waits for requests (default: its name starts with ``uas``).
    """

    def __init__(
        self,
        scenario: str | Path,
        *,
        remote: tuple[str, int] | None = None,
        workdir: Path | None = None,
        domain: str | None = None,
        service: str = "service",
        users: Sequence[SippUser] = (),
        contact: str | None = None,
        expires: int = 3600,
        rate: float | None = None,
        limit: int | None = None,
        calls: int | None = None,
        duration_ms: int = 0,
        timeout_s: float | None = 30.0,
        transport: Transport = "udp",
        local_port: int | None = None,
        extra_args: Sequence[str] = (),
        binary: str = SIPP_BINARY,
        server: bool | None = None,
    ) -> None:
        # A packaged scenario by name, or any scenario file (e.g. one a test writes).
        self.scenario = scenario if isinstance(scenario, str) else scenario.stem
        self.scenario_path = scenario_file(scenario) if isinstance(scenario, str) else scenario
        if self.scenario in ("register", "uac_auth") and not users:
            raise InputError(
                [Problem(where=f"SIPp {scenario}", rule="needs at least one user (users=...)")],
                subject="SIPp settings",
            )
        # A server (UAS) waits for requests; default: scenarios named uas*.
        self.server = server if server is not None else self.scenario.startswith("uas")
        if not self.server and remote is None:
            raise InputError(
                [Problem(where=f"SIPp {scenario}", rule="needs remote=(host, port)")],
                subject="SIPp settings",
            )
        self.remote = remote
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"sipp-{self.scenario}-"))
        self.domain = domain or (f"{remote[0]}:{remote[1]}" if remote else LOOPBACK)
        self.service = service
        self.users = list(users)
        self.contact = contact
        self.expires = expires
        self.rate = rate
        self.limit = limit
        self.calls = calls
        self.duration_ms = duration_ms
        self.timeout_s = timeout_s
        self.transport: Transport = transport
        self.host = LOOPBACK
        self._fixed_port = local_port
        self.port = local_port or free_port()
        self.extra_args = list(extra_args)
        self.binary = binary
        self.stat_file = self.workdir / f"{self.scenario}_stats.csv"
        self.error_file = self.workdir / f"{self.scenario}_errors.log"
        self.log_file = self.workdir / f"{self.scenario}.log"
        self._process: ManagedProcess | None = None
        self._started_at = 0.0
        self._result: SippResult | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where this SIPp receives SIP (what a UAS registers as its contact)."""
        return (self.host, self.port)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def argv(self) -> list[str]:
        """The full SIPp command line (also written to ``command.txt`` for reproduction)."""
        argv = [require_binary(self.binary, package="sip-tester")]
        if self.remote is not None:
            argv.append(f"{self.remote[0]}:{self.remote[1]}")
        argv += [
            "-sf", str(self.scenario_path),
            "-t", "u1" if self.transport == "udp" else "t1",
            "-i", self.host, "-p", str(self.port), "-bind_local",
            "-mi", self.host, "-mp", str(free_port(tcp=False)),
            "-ci", self.host, "-cp", str(free_port(tcp=False)),
            "-nostdin",
            "-trace_stat", "-stf", str(self.stat_file), "-fd", "1",
            "-trace_err", "-error_file", str(self.error_file),
            "-key", "domain", self.domain,
            "-key", "contact", self.contact or f"{self.host}:{self.port}",
            "-key", "expires", str(self.expires),
            "-s", self.service,
            "-d", str(self.duration_ms),
        ]  # fmt: skip
        if not self.server:
            # Abort without BYE/CANCEL: a failed REGISTER or call must not trigger extra traffic
            # that the statistics would then count as dead calls.
            argv += ["-default_behaviors", "all,-bye"]
        if self.users:
            inf = self.workdir / "users.csv"
            inf.write_text(injection_csv(self.users), encoding="utf-8")
            argv += ["-inf", str(inf)]
        if self.rate is not None:
            argv += ["-r", f"{self.rate:g}", "-rp", "1000"]
        if self.limit is not None:
            argv += ["-l", str(self.limit)]
        if self.calls is not None:
            argv += ["-m", str(self.calls)]
        if self.timeout_s is not None:
            argv += ["-timeout", f"{self.timeout_s:g}s"]
        return argv + self.extra_args

    # ----------------------------------------------------------------------------------------
    def start(self, *, ready_timeout: float = 5.0) -> Self:
        """Start SIPp; for the UAS, return once SIPp holds its SIP socket (nothing sent to it).

        A UAS whose port was taken between choosing and binding it (exit 254) is restarted
        once on another port, unless the port was given as ``local_port``.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(2):
            self._launch()
            if not self.server:
                return self
            try:
                self._wait_bound(ready_timeout)
                return self
            except HarnessError:
                if attempt == 0 and self._fixed_port is None and self._exit_status() == 254:
                    self.port = free_port()
                    continue
                raise
        return self

    def _launch(self) -> None:
        argv = self.argv()
        (self.workdir / "command.txt").write_text(" ".join(argv) + "\n", encoding="utf-8")
        self._process = ManagedProcess(
            name=f"sipp {self.scenario}", argv=argv, log_path=self.log_file, cwd=self.workdir
        )
        self._started_at = time.monotonic()
        self._process.start()

    def _exit_status(self) -> int | None:
        status = None if self._process is None else self._process.returncode()
        return None if status is None else status & 0xFF

    def _wait_bound(self, ready_timeout: float) -> None:
        assert self._process is not None and self._process.pid is not None
        deadline = time.monotonic() + ready_timeout
        # A UDP socket or a TCP listener.
        socket = BoundSocket(protocol=self.transport, host=self.host, port=self.port)
        while socket not in bound_addresses(self._process.pid):
            if not self._process.running():
                self._finish()  # raises with SIPp's words
            if time.monotonic() > deadline:
                self._process.stop(sig=signal.SIGKILL)
                raise HarnessError(
                    f"SIPp UAS did not bind {self.transport} {self.host}:{self.port} within "
                    f"{ready_timeout:g} s; log {self.log_file}:\n{tail(self.log_file)}"
                )
            time.sleep(0.01)  # polling a condition (socket bound), not a fixed wait

    def wait(self, timeout: float | None = None) -> SippResult:
        """Wait for SIPp to exit by itself and return its result."""
        if self._process is None:
            raise HarnessError("SIPp was never started")
        limit = timeout if timeout is not None else (self.timeout_s or 60.0) + 10.0
        try:
            self._process.wait(limit)
        except HarnessError:
            self._process.stop(sig=signal.SIGKILL)
            raise
        return self._finish()

    def stop(self, *, timeout: float = 5.0) -> SippResult | None:
        """Ask SIPp to quit (SIGUSR1: stop taking calls, finish), reap it, return the result.

        Returns None when it was never started; kills it if it ignores the request.
        """
        if self._process is None:
            return None
        if self._result is not None:
            return self._result
        self._process.stop(sig=signal.SIGUSR1, timeout=timeout)
        return self._finish()

    def close(self) -> None:
        """Kill SIPp if it still runs, without a result (cleanup after a failed test)."""
        if self._process is not None and self._result is None:
            self._process.stop(sig=signal.SIGKILL)

    def running(self) -> bool:
        return self._process is not None and self._process.running()

    def run(self) -> SippResult:
        """Start, wait for the end, return the result (client scenarios).

        A client that could not bind one of its sockets (exit 254: a port chosen free was
        taken before SIPp bound it, so no call was made) is started once more on fresh ports.
        """
        for attempt in range(2):
            self.start()
            try:
                return self.wait()
            except HarnessError:
                if attempt == 0 and self._exit_status() == 254:
                    if self._fixed_port is None:
                        self.port = free_port()
                    for stale in (self.stat_file, self.error_file):
                        stale.unlink(missing_ok=True)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    # ----------------------------------------------------------------------------------------
    def _finish(self) -> SippResult:
        assert self._process is not None
        status = self._process.returncode()
        if status is None:
            raise HarnessError("SIPp is still running")
        status &= 0xFF  # -1 / -2 are reported by the OS as 255 / 254
        wall = time.monotonic() - self._started_at
        if status not in _RESULT_STATUSES or not self.stat_file.exists():
            # No statistics means SIPp never ran a call (bad option or scenario, bind failure):
            # its exit status alone would read like a failed call, so say what it printed.
            what = (
                f"failed: exit {status} ({EXIT_MEANINGS.get(status, 'unknown')})"
                if self.stat_file.exists()
                else f"did not run: exit {status}"
            )
            raise HarnessError(
                f"SIPp {self.scenario} {what}; command in {self.workdir / 'command.txt'}; "
                f"SIPp said:\n{_sipp_said(self.log_file)}"
            )
        self._result = SippResult(
            scenario=self.scenario,
            exit_status=status,
            stats=parse_stat_csv(self.stat_file.read_text(encoding="utf-8", errors="replace")),
            wall_s=wall,
            workdir=self.workdir,
            stat_file=self.stat_file,
            error_file=self.error_file,
            log_file=self.log_file,
        )
        return self._result


def _sipp_said(log: Path) -> str:
    """SIPp's messages without its statistics screen (the lines that explain a failure)."""
    lines = [
        line
        for line in tail(log, 200).splitlines()
        if line.strip() and not line.lstrip().startswith(("|", "-", "+")) and "|" not in line
    ]
    return "\n".join(lines[-15:])


def run_sipp(scenario: str | Path, **options: Any) -> SippResult:
    """Run one client scenario to completion: ``run_sipp("uac", remote=..., calls=1)``."""
    return Sipp(scenario, **options).run()
