"""``PbxSipService``: the registrar and the call engine of one tenant on one SIP endpoint."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from harness.clock import Clock
from harness.sim.faults import NO_FAULTS, Faults
from harness.sim.pbx.call import LegTarget
from harness.sim.pbx.config import PbxConfig, PbxParams
from harness.sim.pbx.pbx import Pbx
from harness.sim.pbx.registrar import Registrar, RegistrarParams, StoredCredential
from harness.sim.pbx.routing import CallerId, InternalOrigin, Origin, ToExtension
from harness.sim.pbx.sip_glue.auth import origin, register
from harness.sim.pbx.sip_glue.dispatch import dispatch
from harness.sim.pbx.sip_glue.relay import SDP, in_dialog
from harness.sim.pbx.sip_glue.retrieval import MailboxRetrieval
from harness.sim.pbx.sip_glue.session import Contact, PstnResolver, _CallSession, _Leg
from harness.sim.pbx.sip_glue.voicemail_media import VoicemailMedia
from harness.sip import audio
from harness.sip.endpoint import Endpoint, ServerTransaction, TransportName
from harness.sip.message import Request, new_call_id, new_tag, response_to_unparseable
from harness.sip.syntax import SipParseError
from harness.sip.transport import Address, Inbound
from harness.sip.uri import NameAddr, SipUri


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
    faults: Faults = NO_FAULTS  # named deviations switched on (harness.sim.faults)


class PbxSipService:
    """Registrar + PBX of one tenant on one SIP endpoint (UDP, loopback)."""

    def __init__(self, *, endpoint: Endpoint, setup: PbxSetup) -> None:
        self.endpoint = endpoint
        self.sip_domain = setup.sip_domain
        self.clock = setup.clock
        self.faults = setup.faults
        self.loop = asyncio.get_running_loop()
        self.registrar = Registrar(
            realm=setup.sip_domain,
            credentials=setup.credentials,
            params=setup.registrar_params,
            faults=setup.faults,
        )
        self.pbx = Pbx(
            config=setup.config,
            clock=setup.clock,
            is_registered=self._is_registered,
            params=setup.pbx_params,
            faults=setup.faults,
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
            if session.voicemail_media is not None:
                session.voicemail_media.close()  # its socket, once finished() has the audio
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
        register(self, server)

    def _invite(self, server: ServerTransaction) -> None:
        request = server.request
        dialled = request.uri.user_text if isinstance(request.uri, SipUri) else None
        origin = self._origin(server)
        if origin is None:
            return
        if isinstance(origin, InternalOrigin) and dialled == self.pbx.params.voicemail_access_code:
            self.start_retrieval(server, origin.extension)
            return
        self.start_call(server, self.endpoint, origin, dialled or "")

    def start_retrieval(self, server: ServerTransaction, mailbox: str) -> None:
        """The access code: the PBX answers itself and plays ``mailbox`` after the
        password (retrieval.py). It needs audio: an INVITE without an answerable offer is
        refused 488 (RFC 3261 §21.4.26)."""
        media = VoicemailMedia.answering(server.request.body, record=False, faults=self.faults)
        if media is None:
            server.reply(488)
            return
        request = server.request
        call_id = f"sip-call-{next(self._ids)}"
        session = _CallSession(
            service=self,
            server=server,
            endpoint=self.endpoint,
            call_id=call_id,
            epoch=self.records_epoch(),
            voicemail_media=media,
        )
        self.sessions[call_id] = session
        self.caller_dialogs[request.headers.call_id] = session
        session.answer_itself(media.answer)
        MailboxRetrieval(
            mailbox=mailbox,
            media=media,
            store=self.pbx.voicemail,
            attempts=self.pbx.params.voicemail_password_attempts,
            messages=self.mailbox_recordings,
            hang_up=session.end_from_pbx,
        ).begin()
        self.spawn(media.run())

    def mailbox_recordings(self, mailbox: str) -> list[audio.Samples]:
        """The recorded messages of ``mailbox``, oldest first (kept by the store: service.py)."""
        return []

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
        """Who calls, or None when the INVITE was answered here (auth.py)."""
        return origin(self, server)

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

    # --- requests inside a dialog: the B2BUA relays them (relay.py) ----------------------------

    def in_dialog(self, server: ServerTransaction) -> None:
        """A re-INVITE, UPDATE or INFO inside a call: relayed to the other side (relay.py)."""
        in_dialog(self, server)
