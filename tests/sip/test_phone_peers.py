"""Virtual phones against real peers nobody here wrote (issue 3 part 6): Kamailio as registrar
and proxy, SIPp and baresip as caller and callee. Each peer runs on loopback free ports, started and
reaped by the test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest

from harness.guide.types import Guide
from harness.pytest_plugin.phones import PhoneFactory
from harness.sip.app import ConnectionMode, FlexibleInterConnect, Network, Platform
from harness.sip.endpoint import Endpoint
from harness.sip.message import parse_message
from harness.sip.peers.baresip import (
    CALL_CLOSED,
    CALL_ESTABLISHED,
    CALL_INCOMING,
    CALL_RINGING,
    Baresip,
)
from harness.sip.peers.kamailio import Kamailio
from harness.sip.phone import CallState, Phone
from harness.sip.resolver import Resolver
from harness.sip.runtime import Runtime
from harness.sip.sipp import Sipp, SippUser
from harness.sip.transport import Address, Faults, TapRecord

pytestmark = pytest.mark.peers

DOMAIN = "01234abc.smart-pbx.jp"
UNO = "192.0.2.10"
USERS = {"abcde20200": "Password", "abcde20201": "Password", "abcde20209": "Password9"}
KamailioFactory = Callable[..., Kamailio]
SippFactory = Callable[..., Sipp]
BaresipFactory = Callable[..., Baresip]


@pytest.fixture
def server(kamailio: KamailioFactory, phone_factory: PhoneFactory) -> Kamailio:
    """Kamailio for the manual's domain; phones resolve the domain (and UNO) to it."""
    started = kamailio(sip_domain=DOMAIN, users=USERS)
    address = Address(host=started.host, port=started.port)
    phone_factory.resolver = Resolver(entries={DOMAIN: address, UNO: address})
    return started


def make(
    factory: PhoneFactory,
    user: str,
    *,
    password: str = "Password",
    platform: Platform = Platform.ANDROID,
    **options: object,
) -> Phone:
    return factory.phone(
        user.removeprefix("abcde"),
        user_id=user,
        password=password,
        sip_server=DOMAIN,
        platform=platform,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("platform", "network", "text"),
    [
        pytest.param(
            Platform.ANDROID,
            Network.cellular(),
            "通話可能",
            id="Android",
            marks=pytest.mark.manual_step("P3-S2-10"),
        ),
        pytest.param(
            Platform.IPHONE,
            Network.cellular(),
            "3G/LTEで通話可能",
            id="iPhone-LTE",
            marks=pytest.mark.manual_step("P4-S3-8"),
        ),
        pytest.param(
            Platform.IPHONE,
            Network.wifi("office"),
            "Wi-Fiで通話可能",
            id="iPhone-WiFi",
            marks=pytest.mark.manual_step("P4-S3-8"),
        ),
        pytest.param(
            Platform.WINDOWS,
            Network.wired(),
            "通話可能",
            id="Windows",
            marks=pytest.mark.manual_step("P5-S3-12"),
        ),
    ],
)
def test_correct_password_registers_and_shows_callable(
    phone_factory: PhoneFactory, server: Kamailio, platform: Platform, network: Network, text: str
) -> None:
    phone = make(phone_factory, "abcde20200", platform=platform, network=network)
    assert phone.register() == text
    assert phone.virtual.last_register_status == 200
    assert phone.unregister() == "通話不可"


