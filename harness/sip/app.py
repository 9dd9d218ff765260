"""The Smart PBX apps a virtual phone imitates: settings, server choice and status texts.

Pure (no I/O, no clock). Source: the onboarding manual (../shared/manual/ご利用までの流れ.md)
P.3 (Android), P.4 (iPhone), P.5 (Windows PC), P.7 (Flexible InterConnect), and DOMAIN.md
"Terminal apps".

Account settings (アカウント設定), the same on every platform: ユーザID (the 端末ID), パスワード,
SIPサーバ (the 内線サーバアドレス) and an optional サービスコード ("only when the carrier says so").

Flexible InterConnect (P.7), the switching rule (A, DOMAIN.md):

- Android / iPhone: settings hold a SIPサーバ(UNO接続) and a list of registered Wi-Fi network
  names (Wi-Fi登録). On a registered Wi-Fi the app registers through the UNO address; on any
  other network (another Wi-Fi, 3G/LTE) through the internet address (アカウント設定's SIPサーバ).
- Windows PC: 接続モード 「Flexible InterConnectモード」 sends everything through the UNO
  address; the default mode 「通常モード」 uses the internet address. There is no Wi-Fi list.

Status texts (what the app shows the user), per platform and registration state — the mapping
the harness asserts on:

============  ====================  =======================  =====================
state         Android (P.3)         iPhone (P.4)             Windows PC (P.5)
============  ====================  =======================  =====================
registered    通話可能 (1)          3G/LTEで通話可能 /        通話可能
                                    Wi-Fiで通話可能 (2)
auth_failed   認証に失敗しました    通話不可                 認証に失敗しました
unreachable   通話不可 (3)          通話不可                 通話不可 (3)
not yet /     通話不可 (3)          通話不可                 通話不可 (3)
unregistered
============  ====================  =======================  =====================

An IP Phone (Platform.IP_PHONE, (A): no app page in the manual) shows 通話可能 when registered
and 通話不可 otherwise.

(1) The Android app shows a phone icon in the status bar; the manual reads it as
「通話可能です」, so the harness reports 通話可能 with ``status_icon`` = 電話アイコン.
(2) By the network the phone is on: Wi-Fi → Wi-Fiで通話可能, cellular → 3G/LTEで通話可能.
(3) (A) The manual shows no text for a server that cannot be reached; the harness uses the
glossary's 通話不可 (not_callable), the text the iPhone app shows for any failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from harness.errors import InputError, Problem

CALLABLE = "通話可能"
NOT_CALLABLE = "通話不可"
AUTH_FAILED_TEXT = "認証に失敗しました"
WIFI_CALLABLE = "Wi-Fiで通話可能"
CELLULAR_CALLABLE = "3G/LTEで通話可能"


class Platform(StrEnum):
    """The three app platforms of the manual (端末種別 スマートフォン / ソフトフォン)."""

    ANDROID = "Android"
    IPHONE = "iPhone"
    WINDOWS = "Windows PC"
    #: (A) an IP Phone / VoIP-GW: no app page in the manual; shows only the glossary's
    #: 通話可能 / 通話不可 and has no Flexible InterConnect settings.
    IP_PHONE = "IP Phone"


class RegistrationState(StrEnum):
    """Where a phone's registration stands (what its status text is computed from)."""

    UNREGISTERED = "unregistered"  # never registered, or unregistered on purpose
    REGISTERING = "registering"
    REGISTERED = "registered"
    AUTH_FAILED = "auth_failed"  # the server refused the credentials (401/403/407/404)
    UNREACHABLE = "unreachable"  # name did not resolve, no answer, transport error, 5xx


class NetworkKind(StrEnum):
    WIFI = "Wi-Fi"
    CELLULAR = "3G/LTE"
    WIRED = "有線"


