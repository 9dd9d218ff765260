"""留守番電話 retrieval: an extension dials the access code (``voicemail_access_code``, an (A)
of docs/pbx.md) and hears its own mailbox after entering its 留守番電話パスワード by DTMF.

Theory of operation (one table, STYLE.md §2). The PBX answers the call itself with the
voicemail's media (``VoicemailMedia``, not recording) and plays the password prompt. RFC 4733
digits arrive one per event; ``#`` ends an entry (RFC 4733 §3.2 digits, the usual IVR end key),
which ``VoicemailStore.try_password`` judges:

| state | event | next | what is played |
|---|---|---|---|
| PASSWORD | ``#``, right password | PLAYING | the messages, oldest first, then the PBX hangs up |
| PASSWORD | ``#``, wrong, tries left | PASSWORD | ``REFUSED_HZ`` for 1 s (enter again) |
| PASSWORD | ``#``, wrong, the last try | DONE | ``LOCKED_HZ`` for 1 s, then the PBX hangs up |
| (answer) | the mailbox is locked | DONE | ``LOCKED_HZ`` for 1 s, then the PBX hangs up |

Messages are ``GAP_SECONDS`` of silence apart. Digits in PLAYING or DONE are ignored; an
entry is at most ``MAX_ENTRY`` digits (a longer one keeps its last ``MAX_ENTRY``: wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from harness.sim.pbx.sip_glue.voicemail_media import VoicemailMedia, greeting, prompt
from harness.sim.pbx.voicemail import Attempt, VoicemailStore
from harness.sip import audio

#: Prompts: tones below every phone's ``audio.TONES`` (and apart from the 350 Hz greeting).
REFUSED_HZ = 300.0
LOCKED_HZ = 250.0
GAP_SECONDS = 0.5
MAX_ENTRY = 16


class RetrievalState(StrEnum):
    PASSWORD = "password"
    PLAYING = "playing"
    DONE = "done"


@dataclass(eq=False, kw_only=True)
class MailboxRetrieval:
    """One retrieval call: the owner's digits in, prompts and messages out."""

    mailbox: str
    media: VoicemailMedia
    store: VoicemailStore
    attempts: int  # voicemail_password_attempts
    messages: Callable[[str], list[audio.Samples]]  # a mailbox's recordings, oldest first
    hang_up: Callable[[], None]  # the PBX ends the call (BYE)
    state: RetrievalState = RetrievalState.PASSWORD
    entry: str = ""

    def __post_init__(self) -> None:
        self.media.on_digit = self.digit

    def begin(self) -> None:
        """What the owner hears first: the prompt, or that the mailbox is locked."""
        if self.store.is_locked(self.mailbox):
            self.state = RetrievalState.DONE
            self.media.play(prompt(LOCKED_HZ), then=self.hang_up)
        else:
            self.media.play(greeting())

    def digit(self, digit: str) -> None:
        if self.state is not RetrievalState.PASSWORD:
            return
        if digit != "#":
            self.entry = (self.entry + digit)[-MAX_ENTRY:]
            return
        entry, self.entry = self.entry, ""
        result = self.store.try_password(self.mailbox, entry, limit=self.attempts)
        if result is Attempt.ACCEPTED:
            self.state = RetrievalState.PLAYING
            gap = np.zeros(int(GAP_SECONDS * audio.RATE), dtype=np.int16)
            for message in self.messages(self.mailbox):
                self.media.play(gap)
                self.media.play(message)
            self.media.play(gap, then=self.hang_up)
        elif result is Attempt.REFUSED:
            self.media.play(prompt(REFUSED_HZ))
        else:
            self.state = RetrievalState.DONE
            self.media.play(prompt(LOCKED_HZ), then=self.hang_up)