@pytest.mark.parametrize(
    ("platform", "text"),
    [
        pytest.param(
            Platform.ANDROID,
            "認証に失敗しました",
            id="Android",
            marks=pytest.mark.manual_step("P3-ERR"),
        ),
        pytest.param(
            Platform.IPHONE, "通話不可", id="iPhone", marks=pytest.mark.manual_step("P4-ERR")
        ),
        pytest.param(
            Platform.WINDOWS,
            "認証に失敗しました",
            id="Windows",
            marks=pytest.mark.manual_step("P5-ERR"),
        ),
    ],
)
def test_wrong_password_shows_authentication_failed(
    phone_factory: PhoneFactory, server: Kamailio, platform: Platform, text: str
) -> None:
    phone = make(phone_factory, "abcde20200", password="wrong", platform=platform)
    assert phone.register() == text
    assert phone.virtual.last_register_status == 401


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_wrong_port_shows_not_callable(
    phone_factory: PhoneFactory, server: Kamailio, sip_runtime: Runtime, transport: str
) -> None:
    async def closed_port() -> Address:
        endpoint = await Endpoint.open(udp=transport == "UDP", tcp=transport == "TCP")
        address = endpoint.transport(transport).local  # type: ignore[arg-type]
        await endpoint.close()
        return address

    nowhere = sip_runtime.run(closed_port())
    phone_factory.resolver = Resolver(entries={DOMAIN: nowhere})
    phone = make(phone_factory, "abcde20200", platform=Platform.WINDOWS, transport=transport)
    assert phone.register(timeout=5) == "通話不可"


def test_sha256_digest_registers(kamailio: KamailioFactory, phone_factory: PhoneFactory) -> None:
    started = kamailio(sip_domain=DOMAIN, users=USERS, algorithm="SHA-256")
    phone_factory.resolver = Resolver(
        entries={DOMAIN: Address(host=started.host, port=started.port)}
    )
    assert make(phone_factory, "abcde20200").register() == "通話可能"


@pytest.mark.parametrize(
    ("platform", "text"),
    [
        pytest.param(
            Platform.ANDROID,
            "通話可能",
            id="Android",
            marks=pytest.mark.manual_step("P7-android-S1", "P7-android-S2"),
        ),
        pytest.param(
            Platform.IPHONE,
            "Wi-Fiで通話可能",
            id="iPhone",
            marks=pytest.mark.manual_step("P7-iphone-S1", "P7-iphone-S2"),
        ),
    ],
)
def test_flexible_interconnect_registers_through_the_uno_address_on_a_registered_wifi(
    phone_factory: PhoneFactory, server: Kamailio, platform: Platform, text: str
) -> None:
    # The internet address leads nowhere; only the UNO route reaches the server.
    phone_factory.resolver = Resolver(entries={UNO: Address(host=server.host, port=server.port)})
    fic = FlexibleInterConnect(uno_server=UNO, wifi_names=("office",))
    phone = make(
        phone_factory,
        "abcde20200",
        platform=platform,
        flexible_interconnect=fic,
        network=Network.wifi("office"),
    )
    assert phone.register() == text
    # The same app on an unregistered Wi-Fi goes through the internet address: unreachable.
    phone.reconfigure(replace(phone.profile, network=Network.wifi("cafe")))
    assert phone.register() == "通話不可"


@pytest.mark.manual_step("P7-windows-S1")
def test_windows_flexible_interconnect_mode_uses_the_uno_address(
    phone_factory: PhoneFactory, server: Kamailio
) -> None:
    phone_factory.resolver = Resolver(entries={UNO: Address(host=server.host, port=server.port)})
    fic = FlexibleInterConnect(uno_server=UNO, connection_mode=ConnectionMode.FLEXIBLE_INTERCONNECT)
    phone = make(phone_factory, "abcde20200", platform=Platform.WINDOWS, flexible_interconnect=fic)
    assert phone.register() == "通話可能"
    normal = replace(fic, connection_mode=ConnectionMode.NORMAL)
    phone.reconfigure(replace(phone.profile, flexible_interconnect=normal))
    assert phone.register() == "通話不可"


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_phone_to_phone_call_through_kamailio_shows_the_caller(
    phone_factory: PhoneFactory, server: Kamailio, transport: str
) -> None:
    caller = make(phone_factory, "abcde20200", transport=transport)
    callee = make(phone_factory, "abcde20201", platform=Platform.IPHONE, transport=transport)
    assert caller.register() == "通話可能"
    assert callee.register() == "3G/LTEで通話可能"
    callee.answer_after(2)
    call = caller.call("abcde20201")  # answers Kamailio's 407 with proxy credentials
    ring = callee.wait_for("ring")
    assert ring.caller_id == "abcde20200"
    call.wait_for("connected")
    callee.wait_for("answer")
    call.hangup()  # BYE along the Record-Route through Kamailio
    callee.wait_for("hangup")
    assert call.final_status == 200


