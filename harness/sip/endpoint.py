"""A SIP endpoint: transports + transactions + asyncio timers, for any transaction user.

Theory of operation (RFC 3261 §17, §13.3.1.4, §9.2): the sans-IO transactions decide *what*
to send and *when* (``next_deadline()``); this module is the glue that makes it happen on an
asyncio loop, and the place where messages are matched to transactions:

- bytes from a transport are parsed (``parse_message``); a response is matched to its client
  transaction by top Via branch + CSeq method (§17.1.3), a request to its server transaction
  by branch + sent-by + method, ACK matching INVITE (§17.2.3). Unparseable datagrams are
  dropped.
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

The endpoint knows nothing about phones; the simulator builds its PBX on the same class.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from harness.sip.message import Request, Response, new_branch, parse_message, serialize
from harness.sip.syntax import SipParseError
from harness.sip.transport import (
    Address,
    Faults,
    Inbound,
    Tap,
    TcpTransport,
    Transport,
    UdpTransport,
)
from harness.sip.txn import (
    T1,
    T2,
    Deliver,
    InviteClient,
    InviteServer,
    NonInviteClient,
    NonInviteServer,
    Output,
)

log = logging.getLogger(__name__)

TransportName = Literal["UDP", "TCP"]
#: How long a UAS retransmits a 2xx to INVITE waiting for the ACK, and a UAC keeps its ACK
#: to re-send (§13.3.1.4: 64*T1).
ACK_WAIT = 64 * T1


ClientCore = InviteClient | NonInviteClient
ServerCore = InviteServer | NonInviteServer


class ClientTransaction:
    """The TU's view of a request in flight: provisional responses, then one final.

    ``on_provisional`` (optional) is called for each 1xx; ``final`` resolves with the final
    response, a synthesised 408 (timeout) or 503 (transport error) included.
    """

    def __init__(self, request: Request, destination: Address, transport: Transport) -> None:
        self.request = request
        self.destination = destination
        self.transport = transport
        self.provisionals: list[Response] = []
        self.final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.on_provisional: Callable[[Response], None] | None = None

    async def wait_final(self) -> Response:
        """The final response (possibly a synthesised 408 or 503)."""
        return await asyncio.shield(self.final)

    def _deliver(self, response: Response) -> None:
        if response.status < 200:
            self.provisionals.append(response)
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
        core: ServerCore,
    ) -> None:
        self.endpoint = endpoint
        self.request = request
        self.remote = remote
        self.transport = transport
        self.core = core
        self.cancelled = asyncio.Event()
        self.final_status: int | None = None

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
class _Retransmit2xx:
    """A UAS's 2xx to INVITE, resent at T1, 2T1 … T2 until the ACK (§13.3.1.4)."""

    data: bytes
    remote: Address
    transport: Transport
    until: float
    interval: float = T1
    handle: asyncio.TimerHandle | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)


def _reject_all(server: ServerTransaction) -> None:
    server.reply(405 if server.request.method != "ACK" else 200)


