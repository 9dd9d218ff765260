"""Where a request outside a transaction we answered goes, on the tenant's port and the carrier
side alike (RFC 3261 §8.2.1)."""

from __future__ import annotations

from collections.abc import Callable

from harness.sim.pbx.sip_glue.relay import RELAYED
from harness.sip.endpoint import ServerTransaction
from harness.sip.message import Response, new_tag
from harness.sip.syntax import SipParseError

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO"


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
