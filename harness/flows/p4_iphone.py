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

from harness.flows import app_steps as s
from harness.flows.app import VirtualApp
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
    s.navigate(ctx, app, "設定", "アカウント設定", arrive=ACCOUNT)


@manual_step("P4-S2-6")
def enter_account(ctx: FlowContext, app: VirtualApp) -> None:
    """⑥ 端末ID, パスワード (内線番号情報1) and 内線サーバアドレス (お客さま情報)."""
    s.type_account(ctx, app, service_code=False)


@manual_step("P4-S2-7")
def save(ctx: FlowContext, app: VirtualApp) -> None:
    """⑦ サービスコード when the carrier gave one (the guide's サービスコード), then 「保存」
    at the top right: the app registers."""
    s.enter_from_guide(app)
    s.check_typed_from_guide(app)
    app.tap("保存")
    s.record_screen(ctx, app, "保存")
    s.expect_screen(app, SETTINGS_LIST)


@manual_step("P4-S3-8")
def keyboard_tab_callable(ctx: FlowContext, app: VirtualApp) -> None:
    """⑧ The 「キーボード」 tab shows 「3G/LTEで通話可能」 (on 3G/LTE) or 「Wi-Fiで通話可能」
    (on Wi-Fi): both, by moving the phone from 3G/LTE to a Wi-Fi network."""
    app.tap("キーボード")
    s.expect_screen(app, KEYBOARD_TAB)
    s.expect_callable(app, what="P.4 ⑧ on 3G/LTE")
    s.record_screen(ctx, app, "キーボード (3G/LTE)")
    app.move_to(Network.wifi(WIFI_NAME))
    s.expect_callable(app, what="P.4 ⑧ on Wi-Fi")
    s.record_screen(ctx, app, "キーボード (Wi-Fi)")


@manual_step("P4-ERR")
def wrong_account_then_right(ctx: FlowContext, app: VirtualApp) -> None:
    """※ A mistyped パスワード shows 「通話不可」; 「閉じる」, 設定一覧 → 「アカウント設定」, the
    account again and 「保存」 make the 「キーボード」 tab callable."""
    s.failure_path(
        ctx,
        app,
        to_account=("設定", "アカウント設定"),
        apply=("保存", "キーボード"),
        again=("閉じる", "アカウント設定"),
        reapply=("保存", "キーボード"),
    )


@flow(
    "P.4 iPhone: アプリの設定",
    section=SECTION,
    steps=("P4-S2-5", "P4-S2-6", "P4-S2-7", "P4-S3-8"),
    requirement="The iPhone app set up from ご利用内容のご案内 registers and its キーボード tab "
    "shows 「3G/LTEで通話可能」 on 3G/LTE and 「Wi-Fiで通話可能」 on Wi-Fi.",
)
def iphone_onboarding(ctx: FlowContext) -> None:
    s.run_app(
        ctx, Platform.IPHONE, show_account_settings, enter_account, save, keyboard_tab_callable
    )


@flow(
    "P.4 iPhone: 通話不可 → 再入力",
    section=SECTION,
    steps=("P4-ERR",),
    requirement="A wrong パスワード makes the iPhone app show 「通話不可」; an unknown 端末ID "
    "MUST get the very answer the wrong パスワード got (status, headers, challenge: no "
    "enumeration of 端末IDs); entering the account again and 保存 make it callable.",
)
def iphone_wrong_account(ctx: FlowContext) -> None:
    s.run_app(ctx, Platform.IPHONE, wrong_account_then_right)
