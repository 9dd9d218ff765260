"""The PBX over real SIP on loopback: REGISTER with digest, calls through the B2BUA with
CANCEL of losing legs, 486, 480, caller CANCEL, BYE relay, caller ID in From / PAI."""

from __future__ import annotations

import asyncio

from harness.sip.message import Request
from tests.sim.pbx.sip_phones import (
    DOMAIN,
    SCALE,
    Lab,
    Phone,
    close_all,
    phones,
    run,
    until,
    with_pbx,
)


def test_register_over_sip_and_no_enumeration() -> None:
    async def body(lab: Lab) -> None:
        service = lab.service
        phone = await Phone.open(lab, "abcde20200")
        stranger = await Phone.open(lab, "zzzzz99999")
        try:
            ok = await phone.register()
            assert ok.status == 200
            (contact,) = ok.headers.contacts
            assert contact.uri == phone.uri and contact.params.get("expires") == "600"
            wrong = await phone.register(password="WrongPass1")
            unknown = await stranger.register()
            assert wrong.status == unknown.status == 401
            assert wrong.headers.names() == unknown.headers.names()
            assert service.registrar.is_registered("abcde20200", service.now())
            gone = await phone.register(expires=0)
            assert (gone.status, gone.headers.contacts) == (200, ())
            assert not service.registrar.is_registered("abcde20200", service.now())
        finally:
            await close_all(phone, stranger)

    run(with_pbx(None, body))


def test_call_connects_relays_caller_id_and_bye() -> None:
    async def body(lab: Lab) -> None:
        caller, callee = await phones(lab, ("205", "ring"), ("201", "answer"))
        try:
            client = await caller.call("201")  # bare 端末番号 within 拠点 20
            response = await client.wait_final()
            assert response.status == 200
            assert response.body == b"v=0\r\no=abcde20201-answer\r\n"
            caller.ack(client, response)
            (invite,) = callee.incoming
            assert invite.request.headers.from_.uri.user == "20205"  # type: ignore[union-attr]
            (pai,) = invite.request.headers.p_asserted_identities
            assert str(pai.uri) == f"sip:20205@{DOMAIN}"
            assert (await caller.hang_up(client, response)).status == 200
            await until(lambda: "bye" in callee.log, "BYE relayed to the callee")
        finally:
            await close_all(caller, callee)

    run(with_pbx(None, body))


def test_no_answer_forwarding_cancels_the_first_leg() -> None:
    settings = {
        "不在時動作設定": {
            "20201": {
                "種別": "転送/留守番電話",
                "転送先電話番号": "20202",
                "転送動作": {"無応答": "転送"},
                "呼出時間": 5,
            }
        }
    }

    async def body(lab: Lab) -> None:
        caller, first, second = await phones(
            lab, ("205", "ring"), ("201", "ring"), ("202", "answer")
        )
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            response = await caller.dial("20201")
            elapsed = (loop.time() - started) / SCALE
            assert response.status == 200
            assert response.body == b"v=0\r\no=abcde20202-answer\r\n"
            assert 5 <= elapsed < 5 + 300  # forwarded at 呼出時間 5 (simulated s), not before
            await until(lambda: "cancel" in first.log, "CANCEL of the first leg")
            (forwarded,) = second.incoming
            assert forwarded.request.headers.from_.uri.user == "20205"  # type: ignore[union-attr]
        finally:
            await close_all(caller, first, second)

    run(with_pbx(settings, body))


def test_busy_and_unregistered_callees() -> None:
    async def body(lab: Lab) -> None:
        caller, busy = await phones(lab, ("205", "ring"), ("201", "busy"))
        try:
            assert (await caller.dial("20201")).status == 486
            assert (await caller.dial("20203")).status == 480
            assert (await caller.dial("99999")).status == 404
        finally:
            await close_all(caller, busy)

    run(with_pbx(None, body))


def test_caller_cancel_cancels_the_leg() -> None:
    async def body(lab: Lab) -> None:
        service = lab.service
        caller, callee = await phones(lab, ("205", "ring"), ("201", "ring"))
        try:
            client = await caller.call("20201")
            await until(lambda: bool(callee.incoming), "the callee rings")
            cancel = Request.build(
                "CANCEL",
                client.request.uri,
                from_=client.request.headers.from_,
                to=client.request.headers.to,
                call_id=client.request.headers.call_id,
                cseq=client.request.headers.cseq.number,
                via=client.request.headers.via,
            )
            assert (await caller.endpoint.request(cancel, service.address)).status == 200
            assert (await client.wait_final()).status == 487
            await until(lambda: "cancel" in callee.log, "CANCEL relayed to the callee")
            assert service.pbx.calls == {}
        finally:
            await close_all(caller, callee)

    run(with_pbx(None, body))


def test_invite_needs_digest_and_strangers_get_the_same_challenge() -> None:
    async def body(lab: Lab) -> None:
        member = await Phone.open(lab, "abcde20205")  # a real terminal, not registered
        stranger = await Phone.open(lab, "zzzzz99999")
        callee = await Phone.open(lab, "abcde20201")
        try:
            assert (await callee.register()).status == 200
            wrong = await member.dial("20201", password="WrongPass1")
            unknown = await stranger.dial("20201")
            assert wrong.status == unknown.status == 407
            assert wrong.headers.names() == unknown.headers.names()
            assert callee.incoming == []
            client = await member.call("20201")  # the right password: the call goes through
            await until(lambda: bool(callee.incoming), "the callee rings")
            assert client.request.headers.get("Proxy-Authorization") is not None
        finally:
            await close_all(member, stranger, callee)

    run(with_pbx(None, body))


def test_a_caller_that_never_acks_the_2xx_is_hung_up_and_the_callee_freed() -> None:
    """RFC 3261 §13.3.1.4: no ACK within 64*T1 (shortened here) → BYE on both sides, so the
    answering extension is not left busy (SIPp aborting calls under load leaked members)."""

    async def body(lab: Lab) -> None:
        lab.service.ack_timeout = 0.3
        caller, callee = await phones(lab, ("205", "ring"), ("201", "answer"))
        try:
            client = await caller.call("20201")
            assert (await client.wait_final()).status == 200  # and never ACKed
            await until(lambda: "bye" in callee.log, "BYE to the answered leg")
            await until(lambda: "bye" in caller.log, "BYE to the silent caller")
            await until(lambda: not lab.service.pbx.calls, "the call ended in the PBX")
            assert (await caller.dial("20201")).status == 200  # 20201 is not busy any more
        finally:
            await close_all(caller, callee)

    run(with_pbx({}, body))
