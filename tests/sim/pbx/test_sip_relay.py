"""Requests inside a call through the B2BUA, over real SIP on loopback: INFO and UPDATE are
relayed to the other party with their body and answered with its response (500 when out of
order); a request for a
dialog the PBX does not know gets 481; a second re-INVITE while one is pending gets 491, a
CANCEL of a pending one is relayed; and
the pure rule of what a leg whose every fork failed reports to the engine."""

from __future__ import annotations

import pytest

from harness.sim.pbx.call import LegFailure
from harness.sim.pbx.sip_glue import Contact, leg_failure
from harness.sip.dialog import cancel_for
from harness.sip.endpoint import ClientTransaction
from harness.sip.message import Request, Response, new_tag
from harness.sip.uri import NameAddr, SipUri
from tests.sim.pbx.sip_phones import Lab, Phone, close_all, phones, run, until, with_pbx

DTMF = b"Signal=5\r\nDuration=160\r\n"


async def _connected(lab: Lab) -> tuple[Phone, Phone, ClientTransaction, Response]:
    caller, callee = await phones(lab, ("205", "ring"), ("201", "answer"))
    client = await caller.call("20201")
    response = await client.wait_final()
    assert response.status == 200
    caller.ack(client, response)
    return caller, callee, client, response


def test_info_and_update_are_relayed_with_their_body() -> None:
    async def body(lab: Lab) -> None:
        caller, callee, client, response = await _connected(lab)
        try:
            info = await caller.in_dialog(
                "INFO", client, response, 2, body=DTMF, content_type="application/dtmf-relay"
            )
            assert info.status == 200
            (relayed,) = [r for r in callee.requests if r.method == "INFO"]
            assert relayed.body == DTMF
            assert relayed.headers.get("Content-Type") == "application/dtmf-relay"
            # Relayed on the leg's dialog, not the caller's: the callee's own Call-ID.
            assert relayed.headers.call_id == callee.incoming[0].request.headers.call_id
            update = await caller.in_dialog("UPDATE", client, response, 3)
            assert update.status == 200
            stale = await caller.in_dialog("INFO", client, response, 2)  # CSeq below 3
            assert stale.status == 500  # RFC 3261 §12.2.2, and not relayed:
            assert [r.method for r in callee.requests] == ["INFO", "UPDATE"]
        finally:
            await close_all(caller, callee)

    run(with_pbx(None, body))


def test_a_request_for_an_unknown_dialog_gets_481() -> None:
    async def body(lab: Lab) -> None:
        (stray,) = await phones(lab, ("205", "ring"))
        try:
            for method in ("INFO", "UPDATE", "INVITE"):
                request = Request.build(
                    method,
                    f"sip:pbx@{lab.service.address}",
                    from_=stray.aor().with_tag(new_tag()),
                    to=stray.aor().with_tag(new_tag()),
                    call_id="no-such-call",
                    cseq=5,
                    via=stray.endpoint.via(),
                    contact=str(stray.uri) if method == "INVITE" else None,
                )
                assert (await stray.endpoint.request(request, stray.server)).status == 481
        finally:
            await close_all(stray)

    run(with_pbx(None, body))


def test_a_second_reinvite_while_one_is_pending_gets_491() -> None:
    async def body(lab: Lab) -> None:
        caller, callee, client, response = await _connected(lab)
        callee.mode = "ring"  # the relayed re-INVITE is left pending at the callee
        try:
            first = caller._in_dialog("INVITE", client, response, 2)
            caller.endpoint.send_request(first, caller.server)
            await until(lambda: len(callee.incoming) == 2, "the re-INVITE relayed")
            second = await caller.in_dialog("INVITE", client, response, 3)
            assert second.status == 491  # RFC 3261 §14.2
        finally:
            await close_all(caller, callee)

    run(with_pbx(None, body))


def test_a_cancel_of_a_relayed_reinvite_is_relayed_too() -> None:
    async def body(lab: Lab) -> None:
        caller, callee, client, response = await _connected(lab)
        callee.mode = "ring"  # the callee leaves the relayed re-INVITE pending
        try:
            reinvite = caller._in_dialog("INVITE", client, response, 2)
            pending = caller.endpoint.send_request(reinvite, caller.server)
            await until(lambda: len(callee.incoming) == 2, "the re-INVITE relayed")
            cancel = await caller.endpoint.request(cancel_for(reinvite), caller.server)
            assert cancel.status == 200
            assert (await pending.wait_final()).status == 487  # the callee's answer, relayed
            await until(lambda: "cancel" in callee.log, "the CANCEL relayed to the callee")
            # The call itself goes on: a new re-INVITE is no longer refused with 491.
            callee.mode = "answer"
            again = await caller.in_dialog("INVITE", client, response, 3)
            assert (again.status, again.body) == (200, b"v=0\r\no=abcde20201-answer\r\n")
        finally:
            await close_all(caller, callee)

    run(with_pbx(None, body))


