"""The virtual app's screens, per platform: what the Smart PBX app shows at each manual step.

Pure data (no I/O, no clock), beside :mod:`harness.sip.app` (settings, server choice, status
texts). Source: the onboarding manual (../shared/manual/ご利用までの流れ.md) P.3 (Android), P.4
(iPhone), P.5 (Windows PC) and P.7 (Flexible InterConnect); DOMAIN.md "Terminal apps".

A platform's app is a small graph of screens. Each :class:`Screen` names the manual steps whose
text describes it (catalog ids of harness/flows/manual_steps.yaml, kept as strings: the sans-IO
core does not import the flows), the words of the manual it shows (``words``: buttons, tabs,
fields, messages — each appears verbatim in the manual's page for that platform), the
buttons and where each leads, the アカウント設定 / Flexible InterConnect fields it holds, and
whether the registration status (通話可能, 認証に失敗しました, 通話不可 …) is visible on it.

Words the manual does not print but a screen needs (the button that dismisses the
push-notification prompt, the way back from Flexible InterConnect接続設定) are (A) assumptions
and listed in ``assumed`` instead, so tests/sip/test_app_screens.py can check ``words`` against
the manual's text and nothing invented hides among them.

Per platform, the manual's path (→ = a tap):

- Android (P.3): 起動画面 「設定画面へ」(⑤) → アカウント設定 (⑥ ユーザID, パスワード, SIPサーバ,
  サービスコード) 「保存」(⑦) → プッシュ通知の確認 (⑧) → キーボード画面 (⑨ そのままお待ちください;
  ⑩ the phone icon in the status bar; ⑪ 「IP電話モード」). Failure: 「認証に失敗しました」 on
  キーボード画面 → 設定画面 「アカウント設定」 → enter again → 端末の「戻る」.
- iPhone (P.4): キーボード (the app opens on it) 「設定」tab → 設定一覧 「アカウント設定」(⑤) →
  アカウント設定 (⑥, サービスコード) 「保存」 at the top right (⑦) → 設定一覧 「キーボード」tab
  (⑧ 3G/LTEで通話可能 / Wi-Fiで通話可能). Failure: 「通話不可」 → 「閉じる」 → 設定一覧 …
- Windows PC (P.5): 起動画面 「設定」(⑨) → 設定一覧 「アカウント設定」(⑩) → アカウント設定 (⑪)
  「キーパッド」 → キーパッド (⑫ 「通話可能」, 「IP電話」; the green mark 緑マーク when usable).
- Flexible InterConnect (P.7): Android / iPhone 設定 → 「アプリの設定」 → 「Flexible
  InterConnect接続設定」 → 「SIPサーバ」 and 「Wi-Fi登録」 (「追加」 / 「ネットワーク追加」,
  ネットワーク名);
  Windows 設定一覧 → 「Flexible InterConnect接続設定」 → 接続モード and 「SIPサーバ」.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from harness.sip.app import Platform, RegistrationState

# Screen names (the manual's words where it names the screen).
LAUNCH = "起動画面"
ACCOUNT = "アカウント設定"
PUSH_PROMPT = "プッシュ通知の確認"
KEYBOARD = "キーボード画面"
SETTINGS = "設定画面"
APP_SETTINGS = "アプリの設定"
FIC = "Flexible InterConnect接続設定"
WIFI = "Wi-Fi登録"
KEYBOARD_TAB = "キーボード"
SETTINGS_LIST = "設定一覧"
KEYPAD = "キーパッド"

#: The アカウント設定 fields by platform, spelled as each page of the manual spells them.
ACCOUNT_FIELDS: dict[Platform, tuple[str, ...]] = {
    Platform.ANDROID: ("ユーザID", "パスワード", "SIPサーバ", "サービスコード"),
    Platform.IPHONE: ("ユーザーID", "パスワード", "SIPサーバ", "サービスコード"),
    Platform.WINDOWS: ("ユーザID", "パスワード", "SIPサーバ"),
}

#: Windows PC: the mark the キーパッド shows when the app can call (P.5 ※ 「緑マーク」).
GREEN_MARK = "緑マーク"
#: Android: the status-bar icon of a registered app (P.3 ⑩).
PHONE_ICON = "電話アイコン"


class ScreenError(LookupError):
    """A tap on something the current screen does not show (a flow defect)."""


@dataclass(frozen=True, kw_only=True)
class Screen:
    """One screen of one platform's app."""

    platform: Platform
    name: str
    #: Catalog step ids whose manual text describes this screen.
    steps: tuple[str, ...] = ()
    #: The manual's own words this screen shows (each verbatim in the platform's manual page).
    words: tuple[str, ...] = ()
    #: (A) words the screen needs that the manual does not print.
    assumed: tuple[str, ...] = ()
    #: Button (or tab, or list item) → the screen it leads to.
    buttons: tuple[tuple[str, str], ...] = ()
    #: Input fields on this screen.
    fields: tuple[str, ...] = ()
    #: Whether the registration status text is visible here.
    shows_status: bool = False
    #: The buttons that apply the settings entered here, after which the app (re-)registers.
    applies: tuple[str, ...] = ()

    def leads_to(self, button: str) -> str:
        """The name of the screen ``button`` leads to; ScreenError lists what can be tapped."""
        for label, target in self.buttons:
            if label == button:
                return target
        shown = ", ".join(f"「{label}」" for label, _ in self.buttons) or "nothing"
        raise ScreenError(
            f"{self.platform} app, {self.name}: there is no 「{button}」 to tap (it shows {shown})"
        )


