"""The store's core: one SQLite connection, one lock, one write transaction per change.

Every part of ``Store`` (``harness.sim.store``) writes only through ``_tx`` and reads only
through ``_read`` (or a read transaction under ``_lock``): that is the funnel that keeps each
change all or nothing and lets ``settings_stamp`` know when the database changed.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.sim.store.errors import NoTenantError
from harness.sim.store.records import RingTimeDefaults
from harness.sim.store.schema import open_schema

DEFAULT_LOCKOUT_THRESHOLD = 5
DEFAULT_LOCKOUT_TIME = 900.0
"""A locked web account unlocks by itself after 15 simulated minutes (issue 10.6: a lock that
only a reset ends lets anyone who knows a ログインID lock the administrator out for good)."""


class StoreCore:
    """The connection, its lock and the transaction funnel that the store's parts share."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        lockout_threshold: int = DEFAULT_LOCKOUT_THRESHOLD,
        lockout_time: float = DEFAULT_LOCKOUT_TIME,
    ) -> None:
        if lockout_threshold < 1:
            raise ValueError(f"lockout threshold must be ≥ 1, got {lockout_threshold}")
        if not 0 < lockout_time < float("inf"):
            raise ValueError(f"lockout time must be > 0 simulated seconds, got {lockout_time}")
        self.lockout_time = lockout_time
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="smartpbx-sim-")
            path = Path(self._tempdir.name) / "sim.sqlite3"
        self.path = Path(path)
        self.lockout_threshold = lockout_threshold
        self.ring_time_defaults = RingTimeDefaults()
        self._lock = threading.RLock()
        self._reset_listeners: list[Callable[[], None]] = []
        self._listing_listeners: list[Callable[[], None]] = []
        self._writes = 0  # committed write transactions of this store
        self._epoch = 0  # bumped by every reset and tenant load (see ``epoch``)
        self._stamp: tuple[int, int | None] | None = None  # (writes, version) last read
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        open_schema(self._db, self._tx, lockout_threshold=lockout_threshold)
        # Soft state does not survive a restart: registrations are refreshed by phones, and
        # one-time codes are timed by a clock whose origin changed.
        with self._tx() as db:
            db.execute("DELETE FROM registrations")
            db.execute("DELETE FROM pstn_registrations")
            db.execute("DELETE FROM one_time_codes")

    @property
    def voicemail_dir(self) -> Path:
        """Where voicemail recordings (WAV) are kept: beside the database file, like its
        ``.api-token`` (``<db>.voicemail/``; inside the temporary directory without --db)."""
        return self.path.with_name(self.path.name + ".voicemail")

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._writes += 1  # after the commit: a stamp read before it is re-read

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def has_tenant(self) -> bool:
        return bool(self._read("SELECT 1 FROM tenant"))

    def _tenant_row(self) -> sqlite3.Row:
        rows = self._read("SELECT * FROM tenant")
        if not rows:
            raise NoTenantError('no tenant loaded: POST /api/tenant {"path": <tenant folder>}')
        return rows[0]

    @property
    def epoch(self) -> int:
        """Which reset or tenant load the store is at. The SIP side captures it with the
        records it writes later (registrations in 50 ms batches, a call when it ends) and
        passes it back: a write captured before a reset is dropped, where it would otherwise
        land in the fresh tables if the reset came from another thread in between."""
        return self._epoch

    def _stale(self, epoch: int | None) -> bool:
        return epoch is not None and epoch != self._epoch

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every ``reset`` and ``load_tenant`` (from the calling
        thread): holders of soft state derived from the store — the SIP side's registrar
        bindings — drop it, as the store drops its registration rows."""
        self._reset_listeners.append(listener)

    def before_listing(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` before ``list_rows`` reads: a writer that batches its rows (the
        SIP side's registrations) writes what it holds first, so a list never misses what a
        phone was already told — a binding is listed once its 200 OK is sent."""
        self._listing_listeners.append(listener)

    def _notify_reset(self) -> None:
        # The messages' rows are gone: so are their recordings (a folder of files only).
        shutil.rmtree(self.voicemail_dir, ignore_errors=True)
        for listener in self._reset_listeners:
            listener()
