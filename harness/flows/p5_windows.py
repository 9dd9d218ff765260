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

from harness.flows import app_steps as s
from harness.flows.app import VirtualApp
from harness.flows.context import FlowContext
from harness.flows.step import flow, manual_step
from harness.sip.app import Platform
from harness.sip.app_screens import ACCOUNT, GREEN_MARK, KEYPAD, SETTINGS_LIST

SECTION = "P.5"


@manual_step("P5-S2-9")
def click_settings(ctx: FlowContext, app: VirtualApp) -> None:
    """⑨ Arcstar Smart PBX starts; click 「設定」."""
    s.navigate(ctx, app, "設定", arrive=SETTINGS_LIST)


@manual_step("P5-S2-10")
def click_account_settings(ctx: FlowContext, app: VirtualApp) -> None:
    """⑩ 「設定一覧」 → 「アカウント設定」."""
    s.navigate(ctx, app, "アカウント設定", arrive=ACCOUNT)


@manual_step("P5-S2-11")
def enter_account(ctx: FlowContext, app: VirtualApp) -> None:
    """⑪ 端末ID, パスワード (内線番号情報1) and 内線サーバアドレス (お客様情報)."""
    s.type_account(ctx, app)


@manual_step("P5-S3-12")
def callable_then_dial(ctx: FlowContext, app: VirtualApp) -> None:
    """⑫ 「通話可能」 on the キーパッド; enter another extension's number and 「IP電話」."""
    app.tap("キーパッド")
    s.expect_screen(app, KEYPAD)
    s.expect_callable(app, what="P.5 ⑫")
    s.expect_mark(app, GREEN_MARK, what="the キーパッド once registered")
    s.record_screen(ctx, app, "キーパッド")
    s.dial_another_extension(ctx, app, button="IP電話")
    s.record_screen(ctx, app, "通話後")


@manual_step("P5-ERR")
def wrong_account_then_right(ctx: FlowContext, app: VirtualApp) -> None:
    """※ A mistyped パスワード shows 「認証に失敗しました」; 「設定一覧」 → 「アカウント設定」,
    the account again, then 「キーパッド」: the green mark means 通話可能."""
    s.failure_path(
        ctx,
        app,
        to_account=("設定", "アカウント設定"),
        apply=("キーパッド",),
        again=("設定", "アカウント設定"),
        reapply=("キーパッド",),
        mark=GREEN_MARK,
    )


@flow(
    "P.5 Windows PC: アプリの設定と発信",
    section=SECTION,
    steps=("P5-S2-9", "P5-S2-10", "P5-S2-11", "P5-S3-12"),
    requirement="The Windows PC app set up from ご利用内容のご案内 shows 「通話可能」 and the "
    "green mark, and its 「IP電話」 call rings another extension showing the caller's 内線番号.",
)
def windows_onboarding(ctx: FlowContext) -> None:
    s.run_app(
        ctx,
        Platform.WINDOWS,
        click_settings,
        click_account_settings,
        enter_account,
        callable_then_dial,
    )


@flow(
    "P.5 Windows PC: 認証に失敗しました → 再入力",
    section=SECTION,
    steps=("P5-ERR",),
    requirement="A wrong パスワード makes the Windows PC app show 「認証に失敗しました」; "
    "an unknown 端末ID MUST get the very answer the wrong パスワード got (status, headers, "
    "challenge: no enumeration of 端末IDs); entering the account again reaches the green "
    "mark.",
)
def windows_wrong_account(ctx: FlowContext) -> None:
    s.run_app(ctx, Platform.WINDOWS, wrong_account_then_right)
