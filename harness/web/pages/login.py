"""Web設定変更サイトのログイン画面 (administrator and 端末ユーザ share it)."""

from __future__ import annotations

from harness.web.pages.base import Screen, current_screen


class SettingsLoginPage(Screen):
    """「Arcstar Smart PBX Web設定変更サイト」 login.

    Manual P.2 【Step1】 ③: 「「ご利用内容のご案内」に記載された管理者アカウントで、
    Web設定変更サイトへログインしてください。」 and P.6 【Step1】: 「「Web設定変更サイト
    端末ユーザアカウント」を入力して、ログインします。」
    """

    PATH = "/SmartPBX/Login"
    TITLE = "Arcstar Smart PBX Web設定変更サイト"

    def login(self, login_id: str, password: str) -> Screen:
        """Type ログインID and パスワード and press ログイン; return the screen that follows.

        That is :class:`~harness.web.pages.admin.AdminTopPage` for the 管理者アカウント,
        :class:`~harness.web.pages.user.UserTopPage` for a 端末ユーザ, the 多要素認証 screens
        (:class:`~harness.web.pages.mfa.MfaRegisterPage`,
        :class:`~harness.web.pages.mfa.MfaCodePage`)
        when the administrator switched it on, or this screen again with its error
        (:meth:`messages`) when the login was refused.
        """
        self.page.get_by_label("ログインID").fill(login_id)
        self.page.get_by_label("パスワード").fill(password)
        self._click_and_wait(self.page.get_by_role("button", name="ログイン"))
        return current_screen(self.page)
