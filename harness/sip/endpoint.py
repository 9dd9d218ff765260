"""A SIP endpoint: transports + transactions + asyncio timers, for any transaction user.

Theory of operation (RFC 3261 §17, §13.3.1.4, §9.2): the sans-IO transactions decide *what*
to send and *when* (``next_deadline()``); this module is the glue that makes it happen on an
asyncio loop, and the place where messages are matched to transactions:

- bytes from a transport are parsed (``parse_message``); a response is matched to its client
  transaction by top Via branch + CSeq method (§17.1.3), a request to its server transaction
  by branch + sent-by + method, ACK matching INVITE (§17.2.3) — the core's ``client_key`` /
  ``server_key``. Unparseable messages — and those a transport refused as too large or
  unframeable (``Inbound.error``) — are dropped (counted in ``parse_errors``) unless the TU
  answers them (``on_unparseable``: a server's stateless 400/413, RFC 3261 §21.4.1).
- transactions are driven with ``now = loop.time()`` (real seconds: transaction timers keep
  their RFC values, never scaled — DESIGN.md "Time"); after each input the endpoint re-arms
  one asyncio timer at the transaction's ``next_deadline()``.
- requests that match no transaction go to the transaction user (``on_request``): a phone,
  or the simulator's registrar/PBX. The TU answers through ``ServerTransaction.respond``.
  CANCEL is answered here (200, or 481 with no matching INVITE; §9.2) and signalled on the
  INVITE's ``ServerTransaction.cancelled``; the TU then sends 487.
- UA-core duties around 2xx to INVITE: the UAS retransmits its 2xx until the ACK arrives
  (``respond`` with a 2xx to an INVITE does it, §13.3.1.4); the UAC re-sends its ACK for
  every retransmitted 2xx (``send_ack`` remembers it, §13.2.2.4). ACKs for 2xx go to
  ``on_ack``.
- a client transaction that times out yields a synthesised 408, a transport error (ICMP port
  unreachable, TCP connection refused) a synthesised 503 (§8.1.3.1): the TU always sees
  exactly one final response.
- a transaction that only waits out its last timer (D, I, J, K, L or M: up to 64*T1 = 32 s)
  is kept as a ``_Linger``: the bytes to repeat and where, nothing parsed. Those waits absorb
  retransmissions and nothing else, and at a hundred calls a second thousands of finished
  transactions wait at once: kept whole, each with its parsed messages and timer, they made
  the heap — and every full garbage-collection pass, which stops the loop — grow with the
  call rate (≈ 1 million objects and 0.9 s pauses at 150 calls/s). One sweep timer ends them.

The state machines are the core's (``harness.sip.transaction``, ``harness.sip.dialog``'s
``SuccessRetransmission``); this module only feeds them and carries out their outputs.
The endpoint knows nothing about phones; the simulator builds its PBX on the same class.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar

from harness.errors import HarnessError
from harness.sip.dialog import SuccessRetransmission, cancel_for
from harness.sip.message import Request, Response, new_branch, parse_message, serialize
from harness.sip.syntax import SipParseError
from harness.sip.transaction import (
    DEFAULT_TIMERS,
    DeliverRequest,
    DeliverResponse,
    Event,
    SendRequest,
    SendResponse,
    State,
    TimerConfig,
    TransactionKey,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
    cancel_target_key,
    client_key,
    server_key,
)
from harness.sip.transaction import ClientTransaction as CoreClient
from harness.sip.transaction import ServerTransaction as CoreServer
from harness.sip.transport import (
    DEFAULT_LIMITS,
    LOOPBACK,
    Address,
    Faults,
    Inbound,
    Tap,
    TcpTransport,
    Transport,
    TransportLimits,
    UdpTransport,
)

log = logging.getLogger(__name__)

TransportName = Literal["UDP", "TCP"]
#: Tries at finding a port number free for both UDP and TCP.
_SAME_PORT_ATTEMPTS = 10


class ClientTransaction:
    """The TU's view of a request in flight: provisional responses, then one final.

    ``on_provisional`` (optional) is called for each 1xx; ``final`` resolves with the final
    response, a synthesised 408 (timeout) or 503 (transport error) included. Retransmitted
    2xx to an INVITE (RFC 6026 ACCEPTED) are ACKed again by the endpoint (``send_ack``).
    """

    def __init__(
        self, endpoint: Endpoint, request: Request, destination: Address, transport: Transport
    ) -> None:
        self.endpoint = endpoint
        self.request = request
        self.destination = destination
        self.transport = transport
        self.provisionals: list[Response] = []
        self.final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.on_provisional: Callable[[Response], None] | None = None
        self.cancel_requested = False
        self.cancel_sent = False

    def cancel(self) -> None:
        """CANCEL this INVITE (§9.1): at once if a provisional response came, else as soon as
        one comes; nothing once the final response is in. The INVITE then ends with 487 (or
        the 2xx that crossed the CANCEL: the TU should BYE it)."""
        if self.request.method != "INVITE":
            raise ValueError(f"only an INVITE can be cancelled, not {self.request.method}")
        if self.final.done() or self.cancel_requested:
            return
        self.cancel_requested = True
        if self.provisionals:
            self._send_cancel()

    def _send_cancel(self) -> None:
        self.cancel_sent = True
        protocol = self.transport.protocol
        self.endpoint.send_request(cancel_for(self.request), self.destination, transport=protocol)

    async def wait_final(self) -> Response:
        """The final response (possibly a synthesised 408 or 503)."""
        return await asyncio.shield(self.final)

    def _deliver(self, response: Response) -> None:
        if response.status < 200:
            self.provisionals.append(response)
            if self.cancel_requested and not self.cancel_sent:
                self._send_cancel()
            if self.on_provisional is not None:
                self.on_provisional(response)
        elif not self.final.done():
            self.final.set_result(response)


class ServerTransaction:
    """The TU's view of a request received: ``respond`` to it (1xx, then one final)."""

    def __init__(
        self,
        endpoint: Endpoint,
        request: Request,
        remote: Address,
        transport: Transport,
        core: CoreServer,
    ) -> None:
        self.endpoint = endpoint
        self.request = request
        self.remote = remote
        self.transport = transport
        self.core = core
        self.cancelled = asyncio.Event()
        self.final_status: int | None = None
        # Called if a 2xx sent to this INVITE was retransmitted for 64*T1 without an ACK
        # (§13.3.1.4: the UAS should then end the session with BYE).
        self.on_no_ack: Callable[[], None] | None = None
        self.ack_wait: float | None = None  # that wait, when not 64*T1 (tests shorten it)
        self.last_sent: bytes | None = None  # the latest response, as sent

    def respond(self, response: Response) -> None:
        """Send ``response``; a 2xx to INVITE is retransmitted until its ACK (§13.3.1.4)."""
        if self.final_status is not None:
            raise RuntimeError(
                f"{self.request.method} already answered {self.final_status}; cannot send "
                f"{response.status}"
            )
        if response.status >= 200:
            self.final_status = response.status
        self.endpoint._server_respond(self, response)

    def reply(
        self, status: int, reason: str | None = None, *, to_tag: str | None = None
    ) -> Response:
        """Build a response with ``Response.for_request`` and send it; returns it."""
        response = Response.for_request(self.request, status, reason, to_tag=to_tag)
        self.respond(response)
        return response


