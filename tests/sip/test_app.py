"""App profiles: the Flexible InterConnect rule and the exact status texts per platform."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.sip.app import (
    AccountSettings,
    AppProfile,
    ConnectionMode,
    FlexibleInterConnect,
    Network,
    Platform,
    RegistrationState,
    Route,
)

ACCOUNT = AccountSettings(
    user_id="abcde20200", password="Password", sip_server="01234abc.smart-pbx.jp"
)
FIC = FlexibleInterConnect(uno_server="192.0.2.10", wifi_names=("office-wifi",))
S = RegistrationState


def profile(
    platform: Platform, network: Network, fic: FlexibleInterConnect | None = FIC
) -> AppProfile:
    return AppProfile(
        platform=platform, account=ACCOUNT, flexible_interconnect=fic, network=network
    )


@pytest.mark.parametrize(
    ("platform", "network", "state", "text"),
    [
        (Platform.ANDROID, Network.cellular(), S.REGISTERED, "通話可能"),
        (Platform.ANDROID, Network.cellular(), S.AUTH_FAILED, "認証に失敗しました"),
        (Platform.ANDROID, Network.cellular(), S.UNREACHABLE, "通話不可"),
        (Platform.ANDROID, Network.cellular(), S.UNREGISTERED, "通話不可"),
        (Platform.IPHONE, Network.cellular(), S.REGISTERED, "3G/LTEで通話可能"),
        (Platform.IPHONE, Network.wifi("home"), S.REGISTERED, "Wi-Fiで通話可能"),
        (Platform.IPHONE, Network.wifi("home"), S.AUTH_FAILED, "通話不可"),
        (Platform.IPHONE, Network.cellular(), S.UNREACHABLE, "通話不可"),
        (Platform.WINDOWS, Network.wired(), S.REGISTERED, "通話可能"),
        (Platform.WINDOWS, Network.wired(), S.AUTH_FAILED, "認証に失敗しました"),
        (Platform.WINDOWS, Network.wired(), S.UNREACHABLE, "通話不可"),
        (Platform.WINDOWS, Network.wired(), S.REGISTERING, "通話不可"),
    ],
    ids=lambda v: str(v),
)
def test_status_texts(
    platform: Platform, network: Network, state: RegistrationState, text: str
) -> None:
    assert profile(platform, network).status_text(state) == text


def test_android_shows_the_phone_icon_only_when_registered() -> None:
    android = profile(Platform.ANDROID, Network.cellular())
    assert android.status_icon(S.REGISTERED) == "電話アイコン"
    assert android.status_icon(S.AUTH_FAILED) is None
    assert profile(Platform.IPHONE, Network.cellular()).status_icon(S.REGISTERED) is None


@pytest.mark.parametrize("platform", [Platform.ANDROID, Platform.IPHONE])
def test_smartphones_use_uno_only_on_a_registered_wifi(platform: Platform) -> None:
    assert profile(platform, Network.wifi("office-wifi")).route() is Route.UNO
    assert profile(platform, Network.wifi("office-wifi")).server() == "192.0.2.10"
    assert profile(platform, Network.wifi("cafe")).server() == "01234abc.smart-pbx.jp"
    assert profile(platform, Network.cellular()).server() == "01234abc.smart-pbx.jp"
    assert profile(platform, Network.wifi("office-wifi"), fic=None).route() is Route.INTERNET


def test_windows_follows_its_connection_mode() -> None:
    assert profile(Platform.WINDOWS, Network.wired()).server() == "192.0.2.10"
    normal = FlexibleInterConnect(uno_server="192.0.2.10", connection_mode=ConnectionMode.NORMAL)
    assert profile(Platform.WINDOWS, Network.wired(), fic=normal).route() is Route.INTERNET


def test_empty_account_fields_are_refused_with_the_field_named() -> None:
    with pytest.raises(InputError) as caught:
        AppProfile(
            platform=Platform.ANDROID,
            account=AccountSettings(user_id="", password="", sip_server=" "),
        )
    wheres = [p.where for p in caught.value.problems]
    assert wheres == [
        "アカウント設定 › ユーザID",
        "アカウント設定 › パスワード",
        "アカウント設定 › SIPサーバ",
    ]


def test_ip_phone_shows_only_the_glossary_texts_and_ignores_fic() -> None:
    phone = profile(Platform.IP_PHONE, Network.wired())
    assert phone.status_text(S.REGISTERED) == "通話可能"
    assert phone.status_text(S.AUTH_FAILED) == "通話不可"
    assert phone.route() is Route.INTERNET
