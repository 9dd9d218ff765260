"""P.5 【Arcstar Smart PBX (Windows PC版)】ご利用までの流れ(端末ご利用者向け), as flows.

The Windows PC app of the tenant's first ソフトフォン terminal (内線番号情報1), on the virtual
app's screens (harness.sip.app_screens):

- ``windows_onboarding``: ⑨ 「設定」 → ⑩ 設定一覧 「アカウント設定」 → ⑪ 端末ID / パスワード /
  内線サーバアドレス → ⑫ 「通話可能」 on the キーパッド (with the green mark), then dial another
  extension with 「IP電話」;
- ``windows_wrong_account``: ※ a mistyped パスワード shows 「認証に失敗しました」; 設定一覧 →
  「アカウント設定」, entering it again and 「キーパッド」 reach the green mark.

Steps ①–⑧ (download, installer, desktop shortcut) are out of scope (catalog).
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
from harness.sip.app_screens import ACCOUNT, GREEN_MARK, KEYPAD, SETTINGS_LIST

SECTION = "P.5"


@manual_step("P5-S2-9")
def click_settings(ctx: FlowContext, app: VirtualApp) -> None:
    """⑨ Arcstar Smart PBX starts; click 「設定」."""
    record_screen(ctx, app, "起動画面")
    app.tap("設定")
    record_screen(ctx, app, "設定一覧")
    expect_screen(app, SETTINGS_LIST)


@manual_step("P5-S2-10")
def click_account_settings(ctx: FlowContext, app: VirtualApp) -> None:
    """⑩ 「設定一覧」 → 「アカウント設定」."""
    app.tap("アカウント設定")
    record_screen(ctx, app, "アカウント設定")
    expect_screen(app, ACCOUNT)


@manual_step("P5-S2-11")
def enter_account(ctx: FlowContext, app: VirtualApp) -> None:
    """⑪ 端末ID, パスワード (内線番号情報1) and 内線サーバアドレス (お客様情報)."""
    enter_from_guide(app)
    record_screen(ctx, app, "アカウント設定 (入力後)")
    check_typed_from_guide(app)


def expect_green_mark(app: VirtualApp, *, what: str) -> None:
    expect(
        app.indicator() == GREEN_MARK,
        what=f"{app.name}: {what}",
        expected=f"the キーパッド's {GREEN_MARK}",
        seen=str(app.indicator()),
    )


@manual_step("P5-S3-12")
def callable_then_dial(ctx: FlowContext, app: VirtualApp) -> None:
    """⑫ 「通話可能」 on the キーパッド; enter another extension's number and 「IP電話」."""
    app.tap("キーパッド")
    expect_screen(app, KEYPAD)
    expect_callable(app, what="P.5 ⑫")
    expect_green_mark(app, what="the キーパッド once registered")
    record_screen(ctx, app, "キーパッド")
    dial_another_extension(ctx, app, button="IP電話")
    record_screen(ctx, app, "通話後")


@manual_step("P5-ERR")
def wrong_account_then_right(ctx: FlowContext, app: VirtualApp) -> None:
    """※ A mistyped パスワード shows 「認証に失敗しました」; 「設定一覧」 → 「アカウント設定」,
    the account again, then 「キーパッド」: the green mark means 通話可能."""
    register_with_typo(app, path=("設定", "アカウント設定"), apply="キーパッド")
    expect_refused(app, what="P.5 ※ a wrong パスワード")
    record_screen(ctx, app, "認証に失敗しました")
    app.go("設定", "アカウント設定")
    enter_from_guide(app)
    app.tap("キーパッド")
    expect_callable(app, what="P.5 ※ after entering the account again")
    expect_green_mark(app, what="the キーパッド after re-entry")
    record_screen(ctx, app, "再入力後")


@flow(
    "P.5 Windows PC: アプリの設定と発信",
    section=SECTION,
    steps=("P5-S2-9", "P5-S2-10", "P5-S2-11", "P5-S3-12"),
    requirement="The Windows PC app set up from ご利用内容のご案内 shows 「通話可能」 and the "
    "green mark, and its 「IP電話」 call rings another extension showing the caller's 内線番号.",
)
def windows_onboarding(ctx: FlowContext) -> None:
    app = open_app(ctx, Platform.WINDOWS)
    try:
        click_settings(ctx, app)
        click_account_settings(ctx, app)
        enter_account(ctx, app)
        callable_then_dial(ctx, app)
    finally:
        app.close()


@flow(
    "P.5 Windows PC: 認証に失敗しました → 再入力",
    section=SECTION,
    steps=("P5-ERR",),
    requirement="A wrong パスワード makes the Windows PC app show 「認証に失敗しました」; "
    "entering the account again reaches the green mark.",
)
def windows_wrong_account(ctx: FlowContext) -> None:
    app = open_app(ctx, Platform.WINDOWS)
    try:
        wrong_account_then_right(ctx, app)
    finally:
        app.close()
