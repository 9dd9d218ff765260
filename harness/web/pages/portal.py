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
    """ビジネスポータルのトップ画面 and its 「サービスメニュー」.

    Manual P.2 【Step1】 ②: 「「サービスメニュー」から「Arcstar Smart PBX 設定変更」と進みます。」
    (画面上部の「サービスメニュー」から「Smart PBX」を選択します。)
    """

    PATH = "/b-portal/"

    def open_service_menu(self) -> PortalMenuPage:
        """Open 「サービスメニュー」 at the top of the screen."""
        self.page.get_by_role("navigation", name="サービスメニュー").get_by_text(
            "サービスメニュー", exact=True
        ).first.click()
        return self

    def choose_smart_pbx(self) -> PortalMenuPage:
        """Choose 「Smart PBX」 in the service menu."""
        self.page.get_by_role("link", name="Smart PBX", exact=True).click()
        return self

    def open_settings_site(self) -> SettingsLoginPage:
        """Follow 「Arcstar Smart PBX 設定変更」 to the Web設定変更サイト's login."""
        self._click_and_wait(self.page.get_by_role("link", name="Arcstar Smart PBX 設定変更"))
        return SettingsLoginPage(self.page)

    def go_to_settings_site(self) -> SettingsLoginPage:
        """サービスメニュー → Smart PBX → Arcstar Smart PBX 設定変更, as the manual says."""
        return self.open_service_menu().choose_smart_pbx().open_settings_site()
