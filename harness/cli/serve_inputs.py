"""What ``serve`` checks before it opens anything: its ``--db`` file and its ports.

Not a sub-command (not in ``COMMANDS``). Each refusal is an ``InputError`` naming the option,
the value and the fix, so the CLI exits 2 (issue 9 item 3):

- ``--db`` must be an SQLite file (or a new file in an existing folder), and not the file of
  another running ``serve``: two simulators on one database each reset the other's soft state
  (the first one's /api/registrations went empty while its phones were still registered).
  The running one holds an exclusive ``flock(2)`` on ``<db>.lock``, which holds its pid. The
  kernel drops the lock when the process ends however it ends (kill -9 included), so a stale
  file never blocks a new ``serve``; the file itself is left in place, since removing it would
  let a process that opened the old file and one that created a new one both hold "the" lock.
- A port given explicitly must be free: each is bound once (and released) with the options the
  listener will use — TCP with ``SO_REUSEADDR`` like asyncio's ``create_server`` and the web
  socket, UDP and TCP for the SIP ports — so the message names the option and the port.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

from harness.errors import InputError, Problem

SQLITE_MAGIC = (
    b"SQLite format 3\x00"  # the first 16 bytes of every database (sqlite.org/fileformat.html)
)

LOCK_SUFFIX = ".lock"


def _refuse(where: str, rule: str, value: str | None = None) -> InputError:
    return InputError([Problem(where=where, rule=rule, value=value)], subject="serve")


def check_db(db: Path) -> None:
    """Refuse a ``--db`` that is no SQLite file, or a new file in a folder that does not exist."""
    where = f"--db {db}"
    fix = "give a new file name, or a file a previous serve wrote"
    try:
        info = os.stat(db)
    except FileNotFoundError:
        if not db.parent.is_dir():
            raise _refuse(
                where, f"the folder {db.parent} does not exist: create it, or {fix}"
            ) from None
        return
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise _refuse(where, f"cannot be read ({reason}): {fix}") from None
    if stat.S_ISDIR(info.st_mode):
        raise _refuse(where, f"is a folder: {fix}, e.g. --db {db / 'sim.sqlite3'}")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(where, f"is not a regular file: {fix}")
    if info.st_size == 0:
        return  # SQLite takes an empty file as a new database
    try:
        with db.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise _refuse(where, f"cannot be read ({error.strerror}): {fix}") from None
    if head != SQLITE_MAGIC:
        raise _refuse(where, f"is not an SQLite database, so it is left untouched: {fix}")
    tables = _tables(db)
    if tables and "tenant" not in tables:
        raise _refuse(
            where,
            "is the SQLite database of another program (it has tables, none of them the "
            f"simulator's), so it is left untouched: {fix}",
        )


def _tables(db: Path) -> set[str]:
    """The table names of the database ``db``, read without writing (empty when unreadable:
    opening it for real then reports why)."""
    try:
        with contextlib.closing(
            sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        ) as connection:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {str(name) for (name,) in rows}
    except sqlite3.Error:
        return set()


@contextlib.contextmanager
def db_lock(db: Path) -> Iterator[None]:
    """Hold ``<db>.lock`` exclusively while the block runs, or refuse naming the holder."""
    path = db.resolve().with_name(db.resolve().name + LOCK_SUFFIX)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        raise _refuse(
            f"--db {db}",
            f"its lock file {path} cannot be opened ({error.strerror}): give a --db file in "
            "a folder you can write",
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise _refuse(
                f"--db {db}",
                f"is in use by another running serve (pid {holder}, lock file {path}): stop "
                f"that one first (Ctrl+C in its terminal, or kill {holder}), or give another "
                "--db file",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


# (option, protocols) of each port serve listens on, in the order they are bound.
PORT_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("--smtp-port", ("TCP",)),
    ("--http-port", ("TCP",)),
    ("--sip-port", ("UDP", "TCP")),
    ("--pstn-port", ("UDP", "TCP")),
)

FREE_PORT_FIX = "choose another or 0 for a free one"


def check_ports(host: str, ports: dict[str, int]) -> None:
    """Refuse every port of ``ports`` (option → port; 0 = pick a free one) that is taken."""
    problems: list[Problem] = []
    given: dict[int, str] = {}
    for option, protocols in PORT_OPTIONS:
        port = ports.get(option, 0)
        if not port:
            continue
        where = f"{option} {port}"
        if port in given:
            problems.append(
                Problem(
                    where=where,
                    rule=f"is also given as {given[port]}: each listener needs its own port; "
                    f"{FREE_PORT_FIX}",
                )
            )
            continue
        given[port] = option
        for protocol in protocols:
            rule = _bind_problem(host, port, protocol)
            if rule is not None:
                problems.append(Problem(where=where, rule=rule))
                break
    if problems:
        raise InputError(problems, subject="serve")


def _bind_problem(host: str, port: int, protocol: str) -> str | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if protocol == "TCP" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as probe:
        if protocol == "TCP":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (
                    f"is in use: another program listens on {protocol} {host}:{port}; "
                    f"{FREE_PORT_FIX}"
                )
            if error.errno == errno.EACCES:
                return (
                    f"cannot be used: {protocol} {host}:{port} needs privileges to listen on "
                    f"({error.strerror}); choose one ≥ 1024 or 0 for a free one"
                )
            return f"cannot be used: {protocol} {host}:{port}: {error.strerror}; {FREE_PORT_FIX}"
    return None
