"""留守番電話: one mailbox per extension, recordings as metadata, the 留守番電話パスワード.

DOMAIN.md rule 6: a call reaches voicemail only through 転送動作 = 留守番電話 or
シングルナンバーリーチ with 留守番電話 on, and the mailbox is the dialled extension's. The call
controller opens a recording when it sends a call to voicemail and closes it when the
caller hangs up; the SIP voicemail UAS (docs/pbx.md) answers the call, and its audio is kept
by the SIP side (sip_glue/voicemail_media.py). Here: caller, caller ID, time, duration, and the
mailbox owner's password attempts — refused, then locked after ``voicemail_password_attempts``
wrong ones in a row (``try_password``; a lock lasts until ``unlock_all``: the SIP side calls it
at every reset and tenant load).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from enum import StrEnum

from harness.errors import InputError, Problem

PASSWORD_DIGITS = (3, 8)


@dataclass(frozen=True, kw_only=True)
class Recording:
    """One message left in a mailbox; ``duration`` is None while the caller is still talking."""

    id: int
    mailbox: str
    caller: str | None  # the caller's extension, or its external number (None when withheld)
    caller_id: str | None  # what the mailbox owner is shown (None = 非通知)
    started_at: float  # simulated seconds
    duration: float | None = None


def check_password(password: str, *, extension: str) -> None:
    """留守番電話パスワード: 3–8 digits (DOMAIN.md 不在時動作設定)."""
    low, high = PASSWORD_DIGITS
    if not (password.isascii() and password.isdigit() and low <= len(password) <= high):
        raise InputError(
            [
                Problem(
                    where=f"留守番電話パスワード › {extension}",
                    rule=f"must be {low}–{high} digits (0-9), e.g. 1234",
                    value=repr(password),
                )
            ],
            subject="voicemail password",
        )


class Attempt(StrEnum):
    """What a password entered at the mailbox's access code gets."""

    ACCEPTED = "accepted"
    REFUSED = "refused"  # wrong; tries are left
    LOCKED = "locked"  # wrong for the last allowed time, or the mailbox was already locked


class VoicemailStore:
    """Mailboxes of every extension, in memory (the web side persists passwords in its store)."""

    def __init__(self) -> None:
        self._recordings: dict[int, Recording] = {}
        self._passwords: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._failures: dict[str, int] = {}
        self._locked: set[str] = set()

    def set_password(self, extension: str, password: str) -> None:
        check_password(password, extension=extension)
        self._passwords[extension] = password

    def password(self, extension: str) -> str | None:
        return self._passwords.get(extension)

    def verify_password(self, extension: str, attempt: str) -> bool:
        stored = self._passwords.get(extension)
        return stored is not None and stored == attempt

    def unlock_all(self) -> None:
        """Forget every wrong attempt and lock (a reset or a tenant load is a fresh start)."""
        self._failures.clear()
        self._locked.clear()

    def is_locked(self, extension: str) -> bool:
        return extension in self._locked

    def try_password(self, extension: str, attempt: str, *, limit: int) -> Attempt:
        """One password entry for ``extension``'s mailbox: a right one resets the count of
        wrong ones; the ``limit``-th wrong one in a row locks the mailbox (even the right
        password is then refused)."""
        if extension in self._locked:
            return Attempt.LOCKED
        if self.verify_password(extension, attempt):
            self._failures.pop(extension, None)
            return Attempt.ACCEPTED
        failures = self._failures[extension] = self._failures.get(extension, 0) + 1
        if failures >= limit:
            self._locked.add(extension)
            return Attempt.LOCKED
        return Attempt.REFUSED

    def start(
        self, *, mailbox: str, caller: str | None, caller_id: str | None, at: float
    ) -> Recording:
        recording = Recording(
            id=next(self._ids), mailbox=mailbox, caller=caller, caller_id=caller_id, started_at=at
        )
        self._recordings[recording.id] = recording
        return recording

    def finish(self, recording_id: int, *, at: float) -> Recording:
        """Close a recording when the caller hangs up; finishing twice keeps the first end."""
        recording = self._recordings[recording_id]
        if recording.duration is None:
            recording = replace(recording, duration=max(0.0, at - recording.started_at))
            self._recordings[recording_id] = recording
        return recording

    def get(self, recording_id: int) -> Recording:
        return self._recordings[recording_id]

    def messages(self, mailbox: str) -> list[Recording]:
        """The mailbox's recordings, oldest first."""
        return [r for r in self._recordings.values() if r.mailbox == mailbox]
