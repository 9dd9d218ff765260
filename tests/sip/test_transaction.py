"""RFC 3261 §17 transactions, in memory: every transition of the table, timers with a fake now."""

from __future__ import annotations

import pytest

from harness.sip.headers import Via
from harness.sip.message import Request, Response
from harness.sip.transaction import (
    TRANSITIONS,
    TU_INPUTS,
    ClientTransaction,
    DeliverRequest,
    DeliverResponse,
    Event,
    Input,
    Kind,
    SendRequest,
    SendResponse,
    ServerTransaction,
    State,
    TimerConfig,
    TransactionError,
    TransactionKey,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
    ack_for_failure,
    cancel_target_key,
    client_key,
    server_key,
)

Transaction = ClientTransaction | ServerTransaction


def request(method: str = "INVITE", branch: str = "z9hG4bKabc") -> Request:
    return Request.build(
        method,
        "sip:20200@example.jp",
        from_="<sip:20201@example.jp>;tag=f1",
        to="<sip:20200@example.jp>",
        call_id="call-1@example.jp",
        cseq=5,
        via=Via(transport="UDP", host="10.0.0.1", port=5060).with_param("branch", branch),
        headers=(("Route", "<sip:proxy.example.jp;lr>"),),
    )


def response(req: Request, status: int) -> Response:
    return Response.for_request(req, status, to_tag=None if status == 100 else "t1")


def ack_of(req: Request) -> Request:
    return ack_for_failure(req, response(req, 486))


STATUS = {
    Input.PROVISIONAL: 180,
    Input.SUCCESS: 200,
    Input.FAILURE: 486,
    Input.FINAL: 200,
    Input.SEND_PROVISIONAL: 180,
    Input.SEND_SUCCESS: 200,
    Input.SEND_FAILURE: 486,
    Input.SEND_FINAL: 200,
}


def stimulate(tx: Transaction, event: Input, now: float) -> list[Event]:
    """Make ``event`` happen to ``tx``; returns its outputs."""
    if event.name.startswith("TIMER_"):
        due = tx.pending_timers()[event]
        return tx.on_timeout(due)
    if event is Input.TRANSPORT_ERROR:
        return tx.transport_error(now)
    if isinstance(tx, ClientTransaction):
        return tx.receive(response(tx.request, STATUS[event]), now)
    if event is Input.REQUEST:
        return tx.receive(tx.request, now)
    if event is Input.ACK:
        return tx.receive(ack_of(tx.request), now)
    return tx.respond(response(tx.request, STATUS[event]), now)


def reach(kind: Kind, state: State) -> Transaction:
    """A fresh transaction (unreliable transport, so every timer runs) in ``state``."""
    invite = kind in (Kind.INVITE_CLIENT, Kind.INVITE_SERVER)
    req = request("INVITE" if invite else "OPTIONS")
    tx: Transaction
    if kind in (Kind.INVITE_CLIENT, Kind.NON_INVITE_CLIENT):
        tx = ClientTransaction(req, reliable=False, now=0.0)
        tx.start()
        path = {
            State.CALLING: [],
            State.TRYING: [],
            State.PROCEEDING: [Input.PROVISIONAL],
            State.COMPLETED: [Input.FAILURE if invite else Input.FINAL],
            State.ACCEPTED: [Input.SUCCESS],
        }[state]
    else:
        tx = ServerTransaction(req, reliable=False, now=0.0)
        path = {
            State.PROCEEDING: [] if invite else [Input.SEND_PROVISIONAL],
            State.TRYING: [],
            State.COMPLETED: [Input.SEND_FAILURE if invite else Input.SEND_FINAL],
            State.CONFIRMED: [Input.SEND_FAILURE, Input.ACK],
            State.ACCEPTED: [Input.SEND_SUCCESS],
        }[state]
    for step in path:
        stimulate(tx, step, 0.1)
    assert tx.kind is kind and tx.state is state
    return tx


ROWS = sorted(TRANSITIONS.items(), key=lambda item: (item[0][0].name, item[0][1].name))
EDGES = [
    (kind, state, event, target) for (kind, state), row in ROWS for event, target in row.items()
]


@pytest.mark.parametrize(
    ("kind", "state", "event", "target"),
    EDGES,
    ids=[f"{k.name}-{s.name}-{e.name}" for k, s, e, _ in EDGES],
)
def test_every_transition_of_the_table(
    kind: Kind, state: State, event: Input, target: State
) -> None:
    tx = reach(kind, state)
    outputs = stimulate(tx, event, 0.2)
    assert tx.state is target
    assert (TransactionTerminated() in outputs) == (target is State.TERMINATED)
    if target is State.TERMINATED:
        assert tx.next_deadline() is None


