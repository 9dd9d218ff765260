"""The SIP side's records: registrations, carrier-side subscribers, finished calls and
voicemail messages (times: wall-clock Unix seconds), and their listing for the provisioning
API. A write carrying a stale ``epoch`` (captured before a reset) is dropped."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from harness.sim.store.core import StoreCore
from harness.sim.store.records import PstnRegistrationRow, RegistrationRow


class SipRecordsMixin(StoreCore):
    """What the SIP side writes, and the API lists."""

    def add_registration(
        self, *, terminal_id: str, extension: str, contact: str, source: str, expires_at: float
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO registrations "
                "(terminal_id, extension, contact, source, expires_at) VALUES (?, ?, ?, ?, ?)",
                (terminal_id, extension, contact, source, expires_at),
            )

    def replace_registrations(
        self,
        bindings: Mapping[str, Sequence[RegistrationRow]],
        *,
        epoch: int | None = None,
    ) -> None:
        """For each 端末ID, its current bindings replace the listed ones (none: unregistered)
        — one transaction for many REGISTERs; nothing when ``epoch`` (captured with them) is
        not the store's any more."""
        with self._tx() as db:
            if self._stale(epoch):
                return
            for terminal_id, rows in bindings.items():
                db.execute("DELETE FROM registrations WHERE terminal_id = ?", (terminal_id,))
                db.executemany(
                    "INSERT OR REPLACE INTO registrations "
                    "(terminal_id, extension, contact, source, expires_at) VALUES (?, ?, ?, ?, ?)",
                    [
                        (terminal_id, row.extension, row.contact, row.source, row.expires_at)
                        for row in rows
                    ],
                )

    def remove_registration(self, *, terminal_id: str, contact: str | None = None) -> None:
        """Remove one contact of ``terminal_id``, or all of them when ``contact`` is None."""
        with self._tx() as db:
            if contact is None:
                db.execute("DELETE FROM registrations WHERE terminal_id = ?", (terminal_id,))
            else:
                db.execute(
                    "DELETE FROM registrations WHERE terminal_id = ? AND contact = ?",
                    (terminal_id, contact),
                )

    def replace_pstn_registrations(
        self,
        subscribers: Mapping[str, PstnRegistrationRow | None],
        *,
        epoch: int | None = None,
    ) -> None:
        """For each external number, its carrier-side binding, or None (gone) — one
        transaction for many REGISTERs; nothing when ``epoch`` is stale."""
        with self._tx() as db:
            if self._stale(epoch):
                return
            for number, row in subscribers.items():
                db.execute("DELETE FROM pstn_registrations WHERE number = ?", (number,))
                if row is not None:
                    db.execute(
                        "INSERT INTO pstn_registrations "
                        "(number, contact, transport, source, expires_at) VALUES (?, ?, ?, ?, ?)",
                        (number, row.contact, row.transport, row.source, row.expires_at),
                    )

    def record_call(
        self,
        *,
        call_id: str,
        started_at: float,
        ended_at: float,
        caller: str,
        callee: str,
        caller_id: str | None,
        outcome: str,
        detail: Mapping[str, Any] | None = None,
        epoch: int | None = None,
    ) -> None:
        """One finished call (times: Unix seconds); nothing when it began before the last
        reset (``epoch``)."""
        with self._tx() as db:
            if self._stale(epoch):
                return
            db.execute(
                "INSERT INTO calls (call_id, started_at, ended_at, caller, callee, caller_id, "
                "outcome, detail_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call_id,
                    started_at,
                    ended_at,
                    caller,
                    callee,
                    caller_id,
                    outcome,
                    json.dumps(dict(detail or {}), ensure_ascii=False),
                ),
            )

    def record_voicemail(
        self,
        *,
        extension: str,
        caller_id: str | None,
        received_at: float,
        duration: float,
        epoch: int | None = None,
        audio: str | None = None,
        audio_seconds: float | None = None,
    ) -> bool:
        """One voicemail message (``audio``: its WAV's name in ``voicemail_dir``); nothing,
        and False, when its call began before the last reset."""
        with self._tx() as db:
            if self._stale(epoch):
                return False
            db.execute(
                "INSERT INTO voicemail_messages (extension, caller_id, received_at, duration, "
                "audio, audio_seconds) VALUES (?, ?, ?, ?, ?, ?)",
                (extension, caller_id, received_at, duration, audio, audio_seconds),
            )
        return True

    def voicemail_audio(self, message_id: int) -> Path | None:
        """The WAV file of a listed voicemail message, None when it has none (or is gone)."""
        rows = self._read("SELECT audio FROM voicemail_messages WHERE id = ?", (message_id,))
        name = rows[0]["audio"] if rows else None
        return None if name is None else self.voicemail_dir / str(name)

    def voicemail_messages(self, extension: str) -> list[dict[str, Any]]:
        """A mailbox's messages with audio, oldest first (what retrieval plays)."""
        sql = (
            "SELECT * FROM voicemail_messages WHERE extension = ? AND audio IS NOT NULL ORDER BY id"
        )
        return [dict(r) for r in self._read(sql, (extension,))]

    def list_rows(
        self,
        table: Literal["registrations", "pstn_registrations", "calls", "voicemail_messages"],
        *,
        after: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of a SIP-side table as plain dicts (provisioning API), oldest first: those
        with ``id > after``, at most ``limit`` (a long run's calls, page by page)."""
        if table not in ("registrations", "pstn_registrations", "calls", "voicemail_messages"):
            raise ValueError(f"not a SIP-side table: {table}")
        for listener in self._listing_listeners:
            listener()
        sql = f"SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?"  # noqa: S608
        rows = [dict(r) for r in self._read(sql, (after, -1 if limit is None else limit))]
        for row in rows:
            if "detail_json" in row:
                row["detail"] = json.loads(row.pop("detail_json"))
        return rows
