"""DOMAIN.md's worked timelines observed by phones over real SIP through the simulator's PBX.

The service runs on a ManualClock that the test advances second by second, letting the SIP
side settle (nothing in flight) between steps: the times the phones observe are then exact
simulated seconds, so the comparison needs no tolerance and cannot flake on a busy machine.
(The scaled-clock path is covered by test_sip_glue.py.)"""

from __future__ import annotations

from harness.clock import ManualClock
from harness.sim.pbx.carrier import Carrier
from harness.sip.endpoint import ClientTransaction, Endpoint
from tests.sim.pbx.fakes import WORKED_REACH
from tests.sim.pbx.sip_phones import (
    Lab,
    Phone,
    Recorder,
    close_all,
    phones,
    pstn_phones,
    run,
    with_pbx,
)


def assert_timeline(recorder: Recorder, expected: list[str]) -> None:
    """``expected`` entries read "<t> <who> <what>", as in DOMAIN.md; times are exact."""
    want = {" ".join(e.split()[1:]): float(e.split()[0]) for e in expected}
    assert recorder.times() == want, f"observed {recorder.entries}"


SEQUENTIAL = {
    "着信グループ": [
        {"種別": "順次着信", "代表番号": "20209", "メンバー": ["20200", "20201", "20202"]}
    ]
}
FORWARD = {
    "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345678"}],
    "不在時動作設定": {
        "20201": {
            "種別": "転送/留守番電話",
            "転送先電話番号": "090-1111-2222",
            "転送動作": {"無応答": "転送"},
            "呼出時間": 15,
        }
    },
}
REACH = {
    "外線発信設定": [{"内線番号": "20202", "発信者番号": "0312345678"}],
    "不在時動作設定": {"20202": WORKED_REACH},
}


async def place_call(caller: Phone, recorder: Recorder, dialled: str) -> ClientTransaction:
    recorder.start()
    client = await caller.call(dialled)
    client.final.add_done_callback(lambda f: recorder.note(f"caller {f.result().status}"))
    return client


def test_sequential_nobody_answers() -> None:
    async def body(lab: Lab) -> None:
        recorder = Recorder(lab.clock)
        caller, *members = await phones(
            lab, ("205", "ring"), ("200", "ring"), ("201", "ring"), ("202", "ring")
        )
        for phone in members:
            phone.recorder = recorder
        try:
            await place_call(caller, recorder, "20209")
            await lab.advance_to(70, recorder)
            assert_timeline(
                recorder,
                [
                    "0 20200 ring",
                    "20 20200 cancel",
                    "20 20201 ring",
                    "40 20201 cancel",
                    "40 20202 ring",
                    "60 20202 cancel",
                    "60 caller 480",
                ],
            )
        finally:
            await close_all(caller, *members)

    run(with_pbx(SEQUENTIAL, body, clock=ManualClock()))


def test_no_answer_forward_to_external_answering_after_4s() -> None:
    async def body(lab: Lab) -> None:
        recorder = Recorder(lab.clock)
        caller, x = await phones(lab, ("205", "ring"), ("201", "ring"))
        x.recorder = recorder
        (mobile,) = await pstn_phones(lab, ("09011112222", "answer", 4), recorder=recorder)
        try:
            client = await place_call(caller, recorder, "20201")
            await lab.advance_to(30, recorder)
            assert_timeline(
                recorder,
                [
                    "0 20201 ring",
                    "15 20201 cancel",
                    "15 09011112222 ring",
                    "19 09011112222 answer",
                    "19 caller 200",
                ],
            )
            # Rule 7: the forwarded leg to an external number shows X's 外線発信 number.
            (invite,) = mobile.incoming
            (pai,) = invite.request.headers.p_asserted_identities
            assert pai.uri.user == "0312345678"  # type: ignore[union-attr]
            assert client.final.result().body == b"v=0\r\no=09011112222-answer\r\n"
        finally:
            await close_all(caller, x, mobile)

    run(with_pbx(FORWARD, body, clock=ManualClock()))


def test_single_number_reach_nobody_answers_voicemail() -> None:
    async def body(lab: Lab) -> None:
        recorder = Recorder(lab.clock)
        caller, x = await phones(lab, ("205", "ring"), ("202", "ring"))
        x.recorder = recorder
        externals = await pstn_phones(
            lab, ("09011112222", "ring", 0), ("0311112222", "ring", 0), recorder=recorder
        )
        try:
            client = await place_call(caller, recorder, "20202")
            await lab.advance_to(30, recorder)
            assert_timeline(
                recorder,
                [
                    "0 20202 ring",
                    "5 09011112222 ring",
                    "10 0311112222 ring",
                    "30 20202 cancel",
                    "30 09011112222 cancel",
                    "30 0311112222 cancel",
                    "30 caller 200",
                ],
            )
            response = client.final.result()
            caller.ack(client, response)
            await lab.advance_to(42, recorder)
            assert (await caller.hang_up(client, response)).status == 200
            (message,) = lab.service.pbx.voicemail.messages("20202")
            assert (message.caller, message.caller_id) == ("20205", "20205")
            assert (message.started_at, message.duration) == (30, 12)
        finally:
            await close_all(caller, x, *externals)

    run(with_pbx(REACH, body, clock=ManualClock()))