def _applicable(kind: Kind) -> list[Input]:
    client = kind in (Kind.INVITE_CLIENT, Kind.NON_INVITE_CLIENT)
    invite = kind in (Kind.INVITE_CLIENT, Kind.INVITE_SERVER)
    received = [Input.PROVISIONAL] + ([Input.SUCCESS, Input.FAILURE] if invite else [Input.FINAL])
    sent = [Input.SEND_PROVISIONAL] + (
        [Input.SEND_SUCCESS, Input.SEND_FAILURE] if invite else [Input.SEND_FINAL]
    )
    requests = [] if client or not invite else [Input.ACK]
    return (received if client else sent + [Input.REQUEST] + requests) + [Input.TRANSPORT_ERROR]


MISSING = [
    (kind, state, event)
    for (kind, state), row in ROWS
    for event in _applicable(kind)
    if event not in row
]


@pytest.mark.parametrize(
    ("kind", "state", "event"),
    MISSING,
    ids=[f"{k.name}-{s.name}-{e.name}" for k, s, e in MISSING],
)
def test_inputs_outside_the_table_are_dropped_or_refused(
    kind: Kind, state: State, event: Input
) -> None:
    tx = reach(kind, state)
    timers = tx.pending_timers()
    if event in TU_INPUTS:
        with pytest.raises(TransactionError, match="not allowed"):
            stimulate(tx, event, 0.2)
    else:
        assert stimulate(tx, event, 0.2) == []
    assert tx.state is state and tx.pending_timers() == timers


def sends(outputs: list[Event]) -> list[Request | Response]:
    return [
        o.request if isinstance(o, SendRequest) else o.response
        for o in outputs
        if isinstance(o, SendRequest | SendResponse)
    ]


def run_until(tx: Transaction, end: float) -> list[tuple[float, Event]]:
    """Call on_timeout at every deadline up to ``end``; (time, output) pairs."""
    log: list[tuple[float, Event]] = []
    while (due := tx.next_deadline()) is not None and due <= end:
        log += [(due, o) for o in tx.on_timeout(due)]
    return log


def test_invite_client_timer_a_doubles_until_timer_b() -> None:
    req = request()
    tx = ClientTransaction(req, reliable=False, now=10.0)
    assert tx.start() == [SendRequest(request=req)]
    log = run_until(tx, 100.0)
    retransmits = [t for t, o in log if isinstance(o, SendRequest)]
    assert retransmits == [10.5, 11.5, 13.5, 17.5, 25.5, 41.5]  # A: T1, 2T1, 4T1… (7 sends)
    assert (42.0, TransactionTimeout(timer="B")) in log
    assert log[-1] == (42.0, TransactionTerminated()) and tx.terminated


def test_invite_client_reliable_has_no_timer_a_and_timer_d_is_zero() -> None:
    req = request()
    tx = ClientTransaction(req, reliable=True, now=0.0)
    tx.start()
    assert tx.pending_timers() == {Input.TIMER_B: 32.0}
    out = tx.receive(response(req, 486), 1.0)
    assert out[0] == DeliverResponse(response=response(req, 486))
    assert out[1] == SendRequest(request=ack_for_failure(req, response(req, 486)))
    assert out[2] == TransactionTerminated() and tx.terminated


def test_invite_client_acks_failures_and_absorbs_their_retransmissions() -> None:
    req = request()
    tx = ClientTransaction(req, reliable=False, now=0.0)
    tx.start()
    assert tx.receive(response(req, 180), 0.3) == [DeliverResponse(response=response(req, 180))]
    assert tx.pending_timers() == {}  # Proceeding: neither A nor B
    busy = response(req, 486)
    out = tx.receive(busy, 2.0)
    assert out[0] == DeliverResponse(response=busy)
    ack = out[1]
    assert isinstance(ack, SendRequest) and ack.request.method == "ACK"
    assert tx.pending_timers() == {Input.TIMER_D: 34.0}
    again = tx.receive(busy, 3.0)
    assert again == [SendRequest(request=ack.request, retransmission=True)]
    assert run_until(tx, 34.0) == [(34.0, TransactionTerminated())]


def test_invite_client_passes_2xx_retransmissions_to_the_tu_until_timer_m() -> None:
    req = request()
    tx = ClientTransaction(req, reliable=False, now=0.0)
    tx.start()
    ok = response(req, 200)
    assert tx.receive(ok, 1.0) == [DeliverResponse(response=ok)]
    assert tx.state is State.ACCEPTED and tx.pending_timers() == {Input.TIMER_M: 33.0}
    assert tx.receive(ok, 2.0) == [DeliverResponse(response=ok)]
    assert tx.receive(response(req, 180), 2.0) == []
    assert run_until(tx, 40.0) == [(33.0, TransactionTerminated())]


