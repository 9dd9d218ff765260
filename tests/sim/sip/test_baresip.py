"""baresip, a real softphone, against the simulator subprocess: it registers with the
ご利用内容's 端末ID/パスワード at the 内線サーバアドレス, calls a virtual phone and is called by
one; and audio both ways between baresip and a virtual phone with media on.

baresip 1.0 (Debian's) gives up ("Function not implemented") on any non-MD5 challenge, even
beside an MD5 one: the session's simulator is a ``serve`` with its default digest settings
(MD5 alone), which is what lets baresip register out of the box (issue 9 item 2).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sim.documents import read_tenant
from harness.sip import audio
from harness.sip.media import MediaReport
from harness.sip.observed import PhoneEventKind
from harness.sip.peers.baresip import (
    CALL_CLOSED,
    CALL_ESTABLISHED,
    CALL_INCOMING,
    Baresip,
)
from harness.sip.phone import Phone
from tests.sim.sip.kit import FIXTURES, eventually, point_at, rows

SAMPLE = FIXTURES / "sample"
GUIDE = read_tenant(SAMPLE).guide
DOMAIN = GUIDE.customer.sip_domain
BaresipFactory = Callable[..., Baresip]


def softphone(
    baresip: BaresipFactory, sim: SimulatorHandle, password: str = "Password", **options: object
) -> Baresip:
    assert sim.sip_port is not None
    return baresip(
        user="abcde20200",
        domain=DOMAIN,
        password=password,
        registrar=("127.0.0.1", sim.sip_port),
        **options,
    )


@pytest.mark.peers
def test_baresip_registers_with_the_documents_credentials(
    baresip: BaresipFactory, sim: SimulatorHandle
) -> None:
    assert not softphone(baresip, sim, password="wrong-one").wait_registered()
    phone = softphone(baresip, sim)
    assert phone.wait_registered()
    listed = eventually(lambda: rows(sim, "/api/registrations"), "baresip listed")
    assert [(r["terminal_id"], r["extension"]) for r in listed] == [("abcde20200", "20200")]


@pytest.mark.peers
def test_baresip_calls_a_virtual_phone_and_is_called_by_one(
    baresip: BaresipFactory, sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    bare = softphone(baresip, sim)
    assert bare.wait_registered()
    point_at(phone_factory, sim, GUIDE)
    virtual = phone_factory.for_terminal(GUIDE, GUIDE.terminals[1])  # 20201
    virtual.never_answer()
    virtual.register()

    bare.dial(f"sip:20201@{DOMAIN}")  # through the simulator (outbound proxy), digest on 407
    ring = virtual.incoming()
    assert ring.peer == "20200"
    ring.answer()
    bare.wait_event(CALL_ESTABLISHED)
    bare.hangup()
    ring.wait_ended()
    bare.wait_event(CALL_CLOSED)

    call = virtual.call("20200")  # the 一斉着信 pilot: its member 20200 (baresip) rings
    incoming = bare.wait_event(CALL_INCOMING)
    assert "20201" in incoming.peer_uri
    bare.accept()
    call.wait_for(PhoneEventKind.CONNECTED)
    call.hangup()
    bare.wait_event(CALL_CLOSED)


# -- audio both ways (issue 13 item 4): baresip's aufile source, its sndfile recording -------

VIRTUAL = "20201"
#: baresip's tone: one of the phones' tones, far from the virtual phone's (and 20200's, the name
#: a virtual phone of that extension would have), so "heard" can only mean baresip.
BARESIP_HZ = next(
    f
    for f in audio.TONES
    if all(abs(f - audio.tone_for(n)) > 10 * audio.TOLERANCE_HZ for n in (VIRTUAL, "20200"))
)
SOURCE_SECONDS = 30  # longer than any call here: aufile stops at the end of its file
#: Packets (20 ms each) the virtual phone must receive before what it hears is judged.
ENOUGH = 30


def source_wav(folder: Path, frequency: float | None) -> Path:
    """baresip's audio source: ``frequency`` (or digital silence) as 8 kHz mono S16LE."""
    count = SOURCE_SECONDS * audio.RATE
    samples = (
        np.zeros(count, dtype=np.int16)
        if frequency is None
        else audio.tone(frequency, start=0, count=count)
    )
    path = folder / "source.wav"
    path.write_bytes(audio.wav_bytes(samples))
    return path


