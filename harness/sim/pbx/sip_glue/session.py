"""A call's SIP side: the caller's INVITE and each leg forked over every live contact of its
terminal (RFC 3261 §16.7), as the engine's ``LegDriver`` (docs/pbx.md "The SIP side")."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from harness.sim.faults import CODEC_MISMATCH, ONE_WAY_AUDIO
from harness.sim.pbx.call import Call, CallState, LegFailure, LegTarget
from harness.sim.pbx.routing import CallerId, ReleaseReason, ToExtension
from harness.sim.pbx.sip_glue.relay import (
    SDP,
    VOICEMAIL_SDP,
    _Dialog,
    dead_media_port,
    foreign_codec,
)
from harness.sim.pbx.sip_glue.voicemail_media import VoicemailMedia, greeting
from harness.sip.dialog import Dialog
from harness.sip.endpoint import ClientTransaction, Endpoint, ServerTransaction, TransportName
from harness.sip.message import Request, Response, new_tag
from harness.sip.transport import Address
from harness.sip.uri import SipUri

if TYPE_CHECKING:
    from harness.sim.pbx.sip_glue.b2bua import PbxSipService

# One logger for the whole glue, under its old name: the serve log reads as before the split.
log = logging.getLogger("harness.sim.pbx.sip_glue")


BUSY_STATUSES = frozenset({486, 600, 603})
UNREACHABLE_STATUSES = frozenset({404, 408, 410, 480})


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
    voicemail_media: VoicemailMedia | None = None  # the voicemail UAS's RTP (answered offer)

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
        if self.service.faults.on(ONE_WAY_AUDIO):
            body = dead_media_port(body)
        if self.service.faults.on(CODEC_MISMATCH):
            body = foreign_codec(body)
        self._answer(body)

    def to_voicemail(self, mailbox: str) -> None:
        # The caller's offer answered for real: greeting out, recording in (voicemail_media);
        # an INVITE without a usable offer gets the dialog-only answer of before.
        media = VoicemailMedia.answering(self.server.request.body, faults=self.service.faults)
        if media is None:
            self._answer(VOICEMAIL_SDP)
            return
        self.voicemail_media = media
        self._answer(media.answer)
        media.play(greeting())
        self.service.spawn(media.run())

    def answer_itself(self, body: bytes) -> None:
        """200 to the caller from the PBX itself (mailbox retrieval: no engine call)."""
        self._answer(body)

    def end_from_pbx(self) -> None:
        """The PBX ends a call it answered itself: BYE to the caller."""
        if self.caller_dialog is not None:
            self.caller_dialog.bye()
            self.caller_dialog = None
        self.service.forget(self)

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
