"""Administrator (お客様管理者) screens of the Web設定変更サイト: top page and アカウント設定."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.web.pages.base import Screen, SignedInScreen, current_screen

if TYPE_CHECKING:
    from harness.web.pages.initial_setup import ExtensionListPage


class AdminTopPage(SignedInScreen):
    """トップ画面 of the administrator.

    Manual P.2 【Step1】 ④ 「これでWeb設定変更サイトへログインできました。(端末ご利用者の
    多要素認証設定を行う場合はアカウント設定にて対応ください。)」 and 【Step2】 ① 「トップ画面で
    「初期設定」を押していただくと、初期設定に必要な画面が順次表示されます。」
    """

    PATH = "/SmartPBX/Top"

    def open_initial_setup(self) -> ExtensionListPage:
        """Press 「初期設定」: the wizard starts with 内線一覧表示 (P.2 【Step2】 ①)."""
        from harness.web.pages.initial_setup import ExtensionListPage

        self._click_and_wait(self.page.get_by_role("link", name="初期設定"))
        return ExtensionListPage(self.page)

    def open_account_settings(self) -> AccountSettingsPage:
        """Follow 「アカウント設定」 (P.2 【Step1】 ④)."""
        self._click_and_wait(self.page.get_by_role("link", name="アカウント設定"))
        return AccountSettingsPage(self.page)


class AccountSettingsPage(SignedInScreen):
    """アカウント設定: 多要素認証 of the 端末ユーザ on or off; locked 端末ユーザ and 「ロック解除」.

    Manual P.2 【Step1】 ④: 「端末ご利用者の多要素認証設定を行う場合はアカウント設定にて
    対応ください。」
    """

    PATH = "/SmartPBX/Account"
    TITLE = "アカウント設定"

    def mfa_enabled(self) -> bool:
        """Whether 多要素認証 is shown as 有効."""
        return self.page.get_by_role("radio", name="有効").is_checked()

    def enable_mfa(self) -> Screen:
        """Choose 多要素認証 「有効」 and press 「設定」."""
        return self._set_mfa("有効")

    def disable_mfa(self) -> Screen:
        """Choose 多要素認証 「無効」 and press 「設定」."""
        return self._set_mfa("無効")

    def _set_mfa(self, choice: str) -> Screen:
        self.page.get_by_role("radio", name=choice).check()
        self._click_and_wait(self.page.get_by_role("button", name="設定"))
        return current_screen(self.page)

    def locked_users(self) -> list[str]:
        """ログインIDs of the 端末ユーザ listed under 「ロック中の端末ユーザ」."""
        section = self.page.get_by_role("region", name="ロック中の端末ユーザ")
        table = section.get_by_role("table")
        if table.count() == 0:
            return []
        return [row["ログインID"] for row in self._table(table)]

    def unlock(self, login_id: str) -> AccountSettingsPage:
        """Press 「ロック解除」 on ``login_id``'s row: its lock ends at once (this screen again,
        with 「ロックを解除しました。」 in ``messages()``)."""
        section = self.page.get_by_role("region", name="ロック中の端末ユーザ")
        row = self._row(login_id, section.get_by_role("table"))
        self._click_and_wait(row.get_by_role("button", name="ロック解除"))
        return AccountSettingsPage(self.page)

    def back_to_top(self) -> AdminTopPage:
        """Return to the トップ画面."""
        self._click_and_wait(self.page.get_by_role("link", name="戻る"))
        return AdminTopPage(self.page)