def test_call_to_an_unregistered_user_is_refused(
    phone_factory: PhoneFactory, server: Kamailio
) -> None:
    caller = make(phone_factory, "abcde20200")
    caller.register()
    assert caller.call("abcde20201").wait_for("refused").status == 404


def test_sipp_uac_calls_a_virtual_phone(
    phone_factory: PhoneFactory, server: Kamailio, sipp: SippFactory
) -> None:
    callee = make(phone_factory, "abcde20201", platform=Platform.WINDOWS)
    assert callee.register() == "通話可能"
    callee.answer_after(0)
    result = sipp(
        "uac", remote=(server.host, server.port), domain=DOMAIN, service="abcde20201", calls=1
    ).run()
    assert result.ok and result.successful_calls == 1, result.summary()
    assert callee.wait_for("ring").call_id == callee.wait_for("answer").call_id
    assert callee.wait_for("hangup").detail == "remote"


def test_virtual_phone_calls_a_sipp_uas(
    phone_factory: PhoneFactory, server: Kamailio, sipp: SippFactory
) -> None:
    with sipp("uas") as uas:
        registered = sipp(
            "register",
            remote=(server.host, server.port),
            domain=DOMAIN,
            users=[SippUser(user="abcde20209", password="Password9")],
            calls=1,
            contact=f"{uas.host}:{uas.port}",
        ).run()
        assert registered.ok, registered.summary()
        caller = make(phone_factory, "abcde20200")
        caller.register()
        call = caller.call("abcde20209")
        call.wait_for("ringback")
        call.wait_for("connected")
        call.hangup()  # the UAS scenario waits for our BYE
        call.wait_ended()
    served = uas.stop()
    assert served is not None and served.successful_calls == 1, served.summary()


def baresip_phone(baresip: BaresipFactory, server: Kamailio, user: str) -> Baresip:
    started = baresip(
        user=user, password=USERS[user], domain=DOMAIN, registrar=(server.host, server.port)
    )
    assert started.wait_registered()
    return started


def test_baresip_calls_a_virtual_phone(
    phone_factory: PhoneFactory, server: Kamailio, baresip: BaresipFactory
) -> None:
    callee = make(phone_factory, "abcde20201", platform=Platform.IPHONE)
    assert callee.register() == "3G/LTEで通話可能"
    callee.answer_after(1)
    bob = baresip_phone(baresip, server, "abcde20209")
    bob.dial(f"sip:abcde20201@{DOMAIN}")
    ring = callee.wait_for("ring")
    assert ring.caller_id == "abcde20209"
    bob.wait_event(CALL_RINGING)
    callee.wait_for("answer")
    bob.wait_event(CALL_ESTABLISHED)
    bob.hangup()
    assert callee.wait_for("hangup").detail == "remote"
    bob.wait_event(CALL_CLOSED)


def test_virtual_phone_calls_baresip(
    phone_factory: PhoneFactory, server: Kamailio, baresip: BaresipFactory
) -> None:
    bob = baresip_phone(baresip, server, "abcde20209")
    caller = make(phone_factory, "abcde20200", platform=Platform.WINDOWS)
    assert caller.register() == "通話可能"
    call = caller.call("abcde20209")
    incoming = bob.wait_event(CALL_INCOMING)
    assert incoming.peer_uri == f"sip:abcde20200@{DOMAIN}"
    call.wait_for("ringback")
    bob.accept()
    call.wait_for("connected")
    bob.wait_event(CALL_ESTABLISHED)
    call.hangup()
    bob.wait_event(CALL_CLOSED)
    assert call.state is CallState.ENDED


def test_unregistered_phone_is_no_longer_reachable(
    phone_factory: PhoneFactory, server: Kamailio
) -> None:
    caller = make(phone_factory, "abcde20200")
    callee = make(phone_factory, "abcde20201")
    caller.register()
    callee.register()
    assert callee.unregister() == "通話不可"
    assert caller.call("abcde20201").wait_for("refused").status == 404
    assert callee.timeline() == []


