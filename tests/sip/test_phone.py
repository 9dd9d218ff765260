"""Virtual phones on loopback, without a server: one phone's SIPサーバ resolves to the other.

Registration against a real registrar is in test_phone_peers.py (Kamailio).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.errors import InputError
from harness.pytest_plugin.phones import PhoneFactory
from harness.sip.app import Platform, RegistrationState
from harness.sip.endpoint import Endpoint, ServerTransaction
from harness.sip.message import Request, Response, new_call_id
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import CallState, Phone, TimelineEntry
from harness.sip.phone.agent import ALLOW
from harness.sip.resolver import Resolver
from harness.sip.runtime import Runtime
from harness.sip.transport import Address, Faults

DOMAIN = "01234abc.smart-pbx.jp"


def pair(
    factory: PhoneFactory, *, faults: Faults | None = None, transport: str = "UDP"
) -> tuple[Phone, Phone]:
    """Caller 20200 whose server is callee 20201 (a direct call, no proxy)."""
    callee = factory.phone(
        "20201",
        user_id="abcde20201",
        password="Password",
        sip_server="callee.invalid",
        faults=faults,
        transport=transport,  # type: ignore[arg-type]
    )
    factory.resolver = Resolver(entries={DOMAIN: callee.local})
    caller = factory.phone(
        "20200",
        user_id="abcde20200",
        password="Password",
        sip_server=DOMAIN,
        faults=faults,
        transport=transport,  # type: ignore[arg-type]
    )
    return caller, callee


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_call_is_answered_after_the_simulated_delay(
    phone_factory: PhoneFactory, transport: str
) -> None:
    caller, callee = pair(phone_factory, transport=transport)
    callee.answer_after(4)
    call = caller.call("20201")
    ring = callee.wait_for("ring")
    answer = callee.wait_for("answer")
    assert ring.caller_id == "abcde20200"
    # 4 simulated seconds of ringing, never less; the slack above covers scheduling delay on
    # a loaded machine (real milliseconds are hundreds of simulated ones at scale 0.01)
    assert 4.0 <= answer.t - ring.t < 40.0
    call.wait_for("ringback")
    call.wait_for("connected")
    assert call.state is CallState.CONNECTED
    call.hangup()
    hangup = callee.wait_for("hangup")
    assert hangup.detail == "remote"
    assert [e.kind.value for e in call.events()] == ["dial", "ringback", "connected", "hangup"]


def test_busy_phone_refuses_with_486_and_the_caller_hears_busy(
    phone_factory: PhoneFactory,
) -> None:
    caller, callee = pair(phone_factory)
    callee.set_busy()
    call = caller.call("20201")
    busy = call.wait_for("busy")
    assert busy.status == 486
    assert callee.wait_for("rejected").caller_id == "abcde20200"
    assert [e.kind.value for e in callee.timeline()] == ["rejected"]


def test_unanswered_call_cancelled_by_the_caller_stops_ringing(
    phone_factory: PhoneFactory,
) -> None:
    caller, callee = pair(phone_factory)
    callee.never_answer()
    call = caller.call("20201")
    callee.wait_for("ring")
    call.wait_for("ringback")
    call.hangup()  # CANCEL
    stop = callee.wait_for("stop")
    assert stop.status == 487
    release = call.wait_for("release")
    assert release.status == 487
    assert "answer" not in [e.kind.value for e in callee.timeline()]


def test_a_second_call_during_a_call_gets_busy(phone_factory: PhoneFactory) -> None:
    caller, callee = pair(phone_factory)
    callee.answer_after(0)
    first = caller.call("20201")
    first.wait_for("connected")
    second = caller.call("20201")
    assert second.wait_for("busy").status == 486
    first.hangup()


def test_callee_declines_a_ringing_call(phone_factory: PhoneFactory) -> None:
    caller, callee = pair(phone_factory)
    call = caller.call("20201")
    incoming = callee.incoming()
    incoming.hangup()
    assert call.wait_for("refused").status == 603
    assert callee.wait_for("stop").detail == "declined"


@pytest.mark.slow
def test_call_completes_under_20_percent_loss_both_ways(phone_factory: PhoneFactory) -> None:
    """Retransmissions (Timers A/E, G, the 2xx/ACK duties) recover lost datagrams."""
    faults = Faults.symmetric(loss=0.2, seed=20)
    caller, callee = pair(phone_factory, faults=faults)
    callee.answer_after(1)
    call = caller.call("20201")
    call.wait_for("connected", timeout=40)
    callee.wait_for("answer", timeout=40)
    call.hangup(timeout=40)
    callee.wait_for("hangup", timeout=40)
    assert faults.dropped_outbound + faults.dropped_inbound > 0  # loss really happened


@pytest.mark.parametrize(
    ("from_", "headers", "shown"),
    [
        ('"Anonymous" <sip:anonymous@anonymous.invalid>;tag=a', (), "非通知"),
        (
            "<sip:abcde20201@example.invalid>;tag=a",
            (("P-Asserted-Identity", "<sip:20201@example.invalid>"),),
            "20201",
        ),
        ("<sip:0312345678@example.invalid>;tag=a", (), "0312345678"),
    ],
    ids=["anonymous", "p-asserted-identity", "from"],
)
def test_caller_id_shown(
    phone_factory: PhoneFactory,
    sip_runtime: Runtime,
    from_: str,
    headers: tuple[tuple[str, str], ...],
    shown: str,
) -> None:
    callee = phone_factory.phone(
        "20201", user_id="abcde20201", password="Password", sip_server=DOMAIN
    )
    callee.set_busy()

    async def invite(to: Address) -> int:
        endpoint = await Endpoint.open()
        try:
            request = Request.build(
                "INVITE",
                f"sip:abcde20201@{to}",
                from_=from_,
                to=f"<sip:abcde20201@{DOMAIN}>",
                call_id=new_call_id(),
                cseq=1,
                via=endpoint.via(),
                contact=f"<sip:x@{endpoint.transport().local}>",
                headers=headers,
            )
            return (await endpoint.request(request, to)).status
        finally:
            await endpoint.close()

    assert sip_runtime.run(invite(callee.local)) == 486
    assert callee.wait_for("rejected").caller_id == shown


def test_unresolvable_server_shows_not_callable(phone_factory: PhoneFactory) -> None:
    phone = phone_factory.phone(
        "20200",
        user_id="abcde20200",
        password="Password",
        sip_server="99999zzz.smart-pbx.jp",
        platform=Platform.WINDOWS,
    )
    assert phone.register() == "通話不可"
    assert "no such host" in (phone.virtual.last_error or "")


@pytest.mark.parametrize("platform", list(Platform), ids=str)
def test_nothing_listening_shows_not_callable_at_once(
    phone_factory: PhoneFactory, sip_runtime: Runtime, platform: Platform
) -> None:
    """ICMP port unreachable ends the REGISTER with a 503 long before Timer F (32 s)."""

    async def closed_port() -> Address:
        endpoint = await Endpoint.open()
        address = endpoint.transport().local
        await endpoint.close()
        return address

    nowhere = sip_runtime.run(closed_port())
    phone_factory.resolver = Resolver(entries={DOMAIN: nowhere})
    phone = phone_factory.phone(
        "20200", user_id="abcde20200", password="Password", sip_server=DOMAIN, platform=platform
    )
    assert phone.register(timeout=5) == "通話不可"
    assert phone.virtual.last_register_status == 503


def test_registration_is_refreshed_before_the_granted_expiry(
    phone_factory: PhoneFactory, sip_runtime: Runtime
) -> None:
    """A registrar granting 2 s in the Contact's expires parameter (§10.2.4) sees the phone
    again about 1 s later, without the test asking."""
    seen: list[float] = []
    refreshed = threading.Event()

    def registrar(server: ServerTransaction) -> None:
        seen.append(time.monotonic())
        contact = server.request.headers.get("Contact") or ""
        bound = contact.split(";expires=")[0] + ";expires=2"
        server.respond(
            Response.for_request(server.request, 200, to_tag="reg", headers=(("Contact", bound),))
        )
        if len(seen) >= 2:
            refreshed.set()

    endpoint = sip_runtime.run(Endpoint.open(on_request=registrar))
    try:
        phone_factory.resolver = Resolver(entries={DOMAIN: endpoint.transport().local})
        phone = phone_factory.phone(
            "20200", user_id="abcde20200", password="Password", sip_server=DOMAIN
        )
        assert phone.register() == "通話可能"
        assert refreshed.wait(5)
        assert 0.9 <= seen[1] - seen[0] < 2.0  # half the granted 2 s, before expiry
        assert phone.status_text == "通話可能"
    finally:
        phone_factory.close()
        sip_runtime.run(endpoint.close())


def test_a_brief_expiry_is_asked_again_at_min_expires_and_silence_stops_the_refresh(
    phone_factory: PhoneFactory, sip_runtime: Runtime
) -> None:
    """423 Interval Too Brief with Min-Expires 2 (§10.2.8): the phone asks again for 2 s and
    is registered; ``go_silent`` then sends nothing more (no refresh, no Expires 0) and says
    how long the granted 2 s still run."""
    asked: list[str | None] = []

    def registrar(server: ServerTransaction) -> None:
        expires = server.request.headers.get("Expires")
        asked.append(expires)
        if expires is not None and int(expires) < 2:
            extra = (("Min-Expires", "2"),)
            server.respond(Response.for_request(server.request, 423, to_tag="reg", headers=extra))
            return
        contact = server.request.headers.get("Contact") or ""
        bound = contact.split(";expires=")[0] + ";expires=2"
        server.respond(
            Response.for_request(server.request, 200, to_tag="reg", headers=(("Contact", bound),))
        )

    endpoint = sip_runtime.run(Endpoint.open(on_request=registrar))
    try:
        phone_factory.resolver = Resolver(entries={DOMAIN: endpoint.transport().local})
        phone = phone_factory.phone(
            "20200", user_id="abcde20200", password="Password", sip_server=DOMAIN
        )
        assert phone.register(expires=1) == "通話可能"
        assert asked == ["1", "2"]
        assert [a.status for a in phone.register_answers] == [423, 200]
        left = phone.go_silent()
        assert left is not None and 1.0 < left <= 2.0
        assert phone.registration_state is RegistrationState.UNREGISTERED
        time.sleep(left + 0.5)  # past the granted expiry: a refresh would have come by now
        assert asked == ["1", "2"]
        assert phone.go_silent() is None  # no longer registered
    finally:
        phone_factory.close()
        sip_runtime.run(endpoint.close())


def test_register_answers_keep_the_challenge_shape_not_the_nonce(
    phone_factory: PhoneFactory, sip_runtime: Runtime
) -> None:
    """Two challenges differing only in nonce and opaque value have the same shape; one
    round of answers is all ``auth_rounds=1`` sends."""
    nonces = iter(range(100))

    def registrar(server: ServerTransaction) -> None:
        n = next(nonces)
        challenge = (
            f'Digest realm="{DOMAIN}", nonce="n{n}", opaque="o{n}", algorithm=MD5, qop="auth"'
        )
        extra = (("WWW-Authenticate", challenge),)
        server.respond(Response.for_request(server.request, 401, to_tag="reg", headers=extra))

    endpoint = sip_runtime.run(Endpoint.open(on_request=registrar))
    try:
        phone_factory.resolver = Resolver(entries={DOMAIN: endpoint.transport().local})
        phone = phone_factory.phone(
            "20200", user_id="abcde20200", password="Password", sip_server=DOMAIN
        )
        phone.register(auth_rounds=1)
        first, second = phone.register_answers
        assert first == second
        assert first.status == 401
        assert first.challenges == (
            f"Digest realm={DOMAIN} algorithm=MD5 qop=auth stale=false opaque",
        )
        assert "www-authenticate" in first.headers
    finally:
        phone_factory.close()
        sip_runtime.run(endpoint.close())


def test_successive_waits_return_successive_events(phone_factory: PhoneFactory) -> None:
    caller, callee = pair(phone_factory)
    callee.set_busy()
    first = caller.call("20201")
    first.wait_for("busy")
    second = caller.call("20201")
    second.wait_for("busy")
    assert callee.wait_for("rejected").call_id == first.call_id
    assert callee.wait_for("rejected").call_id == second.call_id
    with pytest.raises(TimeoutError, match="no 'rejected' event within 0.05 s"):
        callee.wait_for("rejected", timeout=0.05)
    assert callee.wait_for("rejected", since=0).call_id == first.call_id


@pytest.mark.parametrize(
    ("status", "android", "iphone"),
    [
        (200, "通話可能", "3G/LTEで通話可能"),
        (403, "認証に失敗しました", "通話不可"),
        (404, "認証に失敗しました", "通話不可"),
        (408, "通話不可", "通話不可"),
        (500, "通話不可", "通話不可"),
        (503, "通話不可", "通話不可"),
    ],
)
def test_registrar_answers_map_to_the_status_texts(
    phone_factory: PhoneFactory, sip_runtime: Runtime, status: int, android: str, iphone: str
) -> None:
    def registrar(server: ServerTransaction) -> None:
        server.reply(status, to_tag="reg")

    endpoint = sip_runtime.run(Endpoint.open(on_request=registrar))
    try:
        phone_factory.resolver = Resolver(entries={DOMAIN: endpoint.transport().local})
        shown = {
            platform: phone_factory.phone(
                f"p-{platform}",
                user_id="abcde20200",
                password="Password",
                sip_server=DOMAIN,
                platform=platform,
            ).register()
            for platform in (Platform.ANDROID, Platform.IPHONE)
        }
        assert shown == {Platform.ANDROID: android, Platform.IPHONE: iphone}
    finally:
        phone_factory.close()
        sip_runtime.run(endpoint.close())


def test_caller_gives_up_after_simulated_seconds(phone_factory: PhoneFactory) -> None:
    caller, callee = pair(phone_factory)
    callee.never_answer()
    call = caller.call("20201", give_up_after=5)
    dial = call.wait_for("dial")
    callee.wait_for("ring")
    stop = callee.wait_for("stop")
    # both phones share the clock: the CANCEL arrives 5 simulated seconds after dialling at
    # the earliest (the slack covers a loaded machine)
    assert 5.0 <= stop.t - dial.t < 40.0
    assert call.wait_for("release").status == 487


@pytest.mark.parametrize("number", ["", "090 1111", "20201@evil"])
def test_undiallable_numbers_are_refused_with_the_rule(
    phone_factory: PhoneFactory, number: str
) -> None:
    caller, _ = pair(phone_factory)
    with pytest.raises(InputError, match="発信先番号: digits"):
        caller.call(number)
    assert caller.timeline() == []


def test_mark_separates_scenarios(phone_factory: PhoneFactory) -> None:
    caller, callee = pair(phone_factory)
    callee.set_busy()
    caller.call("20201").wait_for("busy")
    mark = callee.mark()
    callee.set_busy(False)
    callee.answer_after(0)
    second = caller.call("20201")
    second.wait_for("connected")
    assert callee.wait_for("answer", since=mark).call_id == second.call_id
    assert [e.kind.value for e in callee.timeline(since=mark)][:2] == ["ring", "answer"]
    assert [e.kind.value for e in callee.timeline()][0] == "rejected"
    second.hangup()


def test_the_facade_serves_several_threads_at_once(phone_factory: PhoneFactory) -> None:
    caller, callee = pair(phone_factory)
    callee.set_busy()

    def one_call(_: int) -> tuple[str, int | None]:
        call = caller.call("20201")
        call.wait_for("busy")
        return call.call_id, call.final_status

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one_call, range(8)))
    assert len({call_id for call_id, _ in results}) == 8
    assert {status for _, status in results} == {486}
    rejected = [e for e in callee.timeline() if e.kind.value == "rejected"]
    assert len(rejected) == 8


def test_the_agent_finds_an_event_with_its_timeline_index(phone_factory: PhoneFactory) -> None:
    # VirtualPhone.wait_for answers a TimelineEntry (STYLE.md §3), not an (index, event) tuple.
    caller, callee = pair(phone_factory)
    callee.answer_after(0)
    caller.call("20201").wait_for("connected")

    found = caller.runtime.run(caller.virtual.wait_for(PhoneEventKind.CONNECTED), timeout=5)

    assert isinstance(found, TimelineEntry)
    assert found.event.kind is PhoneEventKind.CONNECTED
    assert caller.timeline()[found.index] == found.event
    assert caller.timeline()[found.index - 1].kind is PhoneEventKind.RINGBACK


@pytest.mark.parametrize(
    ("method", "status", "allow"),
    [("INFO", 481, None), ("UPDATE", 481, None), ("MESSAGE", 405, ALLOW), ("OPTIONS", 200, None)],
)
def test_requests_outside_a_dialog_get_the_rfc_answer(
    phone_factory: PhoneFactory, sip_runtime: Runtime, method: str, status: int, allow: str | None
) -> None:
    """INFO and UPDATE exist only inside a dialog (481 outside one: RFC 6086 §4.2.2, RFC 3311
    §5.2); a method the phone does not do gets 405 with the Allow header §8.2.1 requires."""
    phone = phone_factory.phone(
        "20201", user_id="abcde20201", password="Password", sip_server=DOMAIN
    )

    async def send(to: Address) -> Response:
        endpoint = await Endpoint.open()
        try:
            request = Request.build(
                method,
                f"sip:abcde20201@{to}",
                from_=f"<sip:20200@{DOMAIN}>;tag=out",
                to=f"<sip:abcde20201@{DOMAIN}>",
                call_id=new_call_id(),
                cseq=1,
                via=endpoint.via(),
                contact=f"<sip:x@{endpoint.transport().local}>",
            )
            return await endpoint.request(request, to)
        finally:
            await endpoint.close()

    response = sip_runtime.run(send(phone.local))
    assert response.status == status
    listed = response.headers.get_all("Allow")
    assert (", ".join(listed) if listed else None) == allow


def test_start_register_shows_the_registering_state_until_the_server_answers(
    phone_factory: PhoneFactory, sip_runtime: Runtime
) -> None:
    """P.3 ⑨: the app is observable WHILE it registers; the answer is held back by the test."""
    held: list[ServerTransaction] = []
    arrived = threading.Event()

    def registrar(server: ServerTransaction) -> None:
        held.append(server)
        arrived.set()

    endpoint = sip_runtime.run(Endpoint.open(on_request=registrar))
    try:
        phone_factory.resolver = Resolver(entries={DOMAIN: endpoint.transport().local})
        phone = phone_factory.phone(
            "20200", user_id="abcde20200", password="Password", sip_server=DOMAIN
        )
        assert phone.settled
        assert phone.start_register() == "通話不可"
        assert arrived.wait(5)
        assert phone.registration_state is RegistrationState.REGISTERING
        assert not phone.settled
        with pytest.raises(TimeoutError):
            phone.wait_settled(timeout=0.05)

        async def accept() -> None:
            server = held[0]
            contact = server.request.headers.get("Contact") or ""
            server.respond(
                Response.for_request(
                    server.request, 200, to_tag="reg", headers=(("Contact", contact),)
                )
            )

        sip_runtime.run(accept())
        assert phone.wait_settled(timeout=5) == "通話可能"
        assert phone.settled
        assert phone.wait_settled(timeout=5) == "通話可能"  # settled: returns at once
    finally:
        phone_factory.close()
        sip_runtime.run(endpoint.close())


def test_start_register_to_a_refusing_server_settles_on_the_failure_text(
    phone_factory: PhoneFactory, sip_runtime: Runtime
) -> None:
    def registrar(server: ServerTransaction) -> None:
        server.reply(403, to_tag="reg")

    endpoint = sip_runtime.run(Endpoint.open(on_request=registrar))
    try:
        phone_factory.resolver = Resolver(entries={DOMAIN: endpoint.transport().local})
        phone = phone_factory.phone(
            "20200", user_id="abcde20200", password="Password", sip_server=DOMAIN
        )
        assert phone.start_register() == "通話不可"
        assert phone.wait_settled(timeout=5) == "認証に失敗しました"
        # a second attempt starts from the failure, shows 通話不可 again while in flight
        assert phone.start_register() == "通話不可"
        assert phone.wait_settled(timeout=5) == "認証に失敗しました"
    finally:
        phone_factory.close()
        sip_runtime.run(endpoint.close())
