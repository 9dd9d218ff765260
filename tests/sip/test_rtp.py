"""RTP packets, RFC 4733 events, RFC 3550 receiver statistics, the G.107 E-model
(harness.sip.rtp) and G.711 / tone detection (harness.sip.audio)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.sip.audio import (
    CODECS,
    TONES,
    alaw_decode,
    alaw_encode,
    dominant_frequency,
    tone,
    tone_for,
    ulaw_decode,
    ulaw_encode,
    who,
)
from harness.sip.rtp import (
    ReceiverReport,
    ReceiverStats,
    ReportBlock,
    RtpError,
    RtpPacket,
    TelephoneEvent,
    dtmf_event,
    is_rtcp,
    mos,
    r_factor,
)

# -- packets ---------------------------------------------------------------------------------

PACKET_CASES = [
    (
        "pcmu-marker",
        bytes.fromhex("80 80 00 01 00 00 00 a0 12 34 56 78") + b"\xff" * 4,
        RtpPacket(
            payload_type=0,
            marker=True,
            sequence=1,
            timestamp=160,
            ssrc=0x12345678,
            payload=b"\xff" * 4,
        ),
    ),
    (
        "csrc-extension-padding",
        bytes.fromhex("b1 08 ff ff ff ff ff ff 00 00 00 01 00 00 00 02 be de 00 01 01 02 03 04")
        + b"ab"
        + bytes.fromhex("00 00 03"),
        RtpPacket(
            payload_type=8,
            sequence=0xFFFF,
            timestamp=0xFFFFFFFF,
            ssrc=1,
            csrc=(2,),
            extension=bytes.fromhex("be de 00 01 01 02 03 04"),
            payload=b"ab",
            padding=3,
        ),
    ),
]


@pytest.mark.parametrize(
    ("data", "packet"), [c[1:] for c in PACKET_CASES], ids=[c[0] for c in PACKET_CASES]
)
def test_packet_parse_and_serialize(data: bytes, packet: RtpPacket) -> None:
    assert RtpPacket.parse(data) == packet
    assert packet.serialize() == data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\x00", "shorter than the 12-byte"),
        (bytes.fromhex("40 00 00 01 00 00 00 00 00 00 00 01"), "version 1"),
        (bytes.fromhex("82 00 00 01 00 00 00 00 00 00 00 01 00 00 00 02"), "2 CSRCs"),
        (bytes.fromhex("90 00 00 01 00 00 00 00 00 00 00 01"), "no extension header"),
        (bytes.fromhex("90 00 00 01 00 00 00 00 00 00 00 01 be de 00 05"), "5 words"),
        (bytes.fromhex("a0 00 00 01 00 00 00 00 00 00 00 01 00"), "padding count 0"),
        (bytes.fromhex("a0 00 00 01 00 00 00 00 00 00 00 01 09"), "padding count 9"),
    ],
)
def test_bad_packets_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        RtpPacket.parse(data)


@given(
    st.builds(
        RtpPacket,
        payload_type=st.integers(0, 127),
        sequence=st.integers(0, 0xFFFF),
        timestamp=st.integers(0, 0xFFFFFFFF),
        ssrc=st.integers(0, 0xFFFFFFFF),
        payload=st.binary(max_size=200),
        marker=st.booleans(),
        csrc=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
        extension=st.none()
        | st.binary(max_size=12).map(
            lambda b: b"\xbe\xde" + (len(b) // 4).to_bytes(2, "big") + b[: len(b) // 4 * 4]
        ),
        padding=st.integers(0, 255),
    )
)
def test_packet_round_trip(packet: RtpPacket) -> None:
    assert RtpPacket.parse(packet.serialize()) == packet


def test_telephone_event_payload() -> None:
    # RFC 4733 §2.3: event 5, end bit, volume 10, duration 800.
    data = bytes.fromhex("05 8a 03 20")
    event = TelephoneEvent.parse(data)
    assert event == TelephoneEvent(event=5, end=True, volume=10, duration=800)
    assert event.serialize() == data and event.digit == "5"
    assert [TelephoneEvent(event=dtmf_event(d)).digit for d in "0*#D"] == ["0", "*", "#", "D"]
    assert TelephoneEvent(event=16).digit is None
    with pytest.raises(ValueError, match="DTMF digit 'x'"):
        dtmf_event("x")
    with pytest.raises(RtpError, match="3 bytes"):
        TelephoneEvent.parse(b"\x00\x00\x00")


# -- RFC 3550 statistics ---------------------------------------------------------------------


def _feed(
    stats: ReceiverStats,
    seqs: list[int],
    *,
    interval: float = 0.02,
    jitter: list[float] | None = None,
) -> None:
    for i, seq in enumerate(seqs):
        packet = RtpPacket(payload_type=0, sequence=seq & 0xFFFF, timestamp=160 * seq, ssrc=7)
        stats.feed(packet, 1.0 + seq * interval + (jitter[i] if jitter else 0.0))


def test_a_clean_stream_has_no_loss_and_no_jitter() -> None:
    stats = ReceiverStats()
    _feed(stats, list(range(100)))
    assert (stats.received, stats.expected, stats.lost, stats.gaps) == (100, 100, 0, 0)
    assert stats.jitter_ms == pytest.approx(0.0, abs=1e-9)
    assert stats.first_arrival == 1.0


def test_loss_and_gaps_across_the_sequence_wrap() -> None:
    stats = ReceiverStats()
    seqs = [s for s in range(65530, 65546) if s not in (65534, 65535, 65540)]
    _feed(stats, seqs)
    assert stats.expected == 16
    assert (stats.received, stats.lost, stats.gaps) == (13, 3, 2)
    assert stats.loss_fraction == pytest.approx(3 / 16)


def test_duplicates_and_late_packets() -> None:
    stats = ReceiverStats()
    _feed(stats, [1, 2, 4, 3, 4, 5])
    assert (stats.expected, stats.received, stats.lost, stats.duplicates_or_late) == (5, 6, 0, 2)


def test_jitter_follows_the_rfc_formula() -> None:
    # Alternating +-2 ms delay: |D| = 4 ms = 32 timestamp units after the first packet, so
    # J_n = J_{n-1} + (32 - J_{n-1})/16 → 32 units (4 ms).
    stats = ReceiverStats()
    _feed(stats, list(range(400)), jitter=[0.002 * (-1) ** i for i in range(400)])
    assert stats.jitter_ms == pytest.approx(4.0, rel=1e-3)
    one = ReceiverStats()
    _feed(one, [0, 1], jitter=[0.0, 0.004])
    assert one.jitter == pytest.approx(32 / 16)


def test_a_new_ssrc_restarts_the_sequence() -> None:
    stats = ReceiverStats()
    _feed(stats, [10, 11])
    stats.feed(RtpPacket(payload_type=0, sequence=5000, timestamp=0, ssrc=8), 2.0)
    stats.feed(RtpPacket(payload_type=0, sequence=5001, timestamp=160, ssrc=8), 2.02)
    assert (stats.expected, stats.received, stats.first_arrival) == (2, 4, 1.2)


# -- RTCP receiver reports (RFC 3550 §6.4, RFC 5761 §4) ------------------------------------

# RR from SSRC 0x01020304 with one block: source 0x0a0b0c0d, fraction 64/256, 3 lost,
# extended highest 0x00010005, jitter 40, no SR seen.
RR_BYTES = bytes.fromhex(
    "81 c9 00 07 01 02 03 04"
    " 0a 0b 0c 0d 40 00 00 03 00 01 00 05 00 00 00 28 00 00 00 00 00 00 00 00"
)
RR = ReceiverReport(
    ssrc=0x01020304,
    blocks=(
        ReportBlock(
            ssrc=0x0A0B0C0D,
            fraction_lost=64,
            cumulative_lost=3,
            highest_sequence=0x00010005,
            jitter=40,
        ),
    ),
)


def test_receiver_report_parse_and_serialize() -> None:
    assert RR.serialize() == RR_BYTES
    assert ReceiverReport.parse(RR_BYTES) == RR
    # The same block inside a sender report (20 bytes of sender information first).
    sr = bytes([0x81, 200, 0x00, 0x0C]) + RR_BYTES[4:8] + bytes(20) + RR_BYTES[8:]
    assert ReceiverReport.parse(sr) == RR
    # A negative cumulative loss (duplicates) is 24-bit two's complement.
    block = replace(RR.blocks[0], cumulative_lost=-2)
    assert ReportBlock.parse(block.serialize()).cumulative_lost == -2


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (RR_BYTES[:6], "shorter than an RTCP header"),
        (bytes([0x41]) + RR_BYTES[1:], "RTCP version 1"),
        (RR_BYTES[:1] + bytes([202]) + RR_BYTES[2:], "starts with SR or RR"),
        (RR_BYTES[:-4], "does not hold 1 report blocks"),
    ],
)
def test_bad_rtcp_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        ReceiverReport.parse(data)


def test_rtcp_and_rtp_are_told_apart_on_one_port() -> None:
    assert is_rtcp(RR_BYTES)
    assert not is_rtcp(RtpPacket(payload_type=0, sequence=1, timestamp=0, ssrc=1).serialize())
    marked = RtpPacket(payload_type=101, sequence=1, timestamp=0, ssrc=1, marker=True)
    assert not is_rtcp(marked.serialize())  # 0x80 | 101 = 229: above the RTCP range


def test_report_blocks_count_each_interval() -> None:
    stats = ReceiverStats()
    assert stats.report_block() is None
    _feed(stats, [s for s in range(10) if s not in (3, 4)])  # 2 of 10 lost
    first = stats.report_block()
    assert first is not None
    assert (first.fraction_lost, first.cumulative_lost, first.highest_sequence) == (51, 2, 9)
    _feed(stats, list(range(10, 20)))  # a clean interval: fraction 0, cumulative still 2
    second = stats.report_block()
    assert second is not None and (second.fraction_lost, second.cumulative_lost) == (0, 2)


# -- E-model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "delay", "expected_r", "expected_mos"),
    [
        (0.0, 0.0, 93.2, 4.41),  # G.107's default R with G.711: MOS 4.41
        (0.01, 0.0, 93.2 - 95 / 5.3, 3.83),  # Ie,eff = 95·1/(1+4.3); MOS by Annex B
        (0.0, 200.0, 93.2 - 4.8 - 0.11 * 22.7, 4.23),
    ],
)
def test_emodel(loss: float, delay: float, expected_r: float, expected_mos: float) -> None:
    r = r_factor(loss=loss, delay_ms=delay)
    assert r == pytest.approx(expected_r)
    assert mos(r) == pytest.approx(expected_mos, abs=0.01)


def test_mos_bounds() -> None:
    assert mos(-5) == 1.0 and mos(120) == 4.5
    assert mos(r_factor(loss=1.0, delay_ms=0)) < 1.1


# -- G.711 and tones -------------------------------------------------------------------------


def test_g711_reference_values() -> None:
    # G.711 Table 2a/2b ends: μ-law 0xFF/0x7F are ±0, 0x80/0x00 ±8031·4 = ±32124;
    # A-law 0xD5/0x55 are ±8 (no zero), 0xAA/0x2A ±32256.
    assert ulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00])).tolist() == [0, 0, 32124, -32124]
    assert alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A])).tolist() == [8, -8, 32256, -32256]
    zero = np.zeros(1, dtype=np.int16)
    assert (ulaw_encode(zero), alaw_encode(zero)) == (b"\xff", b"\xd5")


@pytest.mark.parametrize("name", sorted(CODECS))
def test_g711_round_trip(name: str) -> None:
    encode, decode = CODECS[name]
    every_byte = bytes(b for b in range(256) if not (name == "PCMU" and b == 0x7F))  # -0
    assert encode(decode(every_byte)) == every_byte
    x = np.arange(-32768, 32768, 7, dtype=np.int32).astype(np.int16)
    error = np.abs(decode(encode(x)).astype(np.int32) - x.astype(np.int32))
    # G.711 quantisation: the error stays within half a step of the segment (≤ 1/32 of |x|
    # above the smallest segments, plus clipping at μ-law's 32635).
    assert int(error.max()) <= 644
    big = np.abs(x.astype(np.int32)) > 1024
    assert float((error[big] / np.abs(x[big].astype(np.int32))).max()) < 0.035


@pytest.mark.parametrize("frequency", [400.0, 1250.0, 2950.0, 3350.0])
@pytest.mark.parametrize("codec", sorted(CODECS))
def test_a_tone_is_found_through_g711(frequency: float, codec: str) -> None:
    encode, decode = CODECS[codec]
    samples = tone(frequency, start=123, count=1600)
    assert dominant_frequency(decode(encode(samples))) == pytest.approx(frequency, abs=2)


def test_silence_and_noise_are_no_tone() -> None:
    assert dominant_frequency(np.zeros(1600, dtype=np.int16)) is None
    noise = np.random.default_rng(1).normal(0, 3000, 1600).astype(np.int16)
    assert dominant_frequency(noise) is None
    assert dominant_frequency(tone(1000, start=0, count=10)) is None  # too short to say


def test_two_tones_mixed_are_no_single_tone() -> None:
    # Mixed equally, neither tone holds the share a phone's tone needs.
    mixed = tone(500, start=0, count=1600, amplitude=4000) + tone(
        2500, start=0, count=1600, amplitude=4000
    )
    assert dominant_frequency(mixed) is None


def test_tones_identify_phones() -> None:
    assert all(abs(t - d) > 40 for t in TONES for d in (697, 770, 852, 941, 1209, 1336, 1477, 1633))
    assert tone_for("20200") == tone_for("20200") and tone_for("20200") in TONES
    tones = {"a": 500.0, "b": 800.0}
    assert who(503.0, tones) == "a" and who(790.0, tones) == "b"
    assert who(650.0, tones) is None and who(None, tones) is None and who(500.0, {}) is None
