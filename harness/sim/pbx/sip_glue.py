"""SIP glue: the registrar and the call engine on a real SIP endpoint (a small B2BUA).

Theory of operation (docs/pbx.md "The SIP side"). One ``PbxSipService`` per tenant
owns a sipphone ``Endpoint`` (transactions, retransmissions, CANCEL matching), the pure
``Registrar`` and the reactive ``Pbx``. Incoming requests:

- REGISTER → ``Registrar.handle`` (``now`` = real loop time: registrations are SIP soft state,
  refreshed by phones in real seconds, never scaled); each binding keeps the transport its
  REGISTER came over;
- INVITE outside a dialog from a terminal, proven by digest (407 challenge, same throttling
  as REGISTER) → ``Pbx.incoming`` with a ``_CallSession`` as the call's ``LegDriver``; calls
  from outside come only through the carrier side's port (carrier.py → ``start_call``);
  CANCEL → ``caller_cancelled`` then 487;
- BYE inside a dialog → relayed to the other side, ``hung_up``;
- re-INVITE, UPDATE, INFO inside a dialog → relayed as a new transaction on the other side's
  dialog with the body, the other side's final response (SDP answer included) relayed back,
  each 2xx ACKed on its own dialog, a CANCEL of a relayed re-INVITE relayed too; 481
  without a dialog, 491 while a re-INVITE is pending;
- anything else outside a dialog: OPTIONS 200, the rest 405 (RFC 3261 §8.2.1).

Each engine action becomes SIP on the spot (INVITE/CANCEL/BYE, final responses to the caller);
each SIP outcome comes back to the engine from an asyncio task, never re-entrantly from inside
an action, so the ``Call`` is always between two steps when it hears news.

Forking (RFC 3261 §16.7, done here, not in the engine): a leg to an extension INVITEs every
live contact of its terminal in parallel, over TCP when the contact was registered over TCP
(or says ``;transport=tcp``). 180 from any contact is the leg ringing; the first 2xx wins and
the other forks get CANCEL (BYE when a 2xx crosses); when every fork fails, ``leg_failure``
says what the engine hears. The engine sees one leg per extension and never learns about
contacts.

``end_all_calls`` (a reset or a new tenant) ends every call in progress: BYE to answered
parties, CANCEL to ringing legs, 487 to their callers.

Known simplifications (documented in docs/pbx.md "Known limits"): media is not anchored — SDP
offers and answers (initial and re-INVITE) pass through unchanged; forks are separate INVITEs
with their own Call-IDs; a TCP contact is reached by a new connection to its Contact address
(no RFC 5626 outbound); external numbers are reached only when a PSTN resolver is given.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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
    InternalOrigin,
    Origin,
    ReleaseReason,
    ToExtension,
)
from harness.sip.dialog import Dialog
from harness.sip.endpoint import ClientTransaction, Endpoint, ServerTransaction, TransportName
from harness.sip.headers import Via
from harness.sip.message import (
    Request,
    Response,
    new_call_id,
    new_tag,
    response_to_unparseable,
)
from harness.sip.syntax import SipParseError
from harness.sip.transport import Address, Inbound
from harness.sip.uri import NameAddr, SipUri

log = logging.getLogger(__name__)

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO"
# In-dialog requests relayed to the other side of the B2BUA, and the headers they carry along.
RELAYED = frozenset({"INVITE", "UPDATE", "INFO"})
RELAYED_HEADERS = ("Content-Disposition", "Info-Package", "Session-Expires", "Min-SE")
BUSY_STATUSES = frozenset({486, 600, 603})
UNREACHABLE_STATUSES = frozenset({404, 408, 410, 480})
# What the voicemail UAS answers with (media is not simulated, only the dialog).
VOICEMAIL_SDP = (
    b"v=0\r\no=voicemail 1 1 IN IP4 127.0.0.1\r\ns=voicemail\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 9 RTP/AVP 0\r\na=recvonly\r\n"
)


def _address_of(uri: SipUri) -> Address:
    return Address(host=uri.host_address, port=uri.port or 5060)


@dataclass(frozen=True, kw_only=True)
class Contact:
    """Where requests to one registered contact go: its URI, its address and the transport
    (TCP when the URI says ``;transport=tcp`` or the REGISTER came over TCP)."""

    uri: SipUri
    address: Address
    transport: TransportName = "UDP"

    @classmethod
    def of(cls, uri: SipUri, *, registered_over: str = "UDP") -> Contact:
        tcp = uri.transport == "tcp" or registered_over.upper() == "TCP"
        return cls(uri=uri, address=_address_of(uri), transport="TCP" if tcp else "UDP")


PstnResolver = Callable[[str], Contact | None]


def leg_failure(responses: Sequence[Response]) -> LegFailure:
    """What a leg whose every fork failed tells the engine (RFC 3261 §16.7 step 6, with the
    PBX's own reading of the outcomes): UNREGISTERED when no contact could be reached (404,
    408, 410, 480, or a transport error — a final response the endpoint made up itself, hence
    without a To tag, §8.2.6.2); BUSY when every contact that was reached refused as busy
    (486, 600, 603) — a stale contact of a phone that vanished does not hide that its user is
    busy on another; ERROR otherwise."""
    reached = [
        r
        for r in responses
        if r.status not in UNREACHABLE_STATUSES and r.headers.to.tag is not None
    ]
    if not reached:
        return LegFailure.UNREGISTERED
    if all(r.status in BUSY_STATUSES for r in reached):
        return LegFailure.BUSY
    return LegFailure.ERROR


@dataclass(eq=False)
class _Dialog:
    """Our side of one dialog: the SIP core's ``Dialog`` (RFC 3261 §12: CSeq numbers, remote
    target, route set) and where its requests go — the side (tenant port or carrier port) it
    lives on, the peer's address and transport — plus the re-INVITE in progress."""

    state: Dialog
    address: Address
    endpoint: Endpoint  # the side (tenant port or carrier port) this dialog lives on
    transport: TransportName = "UDP"
    reinvite_pending: bool = False  # §14.1: one INVITE at a time on a dialog (else 491)

    @property
    def call_id(self) -> str:
        return self.state.call_id

    @property
    def contact(self) -> NameAddr | None:
        """Ours, for target-refresh requests and the 2xx of a relayed re-INVITE."""
        target = self.state.local_target
        return None if target is None else NameAddr(uri=target)

    def request(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Request:
        """A new in-dialog request with the next CSeq (§12.2.1.1)."""
        return self.state.create_request(
            method,
            via=self._via(),
            headers=headers,
            body=body,
            content_type=content_type,
        )

    def _via(self) -> Via:
        return Via.parse(self.endpoint.via(self.transport))

    def send(self, request: Request) -> ClientTransaction:
        return self.endpoint.send_request(request, self.address, transport=self.transport)

    def ack(self, invite: Request) -> None:
        """ACK a 2xx to our ``invite`` on this dialog (§13.2.2.4)."""
        ack = self.state.ack(invite, via=self._via())
        self.endpoint.send_ack(ack, self.address, transport=self.transport)

    def bye(self) -> None:
        self.send(self.request("BYE"))


@dataclass(eq=False)
class _Fork:
    """One INVITE of a leg to one contact of the terminal (a client transaction of §16.7)."""

    invite: Request
    contact: Contact
    endpoint: Endpoint
    client: ClientTransaction
    final: Response | None = None


@dataclass(eq=False)
class _Leg:
    """What the engine sees as one leg: INVITEs to every live contact of its target, in
    parallel. The first 2xx wins (``winner``); the others are cancelled, or hung up when
    their 2xx crosses."""

    id: str
    forks: list[_Fork] = field(default_factory=list)
    winner: _Fork | None = None
    final: Response | None = None  # the winner's 2xx
    dialog: _Dialog | None = None  # with the winner, until either side hangs up
    stopped: bool = False
    ringing: bool = False


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
    epoch: int = 0  # the store's epoch when the call began (service.py; 0 without a store)

    # --- LegDriver ----------------------------------------------------------------------------

    def start_leg(self, target: LegTarget, caller_id: CallerId) -> str:
        leg_id = f"{self.call_id}/leg{len(self.legs) + 1}"
        leg = self.legs[leg_id] = _Leg(id=leg_id)
        endpoint, contacts = self.service.locate(target)
        for contact in contacts:
            invite = self.service.leg_invite(
                endpoint, contact, target, caller_id, self.server.request
            )
            client = endpoint.send_request(invite, contact.address, transport=contact.transport)
            fork = _Fork(invite=invite, contact=contact, endpoint=endpoint, client=client)
            leg.forks.append(fork)
            client.on_provisional = functools.partial(self._provisional, leg)
            self.service.spawn(self._await_final(leg, fork))
        if not leg.forks:  # nothing could be sent
            leg.stopped = True
            failure = (
                LegFailure.UNREGISTERED if isinstance(target, ToExtension) else LegFailure.ERROR
            )
            self.service.soon(lambda: self._event(lambda c: c.leg_failed(leg_id, failure)))
        return leg_id

    def stop_leg(self, leg: str) -> None:
        entry = self.legs[leg]
        already = entry.stopped
        entry.stopped = True
        if entry.dialog is not None:
            entry.dialog.bye()
            entry.dialog = None
        elif not already:
            for fork in entry.forks:
                if fork.final is None:
                    fork.client.cancel()

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
        """180/183 from any contact: the leg rings (once for the engine and the caller)."""
        if response.status not in (180, 183) or leg.stopped or leg.ringing:
            return
        leg.ringing = True
        self._event(lambda c: c.leg_ringing(leg.id))
        if not self.ringing_sent and self.server.final_status is None:
            self.ringing_sent = True
            self.server.reply(180, to_tag=self.caller_tag)

    async def _await_final(self, leg: _Leg, fork: _Fork) -> None:
        response = await fork.client.wait_final()
        fork.final = response
        if 200 <= response.status < 300:
            self._fork_answered(leg, fork, response)
            return
        if leg.stopped or leg.winner is not None:
            return
        if any(f.final is None for f in leg.forks):
            return  # others may still answer
        leg.stopped = True
        failure = leg_failure([f.final for f in leg.forks if f.final is not None])
        self._event(lambda c: c.leg_failed(leg.id, failure))

    def _fork_answered(self, leg: _Leg, fork: _Fork, response: Response) -> None:
        """A 2xx from one contact: ACK it; the first one wins the leg, any other (a 2xx that
        crossed our CANCEL, or a leg we gave up on) is hung up at once (§16.7, §15)."""
        if response.headers.to.tag is None:
            # §8.2.6.2: a UAS tags its 2xx; without one there is no dialog to ACK or end.
            log.warning("a 2xx without To tag from %s: ignored", fork.contact.uri)
            return
        dialog = _Dialog(
            state=Dialog.from_uac(fork.invite, response),
            address=fork.contact.address,
            endpoint=fork.endpoint,
            transport=fork.contact.transport,
        )
        dialog.ack(fork.invite)
        if leg.stopped or leg.winner is not None:
            dialog.bye()
            return
        leg.winner, leg.final, leg.dialog = fork, response, dialog
        self.service.leg_dialogs[dialog.call_id] = (self, leg)
        for other in leg.forks:
            if other is not fork and other.final is None:
                other.client.cancel()
        self._event(lambda c: c.leg_answered(leg.id))

    async def watch_cancel(self) -> None:
        await self.server.cancelled.wait()
        self.abandon(487)

    def abandon(self, status: int) -> None:
        """The caller gave up before an answer (CANCEL), or a reset ends the call: stop the
        legs and answer the caller ``status``."""
        if self.call is not None and self.call.state is CallState.RINGING:
            self.call.caller_cancelled()
        if self.server.final_status is None:
            self.server.reply(status, to_tag=self.caller_tag)
        self.service.forget(self)

    def _answer(self, body: bytes) -> None:
        request = self.server.request
        if self.server.final_status is not None:
            return
        transport: TransportName = "TCP" if self.server.transport.protocol == "TCP" else "UDP"
        contact = self.service.contact(self.endpoint, transport)
        response = Response.for_request(
            request,
            200,
            to_tag=self.caller_tag,
            contact=contact,
            body=body,
            content_type=SDP if body else None,
        )
        self.server.on_no_ack = self._no_ack
        self.server.ack_wait = self.service.ack_timeout
        self.server.respond(response)
        self.caller_dialog = _Dialog(
            state=Dialog.from_uas(request, response, local_target=contact.uri),
            address=self.server.remote,
            endpoint=self.endpoint,
            transport=transport,
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

    def hang_up_all(self) -> None:
        """End an answered call from the PBX's side (a reset): BYE to every party."""
        if self.caller_dialog is not None:
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

    def other_side(self, dialog: _Dialog) -> _Dialog | None | Literal["local"]:
        """The dialog a request on ``dialog`` is relayed to: the connected leg's for the
        caller's, the caller's for a leg's; "local" when the PBX itself is the other side
        (voicemail); None when that side is gone."""
        if dialog is not self.caller_dialog:
            return self.caller_dialog
        if self.peer_leg is not None:
            return self.peer_leg.dialog
        if self.peer_session is not None:
            return self.peer_session.caller_dialog
        return "local"


async def _relay_cancel(server: ServerTransaction, client: ClientTransaction) -> None:
    """A CANCEL of a re-INVITE we relay goes on to the other side (its 487 then comes back)."""
    await server.cancelled.wait()
    client.cancel()


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


def _log_refusal(method: str, user: str | None, remote: Address, why: str | None) -> None:
    """One line on the serve log (stderr) for credentials a person can fix (issue 9 item 2):
    what was refused, for which 端末ID, from where, and why — never the password."""
    if why is not None:
        log.warning(
            "SIP %s for 端末ID %r from %s:%d refused: %s",
            method,
            user,
            remote.host,
            remote.port,
            why,
        )


def _peer(remote: Address) -> str:
    """A sender's ``IP:port``: beside the IP alone (the other throttling key), what tells a
    registered device apart from a cracker at the same address (registrar.py, step 1)."""
    return f"{remote.host}:{remote.port}"


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
    in_dialog: Callable[[ServerTransaction], None],
) -> None:
    """Route a request outside a transaction we already answered, for the tenant's port and
    the carrier side alike: REGISTER, a new INVITE and BYE to the handlers; re-INVITE, UPDATE
    and INFO inside a dialog (To tag) to ``in_dialog``, outside any 481 (RFC 3311 §5 and RFC
    6086 §4 define them within a dialog only; §21.4.19), so ``ALLOW`` may list them; OPTIONS 200;
    anything else 405 with Allow (RFC 3261 §8.2.1); a header that only fails to parse when
    read gets 400 naming it."""
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
        elif request.method in RELAYED and request.headers.to.tag is not None:
            in_dialog(server)
        elif request.method in RELAYED:
            server.reply(481, to_tag=new_tag())
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
    async def open(cls, setup: PbxSetup, *, tcp: bool = False) -> PbxSipService:
        """Bind a free loopback UDP port (and TCP on the same number) and serve."""
        return cls(endpoint=await Endpoint.open(tcp=tcp), setup=setup)

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

    def contact(
        self, endpoint: Endpoint | None = None, transport: TransportName = "UDP"
    ) -> NameAddr:
        """Our Contact on ``endpoint`` (``;transport=tcp`` over TCP: the peer's in-dialog
        requests must come back over TCP, RFC 3261 §18.1.1)."""
        local = (endpoint or self.endpoint).transport(transport).local
        uri = SipUri(user="pbx", host=local.host, port=local.port)
        return NameAddr(uri=uri.with_params(transport="tcp") if transport == "TCP" else uri)

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
                for fork in leg.forks:
                    self.leg_dialogs.pop(fork.invite.headers.call_id, None)

    def end_all_calls(self) -> None:
        """A reset or a new tenant: end every call in progress — BYE to the parties of
        answered calls, CANCEL to ringing legs and 487 to their callers. They leave no record:
        they began in an older store epoch (``records_epoch``), which the store refuses."""
        for session in list(self.sessions.values()):
            if session.caller_dialog is not None:
                session.hang_up_all()
            else:
                session.abandon(487)

    # --- hooks for a service that keeps records (see service.py) -------------------------------

    def refresh(self) -> None:
        """Called before each request: pick up new settings here."""

    def registered(self, terminal_id: str, source: str) -> None:
        """Called after a REGISTER was accepted (bindings changed or were listed)."""

    def records_epoch(self) -> int:
        """Stamped on what is recorded later (a service that keeps records: its store's
        epoch, so a call begun before a reset leaves no record after it)."""
        return 0

    def finished(self, session: _CallSession) -> None:
        """Called once when a call's SIP side is over."""

    def _is_registered(self, extension: str) -> bool:
        ext = self.pbx.config.extensions.get(extension)
        return ext is not None and self.registrar.is_registered(ext.terminal_id, self.now())

    def locate(self, target: LegTarget) -> tuple[Endpoint, list[Contact]]:
        """Where a leg's INVITEs go, and from which port: every live contact of the
        terminal from the tenant port (forking), or the external subscriber from the carrier
        port (``trunk``). A TCP contact is skipped when this port has no TCP."""
        if isinstance(target, ToExtension):
            ext = self.pbx.config.extensions.get(target.extension)
            bindings = [] if ext is None else self.registrar.bindings(ext.terminal_id, self.now())
            contacts: list[Contact] = []
            for binding in bindings:
                try:
                    uri = SipUri.parse(binding.contact)
                except SipParseError:
                    continue
                contact = Contact.of(uri, registered_over=binding.transport)
                if contact.transport == "UDP" or self.endpoint.tcp is not None:
                    contacts.append(contact)
            return self.endpoint, contacts
        trunk = self.trunk or self.endpoint
        found = None if self.pstn is None else self.pstn(target.number)
        if found is None or (found.transport == "TCP" and trunk.tcp is None):
            return trunk, []
        return trunk, [found]

    def leg_invite(
        self,
        endpoint: Endpoint,
        contact: Contact,
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
            contact.uri,
            from_=from_.with_tag(new_tag()),
            to=NameAddr(uri=SipUri(user=callee, host=self.sip_domain)),
            call_id=new_call_id(self.address.host),
            cseq=1,
            via=endpoint.via(contact.transport),
            contact=self.contact(endpoint, contact.transport),
            headers=headers,
            body=body,
            content_type=SDP if body else None,
        )

    # --- requests in --------------------------------------------------------------------------

    def on_request(self, server: ServerTransaction) -> None:
        self.refresh()
        dispatch(
            server,
            register=self._register,
            invite=self._invite,
            bye=self._bye,
            in_dialog=self.in_dialog,
        )

    def _register(self, server: ServerTransaction) -> None:
        request = server.request
        h = request.headers
        to_user = h.to.uri.user_text if isinstance(h.to.uri, SipUri) else None
        over = server.transport.protocol
        contacts = tuple(
            ContactRequest(
                uri=str(c.uri), expires=_int_param(c.params.get("expires")), transport=over
            )
            for c in (() if h.contact_is_star else h.contacts)
        )
        result = self.registrar.handle(
            RegisterRequest(
                terminal_id=to_user or "",
                source=server.remote.host,
                peer=_peer(server.remote),
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
        _log_refusal("REGISTER", to_user, server.remote, result.refusal)
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
        origin = self._origin(server)
        if origin is not None:
            self.start_call(server, self.endpoint, origin, dialled or "")

    def start_call(
        self, server: ServerTransaction, endpoint: Endpoint, origin: Origin, dialled: str
    ) -> None:
        """Hand an INVITE that arrived on ``endpoint`` to the engine as a new call."""
        request = server.request
        call_id = f"sip-call-{next(self._ids)}"
        session = _CallSession(
            service=self,
            server=server,
            endpoint=endpoint,
            call_id=call_id,
            epoch=self.records_epoch(),
        )
        self.sessions[call_id] = session
        self.caller_dialogs[request.headers.call_id] = session
        session.cancel_watch = self.spawn(session.watch_cancel())
        session.call = self.pbx.incoming(
            origin=origin, dialled=dialled, driver=session, call_id=call_id
        )

    def _origin(self, server: ServerTransaction) -> Origin | None:
        """Who calls, or None when the INVITE was answered here (407 challenge, block).

        Every INVITE on the tenant's port must prove its From user with digest (407, RFC 3261
        §22.3), whatever it dials — an unknown user gets the same challenge as a known one, so
        INVITE scans enumerate nothing either. Calls from outside arrive only on the carrier
        side (carrier.py), from its registered subscribers: an unauthenticated INVITE here to
        one of the tenant's 外線番号 once passed as a carrier call with whatever caller ID it
        wrote, and reached an external 転送先 through the tenant (toll fraud, issue 10 item 1).
        """
        request = server.request
        h = request.headers
        from_uri = h.from_.uri
        user = from_uri.user_text if isinstance(from_uri, SipUri) else None
        ext = None if user is None else self.pbx.config.by_terminal_id(user)
        refusal = self.registrar.authorize(
            terminal_id=user or "",
            source=server.remote.host,
            peer=_peer(server.remote),
            method="INVITE",
            uri=_digest_uri(server, h.get("Proxy-Authorization")),
            authorization=h.get("Proxy-Authorization"),
            now=self.now(),
        )
        _log_refusal("INVITE", user, server.remote, None if refusal is None else refusal.refusal)
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
        response = response_to_unparseable(inbound.data, error.status, str(error))
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

    # --- requests inside a dialog: the B2BUA relays them ----------------------------------------

    def _dialog_of(self, request: Request) -> tuple[_CallSession, _Dialog] | None:
        call_id = request.headers.call_id
        session = self.caller_dialogs.get(call_id)
        if session is not None and session.caller_dialog is not None:
            return session, session.caller_dialog
        entry = self.leg_dialogs.get(call_id)
        if entry is not None and entry[1].dialog is not None:
            return entry[0], entry[1].dialog
        return None

    def in_dialog(self, server: ServerTransaction) -> None:
        """A re-INVITE (hold/resume, session refresh), UPDATE or INFO inside a call: relayed
        as a new transaction on the other side's dialog with its body, and the other side's
        final response (SDP answer included) relayed back (RFC 3261 §14, RFC 3311, RFC 6086).
        No dialog: 481, a CSeq below the last one: 500 (§12.2.2); an INVITE while one is
        pending on either dialog: 491 (§14.2); with voicemail the PBX is the other side and
        answers itself."""
        request = server.request
        found = self._dialog_of(request)
        if found is None:
            server.reply(481)
            return
        session, here = found
        there = session.other_side(here)
        is_invite = request.method == "INVITE"
        if there is None:
            server.reply(481)
            return
        # §12.2.2: a request out of order is refused; an INVITE or UPDATE with a Contact
        # refreshes the remote target.
        if not here.state.receive_request(request):
            server.reply(500, "Server Internal Error (CSeq out of order)")  # §12.2.2
            return
        if is_invite and (here.reinvite_pending or (there != "local" and there.reinvite_pending)):
            server.reply(491)
            return
        if there == "local":
            body = VOICEMAIL_SDP if is_invite else b""
            server.respond(
                Response.for_request(
                    request,
                    200,
                    contact=here.contact if is_invite else None,
                    body=body,
                    content_type=SDP if body else None,
                )
            )
            return
        self.spawn(self._relay(server, here, there))

    async def _relay(self, server: ServerTransaction, here: _Dialog, there: _Dialog) -> None:
        request = server.request
        is_invite = request.method == "INVITE"
        carried = tuple(
            (name, value) for name in RELAYED_HEADERS if (value := request.headers.get(name))
        )
        relayed = there.request(
            request.method,
            body=request.body,
            content_type=request.headers.get("Content-Type") if request.body else None,
            headers=carried,
        )
        client = there.send(relayed)
        watch: asyncio.Task[None] | None = None
        if is_invite:
            here.reinvite_pending = there.reinvite_pending = True
            watch = self.spawn(_relay_cancel(server, client))
        try:
            response = await client.wait_final()
        finally:
            if watch is not None:
                watch.cancel()
                here.reinvite_pending = there.reinvite_pending = False
        success = 200 <= response.status < 300
        there.state.receive_response(relayed, response)  # a 2xx: the target refresh (§12.2.1.2)
        if success and is_invite:
            there.ack(relayed)
        if server.final_status is not None:
            return
        server.respond(
            Response.for_request(
                request,
                response.status,
                response.reason,
                contact=here.contact if success and is_invite else None,
                body=response.body,
                content_type=response.headers.get("Content-Type") if response.body else None,
            )
        )
