"""Digest on the tenant's port: REGISTER to the registrar, and the INVITE that must prove its
From user (407, RFC 3261 §22.3) before it becomes a call."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from harness.sim.pbx.registrar import ContactRequest, RegisterRequest
from harness.sim.pbx.routing import InternalOrigin, Origin
from harness.sip.endpoint import ServerTransaction
from harness.sip.message import Response, new_tag
from harness.sip.syntax import SipParseError
from harness.sip.transport import Address
from harness.sip.uri import SipUri

if TYPE_CHECKING:
    from harness.sim.pbx.sip_glue.b2bua import PbxSipService

# One logger for the whole glue, under its old name: the serve log reads as before the split.
log = logging.getLogger("harness.sim.pbx.sip_glue")


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


def register(service: PbxSipService, server: ServerTransaction) -> None:
    """A REGISTER: ``Registrar.handle`` on real loop time (registrations are soft state), its
    answer (challenges, bindings, Retry-After, Min-Expires) sent back; a refusal a person can
    fix goes to the serve log."""
    request = server.request
    h = request.headers
    to_user = h.to.uri.user_text if isinstance(h.to.uri, SipUri) else None
    over = server.transport.protocol
    contacts = tuple(
        ContactRequest(uri=str(c.uri), expires=_int_param(c.params.get("expires")), transport=over)
        for c in (() if h.contact_is_star else h.contacts)
    )
    result = service.registrar.handle(
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
        now=service.now(),
    )
    _log_refusal("REGISTER", to_user, server.remote, result.refusal)
    extra: list[tuple[str, str]] = [("WWW-Authenticate", str(c)) for c in result.challenges]
    now = service.now()
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
        service.registered(to_user, server.remote.host)


def origin(service: PbxSipService, server: ServerTransaction) -> Origin | None:
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
    ext = None if user is None else service.pbx.config.by_terminal_id(user)
    refusal = service.registrar.authorize(
        terminal_id=user or "",
        source=server.remote.host,
        peer=_peer(server.remote),
        method="INVITE",
        uri=_digest_uri(server, h.get("Proxy-Authorization")),
        authorization=h.get("Proxy-Authorization"),
        now=service.now(),
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
