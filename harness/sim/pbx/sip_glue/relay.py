"""In-dialog requests through the B2BUA: each side's dialog (the SIP core's ``Dialog``) and the
relay of re-INVITE, UPDATE and INFO to the other side (RFC 3261 §14, RFC 3311, RFC 6086)."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.sip import sdp
from harness.sip.dialog import Dialog
from harness.sip.endpoint import ClientTransaction, Endpoint, ServerTransaction, TransportName
from harness.sip.headers import Via
from harness.sip.message import Request, Response
from harness.sip.transport import Address
from harness.sip.uri import NameAddr

if TYPE_CHECKING:
    from harness.sim.pbx.sip_glue.b2bua import PbxSipService
    from harness.sim.pbx.sip_glue.session import _CallSession


SDP = "application/sdp"
# In-dialog requests relayed to the other side of the B2BUA, and the headers they carry along.
RELAYED = frozenset({"INVITE", "UPDATE", "INFO"})
RELAYED_HEADERS = ("Content-Disposition", "Info-Package", "Session-Expires", "Min-SE")
# What the voicemail UAS answers an INVITE without a usable offer with (the dialog only;
# with an offer it answers for real: voicemail_media.py).
VOICEMAIL_SDP = (
    b"v=0\r\no=voicemail 1 1 IN IP4 127.0.0.1\r\ns=voicemail\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 9 RTP/AVP 0\r\na=recvonly\r\n"
)


#: The discard port (RFC 863): where the ``one-way-audio`` fault points a relayed answer's audio.
DEAD_PORT = 9


def dead_media_port(body: bytes) -> bytes:
    """``body`` with its audio stream's port moved to ``DEAD_PORT`` (fault ``one-way-audio``:
    a media relay that answers for a port it never opened). A body that is not SDP, or has no
    audio stream, is returned unchanged."""
    try:
        description = sdp.parse(body)
    except sdp.SdpError:
        return body
    media = tuple(
        dataclasses.replace(m, port=DEAD_PORT) if m.kind == "audio" and m.port else m
        for m in description.media
    )
    if media == description.media:
        return body
    return sdp.build(dataclasses.replace(description, media=media))


#: What fault ``codec-mismatch`` answers with: G.729 (RFC 3551 static payload type 18).
FOREIGN_CODEC = sdp.Codec(payload_type=18, encoding="G729", clock_rate=8000)


def foreign_codec(body: bytes) -> bytes:
    """``body`` with its audio stream's codecs replaced by ``FOREIGN_CODEC`` (its
    telephone-event kept): fault ``codec-mismatch``, an answer that names no codec of the
    offer. A body that is not SDP, or has no audio stream, is returned unchanged."""
    try:
        description = sdp.parse(body)
    except sdp.SdpError:
        return body

    def foreign(media: sdp.Media) -> sdp.Media:
        if media.kind != "audio" or not media.port:
            return media
        event = media.telephone_event
        codecs = (FOREIGN_CODEC,) if event is None else (FOREIGN_CODEC, event)
        return dataclasses.replace(
            media, formats=tuple(c.payload_type for c in codecs), codecs=codecs
        )

    media = tuple(foreign(m) for m in description.media)
    if media == description.media:
        return body
    return sdp.build(dataclasses.replace(description, media=media))


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


async def relay_cancel(server: ServerTransaction, client: ClientTransaction) -> None:
    """A CANCEL of a re-INVITE we relay goes on to the other side (its 487 then comes back)."""
    await server.cancelled.wait()
    client.cancel()


def dialog_of(service: PbxSipService, request: Request) -> tuple[_CallSession, _Dialog] | None:
    """The call and the dialog (the caller's or a leg's) ``request``'s Call-ID names."""
    call_id = request.headers.call_id
    session = service.caller_dialogs.get(call_id)
    if session is not None and session.caller_dialog is not None:
        return session, session.caller_dialog
    entry = service.leg_dialogs.get(call_id)
    if entry is not None and entry[1].dialog is not None:
        return entry[0], entry[1].dialog
    return None


def in_dialog(service: PbxSipService, server: ServerTransaction) -> None:
    """A re-INVITE (hold/resume, session refresh), UPDATE or INFO inside a call: relayed
    as a new transaction on the other side's dialog with its body, and the other side's
    final response (SDP answer included) relayed back (RFC 3261 §14, RFC 3311, RFC 6086).
    No dialog: 481, a CSeq below the last one: 500 (§12.2.2); an INVITE while one is
    pending on either dialog: 491 (§14.2); with voicemail the PBX is the other side and
    answers itself."""
    request = server.request
    found = dialog_of(service, request)
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
        # The voicemail answers the new offer itself (hold: recvonly), on the same port.
        media = session.voicemail_media
        body = b""
        if is_invite:
            body = VOICEMAIL_SDP if media is None else media.reanswer(request.body)
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
    service.spawn(relay(service, server, here, there))


async def relay(
    service: PbxSipService, server: ServerTransaction, here: _Dialog, there: _Dialog
) -> None:
    """Send ``server``'s request on ``there`` and answer it with the other side's final
    response; a 2xx to a re-INVITE is ACKed on ``there`` (§13.2.2.4)."""
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
        watch = service.spawn(relay_cancel(server, client))
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
