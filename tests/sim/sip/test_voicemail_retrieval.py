"""留守番電話 retrieval (issue 13 item 3) against the simulator subprocess: the mailbox owner
dials the access code (``voicemail_access_code``, default ``*98``), enters its
留守番電話パスワード by RFC 4733 DTMF ended by ``#`` and hears its messages; a wrong password is
refused, and ``voicemail_password_attempts`` (3) wrong ones in a row lock the mailbox.

Media runs in real time (20 ms packets): every wait is on a condition with a deadline.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sim.pbx.config import PbxParams
from harness.sim.pbx.sip_glue.retrieval import LOCKED_HZ, REFUSED_HZ
from harness.sim.pbx.sip_glue.voicemail_media import GREETING_HZ
from harness.sip.media import MediaReport
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import CallHandle, Phone
from tests.sim.sip.kit import FIXTURES, eventually, rows, tenant_phones, with_absence

SAMPLE = FIXTURES / "sample"
ACCESS_CODE = PbxParams().voicemail_access_code
ATTEMPTS = PbxParams().voicemail_password_attempts
K = PhoneEventKind


def hears(frequency: float) -> Callable[[MediaReport], bool]:
    return lambda report: report.hears_tone(frequency)


def password_of(sim: SimulatorHandle, extension: str) -> str:
    """The 留守番電話パスワード the settings site shows (read from the simulator's database)."""
    with sqlite3.connect(f"file:{sim.db}?mode=ro", uri=True) as db:
        (password,) = db.execute(
            "SELECT password FROM voicemail_passwords WHERE extension = ?", (extension,)
        ).fetchone()
    return str(password)


def with_a_message(factory: PhoneFactory, sim: SimulatorHandle) -> dict[str, Phone]:
    """Media on; 20200 leaves 20201 a message of its tone (0.8 s)."""
    factory.media = True
    phones = tenant_phones(factory, sim, SAMPLE)
    with_absence(sim, "20201", {"種別": "転送/留守番電話", "転送動作": {"無条件": "留守番電話"}})
    call = phones["20200"].call("20201")
    call.wait_for(K.CONNECTED)
    call.wait_media(lambda r: r.sent_packets >= 40, "20200 has spoken 0.8 s")
    call.hangup()
    eventually(lambda: rows(sim, "/api/voicemail"), "the message is listed")
    return phones


def dial_mailbox(owner: Phone) -> CallHandle:
    call = owner.call(ACCESS_CODE)
    call.wait_for(K.CONNECTED)
    call.wait_media(hears(GREETING_HZ), "the password prompt")
    return call


def test_the_owner_hears_its_message_after_the_right_password(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = with_a_message(phone_factory, sim)
    call = dial_mailbox(phones["20201"])

    call.send_dtmf(password_of(sim, "20201") + "#")

    report = call.wait_media(lambda r: r.hears("20200"), "the message: 20200's tone")
    assert report.received.lost == 0, report
    assert call.wait_for(K.HANGUP).detail == "remote"  # the PBX hangs up after the messages


def test_a_wrong_password_is_refused_and_the_right_one_then_accepted(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = with_a_message(phone_factory, sim)
    password = password_of(sim, "20201")
    wrong = "9" * (len(password) + 1)
    call = dial_mailbox(phones["20201"])

    call.send_dtmf(wrong + "#")
    refused = call.wait_media(hears(REFUSED_HZ), "the refusal")
    assert not refused.hears("20200"), refused
    call.send_dtmf(password + "#")
    call.wait_media(lambda r: r.hears("20200"), "the message after the right password")
    call.wait_for(K.HANGUP)


def test_the_mailbox_locks_after_the_last_wrong_try_and_then_answers_locked(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = with_a_message(phone_factory, sim)
    owner = phones["20201"]
    password = password_of(sim, "20201")
    wrong = "9" * (len(password) + 1)
    call = dial_mailbox(owner)

    call.send_dtmf((wrong + "#") * ATTEMPTS)
    call.wait_media(hears(LOCKED_HZ), "the lock")
    assert call.wait_for(K.HANGUP).detail == "remote"
    assert not call.media_report().hears("20200")

    again = owner.call(ACCESS_CODE)
    again.wait_for(K.CONNECTED)
    again.wait_media(hears(LOCKED_HZ), "locked at once")
    assert again.wait_for(K.HANGUP).detail == "remote"
    assert not again.media_report().hears("20200")
