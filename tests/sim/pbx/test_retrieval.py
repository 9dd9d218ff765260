"""The mailbox retrieval's state table (harness/sim/pbx/sip_glue/retrieval.py), in memory: the
digits an owner enters, what it hears, when the PBX hangs up — with the default number of tries
and with ``voicemail_password_attempts=1``."""

from __future__ import annotations

from collections.abc import Callable

from harness.sim.pbx.config import PbxParams
from harness.sim.pbx.sip_glue.retrieval import LOCKED_HZ, REFUSED_HZ, MailboxRetrieval
from harness.sim.pbx.sip_glue.voicemail_media import GREETING_HZ
from harness.sim.pbx.voicemail import VoicemailStore
from harness.sip import audio

MESSAGE_HZ = 1250.0


class FakeMedia:
    """What ``VoicemailMedia`` offers the retrieval: ``play`` (noted by frequency; an action
    runs at once) and ``on_digit``."""

    def __init__(self) -> None:
        self.on_digit: Callable[[str], None] | None = None
        self.heard: list[float | str] = []

    def play(self, samples: audio.Samples, *, then: Callable[[], None] | None = None) -> None:
        hz = audio.dominant_frequency(samples)
        self.heard.append("silence" if hz is None else round(hz))
        if then is not None:
            then()

    def enter(self, digits: str) -> None:
        assert self.on_digit is not None
        for digit in digits:
            self.on_digit(digit)


def retrieval(params: PbxParams, store: VoicemailStore) -> tuple[FakeMedia, list[str]]:
    media, ended = FakeMedia(), []
    message = audio.tone(MESSAGE_HZ, start=0, count=4000)
    MailboxRetrieval(
        mailbox="20201",
        media=media,  # type: ignore[arg-type]
        store=store,
        attempts=params.voicemail_password_attempts,
        messages=lambda mailbox: [message] if mailbox == "20201" else [],
        hang_up=lambda: ended.append("bye"),
    ).begin()
    return media, ended


def mailbox() -> VoicemailStore:
    store = VoicemailStore()
    store.set_password("20201", "1234")
    return store


def test_the_right_password_plays_the_messages_then_hangs_up() -> None:
    media, ended = retrieval(PbxParams(), mailbox())

    media.enter("1234#")
    media.enter("9#")  # ignored while playing

    assert media.heard == [GREETING_HZ, "silence", MESSAGE_HZ, "silence"]
    assert ended == ["bye"]


def test_wrong_passwords_are_refused_until_the_last_try_locks() -> None:
    store = mailbox()
    media, ended = retrieval(PbxParams(), store)

    media.enter("0000#1111#")
    assert media.heard == [GREETING_HZ, REFUSED_HZ, REFUSED_HZ] and ended == []
    media.enter("2222#")

    assert media.heard[-1] == LOCKED_HZ and ended == ["bye"]
    again, ended_again = retrieval(PbxParams(), store)
    assert again.heard == [LOCKED_HZ] and ended_again == ["bye"]
    again.enter("1234#")  # the right one, too late
    assert again.heard == [LOCKED_HZ]


def test_one_try_with_voicemail_password_attempts_1() -> None:
    params = PbxParams().with_overrides({"voicemail_password_attempts": "1"})
    media, ended = retrieval(params, mailbox())

    media.enter("12345#")  # the last 16 digits are the entry: this one is wrong

    assert media.heard == [GREETING_HZ, LOCKED_HZ] and ended == ["bye"]