def _android() -> tuple[Screen, ...]:
    p = Platform.ANDROID
    return (
        Screen(
            platform=p,
            name=LAUNCH,
            steps=("P3-S2-5",),
            words=("設定画面へ",),
            buttons=(("設定画面へ", ACCOUNT),),
        ),
        Screen(
            platform=p,
            name=ACCOUNT,
            steps=("P3-S2-6", "P3-S2-7", "P3-ERR"),
            words=("アカウント設定", "保存", "戻る", *ACCOUNT_FIELDS[p]),
            buttons=(("保存", PUSH_PROMPT), ("戻る", KEYBOARD)),
            fields=ACCOUNT_FIELDS[p],
            applies=("保存", "戻る"),
        ),
        Screen(
            platform=p,
            name=PUSH_PROMPT,
            steps=("P3-S2-8",),
            words=("プッシュ通知",),
            assumed=("OK",),
            buttons=(("OK", KEYBOARD),),
        ),
        Screen(
            platform=p,
            name=KEYBOARD,
            steps=("P3-S2-9", "P3-S2-10", "P3-S3-11", "P3-ERR"),
            words=("キーボード画面", "IP電話モード", "認証に失敗しました", "設定"),
            buttons=(("設定", SETTINGS),),
            shows_status=True,
        ),
        Screen(
            platform=p,
            name=SETTINGS,
            steps=("P3-ERR", "P7-android-S1"),
            words=("アカウント設定", "アプリの設定"),
            buttons=(("アカウント設定", ACCOUNT), ("アプリの設定", APP_SETTINGS)),
        ),
        Screen(
            platform=p,
            name=APP_SETTINGS,
            steps=("P7-android-S1",),
            words=("Flexible InterConnect接続設定",),
            buttons=(("Flexible InterConnect接続設定", FIC),),
        ),
        Screen(
            platform=p,
            name=FIC,
            steps=("P7-android-S1", "P7-android-S2"),
            words=("SIPサーバ", "Wi-Fi登録"),
            assumed=("戻る",),
            buttons=(("Wi-Fi登録", WIFI), ("戻る", KEYBOARD)),
            fields=("SIPサーバ",),
            applies=("戻る",),
        ),
        Screen(
            platform=p,
            name=WIFI,
            steps=("P7-android-S2",),
            words=("Wi-Fi登録", "追加", "ネットワーク名", "OK"),
            buttons=(("OK", FIC),),
            fields=("ネットワーク名",),
        ),
    )


def _iphone() -> tuple[Screen, ...]:
    p = Platform.IPHONE
    return (
        Screen(
            platform=p,
            name=KEYBOARD_TAB,
            steps=("P4-S3-8", "P4-ERR"),
            words=(
                "キーボード",
                "3G/LTEで通話可能",
                "Wi-Fiで通話可能",
                "通話不可",
                "閉じる",
                "設定",
            ),
            buttons=(("設定", SETTINGS_LIST), ("閉じる", SETTINGS_LIST)),
            shows_status=True,
        ),
        Screen(
            platform=p,
            name=SETTINGS_LIST,
            steps=("P4-S2-5", "P4-ERR", "P7-iphone-S1"),
            words=("設定", "アカウント設定", "アプリの設定", "キーボード"),
            buttons=(
                ("アカウント設定", ACCOUNT),
                ("アプリの設定", APP_SETTINGS),
                ("キーボード", KEYBOARD_TAB),
            ),
        ),
        Screen(
            platform=p,
            name=ACCOUNT,
            steps=("P4-S2-5", "P4-S2-6", "P4-S2-7", "P4-ERR"),
            words=("アカウント設定", "保存", *ACCOUNT_FIELDS[p]),
            buttons=(("保存", SETTINGS_LIST),),
            fields=ACCOUNT_FIELDS[p],
            applies=("保存",),
        ),
        Screen(
            platform=p,
            name=APP_SETTINGS,
            steps=("P7-iphone-S1",),
            words=("Flexible InterConnect接続設定",),
            buttons=(("Flexible InterConnect接続設定", FIC),),
        ),
        Screen(
            platform=p,
            name=FIC,
            steps=("P7-iphone-S1", "P7-iphone-S2"),
            words=("SIPサーバ", "Wi-Fi登録"),
            assumed=("キーボード",),
            buttons=(("Wi-Fi登録", WIFI), ("キーボード", KEYBOARD_TAB)),
            fields=("SIPサーバ",),
            applies=("キーボード",),
        ),
        Screen(
            platform=p,
            name=WIFI,
            steps=("P7-iphone-S2",),
            words=("Wi-Fi登録", "ネットワーク追加", "ネットワーク名"),
            assumed=("OK",),
            buttons=(("OK", FIC),),
            fields=("ネットワーク名",),
        ),
    )


