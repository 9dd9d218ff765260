"""Two-way RTP between virtual phones on loopback, without a server (one phone's SIPサーバ
resolves to the other): each hears the other's tone, hold and resume change who hears whom,
DTMF arrives, and a peer that sends nothing is reported as heard by nobody.

Media runs in real time (20 ms packets): every wait is on a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace

import pytest

from harness.errors import HarnessError
from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip import sdp
from harness.sip.audio import tone_for
from harness.sip.dialog import Dialog
from harness.sip.endpoint import Endpoint
from harness.sip.headers import Via
from harness.sip.media import WINDOW, MediaReport, MediaSession, two_way
from harness.sip.message import Request, Response, new_call_id
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import CallHandle, Phone
from harness.sip.resolver import Resolver
from harness.sip.rtp import RtpPacket, TelephoneEvent
from harness.sip.runtime import Runtime
from harness.sip.sdp import parse
from harness.sip.transport import Address, Faults, Impairment, UdpTransport
from tests.sim.sip.kit import FIXTURES, eventually, tenant_phones

DOMAIN = "01234abc.smart-pbx.jp"
K = PhoneEventKind
#: Packets (20 ms each) a direction must carry before its statistics are judged (0.6 s).
ENOUGH = 30


def media_pair(factory: PhoneFactory) -> tuple[Phone, Phone]:
    """Caller 20200 whose server is callee 20201, both with media on; their tones differ."""
    assert tone_for("20200") != tone_for("20201")
    factory.media = True
    callee = factory.phone(
        "20201", user_id="abcde20201", password="Password", sip_server="callee.invalid"
    )
    factory.resolver = Resolver(entries={DOMAIN: callee.local})
    caller = factory.phone("20200", user_id="abcde20200", password="Password", sip_server=DOMAIN)
    return caller, callee


def connect(caller: Phone, callee: Phone) -> tuple[CallHandle, CallHandle]:
    call = caller.call("20201")
    ring = callee.incoming()
    ring.answer()
    call.wait_for(K.CONNECTED)
    return call, ring


def wait_hears(handle: CallHandle, name: str, packets: int = ENOUGH) -> MediaReport:
    return handle.wait_media(
        lambda r: r.heard == name and r.received.packets >= packets,
        f"hears {name} after {packets} packets",
    )


def test_each_phone_hears_the_other_with_no_loss(phone_factory: PhoneFactory) -> None:
    caller, callee = media_pair(phone_factory)
    call, ring = connect(caller, callee)
    # The port in each SDP is the one that really receives.
    assert parse(ring.remote_sdp).media[0].port == int(call.media_report().local.split(":")[1])
    heard_by_caller = wait_hears(call, "20201")
    heard_by_callee = wait_hears(ring, "20200")
    for report in (heard_by_caller, heard_by_callee):
        assert report.codec == "PCMU" and report.direction == "sendrecv", report
        assert report.received.lost == 0 and report.received.gaps == 0, report
        assert report.received.unexpected == 0 and report.received.malformed == 0, report
        assert report.received.jitter_ms < 20, report
        assert report.received.mos is not None and report.received.mos > 4.0, report
        assert report.received.late_start_ms is not None, report
    assert "hears 20201" in str(heard_by_caller)
    assert heard_by_caller.hears("20201") and not heard_by_caller.hears("20200")
    # The sending direction, from the far end's RTCP (rtcp-mux, every 0.5 s).
    far = call.wait_media(lambda r: r.far is not None, "an RTCP report from the callee").far
    assert far is not None and far.lost == 0 and far.jitter_ms < 20, far
    assert "far end reports lost 0" in str(call.media_report())
    both = two_way(call.media_report(), ring.media_report())
    assert both.both_heard, both
    assert str(both).startswith("20200 → 20201: heard; sent "), both
    assert both.backward.sender == "20201" and both.backward.received.lost == 0, both
    call.hangup()
    ring.wait_ended()
    final = call.media_report()
    assert not final.active and final.heard == "20201", final  # frozen at the hang-up
    assert call.media_report() == final  # nothing moves once stopped
    # The callee stopped on the BYE, after the caller's session had closed: the caller's
    # phone is still open, so its name is still known (media.VOICES).
    assert ring.media_report().heard == "20200" and not ring.media_report().active


def test_hold_stops_audio_one_way_and_resume_restores_it(phone_factory: PhoneFactory) -> None:
    caller, callee = media_pair(phone_factory)
    call, ring = connect(caller, callee)
    wait_hears(call, "20201")
    wait_hears(ring, "20200")

    assert call.hold() == 200  # caller sendonly, callee answers recvonly
    held = call.wait_media(lambda r: r.heard is None, "the held party's audio stops")
    assert held.direction == "sendonly", held
    # The other way still flows: the callee hears the caller for another ENOUGH packets,
    # while the caller receives nothing more (no packets once the grace time has passed).
    before = ring.media_report().received.packets
    wait_hears(ring, "20200", before + ENOUGH)
    quiet = call.media_report()
    assert quiet.heard is None and quiet.received.unexpected == 0, quiet
    assert ring.media_report().direction == "recvonly"

    assert call.resume() == 200
    back = call.wait_media(
        lambda r: r.heard == "20201" and r.received.packets > quiet.received.packets + ENOUGH,
        "the callee is heard again after resume",
    )
    assert back.direction == "sendrecv" and back.received.lost == 0, back
    assert ring.media_report().heard == "20200"
    call.hangup()


def test_inactive_hold_both_ways_is_silence_on_both_sides(phone_factory: PhoneFactory) -> None:
    caller, callee = media_pair(phone_factory)
    call, ring = connect(caller, callee)
    wait_hears(call, "20201")
    assert call.reinvite("inactive") == 200
    call.wait_media(lambda r: r.heard is None, "caller hears nothing (inactive)")
    ring.wait_media(lambda r: r.heard is None, "callee hears nothing (inactive)")
    assert call.media_report().direction == ring.media_report().direction == "inactive"
    call.hangup()


def test_dtmf_digits_arrive_as_rfc4733_events(phone_factory: PhoneFactory) -> None:
    caller, callee = media_pair(phone_factory)
    call, ring = connect(caller, callee)
    call.send_dtmf("1234#*0")
    report = ring.wait_media(lambda r: r.digits == "1234#*0", "the callee receives 1234#*0")
    assert call.media_report().sent_digits == "1234#*0"
    # Event packets are in the stream's sequence: no loss, no gaps; jitter not disturbed.
    assert report.received.lost == 0 and report.received.gaps == 0, report
    ring.send_dtmf("9")
    call.wait_media(lambda r: r.digits == "9", "the caller receives 9")
    with pytest.raises(ValueError, match="0123456789"):
        call.send_dtmf("X")
    call.hangup()


def test_a_peer_that_sends_nothing_is_heard_by_nobody(phone_factory: PhoneFactory) -> None:
    caller, callee = media_pair(phone_factory)
    call, ring = connect(caller, callee)
    wait_hears(call, "20201")
    ring.mute()  # the callee's phone goes mute although the agreement lets it send
    report = call.wait_media(lambda r: r.heard is None, "nothing heard from a mute peer")
    assert report.received.packets >= ENOUGH and report.direction == "sendrecv", report
    text = str(report)
    assert "hears nothing" in text, text
    both = two_way(call.media_report(), ring.media_report())
    assert both.forward.heard and not both.backward.heard and not both.both_heard, both
    assert "20201 → 20200: NOT heard" in str(both), both
    # The check can fail: a condition that wants the callee heard times out, saying why.
    with pytest.raises(TimeoutError, match="hears 20201.*hears nothing"):
        call.wait_media(lambda r: r.heard == "20201", "hears 20201", timeout=0.5)
    call.hangup()


def test_a_mute_peer_from_the_start_reports_no_rtp(phone_factory: PhoneFactory) -> None:
    caller, callee = media_pair(phone_factory)
    callee.media = False  # the callee answers the fixed port-9 body and sends no RTP
    call, ring = connect(caller, callee)
    report = call.wait_media(lambda r: r.sent_packets >= ENOUGH, "the caller sends its tone")
    assert report.received.packets == 0 and report.heard is None, report
    assert "no RTP received" in str(report), report
    assert report.received.mos is None and report.received.late_start_ms is None
    with pytest.raises(HarnessError, match="has no media"):
        ring.media_report()
    call.hangup()


def test_loss_on_the_media_path_is_measured(phone_factory: PhoneFactory) -> None:
    caller, callee = media_pair(phone_factory)
    callee.media_faults(Faults(inbound=Impairment(loss=0.2), seed=7))
    call, ring = connect(caller, callee)
    report = ring.wait_media(lambda r: r.received.expected >= 100, "the callee expects 100 packets")
    assert 0.08 < report.received.loss < 0.35, report
    # The caller learns it from the callee's RTCP: its sending direction lost about as much.
    told = call.wait_media(
        lambda r: r.far is not None and r.far.reports >= 2, "two RTCP reports"
    ).far
    assert told is not None and 0.05 < told.loss < 0.4, told
    assert report.received.gaps > 0 and report.received.mos is not None, report
    assert (
        report.received.mos
        < call.wait_media(lambda r: r.received.packets >= 100, "the caller gets 100").received.mos
    )  # type: ignore[operator]
    call.hangup()


def test_the_window_is_bounded_and_non_rtp_is_counted(sip_runtime: Runtime) -> None:
    async def scenario() -> tuple[MediaReport, int]:
        session = await MediaSession.open(name="bounded")
        flood = await UdpTransport.open(on_receive=lambda inbound: None)
        try:
            offer = sdp.offer(session_id=1, version=1, address="127.0.0.1", port=session.port)
            answer = sdp.answer(offer, session_id=2, version=1, address="127.0.0.1", port=9)
            session.start(sdp.negotiate(offer, answer))
            # 200 packets at once, then one datagram that is not RTP.
            for n in range(200):
                packet = RtpPacket(
                    payload_type=0, sequence=n, timestamp=160 * n, ssrc=1, payload=bytes(160)
                )
                flood.send(packet.serialize(), session.local)
            flood.send(b"not rtp", session.local)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while session.report().received.malformed == 0 and loop.time() < deadline:
                await asyncio.sleep(0.01)
            return session.report(), len(session._window)
        finally:
            await flood.close()
            await session.close()

    report, kept = sip_runtime.run(scenario(), timeout=10)
    assert kept == WINDOW
    assert report.received.malformed == 1 and report.received.packets == 200, report


# -- through the embedded simulator (the B2BUA passes SDP end to end: docs/media.md) --------


def sim_pair(factory: PhoneFactory, sim: SimulatorHandle) -> tuple[Phone, Phone]:
    """20200 and 20201 of the sample tenant, registered to the simulator, media on."""
    factory.media = True
    phones = tenant_phones(factory, sim, FIXTURES / "sample")
    assert tone_for("20200") != tone_for("20201")
    return phones["20200"], phones["20201"]


def test_through_the_simulator_each_hears_the_other_and_hold_is_one_way(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    caller, callee = sim_pair(phone_factory, sim)
    call, ring = connect(caller, callee)
    for handle, peer in ((call, "20201"), (ring, "20200")):
        report = wait_hears(handle, peer)
        assert report.received.lost == 0 and report.received.jitter_ms < 20, report
        assert report.received.mos is not None and report.received.mos > 4.0, report
    # Pass-through: each side sends straight to the port the other's SDP advertised.
    assert call.media_report().remote == ring.media_report().local
    assert ring.media_report().remote == call.media_report().local

    assert call.hold() == 200  # relayed by the B2BUA; the callee answers recvonly
    call.wait_media(lambda r: r.heard is None, "the holder hears nothing")
    before = ring.media_report().received.packets
    wait_hears(ring, "20200", before + ENOUGH)  # the held party still hears the holder
    assert call.media_report().received.unexpected == 0
    assert call.resume() == 200
    wait_hears(call, "20201", call.media_report().received.packets + ENOUGH)

    call.send_dtmf("#21")
    ring.wait_media(lambda r: r.digits == "#21", "DTMF through the simulator")
    call.hangup()
    assert ring.wait_for(K.HANGUP).detail == "remote"
    assert not ring.media_report().active


# -- offers a phone with media on refuses or answers late --------------------------------

G729_ONLY = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
)
MALFORMED = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n"


def raw_invite(endpoint: Endpoint, to: Address, body: bytes) -> Request:
    return Request.build(
        "INVITE",
        f"sip:abcde20201@{to}",
        from_=f"<sip:abcde20200@{DOMAIN}>;tag=raw",
        to=f"<sip:abcde20201@{DOMAIN}>",
        call_id=new_call_id(),
        cseq=1,
        via=endpoint.via(),
        contact=f"<sip:raw@{endpoint.transport().local}>",
        body=body,
        content_type="application/sdp" if body else None,
    )


@pytest.mark.parametrize(
    ("body", "status", "warning"),
    [
        (G729_ONLY, 488, '305 virtual-phone.invalid "Incompatible media format: no audio stream'),
        (MALFORMED, 400, '399 virtual-phone.invalid "SDP line 4 '),
    ],
    ids=["no-common-codec-488", "malformed-400"],
)
def test_an_offer_the_phone_cannot_take_is_refused_with_a_warning(
    phone_factory: PhoneFactory, sip_runtime: Runtime, body: bytes, status: int, warning: str
) -> None:
    _, callee = media_pair(phone_factory)
    callee.answer_after(0)

    async def invite() -> Response:
        endpoint = await Endpoint.open()
        try:
            return await endpoint.request(raw_invite(endpoint, callee.local, body), callee.local)
        finally:
            await endpoint.close()

    response = sip_runtime.run(invite(), timeout=10)
    assert isinstance(response, Response)
    assert response.status == status
    assert (response.headers.get("Warning") or "").startswith(warning), response.headers
    rejected = callee.wait_for(K.REJECTED)
    assert rejected.status == status and rejected.detail == "offer"


def test_a_late_offer_is_made_in_the_200_and_answered_in_the_ack(
    phone_factory: PhoneFactory, sip_runtime: Runtime
) -> None:
    _, callee = media_pair(phone_factory)
    callee.answer_after(0)

    async def late_offer() -> tuple[MediaReport, MediaReport]:
        endpoint = await Endpoint.open()
        media = await MediaSession.open(name="late-answerer")
        try:
            request = raw_invite(endpoint, callee.local, b"")
            response = await endpoint.request(request, callee.local)
            assert response.status == 200, response
            offer = sdp.parse(response.body)
            answer = sdp.answer(
                offer, session_id=9, version=1, address="127.0.0.1", port=media.port
            )
            media.start(sdp.negotiate(answer, offer))
            dialog = Dialog.from_uac(request, response)
            ack = dialog.ack(request, via=Via.parse(endpoint.via()))
            ack = ack.with_body(sdp.build(answer), "application/sdp")
            endpoint.send_ack(ack, callee.local)
            [call] = callee.virtual.calls.values()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while loop.time() < deadline:
                ours, theirs = media.report(), call.media.report()  # type: ignore[union-attr]
                if ours.heard == "20201" and theirs.heard == "late-answerer":
                    break
                await asyncio.sleep(0.02)
            return ours, theirs
        finally:
            await media.close()
            await endpoint.close()

    ours, theirs = sip_runtime.run(late_offer(), timeout=15)
    assert ours.heard == "20201" and ours.received.lost == 0, ours
    assert theirs.heard == "late-answerer" and theirs.direction == "sendrecv", theirs


def test_a_cancelled_call_stops_both_sessions_and_frees_their_sockets(
    phone_factory: PhoneFactory,
) -> None:
    caller, callee = media_pair(phone_factory)
    call = caller.call("20201")
    ring = callee.incoming()
    call.wait_for(K.RINGBACK)
    call.hangup()  # CANCEL while ringing
    ring.wait_for(K.STOP)
    call.wait_ended()
    assert not call.media_report().active and not ring.media_report().active
    assert call.media_report().sent_packets == 0  # never answered: nothing was sent

    async def open_sessions() -> int:
        return len(caller.virtual._media_sessions) + len(callee.virtual._media_sessions)

    eventually(lambda: caller.runtime.run(open_sessions()) == 0, "media sockets closed")


@pytest.mark.parametrize("codec", ["PCMA", "PCMU"])
def test_each_codec_carries_the_tone(sip_runtime: Runtime, codec: str) -> None:
    async def scenario() -> tuple[MediaReport, MediaReport]:
        a = await MediaSession.open(name="20200")
        b = await MediaSession.open(name="20201")
        try:
            offer = sdp.offer(
                session_id=1, version=1, address="127.0.0.1", port=a.port, codecs=(codec,)
            )
            answer = sdp.answer(offer, session_id=2, version=1, address="127.0.0.1", port=b.port)
            a.start(sdp.negotiate(offer, answer))
            b.start(sdp.negotiate(answer, offer))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while loop.time() < deadline:
                if a.report().heard == "20201" and b.report().heard == "20200":
                    break
                await asyncio.sleep(0.02)
            return a.report(), b.report()
        finally:
            await a.close()
            await b.close()

    a, b = sip_runtime.run(scenario(), timeout=10)
    assert a.codec == b.codec == codec
    assert a.heard == "20201" and b.heard == "20200", (a, b)


# -- on the wire: what a real peer receives ------------------------------------------------


def test_the_packets_on_the_wire_follow_rfc3550_and_rfc4733(sip_runtime: Runtime) -> None:
    """A capture of one session's packets: 20 ms audio (sequence +1, timestamp +160, one SSRC,
    the marker on each talkspurt's first packet), a DTMF digit as RFC 4733 events (one
    timestamp, growing duration, the end packet three times), and a pause (hold) that keeps
    the sequence going and moves the timestamp on by the time paused."""

    async def capture() -> list[RtpPacket]:
        seen: list[RtpPacket] = []
        sink = await UdpTransport.open(on_receive=lambda i: seen.append(RtpPacket.parse(i.data)))
        session = await MediaSession.open(name="20200")
        try:
            offer = sdp.offer(session_id=1, version=1, address="127.0.0.1", port=session.port)
            answer = sdp.answer(
                offer, session_id=2, version=1, address="127.0.0.1", port=sink.local.port
            )
            agreed = sdp.negotiate(offer, answer)
            assert agreed is not None
            session.start(agreed)
            loop = asyncio.get_running_loop()

            async def until(count: int) -> None:
                deadline = loop.time() + 5
                while len(seen) < count and loop.time() < deadline:
                    await asyncio.sleep(0.005)

            await until(5)
            await session.send_dtmf("5")
            await until(len(seen) + 3)
            paused = len(seen)
            session.start(replace(agreed, sends=False))  # hold: nothing to send
            await asyncio.sleep(0.1)  # the pause whose length the timestamp must show
            assert len(seen) <= paused + 1
            session.start(agreed)
            await until(len(seen) + 3)
            return seen
        finally:
            await session.close()
            await sink.close()

    packets = sip_runtime.run(capture(), timeout=15)
    assert isinstance(packets, list)
    assert len({p.ssrc for p in packets}) == 1
    sequences = [p.sequence for p in packets]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(sequences)), sequences
    audio_packets = [p for p in packets if p.payload_type == 0]
    events = [p for p in packets if p.payload_type == sdp.TELEPHONE_EVENT_PT]
    assert packets[0].marker and packets[0].payload_type == 0
    assert all(len(p.payload) == 160 for p in audio_packets)
    # RFC 4733: one event, one timestamp; durations grow by 160, then the end three times.
    assert len({p.timestamp for p in events}) == 1 and events[0].marker
    decoded = [TelephoneEvent.parse(p.payload) for p in events]
    assert {e.digit for e in decoded} == {"5"}
    assert [e.duration for e in decoded] == [160, 320, 480, 640, 800, 800, 800, 800]
    assert [e.end for e in decoded] == [False] * 5 + [True] * 3
    # Timestamps: +160 a packet while talking; across the pause, a jump of whole frames.
    steps = [
        (b.timestamp - a.timestamp) & 0xFFFFFFFF
        for a, b in itertools.pairwise(audio_packets)
        if not b.marker
    ]
    after = next(i for i, p in enumerate(packets) if i and p.marker and p.payload_type == 0)
    jump = (packets[after].timestamp - packets[after - 1].timestamp) & 0xFFFFFFFF
    assert jump % 160 == 0 and jump >= 160 * 5, jump  # ≥ 100 ms paused, in whole frames
    assert steps.count(160) >= len(steps) - 2, steps  # the DTMF gap is the only other step
