"""RTP media of the virtual phones: one UDP socket per call, 20 ms G.711 packets of the phone's
own tone out, the far side's packets in (RFC 3550 statistics, tone detection, RFC 4733 DTMF).

Theory of operation (docs/media.md). A ``MediaSession`` is opened when a phone writes an SDP
offer or answer (its socket is bound first, on a free loopback port, so the ``m=`` line
advertises the port that really listens) and started when offer/answer completes
(``start(negotiated)``, from ``harness.sip.sdp.negotiate``); a re-INVITE calls ``start`` again
with the new agreement (hold: ``sendonly`` / ``recvonly`` / ``inactive``, RFC 3264 §8.4), and
BYE, CANCEL or closing the phone calls ``stop``.

- **Sending.** A pacer on the asyncio loop ticks every ``PTIME`` *real* seconds at absolute
  deadlines (``start + n · PTIME``, so it does not drift). Packet pacing is media, not a
  service timer: it never goes through the phone's ``Clock`` and is not scaled (DESIGN.md
  "Time" scales the service's timers only). Each tick sends one packet when the agreement lets
  this side send: 160 samples of ``audio.tone_for(name)`` in the negotiated codec, the
  timestamp advancing with every tick (sent or not, RFC 3550 §5.1: it is the sampling
  instant) and the sequence number with every packet sent. A queued DTMF digit replaces the
  audio (RFC 4733 §2.5: an event of ``DTMF_TICKS`` packets with a growing duration, the end
  packet sent three times, then ``DTMF_PAUSE_TICKS`` of audio before the next digit). A loop
  that fell behind by more than ``MAX_BEHIND`` ticks skips ahead instead of sending a burst.
- **Receiving.** Every datagram is parsed (``RtpPacket.parse``; one that is not RTP is counted
  as ``malformed``) and fed to one ``ReceiverStats`` with its arrival time (``loop.time()``);
  telephone-event packets are not counted for jitter and give the digits seen (one digit per
  event, i.e. per RTP timestamp). Audio payloads go to a window of the last ``WINDOW`` packets —
  memory is bounded, whatever the call's length. A packet that arrives while the agreement
  says the far side must not send (``GRACE`` after the change, for packets in flight) is
  ``unexpected``: a PBX or phone that keeps sending on hold.
- **Reporting.** ``report()`` decodes the window's packets of the last ``FRESH`` seconds and
  finds their dominant frequency (``audio.dominant_frequency``); ``VOICES`` (the names of the
  open phones and sessions of this process) turns it into the phone heard. Nothing fresh is
  ``heard=None``: after the far side stops sending, a listener hears silence. ``stop`` freezes
  the last report, so a call that has ended still says what was heard until its end.

When both SDPs say ``a=rtcp-mux`` (RFC 5761) the session sends an RTCP receiver report on the
RTP port every ``RTCP_TICKS`` and reads the far side's: its block about our SSRC is the report's
``far`` — the sending direction, measured where it arrives (docs/media.md "… and RTCP").
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from harness.sip import audio
from harness.sip.rtp import (
    DTMF_DIGITS,
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
from harness.sip.sdp import STATIC_CODECS, TELEPHONE_EVENT_PT, Direction, Negotiated
from harness.sip.transport import LOOPBACK, Address, Faults, Inbound, UdpTransport

#: Packetisation time (seconds): RFC 3551 §4.5 G.711's default frame, the phones' a=ptime:20.
PTIME = 0.020
SAMPLES_PER_PACKET = round(audio.RATE * PTIME)
#: Audio packets kept for detection (0.5 s): the memory of a session does not grow with time.
WINDOW = 25
#: Only packets received this recently (seconds) count as heard "now".
FRESH = 0.5
#: Fewest fresh packets that make a detection (80 ms of audio).
MIN_PACKETS = 4
#: Seconds after a direction change during which packets still in flight are not unexpected.
GRACE = 0.2
#: An RFC 4733 digit: packets while the key is down (100 ms), end packets, then a pause.
DTMF_TICKS = 5
DTMF_END_REPEATS = 3
DTMF_PAUSE_TICKS = 3
#: Digits kept of what was received (the last ones).
MAX_DIGITS = 256
#: Ticks the pacer may fall behind before it skips ahead rather than sending a burst.
MAX_BEHIND = 5
#: Ticks between RTCP receiver reports (0.5 s) when rtcp-mux was agreed. RFC 3550 §6.2 asks
#: for 5 s at least on a network; on loopback test calls a report must come within a check.
RTCP_TICKS = 25


class Voices:
    """The names of the phones that can be heard now — every open media session's, and every
    open phone's that had media (``VirtualPhone`` holds its name until it closes, so a call's
    last report still names a peer that has just hung up) — so a detected frequency can be
    named. Counted: a name is forgotten when its last holder lets go."""

    def __init__(self) -> None:
        self._holders: dict[str, int] = {}

    def add(self, name: str) -> float:
        """Hold ``name``; returns its tone."""
        self._holders[name] = self._holders.get(name, 0) + 1
        return audio.tone_for(name)

    def remove(self, name: str) -> None:
        left = self._holders.get(name, 0) - 1
        if left > 0:
            self._holders[name] = left
        else:
            self._holders.pop(name, None)

    def who(self, frequency: float | None) -> str | None:
        """The name whose tone ``frequency`` is; names sharing that tone are all given
        (``"20200 or 30100"``): ``MediaReport.hears(name)`` is the check that never depends
        on which other phones are open."""
        if frequency is None:
            return None
        names = sorted(
            n for n in self._holders if abs(audio.tone_for(n) - frequency) <= audio.TOLERANCE_HZ
        )
        return " or ".join(names) if names else None


VOICES = Voices()


@functools.lru_cache(maxsize=4096)
def _frame(encoding: str, frequency: float, offset: int) -> bytes:
    """One packet's payload of ``frequency`` from sample ``offset`` (a tone of an integral
    frequency repeats every second: ``offset`` is taken modulo the rate by the caller)."""
    encode, _ = audio.CODECS[encoding]
    return encode(audio.tone(frequency, start=offset, count=SAMPLES_PER_PACKET))


@dataclass(frozen=True, kw_only=True)
class StreamReport:
    """The received direction of a call's media (RFC 3550 receiver statistics)."""

    packets: int  # RTP packets received (audio and DTMF events)
    expected: int  # RFC 3550 A.3: from the first and the highest sequence number
    lost: int
    loss: float  # fraction lost, 0-1
    jitter_ms: float  # RFC 3550 A.8 interarrival jitter
    gaps: int  # times the sequence number jumped by more than one
    late_start_ms: float | None  # from the session's start to the first packet; None: none
    mos: float | None  # G.107 E-model estimate; None without packets
    unexpected: int  # packets received while the agreement said the far side must not send
    malformed: int  # datagrams that were not RTP

    def __str__(self) -> str:
        if not self.packets:
            return "no RTP received"
        start = f", first after {self.late_start_ms:.0f} ms" if self.late_start_ms else ""
        extra = f", {self.unexpected} unexpected" if self.unexpected else ""
        score = f", MOS {self.mos:.2f}" if self.mos is not None else ""
        return (
            f"{self.packets} packets, lost {self.lost} ({100 * self.loss:.1f} %), "
            f"jitter {self.jitter_ms:.1f} ms, {self.gaps} gaps{start}{score}{extra}"
        )