RequestHandler = Callable[[ServerTransaction], None]
AckHandler = Callable[[Request, Address], None]


@dataclass(eq=False)
class _Sent2xx:
    """A UAS's 2xx to INVITE being retransmitted until its ACK (core's state machine)."""

    machine: SuccessRetransmission
    data: bytes
    remote: Address
    transport: Transport
    handle: asyncio.TimerHandle | None = None


class _SentAck(NamedTuple):
    """An ACK for a 2xx we sent, kept to answer retransmissions of that 2xx (§13.2.2.4)."""

    until: float
    data: bytes
    host: str
    port: int
    protocol: str


class _Linger(NamedTuple):
    """What is left of a transaction waiting out its last timer (§17.1.1.2, §17.1.2.2,
    §17.2.1, §17.2.2; RFC 6026 §7.1): until ``until``, a retransmission gets ``resend`` again
    (the final response of a non-INVITE server, the ACK of an INVITE client for a non-2xx)
    or is absorbed; ``accepted`` (RFC 6026 ACCEPTED) passes ACKs (server) to the TU and ACKs
    retransmitted 2xx (client) again."""

    until: float
    resend: bytes | None
    host: str
    port: int
    protocol: str
    accepted: bool


# Both are *stored* as plain tuples of plain values (read back with ``_make``), keyed by
# plain tuples: the garbage collector stops tracking exact tuples of untracked values after
# their first pass (never NamedTuple instances), so thousands of them cost a full collection
# nothing.
_SentAckRow = tuple[float, bytes, str, int, str]
_LingerRow = tuple[float, bytes | None, str, int, str, bool]
_LingerKey = tuple[str, str, str]