def test_inbound_external_call_routes_by_inbound_route() -> None:
    """A call from outside arrives on the carrier side, from a registered subscriber."""
    settings = {"外線着信設定": [{"外線番号": "0312345678", "着信先": "20201"}]}

    async def body(lab: Lab) -> None:
        (x,) = await phones(lab, ("201", "answer"))
        carrier = Carrier(endpoint=await Endpoint.open(taps=[lab.wire]), pbx=lab.service)
        outside = await Phone.open(lab, "0355556666")
        outside.server = carrier.address
        try:
            assert (await outside.register()).status == 200  # no digest: the line is trusted
            response = await outside.dial("0312345678", authenticate=False)
            assert response.status == 200
            (invite,) = x.incoming
            assert invite.request.headers.from_.uri.user == "0355556666"  # type: ignore[union-attr]
        finally:
            await close_all(x, outside)
            await carrier.endpoint.close()

    run(with_pbx(settings, body))


def test_the_tenant_port_takes_no_call_from_outside() -> None:
    """Issue 10 item 1: an unauthenticated INVITE on the tenant's port to one of its 外線番号,
    from no terminal, is challenged like any other (407) — no ring, no call — where it once
    rang the extension with the caller ID the sender wrote (and reached its 転送先)."""
    settings = {"外線着信設定": [{"外線番号": "0312345678", "着信先": "20201"}]}

    async def body(lab: Lab) -> None:
        (x,) = await phones(lab, ("201", "answer"))
        outside = await Phone.open(lab, "20205")  # it writes an internal number as caller ID
        try:
            provisional: list[int] = []  # what came before the final answer (100 is the endpoint's)
            for dialled in ("0312345678", "0399999999", "20201"):
                client = await outside.call(dialled, authenticate=False)
                client.on_provisional = lambda r: provisional.append(r.status)
                final = await client.wait_final()
                assert final.status == 407, dialled
                assert final.headers.get_all("Proxy-Authenticate"), dialled
            assert [status for status in provisional if status > 100] == []
            await lab.wire.settled()
            assert (x.incoming, lab.service.pbx.calls, lab.service.sessions) == ([], {}, {})
        finally:
            await close_all(x, outside)

    run(with_pbx(settings, body))


def test_pickup_bridges_the_picker_with_the_ringing_call() -> None:
    settings = {"着信グループ": [{"種別": "コールピックアップ", "メンバー": ["20201", "20202"]}]}

    async def body(lab: Lab) -> None:
        recorder = Recorder(lab.clock)
        caller, ringing, picker = await phones(
            lab, ("205", "ring"), ("201", "ring"), ("202", "ring"), recorder=recorder
        )
        caller.recorder = picker.recorder = None
        try:
            client = await place_call(caller, recorder, "20201")
            await lab.advance_to(3, recorder)
            pickup = await picker.call("*8")
            answered = await pickup.wait_final()
            await lab.wire.settled()
            assert_timeline(recorder, ["0 20201 ring", "3 20201 cancel", "3 caller 200"])
            assert answered.status == 200
            # Each side gets the other's offer: the two callers are joined.
            assert answered.body == client.request.body
            assert client.final.result().body == pickup.request.body
            picker.ack(pickup, answered)
            caller.ack(client, client.final.result())
            assert (await caller.hang_up(client, client.final.result())).status == 200
            await lab.wire.settled()
            assert "bye" in picker.log
            assert lab.service.pbx.calls == {}
        finally:
            await close_all(caller, ringing, picker)

    run(with_pbx(settings, body, clock=ManualClock()))


def test_simultaneous_group_first_answer_wins_others_cancelled() -> None:
    settings = {
        "着信グループ": [
            {"種別": "一斉着信", "代表番号": "20209", "メンバー": ["20201", "20202", "20203"]}
        ]
    }

    async def body(lab: Lab) -> None:
        recorder = Recorder(lab.clock)
        caller, first, second, third = await phones(
            lab, ("205", "ring"), ("201", "ring"), ("202", "answer"), ("203", "busy")
        )
        second.answer_after = 3
        for phone in (first, second, third):
            phone.recorder = recorder
        try:
            await place_call(caller, recorder, "20209")
            await lab.advance_to(25, recorder)
            assert_timeline(
                recorder,
                [
                    "0 20201 ring",
                    "0 20202 ring",
                    "0 20203 ring",  # answers 486 at once: that leg just fails
                    "3 20202 answer",
                    "3 20201 cancel",
                    "3 caller 200",
                ],
            )
        finally:
            await close_all(caller, first, second, third)

    run(with_pbx(settings, body, clock=ManualClock()))