def _response(status: int, *, tagged: bool = True) -> Response:
    invite = Request.build(
        "INVITE",
        "sip:20201@127.0.0.1:5070",
        from_=f"<sip:20205@example.invalid>;tag={new_tag()}",
        to="<sip:20201@example.invalid>",
        call_id="c",
        cseq=1,
        via="SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx",
    )
    return Response.for_request(invite, status, to_tag=new_tag() if tagged else None)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([(486, True), (486, True)], LegFailure.BUSY),
        ([(486, True), (603, True), (600, True)], LegFailure.BUSY),
        ([(486, True), (503, False)], LegFailure.BUSY),  # a dead contact hides no busy
        ([(486, True), (408, False)], LegFailure.BUSY),
        ([(480, True), (404, True), (410, True)], LegFailure.UNREGISTERED),
        ([(503, False), (408, False)], LegFailure.UNREGISTERED),
        ([(486, True), (500, True)], LegFailure.ERROR),
        ([(503, True)], LegFailure.ERROR),  # a real 503 (To tag) is the phone's own answer
        ([(403, True), (480, True)], LegFailure.ERROR),
    ],
)
def test_what_a_leg_whose_every_fork_failed_reports(
    statuses: list[tuple[int, bool]], expected: LegFailure
) -> None:
    responses = [_response(status, tagged=tagged) for status, tagged in statuses]
    assert leg_failure(responses) is expected


@pytest.mark.parametrize(
    ("uri", "registered_over", "transport"),
    [
        ("sip:a@127.0.0.1:5070", "UDP", "UDP"),
        ("sip:a@127.0.0.1:5070;transport=tcp", "UDP", "TCP"),
        ("sip:a@127.0.0.1:5070;transport=TCP", "UDP", "TCP"),
        ("sip:a@127.0.0.1:5070", "TCP", "TCP"),
    ],
)
def test_a_contact_is_reached_over_the_transport_it_registered_with(
    uri: str, registered_over: str, transport: str
) -> None:
    contact = Contact.of(SipUri.parse(uri), registered_over=registered_over)
    assert contact.transport == transport
    assert (contact.address.host, contact.address.port) == ("127.0.0.1", 5070)


def test_requests_on_a_leg_follow_its_route_set() -> None:
    """The leg's dialog is the SIP core's ``Dialog`` (issue 9 item 7): the callee's 2xx with
    Record-Route gives it a route set, and the relayed INFO and the BYE carry it as Route
    (RFC 3261 §12.1.2, §12.2.1.1) — the glue's own dialog record had no route set."""

    async def body(lab: Lab) -> None:
        caller, callee = await phones(lab, ("205", "ring"), ("201", "ring"))
        try:
            client = await caller.call("20201")
            await until(lambda: len(callee.incoming) == 1, "the leg's INVITE")
            (leg,) = callee.incoming
            proxies = ("<sip:p1.invalid;lr>", "<sip:p2.invalid;lr>")
            leg.respond(
                Response.for_request(
                    leg.request,
                    200,
                    to_tag=new_tag(),
                    contact=NameAddr(uri=callee.uri),
                    headers=tuple(("Record-Route", p) for p in proxies),
                    body=b"v=0\r\n",
                    content_type="application/sdp",
                )
            )
            response = await client.wait_final()
            assert response.status == 200
            caller.ack(client, response)
            info = await caller.in_dialog("INFO", client, response, 2, body=DTMF)
            assert info.status == 200
            assert (await caller.hang_up(client, response)).status == 200
            await until(lambda: "bye" in callee.log, "the BYE on the leg")
            # §12.1.2: the UAC's route set is the Record-Route list in reverse order.
            routes = [[str(v) for v in r.headers.get_all("Route")] for r in callee.requests]
            assert [r.method for r in callee.requests] == ["INFO", "BYE"]
            assert routes == [list(reversed(proxies))] * 2
        finally:
            await close_all(caller, callee)

    run(with_pbx(None, body))