def _windows() -> tuple[Screen, ...]:
    p = Platform.WINDOWS
    return (
        Screen(
            platform=p,
            name=LAUNCH,
            steps=("P5-S2-9",),
            words=("Arcstar Smart PBX", "設定"),
            buttons=(("設定", SETTINGS_LIST),),
        ),
        Screen(
            platform=p,
            name=SETTINGS_LIST,
            steps=("P5-S2-10", "P5-ERR", "P7-windows-S1"),
            words=("設定一覧", "アカウント設定", "Flexible InterConnect接続設定"),
            buttons=(("アカウント設定", ACCOUNT), ("Flexible InterConnect接続設定", FIC)),
        ),
        Screen(
            platform=p,
            name=ACCOUNT,
            steps=("P5-S2-11", "P5-ERR"),
            words=("アカウント設定", "キーパッド", *ACCOUNT_FIELDS[p]),
            buttons=(("キーパッド", KEYPAD),),
            fields=ACCOUNT_FIELDS[p],
            applies=("キーパッド",),
        ),
        Screen(
            platform=p,
            name=KEYPAD,
            steps=("P5-S3-12", "P5-ERR"),
            words=("キーパッド", "通話可能", "IP電話", "緑マーク", "認証に失敗しました"),
            assumed=("設定",),
            buttons=(("設定", SETTINGS_LIST),),
            shows_status=True,
        ),
        Screen(
            platform=p,
            name=FIC,
            steps=("P7-windows-S1",),
            words=("接続モード", "Flexible InterConnectモード", "SIPサーバ"),
            assumed=("キーパッド",),
            buttons=(("キーパッド", KEYPAD),),
            fields=("接続モード", "SIPサーバ"),
            applies=("キーパッド",),
        ),
    )


@cache
def screens(platform: Platform) -> tuple[Screen, ...]:
    """Every screen of ``platform``'s app; the first is where the app opens.

    An IP Phone has no app (its screens are empty): flows never open one.
    """
    table = {
        Platform.ANDROID: _android,
        Platform.IPHONE: _iphone,
        Platform.WINDOWS: _windows,
    }
    build = table.get(platform)
    return build() if build is not None else ()


def screen(platform: Platform, name: str) -> Screen:
    """The screen ``name`` of ``platform``'s app; ScreenError names the ones it has."""
    for candidate in screens(platform):
        if candidate.name == name:
            return candidate
    names = ", ".join(s.name for s in screens(platform)) or "none (no app)"
    raise ScreenError(f"the {platform} app has no screen {name!r} (it has {names})")


def start_screen(platform: Platform) -> Screen:
    """Where the app opens after launch (P.3 ⑤, P.4 ⑤, P.5 ⑨)."""
    table = screens(platform)
    if not table:
        raise ScreenError(f"{platform} has no app screens (the manual has no page for it)")
    return table[0]


def screens_for_step(step_id: str) -> tuple[Screen, ...]:
    """Every screen (of any platform) that the manual step ``step_id`` describes."""
    return tuple(
        s
        for platform in (Platform.ANDROID, Platform.IPHONE, Platform.WINDOWS)
        for s in screens(platform)
        if step_id in s.steps
    )


def indicator(platform: Platform, screen_name: str, state: RegistrationState) -> str | None:
    """The mark beside the status text: Android's 電話アイコン in the status bar on every
    screen (P.3 ⑩), Windows' 緑マーク on the キーパッド (P.5 ※); None otherwise."""
    if state is not RegistrationState.REGISTERED:
        return None
    if platform is Platform.ANDROID:
        return PHONE_ICON
    if platform is Platform.WINDOWS and screen_name == KEYPAD:
        return GREEN_MARK
    return None