def _linger_key(key: TransactionKey) -> _LingerKey:
    return (key.branch, key.sent_by, key.method)


#: The states in which a transaction only absorbs retransmissions until a timer ends it.
_CLIENT_WAITS = frozenset({State.COMPLETED, State.ACCEPTED})
_SERVER_WAITS = frozenset({State.CONFIRMED, State.ACCEPTED})
#: How often (at most) the sweep of lingering transactions runs, in seconds.
_SWEEP_EVERY = 0.5


_K = TypeVar("_K")


def _expire(table: dict[_K, _LingerRow] | dict[_K, _SentAckRow], now: float) -> None:
    """Pop entries from the front of an insertion-ordered table while their time is up
    (``until`` first in each row)."""
    while table:
        key = next(iter(table))
        if table[key][0] > now:
            return
        del table[key]


def _reject_all(server: ServerTransaction) -> None:
    server.reply(405)


class Endpoint:
    """Transports plus transaction matching for one SIP user agent or server.

    Open with ``await Endpoint.open(...)``; close with ``await endpoint.close()``. New requests
    go to ``on_request`` (a ``ServerTransaction`` to answer), ACKs for 2xx to ``on_ack``.
    """

    def __init__(
        self, *, on_request: RequestHandler | None = None, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        self.on_request: RequestHandler = on_request or _reject_all
        # T1, T2, T4 of every transaction (RFC values; tests may shorten them).
        self.timers = timers
        self.on_ack: AckHandler | None = None
        # A server may answer what does not parse (400, RFC 3261 §21.4.1); default: drop it.
        self.on_unparseable: Callable[[Inbound, SipParseError], None] | None = None
        self.udp: UdpTransport | None = None
        self.tcp: TcpTransport | None = None
        self._clients: dict[TransactionKey, tuple[CoreClient, ClientTransaction]] = {}
        self._servers: dict[TransactionKey, ServerTransaction] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._sent_2xx: dict[tuple[str, int], _Sent2xx] = {}
        self._acks: dict[tuple[str, int], _SentAckRow] = {}
        self._client_lingers: dict[_LingerKey, _LingerRow] = {}
        self._server_lingers: dict[_LingerKey, _LingerRow] = {}
        self._sweep: asyncio.TimerHandle | None = None
        self.parse_errors = 0
        self._closed = False

    @classmethod
    async def open(
        cls,
        *,
        on_request: RequestHandler | None = None,
        udp: bool = True,
        tcp: bool = False,
        host: str = LOOPBACK,
        port: int = 0,
        faults: Faults | None = None,
        timers: TimerConfig = DEFAULT_TIMERS,
        taps: Iterable[Tap] = (),
        allow_remote: bool = False,
        limits: TransportLimits = DEFAULT_LIMITS,
    ) -> Endpoint:
        """Bind the asked transports on ``host:port``; port 0 picks a free port, the same
        number for UDP and TCP when both are asked (as SIP servers conventionally listen).
        ``limits``: message sizes, connections and timeouts the transports accept."""
        self = cls(on_request=on_request, timers=timers)
        for attempt in range(_SAME_PORT_ATTEMPTS):
            try:
                await self._bind(
                    host,
                    port,
                    udp=udp,
                    tcp=tcp,
                    faults=faults,
                    remote=allow_remote,
                    limits=limits,
                )
                break
            except HarnessError:
                await self.close()
                self = cls(on_request=on_request, timers=timers)
                if port or attempt == _SAME_PORT_ATTEMPTS - 1:
                    raise
        for tap in taps:
            self.add_tap(tap)
        return self

    async def _bind(
        self,
        host: str,
        port: int,
        *,
        udp: bool,
        tcp: bool,
        faults: Faults | None,
        remote: bool,
        limits: TransportLimits,
    ) -> None:
        if udp:
            self.udp = await UdpTransport.open(
                on_receive=self._receive,
                on_error=self._transport_error,
                host=host,
                port=port,
                faults=faults,
                allow_remote=remote,
                limits=limits,
            )
            port = self.udp.local.port
        if tcp:
            self.tcp = await TcpTransport.open(
                on_receive=self._receive,
                on_error=self._transport_error,
                host=host,
                port=port,
                allow_remote=remote,
                limits=limits,
            )

    # -- set-up ------------------------------------------------------------------------------

    def add_tap(self, tap: Tap) -> None:
        for transport in self.transports():
            transport.add_tap(tap)

    def transports(self) -> list[Transport]:
        return [t for t in (self.udp, self.tcp) if t is not None]

    def transport(self, name: TransportName = "UDP") -> Transport:
        transport = self.udp if name == "UDP" else self.tcp
        if transport is None:
            raise ValueError(
                f"this endpoint has no {name} transport (open it with {name.lower()}=True)"
            )
        return transport

    def via(self, name: TransportName = "UDP") -> str:
        """A fresh top Via for a request sent over ``name`` (rport asked, RFC 3581)."""
        return f"SIP/2.0/{name} {self.transport(name).local};branch={new_branch()};rport"

    async def close(self) -> None:
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for sent in self._sent_2xx.values():
            if sent.handle is not None:
                sent.handle.cancel()
        self._sent_2xx.clear()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        self._client_lingers.clear()
        self._server_lingers.clear()
        self._acks.clear()
        for _, client in self._clients.values():
            if not client.final.done():
                client.final.cancel()
        self._clients.clear()
        self._servers.clear()
        for transport in self.transports():
            await transport.close()

    # -- client side ---------------------------------------------------------------------------

    def send_request(
        self, request: Request, to: Address, *, transport: TransportName = "UDP"
    ) -> ClientTransaction:
        """Start a client transaction for ``request`` (its top Via from ``via()``)."""
        carrier = self.transport(transport)
        loop = asyncio.get_running_loop()
        core = CoreClient(
            request, reliable=carrier.protocol == "TCP", now=loop.time(), timers=self.timers
        )
        client = ClientTransaction(self, request, to, carrier)
        self._clients[core.key] = (core, client)
        self._client_events(core, client, core.start())
        return client

    async def request(
        self, request: Request, to: Address, *, transport: TransportName = "UDP"
    ) -> Response:
        """Send ``request`` and wait for its final response."""
        return await self.send_request(request, to, transport=transport).wait_final()

    def send_ack(self, ack: Request, to: Address, *, transport: TransportName = "UDP") -> None:
        """Send the ACK for a 2xx (its own transaction-less message, §17.1.1.3) and keep it
        to answer retransmissions of that 2xx (§13.2.2.4)."""
        carrier = self.transport(transport)
        data = serialize(ack)
        carrier.send(data, to)
        until = asyncio.get_running_loop().time() + self.timers.timeout
        key = (ack.headers.call_id, ack.headers.cseq.number)
        self._acks.pop(key, None)  # re-inserted last: the dict stays in ``until`` order
        self._acks[key] = (until, data, to.host, to.port, carrier.protocol)
        self._arm_sweep()

    def send_stateless(
        self, message: Request | Response, to: Address, *, transport: TransportName = "UDP"
    ) -> None:
        self.transport(transport).send(serialize(message), to)

    def _client_events(
        self, core: CoreClient, client: ClientTransaction, events: list[Event]
    ) -> None:
        for event in events:
            if isinstance(event, SendRequest):
                client.transport.send(serialize(event.request), client.destination)
            elif isinstance(event, DeliverResponse):
                response = event.response
                if client.final.done() and 200 <= response.status < 300:
                    self._ack_again(response)  # a retransmitted 2xx (RFC 6026 ACCEPTED)
                client._deliver(response)
            elif isinstance(event, TransactionTimeout):
                client._deliver(Response.for_request(client.request, 408, "Request Timeout"))
            elif isinstance(event, TransportError):
                client._deliver(Response.for_request(client.request, 503, "Service Unavailable"))
            elif isinstance(event, TransactionTerminated):
                entry = self._clients.get(core.key)
                if entry is not None and entry[0] is core:
                    del self._clients[core.key]
        if core.state in _CLIENT_WAITS and not core.terminated and not self._closed:
            self._linger_client(core, client)
            return
        self._arm(core, lambda now: self._client_events(core, client, core.on_timeout(now)))

    def _linger_client(self, core: CoreClient, client: ClientTransaction) -> None:
        """An INVITE client in COMPLETED (Timer D: re-ACK each repeated failure) or ACCEPTED
        (Timer M: ACK each repeated 2xx), a non-INVITE client in COMPLETED (Timer K)."""
        deadline = core.next_deadline()
        if self._clients.get(core.key, (None,))[0] is core:
            del self._clients[core.key]
        self._disarm(core)
        if deadline is None:
            return
        ack = None if core.ack is None else serialize(core.ack)
        to = client.destination
        accepted = core.state is State.ACCEPTED
        row = (deadline, ack, to.host, to.port, client.transport.protocol, accepted)
        self._client_lingers[_linger_key(core.key)] = row
        self._arm_sweep()

    def _resend(self, data: bytes, host: str, port: int, protocol: str) -> None:
        transport = self.tcp if protocol == "TCP" else self.udp
        if transport is not None:
            transport.send(data, Address(host=host, port=port))

    def _disarm(self, core: CoreClient | CoreServer) -> None:
        handle = self._timers.pop(id(core), None)
        if handle is not None:
            handle.cancel()

    def _arm_sweep(self) -> None:
        if self._sweep is None and not self._closed:
            self._sweep = asyncio.get_running_loop().call_later(_SWEEP_EVERY, self._sweep_now)

    def _sweep_now(self) -> None:
        """Forget lingering transactions and kept ACKs whose time is up. Each table is in
        insertion order, which is ``until`` order per kind of wait: pop from the front while
        expired (a short wait behind a long one ends at a later sweep — until then it only
        absorbs, which it would have done anyway)."""
        self._sweep = None
        now = asyncio.get_running_loop().time()
        _expire(self._client_lingers, now)
        _expire(self._server_lingers, now)
        _expire(self._acks, now)
        if self._client_lingers or self._server_lingers or self._acks:
            self._arm_sweep()

    def _lingering(
        self, table: dict[_LingerKey, _LingerRow], key: TransactionKey
    ) -> _Linger | None:
        row = table.get(_linger_key(key))
        if row is None or row[0] <= asyncio.get_running_loop().time():
            return None
        return _Linger._make(row)

    def _ack_again(self, response: Response) -> None:
        row = self._acks.get((response.headers.call_id, response.headers.cseq.number))
        if row is not None and row[0] > asyncio.get_running_loop().time():
            sent = _SentAck._make(row)
            self._resend(sent.data, sent.host, sent.port, sent.protocol)

    def _arm(self, core: CoreClient | CoreServer, fire: Callable[[float], None]) -> None:
        """(Re)schedule the one asyncio timer of ``core`` at its ``next_deadline()``."""
        ident = id(core)
        old = self._timers.pop(ident, None)
        if old is not None:
            old.cancel()
        deadline = core.next_deadline()
        if deadline is None or core.terminated or self._closed:
            return
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._timers.pop(ident, None)
            fire(loop.time())

        self._timers[ident] = loop.call_at(deadline, run)

    def _transport_error(self, to: Address, exc: OSError) -> None:
        log.debug("transport error towards %s: %s", to, exc)
        now = asyncio.get_running_loop().time()
        for core, client in list(self._clients.values()):
            if client.destination == to and not core.terminated:
                self._client_events(core, client, core.transport_error(now))

    # -- receiving -----------------------------------------------------------------------------

    def _receive(self, inbound: Inbound) -> None:
        message = inbound.message
        if message is None:
            error = inbound.error
            if error is None:
                try:
                    message = parse_message(inbound.data)
                except SipParseError as exc:
                    error = exc
            if message is None or error is not None:
                self.parse_errors += 1
                log.debug("dropping unparseable message from %s: %s", inbound.remote, error)
                if self.on_unparseable is not None and error is not None:
                    self.on_unparseable(inbound, error)
                return
        if isinstance(message, Response):
            self._receive_response(message)
        else:
            self._receive_request(message, inbound.remote, inbound.transport)

    def _receive_response(self, response: Response) -> None:
        key = client_key(response)
        entry = self._clients.get(key)
        if entry is None:
            linger = self._lingering(self._client_lingers, key)
            if linger is not None:
                if linger.accepted:
                    if 200 <= response.status < 300:
                        self._ack_again(response)  # RFC 6026 ACCEPTED: ACK each 2xx again
                elif linger.resend is not None and response.status >= 300:
                    self._resend(linger.resend, linger.host, linger.port, linger.protocol)
                return
            # A 2xx retransmitted after its transaction ended: ACK it again (§13.2.2.4).
            if 200 <= response.status < 300 and response.headers.cseq.method == "INVITE":
                self._ack_again(response)
            return
        core, client = entry
        now = asyncio.get_running_loop().time()
        self._client_events(core, client, core.receive(response, now))

    def _receive_request(self, request: Request, remote: Address, transport: Transport) -> None:
        key = server_key(request)
        existing = self._servers.get(key)
        now = asyncio.get_running_loop().time()
        if existing is not None:
            self._server_events(existing, existing.core.receive(request, now))
            return
        linger = self._lingering(self._server_lingers, key)
        if linger is not None:
            if request.method == "ACK":
                if linger.accepted:
                    self._receive_2xx_ack(request, remote)  # an ACK reusing the branch
            elif linger.resend is not None:  # §17.2.2: repeat the final response
                self._resend(linger.resend, linger.host, linger.port, linger.protocol)
            return
        if request.method == "ACK":
            self._receive_2xx_ack(request, remote)
            return
        reliable = transport.protocol == "TCP"
        core = CoreServer(
            request, reliable=reliable, now=now, auto_trying=False, timers=self.timers
        )
        server = ServerTransaction(self, request, remote, transport, core)
        self._servers[key] = server
        if request.method == "CANCEL":
            self._receive_cancel(server)
            return
        if request.method == "INVITE":
            # §17.2.1: answer 100 Trying at once so the client stops retransmitting.
            server.respond(Response.for_request(request, 100))
        self.on_request(server)

    def _receive_cancel(self, cancel: ServerTransaction) -> None:
        target = cancel_target_key(cancel.request)
        invite = self._servers.get(target)
        if invite is None:
            # An INVITE answered already still exists (its final response is final): 200,
            # with no effect (§9.2); one never seen is 481.
            cancel.reply(200 if self._lingering(self._server_lingers, target) else 481)
            return
        cancel.reply(200)
        if invite.final_status is None:
            invite.cancelled.set()

    def _receive_2xx_ack(self, ack: Request, remote: Address) -> None:
        sent = self._sent_2xx.pop((ack.headers.call_id, ack.headers.cseq.number), None)
        if sent is not None:
            sent.machine.ack_received()
            if sent.handle is not None:
                sent.handle.cancel()
        if self.on_ack is not None:
            self.on_ack(ack, remote)

    # -- server side ---------------------------------------------------------------------------

    def _server_respond(self, server: ServerTransaction, response: Response) -> None:
        now = asyncio.get_running_loop().time()
        self._server_events(server, server.core.respond(response, now))
        if server.request.method == "INVITE" and 200 <= response.status < 300:
            self._retransmit_2xx(server, response, now)

    def _server_events(self, server: ServerTransaction, events: list[Event]) -> None:
        core = server.core
        for event in events:
            if isinstance(event, SendResponse):
                server.last_sent = serialize(event.response)
                server.transport.send(server.last_sent, server.remote)
            elif isinstance(event, DeliverRequest):  # an ACK reusing the INVITE's branch
                self._receive_2xx_ack(event.request, server.remote)
            elif isinstance(event, TransactionTerminated):
                if self._servers.get(core.key) is server:
                    del self._servers[core.key]
        if not core.terminated and not self._closed:
            if core.state in _SERVER_WAITS or (not core.invite and core.state is State.COMPLETED):
                self._linger_server(server)
                return
        self._arm(core, lambda now: self._server_events(server, core.on_timeout(now)))

    def _linger_server(self, server: ServerTransaction) -> None:
        """A non-INVITE server in COMPLETED (Timer J: repeat the final response), an INVITE
        server in CONFIRMED (Timer I: absorb) or ACCEPTED (Timer L: ACKs to the TU)."""
        core = server.core
        deadline = core.next_deadline()
        if self._servers.get(core.key) is server:
            del self._servers[core.key]
        self._disarm(core)
        if deadline is None:
            return
        to = server.remote
        resend = None if core.invite else server.last_sent
        accepted = core.state is State.ACCEPTED
        row = (deadline, resend, to.host, to.port, server.transport.protocol, accepted)
        self._server_lingers[_linger_key(core.key)] = row
        self._arm_sweep()

    def _retransmit_2xx(self, server: ServerTransaction, response: Response, now: float) -> None:
        machine = SuccessRetransmission(
            response,
            reliable=server.transport.protocol == "TCP",
            now=now,
            timers=self.timers,
            give_up_after=server.ack_wait,
        )
        sent = _Sent2xx(
            machine=machine,
            data=serialize(response),
            remote=server.remote,
            transport=server.transport,
        )
        key = (server.request.headers.call_id, server.request.headers.cseq.number)
        self._sent_2xx[key] = sent
        loop = asyncio.get_running_loop()

        def arm() -> None:
            deadline = machine.next_deadline()
            if deadline is None or self._closed:
                self._sent_2xx.pop(key, None)
                return
            sent.handle = loop.call_at(deadline, fire)

        def fire() -> None:
            for event in machine.on_timeout(loop.time()):
                if isinstance(event, SendResponse):
                    sent.transport.send(sent.data, sent.remote)
                else:
                    log.info("no ACK for the 2xx of %s within 64*T1", key[0])
                    if server.on_no_ack is not None:
                        server.on_no_ack()
            arm()

        arm()

    def awaiting_ack(self, request: Request) -> bool:
        """True while a 2xx to ``request`` (an INVITE) is retransmitted for want of an ACK."""
        return (request.headers.call_id, request.headers.cseq.number) in self._sent_2xx