def media_phones(
    baresip: BaresipFactory,
    sim: SimulatorHandle,
    factory: PhoneFactory,
    folder: Path,
    frequency: float | None,
) -> tuple[Baresip, Phone]:
    """baresip as 20200 sending ``frequency`` and recording, and 20201 with media on, both
    registered with the simulator."""
    bare = softphone(
        baresip, sim, audio_source=source_wav(folder, frequency), record_dir=folder / "heard"
    )
    assert bare.wait_registered()
    point_at(factory, sim, GUIDE)
    factory.media = True
    virtual = factory.for_terminal(GUIDE, GUIDE.terminals[1])
    assert virtual.name == VIRTUAL
    virtual.never_answer()
    virtual.register()
    return bare, virtual


def hears_baresip(report: MediaReport) -> bool:
    return report.hears_tone(BARESIP_HZ)


def recorded_hz(bare: Baresip) -> float | None:
    """The tone of what baresip recorded on the call that just ended."""
    recording = bare.take_recording()
    return audio.dominant_frequency(audio.audible(audio.wav_samples(recording.read_bytes())))


@pytest.mark.peers
def test_baresip_and_a_virtual_phone_hear_each_other_both_ways(
    baresip: BaresipFactory, sim: SimulatorHandle, phone_factory: PhoneFactory, tmp_path: Path
) -> None:
    bare, virtual = media_phones(baresip, sim, phone_factory, tmp_path, BARESIP_HZ)
    own_hz = audio.tone_for(VIRTUAL)

    # virtual → baresip (through the 一斉着信 pilot 20200, whose registered member is baresip)
    call = virtual.call("20200")
    bare.wait_event(CALL_INCOMING)
    bare.accept()
    call.wait_for(PhoneEventKind.CONNECTED)
    report = call.wait_media(
        lambda r: hears_baresip(r) and r.received.packets >= ENOUGH and r.sent_packets >= ENOUGH,
        f"20201 hears baresip's {BARESIP_HZ:g} Hz",
    )
    assert report.received.lost == 0 and report.codec in ("PCMU", "PCMA"), report
    call.hangup()
    bare.wait_event(CALL_CLOSED)
    heard = recorded_hz(bare)
    assert heard is not None and abs(heard - own_hz) <= audio.TOLERANCE_HZ, (heard, own_hz)

    # baresip → virtual
    bare.dial(f"sip:{VIRTUAL}@{DOMAIN}")
    ring = virtual.incoming()
    ring.answer()
    bare.wait_event(CALL_ESTABLISHED)
    report = ring.wait_media(
        lambda r: hears_baresip(r) and r.received.packets >= ENOUGH and r.sent_packets >= ENOUGH,
        f"20201 hears baresip's {BARESIP_HZ:g} Hz when baresip calls",
    )
    assert report.received.lost == 0, report
    bare.hangup()
    ring.wait_ended()
    bare.wait_event(CALL_CLOSED)
    heard = recorded_hz(bare)
    assert heard is not None and abs(heard - own_hz) <= audio.TOLERANCE_HZ, (heard, own_hz)


@pytest.mark.peers
def test_a_silent_baresip_is_heard_by_nobody(
    baresip: BaresipFactory, sim: SimulatorHandle, phone_factory: PhoneFactory, tmp_path: Path
) -> None:
    bare, virtual = media_phones(baresip, sim, phone_factory, tmp_path, None)

    bare.dial(f"sip:{VIRTUAL}@{DOMAIN}")
    ring = virtual.incoming()
    ring.answer()
    bare.wait_event(CALL_ESTABLISHED)
    # RTP arrives (baresip sends its silent source), and it is heard as nothing.
    report = ring.wait_media(
        lambda r: r.received.packets >= ENOUGH, "baresip's silent RTP reaches 20201"
    )
    assert report.heard_hz is None and not hears_baresip(report), report
    bare.hangup()
    ring.wait_ended()
    bare.wait_event(CALL_CLOSED)
