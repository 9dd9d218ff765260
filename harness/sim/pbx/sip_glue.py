"""SIP glue: the registrar and the call engine on a real SIP endpoint (a small B2BUA).

Theory of operation (docs/pbx.md "The SIP side"). One ``PbxSipService`` per tenant
owns a sipphone ``Endpoint`` (transactions, retransmissions, CANCEL matching), the pure
``Registrar`` and the reactive ``Pbx``. Incoming requests:

- REGISTER → ``Registrar.handle`` (``now`` = real loop time: registrations are SIP soft state,
  refreshed by phones in real seconds, never scaled);
- INVITE outside a dialog from a terminal, proven by digest (407 challenge, same throttling
  as REGISTER), or to one of the tenant's 外線番号 from outside → ``Pbx.incoming`` with a
  ``_CallSession`` as the call's ``LegDriver``; CANCEL → ``caller_cancelled`` then 487;
- BYE inside a dialog → relayed to the other side, ``hung_up``;
- anything else outside a dialog: OPTIONS 200, the rest 405 (RFC 3261 §8.2.1).

Each engine action becomes SIP on the spot (INVITE/CANCEL/BYE, final responses to the caller);
each SIP outcome comes back to the engine from an asyncio task, never re-entrantly from inside
an action, so the ``Call`` is always between two steps when it hears news.

Known simplifications (documented in docs/pbx.md): a leg INVITEs the terminal's most recent
contact (no forking over several contacts); media is not anchored — the caller's SDP offer is
passed to the leg and the leg's answer back; external numbers are reached only when a PSTN
resolver is given; UDP only; no re-INVITE (501).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.clock import Clock
from harness.sim.pbx.call import Call, CallState, LegFailure, LegTarget
from harness.sim.pbx.config import PbxConfig, PbxParams
from harness.sim.pbx.pbx import Pbx
from harness.sim.pbx.registrar import (
    ContactRequest,
    RegisterRequest,
    Registrar,
    RegistrarParams,
    StoredCredential,
)
from harness.sim.pbx.routing import (
    CallerId,
    ExternalOrigin,
    InternalOrigin,
    Origin,
    ReleaseReason,
    ToExtension,
)
from harness.sip.endpoint import ClientTransaction, Endpoint, ServerTransaction
from harness.sip.message import Request, Response, new_call_id, new_tag
from harness.sip.syntax import SipParseError
from harness.sip.transport import Address, Inbound
from harness.sip.uri import NameAddr, SipUri

log = logging.getLogger(__name__)

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"
BUSY_STATUSES = frozenset({486, 600, 603})
UNREACHABLE_STATUSES = frozenset({404, 408, 410, 480})
# What the voicemail UAS answers with (media is not simulated, only the dialog).
VOICEMAIL_SDP = (
    b"v=0\r\no=voicemail 1 1 IN IP4 127.0.0.1\r\ns=voicemail\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 9 RTP/AVP 0\r\na=recvonly\r\n"
)

PstnResolver = Callable[[str], Address | None]


def _address_of(uri: SipUri) -> Address:
    return Address(host=uri.host_address, port=uri.port or 5060)


@dataclass(eq=False)
class _Dialog:
    """Our side of one dialog, enough to send BYE on it (RFC 3261 §12.2.1.1)."""

    call_id: str
    local: NameAddr  # our From (with our tag)
    remote: NameAddr  # their To/From (with their tag)
    target: SipUri  # their Contact
    address: Address
    endpoint: Endpoint  # the side (tenant port or carrier port) this dialog lives on
    cseq: int = 1

    def bye(self) -> None:
        endpoint = self.endpoint
        self.cseq += 1
        request = Request.build(
            "BYE",
            self.target,
            from_=self.local,
            to=self.remote,
            call_id=self.call_id,
            cseq=self.cseq,
            via=endpoint.via(),
        )
        endpoint.send_request(request, self.address)


@dataclass(eq=False)
class _Leg:
    id: str
    invite: Request
    address: Address
    endpoint: Endpoint
    client: ClientTransaction | None  # None: nothing could be sent (no contact)
    final: Response | None = None
    dialog: _Dialog | None = None
    stopped: bool = False


@dataclass(eq=False)
class _CallSession:
    """The ``LegDriver`` of one call: the caller's INVITE server transaction and its legs."""

    service: PbxSipService
    server: ServerTransaction
    endpoint: Endpoint  # where the caller's INVITE arrived (tenant port or carrier port)
    call_id: str
    call: Call | None = None
    legs: dict[str, _Leg] = field(default_factory=dict)
    caller_tag: str = field(default_factory=new_tag)
    ringing_sent: bool = False
    caller_dialog: _Dialog | None = None
    peer_leg: _Leg | None = None  # connected leg
    peer_session: _CallSession | None = None  # bridged caller (pickup)
    cancel_watch: asyncio.Task[None] | None = None

    # --- LegDriver ----------------------------------------------------------------------------

    def start_leg(self, target: LegTarget, caller_id: CallerId) -> str:
        leg_id = f"{self.call_id}/leg{len(self.legs) + 1}"
        address_and_uri = self.service.locate(target)
        if address_and_uri is None:
            failure = (
                LegFailure.UNREGISTERED if isinstance(target, ToExtension) else LegFailure.ERROR
            )
            self.service.soon(lambda: self._event(lambda c: c.leg_failed(leg_id, failure)))
            # Nothing was sent; the entry lets stop_leg find the leg.
            self.legs[leg_id] = _Leg(
                id=leg_id,
                invite=self.server.request,
                address=self.server.remote,
                endpoint=self.endpoint,
                client=None,
                stopped=True,
            )
            return leg_id
        endpoint, address, uri = address_and_uri
        invite = self.service.leg_invite(endpoint, uri, target, caller_id, self.server.request)
        client = endpoint.send_request(invite, address)
        leg = _Leg(id=leg_id, invite=invite, address=address, endpoint=endpoint, client=client)
        self.legs[leg_id] = leg
        client.on_provisional = lambda response: self._provisional(leg, response)
        self.service.spawn(self._await_final(leg))
        return leg_id

    def stop_leg(self, leg: str) -> None:
        entry = self.legs[leg]
        if entry.client is None:
            return
        already = entry.stopped
        entry.stopped = True
        if entry.dialog is not None:
            entry.dialog.bye()
            entry.dialog = None
        elif entry.final is None and not already:
            entry.endpoint.send_request(_cancel_for(entry.invite), entry.address)

    def connect(self, leg: str) -> None:
        entry = self.legs[leg]
        self.peer_leg = entry
        body = entry.final.body if entry.final is not None else b""
        self._answer(body)

    def to_voicemail(self, mailbox: str) -> None:
        self._answer(VOICEMAIL_SDP)

    def bridge(self, other_call: str) -> None:
        other = self.service.sessions.get(other_call)
        self.peer_session = other
        self._answer(other.server.request.body if other is not None else b"")

    def release(self, reason: ReleaseReason) -> None:
        if self.server.final_status is None:
            self.server.reply(reason.sip_status, to_tag=self.caller_tag)
        # Later, not now: a release at t=0 happens inside Pbx.incoming, before ``call`` is set.
        self.service.soon(lambda: self.service.forget(self))

    # --- SIP events ---------------------------------------------------------------------------

    def _event(self, deliver: Callable[[Call], None]) -> None:
        if self.call is not None:
            deliver(self.call)

    def _provisional(self, leg: _Leg, response: Response) -> None:
        if response.status not in (180, 183) or leg.stopped:
            return
        self._event(lambda c: c.leg_ringing(leg.id))
        if not self.ringing_sent and self.server.final_status is None:
            self.ringing_sent = True
            self.server.reply(180, to_tag=self.caller_tag)

    async def _await_final(self, leg: _Leg) -> None:
        assert leg.client is not None
        response = await leg.client.wait_final()
        leg.final = response
        endpoint = leg.endpoint
        if 200 <= response.status < 300:
            contact = response.headers.contact
            target = contact.uri if contact is not None else leg.invite.uri
            assert isinstance(target, SipUri)
            leg.dialog = _Dialog(
                call_id=leg.invite.headers.call_id,
                local=leg.invite.headers.from_,
                remote=response.headers.to,
                target=target,
                address=leg.address,
                endpoint=endpoint,
            )
            ack = Request.build(
                "ACK",
                target,
                from_=leg.invite.headers.from_,
                to=response.headers.to,
                call_id=leg.invite.headers.call_id,
                cseq=leg.invite.headers.cseq.number,
                via=endpoint.via(),
            )
            endpoint.send_ack(ack, leg.address)
            if leg.stopped:  # answered after we gave up on it: hang it up at once
                leg.dialog.bye()
                leg.dialog = None
                return
            self.service.leg_dialogs[leg.dialog.call_id] = (self, leg)
            self._event(lambda c: c.leg_answered(leg.id))
            return
        if leg.stopped:
            return
        if response.status in BUSY_STATUSES:
            failure = LegFailure.BUSY
        elif response.status in UNREACHABLE_STATUSES:
            failure = LegFailure.UNREGISTERED
        else:
            failure = LegFailure.ERROR
        leg.stopped = True
        self._event(lambda c: c.leg_failed(leg.id, failure))

    async def watch_cancel(self) -> None:
        await self.server.cancelled.wait()
        if self.call is not None and self.call.state is CallState.RINGING:
            self.call.caller_cancelled()
        if self.server.final_status is None:
            self.server.reply(487, to_tag=self.caller_tag)
        self.service.forget(self)

    def _answer(self, body: bytes) -> None:
        request = self.server.request
        if self.server.final_status is not None:
            return
        response = Response.for_request(
            request,
            200,
            to_tag=self.caller_tag,
            contact=self.service.contact(self.endpoint),
            body=body,
            content_type=SDP if body else None,
        )
        self.server.on_no_ack = self._no_ack
        self.server.ack_wait = self.service.ack_timeout
        self.server.respond(response)
        contact = request.headers.contact
        target = contact.uri if contact is not None else request.headers.from_.uri
        assert isinstance(target, SipUri)
        self.caller_dialog = _Dialog(
            call_id=request.headers.call_id,
            local=request.headers.to.with_tag(self.caller_tag),
            remote=request.headers.from_,
            target=target,
            address=self.server.remote,
            endpoint=self.endpoint,
            cseq=0,
        )

    def _no_ack(self) -> None:
        """RFC 3261 §13.3.1.4: a 2xx retransmitted for 64*T1 without an ACK — the caller
        is gone (e.g. a client that gave up): end the session with BYE on both sides, or the
        connected leg's extension would stay busy for ever. (The endpoint calls this; a timer
        of our own per answered call kept every call's objects alive for 32 s.)"""
        if self.caller_dialog is not None:
            log.info("no ACK from the caller of %s: ending the call", self.call_id)
            self.caller_dialog.bye()
            self.caller_hung_up()

    def caller_hung_up(self) -> None:
        """BYE from our caller: end the other side too."""
        self.caller_dialog = None
        if self.peer_leg is not None and self.peer_leg.dialog is not None:
            self.peer_leg.dialog.bye()
            self.peer_leg.dialog = None
        peer = self.peer_session
        if peer is not None and peer.caller_dialog is not None:
            peer.caller_dialog.bye()
            peer.caller_dialog = None
            peer._event(lambda c: c.hung_up())
            self.service.forget(peer)
        self._event(lambda c: c.hung_up())
        self.service.forget(self)

    def leg_hung_up(self, leg: _Leg) -> None:
        """BYE from a connected leg: end the caller's dialog."""
        leg.dialog = None
        if self.caller_dialog is not None:
            self.caller_dialog.bye()
            self.caller_dialog = None
        self._event(lambda c: c.hung_up())
        self.service.forget(self)