def test_non_invite_client_timer_e_caps_at_t2_and_goes_to_t2_in_proceeding() -> None:
    req = request("OPTIONS")
    tx = ClientTransaction(req, reliable=False, now=0.0)
    tx.start()
    log = run_until(tx, 9.0)
    assert [t for t, _ in log] == [0.5, 1.5, 3.5, 7.5]  # 0.5, 1, 2, 4 (capped at T2)
    assert tx.next_deadline() == 11.5
    tx.receive(response(req, 100), 9.0)
    assert tx.state is State.PROCEEDING
    log = run_until(tx, 20.0)
    assert [t for t, _ in log] == [11.5, 15.5, 19.5]  # every T2 in Proceeding
    log = run_until(tx, 40.0)
    assert log[-2:] == [(32.0, TransactionTimeout(timer="F")), (32.0, TransactionTerminated())]


def test_non_invite_client_final_then_timer_k() -> None:
    req = request("REGISTER")
    tx = ClientTransaction(req, reliable=False, now=0.0)
    tx.start()
    ok = response(req, 200)
    assert tx.receive(ok, 1.0) == [DeliverResponse(response=ok)]
    assert tx.pending_timers() == {Input.TIMER_K: 6.0}
    assert tx.receive(ok, 2.0) == []  # absorbed
    assert run_until(tx, 10.0) == [(6.0, TransactionTerminated())]
    reliable = ClientTransaction(req, reliable=True, now=0.0)
    reliable.start()
    assert reliable.pending_timers() == {Input.TIMER_F: 32.0}
    assert reliable.receive(ok, 1.0) == [DeliverResponse(response=ok), TransactionTerminated()]


def test_custom_timer_values() -> None:
    timers = TimerConfig(t1=0.1, t2=0.4, t4=1.0)
    tx = ClientTransaction(request("OPTIONS"), reliable=False, now=0.0, timers=timers)
    tx.start()
    assert tx.pending_timers() == {Input.TIMER_E: 0.1, Input.TIMER_F: pytest.approx(6.4)}


def test_invite_server_auto_trying_and_retransmission_absorption() -> None:
    req = request()
    tx = ServerTransaction(req, reliable=False, now=0.0)
    assert tx.receive(req, 0.1) == []  # nothing to repeat yet
    (trying,) = sends(tx.on_timeout(0.2))
    assert isinstance(trying, Response) and trying.status == 100 and trying.headers.to.tag is None
    assert tx.receive(req, 0.3) == [SendResponse(response=trying, retransmission=True)]
    ringing = response(req, 180)
    assert tx.respond(ringing, 0.4) == [SendResponse(response=ringing)]
    assert tx.receive(req, 0.5) == [SendResponse(response=ringing, retransmission=True)]
    quiet = ServerTransaction(req, reliable=False, now=0.0, auto_trying=False)
    assert quiet.next_deadline() is None
    fast = ServerTransaction(req, reliable=False, now=0.0)
    fast.respond(ringing, 0.1)
    assert Input.TIMER_TRYING not in fast.pending_timers()


def test_invite_server_failure_timer_g_then_h_without_ack() -> None:
    req = request()
    tx = ServerTransaction(req, reliable=False, now=0.0, auto_trying=False)
    busy = response(req, 486)
    tx.respond(busy, 1.0)
    assert tx.receive(req, 1.2) == [SendResponse(response=busy, retransmission=True)]
    log = run_until(tx, 40.0)
    assert [t for t, o in log if isinstance(o, SendResponse)] == [
        1.5,
        2.5,
        4.5,
        8.5,
        12.5,
        16.5,
        20.5,
        24.5,
        28.5,
        32.5,
    ]
    assert log[-2:] == [(33.0, TransactionTimeout(timer="H")), (33.0, TransactionTerminated())]


def test_invite_server_ack_confirms_then_timer_i() -> None:
    req = request()
    tx = ServerTransaction(req, reliable=False, now=0.0, auto_trying=False)
    tx.respond(response(req, 486), 1.0)
    assert tx.receive(ack_of(req), 2.0) == []
    assert tx.state is State.CONFIRMED and tx.pending_timers() == {Input.TIMER_I: 7.0}
    assert tx.receive(ack_of(req), 3.0) == [] and tx.receive(req, 3.0) == []
    assert run_until(tx, 10.0) == [(7.0, TransactionTerminated())]
    reliable = ServerTransaction(req, reliable=True, now=0.0, auto_trying=False)
    reliable.respond(response(req, 486), 1.0)
    assert reliable.pending_timers() == {Input.TIMER_H: 33.0}
    assert reliable.receive(ack_of(req), 2.0) == [TransactionTerminated()]