@dataclass(frozen=True, kw_only=True)
class FarReport:
    """What the far end's RTCP receiver reports say of this side's stream (RFC 3550 §6.4.1):
    the sending direction, measured where it arrives."""

    reports: int  # receiver reports about our stream received so far
    lost: int  # cumulative, as the far end counts
    loss: float  # lost over the packets the far end expected, 0-1
    interval_loss: float  # the last report's fraction lost (its last interval), 0-1
    jitter_ms: float

    def __str__(self) -> str:
        return (
            f"far end reports lost {self.lost} ({100 * self.loss:.1f} %, last interval "
            f"{100 * self.interval_loss:.1f} %), jitter {self.jitter_ms:.1f} ms "
            f"({self.reports} RTCP reports)"
        )


@dataclass(frozen=True, kw_only=True)
class MediaReport:
    """What one phone's media did on one call: what it sent, what it received and heard."""

    phone: str
    codec: str | None  # the negotiated codec, None before offer/answer completed
    direction: str  # this side's negotiated direction (sendrecv, sendonly, recvonly, inactive)
    local: str  # where this side receives (the port its SDP advertises)
    remote: str | None  # where it sends
    tone_hz: float  # the tone this phone sends
    sent_packets: int
    sent_digits: str
    received: StreamReport
    heard: str | None  # the phone whose tone the fresh audio carries; None: nothing heard
    heard_hz: float | None
    digits: str  # DTMF digits received (RFC 4733 events), in order
    active: bool  # the session is running (False once stopped)
    far: FarReport | None = None  # the far end's RTCP about our stream (rtcp-mux agreed)

    def hears(self, name: str) -> bool:
        """The fresh audio carries the tone of the phone named ``name`` (by frequency: true
        also while another open phone shares that tone, which ``heard`` would name too)."""
        return self.hears_tone(audio.tone_for(name))

    def hears_tone(self, frequency: float) -> bool:
        """The fresh audio is a tone of ``frequency`` (within ``audio.TOLERANCE_HZ``): a peer
        that is no virtual phone (baresip's file, the voicemail's prompts)."""
        return self.heard_hz is not None and abs(self.heard_hz - frequency) <= audio.TOLERANCE_HZ

    def __str__(self) -> str:
        if self.heard is not None:
            hearing = f"hears {self.heard} ({self.heard_hz:.0f} Hz)"
        elif self.heard_hz is not None:
            hearing = f"hears an unknown tone of {self.heard_hz:.0f} Hz"
        elif self.received.packets:
            hearing = "hears nothing now (no fresh audio, or silence or noise)"
        else:
            hearing = "hears nothing: no RTP received"
        state = "" if self.active else " [stopped]"
        dtmf_in = f", DTMF in {self.digits!r}" if self.digits else ""
        dtmf_out = f", DTMF out {self.sent_digits!r}" if self.sent_digits else ""
        far = f" · {self.far}" if self.far is not None else ""
        agreed = (
            f"{self.codec} {self.direction}"
            if self.codec is not None
            else "no codec agreed (SDP offer/answer)"
        )
        return (
            f"{self.phone} {hearing}{state} · {agreed} "
            f"on {self.local} → {self.remote or 'nowhere'} · received: {self.received}"
            f"{dtmf_in} · sent {self.sent_packets} packets of {self.tone_hz:.0f} Hz{dtmf_out}"
            f"{far}"
        )


