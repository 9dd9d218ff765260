"""The PSTN side (issue 4 part 3): a carrier-side SIP listener for external subscribers.

Theory of operation (docs/pbx.md "PSTN side"). External numbers are lines at a carrier; here
a subscriber — a virtual phone, SIPp, a softphone — registers on the carrier port (its own
loopback port, apart from the tenant's) with its number as the user part
(``To: <sip:09011112222@127.0.0.1>``). There is no digest: a carrier trusts the line, not a
password, so the number registered IS the identity the carrier asserts for that subscriber.

- REGISTER: binds number → contact (``Expires``/``;expires``, 0 removes, 3600 by default);
  a user part that is no phone number (digits) gets 404.
- INVITE from a registered subscriber (From user = its number, sent from the address it
  registered from: a carrier asserts the line, not what a sender writes) to one of the
  tenant's 外線番号 → an inbound call of the PBX (外線着信設定), caller ID = the subscriber's
  number, withheld (非通知) when it dialled 184 or sent ``Privacy: id``; 186 presents. From an
  unregistered number, or another address than the number's registration: 403. To a number
  that is not the tenant's: 404 (subscribers do not call each other).
- External legs of the PBX leave from this port to the subscriber's contact with the caller
  ID a carrier presents: ``P-Asserted-Identity`` = the caller's 外線発信 number, or
  ``From: Anonymous`` + ``Privacy: id`` for 184 (``PbxSipService.leg_invite``). An unregistered
  number fails the leg (the caller hears 480).
- BYE, re-INVITE, UPDATE and INFO go to the PBX's dialogs, CANCEL is matched by the
  endpoint; OPTIONS 200; else 405.
- A subscriber registered over TCP (or with ``;transport=tcp``) gets its calls over TCP.

Bindings are soft state in memory, on real loop time like the tenant's registrar; every
change is reported to ``on_change`` (the service writes them where the provisioning API
reads them: ``GET /api/pstn/registrations``), and ``forget`` drops them all (a reset).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.sim.pbx.routing import ExternalOrigin, strip_prefix
from harness.sim.pbx.sip_glue import Contact, PbxSipService, dispatch
from harness.sip.endpoint import Endpoint, ServerTransaction
from harness.sip.message import Response, new_tag, response_to_unparseable
from harness.sip.syntax import SipParseError
from harness.sip.transport import Address, Inbound
from harness.sip.uri import SipUri

DEFAULT_EXPIRES = 3600
MAX_EXPIRES = 7200


@dataclass(frozen=True, kw_only=True)
class Subscriber:
    """One registered external line: where its calls go until when (loop time)."""

    number: str
    contact: Contact
    source: Address  # where the REGISTER came from
    expires_at: float


class Carrier:
    """The carrier side on its own endpoint, in front of one tenant's ``PbxSipService``."""

    def __init__(self, *, endpoint: Endpoint, pbx: PbxSipService) -> None:
        self.endpoint = endpoint
        self.pbx = pbx
        self.subscribers: dict[str, Subscriber] = {}
        # Called with the number and its subscriber (None: gone) after each change.
        self.on_change: Callable[[str, Subscriber | None], None] | None = None
        endpoint.on_request = self.on_request
        endpoint.on_unparseable = self.on_unparseable
        pbx.trunk = endpoint
        pbx.pstn = self.resolve

    @property
    def address(self) -> Address:
        return self.endpoint.transport().local

    def resolve(self, number: str) -> Contact | None:
        """Where an external leg to ``number`` goes: its subscriber's contact, if registered."""
        subscriber = self.subscribers.get(number)
        if subscriber is None or subscriber.expires_at <= self.pbx.now():
            return None
        return subscriber.contact

    def registered_numbers(self) -> list[str]:
        now = self.pbx.now()
        return sorted(n for n, s in self.subscribers.items() if s.expires_at > now)

    def forget(self) -> None:
        """Drop every subscriber (a reset or a new tenant: soft state goes with the store's)."""
        self.subscribers.clear()

    def _changed(self, number: str) -> None:
        if self.on_change is not None:
            self.on_change(number, self.subscribers.get(number))

    def on_unparseable(self, inbound: Inbound, error: SipParseError) -> None:
        response = response_to_unparseable(inbound.data, error.status, str(error))
        if response is not None:
            inbound.transport.send(response, inbound.remote)

    def on_request(self, server: ServerTransaction) -> None:
        dispatch(
            server,
            register=self._register,
            invite=self._invite,
            bye=self.pbx.bye,
            in_dialog=self.pbx.in_dialog,
        )

    def _register(self, server: ServerTransaction) -> None:
        request = server.request
        h = request.headers
        number = h.to.uri.user_text if isinstance(h.to.uri, SipUri) else None
        if not number or not number.isdigit():
            server.reply(404, "Not Found (register a phone number as the user part)")
            return
        now = self.pbx.now()
        before = self.subscribers.get(number)
        if h.contact_is_star:
            self.subscribers.pop(number, None)
        for contact in () if h.contact_is_star else h.contacts:
            uri = contact.uri
            if not isinstance(uri, SipUri):
                server.reply(400, "Bad Request (Contact must be a sip: URI)")
                return
            raw = contact.params.get("expires")
            expires = int(raw) if raw is not None and raw.isdigit() else h.expires
            expires = min(DEFAULT_EXPIRES if expires is None else expires, MAX_EXPIRES)
            if expires == 0:
                self.subscribers.pop(number, None)
                continue
            self.subscribers[number] = Subscriber(
                number=number,
                contact=Contact.of(uri, registered_over=server.transport.protocol),
                source=server.remote,
                expires_at=now + expires,
            )
        extra: tuple[tuple[str, str], ...] = ()
        current = self.subscribers.get(number)
        if current is not None:
            remaining = max(0, int(current.expires_at - now))
            extra = (("Contact", f"<{current.contact.uri}>;expires={remaining}"),)
        server.respond(Response.for_request(request, 200, to_tag=new_tag(), headers=extra))
        if current is not before:
            self._changed(number)

    def _invite(self, server: ServerTransaction) -> None:
        request = server.request
        h = request.headers
        from_uri = h.from_.uri
        caller = from_uri.user_text if isinstance(from_uri, SipUri) else None
        subscriber = None if caller is None else self.subscribers.get(caller)
        if caller is None or self.resolve(caller) is None or subscriber is None:
            server.reply(403, "Forbidden (register this number on the carrier side first)")
            return
        if subscriber.source.host != server.remote.host:
            # A carrier presents the number of the line a call comes in on, not the one a
            # sender writes: a From naming another host's subscriber is a spoofed caller ID.
            server.reply(403, "Forbidden (not the address this number registered from)")
            return
        dialled = request.uri.user_text if isinstance(request.uri, SipUri) else ""
        dialled = dialled or ""
        withheld = "id" in (h.get("Privacy") or "").lower()
        dialled, prefix = strip_prefix(self.pbx.pbx.params, dialled)  # 184 / 186
        if prefix is not None:
            withheld = prefix
        self.pbx.refresh()
        if dialled not in self.pbx.pbx.config.external_numbers:
            server.reply(404, "Not Found (not a 外線番号 of the tenant)")
            return
        origin = ExternalOrigin(number=None if withheld else caller)
        self.pbx.start_call(server, self.endpoint, origin, dialled)
