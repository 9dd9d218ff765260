"""Voicemail audio (issue 13 item 3) against the simulator subprocess: the voicemail answers a
media-on caller's offer, plays its greeting, records the caller's tone to a WAV file, and lists
it in /api/voicemail with its length and a download link behind the API's bearer token.

Media runs in real time (20 ms packets): every wait is on a condition with a deadline.
"""

from __future__ import annotations

from typing import Any

import httpx

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sim.pbx.sip_glue.voicemail_media import GREETING_HZ
from harness.sip import audio
from harness.sip.media import MediaReport
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import Phone
from tests.sim.sip.kit import FIXTURES, eventually, rows, tenant_phones, with_absence

SAMPLE = FIXTURES / "sample"
TO_VOICEMAIL = {"種別": "転送/留守番電話", "転送動作": {"無条件": "留守番電話"}}
#: Packets (20 ms each) the caller sends before hanging up: 0.8 s of its tone.
SPOKEN = 40


def caller_and_mailbox(factory: PhoneFactory, sim: SimulatorHandle) -> Phone:
    """20200 with media on; 20201's calls all go to its voicemail."""
    factory.media = True
    phones = tenant_phones(factory, sim, SAMPLE)
    with_absence(sim, "20201", TO_VOICEMAIL)
    return phones["20200"]


def hears_greeting(report: MediaReport) -> bool:
    return report.hears_tone(GREETING_HZ)


def leave_message(caller: Phone) -> MediaReport:
    call = caller.call("20201")
    call.wait_for(PhoneEventKind.CONNECTED)
    report = call.wait_media(
        lambda r: hears_greeting(r) and r.sent_packets >= SPOKEN,
        f"the caller hears the {GREETING_HZ:g} Hz greeting and has spoken {SPOKEN} packets",
    )
    call.hangup()
    return report


def listed(sim: SimulatorHandle) -> dict[str, Any]:
    (message,) = eventually(lambda: rows(sim, "/api/voicemail"), "the message is listed")
    return message


def test_voicemail_greets_records_the_callers_tone_and_lists_it(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    caller = caller_and_mailbox(phone_factory, sim)

    report = leave_message(caller)

    assert report.codec == "PCMU" and report.received.lost == 0, report
    message = listed(sim)
    assert message["extension"] == "20201" and message["caller_id"] == "20200"
    assert message["audio_url"] == f"/api/voicemail/{message['id']}/audio"
    # What was recorded is what the caller sent (the greeting is never recorded).
    assert 0.5 <= message["audio_seconds"] <= report.sent_packets * 0.02 + 0.1, message
    download = sim.client.get(message["audio_url"])
    assert download.status_code == 200 and download.headers["content-type"] == "audio/wav"
    samples = audio.wav_samples(download.content)
    assert abs(len(samples) / audio.RATE - message["audio_seconds"]) < 0.001
    heard = audio.dominant_frequency(audio.audible(samples))
    assert heard is not None and abs(heard - audio.tone_for("20200")) <= audio.TOLERANCE_HZ


def test_a_muted_caller_leaves_a_silent_message(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    caller = caller_and_mailbox(phone_factory, sim)
    call = caller.call("20201")
    call.wait_for(PhoneEventKind.CONNECTED)
    call.mute()
    call.wait_media(hears_greeting, "the muted caller still hears the greeting")
    call.hangup()

    message = listed(sim)
    samples = audio.wav_samples(sim.client.get(message["audio_url"]).content)
    assert audio.dominant_frequency(audio.audible(samples)) is None


def test_the_recording_needs_the_bearer_token_and_a_listed_message(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    leave_message(caller_and_mailbox(phone_factory, sim))
    url = listed(sim)["audio_url"]

    anonymous = httpx.get(str(sim.client.base_url.join(url)))
    assert anonymous.status_code == 401
    assert sim.client.get("/api/voicemail/999999/audio").status_code == 404
    assert sim.client.get("/api/voicemail/x/audio").status_code == 404


def test_a_caller_without_media_leaves_an_empty_recording(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)  # media off: the port-9 offer
    with_absence(sim, "20201", TO_VOICEMAIL)
    call = phones["20200"].call("20201")
    call.wait_for(PhoneEventKind.CONNECTED)
    call.hangup()

    message = listed(sim)
    # The offer is answered (the port-9 body is a valid offer), nothing arrives: no audio.
    assert message["audio_seconds"] == 0 and message["audio_url"] is not None
    assert len(audio.wav_samples(sim.client.get(message["audio_url"]).content)) == 0


def test_a_reset_removes_the_recordings_with_their_messages(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    leave_message(caller_and_mailbox(phone_factory, sim))
    url = listed(sim)["audio_url"]
    folder = sim.db.with_name(sim.db.name + ".voicemail")
    assert len(list(folder.glob("*.wav"))) == 1

    sim.api("POST", "/api/reset")

    assert rows(sim, "/api/voicemail") == []
    assert sim.client.get(url).status_code == 404
    assert list(folder.glob("*.wav")) == []