@dataclass(frozen=True, kw_only=True)
class Network:
    """The network the phone is on now; ``ssid`` names a Wi-Fi network."""

    kind: NetworkKind
    ssid: str | None = None

    @classmethod
    def wifi(cls, ssid: str) -> Network:
        return cls(kind=NetworkKind.WIFI, ssid=ssid)

    @classmethod
    def cellular(cls) -> Network:
        return cls(kind=NetworkKind.CELLULAR)

    @classmethod
    def wired(cls) -> Network:
        return cls(kind=NetworkKind.WIRED)


class Route(StrEnum):
    """Which address of the service the app uses now."""

    INTERNET = "internet"  # 内線サーバアドレス
    UNO = "uno"  # 内線サーバアドレス(UNO接続)


class ConnectionMode(StrEnum):
    """Windows PC 接続モード (P.7)."""

    NORMAL = "通常モード"
    FLEXIBLE_INTERCONNECT = "Flexible InterConnectモード"


@dataclass(frozen=True, kw_only=True)
class AccountSettings:
    """アカウント設定: ユーザID, パスワード, SIPサーバ, サービスコード (P.3 ⑥, P.4 ⑥, P.5 ⑪)."""

    user_id: str
    password: str
    sip_server: str
    service_code: str | None = None

    def problems(self) -> list[Problem]:
        """What the app's 保存 would refuse: empty required fields."""
        found = []
        for name, label in (("user_id", "ユーザID"), ("password", "パスワード")):
            if not getattr(self, name):
                found.append(Problem(where=f"アカウント設定 › {label}", rule="required"))
        if not self.sip_server.strip():
            found.append(Problem(where="アカウント設定 › SIPサーバ", rule="required"))
        return found


@dataclass(frozen=True, kw_only=True)
class FlexibleInterConnect:
    """Flexible InterConnect接続設定 (P.7): UNO SIPサーバ, Wi-Fi登録, Windows 接続モード."""

    uno_server: str
    wifi_names: tuple[str, ...] = ()
    connection_mode: ConnectionMode = ConnectionMode.FLEXIBLE_INTERCONNECT


@dataclass(frozen=True, kw_only=True)
class AppProfile:
    """One installed app: its platform, account settings, FIC settings and current network."""

    platform: Platform
    account: AccountSettings
    flexible_interconnect: FlexibleInterConnect | None = None
    network: Network = field(default_factory=Network.cellular)

    def __post_init__(self) -> None:
        problems = self.account.problems()
        if problems:
            raise InputError(problems, subject=f"{self.platform} app settings")

    def server(self) -> str:
        """The SIP server this app registers through now (the Flexible InterConnect rule)."""
        fic = self.flexible_interconnect
        if fic is not None and self.route() is Route.UNO:
            return fic.uno_server
        return self.account.sip_server

    def route(self) -> Route:
        """The Flexible InterConnect rule (module docstring)."""
        fic = self.flexible_interconnect
        if fic is None or self.platform is Platform.IP_PHONE:
            return Route.INTERNET
        if self.platform is Platform.WINDOWS:
            uno = fic.connection_mode is ConnectionMode.FLEXIBLE_INTERCONNECT
        else:
            uno = self.network.kind is NetworkKind.WIFI and self.network.ssid in fic.wifi_names
        return Route.UNO if uno else Route.INTERNET

    def status_text(self, state: RegistrationState) -> str:
        """The exact text the app shows for ``state`` (table in the module docstring)."""
        if state is RegistrationState.REGISTERED:
            if self.platform is Platform.IPHONE:
                via_wifi = self.network.kind is NetworkKind.WIFI
                return WIFI_CALLABLE if via_wifi else CELLULAR_CALLABLE
            return CALLABLE
        if state is RegistrationState.AUTH_FAILED and self.platform in (
            Platform.ANDROID,
            Platform.WINDOWS,
        ):
            return AUTH_FAILED_TEXT
        return NOT_CALLABLE

    def status_icon(self, state: RegistrationState) -> str | None:
        """Android shows a phone icon in the status bar when registered (P.3 ⑩)."""
        if self.platform is Platform.ANDROID and state is RegistrationState.REGISTERED:
            return "電話アイコン"
        return None
