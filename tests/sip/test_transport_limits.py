"""Bounded input on the transports (issue 10.4a): message size, connections per source and
in all, idle and slow connections. Peers are raw asyncio streams, so nothing of the harness's
own sending side helps; every wait polls with a deadline, and the timeouts are configured
short (``TransportLimits``) rather than slept through."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from harness.sip.message import FramingError, SizeLimits
from harness.sip.transport import (
    DEFAULT_LIMITS,
    Inbound,
    TcpTransport,
    TransportLimits,
    UdpTransport,
)

REQUEST = (
    b"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKlimit\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:a@127.0.0.1>;tag=1\r\n"
    b"To: <sip:b@127.0.0.1>\r\n"
    b"Call-ID: limit-test\r\n"
    b"CSeq: 1 OPTIONS\r\n"
)
DEADLINE = 10.0  # seconds any awaited outcome may take, under load included
ANSWER_413 = b"SIP/2.0 413 Request Entity Too Large\r\n\r\n"


def complete(body: bytes = b"") -> bytes:
    return REQUEST + b"Content-Length: %d\r\n\r\n" % len(body) + body


class Inbox:
    """Collects what a transport delivers; ``answer`` (bytes) is sent back to each refused
    one at once, as a server's ``on_unparseable`` does (a stateless 400/413)."""

    def __init__(self, answer: bytes | None = None) -> None:
        self.items: list[Inbound] = []
        self.changed = asyncio.Event()
        self.answer = answer

    def __call__(self, inbound: Inbound) -> None:
        self.items.append(inbound)
        if inbound.error is not None and self.answer is not None:
            inbound.transport.send(self.answer, inbound.remote)
        self.changed.set()

    async def wait_count(self, count: int) -> None:
        async with asyncio.timeout(DEADLINE):
            while len(self.items) < count:
                self.changed.clear()
                await self.changed.wait()


Peer = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Server:
    """A ``TcpTransport`` under test, its inbox, and the raw peers connected to it."""

    def __init__(self, transport: TcpTransport, inbox: Inbox) -> None:
        self.transport = transport
        self.inbox = inbox
        self.peers: list[Peer] = []

    async def connect(self, source: str = "127.0.0.1") -> Peer:
        local = self.transport.local
        peer = await asyncio.open_connection(local.host, local.port, local_addr=(source, 0))
        self.peers.append(peer)
        return peer


@asynccontextmanager
async def serving(
    limits: TransportLimits = DEFAULT_LIMITS, answer: bytes | None = None
) -> AsyncIterator[Server]:
    inbox = Inbox(answer)
    server = Server(await TcpTransport.open(on_receive=inbox, limits=limits), inbox)
    try:
        yield server
    finally:
        for _, writer in server.peers:
            writer.close()
        await server.transport.close()


