"""SIP transports: the only module of ``harness.sip`` that touches sockets.

Theory of operation (../shared/DESIGN.md "Hard rules", ../shared/STYLE.md §1): the sans-IO core
turns bytes into messages and messages into bytes; this module moves those bytes between
loopback sockets and the asyncio loop. Two transports share one shape (``Transport``):

- ``UdpTransport``: one datagram socket; every datagram is one SIP message (RFC 3261 §18.3).
  ICMP "port unreachable" is surfaced as a transport error for the destination (Linux
  ``IP_RECVERR``), which RFC 3261 §8.1.3.1 lets a client treat like a 503: that is how a phone
  pointed at a port where nothing listens learns 通話不可 at once instead of after Timer F.
- ``TcpTransport``: a listening socket plus one connection per peer address, reused in both
  directions (RFC 3261 §18: responses go back on the connection the request came in on).
  Framing is the core's job: each connection gets its own ``StreamParser`` (or another
  ``framer_factory``) and the transport delivers whole parsed messages; taps see the raw
  stream chunks as they arrive, so a pcap shows the real segmentation.

Bounded input (``TransportLimits``; docs/sip.md "Limits"): whatever a peer sends, a transport
holds a bounded amount of it, for a bounded time.

- size: each message's header section and body are capped (``SizeLimits``, 64 KiB each), in a
  datagram as on a stream. The framer refuses an oversize message as soon as its header
  section shows it (a ``Content-Length: 9999999999`` is never waited for) and any unparseable
  one; the transport then hands what it read to ``on_receive`` as an ``Inbound`` with
  ``error`` set — so a server can answer 400 or 413 when the request can be answered (RFC 3261
  §21.4.1, §21.4.11) — and closes the connection, since the stream cannot be re-framed.
- connections: at most ``max_connections_per_source`` accepted connections per source
  address and ``max_connections`` in all; one more is closed at once, before reading from it.
- time: a connection is closed after ``idle_timeout`` without a byte either way (long enough
  for a phone that only refreshes its registration), and after ``message_timeout`` with a
  message begun and not finished — or, for one accepted, nothing complete received since it
  opened — which ends a slowloris (a peer trickling bytes) long before ``idle_timeout``.
  One sweep timer per transport checks both.

Each transport delivers ``Inbound`` values to the ``on_receive`` callback and reports transport
errors per destination to ``on_error``. Two knobs serve the tests:

- ``Faults`` (UDP only): loss probability and delay/jitter per direction, drawn from a seeded
  RNG so a run is reproducible; used by reliability tests (a call completes under 20 % loss).
- taps: callables receiving a ``TapRecord`` for every message sent or received, with wall-clock
  timestamp and both addresses; the pcap writer (``harness.sip.pcap``) is one.

Every socket binds to loopback only; sending elsewhere needs ``allow_remote=True`` (used only
against a real deployment named in a target file).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import random
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol, cast

from harness.errors import HarnessError
from harness.sip.message import (
    DEFAULT_SIZE_LIMITS,
    FramingError,
    Message,
    SizeLimits,
    StreamParser,
    check_datagram,
    serialize,
)
from harness.sip.syntax import SipParseError

Protocol_ = Literal["UDP", "TCP"]
Direction = Literal["sent", "received"]

LOOPBACK = "127.0.0.1"
# Linux: queue ICMP errors for unconnected UDP sockets (include/uapi/linux/in.h).
_IP_RECVERR = 11
# How long a connection refused after a message (400/413) discards what its peer still sends
# before it is closed (see ``_TcpConnection.finish``), and how long a closing connection may
# wait for a peer that does not read what is left to send before it is aborted.
_LINGER = 2.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Address:
    """A transport address: IP literal and port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def as_tuple(self) -> tuple[str, int]:
        return (self.host, self.port)

    @classmethod
    def of(cls, sockaddr: tuple[str, int] | tuple[str, int, int, int]) -> Address:
        return cls(host=sockaddr[0], port=sockaddr[1])


