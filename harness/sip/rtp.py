"""RTP for the virtual phones, pure: packets (RFC 3550 §5.1), RFC 4733 telephone events, the
receiver statistics of RFC 3550 (appendix A.1 sequence tracking, A.8 interarrival jitter), RTCP
receiver reports (§6.4.2) and an ITU-T G.107 E-model MOS estimate.

Theory of operation. ``RtpPacket.parse``/``serialize`` are exact inverses for every packet
the phones send (a Hypothesis property in ``tests/sip/test_rtp.py``); a datagram that is not
RTP version 2, is shorter than its header says, or carries a bad padding count is an
``RtpError``. ``ReceiverStats`` is fed each packet with its arrival time (seconds, given by the
caller: this module reads no clock) and keeps what RFC 3550 says a receiver keeps — highest
sequence with wrap-around cycles, packets received and expected, cumulative loss, sequence
gaps, the interarrival jitter ``J += (|D| - J)/16`` in timestamp units — plus when the first
packet came (``late start``: the time from answer to the first packet), and gives the RFC 3550
§6.4.1 report block of each interval, which ``ReceiverReport`` (an RTCP RR, §6.4.2) carries
back to the sender; ``is_rtcp`` tells RTCP from RTP on one port (RFC 5761 §4). ``mos``
turns loss and delay into the G.107 R-factor and its MOS (docs/media.md "Statistics and MOS"
gives the formulas and the references).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

#: RFC 4733 §3.2: events 0-15 are the DTMF digits in this order.
DTMF_DIGITS = "0123456789*#ABCD"
#: RFC 3550 A.1: the sequence-number window of a valid packet.
MAX_DROPOUT = 3000
MAX_MISORDER = 100
_HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """A datagram that is not an RTP packet we can read, and why."""


@dataclass(frozen=True, kw_only=True)
class RtpPacket:
    """One RTP packet (RFC 3550 §5.1). Header extensions are kept as bytes, unread."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: bytes | None = None  # the whole extension block (profile word included)
    padding: int = 0  # bytes of padding after the payload, the last one counting them

    def serialize(self) -> bytes:
        first = 0x80 | (0x20 if self.padding else 0) | (0x10 if self.extension is not None else 0)
        head = _HEADER.pack(
            first | len(self.csrc),
            (0x80 if self.marker else 0) | self.payload_type,
            self.sequence & 0xFFFF,
            self.timestamp & 0xFFFFFFFF,
            self.ssrc & 0xFFFFFFFF,
        )
        csrc = b"".join(struct.pack("!I", c) for c in self.csrc)
        pad = bytes(self.padding - 1) + bytes([self.padding]) if self.padding else b""
        return head + csrc + (self.extension or b"") + self.payload + pad

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < _HEADER.size:
            raise RtpError(f"{len(data)} bytes: shorter than the 12-byte RTP header")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise RtpError(f"RTP version {first >> 6}: only version 2 exists (RFC 3550 §5.1)")
        offset = _HEADER.size
        count = first & 0x0F
        if len(data) < offset + 4 * count:
            raise RtpError(f"header names {count} CSRCs; the packet is too short for them")
        csrc = struct.unpack_from(f"!{count}I", data, offset)
        offset += 4 * count
        extension = None
        if first & 0x10:
            if len(data) < offset + 4:
                raise RtpError("extension bit set but no extension header")
            (words,) = struct.unpack_from("!H", data, offset + 2)
            end = offset + 4 + 4 * words
            if len(data) < end:
                raise RtpError(f"extension of {words} words runs past the packet")
            extension, offset = data[offset:end], end
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > len(data):
                raise RtpError(f"padding count {padding} does not fit the packet")
        return cls(
            payload_type=second & 0x7F,
            marker=bool(second & 0x80),
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            csrc=csrc,
            extension=extension,
            payload=data[offset : len(data) - padding],
            padding=padding,
        )


