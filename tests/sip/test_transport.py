"""UDP and TCP transports on loopback: delivery, taps, fault injection, transport errors."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from harness.errors import HarnessError
from harness.sip.message import Request, Response
from harness.sip.transport import (
    Address,
    Faults,
    Impairment,
    Inbound,
    TapRecord,
    TcpTransport,
    UdpTransport,
)


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 10))


class Inbox:
    def __init__(self) -> None:
        self.items: list[Inbound] = []
        self._changed = asyncio.Event()

    def __call__(self, inbound: Inbound) -> None:
        self.items.append(inbound)
        self._changed.set()

    async def wait_count(self, count: int) -> None:
        while len(self.items) < count:
            self._changed.clear()
            await self._changed.wait()


def test_udp_binds_a_free_loopback_port_and_delivers_with_peer_address() -> None:
    async def scenario() -> None:
        inbox_a, inbox_b = Inbox(), Inbox()
        a = await UdpTransport.open(on_receive=inbox_a)
        b = await UdpTransport.open(on_receive=inbox_b)
        try:
            assert a.local.host == "127.0.0.1" and a.local.port > 0
            assert a.local != b.local
            a.send(b"OPTIONS sip:b SIP/2.0\r\n\r\n", b.local)
            await inbox_b.wait_count(1)
            got = inbox_b.items[0]
            assert got.data == b"OPTIONS sip:b SIP/2.0\r\n\r\n"
            assert got.remote == a.local
            got.transport.send(b"SIP/2.0 200 OK\r\n\r\n", got.remote)
            await inbox_a.wait_count(1)
            assert inbox_a.items[0].remote == b.local
        finally:
            await a.close()
            await b.close()

    run(scenario())


def test_taps_record_both_directions_with_addresses() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        records: list[TapRecord] = []
        a = await UdpTransport.open(on_receive=Inbox())
        b = await UdpTransport.open(on_receive=inbox)
        a.add_tap(records.append)
        b.add_tap(records.append)
        try:
            a.send(b"ping", b.local)
            await inbox.wait_count(1)
        finally:
            await a.close()
            await b.close()
        sent, received = records
        assert (sent.direction, sent.local, sent.remote, sent.data) == (
            "sent",
            a.local,
            b.local,
            b"ping",
        )
        assert (received.direction, received.local, received.remote) == (
            "received",
            b.local,
            a.local,
        )
        assert received.wall_time >= sent.wall_time

    run(scenario())


def test_loss_is_seeded_and_reproducible() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = Faults.symmetric(loss=0.3, seed=seed)
        return [faults.decide("sent") is None for _ in range(200)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    losses = sum(pattern(7))
    assert 30 < losses < 90  # about 30 % of 200


def test_injected_loss_drops_datagrams_in_each_direction() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        records: list[TapRecord] = []
        lossy = Faults(outbound=Impairment(loss=1.0), seed=1)
        a = await UdpTransport.open(on_receive=Inbox(), faults=lossy)
        b = await UdpTransport.open(on_receive=inbox, faults=Faults(inbound=Impairment(loss=1.0)))
        a.add_tap(records.append)
        c = await UdpTransport.open(on_receive=Inbox())
        try:
            a.send(b"lost on the way out", b.local)
            c.send(b"lost on the way in", b.local)
            # b echoes nothing; give the loop a few turns to prove nothing arrives
            for _ in range(20):
                await asyncio.sleep(0)
            assert inbox.items == []
            assert lossy.dropped_outbound == 1
            assert b.faults is not None and b.faults.dropped_inbound == 1
            assert [r.dropped for r in records] == [True]
        finally:
            for t in (a, b, c):
                await t.close()

    run(scenario())


def test_injected_delay_holds_datagrams_back() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        loop = asyncio.get_running_loop()
        a = await UdpTransport.open(
            on_receive=Inbox(), faults=Faults(outbound=Impairment(delay=0.05))
        )
        b = await UdpTransport.open(on_receive=inbox)
        try:
            started = loop.time()
            a.send(b"late", b.local)
            await inbox.wait_count(1)
            assert loop.time() - started >= 0.045
        finally:
            await a.close()
            await b.close()

    run(scenario())


def test_port_unreachable_is_reported_as_a_transport_error_for_that_destination() -> None:
    async def scenario() -> None:
        errors: list[tuple[Address, OSError]] = []
        got_error = asyncio.Event()

        def on_error(to: Address, exc: OSError) -> None:
            errors.append((to, exc))
            got_error.set()

        closed = await UdpTransport.open(on_receive=Inbox())
        nowhere = closed.local
        await closed.close()
        a = await UdpTransport.open(on_receive=Inbox(), on_error=on_error)
        try:
            a.send(b"REGISTER", nowhere)
            await got_error.wait()
            assert errors[0][0] == nowhere
            assert isinstance(errors[0][1], ConnectionRefusedError)
        finally:
            await a.close()

    run(scenario())


def test_only_loopback_is_bound_or_addressed() -> None:
    async def scenario() -> None:
        with pytest.raises(HarnessError, match="loopback only"):
            await UdpTransport.open(on_receive=Inbox(), host="0.0.0.0")
        a = await UdpTransport.open(on_receive=Inbox())
        try:
            with pytest.raises(HarnessError, match="loopback"):
                a.send(b"x", Address(host="192.0.2.1", port=5060))
        finally:
            await a.close()

    run(scenario())


def test_impairment_values_are_checked() -> None:
    with pytest.raises(ValueError, match="probability"):
        Impairment(loss=1.5)
    with pytest.raises(ValueError, match="seconds"):
        Impairment(delay=-1)


REQUEST = (
    b"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKtcp1\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:a@127.0.0.1>;tag=1\r\n"
    b"To: <sip:b@127.0.0.1>\r\n"
    b"Call-ID: tcp-test\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 4\r\n\r\n"
    b"body"
)


def test_tcp_frames_messages_and_replies_on_the_same_connection() -> None:
    async def scenario() -> None:
        inbox_a, inbox_b = Inbox(), Inbox()
        a = await TcpTransport.open(on_receive=inbox_a)
        b = await TcpTransport.open(on_receive=inbox_b)
        try:
            a.send(REQUEST + REQUEST, b.local)  # two messages in one write
            await inbox_b.wait_count(2)
            first = inbox_b.items[0]
            assert isinstance(first.message, Request)
            assert first.message.body == b"body"
            assert first.data == REQUEST
            # the reply goes back over the connection a opened (its ephemeral port)
            first.transport.send(b"SIP/2.0 200 OK\r\n" + REQUEST.split(b"\r\n", 1)[1], first.remote)
            await inbox_a.wait_count(1)
            assert inbox_a.items[0].remote == b.local
            assert isinstance(inbox_a.items[0].message, Response)
        finally:
            await a.close()
            await b.close()

    run(scenario())


def test_tcp_reassembles_a_message_fed_byte_by_byte() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        b = await TcpTransport.open(on_receive=inbox)
        reader, writer = await asyncio.open_connection(b.local.host, b.local.port)
        try:
            for i in range(len(REQUEST)):
                writer.write(REQUEST[i : i + 1])
                await writer.drain()
            await inbox.wait_count(1)
            assert inbox.items[0].data == REQUEST
        finally:
            writer.close()
            await writer.wait_closed()
            await b.close()

    run(scenario())


def test_tcp_garbage_closes_the_connection_and_reports_it() -> None:
    async def scenario() -> None:
        errors: list[Address] = []
        failed = asyncio.Event()

        def on_error(to: Address, exc: OSError) -> None:
            errors.append(to)
            failed.set()

        b = await TcpTransport.open(on_receive=Inbox(), on_error=on_error)
        reader, writer = await asyncio.open_connection(b.local.host, b.local.port)
        try:
            writer.write(b"NOT SIP AT ALL\r\n\r\n")
            await failed.wait()
            assert await reader.read() == b""  # closed by the transport
        finally:
            writer.close()
            await writer.wait_closed()
            await b.close()

    run(scenario())


def test_tcp_connection_refused_is_reported_for_the_destination() -> None:
    async def scenario() -> None:
        errors: list[tuple[Address, OSError]] = []
        failed = asyncio.Event()

        def on_error(to: Address, exc: OSError) -> None:
            errors.append((to, exc))
            failed.set()

        probe = await TcpTransport.open(on_receive=Inbox())
        nowhere = probe.local
        await probe.close()
        a = await TcpTransport.open(on_receive=Inbox(), on_error=on_error)
        try:
            a.send(REQUEST, nowhere)
            await failed.wait()
            assert errors[0][0] == nowhere
            assert isinstance(errors[0][1], ConnectionRefusedError)
        finally:
            await a.close()

    run(scenario())
