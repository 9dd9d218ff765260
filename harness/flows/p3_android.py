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

from harness.flows.app import VirtualApp, expect
from harness.flows.app_steps import (
    check_typed_from_guide,
    dial_another_extension,
    enter_from_guide,
    expect_callable,
    expect_refused,
    expect_screen,
    open_app,
    record_screen,
    register_with_typo,
)
from harness.flows.context import FlowContext
from harness.flows.step import flow, manual_step
from harness.sip.app import Platform
from harness.sip.app_screens import ACCOUNT, KEYBOARD, PHONE_ICON, PUSH_PROMPT

SECTION = "P.3"


@manual_step("P3-S2-5")
def tap_settings_screen(ctx: FlowContext, app: VirtualApp) -> None:
    """⑤ The app opens on its first screen; 「設定画面へ」 leads to アカウント設定."""
    record_screen(ctx, app, "起動画面")
    app.tap("設定画面へ")
    record_screen(ctx, app, "アカウント設定")
    expect_screen(app, ACCOUNT)


@manual_step("P3-S2-6")
def enter_account(ctx: FlowContext, app: VirtualApp) -> None:
    """⑥ 端末ID, パスワード (内線番号情報1) and 内線サーバアドレス (お客様情報) into
    アカウント設定."""
    enter_from_guide(app)
    record_screen(ctx, app, "アカウント設定 (入力後)")
    check_typed_from_guide(app)


@manual_step("P3-S2-7")
def save(ctx: FlowContext, app: VirtualApp) -> None:
    """⑦ 「保存」: the app takes the settings and sends its REGISTER to the SIPサーバ."""
    app.tap("保存")
    record_screen(ctx, app, "保存")
    expect_screen(app, PUSH_PROMPT)


@manual_step("P3-S2-8")
def push_prompt(ctx: FlowContext, app: VirtualApp) -> None:
    """⑧ The push-notification prompt is shown; dismissing it leads to the キーボード画面."""
    expect_screen(app, PUSH_PROMPT)
    record_screen(ctx, app, "プッシュ通知に関する確認メッセージ")
    app.tap("OK")


@manual_step("P3-S2-9")
def keyboard_while_registering(ctx: FlowContext, app: VirtualApp) -> None:
    """⑨ キーボード画面 — そのままお待ちください: while the REGISTER is in flight the app is
    not yet callable; the target must give the registration an outcome (wait_settled)."""
    expect_screen(app, KEYBOARD)
    record_screen(ctx, app, "キーボード画面 (登録中)")  # shown while registering: 通話不可
    app.wait_settled()
    record_screen(ctx, app, "キーボード画面 (応答後)")


@manual_step("P3-S2-10")
def phone_icon(ctx: FlowContext, app: VirtualApp) -> None:
    """⑩ The phone icon in the status bar: 通話可能."""
    expect_callable(app, what="P.3 ⑩ after 保存")
    record_screen(ctx, app, "ステータスバー")
    expect(
        app.indicator() == PHONE_ICON,
        what=f"{app.name}: the status bar",
        expected=PHONE_ICON,
        seen=str(app.indicator()),
    )


@manual_step("P3-S3-11")
def dial_ip_phone_mode(ctx: FlowContext, app: VirtualApp) -> None:
    """⑪ Enter another extension's number and tap 「IP電話モード」: it rings with our number."""
    expect_screen(app, KEYBOARD)
    dial_another_extension(ctx, app, button="IP電話モード")
    record_screen(ctx, app, "通話後")


@manual_step("P3-ERR")
def wrong_account_then_right(ctx: FlowContext, app: VirtualApp) -> None:
    """※ A mistyped パスワード shows 「認証に失敗しました」; 設定画面 → 「アカウント設定」, entering
    ユーザID / パスワード / SIPサーバ again and 端末の「戻る」 turn it into the phone icon."""
    register_with_typo(app, path=("設定画面へ",), apply="保存")
    app.tap("OK")
    expect_refused(app, what="P.3 ※ a wrong パスワード")
    record_screen(ctx, app, "認証に失敗しました")
    app.go("設定", "アカウント設定")
    enter_from_guide(app)
    app.tap("戻る")
    expect_callable(app, what="P.3 ※ after entering the account again")
    record_screen(ctx, app, "再入力後")
    expect(
        app.indicator() == PHONE_ICON,
        what=f"{app.name}: the status bar after re-entry",
        expected=PHONE_ICON,
        seen=str(app.indicator()),
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
    app = open_app(ctx, Platform.ANDROID)
    try:
        tap_settings_screen(ctx, app)
        enter_account(ctx, app)
        save(ctx, app)
        push_prompt(ctx, app)
        keyboard_while_registering(ctx, app)
        phone_icon(ctx, app)
        dial_ip_phone_mode(ctx, app)
    finally:
        app.close()


@flow(
    "P.3 Android: 認証に失敗しました → 再入力",
    section=SECTION,
    steps=("P3-ERR",),
    requirement="A wrong パスワード makes the Android app show 「認証に失敗しました」; entering "
    "the account again makes it 通話可能.",
)
def android_wrong_account(ctx: FlowContext) -> None:
    app = open_app(ctx, Platform.ANDROID)
    try:
        wrong_account_then_right(ctx, app)
    finally:
        app.close()
