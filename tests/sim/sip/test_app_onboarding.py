"""The manual's app steps (P.3 Android, P.4 iPhone, P.5 Windows PC, P.7 Flexible InterConnect)
against the embedded simulator subprocess: each app is set up with the 端末ID, パスワード and
内線サーバアドレス of the sample ご利用内容のご案内, shows the manual's status text, fails and
recovers as the manual's ※アカウント情報に不備がある場合 says, and places a call.

These are the project's own tests of the phones' app model at the SIP level. The manual's app
steps as the product runs them — the screens included (⑤ 設定画面へ, ⑧ the push-notification
prompt, ⑨ the キーボード画面 while registering, the iPhone 設定 tab, the Windows 設定 / 設定一覧)
— are the flows of harness/flows/p3_android.py … p7_fic.py on the virtual app's screens
(harness.sip.app_screens, docs/apps.md), run live by tests/flows/test_apps_flows.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sim.documents import read_tenant
from harness.sip.app import ConnectionMode, FlexibleInterConnect, Network, Platform
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import Phone
from harness.sip.resolver import Resolver
from harness.sip.transport import Address
from tests.sim.sip.kit import FIXTURES, point_at, tenant_phones

SAMPLE = read_tenant(FIXTURES / "sample").guide
ROW_20200 = SAMPLE.terminals[0]
UNO = "192.0.2.10"  # 内線サーバアドレス(UNO接続) as DOMAIN.md prints it; resolved to loopback only


def app(factory: PhoneFactory, sim: SimulatorHandle, platform: Platform, network: Network) -> Phone:
    """The app of 20200, configured from the guide exactly as the manual's ⑥ says."""
    point_at(factory, sim, SAMPLE)
    return factory.for_terminal(SAMPLE, ROW_20200, platform=platform, network=network)


@pytest.mark.parametrize(
    ("platform", "network", "callable_text"),
    [
        pytest.param(
            Platform.ANDROID,
            Network.cellular(),
            "通話可能",
            id="Android",
            marks=pytest.mark.manual_step("P3-S2-6", "P3-S2-7", "P3-S2-10", "P3-ERR"),
        ),
        pytest.param(
            Platform.IPHONE,
            Network.cellular(),
            "3G/LTEで通話可能",
            id="iPhone-LTE",
            marks=pytest.mark.manual_step("P4-S2-6", "P4-S2-7", "P4-S3-8", "P4-ERR"),
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
            marks=pytest.mark.manual_step("P5-S2-11", "P5-S3-12", "P5-ERR"),
        ),
    ],
)
def test_account_settings_from_the_guide_make_the_app_callable_and_a_typo_is_recoverable(
    sim: SimulatorHandle,
    phone_factory: PhoneFactory,
    platform: Platform,
    network: Network,
    callable_text: str,
) -> None:
    phone = app(phone_factory, sim, platform, network)
    right = phone.profile
    # ※アカウント情報に不備がある場合: a mistyped パスワード shows the manual's failure text
    wrong = replace(right, account=replace(right.account, password=right.account.password + "x"))
    phone.reconfigure(wrong)
    failure = "通話不可" if platform is Platform.IPHONE else "認証に失敗しました"
    assert phone.register() == failure
    # … and entering ユーザID / パスワード / SIPサーバ again, then 保存, makes it callable
    phone.reconfigure(right)
    assert phone.register() == callable_text


@pytest.mark.parametrize(
    "platform",
    [
        pytest.param(Platform.ANDROID, marks=pytest.mark.manual_step("P3-S3-11")),
        pytest.param(Platform.WINDOWS, marks=pytest.mark.manual_step("P5-S3-12")),
    ],
)
def test_a_callable_app_dials_another_extension_which_sees_its_number(
    sim: SimulatorHandle, phone_factory: PhoneFactory, platform: Platform
) -> None:
    phones = tenant_phones(phone_factory, sim, FIXTURES / "sample")
    caller = phones["20200"]
    caller.reconfigure(replace(caller.profile, platform=platform))
    caller.register()
    call = caller.call("20201")  # 相手先の電話番号を入力し「IP電話モード」/「IP電話」
    ring = phones["20201"].incoming()
    assert ring.peer == "20200"  # DOMAIN.md rule 7: the caller's full 内線番号
    ring.answer()
    call.wait_for(PhoneEventKind.CONNECTED)
    call.hangup()
    ring.wait_ended()


@pytest.mark.parametrize(
    "platform",
    [
        pytest.param(
            Platform.ANDROID, marks=pytest.mark.manual_step("P7-android-S1", "P7-android-S2")
        ),
        pytest.param(
            Platform.IPHONE, marks=pytest.mark.manual_step("P7-iphone-S1", "P7-iphone-S2")
        ),
    ],
)
def test_flexible_interconnect_registers_through_the_uno_address_on_a_registered_wifi(
    sim: SimulatorHandle, phone_factory: PhoneFactory, platform: Platform
) -> None:
    assert sim.sip_port is not None
    # Only the UNO route reaches the simulator: the internet address leads to a closed port.
    phone_factory.resolver = Resolver(
        entries={
            SAMPLE.customer.sip_domain: Address(host="127.0.0.1", port=1),
            UNO: Address(host="127.0.0.1", port=sim.sip_port),
        }
    )
    phone = phone_factory.for_terminal(
        SAMPLE, ROW_20200, platform=platform, network=Network.wifi("office")
    )
    fic = FlexibleInterConnect(uno_server=UNO, wifi_names=("office",))
    phone.reconfigure(replace(phone.profile, flexible_interconnect=fic))
    assert phone.register().endswith("通話可能")
    phone.reconfigure(replace(phone.profile, network=Network.wifi("cafe")))  # not registered
    assert phone.register() == "通話不可"


@pytest.mark.manual_step("P7-windows-S1")
def test_windows_flexible_interconnect_mode_registers_through_the_uno_address(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    assert sim.sip_port is not None
    phone_factory.resolver = Resolver(
        entries={
            SAMPLE.customer.sip_domain: Address(host="127.0.0.1", port=1),
            UNO: Address(host="127.0.0.1", port=sim.sip_port),
        }
    )
    phone = phone_factory.for_terminal(SAMPLE, ROW_20200, platform=Platform.WINDOWS)
    fic = FlexibleInterConnect(uno_server=UNO, connection_mode=ConnectionMode.FLEXIBLE_INTERCONNECT)
    phone.reconfigure(replace(phone.profile, flexible_interconnect=fic))
    assert phone.register() == "通話可能"
    normal = replace(fic, connection_mode=ConnectionMode.NORMAL)
    phone.reconfigure(replace(phone.profile, flexible_interconnect=normal))
    assert phone.register() == "通話不可"