@pytest.mark.manual_step("P3-S2-6", "P5-S2-11")
def test_phones_from_the_guide_register_as_the_manual_says(
    phone_factory: PhoneFactory, kamailio: KamailioFactory
) -> None:
    guide = Guide.model_validate(
        {
            "お客様情報": {"ご注文内容": "新設", "内線サーバアドレス": DOMAIN},
            "管理者アカウント": {"ログインID": "adm01234abc", "パスワード": "Adm1nPass01"},
            "内線番号情報1": [
                {
                    "No": 1,
                    "拠点番号": "20",
                    "端末番号": "200",
                    "端末ID": "abcde20200",
                    "パスワード": "Password",
                    "端末種別": "スマートフォン",
                },
                {
                    "No": 2,
                    "拠点番号": "20",
                    "端末番号": "201",
                    "端末ID": "abcde20201",
                    "パスワード": "Password",
                    "端末種別": "ソフトフォン",
                },
            ],
        }
    )
    started = kamailio(
        sip_domain=DOMAIN, users={t.terminal_id: t.password for t in guide.terminals}
    )
    phone_factory.resolver = Resolver(
        entries={DOMAIN: Address(host=started.host, port=started.port)}
    )
    phones = phone_factory.for_guide(guide)
    assert sorted(phones) == ["20200", "20201"]
    assert phones["20200"].profile.platform is Platform.ANDROID
    assert phones["20201"].profile.platform is Platform.WINDOWS
    assert {ext: p.register() for ext, p in phones.items()} == {
        "20200": "通話可能",
        "20201": "通話可能",
    }
    assert phones["20200"].status_icon == "電話アイコン"


@pytest.mark.manual_step("P5-ERR")
def test_fixing_the_password_in_the_account_settings_makes_the_phone_callable(
    phone_factory: PhoneFactory, server: Kamailio
) -> None:
    phone = make(phone_factory, "abcde20200", password="Pasword", platform=Platform.WINDOWS)
    assert phone.register() == "認証に失敗しました"
    account = replace(phone.profile.account, password="Password")
    phone.reconfigure(replace(phone.profile, account=account))
    assert phone.register() == "通話可能"


@pytest.mark.slow
def test_registration_and_call_through_kamailio_survive_20_percent_loss(
    phone_factory: PhoneFactory, server: Kamailio
) -> None:
    faults = Faults.symmetric(loss=0.2, seed=3)
    caller = make(phone_factory, "abcde20200", faults=faults)
    callee = make(phone_factory, "abcde20201", faults=faults)
    assert caller.register() == "通話可能"
    assert callee.register() == "通話可能"
    callee.answer_after(1)
    call = caller.call("abcde20201")
    call.wait_for("connected", timeout=40)
    assert callee.wait_for("ring", timeout=40).caller_id == "abcde20200"
    call.hangup(timeout=40)
    callee.wait_for("hangup", timeout=40)
    assert faults.dropped_outbound + faults.dropped_inbound > 0


@pytest.mark.slow
def test_registration_refreshes_keep_the_phone_callable_at_kamailio(
    phone_factory: PhoneFactory, server: Kamailio, sip_runtime: Runtime
) -> None:
    """Kamailio's minimum expiry is 10 s: the phone refreshes after 5 s, with a higher CSeq
    than its authorised REGISTER (the registrar drops out-of-order CSeqs of one Call-ID)."""
    phone = make(phone_factory, "abcde20200", expires=10)
    sent: list[TapRecord] = []
    phone.virtual.endpoint.add_tap(lambda r: sent.append(r) if r.direction == "sent" else None)
    assert phone.register() == "通話可能"
    virtual = phone.virtual

    async def refreshed() -> None:
        await asyncio.wait_for(virtual.wait_until(lambda: virtual.registrations >= 2), 15)

    sip_runtime.run(refreshed(), timeout=20)
    cseqs = [parse_message(r.data).headers.cseq.number for r in sent]
    assert len(cseqs) >= 4 and cseqs == sorted(set(cseqs))  # strictly increasing
    assert virtual.last_register_status == 200
    assert phone.status_text == "通話可能"
    caller = make(phone_factory, "abcde20201")
    caller.register()
    phone.set_busy()
    assert caller.call("abcde20200").wait_for("busy").status == 486  # still reachable