@dataclass(frozen=True, kw_only=True)
class TelephoneEvent:
    """An RFC 4733 §2.3 event payload: event code, end bit, volume (-dBm0), duration (in
    timestamp units since the event's start)."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def serialize(self) -> bytes:
        return struct.pack(
            "!BBH", self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration
        )

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        if len(payload) < 4:
            raise RtpError(f"telephone-event payload of {len(payload)} bytes; it has 4")
        event, flags, duration = struct.unpack_from("!BBH", payload)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    @property
    def digit(self) -> str | None:
        return DTMF_DIGITS[self.event] if self.event < len(DTMF_DIGITS) else None


def dtmf_event(digit: str) -> int:
    """The RFC 4733 event code of a DTMF digit (``0-9 * # A-D``)."""
    index = DTMF_DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if index < 0:
        raise ValueError(f"DTMF digit {digit!r}: one of {DTMF_DIGITS}")
    return index


@dataclass(kw_only=True)
class ReceiverStats:
    """What a receiver keeps of one RTP stream (RFC 3550 §6.4.1 and appendix A).

    ``feed`` every packet with its arrival time in seconds; ``jitter`` (timestamp units) is
    updated only for packets with ``count_jitter`` (audio: an RFC 4733 event repeats one
    timestamp for its whole duration, which is not network jitter)."""

    clock_rate: int = 8000
    received: int = 0
    gaps: int = 0  # times the sequence jumped forward by more than one
    duplicates_or_late: int = 0
    jitter: float = 0.0
    first_arrival: float | None = None
    last_arrival: float | None = None
    ssrc: int | None = None
    _base_seq: int = 0
    _max_seq: int = 0
    _cycles: int = 0
    _transit: float | None = field(default=None, repr=False)
    _expected_prior: int = field(default=0, repr=False)
    _received_prior: int = field(default=0, repr=False)

    def feed(self, packet: RtpPacket, arrival: float, *, count_jitter: bool = True) -> None:
        seq = packet.sequence
        if self.ssrc is None or packet.ssrc != self.ssrc:
            # A new source (or the first packet): RFC 3550 A.1 init_seq.
            self.ssrc = packet.ssrc
            self._base_seq = self._max_seq = seq
            self._cycles = 0
            self._transit = None
            if self.first_arrival is None:
                self.first_arrival = arrival
        else:
            delta = (seq - self._max_seq) & 0xFFFF
            if 0 < delta < MAX_DROPOUT:
                if seq < self._max_seq:
                    self._cycles += 1 << 16  # wrapped
                if delta > 1:
                    self.gaps += 1
                self._max_seq = seq
            elif delta == 0 or delta > (1 << 16) - MAX_MISORDER:
                self.duplicates_or_late += 1  # a duplicate or a reordered late packet
            else:
                # A very large jump: the sender restarted its sequence (A.1: resync).
                self._base_seq = self._max_seq = seq
                self._cycles = 0
        self.received += 1
        self.last_arrival = arrival
        if count_jitter:
            # A.8: transit in timestamp units; J += (|D| - J) / 16.
            transit = arrival * self.clock_rate - packet.timestamp
            if self._transit is not None:
                self.jitter += (abs(transit - self._transit) - self.jitter) / 16
            self._transit = transit

    @property
    def expected(self) -> int:
        """A.3: packets expected, from the extended highest sequence and the first one."""
        if self.ssrc is None:
            return 0
        return self._cycles + self._max_seq - self._base_seq + 1

    @property
    def lost(self) -> int:
        """A.3: cumulative loss, expected - received (duplicates can make it negative: 0)."""
        return max(0, self.expected - self.received)

    @property
    def loss_fraction(self) -> float:
        return self.lost / self.expected if self.expected else 0.0

    @property
    def jitter_ms(self) -> float:
        return 1000.0 * self.jitter / self.clock_rate

    def report_block(self) -> ReportBlock | None:
        """The RFC 3550 §6.4.1 report block of this stream now, and a new interval begun
        (A.3: the fraction lost is of the packets expected since the previous block); None
        before the first packet."""
        if self.ssrc is None:
            return None
        expected = self.expected
        interval_expected = expected - self._expected_prior
        interval_lost = interval_expected - (self.received - self._received_prior)
        self._expected_prior, self._received_prior = expected, self.received
        fraction = 0
        if interval_expected > 0 and interval_lost > 0:
            fraction = min(255, (interval_lost << 8) // interval_expected)
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            cumulative_lost=min(self.lost, 0x7FFFFF),
            highest_sequence=(self._cycles + self._max_seq) & 0xFFFFFFFF,
            jitter=int(self.jitter),
        )


# -- RTCP (RFC 3550 §6.4) -------------------------------------------------------------------

RTCP_SR = 200
RTCP_RR = 201
_RTCP_HEADER = struct.Struct("!BBHI")
_BLOCK = struct.Struct("!IIIIII")
_SENDER_INFO = 20  # NTP timestamp (8), RTP timestamp, packet count, octet count


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 §4: on a multiplexed port, a second octet of 192-223 is RTCP (the RTP payload
    types it would mean, 64-95 with the marker, are not used)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


@dataclass(frozen=True, kw_only=True)
class ReportBlock:
    """RFC 3550 §6.4.1: what a receiver reports of one source."""

    ssrc: int
    fraction_lost: int  # lost/expected in the last interval, in 1/256
    cumulative_lost: int
    highest_sequence: int  # extended: cycles << 16 | highest sequence number
    jitter: int  # timestamp units
    last_sr: int = 0
    delay_since_last_sr: int = 0

    def serialize(self) -> bytes:
        return _BLOCK.pack(
            self.ssrc & 0xFFFFFFFF,
            (self.fraction_lost & 0xFF) << 24 | (self.cumulative_lost & 0xFFFFFF),
            self.highest_sequence & 0xFFFFFFFF,
            self.jitter & 0xFFFFFFFF,
            self.last_sr & 0xFFFFFFFF,
            self.delay_since_last_sr & 0xFFFFFFFF,
        )

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> ReportBlock:
        ssrc, lost, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        cumulative = lost & 0xFFFFFF
        if cumulative & 0x800000:  # 24-bit two's complement (duplicates can make it < 0)
            cumulative -= 1 << 24
        return cls(
            ssrc=ssrc,
            fraction_lost=lost >> 24,
            cumulative_lost=cumulative,
            highest_sequence=highest,
            jitter=jitter,
            last_sr=lsr,
            delay_since_last_sr=dlsr,
        )


@dataclass(frozen=True, kw_only=True)
class ReceiverReport:
    """An RTCP receiver report (RFC 3550 §6.4.2, PT 201): the reporter's SSRC and one block
    per source it hears. Parsing also reads the blocks of a sender report (PT 200, §6.4.1),
    skipping its sender information, since that is where an active sender puts them."""

    ssrc: int
    blocks: tuple[ReportBlock, ...] = ()

    def serialize(self) -> bytes:
        if len(self.blocks) > 31:
            raise ValueError("an RTCP report holds at most 31 report blocks")
        words = 1 + 6 * len(self.blocks)  # the length field: 32-bit words minus one
        head = _RTCP_HEADER.pack(0x80 | len(self.blocks), RTCP_RR, words, self.ssrc)
        return head + b"".join(block.serialize() for block in self.blocks)

    @classmethod
    def parse(cls, data: bytes) -> ReceiverReport:
        """The first packet of a compound RTCP datagram, which must be an SR or an RR."""
        if len(data) < _RTCP_HEADER.size:
            raise RtpError(f"{len(data)} bytes: shorter than an RTCP header")
        first, kind, words, ssrc = _RTCP_HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise RtpError(f"RTCP version {first >> 6}: only version 2 exists (RFC 3550 §6.4)")
        if kind not in (RTCP_SR, RTCP_RR):
            raise RtpError(f"RTCP packet type {kind}: a compound packet starts with SR or RR")
        length = 4 * (words + 1)
        offset = _RTCP_HEADER.size + (_SENDER_INFO if kind == RTCP_SR else 0)
        count = first & 0x1F
        if len(data) < length or length < offset + _BLOCK.size * count:
            raise RtpError(f"RTCP length {length} does not hold {count} report blocks")
        blocks = tuple(ReportBlock.parse(data, offset + _BLOCK.size * i) for i in range(count))
        return cls(ssrc=ssrc, blocks=blocks)


@dataclass(frozen=True, kw_only=True)
class EModelCodec:
    """A codec's G.113 Appendix I values: equipment impairment ``ie`` and packet-loss
    robustness ``bpl``."""

    ie: float
    bpl: float


#: G.711 without packet-loss concealment (the virtual phones conceal nothing): Ie 0, Bpl 4.3
#: (ITU-T G.113 Appendix I, Table I.3); with PLC it would be 25.1.
G711 = EModelCodec(ie=0.0, bpl=4.3)
#: G.107 §7 default R0 - Is with every other parameter at its default value.
R_DEFAULT = 93.2


def r_factor(
    *, loss: float, delay_ms: float, codec: EModelCodec = G711, burst: float = 1.0
) -> float:
    """The G.107 transmission rating R = R0 - Is - Id - Ie,eff (+ A = 0) with the defaults.

    ``loss``: fraction lost (0-1); ``delay_ms``: one-way mouth-to-ear delay; ``burst``: BurstR
    (1 = random loss). Ie,eff = Ie + (95 - Ie)·Ppl/(Ppl/BurstR + Bpl) (G.107 eq. 7-29); Id by
    the usual simplification of G.107's delay terms with the default echo values,
    Id = 0.024·d + 0.11·(d - 177.3)·H(d - 177.3) (Cole & Rosenbluth, 2001)."""
    ppl = 100.0 * min(max(loss, 0.0), 1.0)
    ie_eff = codec.ie + (95.0 - codec.ie) * ppl / (ppl / burst + codec.bpl)
    d = max(delay_ms, 0.0)
    delay = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)
    return R_DEFAULT - delay - ie_eff


def mos(r: float) -> float:
    """G.107 Annex B: the estimated MOS (conversational quality) of a rating R."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
