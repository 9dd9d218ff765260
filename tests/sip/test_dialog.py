"""RFC 3261 §12 dialogs: both sides of one call through two record-routing proxies."""

from __future__ import annotations

import pytest

from harness.sip.dialog import (
    Dialog,
    DialogId,
    DialogState,
    SuccessRetransmission,
    ack_for_failure,
    cancel_for,
)
from harness.sip.headers import Via
from harness.sip.message import Request, Response, parse_message, serialize
from harness.sip.transaction import (
    SendResponse,
    TimerConfig,
    TransactionTimeout,
    cancel_target_key,
    server_key,
)
from harness.sip.uri import SipUri

ALICE_VIA = Via(transport="UDP", host="10.0.0.1", port=5060)
BOB_VIA = Via(transport="UDP", host="10.0.0.2", port=5060)


def invite() -> Request:
    return Request.build(
        "INVITE",
        "sip:20200@example.jp",
        from_='"Alice" <sip:20201@example.jp>;tag=alice1',
        to="<sip:20200@example.jp>",
        call_id="call-7@10.0.0.1",
        cseq=10,
        vias=(
            "SIP/2.0/UDP p2.example.jp;branch=z9hG4bKp2",
            "SIP/2.0/UDP p1.example.jp;branch=z9hG4bKp1",
            ALICE_VIA.with_param("branch", "z9hG4bKa1"),
        ),
        contact="<sip:20201@10.0.0.1:5060>",
        headers=(
            ("Record-Route", "<sip:p2.example.jp;lr>"),
            ("Record-Route", "<sip:p1.example.jp;lr>"),
            ("Authorization", 'Digest username="u", realm="r", nonce="n", uri="u", response="x"'),
        ),
        body=b"v=0\r\n",
        content_type="application/sdp",
    )


def answer(req: Request, status: int = 200) -> Response:
    return Response.for_request(req, status, to_tag="bob1", contact="<sip:20200@10.0.0.2:5062>")


def as_seen_by_alice(resp: Response) -> Response:
    """The response after the proxies removed their Vias."""
    return resp.with_header("Via", *resp.headers.get_all("Via")[2:])


def test_uac_and_uas_dialogs_mirror_each_other() -> None:
    req = invite()
    ok = answer(req)
    uas = Dialog.from_uas(req, ok)
    uac = Dialog.from_uac(req, as_seen_by_alice(ok))
    assert uac.id == DialogId(call_id="call-7@10.0.0.1", local_tag="alice1", remote_tag="bob1")
    assert uas.id == DialogId(call_id="call-7@10.0.0.1", local_tag="bob1", remote_tag="alice1")
    assert uac.state is DialogState.CONFIRMED and uas.state is DialogState.CONFIRMED
    assert [str(r.uri) for r in uac.route_set] == ["sip:p1.example.jp;lr", "sip:p2.example.jp;lr"]
    assert [str(r.uri) for r in uas.route_set] == ["sip:p2.example.jp;lr", "sip:p1.example.jp;lr"]
    assert str(uac.remote_target) == "sip:20200@10.0.0.2:5062"
    assert str(uas.remote_target) == "sip:20201@10.0.0.1:5060"
    assert str(uas.local_target) == "sip:20200@10.0.0.2:5062"
    assert uac.local_cseq == 10 and uac.remote_cseq is None
    assert uas.local_cseq is None and uas.remote_cseq == 10


def test_ack_for_2xx_uses_the_invite_cseq_and_credentials() -> None:
    req = invite()
    uac = Dialog.from_uac(req, as_seen_by_alice(answer(req)))
    ack = uac.ack(req, via=ALICE_VIA.with_param("branch", "z9hG4bKack"))
    h = ack.headers
    assert ack.method == "ACK" and str(ack.uri) == "sip:20200@10.0.0.2:5062"
    assert h.cseq.number == 10 and h.cseq.method == "ACK" and uac.local_cseq == 10
    assert h.via.branch == "z9hG4bKack"
    assert h.get_all("Route") == ["<sip:p1.example.jp;lr>", "<sip:p2.example.jp;lr>"]
    assert h.from_.tag == "alice1" and h.to.tag == "bob1"
    assert h.get("Authorization") == req.headers.get("Authorization")
    assert parse_message(serialize(ack)) == ack


def test_bye_from_uac_is_matched_and_accounted_by_the_uas() -> None:
    req = invite()
    ok = answer(req)
    uas = Dialog.from_uas(req, ok)
    uac = Dialog.from_uac(req, as_seen_by_alice(ok))
    bye = uac.create_request("BYE", via=ALICE_VIA.with_param("branch", "z9hG4bKbye"))
    assert bye.headers.cseq.number == 11 and "Contact" not in bye.headers
    assert uas.matches(bye) and not uac.matches(bye)
    assert uas.receive_request(bye) and uas.remote_cseq == 11
    assert uas.state is DialogState.TERMINATED
    stray = bye.with_header("To", "<sip:20200@example.jp>;tag=other")
    assert not Dialog.from_uas(req, ok).matches(stray)