def run(scenario: Callable[[], Awaitable[Any]]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(scenario(), 30)

    asyncio.run(bounded())


async def closed_by_peer(reader: asyncio.StreamReader) -> bytes:
    """Everything the transport still sent, up to its closing the connection."""
    async with asyncio.timeout(DEADLINE):
        return await reader.read()


def test_an_oversize_content_length_is_handed_over_as_413_and_the_connection_closed() -> None:
    async def scenario() -> None:
        async with serving(answer=ANSWER_413) as server:
            reader, writer = await server.connect()
            # The body keeps coming after the refusal: the answer must still reach the peer.
            writer.write(REQUEST + b"Content-Length: 9999999999\r\n\r\n" + b"x" * 1_000_000)
            await server.inbox.wait_count(1)
            refused = server.inbox.items[0]
            assert refused.message is None
            assert isinstance(refused.error, FramingError)
            assert refused.error.status == 413
            assert refused.data.startswith(REQUEST)  # what a 400/413 echoes from
            # The receiver's answer goes out on the connection, then it closes.
            assert await closed_by_peer(reader) == ANSWER_413
            assert server.transport.refused == {"size": 1}

    run(scenario)


def test_a_header_section_that_never_ends_is_cut_at_the_cap() -> None:
    async def scenario() -> None:
        async with serving(TransportLimits(size=SizeLimits(max_header_bytes=1024))) as server:
            reader, writer = await server.connect()
            writer.write(REQUEST)
            for _ in range(100):  # 100 × 100 bytes, never an empty line
                writer.write(b"X-Endless: " + b"e" * 87 + b"\r\n")
            await server.inbox.wait_count(1)
            refused = server.inbox.items[0]
            assert isinstance(refused.error, FramingError)
            assert (refused.error.status, refused.error.oversize) == (400, True)
            assert len(refused.data) <= 1024
            assert await closed_by_peer(reader) == b""

    run(scenario)


def test_a_broken_stream_is_handed_over_with_its_bytes_before_the_close() -> None:
    async def scenario() -> None:
        async with serving() as server:
            reader, writer = await server.connect()
            broken = complete().replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
            writer.write(broken)
            await server.inbox.wait_count(1)
            refused = server.inbox.items[0]
            assert refused.data == broken
            assert refused.error is not None and refused.error.status == 400
            assert await closed_by_peer(reader) == b""

    run(scenario)


def test_one_connection_more_than_the_per_source_cap_is_closed_others_are_not() -> None:
    async def scenario() -> None:
        async with serving(TransportLimits(max_connections_per_source=3)) as server:
            peers = [await server.connect() for _ in range(4)]
            other = await server.connect(source="127.0.0.2")  # another source: its own cap
            assert await closed_by_peer(peers[3][0]) == b""
            for _, writer in [*peers[:3], other]:
                writer.write(complete())
            await server.inbox.wait_count(4)
            assert server.transport.refused == {"per source": 1}
            # Once one of the three goes, the source may open another.
            peers[0][1].close()
            async with asyncio.timeout(DEADLINE):
                while len(server.transport._all) > 3:
                    await asyncio.sleep(0.01)  # a poll step, bounded by the deadline
            _, again = await server.connect()
            again.write(complete())
            await server.inbox.wait_count(5)

    run(scenario)


def test_connections_beyond_the_total_cap_are_closed() -> None:
    async def scenario() -> None:
        async with serving(TransportLimits(max_connections=2)) as server:
            peers = [await server.connect(source=f"127.0.0.{n}") for n in (1, 2, 3)]
            assert await closed_by_peer(peers[2][0]) == b""
            assert server.transport.refused == {"total": 1}

    run(scenario)


def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    async def scenario() -> None:
        async with serving(TransportLimits(idle_timeout=0.3, message_timeout=30)) as server:
            reader, writer = await server.connect()
            writer.write(complete())  # an honest message, then silence
            await server.inbox.wait_count(1)
            assert await closed_by_peer(reader) == b""
            assert server.transport.refused == {"idle": 1}

    run(scenario)


def test_a_slowloris_is_closed_after_the_message_timeout_an_honest_idle_one_is_not() -> None:
    async def scenario() -> None:
        async with serving(TransportLimits(idle_timeout=20, message_timeout=0.3)) as server:
            honest = await server.connect()
            slow = await server.connect()
            silent = await server.connect()  # opens and never sends a byte
            honest[1].write(complete())
            await server.inbox.wait_count(1)
            data = complete()
            sent = 0
            async with asyncio.timeout(DEADLINE):
                while not slow[0].at_eof():
                    # One byte per poll step: never idle, and its message never ends.
                    if sent < len(data) - 1:
                        slow[1].write(data[sent : sent + 1])
                        sent += 1
                    try:
                        assert await asyncio.wait_for(slow[0].read(1), 0.02) == b""
                    except TimeoutError:
                        pass
            assert await closed_by_peer(silent[0]) == b""
            assert server.transport.refused == {"message": 2}
            # The honest connection, silent since its message, is still served.
            honest[1].write(complete())
            await server.inbox.wait_count(2)
            assert not honest[0].at_eof()

    run(scenario)


def test_a_peer_that_never_reads_cannot_keep_a_closed_connection_open() -> None:
    async def scenario() -> None:
        async with serving(TransportLimits(idle_timeout=0.3)) as server:
            _, writer = await server.connect()
            writer.write(complete())
            await server.inbox.wait_count(1)
            # 32 MiB the peer never reads: the close after the idle timeout cannot flush them,
            # and the connection is aborted instead of staying open for ever.
            inbound = server.inbox.items[0]
            inbound.transport.send(b"x" * (32 * 1024 * 1024), inbound.remote)
            async with asyncio.timeout(DEADLINE):
                while server.transport._all:
                    await asyncio.sleep(0.05)  # a poll step, bounded by the deadline
            assert server.transport.refused == {"idle": 1}

    run(scenario)


def test_an_oversize_datagram_is_handed_over_as_refused() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        limits = TransportLimits(size=SizeLimits(max_body_bytes=1000))
        server = await UdpTransport.open(on_receive=inbox, limits=limits)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.sendto(complete(b"b" * 1001), server.local.as_tuple())
            sock.sendto(complete(b"b" * 1000), server.local.as_tuple())
            await inbox.wait_count(2)
            too_big, fine = inbox.items
            assert too_big.error is not None and too_big.error.status == 413
            assert too_big.data == REQUEST + b"Content-Length: 1001\r\n\r\n"
            assert fine.error is None and fine.data == complete(b"b" * 1000)
        finally:
            sock.close()
            await server.close()

    run(scenario)


def test_limits_are_checked_and_documented_defaults_hold() -> None:
    with pytest.raises(ValueError, match="max_connections_per_source and max_connections"):
        TransportLimits(max_connections_per_source=0)
    with pytest.raises(ValueError, match="idle_timeout and message_timeout"):
        TransportLimits(message_timeout=0)
    # docs/sip.md "Limits" states these values.
    assert DEFAULT_LIMITS.size == SizeLimits(max_header_bytes=65536, max_body_bytes=65536)
    assert (DEFAULT_LIMITS.max_connections_per_source, DEFAULT_LIMITS.max_connections) == (
        64,
        1024,
    )
    assert (DEFAULT_LIMITS.idle_timeout, DEFAULT_LIMITS.message_timeout) == (7500.0, 32.0)