@dataclass(frozen=True, kw_only=True)
class OneWay:
    """One direction of a call between two phones with media: what the sender sent and what
    the receiver measured of it (``two_way``)."""

    sender: str
    receiver: str
    sent_packets: int
    received: StreamReport
    heard: bool  # the receiver hears the sender's tone now

    def __str__(self) -> str:
        verdict = "heard" if self.heard else "NOT heard"
        return (
            f"{self.sender} → {self.receiver}: {verdict}; sent {self.sent_packets} packets, "
            f"received {self.received}"
        )


@dataclass(frozen=True, kw_only=True)
class TwoWay:
    """Both directions of one call, from the two ends' reports (the sending side measures
    nothing of its own stream without RTCP: each direction is read at its receiver)."""

    forward: OneWay  # first report's phone → second's
    backward: OneWay

    @property
    def both_heard(self) -> bool:
        return self.forward.heard and self.backward.heard

    def __str__(self) -> str:
        return f"{self.forward}\n{self.backward}"


def two_way(first: MediaReport, second: MediaReport) -> TwoWay:
    """The call's two directions from its two ends' reports (``CallHandle.media_report()``
    of the caller and of the callee)."""

    def one_way(sender: MediaReport, receiver: MediaReport) -> OneWay:
        return OneWay(
            sender=sender.phone,
            receiver=receiver.phone,
            sent_packets=sender.sent_packets,
            received=receiver.received,
            heard=receiver.hears(sender.phone),
        )

    return TwoWay(forward=one_way(first, second), backward=one_way(second, first))


@dataclass
class _Digit:
    event: int
    timestamp: int
    tick: int = 0  # packets of this event sent so far


