"""P.4 【Arcstar Smart PBX(iPhone版)】ご利用までの流れ(端末ご利用者向け), as flows.

The iPhone app of the tenant's first スマートフォン terminal (内線番号情報1; the documents do
not say which smartphones are iPhones, so the same row serves P.3 and P.4), on the virtual
app's screens (harness.sip.app_screens):

- ``iphone_onboarding``: ⑤ 「設定」tab → 「アカウント設定」 → ⑥ 端末ID / パスワード /
  内線サーバアドレス → ⑦ サービスコード (when the guide has one) and 「保存」 → ⑧ 「キーボード」tab
  shows 「3G/LTEで通話可能」 on 3G/LTE and 「Wi-Fiで通話可能」 on Wi-Fi;
- ``iphone_wrong_account``: ※ a mistyped パスワード shows 「通話不可」; 「閉じる」 → 設定一覧 →
  「アカウント設定」, entering it again and 「保存」 make the キーボード tab callable.

Steps ①–④ (AppStore, install, OS permission prompts) are out of scope (catalog).
"""

from __future__ import annotations

from harness.flows.app import VirtualApp
from harness.flows.app_steps import (
    check_typed_from_guide,
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
from harness.sip.app import Network, Platform
from harness.sip.app_screens import ACCOUNT, KEYBOARD_TAB, SETTINGS_LIST

SECTION = "P.4"

#: The Wi-Fi network the phone joins to see 「Wi-Fiで通話可能」 (any name: no FIC here).
WIFI_NAME = "office-wifi"


@manual_step("P4-S2-5")
def show_account_settings(ctx: FlowContext, app: VirtualApp) -> None:
    """⑤ From the 「設定」 tab, open the 「アカウント設定」 screen."""
    record_screen(ctx, app, "キーボード (起動後)")
    app.go("設定", "アカウント設定")
    record_screen(ctx, app, "アカウント設定")
    expect_screen(app, ACCOUNT)


@manual_step("P4-S2-6")
def enter_account(ctx: FlowContext, app: VirtualApp) -> None:
    """⑥ 端末ID, パスワード (内線番号情報1) and 内線サーバアドレス (お客さま情報)."""
    enter_from_guide(app, service_code=False)
    record_screen(ctx, app, "アカウント設定 (入力後)")
    check_typed_from_guide(app, service_code=False)


@manual_step("P4-S2-7")
def save(ctx: FlowContext, app: VirtualApp) -> None:
    """⑦ サービスコード when the carrier gave one (the guide's サービスコード), then 「保存」
    at the top right: the app registers."""
    enter_from_guide(app)
    check_typed_from_guide(app)
    app.tap("保存")
    record_screen(ctx, app, "保存")
    expect_screen(app, SETTINGS_LIST)


@manual_step("P4-S3-8")
def keyboard_tab_callable(ctx: FlowContext, app: VirtualApp) -> None:
    """⑧ The 「キーボード」 tab shows 「3G/LTEで通話可能」 (on 3G/LTE) or 「Wi-Fiで通話可能」
    (on Wi-Fi): both, by moving the phone from 3G/LTE to a Wi-Fi network."""
    app.tap("キーボード")
    expect_screen(app, KEYBOARD_TAB)
    expect_callable(app, what="P.4 ⑧ on 3G/LTE")
    record_screen(ctx, app, "キーボード (3G/LTE)")
    app.move_to(Network.wifi(WIFI_NAME))
    expect_callable(app, what="P.4 ⑧ on Wi-Fi")
    record_screen(ctx, app, "キーボード (Wi-Fi)")


@manual_step("P4-ERR")
def wrong_account_then_right(ctx: FlowContext, app: VirtualApp) -> None:
    """※ A mistyped パスワード shows 「通話不可」; 「閉じる」, 設定一覧 → 「アカウント設定」, the
    account again and 「保存」 make the 「キーボード」 tab callable."""
    register_with_typo(app, path=("設定", "アカウント設定"), apply="保存")
    app.tap("キーボード")
    expect_refused(app, what="P.4 ※ a wrong パスワード")
    record_screen(ctx, app, "通話不可")
    app.go("閉じる", "アカウント設定")
    enter_from_guide(app)
    app.go("保存", "キーボード")
    expect_callable(app, what="P.4 ※ after entering the account again")
    record_screen(ctx, app, "再入力後")


@flow(
    "P.4 iPhone: アプリの設定",
    section=SECTION,
    steps=("P4-S2-5", "P4-S2-6", "P4-S2-7", "P4-S3-8"),
    requirement="The iPhone app set up from ご利用内容のご案内 registers and its キーボード tab "
    "shows 「3G/LTEで通話可能」 on 3G/LTE and 「Wi-Fiで通話可能」 on Wi-Fi.",
)
def iphone_onboarding(ctx: FlowContext) -> None:
    app = open_app(ctx, Platform.IPHONE)
    try:
        show_account_settings(ctx, app)
        enter_account(ctx, app)
        save(ctx, app)
        keyboard_tab_callable(ctx, app)
    finally:
        app.close()


@flow(
    "P.4 iPhone: 通話不可 → 再入力",
    section=SECTION,
    steps=("P4-ERR",),
    requirement="A wrong パスワード makes the iPhone app show 「通話不可」; entering the account "
    "again and 保存 make it callable.",
)
def iphone_wrong_account(ctx: FlowContext) -> None:
    app = open_app(ctx, Platform.IPHONE)
    try:
        wrong_account_then_right(ctx, app)
    finally:
        app.close()