@dataclass(frozen=True, kw_only=True, slots=True)
class TapRecord:
    """One message on the wire as a transport saw it.

    ``dropped`` marks a UDP datagram discarded by fault injection (never sent, or never
    delivered); it is kept so a ladder diagram can show the loss. ``wall_time`` is
    ``time.time()`` when the bytes left or arrived (after any injected delay).
    """

    direction: Direction
    protocol: Protocol_
    local: Address
    remote: Address
    data: bytes
    wall_time: float
    dropped: bool = False


Tap = Callable[[TapRecord], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class Inbound:
    """One SIP message received from ``remote``; reply through ``transport``.

    UDP delivers the datagram's bytes (``message`` None: the endpoint parses them); TCP
    delivers the message its framer parsed, with ``data`` its serialised form. ``error`` set:
    the bytes were refused before parsing (too large, or a stream that does not frame), and
    ``data`` is what was read of them (bounded); a TCP connection is closed right after.
    """

    data: bytes
    remote: Address
    transport: Transport
    message: Message | None = None
    error: SipParseError | None = None


ReceiveCallback = Callable[[Inbound], None]
ErrorCallback = Callable[[Address, OSError], None]


class Framer(Protocol):
    """Splits a TCP byte stream into whole SIP messages: the core's ``StreamParser``."""

    def feed(self, data: bytes) -> Iterable[Message]:
        """Add received bytes; return the complete messages now available, in order.
        Raises (``SipParseError``) on a broken stream: the connection is then closed."""
        ...

    @property
    def buffered(self) -> int:
        """Bytes of a message begun and not complete yet."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class TransportLimits:
    """What a transport accepts from peers (module docstring, docs/sip.md "Limits").

    ``idle_timeout`` outlasts the registrar's longest registration (``max_expires`` 7,200 s)
    so a phone that sends nothing but its REGISTER refreshes keeps its connection; RFC 5626
    §3.5.1 CRLF keep-alives count as traffic. ``message_timeout`` is 64*T1 (32 s, the
    lifetime of a transaction, RFC 3261 §17.1.1.2): a message that takes longer to arrive is
    useless to the transaction that sent it anyway.
    """

    size: SizeLimits = DEFAULT_SIZE_LIMITS
    max_connections_per_source: int = 64
    max_connections: int = 1024
    idle_timeout: float = 7500.0
    message_timeout: float = 32.0

    def __post_init__(self) -> None:
        if self.max_connections_per_source < 1 or self.max_connections < 1:
            raise ValueError(
                "max_connections_per_source and max_connections are at least 1, got "
                f"{self.max_connections_per_source!r} and {self.max_connections!r}"
            )
        if not (self.idle_timeout > 0 and self.message_timeout > 0):
            raise ValueError(
                "idle_timeout and message_timeout are seconds > 0, got "
                f"{self.idle_timeout!r} and {self.message_timeout!r}"
            )


DEFAULT_LIMITS = TransportLimits()


class Transport(Protocol):
    """What the endpoint needs from a transport; ``UdpTransport`` and ``TcpTransport``."""

    @property
    def protocol(self) -> Protocol_: ...

    @property
    def local(self) -> Address: ...

    def send(self, data: bytes, to: Address) -> None:
        """Send one message; never blocks. Failures are reported to ``on_error``."""
        ...

    def add_tap(self, tap: Tap) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Impairment:
    """Network impairment in one direction: ``loss`` probability, ``delay`` ± ``jitter`` s."""

    loss: float = 0.0
    delay: float = 0.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss is a probability in [0, 1], got {self.loss!r}")
        if self.delay < 0 or self.jitter < 0:
            raise ValueError(
                f"delay and jitter are seconds >= 0, got delay={self.delay!r} "
                f"jitter={self.jitter!r}"
            )


@dataclass(kw_only=True)
class Faults:
    """Fault injection for a UDP transport, reproducible from ``seed``.

    Each direction draws from its own RNG (seeded from ``seed``), so adding traffic in one
    direction does not change which datagrams are lost in the other. Counters record what
    happened for the test's evidence.
    """

    outbound: Impairment = field(default_factory=Impairment)
    inbound: Impairment = field(default_factory=Impairment)
    seed: int = 0
    dropped_outbound: int = 0
    dropped_inbound: int = 0

    def __post_init__(self) -> None:
        self._rng = {
            "sent": random.Random(f"{self.seed}/out"),
            "received": random.Random(f"{self.seed}/in"),
        }

    @classmethod
    def symmetric(
        cls, *, loss: float = 0.0, delay: float = 0.0, jitter: float = 0.0, seed: int = 0
    ) -> Faults:
        """The same impairment both ways."""
        impairment = Impairment(loss=loss, delay=delay, jitter=jitter)
        return cls(outbound=impairment, inbound=impairment, seed=seed)

    def decide(self, direction: Direction) -> float | None:
        """None to drop the datagram, else the delay in seconds before it goes on."""
        impairment = self.outbound if direction == "sent" else self.inbound
        rng = self._rng[direction]
        if impairment.loss and rng.random() < impairment.loss:
            if direction == "sent":
                self.dropped_outbound += 1
            else:
                self.dropped_inbound += 1
            return None
        if not impairment.delay and not impairment.jitter:
            return 0.0
        return max(0.0, impairment.delay + rng.uniform(-impairment.jitter, impairment.jitter))


def check_local_host(host: str) -> None:
    """Refuse to bind anywhere but loopback (../wt/COMMON.md: every server on 127.0.0.1)."""
    if not _is_loopback(host):
        raise HarnessError(f"transports bind to loopback only (127.0.0.1 or ::1), not {host!r}")


@functools.lru_cache(maxsize=256)
def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _TransportBase:
    """Taps, loopback guard and callbacks shared by both transports."""

    def __init__(
        self,
        *,
        on_receive: ReceiveCallback,
        on_error: ErrorCallback | None,
        allow_remote: bool,
    ) -> None:
        self._on_receive = on_receive
        self._on_error = on_error
        self._allow_remote = allow_remote
        self._taps: list[Tap] = []

    def add_tap(self, tap: Tap) -> None:
        """Call ``tap`` with a ``TapRecord`` for every message from now on."""
        self._taps.append(tap)

    def _tap(
        self,
        direction: Direction,
        protocol: Protocol_,
        local: Address,
        remote: Address,
        data: bytes,
        *,
        dropped: bool = False,
    ) -> None:
        if not self._taps:
            return
        record = TapRecord(
            direction=direction,
            protocol=protocol,
            local=local,
            remote=remote,
            data=data,
            wall_time=time.time(),
            dropped=dropped,
        )
        for tap in self._taps:
            tap(record)

    def _check_destination(self, to: Address) -> None:
        if not self._allow_remote and not _is_loopback(to.host):
            raise HarnessError(
                f"refusing to send SIP to {to}: the harness talks to loopback only unless a "
                "target file names a real deployment (allow_remote=True)"
            )

    def _error(self, to: Address, exc: OSError) -> None:
        if self._on_error is not None:
            self._on_error(to, exc)


class UdpTransport(_TransportBase, asyncio.DatagramProtocol):
    """SIP over UDP on one loopback socket. Create with ``await UdpTransport.open(...)``."""

    def __init__(
        self,
        *,
        on_receive: ReceiveCallback,
        on_error: ErrorCallback | None = None,
        faults: Faults | None = None,
        allow_remote: bool = False,
        limits: TransportLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(on_receive=on_receive, on_error=on_error, allow_remote=allow_remote)
        self.faults = faults
        self._size = limits.size
        self._sock: socket.socket | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._local = Address(host=LOOPBACK, port=0)
        self._closed = asyncio.Event()
        self._pending: set[asyncio.TimerHandle] = set()

    @classmethod
    async def open(
        cls,
        *,
        on_receive: ReceiveCallback,
        on_error: ErrorCallback | None = None,
        host: str = LOOPBACK,
        port: int = 0,
        faults: Faults | None = None,
        allow_remote: bool = False,
        limits: TransportLimits = DEFAULT_LIMITS,
    ) -> UdpTransport:
        """Bind ``host:port`` (port 0: a free port) and start receiving."""
        check_local_host(host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if family == socket.AF_INET:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise HarnessError(f"cannot bind UDP {host}:{port}: {exc}") from exc
        self = cls(
            on_receive=on_receive,
            on_error=on_error,
            faults=faults,
            allow_remote=allow_remote,
            limits=limits,
        )
        self._sock = sock
        self._local = Address.of(sock.getsockname())
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, sock=sock)
        return self

    @property
    def protocol(self) -> Protocol_:
        return "UDP"

    @property
    def local(self) -> Address:
        return self._local

    # asyncio.DatagramProtocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector datagram transport does not subclass DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed.set()

    def datagram_received(self, data: bytes, addr: tuple[str | None, int]) -> None:
        remote = Address(host=str(addr[0]), port=addr[1])
        delay = self.faults.decide("received") if self.faults else 0.0
        if delay is None:
            self._tap("received", "UDP", self._local, remote, data, dropped=True)
        elif delay:
            self._later(delay, lambda: self._deliver(data, remote))
        else:
            self._deliver(data, remote)

    def error_received(self, exc: Exception) -> None:
        # With IP_RECVERR the kernel queues the ICMP error with the original destination;
        # read them all so each failing destination is reported once.
        if not isinstance(exc, OSError) or self._sock is None:
            return
        while True:
            try:
                _, _, _, addr = self._sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if addr:
                self._error(Address.of(addr), exc)

    # sending --------------------------------------------------------------------------------

    def send(self, data: bytes, to: Address) -> None:
        self._check_destination(to)
        if self._transport is None or self._transport.is_closing():
            return
        delay = self.faults.decide("sent") if self.faults else 0.0
        if delay is None:
            self._tap("sent", "UDP", self._local, to, data, dropped=True)
        elif delay:
            self._later(delay, lambda: self._transmit(data, to))
        else:
            self._transmit(data, to)

    def _transmit(self, data: bytes, to: Address) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.sendto(data, to.as_tuple())
        self._tap("sent", "UDP", self._local, to, data)

    def _deliver(self, data: bytes, remote: Address) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._tap("received", "UDP", self._local, remote, data)
        try:
            check_datagram(data, self._size)
        except FramingError as exc:
            self._on_receive(Inbound(data=exc.data, remote=remote, transport=self, error=exc))
            return
        self._on_receive(Inbound(data=data, remote=remote, transport=self))

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def run() -> None:
            self._pending.discard(handle)
            action()

        handle = loop.call_later(delay, run)
        self._pending.add(handle)

    async def close(self) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()
            await self._closed.wait()


class _TcpConnection(asyncio.Protocol):
    """One TCP connection of a ``TcpTransport``, framed by its own ``Framer``.

    ``active`` is the loop time of the last byte either way (idle timeout); ``waiting`` the
    time since which a message is awaited — the start of a partial message, or the opening of
    an accepted connection that has delivered nothing yet — else None (message timeout).
    """

    def __init__(self, owner: TcpTransport, framer: Framer, *, accepted: bool) -> None:
        self._owner = owner
        self._framer = framer
        self.accepted = accepted
        self.transport: asyncio.Transport | None = None
        self.remote = Address(host=LOOPBACK, port=0)
        self.local = Address(host=LOOPBACK, port=0)
        self.closed = asyncio.Event()
        self.counted = False  # in the owner's per-source count
        self.active = 0.0
        self.waiting: float | None = None
        self.draining = False  # finished: what still arrives is discarded
        self.closing_since: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not isinstance-checked: uvloop's TCPTransport does not subclass asyncio.Transport
        # (an assert here reset every TCP connection of a uvloop simulator).
        self.transport = cast(asyncio.Transport, transport)
        self.remote = Address.of(transport.get_extra_info("peername"))
        self.local = Address.of(transport.get_extra_info("sockname"))
        self.active = self._owner._now()
        self.waiting = self.active if self.accepted else None
        self._owner._attach(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._detach(self)
        self.closed.set()

    def data_received(self, data: bytes) -> None:
        if self.draining:
            return
        owner = self._owner
        owner._tap("received", "TCP", self.local, self.remote, data)
        now = self.active = owner._now()
        try:
            messages = list(self._framer.feed(data))
        except Exception as exc:  # the framer refuses a broken stream: drop the connection
            owner._stream_error(self, exc)
            return
        if not self._framer.buffered:
            self.waiting = None
        elif messages or self.waiting is None:
            self.waiting = now  # a new message has begun
        for message in messages:
            owner._deliver(self, message)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        if self.draining or self.transport.is_closing():
            return
        self.transport.write(data)
        self.active = self._owner._now()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.closing_since = self._owner._now()
            self.transport.close()  # flushes what was written before the FIN

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def finish(self) -> None:
        """End the connection after an answer to a refused message: send what was written,
        then FIN, and discard what the peer still sends until it closes or ``_LINGER``
        passes. Closing at once with its unread bytes queued would send a RST, which can
        destroy the 400/413 before the peer reads it (the "lingering close" of RFC 9112 §9.6).
        """
        if self.transport is None or self.transport.is_closing():
            return
        self.draining = True
        self.waiting = self._owner._now()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.close()


class TcpTransport(_TransportBase):
    """SIP over TCP: a loopback listener plus one reusable connection per peer address.

    A message to an address with no connection opens one (RFC 3261 §18.1.1); requests and
    responses both reuse a connection whichever side opened it. Create with
    ``await TcpTransport.open(...)``. ``limits`` bound what peers can make it hold (module
    docstring); the default framer is a ``StreamParser`` with ``limits.size``.
    """

    def __init__(
        self,
        *,
        on_receive: ReceiveCallback,
        framer_factory: Callable[[], Framer] | None = None,
        on_error: ErrorCallback | None = None,
        allow_remote: bool = False,
        limits: TransportLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(on_receive=on_receive, on_error=on_error, allow_remote=allow_remote)
        self.limits = limits
        self._framer_factory = framer_factory or functools.partial(StreamParser, limits=limits.size)
        self._server: asyncio.Server | None = None
        self._local = Address(host=LOOPBACK, port=0)
        self._connections: dict[Address, _TcpConnection] = {}
        self._connecting: dict[Address, asyncio.Task[None]] = {}
        self._queued: dict[Address, list[bytes]] = {}
        self._all: set[_TcpConnection] = set()
        self._per_source: dict[str, int] = {}
        self._accepted = 0
        self._sweep: asyncio.TimerHandle | None = None
        # Closed for a limit, by reason ("size", "per source", "total", "idle", "message").
        self.refused: dict[str, int] = {}

    @classmethod
    async def open(
        cls,
        *,
        on_receive: ReceiveCallback,
        framer_factory: Callable[[], Framer] | None = None,
        on_error: ErrorCallback | None = None,
        host: str = LOOPBACK,
        port: int = 0,
        allow_remote: bool = False,
        limits: TransportLimits = DEFAULT_LIMITS,
    ) -> TcpTransport:
        """Listen on ``host:port`` (port 0: a free port)."""
        check_local_host(host)
        self = cls(
            on_receive=on_receive,
            framer_factory=framer_factory,
            on_error=on_error,
            allow_remote=allow_remote,
            limits=limits,
        )
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._accept, host, port)
        except OSError as exc:
            raise HarnessError(f"cannot listen on TCP {host}:{port}: {exc}") from exc
        self._local = Address.of(self._server.sockets[0].getsockname())
        return self

    @property
    def protocol(self) -> Protocol_:
        return "TCP"

    @property
    def local(self) -> Address:
        return self._local

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _accept(self) -> _TcpConnection:
        return _TcpConnection(self, self._framer_factory(), accepted=True)

    def _new_connection(self) -> _TcpConnection:
        return _TcpConnection(self, self._framer_factory(), accepted=False)

    def _attach(self, connection: _TcpConnection) -> None:
        if connection.accepted:
            # Refused before a byte is read: nothing to answer yet, so just close.
            host = connection.remote.host
            if self._per_source.get(host, 0) >= self.limits.max_connections_per_source:
                self._refuse(connection, "per source")
                return
            if self._accepted >= self.limits.max_connections:
                self._refuse(connection, "total")
                return
            self._per_source[host] = self._per_source.get(host, 0) + 1
            self._accepted += 1
            connection.counted = True
        self._all.add(connection)
        self._connections.setdefault(connection.remote, connection)
        self._arm_sweep()

    def _detach(self, connection: _TcpConnection) -> None:
        if connection.counted:
            connection.counted = False
            host = connection.remote.host
            left = self._per_source[host] - 1
            if left:
                self._per_source[host] = left
            else:
                del self._per_source[host]
            self._accepted -= 1
        self._all.discard(connection)
        if self._connections.get(connection.remote) is connection:
            del self._connections[connection.remote]

    def _refuse(self, connection: _TcpConnection, reason: str) -> None:
        if connection.open:
            self.refused[reason] = self.refused.get(reason, 0) + 1
            connection.close()

    def _arm_sweep(self) -> None:
        if self._sweep is None and self._all:
            limits = self.limits
            # A timeout is seen late by at most an eighth of itself (or one second).
            every = min(limits.message_timeout, limits.idle_timeout, 8.0) / 8
            self._sweep = asyncio.get_running_loop().call_later(every, self._sweep_now)

    def _sweep_now(self) -> None:
        """Close connections idle too long, and those waiting too long for a message; abort
        those whose close waits on a peer that does not read (a full send buffer would keep
        them open for ever)."""
        self._sweep = None
        now = self._now()
        idle_before = now - self.limits.idle_timeout
        waiting_before = now - self.limits.message_timeout
        lingered_before = now - _LINGER
        for connection in list(self._all):
            if connection.closing_since is not None:
                if connection.closing_since < lingered_before and connection.transport:
                    connection.transport.abort()
            elif connection.draining:
                if connection.waiting is not None and connection.waiting < lingered_before:
                    connection.close()
            elif connection.active < idle_before:
                self._refuse(connection, "idle")
            elif connection.waiting is not None and connection.waiting < waiting_before:
                self._refuse(connection, "message")
        self._arm_sweep()

    def _deliver(self, connection: _TcpConnection, message: Message) -> None:
        self._on_receive(
            Inbound(
                data=serialize(message),
                remote=connection.remote,
                transport=self,
                message=message,
            )
        )

    def _stream_error(self, connection: _TcpConnection, exc: Exception) -> None:
        """The stream cannot be framed any more: let the receiver answer what it read (a 400
        or 413 goes out on this connection), then close it (RFC 3261 §21.4.1, §21.4.11)."""
        if isinstance(exc, FramingError):
            if exc.oversize:
                self.refused["size"] = self.refused.get("size", 0) + 1
            inbound = Inbound(data=exc.data, remote=connection.remote, transport=self, error=exc)
            self._on_receive(inbound)
        if self._connections.get(connection.remote) is connection:
            del self._connections[connection.remote]  # nothing more is sent on it
        connection.finish()
        self._error(connection.remote, OSError(f"unparseable SIP stream: {exc}"))

    def send(self, data: bytes, to: Address) -> None:
        self._check_destination(to)
        connection = self._connections.get(to)
        if connection is not None and connection.transport is not None:
            connection.write(data)
            self._tap("sent", "TCP", connection.local, to, data)
            return
        self._queued.setdefault(to, []).append(data)
        if to not in self._connecting:
            self._connecting[to] = asyncio.get_running_loop().create_task(self._connect(to))

    async def _connect(self, to: Address) -> None:
        loop = asyncio.get_running_loop()
        try:
            try:
                _, connection = await loop.create_connection(self._new_connection, to.host, to.port)
            except OSError as exc:
                self._queued.pop(to, None)
                self._error(to, exc)
                return
            # The peer may also have connected to us meanwhile; either connection serves.
            self._connections[to] = connection
            for data in self._queued.pop(to, []):
                connection.write(data)
                self._tap("sent", "TCP", connection.local, to, data)
        finally:
            self._connecting.pop(to, None)

    async def close(self) -> None:
        for task in list(self._connecting.values()):
            task.cancel()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        if self._server is not None:
            self._server.close()
        for connection in list(self._all):
            connection.close()
        # What is left to send is flushed, unless a peer does not read it: then abort.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_LINGER):
                for connection in list(self._all):
                    await connection.closed.wait()
        for connection in list(self._all):
            if connection.transport is not None:
                connection.transport.abort()
            await connection.closed.wait()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
