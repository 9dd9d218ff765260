"""P.3 【Arcstar Smart PBX(Android版)】ご利用までの流れ(端末ご利用者向け), as flows.

The Android app of the tenant's first スマートフォン terminal (内線番号情報1), set up exactly as
the manual says, on the virtual app's screens (harness.sip.app_screens):

- ``android_onboarding``: ⑤ 設定画面へ → ⑥ アカウント設定 from ご利用内容のご案内 → ⑦ 保存 →
  ⑧ the push-notification prompt → ⑨ キーボード画面 while registering → ⑩ 電話アイコン /
  通話可能 → ⑪ dial another extension with 「IP電話モード」;
- ``android_wrong_account``: ※アカウント情報に不備がある場合 — a mistyped パスワード shows
  「認証に失敗しました」; entering it again and 「戻る」 makes the phone icon appear.

Steps ①–④ (Play ストア, install, privacy policy, OS permissions) are out of scope (catalog).
"""

from __future__ import annotations

from harness.flows import app_steps as s
from harness.flows.app import VirtualApp
from harness.flows.context import FlowContext
from harness.flows.step import flow, manual_step
from harness.sip.app import Platform
from harness.sip.app_screens import ACCOUNT, KEYBOARD, PHONE_ICON, PUSH_PROMPT

SECTION = "P.3"


@manual_step("P3-S2-5")
def tap_settings_screen(ctx: FlowContext, app: VirtualApp) -> None:
    """⑤ The app opens on its first screen; 「設定画面へ」 leads to アカウント設定."""
    s.navigate(ctx, app, "設定画面へ", arrive=ACCOUNT)


@manual_step("P3-S2-6")
def enter_account(ctx: FlowContext, app: VirtualApp) -> None:
    """⑥ 端末ID, パスワード (内線番号情報1) and 内線サーバアドレス (お客様情報) into
    アカウント設定."""
    s.type_account(ctx, app)


@manual_step("P3-S2-7")
def save(ctx: FlowContext, app: VirtualApp) -> None:
    """⑦ 「保存」: the app takes the settings and sends its REGISTER to the SIPサーバ."""
    app.tap("保存")
    s.record_screen(ctx, app, "保存")
    s.expect_screen(app, PUSH_PROMPT)


@manual_step("P3-S2-8")
def push_prompt(ctx: FlowContext, app: VirtualApp) -> None:
    """⑧ The push-notification prompt is shown; dismissing it leads to the キーボード画面."""
    s.expect_screen(app, PUSH_PROMPT)
    s.record_screen(ctx, app, "プッシュ通知に関する確認メッセージ")
    app.tap("OK")


@manual_step("P3-S2-9")
def keyboard_while_registering(ctx: FlowContext, app: VirtualApp) -> None:
    """⑨ キーボード画面 — そのままお待ちください: the app shows what it showed while the REGISTER
    was in flight (通話不可); the target must give the registration an outcome in time."""
    s.expect_screen(app, KEYBOARD)
    s.record_screen(ctx, app, "キーボード画面 (登録中)")
    app.wait_settled()
    s.record_screen(ctx, app, "キーボード画面 (応答後)")


@manual_step("P3-S2-10")
def phone_icon(ctx: FlowContext, app: VirtualApp) -> None:
    """⑩ The phone icon in the status bar: 通話可能."""
    s.expect_callable(app, what="P.3 ⑩ after 保存")
    s.record_screen(ctx, app, "ステータスバー")
    s.expect_mark(app, PHONE_ICON, what="the status bar")


@manual_step("P3-S3-11")
def dial_ip_phone_mode(ctx: FlowContext, app: VirtualApp) -> None:
    """⑪ Enter another extension's number and tap 「IP電話モード」: it rings with our number."""
    s.expect_screen(app, KEYBOARD)
    s.dial_another_extension(ctx, app, button="IP電話モード")
    s.record_screen(ctx, app, "通話後")


@manual_step("P3-ERR")
def wrong_account_then_right(ctx: FlowContext, app: VirtualApp) -> None:
    """※ A mistyped パスワード shows 「認証に失敗しました」; 設定画面 → 「アカウント設定」, entering
    ユーザID / パスワード / SIPサーバ again and 端末の「戻る」 turn it into the phone icon."""
    s.failure_path(
        ctx,
        app,
        to_account=("設定画面へ",),
        apply=("保存", "OK"),
        again=("設定", "アカウント設定"),
        reapply=("戻る",),
        mark=PHONE_ICON,
    )


@flow(
    "P.3 Android: アプリの設定と発信",
    section=SECTION,
    steps=("P3-S2-5", "P3-S2-6", "P3-S2-7", "P3-S2-8", "P3-S2-9", "P3-S2-10", "P3-S3-11"),
    requirement="The Android app set up with the 端末ID, パスワード and 内線サーバアドレス of "
    "ご利用内容のご案内 registers (電話アイコン, 通話可能) and calls another extension, which "
    "rings showing the caller's 内線番号.",
)
def android_onboarding(ctx: FlowContext) -> None:
    s.run_app(
        ctx,
        Platform.ANDROID,
        tap_settings_screen,
        enter_account,
        save,
        push_prompt,
        keyboard_while_registering,
        phone_icon,
        dial_ip_phone_mode,
    )


@flow(
    "P.3 Android: 認証に失敗しました → 再入力",
    section=SECTION,
    steps=("P3-ERR",),
    requirement="A wrong パスワード makes the Android app show 「認証に失敗しました」; "
    "an unknown 端末ID MUST get the very answer the wrong パスワード got (status, headers, "
    "challenge: no enumeration of 端末IDs); entering the account again makes it 通話可能.",
)
def android_wrong_account(ctx: FlowContext) -> None:
    s.run_app(ctx, Platform.ANDROID, wrong_account_then_right)