class MediaSession:
    """One call's RTP on the asyncio loop. Create with ``await MediaSession.open(name=…)``."""

    def __init__(self, *, name: str) -> None:
        self.name = name
        self.tone = VOICES.add(name)
        self._transport: UdpTransport | None = None
        self._loop = asyncio.get_running_loop()
        self._negotiated: Negotiated | None = None
        self._remote: Address | None = None  # where to send, from the agreement
        self._sends = False
        self._receives = False
        self._changed_at = 0.0
        self._started_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tick = 0
        self._epoch = 0.0
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._first_sequence = self._sequence
        self._far: ReportBlock | None = None
        self._far_reports = 0
        self._timestamp_base = secrets.randbits(32)
        self._sent = 0
        self.muted = False  # no audio although the agreement allows it (DTMF and RTCP still go)
        self._was_sending = False
        self._pending_digits: deque[str] = deque()
        self._digit: _Digit | None = None
        self._pause = 0
        self._sent_digits = ""
        self._digits_done: list[asyncio.Future[None]] = []
        self._stats = ReceiverStats()
        self._window: deque[tuple[float, int, bytes]] = deque(maxlen=WINDOW)
        self._events_seen: deque[int] = deque(maxlen=8)  # timestamps of recent events
        self._digits = ""
        self._unexpected = 0
        self._malformed = 0
        self._final: MediaReport | None = None
        self._closed = False

    @classmethod
    async def open(cls, *, name: str, faults: Faults | None = None) -> MediaSession:
        """Bind a UDP socket on a free loopback port (receiving at once; sending after
        ``start``). ``faults``: loss/delay injection of the media socket, for tests."""
        self = cls(name=name)
        try:
            self._transport = await UdpTransport.open(
                on_receive=self._receive, host=LOOPBACK, faults=faults
            )
        except BaseException:
            self._closed = True
            VOICES.remove(name)
            raise
        return self

    @property
    def local(self) -> Address:
        assert self._transport is not None
        return self._transport.local

    @property
    def port(self) -> int:
        """The port to advertise in the SDP ``m=audio`` line."""
        return self.local.port

    @property
    def stopped(self) -> bool:
        return self._final is not None

    # -- the agreement -----------------------------------------------------------------------

    def start(self, negotiated: Negotiated | None) -> None:
        """Apply an offer/answer outcome: the first one starts the pacer, later ones (a
        re-INVITE) change the codec, the far address or the directions. None (the stream was
        rejected): send and expect nothing."""
        if self.stopped:
            return
        now = self._loop.time()
        self._negotiated = negotiated
        self._remote = None
        if negotiated is not None and negotiated.remote_port:
            self._remote = Address(host=negotiated.remote_address, port=negotiated.remote_port)
        receives = negotiated is not None and negotiated.receives
        self._sends = negotiated is not None and negotiated.sends
        if negotiated is None or negotiated.telephone_event is None or not self._sends:
            # No more events can go: drop the digits still queued (their waiters are freed).
            self._digit = None
            self._pending_digits.clear()
            self._finish_digits()
        if receives != self._receives:
            self._changed_at = now
        self._receives = receives
        if self._started_at is None:
            self._started_at = self._epoch = now
            self._changed_at = now
            self._schedule()

    def send_dtmf(self, digits: str) -> asyncio.Future[None]:
        """Queue RFC 4733 events for ``digits`` (``0-9 * # A-D``); the future is done when
        the last one has been sent. A side that may not send, or that negotiated no
        telephone-event, refuses with ``ValueError``."""
        for digit in digits:
            dtmf_event(digit)  # ValueError names the valid digits
        negotiated = self._negotiated
        if negotiated is None or negotiated.telephone_event is None:
            raise ValueError(f"{self.name}: no telephone-event was negotiated for this call")
        if not self._sends:
            raise ValueError(f"{self.name}: the call's direction does not let this side send")
        done: asyncio.Future[None] = self._loop.create_future()
        self._pending_digits.extend(digits.upper())
        if not digits:
            done.set_result(None)
        else:
            self._digits_done.append(done)
        return done

    # -- sending -----------------------------------------------------------------------------

    def _schedule(self) -> None:
        self._timer = self._loop.call_at(self._epoch + (self._tick + 1) * PTIME, self._on_tick)

    def _on_tick(self) -> None:
        if self.stopped:
            return
        self._tick += 1
        behind = int((self._loop.time() - self._epoch) / PTIME) - self._tick
        if behind > MAX_BEHIND:
            self._tick += behind  # a stalled loop: skip ahead (the timestamp follows time)
        negotiated = self._negotiated
        if negotiated is not None and self._sends and self._remote is not None:
            self._send(negotiated, self._remote)
        else:
            self._was_sending = False
        if negotiated is not None and negotiated.rtcp_mux and self._remote is not None:
            if self._tick % RTCP_TICKS == 0:
                self._send_rtcp(self._remote)
        self._schedule()

    def _send_rtcp(self, remote: Address) -> None:
        """A receiver report on the RTP port (RFC 5761): one block for the stream we receive
        (none before its first packet). The phones send RR even while they send RTP (a
        sender report's NTP/RTP timestamp pair would need a wall clock, and nothing here
        reads one): the far end learns its loss and jitter either way."""
        block = self._stats.report_block()
        report = ReceiverReport(ssrc=self._ssrc, blocks=(block,) if block is not None else ())
        assert self._transport is not None
        self._transport.send(report.serialize(), remote)

    def _send(self, negotiated: Negotiated, remote: Address) -> None:
        timestamp = self._timestamp_base + self._tick * SAMPLES_PER_PACKET
        event_pt = negotiated.telephone_event
        if self._digit is None and self._pause == 0 and self._pending_digits and event_pt:
            self._digit = _Digit(event=dtmf_event(self._pending_digits.popleft()), timestamp=0)
            self._digit.timestamp = timestamp
        digit = self._digit
        if digit is None and self._pause:
            self._pause -= 1
        if digit is None and not self._pause and not self._pending_digits:
            self._finish_digits()
        if digit is None and self.muted:
            self._was_sending = False  # a muted phone sends no audio (its DTMF still goes)
            return
        marker = not self._was_sending  # RFC 3551 §4.1: the first packet of a talkspurt
        self._was_sending = True
        if digit is not None and event_pt is not None:
            digit.tick += 1
            end = digit.tick > DTMF_TICKS
            duration = min(digit.tick, DTMF_TICKS) * SAMPLES_PER_PACKET
            payload = TelephoneEvent(event=digit.event, end=end, duration=duration).serialize()
            packet = RtpPacket(
                payload_type=event_pt,
                sequence=self._sequence,
                timestamp=digit.timestamp,
                ssrc=self._ssrc,
                payload=payload,
                marker=digit.tick == 1,
            )
            if digit.tick >= DTMF_TICKS + DTMF_END_REPEATS:
                self._sent_digits = (self._sent_digits + DTMF_DIGITS[digit.event])[-MAX_DIGITS:]
                self._digit = None
                self._pause = DTMF_PAUSE_TICKS
        else:
            codec = negotiated.codec
            offset = (self._tick * SAMPLES_PER_PACKET) % audio.RATE
            packet = RtpPacket(
                payload_type=codec.payload_type,
                sequence=self._sequence,
                timestamp=timestamp,
                ssrc=self._ssrc,
                payload=_frame(codec.encoding.upper(), self.tone, offset),
                marker=marker,
            )
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._sent += 1
        assert self._transport is not None
        self._transport.send(packet.serialize(), remote)

    def _finish_digits(self) -> None:
        done, self._digits_done = self._digits_done, []
        for future in done:
            if not future.done():
                future.set_result(None)

    # -- receiving ---------------------------------------------------------------------------

    def _receive(self, inbound: Inbound) -> None:
        if self.stopped:
            return
        arrival = self._loop.time()
        if is_rtcp(inbound.data):
            self._on_rtcp(inbound.data)
            return
        try:
            packet = RtpPacket.parse(inbound.data)
        except RtpError:
            self._malformed += 1
            return
        if not self._receives and arrival - self._changed_at > GRACE:
            self._unexpected += 1
        if self._is_event(packet.payload_type):
            self._stats.feed(packet, arrival, count_jitter=False)
            self._on_event(packet)
            return
        self._stats.feed(packet, arrival)
        self._window.append((arrival, packet.payload_type, packet.payload))

    def _on_rtcp(self, data: bytes) -> None:
        try:
            report = ReceiverReport.parse(data)
        except RtpError:
            self._malformed += 1
            return
        for block in report.blocks:
            if block.ssrc == self._ssrc:
                self._far = block
                self._far_reports += 1

    def _far_report(self) -> FarReport | None:
        block = self._far
        if block is None:
            return None
        expected = (block.highest_sequence - self._first_sequence) % (1 << 32) + 1
        lost = max(block.cumulative_lost, 0)
        return FarReport(
            reports=self._far_reports,
            lost=lost,
            loss=lost / expected if expected else 0.0,
            interval_loss=block.fraction_lost / 256,
            jitter_ms=1000.0 * block.jitter / audio.RATE,
        )

    def _is_event(self, payload_type: int) -> bool:
        negotiated = self._negotiated
        if negotiated is not None and negotiated.telephone_event == payload_type:
            return True
        # Before (or without) an agreement: the payload type the phones offer events on.
        return payload_type == TELEPHONE_EVENT_PT and (
            negotiated is None or negotiated.codec.payload_type != payload_type
        )

    def _on_event(self, packet: RtpPacket) -> None:
        try:
            event = TelephoneEvent.parse(packet.payload)
        except RtpError:
            self._malformed += 1
            return
        # One event = one RTP timestamp (RFC 4733 §2.5.1.1); its first packet names the digit,
        # whichever of its packets (start, updates, end) happens to arrive first.
        if packet.timestamp in self._events_seen or event.digit is None:
            return
        self._events_seen.append(packet.timestamp)
        self._digits = (self._digits + event.digit)[-MAX_DIGITS:]

    def _decoder_of(self, payload_type: int) -> audio.Decoder | None:
        negotiated = self._negotiated
        if negotiated is None:
            return None  # no stream agreed (RFC 3264): nothing received is played
        if negotiated.codec.payload_type == payload_type:
            encoding = negotiated.codec.encoding.upper()
        elif payload_type in STATIC_CODECS:
            encoding = STATIC_CODECS[payload_type][0]
        else:
            return None
        codec = audio.CODECS.get(encoding)
        return codec[1] if codec is not None else None

    # -- reporting ---------------------------------------------------------------------------

    def report(self) -> MediaReport:
        """The session's report now (its last one, once stopped)."""
        if self._final is not None:
            return self._final
        return self._report(self._loop.time())

    def _report(self, now: float) -> MediaReport:
        frequency = self._dominant(now)
        stats = self._stats
        late = None
        if stats.first_arrival is not None and self._started_at is not None:
            late = max(0.0, 1000.0 * (stats.first_arrival - self._started_at))
        score = None
        if stats.received:
            score = round(
                mos(r_factor(loss=stats.loss_fraction, delay_ms=self._delay_ms(stats))), 2
            )
        negotiated = self._negotiated
        direction = Direction.of(sends=self._sends, receives=self._receives)
        return MediaReport(
            phone=self.name,
            codec=negotiated.codec.encoding.upper() if negotiated is not None else None,
            direction=direction.value if negotiated is not None else "none",
            local=str(self.local),
            remote=str(self._remote) if self._remote is not None else None,
            tone_hz=self.tone,
            sent_packets=self._sent,
            sent_digits=self._sent_digits,
            received=StreamReport(
                packets=stats.received,
                expected=stats.expected,
                lost=stats.lost,
                loss=stats.loss_fraction,
                jitter_ms=stats.jitter_ms,
                gaps=stats.gaps,
                late_start_ms=late,
                mos=score,
                unexpected=self._unexpected,
                malformed=self._malformed,
            ),
            heard=VOICES.who(frequency),
            heard_hz=frequency,
            digits=self._digits,
            active=not self.stopped and self._started_at is not None,
            far=self._far_report(),
        )

    @staticmethod
    def _delay_ms(stats: ReceiverStats) -> float:
        # Mouth-to-ear delay estimate: one packet of packetisation plus a jitter buffer of
        # twice the measured jitter (loopback adds no propagation delay worth counting).
        return 1000.0 * PTIME + 2.0 * stats.jitter_ms

    def _dominant(self, now: float) -> float | None:
        fresh = [(pt, payload) for arrival, pt, payload in self._window if arrival >= now - FRESH]
        if len(fresh) < MIN_PACKETS:
            return None
        chunks = []
        for pt, payload in fresh:
            decode = self._decoder_of(pt)
            if decode is not None:
                chunks.append(decode(payload))
        if len(chunks) < MIN_PACKETS:
            return None
        return audio.dominant_frequency(np.concatenate(chunks))

    # -- life cycle --------------------------------------------------------------------------

    def stop(self) -> MediaReport:
        """Stop sending and receiving; the report is frozen from now on. Idempotent."""
        if self._final is None:
            self._final = replace(self._report(self._loop.time()), active=False)
            if self._timer is not None:
                self._timer.cancel()
            self._pending_digits.clear()
            self._finish_digits()
        return self._final

    async def close(self) -> None:
        """Stop, then close the socket. Idempotent."""
        self.stop()
        if not self._closed:
            self._closed = True
            VOICES.remove(self.name)
        if self._transport is not None:
            await self._transport.close()
