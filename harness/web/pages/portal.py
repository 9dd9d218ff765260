"""ビジネスポータル: the stand-in for b-portal.ntt.com where the administrator starts (manual P.2
【Step1】 ①②)."""

from __future__ import annotations

from harness.web.pages.base import Screen, current_screen
from harness.web.pages.login import SettingsLoginPage


class PortalLoginPage(Screen):
    """ビジネスポータルのログイン画面.

    Manual P.2 【Step1】 ①: 「NTTコミュニケーションズビジネスポータルへログインします。」
    (ビジネスポータルのご案内メールに従ってログイン).
    """

    PATH = "/b-portal/login"
    TITLE = "ビジネスポータル"

    def login(self, login_id: str, password: str) -> Screen:
        """Type ログインID and パスワード and press ログイン.

        Returns :class:`PortalMenuPage` on success, this screen (with its error) otherwise.
        """
        self.page.get_by_label("ログインID").fill(login_id)
        self.page.get_by_label("パスワード").fill(password)
        self._click_and_wait(self.page.get_by_role("button", name="ログイン"))
        return current_screen(self.page)


class PortalMenuPage(Screen):
    """ビジネスポータルのトップ画面 with its 「サービスメニュー」.

    Manual P.2 【Step1】 ②: 「「サービスメニュー」から「Arcstar Smart PBX 設定変更」と進みます。」
    (画面上部の「サービスメニュー」から「Smart PBX」を選択します。)
    """

    PATH = "/b-portal/"

    def choose_smart_pbx(self) -> PortalServicePage:
        """Choose 「Smart PBX」 in the 「サービスメニュー」 at the top of the screen."""
        menu = self.page.get_by_role("navigation", name="サービスメニュー")
        self._click_and_wait(menu.get_by_role("link", name="Smart PBX", exact=True))
        return PortalServicePage(self.page)

    def go_to_settings_site(self) -> SettingsLoginPage:
        """サービスメニュー → Smart PBX → Arcstar Smart PBX 設定変更, as the manual says."""
        return self.choose_smart_pbx().open_settings_site()


class PortalServicePage(Screen):
    """The portal's 「Smart PBX」 page, from the サービスメニュー (manual P.2 【Step1】 ②)."""

    PATH = "/b-portal/services/smartpbx"
    TITLE = "Smart PBX"

    def open_settings_site(self) -> SettingsLoginPage:
        """Follow 「Arcstar Smart PBX 設定変更」 to the Web設定変更サイト's login."""
        self._click_and_wait(self.page.get_by_role("link", name="Arcstar Smart PBX 設定変更"))
        return SettingsLoginPage(self.page)
