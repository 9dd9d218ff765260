"""Finished transactions waiting out their last timer (D, I, J, K, L, M) are kept compact by
the endpoint (``_Linger`` rows): seen from the wire they must behave exactly like the RFC's
machines — a retransmitted request gets the same final response again, a repeated failure is
ACKed again, an ACK after CONFIRMED is absorbed, a CANCEL of an answered INVITE gets 200 —
and once the timer has run out the same bytes are a new request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from harness.sip.endpoint import Endpoint, ServerTransaction
from harness.sip.message import Request, Response, parse_message
from harness.sip.transaction import TimerConfig
from harness.sip.transport import Address, Inbound, UdpTransport

# T1 = 10 ms: Timer J (64*T1) is 0.64 s, Timer I (T4) 50 ms, Timer D 0.3 s.
SHORT = TimerConfig(t1=0.01, t2=0.04, t4=0.05, d=0.3)


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 20))


class Raw:
    """A bare UDP socket that records what it receives, to play a peer byte by byte."""

    def __init__(self) -> None:
        self.got: list[bytes] = []
        self._arrived = asyncio.Event()
        self.transport: UdpTransport | None = None

    @classmethod
    async def open(cls) -> Raw:
        raw = cls()
        raw.transport = await UdpTransport.open(on_receive=raw._receive)
        return raw

    def _receive(self, inbound: Inbound) -> None:
        self.got.append(inbound.data)
        self._arrived.set()

    @property
    def udp(self) -> UdpTransport:
        assert self.transport is not None, "open it first"
        return self.transport

    @property
    def local(self) -> Address:
        return self.udp.local

    def send(self, data: bytes, to: Address) -> None:
        self.udp.send(data, to)

    async def next(self, what: Callable[[bytes], bool], timeout: float = 5.0) -> bytes:
        """The first datagram received from now on that ``what`` accepts."""
        start = len(self.got)

        async def wait() -> bytes:
            seen = start
            while True:
                for data in self.got[seen:]:
                    if what(data):
                        return data
                seen = len(self.got)
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        await self.udp.close()


def request(method: str, raw: Raw, to: Address, *, branch: str, cseq: int = 1) -> bytes:
    return bytes(
        Request.build(
            method,
            f"sip:x@{to}",
            from_="<sip:a@example.invalid>;tag=1",
            to="<sip:x@example.invalid>",
            call_id=f"linger-{branch}",
            cseq=cseq,
            via=f"SIP/2.0/UDP {raw.local};branch=z9hG4bK{branch}",
            contact=f"<sip:a@{raw.local}>",
        )
    )


def status(data: bytes) -> int:
    message = parse_message(data)
    return message.status if isinstance(message, Response) else 0


def final(data: bytes) -> bool:
    return status(data) >= 200


def test_a_retransmitted_request_gets_the_same_final_response_and_the_tu_hears_it_once() -> None:
    async def scenario() -> None:
        heard: list[ServerTransaction] = []

        def answer(server: ServerTransaction) -> None:
            heard.append(server)
            server.reply(200, to_tag="srv")

        endpoint = await Endpoint.open(on_request=answer)
        raw = await Raw.open()
        try:
            to = endpoint.transport().local
            options = request("OPTIONS", raw, to, branch="again")
            raw.send(options, to)
            first = await raw.next(final)
            raw.send(options, to)  # §17.2.2: COMPLETED repeats the final response
            second = await raw.next(final)
            assert first == second
            assert len(heard) == 1
        finally:
            await raw.close()
            await endpoint.close()

    run(scenario())


def test_after_timer_j_the_same_request_is_a_new_transaction() -> None:
    async def scenario() -> None:
        heard: list[ServerTransaction] = []

        def answer(server: ServerTransaction) -> None:
            heard.append(server)
            server.reply(200, to_tag=f"srv{len(heard)}")

        endpoint = await Endpoint.open(on_request=answer, timers=SHORT)
        raw = await Raw.open()
        try:
            to = endpoint.transport().local
            options = request("OPTIONS", raw, to, branch="later")
            raw.send(options, to)
            await raw.next(final)
            deadline = asyncio.get_running_loop().time() + 5
            while len(heard) < 2:  # repeat until Timer J (0.64 s) and the sweep have run
                assert asyncio.get_running_loop().time() < deadline, "never forgotten"
                await asyncio.sleep(0.05)  # a polling period, not a synchronisation
                raw.send(options, to)
                await raw.next(final)
            assert len(heard) == 2
        finally:
            await raw.close()
            await endpoint.close()

    run(scenario())


def test_an_invite_refused_repeats_the_failure_until_acked_then_absorbs() -> None:
    async def scenario() -> None:
        endpoint = await Endpoint.open(on_request=lambda s: s.reply(486, to_tag="busy"))
        raw = await Raw.open()
        try:
            to = endpoint.transport().local
            invite = request("INVITE", raw, to, branch="busy")
            raw.send(invite, to)
            refused = await raw.next(final)
            assert status(refused) == 486
            raw.send(invite, to)  # COMPLETED: the 486 again
            assert await raw.next(final) == refused
            ack = invite.replace(b"INVITE sip:", b"ACK sip:", 1).replace(b"1 INVITE", b"1 ACK")
            raw.send(ack, to)
            raw.send(invite, to)  # CONFIRMED (Timer I): absorbed, nothing answers …
            before = len(raw.got)
            raw.send(request("OPTIONS", raw, to, branch="barrier"), to)  # … which this proves:
            await raw.next(lambda d: b"barrier" in d)  # its answer comes after any 486 would
            assert [b"CSeq: 1 OPTIONS" in d for d in raw.got[before:]] == [True]
        finally:
            await raw.close()
            await endpoint.close()

    run(scenario())


def test_cancel_of_an_answered_invite_gets_200_and_changes_nothing() -> None:
    async def scenario() -> None:
        endpoint = await Endpoint.open(on_request=lambda s: s.reply(200, to_tag="ok"))
        raw = await Raw.open()
        try:
            to = endpoint.transport().local
            raw.send(request("INVITE", raw, to, branch="done"), to)
            assert status(await raw.next(final)) == 200
            raw.send(request("CANCEL", raw, to, branch="done"), to)  # same branch: §9.1
            answer = await raw.next(lambda d: b"CANCEL" in d.split(b"\r\n\r\n")[0])
            assert status(answer) == 200
            raw.send(request("CANCEL", raw, to, branch="never"), to)
            answer = await raw.next(lambda d: b"never" in d and b"CANCEL" in d)
            assert status(answer) == 481
        finally:
            await raw.close()
            await endpoint.close()

    run(scenario())


def test_a_repeated_failure_to_our_invite_is_acked_again_with_the_same_bytes() -> None:
    async def scenario() -> None:
        endpoint = await Endpoint.open()
        raw = await Raw.open()
        try:
            invite = Request.build(
                "INVITE",
                f"sip:x@{raw.local}",
                from_="<sip:a@example.invalid>;tag=ours",
                to="<sip:x@example.invalid>",
                call_id="linger-client",
                cseq=1,
                via=endpoint.via(),
            )
            client = endpoint.send_request(invite, raw.local)
            received = await raw.next(lambda d: d.startswith(b"INVITE"))
            sent = parse_message(received)
            assert isinstance(sent, Request)
            refused = bytes(Response.for_request(sent, 480, to_tag="gone"))
            raw.send(refused, endpoint.transport().local)
            first_ack = await raw.next(lambda d: d.startswith(b"ACK"))
            assert (await client.wait_final()).status == 480
            raw.send(refused, endpoint.transport().local)  # COMPLETED (Timer D): ACK again
            assert await raw.next(lambda d: d.startswith(b"ACK")) == first_ack
        finally:
            await raw.close()
            await endpoint.close()

    run(scenario())


def test_a_2xx_never_acked_calls_on_no_ack() -> None:
    async def scenario() -> None:
        gave_up = asyncio.Event()

        def answer(server: ServerTransaction) -> None:
            server.on_no_ack = gave_up.set
            server.ack_wait = 0.2
            server.reply(200, to_tag="silent")

        endpoint = await Endpoint.open(on_request=answer)
        raw = await Raw.open()
        try:
            to = endpoint.transport().local
            raw.send(request("INVITE", raw, to, branch="noack"), to)
            assert status(await raw.next(final)) == 200
            await asyncio.wait_for(gave_up.wait(), 5)
        finally:
            await raw.close()
            await endpoint.close()

    run(scenario())
