"""多要素認証 of a 端末ユーザ: registering an e-mail address, then entering the one-time code.

Manual P.6 【Step1】: 「お客様管理者が多要素認証をONに設定されている場合は初回ログイン時に
メールアドレスを登録ください。」 (code by e-mail: 6 digits, 10 minutes, single use; DOMAIN.md).
"""

from __future__ import annotations

from harness.web.pages.base import Screen, current_screen


class MfaRegisterPage(Screen):
    """メールアドレス登録 at a 端末ユーザ's first login with 多要素認証 on (manual P.6)."""

    PATH = "/SmartPBX/Mfa/Register"

    def register_email(self, address: str) -> Screen:
        """Type メールアドレス and press 「登録」.

        Returns :class:`MfaCodePage` (a code was mailed), or this screen with a field error.
        """
        self.page.get_by_label("メールアドレス").fill(address)
        self._click_and_wait(self.page.get_by_role("button", name="登録"))
        return current_screen(self.page)


class MfaCodePage(Screen):
    """ワンタイムパスワード入力 at every login of a 端末ユーザ with 多要素認証 on (P.6)."""

    PATH = "/SmartPBX/Mfa/Code"

    def enter_code(self, code: str) -> Screen:
        """Type the ワンタイムパスワード from the e-mail and press 「認証」.

        Returns the 端末ユーザ's top page, or this screen with an error (wrong, expired or
        already used code).
        """
        self.page.get_by_label("ワンタイムパスワード").fill(code)
        self._click_and_wait(self.page.get_by_role("button", name="認証"))
        return current_screen(self.page)

    def resend_code(self) -> Screen:
        """Press 「再送信」: a new code is mailed and the previous one stops working.

        The site redirects back to this screen, which then shows 「再送信しました。」
        (:meth:`messages`). Returns the screen the browser landed on: this one, or the login
        page when the half-done login had ended meanwhile.
        """
        self._click_and_wait(self.page.get_by_role("button", name="再送信"))
        return current_screen(self.page)