def test_invite_server_accepted_lets_2xx_through_and_delivers_acks() -> None:
    req = request()
    tx = ServerTransaction(req, reliable=False, now=0.0, auto_trying=False)
    ok = response(req, 200)
    assert tx.respond(ok, 1.0) == [SendResponse(response=ok)]
    assert tx.pending_timers() == {Input.TIMER_L: 33.0}
    assert tx.respond(ok, 1.5) == [SendResponse(response=ok)]  # TU retransmits the 2xx
    assert tx.receive(req, 2.0) == []  # INVITE retransmission absorbed
    ack = ack_of(req)
    assert tx.receive(ack, 2.5) == [DeliverRequest(request=ack)]
    with pytest.raises(TransactionError):
        tx.respond(response(req, 486), 3.0)
    assert tx.transport_error(3.0) == [TransportError()] and tx.state is State.ACCEPTED
    assert run_until(tx, 40.0) == [(33.0, TransactionTerminated())]


def test_non_invite_server_timer_j_and_reliable_end() -> None:
    req = request("BYE")
    tx = ServerTransaction(req, reliable=False, now=0.0)
    assert tx.next_deadline() is None  # no auto 100 Trying for non-INVITE
    ok = response(req, 200)
    tx.respond(ok, 1.0)
    assert tx.receive(req, 2.0) == [SendResponse(response=ok, retransmission=True)]
    assert run_until(tx, 40.0) == [(33.0, TransactionTerminated())]
    reliable = ServerTransaction(req, reliable=True, now=0.0)
    assert reliable.respond(ok, 1.0) == [SendResponse(response=ok), TransactionTerminated()]
    with pytest.raises(TransactionError, match="not allowed"):
        reliable.respond(ok, 1.0)


def test_transport_error_terminates_and_is_reported() -> None:
    tx = ClientTransaction(request("OPTIONS"), reliable=True, now=0.0)
    tx.start()
    assert tx.transport_error(0.1) == [TransportError(), TransactionTerminated()]
    assert tx.next_deadline() is None


def test_keys_match_retransmissions_acks_and_cancels() -> None:
    invite = request()
    key = server_key(invite)
    assert key == TransactionKey(branch="z9hG4bKabc", sent_by="10.0.0.1:5060", method="INVITE")
    assert server_key(ack_of(invite)) == key
    cancel = Request.build(
        "CANCEL",
        invite.uri,
        from_=invite.headers.from_,
        to=invite.headers.to,
        call_id=invite.headers.call_id,
        cseq=5,
        via=invite.headers.via,
    )
    assert server_key(cancel) != key and cancel_target_key(cancel) == key
    assert server_key(request(branch="z9hG4bKother")) != key
    assert client_key(response(invite, 180)) == client_key(invite)
    assert client_key(response(invite, 180)) != client_key(response(cancel, 200))
    old = request(branch="1234")  # RFC 2543 peer: no magic cookie
    assert server_key(old).branch.startswith("2543|") and server_key(old) == server_key(old)
    with pytest.raises(TransactionError, match="does not belong"):
        ClientTransaction(invite, reliable=True, now=0).receive(response(cancel, 200), 1.0)
    with pytest.raises(TransactionError, match="does not belong"):
        ServerTransaction(invite, reliable=True, now=0).receive(cancel, 1.0)


def test_ack_for_failure_follows_17_1_1_3() -> None:
    invite = request()
    busy = response(invite, 486)
    ack = ack_for_failure(invite, busy)
    h = ack.headers
    assert ack.method == "ACK" and ack.uri == invite.uri
    assert h.get_all("Via") == invite.headers.get_all("Via")[:1]
    assert h.cseq.number == 5 and h.cseq.method == "ACK"
    assert h.to.tag == "t1" and h.from_ == invite.headers.from_
    assert h.call_id == invite.headers.call_id
    assert h.get_all("Route") == ["<sip:proxy.example.jp;lr>"]


def test_ack_and_invite_misuse_is_refused() -> None:
    with pytest.raises(TransactionError):
        ClientTransaction(ack_of(request()), reliable=True, now=0.0)
    with pytest.raises(TransactionError):
        ServerTransaction(ack_of(request()), reliable=True, now=0.0)
