"""The voicemail UAS's media: it answers the caller's offer with a real SDP, plays a short
greeting tone, records the caller's audio and collects RFC 4733 digits (docs/media.md
"Voicemail audio").

Theory of operation. The media is *terminated* here, not passed through: the voicemail is
the far end of the call. ``VoicemailMedia.answering(offer)`` binds a UDP socket on a free port
of 127.0.0.1 synchronously (so the 200's SDP names a port that already receives) and answers
the offer with ``sdp.answer`` — the offer's first codec of PCMU/PCMA, its telephone-event,
``sendrecv``. ``run()`` then attaches the socket to the loop and sends what ``play`` queued —
for a message, ``greeting()``: ``GREETING_SECONDS`` of ``GREETING_HZ``; for retrieval, prompts
and messages (retrieval.py) — one 20 ms packet per tick at absolute deadlines (media is real
time, never scaled, like the phones'); an action queued with ``then=`` runs once the frames
before it are sent. Every packet received in the negotiated audio payload type is decoded
and appended to the recording (unless ``record=False``) until ``MAX_RECORDING_SECONDS``: a
message's memory and file are bounded whatever the caller does; packets past the bound are
counted, not kept. Telephone-event packets give one digit per event (RTP timestamp), passed
to ``on_digit``. ``close()`` stops everything and returns the samples; the service writes them
as a WAV file (``audio.wav_bytes``).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections import deque
from collections.abc import Callable
from typing import cast

import numpy as np

from harness.sim.faults import DTMF_IGNORED, NO_FAULTS, VOICEMAIL_RECORDS_SILENCE, Faults
from harness.sip import audio, sdp
from harness.sip.rtp import RtpError, RtpPacket, TelephoneEvent

LOOPBACK = "127.0.0.1"
PTIME = 0.02
SAMPLES_PER_PACKET = audio.FRAME
#: The greeting: a tone no phone sends (below ``audio.TONES``), for one second.
GREETING_HZ = 350.0
GREETING_SECONDS = 1.0
#: A message is cut after this long (the WAV file then holds at most
#: 44 + 2 · 8000 · 120 bytes ≈ 1.9 MB).
MAX_RECORDING_SECONDS = 120.0
MAX_RECORDING_SAMPLES = int(MAX_RECORDING_SECONDS * audio.RATE)
#: Digits kept per call (a mailbox password is 3–8 digits).
MAX_DIGITS = 32


class VoicemailMedia(asyncio.DatagramProtocol):
    """One voicemail call's RTP: greeting out, the caller's audio and digits in."""

    def __init__(
        self,
        *,
        sock: socket.socket,
        negotiated: sdp.Negotiated,
        answer: bytes,
        session_id: int,
        record: bool = True,
        faults: Faults = NO_FAULTS,
    ) -> None:
        self._sock = sock
        self.faults = faults
        self._session_id = session_id
        self._version = 1
        self.negotiated = negotiated
        self.answer = answer
        self._transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._samples: list[audio.Samples] = []
        self._recorded = 0
        self.dropped = 0  # audio packets past MAX_RECORDING_SECONDS
        self._events: deque[int] = deque(maxlen=8)
        self.digits = ""
        self._closed = False
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self.sent_packets = 0
        self._talking = False
        self._queue: deque[audio.Samples | Callable[[], None]] = deque()
        self.on_digit: Callable[[str], None] | None = None
        self.record = record

    @classmethod
    def answering(
        cls, offer: bytes, *, record: bool = True, faults: Faults = NO_FAULTS
    ) -> VoicemailMedia | None:
        """Bind a socket and answer ``offer``; None when there is nothing to answer (no body,
        a malformed one, no audio stream with PCMU or PCMA): the caller is then answered as
        before media existed (``relay.VOICEMAIL_SDP``)."""
        if not offer:
            return None
        try:
            remote = sdp.parse(offer)
        except sdp.SdpError:
            return None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((LOOPBACK, 0))
            sock.setblocking(False)
            port = sock.getsockname()[1]
            session_id = secrets.randbelow(1 << 31)
            local = sdp.answer(
                remote, session_id=session_id, version=1, address=LOOPBACK, port=port
            )
        except (OSError, sdp.IncompatibleMedia):
            sock.close()
            return None
        negotiated = sdp.negotiate(local, remote)
        if negotiated is None:
            sock.close()
            return None
        return cls(
            sock=sock,
            negotiated=negotiated,
            answer=sdp.build(local),
            session_id=session_id,
            record=record,
            faults=faults,
        )

    def reanswer(self, offer: bytes) -> bytes:
        """The answer to a re-INVITE's offer (hold, resume, refresh): same port, the new
        offer's direction mirrored (RFC 3264 §8.4), the version bumped (§8); an offer that
        cannot be answered keeps the previous agreement and answer."""
        try:
            remote = sdp.parse(offer)
            local = sdp.answer(
                remote,
                session_id=self._session_id,
                version=self._version + 1,
                address=LOOPBACK,
                port=self.port,
            )
        except (sdp.SdpError, sdp.IncompatibleMedia):
            return self.answer
        negotiated = sdp.negotiate(local, remote)
        if negotiated is None:
            return self.answer
        self._version += 1
        self.negotiated = negotiated
        self.answer = sdp.build(local)
        return self.answer

    @property
    def port(self) -> int:
        port: int = self._sock.getsockname()[1]
        return port

    @property
    def seconds(self) -> float:
        """How much audio was recorded."""
        return self._recorded / audio.RATE

    async def run(self) -> None:
        """Attach the socket to the loop, then send what is queued (``play``), one packet per
        20 ms tick at absolute deadlines, until ``close``."""
        loop = asyncio.get_running_loop()
        if self._closed:
            return
        await loop.create_datagram_endpoint(lambda: self, sock=self._sock)
        if self._closed:
            self.close()
            return
        self._tick(loop, loop.time(), 0)

    def play(self, samples: audio.Samples, *, then: Callable[[], None] | None = None) -> None:
        """Queue ``samples`` to send after what is queued already (in 20 ms frames, the last
        one padded with silence); ``then`` runs once they have all been sent."""
        padded = np.concatenate(
            [samples.astype(np.int16), np.zeros(-len(samples) % SAMPLES_PER_PACKET, np.int16)]
        )
        self._queue.extend(padded.reshape(-1, SAMPLES_PER_PACKET))
        if then is not None:
            self._queue.append(then)

    def _tick(self, loop: asyncio.AbstractEventLoop, epoch: float, tick: int) -> None:
        transport, negotiated = self._transport, self.negotiated
        if self._closed or transport is None:
            return
        while self._queue and callable(self._queue[0]):
            action = self._queue.popleft()
            assert callable(action)
            action()
            if self._closed:
                return
        if self._queue:
            frame = self._queue.popleft()
            assert not callable(frame)
            if negotiated.sends and negotiated.remote_port:
                encode = audio.CODECS[negotiated.codec.encoding.upper()][0]
                packet = RtpPacket(
                    payload_type=negotiated.codec.payload_type,
                    sequence=self._sequence,
                    timestamp=(self._timestamp + tick * SAMPLES_PER_PACKET) & 0xFFFFFFFF,
                    ssrc=self._ssrc,
                    payload=encode(frame),
                    marker=not self._talking,
                )
                self._sequence = (self._sequence + 1) & 0xFFFF
                transport.sendto(
                    packet.serialize(), (negotiated.remote_address, negotiated.remote_port)
                )
                self.sent_packets += 1
            self._talking = True
        else:
            self._talking = False
        self._timer = loop.call_at(epoch + (tick + 1) * PTIME, self._tick, loop, epoch, tick + 1)

    # -- asyncio.DatagramProtocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A datagram transport (the selector loop's class does not derive from the ABC).
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if self._closed:
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            return  # RTCP (rtcp-mux is not offered back) or noise: not audio
        negotiated = self.negotiated
        if packet.payload_type == negotiated.telephone_event:
            self._event(packet)
        elif packet.payload_type == negotiated.codec.payload_type and self.record:
            if self._recorded >= MAX_RECORDING_SAMPLES:
                self.dropped += 1
                return
            decode = audio.CODECS[negotiated.codec.encoding.upper()][1]
            samples = decode(packet.payload)[: MAX_RECORDING_SAMPLES - self._recorded]
            if self.faults.on(VOICEMAIL_RECORDS_SILENCE):
                samples = np.zeros_like(samples)
            self._samples.append(samples)
            self._recorded += len(samples)

    def error_received(self, exc: Exception) -> None:
        """ICMP port unreachable after a send to a caller that is gone: nothing to do."""

    def _event(self, packet: RtpPacket) -> None:
        """One digit per event, i.e. per RTP timestamp (RFC 4733 §2.5.1)."""
        if self.faults.on(DTMF_IGNORED):
            return
        try:
            event = TelephoneEvent.parse(packet.payload)
        except (RtpError, ValueError):
            return
        digit = event.digit
        if digit is None or packet.timestamp in self._events:
            return
        self._events.append(packet.timestamp)
        self.digits = (self.digits + digit)[-MAX_DIGITS:]
        if self.on_digit is not None:
            self.on_digit(digit)

    # -- ending ------------------------------------------------------------------------------

    def close(self) -> audio.Samples:
        """Stop sending and receiving; the recorded samples (idempotent)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        else:
            self._sock.close()
        if not self._samples:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._samples).astype(np.int16)


def greeting() -> audio.Samples:
    """What the voicemail plays when it answers (and the retrieval's password prompt)."""
    return prompt(GREETING_HZ)


def prompt(frequency: float, seconds: float = GREETING_SECONDS) -> audio.Samples:
    return audio.tone(frequency, start=0, count=int(seconds * audio.RATE))
