"""A child process started in its own session, logging to a file, stopped and reaped for sure.

Shared by the peer drivers (Kamailio, SIPp, baresip). The process gets its own process group so
that ``stop`` reaches every worker it forked (Kamailio forks one per listen socket and child).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from harness.errors import HarnessError

LOOPBACK = "127.0.0.1"


def require_binary(path: str, *, package: str) -> str:
    """The absolute path of ``path`` (a path or a name on PATH); HarnessError naming the fix."""
    found = shutil.which(path)
    if found is None:
        raise HarnessError(
            f"{path} not found: install the Debian package {package!r} "
            f"(apt-get install {package}) or run `make setup`"
        )
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupMember:
    """One process of a process group: its pid and its state letter (``R``, ``S``, ``Z`` …,
    proc(5) ``/proc/PID/stat`` field 3)."""

    pid: int
    state: str


def group_members(pgid: int) -> list[GroupMember]:
    """Every process in process group ``pgid``, read from /proc (Linux)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            members.append(GroupMember(pid=int(entry.name), state=fields[0]))
    return members


def bind_failed(log: str) -> bool:
    """Whether a peer's log says it could not bind its port (taken since we chose it)."""
    return "Address already in use" in log


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """One child process: started with stdout+stderr to ``log_path``, stopped with its group."""

    def __init__(
        self,
        *,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        cwd: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = env
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._popen is None else self._popen.pid

    def start(self) -> None:
        if self._popen is not None:
            raise HarnessError(f"{self.name} already started (pid {self._popen.pid})")
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )

    def returncode(self) -> int | None:
        """None while running, else the exit status (negative: killed by that signal)."""
        return None if self._popen is None else self._popen.poll()

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for the process to end by itself; HarnessError if it is still running after."""
        if self._popen is None:
            raise HarnessError(f"{self.name} was never started")
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError(
                f"{self.name} still running after {timeout:.1f} s; log {self.log_path}:\n"
                f"{self.log_tail()}"
            ) from None

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)

    def stop(self, *, timeout: float = 5.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal the whole process group, wait, then SIGKILL it; always reaps. Idempotent."""
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            self._signal_group(popen.pid, sig)
            try:
                popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(popen.pid, signal.SIGKILL)
                popen.wait(timeout=timeout)
        # Workers may outlive the leader (e.g. Kamailio children): the group must be empty
        # before stop returns, so nothing of this peer survives it (killed workers are reaped
        # by init, which takes a moment).
        self._signal_group(popen.pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self._group_alive(popen.pid) and time.monotonic() < deadline:
            time.sleep(0.005)  # polling a condition (group gone), not a fixed wait
        return popen.returncode

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        """Whether a process of the group still runs (zombies waiting for init do not count)."""
        return any(member.state != "Z" for member in group_members(pgid))

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass


class Peer:
    """``with peer:`` starts it and always stops it: ``stop`` after a clean block, ``close``
    (stop without asking for a result, never raising about the peer) after an exception."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> object:
        raise NotImplementedError

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.stop()
        else:
            self.close()