class Endpoint:
    """Transports plus transaction matching for one SIP user agent or server.

    Open with ``await Endpoint.open(...)``; close with ``await endpoint.close()``. New requests
    go to ``on_request`` (a ``ServerTransaction`` to answer), ACKs for 2xx to ``on_ack``.
    """

    def __init__(self, *, on_request: RequestHandler | None = None) -> None:
        self.on_request: RequestHandler = on_request or _reject_all
        self.on_ack: AckHandler | None = None
        self.udp: UdpTransport | None = None
        self.tcp: TcpTransport | None = None
        self._clients: dict[tuple[str, str], tuple[ClientCore, ClientTransaction]] = {}
        self._servers: dict[tuple[str, str, str], ServerTransaction] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._retransmits: dict[tuple[str, int], _Retransmit2xx] = {}
        self._acks: dict[tuple[str, int], tuple[bytes, Address, Transport, float]] = {}
        self.parse_errors = 0
        self._closed = False

    @classmethod
    async def open(
        cls,
        *,
        on_request: RequestHandler | None = None,
        udp: bool = True,
        tcp: bool = False,
        faults: Faults | None = None,
        taps: Iterable[Tap] = (),
        allow_remote: bool = False,
    ) -> Endpoint:
        """Bind the asked transports on free loopback ports."""
        self = cls(on_request=on_request)
        if udp:
            self.udp = await UdpTransport.open(
                on_receive=self._receive,
                on_error=self._transport_error,
                faults=faults,
                allow_remote=allow_remote,
            )
        if tcp:
            self.tcp = await TcpTransport.open(
                on_receive=self._receive, on_error=self._transport_error, allow_remote=allow_remote
            )
        for tap in taps:
            self.add_tap(tap)
        return self

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
        for entry in self._retransmits.values():
            if entry.handle is not None:
                entry.handle.cancel()
        self._retransmits.clear()
        for _, client in self._clients.values():
            if not client.final.done():
                client.final.cancel()
        self._clients.clear()
        for transport in self.transports():
            await transport.close()

    # -- client side ---------------------------------------------------------------------------

    def send_request(
        self, request: Request, to: Address, *, transport: TransportName = "UDP"
    ) -> ClientTransaction:
        """Start a client transaction for ``request`` (its top Via from ``via()``)."""
        carrier = self.transport(transport)
        loop = asyncio.get_running_loop()
        data = serialize(request)
        reliable = carrier.protocol == "TCP"
        core: ClientCore
        if request.method == "INVITE":
            core = InviteClient(request, data, reliable=reliable, now=loop.time())
        else:
            core = NonInviteClient(request, data, reliable=reliable, now=loop.time())
        client = ClientTransaction(request, to, carrier)
        key = (request.headers.via.branch or "", request.method)
        self._clients[key] = (core, client)
        self._run(core, client, core.start())
        return client

    async def request(
        self, request: Request, to: Address, *, transport: TransportName = "UDP"
    ) -> Response:
        """Send ``request`` and wait for its final response."""
        return await self.send_request(request, to, transport=transport).wait_final()

    def send_ack(self, ack: Request, to: Address, *, transport: TransportName = "UDP") -> None:
        """Send the ACK for a 2xx (outside any transaction) and keep it to answer
        retransmissions of that 2xx (§13.2.2.4)."""
        carrier = self.transport(transport)
        data = serialize(ack)
        carrier.send(data, to)
        key = (ack.headers.call_id, ack.headers.cseq.number)
        self._acks[key] = (data, to, carrier, asyncio.get_running_loop().time() + ACK_WAIT)

    def send_stateless(
        self, message: Request | Response, to: Address, *, transport: TransportName = "UDP"
    ) -> None:
        self.transport(transport).send(serialize(message), to)

    def _run(
        self,
        core: ClientCore | ServerCore,
        client: ClientTransaction | ServerTransaction,
        outputs: list[Output],
    ) -> None:
        for output in outputs:
            if isinstance(output, Deliver):
                assert isinstance(client, ClientTransaction)
                client._deliver(output.response)
            elif isinstance(client, ClientTransaction):
                client.transport.send(output.data, client.destination)
            else:
                client.transport.send(output.data, client.remote)
        self._arm(core, client)

    def _arm(
        self, core: ClientCore | ServerCore, owner: ClientTransaction | ServerTransaction
    ) -> None:
        ident = id(core)
        old = self._timers.pop(ident, None)
        if old is not None:
            old.cancel()
        if core.terminated:
            self._forget(core, owner)
            return
        deadline = core.next_deadline()
        if deadline is None or self._closed:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop(ident, None)
            self._run(core, owner, core.timer(loop.time()))

        self._timers[ident] = loop.call_at(deadline, fire)

    def _forget(
        self, core: ClientCore | ServerCore, owner: ClientTransaction | ServerTransaction
    ) -> None:
        if isinstance(owner, ClientTransaction):
            client_key = (owner.request.headers.via.branch or "", owner.request.method)
            entry = self._clients.get(client_key)
            if entry is not None and entry[0] is core:
                del self._clients[client_key]
        else:
            for server_key, server in list(self._servers.items()):
                if server is owner:
                    del self._servers[server_key]

    def _transport_error(self, to: Address, exc: OSError) -> None:
        log.debug("transport error towards %s: %s", to, exc)
        for core, client in list(self._clients.values()):
            if client.destination == to:
                self._run(core, client, core.transport_error())

    # -- receiving -----------------------------------------------------------------------------

    def _receive(self, inbound: Inbound) -> None:
        message = inbound.message
        if message is None:
            try:
                message = parse_message(inbound.data)
            except SipParseError as exc:
                self.parse_errors += 1
                log.debug("dropping unparseable message from %s: %s", inbound.remote, exc)
                return
        if isinstance(message, Response):
            self._receive_response(message)
        else:
            self._receive_request(message, inbound.remote, inbound.transport)

    def _receive_response(self, response: Response) -> None:
        headers = response.headers
        key = (headers.via.branch or "", headers.cseq.method)
        entry = self._clients.get(key)
        now = asyncio.get_running_loop().time()
        if entry is None:
            # A retransmitted 2xx to an INVITE whose transaction is over: ACK it again.
            sent = self._acks.get((headers.call_id, headers.cseq.number))
            if sent is not None and 200 <= response.status < 300 and sent[3] > now:
                sent[2].send(sent[0], sent[1])
            return
        core, client = entry
        if isinstance(core, InviteClient):
            ack = None
            if response.status >= 300:
                ack = serialize(_ack_for_failure(client.request, response))
            self._run(core, client, core.receive(response, ack=ack, now=now))
        else:
            self._run(core, client, core.receive(response, now=now))

    def _receive_request(self, request: Request, remote: Address, transport: Transport) -> None:
        via = request.headers.via
        method = "INVITE" if request.method == "ACK" else request.method
        key = (via.branch or "", via.sent_by, method)
        existing = self._servers.get(key)
        now = asyncio.get_running_loop().time()
        if existing is not None:
            core = existing.core
            if request.method == "ACK" and isinstance(core, InviteServer):
                self._run(core, existing, core.ack(now))
            else:
                self._run(core, existing, core.retransmission())
            return
        if request.method == "ACK":
            self._receive_2xx_ack(request, remote)
            return
        reliable = transport.protocol == "TCP"
        server_core: ServerCore = (
            InviteServer(reliable=reliable)
            if request.method == "INVITE"
            else NonInviteServer(reliable=reliable)
        )
        server = ServerTransaction(self, request, remote, transport, server_core)
        self._servers[(via.branch or "", via.sent_by, request.method)] = server
        if request.method == "CANCEL":
            self._receive_cancel(server)
            return
        if request.method == "INVITE":
            # §17.2.1: answer 100 Trying at once so the client stops retransmitting.
            server.respond(Response.for_request(request, 100))
        self.on_request(server)

    def _receive_cancel(self, cancel: ServerTransaction) -> None:
        via = cancel.request.headers.via
        invite = self._servers.get((via.branch or "", via.sent_by, "INVITE"))
        if invite is None or invite.final_status is not None:
            cancel.reply(481 if invite is None else 200)
            return
        cancel.reply(200)
        invite.cancelled.set()

    def _receive_2xx_ack(self, ack: Request, remote: Address) -> None:
        key = (ack.headers.call_id, ack.headers.cseq.number)
        entry = self._retransmits.pop(key, None)
        if entry is not None:
            entry.acked.set()
            if entry.handle is not None:
                entry.handle.cancel()
        if self.on_ack is not None:
            self.on_ack(ack, remote)

    # -- server side ---------------------------------------------------------------------------

    def _server_respond(self, server: ServerTransaction, response: Response) -> None:
        loop = asyncio.get_running_loop()
        data = serialize(response)
        core = server.core
        self._run(core, server, core.respond(response.status, data, now=loop.time()))
        if (
            isinstance(core, InviteServer)
            and 200 <= response.status < 300
            and server.transport.protocol == "UDP"
        ):
            self._retransmit_2xx(server, data, loop.time())

    def _retransmit_2xx(self, server: ServerTransaction, data: bytes, now: float) -> None:
        key = (server.request.headers.call_id, server.request.headers.cseq.number)
        entry = _Retransmit2xx(
            data=data, remote=server.remote, transport=server.transport, until=now + ACK_WAIT
        )
        self._retransmits[key] = entry
        loop = asyncio.get_running_loop()

        def fire() -> None:
            if entry.acked.is_set() or self._closed:
                return
            if loop.time() >= entry.until:
                self._retransmits.pop(key, None)
                return
            entry.transport.send(entry.data, entry.remote)
            entry.interval = min(entry.interval * 2, T2)
            entry.handle = loop.call_later(entry.interval, fire)

        entry.handle = loop.call_later(entry.interval, fire)

    def awaiting_ack(self, request: Request) -> bool:
        """True while a 2xx to ``request`` (an INVITE) is still retransmitted for want of
        an ACK."""
        key = (request.headers.call_id, request.headers.cseq.number)
        return key in self._retransmits


def _ack_for_failure(invite: Request, response: Response) -> Request:
    """The ACK a client INVITE transaction sends for a 300–699 (§17.1.1.3): same branch,
    Request-URI, From, Call-ID and CSeq number; To from the response; Route kept."""
    headers = invite.headers
    extra = tuple(("Route", value) for value in headers.get_all("Route"))
    return Request.build(
        "ACK",
        invite.uri,
        from_=headers.get("From") or "",
        to=response.headers.get("To") or "",
        call_id=headers.call_id,
        cseq=headers.cseq.number,
        via=headers.get_all("Via")[0],
        headers=extra,
    )