def _int_param(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise SipParseError(f"expires must be digits, found {value!r}", "Contact")
    return int(value)


def _digest_uri(server: ServerTransaction, authorization: str | None) -> str:
    """The ``uri`` the credentials must name (RFC 7616 §3.4.6, RFC 3261 §22.4): the
    Request-URI — or the address of this server when the client named that instead (SIPp
    names the address it sends to, ``sip:127.0.0.1:PORT``, not the Request-URI's domain).
    Either way the response hash covers the uri it names, so nothing is weakened."""
    local = server.transport.local
    own = f"sip:{local.host}:{local.port}"
    if authorization is not None and f'uri="{own}"' in authorization:
        return own
    return str(server.request.uri)


def _throttle_key(remote: Address) -> str:
    """Who a failure counts against: the source IP, as a real service would — except on
    loopback, where every client (each test's phones, baresip, SIPp) shares 127.0.0.1 and
    one wrong password would block them all: there the port tells the clients apart."""
    return f"{remote.host}:{remote.port}" if remote.host.startswith("127.") else remote.host


_ECHOED = frozenset({"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"})


def bad_request(data: bytes, reason: str) -> bytes | None:
    """A stateless 400 for a request the parser refused, echoing what it can (§8.2.6.2).

    None when there is nobody to answer: the bytes are no request line (garbage, or a broken
    response — responses are never answered) or carry no Via to answer along.
    """
    head = data.split(b"\r\n\r\n", 1)[0]
    try:
        lines = head.decode("utf-8").split("\r\n")
    except UnicodeDecodeError:
        return None
    first = lines[0].split(" ")
    if len(first) != 3 or first[2] != "SIP/2.0" or not first[0].isalpha():
        return None
    echoed: list[str] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        if not colon or key not in _ECHOED:
            continue
        value = value.strip()
        if key in ("to", "t") and ";tag=" not in value.replace(" ", ""):
            value += f";tag={new_tag()}"
        echoed.append(f"{name.strip()}: {value}")
    if not any(line.split(":", 1)[0].lower() in ("via", "v") for line in echoed):
        return None
    phrase = "".join(c for c in reason if c.isascii() and c.isprintable())[:100]
    status = f"SIP/2.0 400 Bad Request ({phrase})"
    return ("\r\n".join([status, *echoed, "Content-Length: 0", "", ""])).encode("utf-8")


def _cancel_for(invite: Request) -> Request:
    """CANCEL of a client INVITE (§9.1): same Request-URI, top Via, Call-ID, From, To, CSeq n."""
    h = invite.headers
    return Request.build(
        "CANCEL",
        invite.uri,
        from_=h.from_,
        to=h.to,
        call_id=h.call_id,
        cseq=h.cseq.number,
        via=h.via,
    )


@dataclass(frozen=True, kw_only=True)
class PbxSetup:
    """What one tenant's SIP service is built from."""

    sip_domain: str  # 内線サーバアドレス: SIP domain and digest realm
    config: PbxConfig
    credentials: Mapping[str, StoredCredential]
    clock: Clock  # service timers (scaled)
    registrar_params: RegistrarParams | None = None
    pbx_params: PbxParams | None = None
    pstn: PstnResolver | None = None  # external number → where its subscriber is
    ack_timeout: float = 64 * 0.5  # 64*T1 with the RFC's T1 = 500 ms


def dispatch(
    server: ServerTransaction,
    *,
    register: Callable[[ServerTransaction], None],
    invite: Callable[[ServerTransaction], None],
    bye: Callable[[ServerTransaction], None],
) -> None:
    """Route a request outside a transaction we already answered, for the tenant's port and
    the carrier side alike: REGISTER, a new INVITE and BYE to the handlers; OPTIONS 200;
    re-INVITE 501; anything else 405 with Allow (RFC 3261 §8.2.1); a header that only fails
    to parse when read gets 400 naming it."""
    request = server.request
    try:
        if request.method == "REGISTER":
            register(server)
        elif request.method == "INVITE" and request.headers.to.tag is None:
            invite(server)
        elif request.method == "BYE":
            bye(server)
        elif request.method == "OPTIONS":
            server.reply(200)
        elif request.method == "INVITE":
            server.reply(501, "Re-INVITE Not Implemented")
        else:
            server.respond(
                Response.for_request(request, 405, to_tag=new_tag(), headers=(("Allow", ALLOW),))
            )
    except SipParseError as exc:
        if server.final_status is None:
            server.reply(400, f"Bad Request ({exc})"[:120])


class PbxSipService:
    """Registrar + PBX of one tenant on one SIP endpoint (UDP, loopback)."""

    def __init__(self, *, endpoint: Endpoint, setup: PbxSetup) -> None:
        self.endpoint = endpoint
        self.sip_domain = setup.sip_domain
        self.clock = setup.clock
        self.loop = asyncio.get_running_loop()
        self.registrar = Registrar(
            realm=setup.sip_domain, credentials=setup.credentials, params=setup.registrar_params
        )
        self.pbx = Pbx(
            config=setup.config,
            clock=setup.clock,
            is_registered=self._is_registered,
            params=setup.pbx_params,
        )
        self.pstn = setup.pstn
        # How long a caller may leave our 2xx unacknowledged before the call is torn down
        # (64*T1, §13.3.1.4); a parameter so tests need not wait 32 s.
        self.ack_timeout = setup.ack_timeout
        # The carrier-side endpoint external legs leave from (carrier.py); None: this port.
        self.trunk: Endpoint | None = None
        self.sessions: dict[str, _CallSession] = {}
        self.caller_dialogs: dict[str, _CallSession] = {}
        self.leg_dialogs: dict[str, tuple[_CallSession, _Leg]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        endpoint.on_request = self.on_request
        endpoint.on_unparseable = self.on_unparseable

    @classmethod
    async def open(cls, setup: PbxSetup) -> PbxSipService:
        """Bind a free loopback UDP port and serve."""
        return cls(endpoint=await Endpoint.open(), setup=setup)

    @property
    def address(self) -> Address:
        return self.endpoint.transport().local

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.endpoint.close()

    # --- plumbing used by the sessions --------------------------------------------------------

    def now(self) -> float:
        """Registrar time: real seconds (registrations are not scaled, DESIGN.md "Time")."""
        return self.loop.time()

    def soon(self, action: Callable[[], None]) -> None:
        self.loop.call_soon(action)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def contact(self, endpoint: Endpoint | None = None) -> NameAddr:
        local = (endpoint or self.endpoint).transport().local
        return NameAddr(uri=SipUri(user="pbx", host=local.host, port=local.port))

    def forget(self, session: _CallSession) -> None:
        if session.caller_dialog is None and all(
            leg.dialog is None for leg in session.legs.values()
        ):
            if self.sessions.pop(session.call_id, None) is not None:
                self.finished(session)
            if session.cancel_watch is not None:
                # Dropped, not only cancelled: the cancelled task's traceback holds the
                # session's frame, a cycle only a full garbage collection would free.
                session.cancel_watch.cancel()
                session.cancel_watch = None
            self.caller_dialogs.pop(session.server.request.headers.call_id, None)
            for leg in session.legs.values():
                self.leg_dialogs.pop(leg.invite.headers.call_id, None)

    # --- hooks for a service that keeps records (see service.py) -------------------------------

    def refresh(self) -> None:
        """Called before each request: pick up new settings here."""

    def registered(self, terminal_id: str, source: str) -> None:
        """Called after a REGISTER was accepted (bindings changed or were listed)."""

    def finished(self, session: _CallSession) -> None:
        """Called once when a call's SIP side is over."""

    def _is_registered(self, extension: str) -> bool:
        ext = self.pbx.config.extensions.get(extension)
        return ext is not None and self.registrar.is_registered(ext.terminal_id, self.now())

    def locate(self, target: LegTarget) -> tuple[Endpoint, Address, SipUri] | None:
        """Where a leg's INVITE goes, and from which port: the terminal's newest contact from
        the tenant port, or an external subscriber from the carrier port (``trunk``)."""
        if isinstance(target, ToExtension):
            ext = self.pbx.config.extensions.get(target.extension)
            bindings = [] if ext is None else self.registrar.bindings(ext.terminal_id, self.now())
            if not bindings:
                return None
            try:
                uri = SipUri.parse(bindings[-1].contact)
            except SipParseError:
                return None
            return self.endpoint, _address_of(uri), uri
        address = None if self.pstn is None else self.pstn(target.number)
        if address is None:
            return None
        uri = SipUri(user=target.number, host=address.host, port=address.port)
        return self.trunk or self.endpoint, address, uri

    def leg_invite(
        self,
        endpoint: Endpoint,
        uri: SipUri,
        target: LegTarget,
        caller_id: CallerId,
        original: Request,
    ) -> Request:
        """The INVITE of a leg: From and P-Asserted-Identity carry the caller ID (rule 7)."""
        callee = target.extension if isinstance(target, ToExtension) else target.number
        headers: tuple[tuple[str, str], ...]
        if caller_id.number is None:
            from_ = NameAddr(
                display_name="Anonymous", uri=SipUri(user="anonymous", host="anonymous.invalid")
            )
            headers = (("Privacy", "id"),)
        else:
            from_uri = SipUri(user=caller_id.number, host=self.sip_domain)
            from_ = NameAddr(display_name=caller_id.number, uri=from_uri)
            headers = (("P-Asserted-Identity", f"<{from_uri}>"),)
        body = original.body
        return Request.build(
            "INVITE",
            uri,
            from_=from_.with_tag(new_tag()),
            to=NameAddr(uri=SipUri(user=callee, host=self.sip_domain)),
            call_id=new_call_id(self.address.host),
            cseq=1,
            via=endpoint.via(),
            contact=self.contact(endpoint),
            headers=headers,
            body=body,
            content_type=SDP if body else None,
        )

    # --- requests in --------------------------------------------------------------------------

    def on_request(self, server: ServerTransaction) -> None:
        self.refresh()
        dispatch(server, register=self._register, invite=self._invite, bye=self._bye)

    def _register(self, server: ServerTransaction) -> None:
        request = server.request
        h = request.headers
        to_user = h.to.uri.user_text if isinstance(h.to.uri, SipUri) else None
        contacts = tuple(
            ContactRequest(uri=str(c.uri), expires=_int_param(c.params.get("expires")))
            for c in (() if h.contact_is_star else h.contacts)
        )
        result = self.registrar.handle(
            RegisterRequest(
                terminal_id=to_user or "",
                source=_throttle_key(server.remote),
                uri=_digest_uri(server, h.get("Authorization")),
                contacts=contacts,
                wildcard=h.contact_is_star,
                expires=h.expires,
                call_id=h.call_id,
                cseq=h.cseq.number,
                authorization=h.get("Authorization"),
            ),
            now=self.now(),
        )
        extra: list[tuple[str, str]] = [("WWW-Authenticate", str(c)) for c in result.challenges]
        now = self.now()
        extra += [("Contact", f"<{b.contact}>;expires={b.remaining(now)}") for b in result.bindings]
        if result.retry_after is not None:
            extra.append(("Retry-After", str(result.retry_after)))
        if result.min_expires is not None:
            extra.append(("Min-Expires", str(result.min_expires)))
        server.respond(
            Response.for_request(
                request, result.status, result.reason, to_tag=new_tag(), headers=tuple(extra)
            )
        )
        if result.status == 200 and to_user is not None:
            self.registered(to_user, server.remote.host)

    def _invite(self, server: ServerTransaction) -> None:
        request = server.request
        dialled = request.uri.user_text if isinstance(request.uri, SipUri) else None
        origin = self._origin(server, dialled)
        if origin is not None:
            self.start_call(server, self.endpoint, origin, dialled or "")

    def start_call(
        self, server: ServerTransaction, endpoint: Endpoint, origin: Origin, dialled: str
    ) -> None:
        """Hand an INVITE that arrived on ``endpoint`` to the engine as a new call."""
        request = server.request
        call_id = f"sip-call-{next(self._ids)}"
        session = _CallSession(service=self, server=server, endpoint=endpoint, call_id=call_id)
        self.sessions[call_id] = session
        self.caller_dialogs[request.headers.call_id] = session
        session.cancel_watch = self.spawn(session.watch_cancel())
        session.call = self.pbx.incoming(
            origin=origin, dialled=dialled, driver=session, call_id=call_id
        )

    def _origin(self, server: ServerTransaction, dialled: str | None) -> Origin | None:
        """Who calls, or None when the INVITE was answered here (407 challenge, block).

        A call to one of the tenant's 外線番号 from anyone who is not a tenant terminal comes
        from outside (the carrier side): it presents its P-Asserted-Identity (else From) unless
        withheld (``Privacy: id`` or an anonymous From). Every other INVITE must prove its
        From user with digest (407, RFC 3261 §22.3) — an unknown user gets the same challenge
        as a known one, so INVITE scans enumerate nothing either.
        """
        request = server.request
        h = request.headers
        from_uri = h.from_.uri
        user = from_uri.user_text if isinstance(from_uri, SipUri) else None
        ext = None if user is None else self.pbx.config.by_terminal_id(user)
        if ext is None and dialled is not None and dialled in self.pbx.config.external_numbers:
            identities = h.p_asserted_identities
            shown = identities[0].uri if identities else from_uri
            number = shown.user_text if isinstance(shown, SipUri) else None
            withheld = "id" in (h.get("Privacy") or "").lower() or number in (None, "anonymous")
            return ExternalOrigin(number=None if withheld else number)
        refusal = self.registrar.authorize(
            terminal_id=user or "",
            source=_throttle_key(server.remote),
            method="INVITE",
            uri=_digest_uri(server, h.get("Proxy-Authorization")),
            authorization=h.get("Proxy-Authorization"),
            now=self.now(),
        )
        if refusal is not None or ext is None:
            if refusal is None or refusal.status == 401:
                challenges = () if refusal is None else refusal.challenges
                extra = tuple(("Proxy-Authenticate", str(c)) for c in challenges)
                server.respond(Response.for_request(request, 407, to_tag=new_tag(), headers=extra))
            else:
                retry = (("Retry-After", str(refusal.retry_after)),) if refusal.retry_after else ()
                server.respond(
                    Response.for_request(
                        request, refusal.status, refusal.reason, to_tag=new_tag(), headers=retry
                    )
                )
            return None
        return InternalOrigin(extension=ext.extension)

    def on_unparseable(self, inbound: Inbound, error: SipParseError) -> None:
        """400 to a request that does not parse, when it says where to answer (§21.4.1)."""
        response = bad_request(inbound.data, str(error))
        if response is not None:
            inbound.transport.send(response, inbound.remote)

    def bye(self, server: ServerTransaction) -> None:
        """A BYE on any of our ports (the carrier side hands its BYEs here)."""
        self._bye(server)

    def _bye(self, server: ServerTransaction) -> None:
        call_id = server.request.headers.call_id
        session = self.caller_dialogs.get(call_id)
        if session is not None and session.caller_dialog is not None:
            server.reply(200)
            session.caller_hung_up()
            return
        entry = self.leg_dialogs.get(call_id)
        if entry is not None and entry[1].dialog is not None:
            server.reply(200)
            entry[0].leg_hung_up(entry[1])
            return
        server.reply(481)