def test_requests_from_the_uas_start_at_its_own_cseq_and_match_on_the_uac() -> None:
    req = invite()
    ok = answer(req)
    uas = Dialog.from_uas(req, ok)
    uac = Dialog.from_uac(req, as_seen_by_alice(ok))
    info = uas.create_request("INFO", via=BOB_VIA.with_param("branch", "z9hG4bKi1"))
    assert info.headers.cseq.number == 1 and str(info.uri) == "sip:20201@10.0.0.1:5060"
    assert uac.matches(info) and uac.receive_request(info)
    reply = Response.for_request(info, 200)
    assert uas.matches_response(reply) and not uac.matches_response(reply)


def test_out_of_order_requests_are_refused() -> None:
    req = invite()
    uas = Dialog.from_uas(req, answer(req))
    uac = Dialog.from_uac(req, as_seen_by_alice(answer(req)))
    first = uac.create_request("INFO", via=ALICE_VIA.with_param("branch", "z9hG4bK1"))
    second = uac.create_request("INFO", via=ALICE_VIA.with_param("branch", "z9hG4bK2"))
    assert uas.receive_request(second)
    assert not uas.receive_request(first)  # §12.2.2: lower CSeq → 500
    assert uas.remote_cseq == second.headers.cseq.number


def test_reinvite_refreshes_targets_both_ways() -> None:
    req = invite()
    uas = Dialog.from_uas(req, answer(req))
    uac = Dialog.from_uac(req, as_seen_by_alice(answer(req)))
    uac.local_target = SipUri(user="20201", host="10.0.0.9", port=5080)
    reinvite = uac.create_request(
        "INVITE",
        via=ALICE_VIA.with_param("branch", "z9hG4bKr"),
        body=b"v=0\r\n",
        content_type="application/sdp",
    )
    assert reinvite.headers.contact is not None
    assert uas.receive_request(reinvite)
    assert str(uas.remote_target) == "sip:20201@10.0.0.9:5080"
    moved = Response.for_request(reinvite, 200, contact="<sip:20200@10.0.0.8>")
    uac.receive_response(reinvite, moved)
    assert str(uac.remote_target) == "sip:20200@10.0.0.8"
    gone = Response.for_request(reinvite, 481)
    uac.receive_response(reinvite, gone)
    assert uac.state is DialogState.TERMINATED


def test_early_dialog_is_confirmed_by_2xx_with_recomputed_route_set() -> None:
    req = invite()
    ringing = as_seen_by_alice(answer(req, 180))
    uac = Dialog.from_uac(req, ringing)
    assert uac.state is DialogState.EARLY
    ok = as_seen_by_alice(answer(req)).with_header("Record-Route", "<sip:p9.example.jp;lr>")
    ok = ok.with_header("Contact", "<sip:20200@10.0.0.3>")
    uac.confirm(ok)
    assert uac.state is DialogState.CONFIRMED
    assert [str(r.uri) for r in uac.route_set] == ["sip:p9.example.jp;lr"]
    assert str(uac.remote_target) == "sip:20200@10.0.0.3"


def test_strict_routing_puts_the_remote_target_last() -> None:
    req = invite().with_header("Record-Route", "<sip:strict.example.jp;maddr=10.0.0.7>")
    uas = Dialog.from_uas(req, answer(req))
    bye = uas.create_request("BYE", via=BOB_VIA.with_param("branch", "z9hG4bKs"))
    assert str(bye.uri) == "sip:strict.example.jp"
    assert bye.headers.get_all("Route") == ["<sip:20201@10.0.0.1:5060>"]


def test_responses_that_create_no_dialog_are_refused() -> None:
    req = invite()
    with pytest.raises(ValueError, match="does not create a dialog"):
        Dialog.from_uac(req, answer(req, 486))
    with pytest.raises(ValueError, match="without To tag"):
        Dialog.from_uac(req, Response.for_request(req, 180))
    uac = Dialog.from_uac(req, as_seen_by_alice(answer(req)))
    with pytest.raises(ValueError, match="reuses the INVITE's CSeq"):
        uac.create_request("ACK", via=ALICE_VIA)


def test_cancel_follows_9_1_and_matches_the_invite_transaction() -> None:
    req = invite()
    cancel = cancel_for(req)
    h = cancel.headers
    assert cancel.method == "CANCEL" and cancel.uri == req.uri
    assert h.get_all("Via") == req.headers.get_all("Via")[:1]
    assert h.cseq.number == 10 and h.cseq.method == "CANCEL"
    assert h.from_ == req.headers.from_ and h.to == req.headers.to
    assert h.call_id == req.headers.call_id and cancel.body == b""
    assert cancel_target_key(cancel) == server_key(req)
    assert ack_for_failure(req, answer(req, 487)).headers.cseq.method == "ACK"


def test_2xx_retransmission_until_ack() -> None:
    ok = answer(invite())
    r = SuccessRetransmission(ok, reliable=False, now=0.0)
    times = []
    while (due := r.next_deadline()) is not None and due < 10:
        out = r.on_timeout(due)
        assert out == [SendResponse(response=ok, retransmission=True)]
        times.append(due)
    assert times == [0.5, 1.5, 3.5, 7.5]
    r.ack_received()
    assert r.done and r.next_deadline() is None and r.on_timeout(100.0) == []


def test_2xx_retransmission_gives_up_after_64_t1() -> None:
    ok = answer(invite())
    r = SuccessRetransmission(ok, reliable=True, now=0.0, timers=TimerConfig(t1=0.1))
    assert r.next_deadline() == pytest.approx(6.4)
    assert r.on_timeout(6.4) == [TransactionTimeout(timer="2xx")] and r.done
