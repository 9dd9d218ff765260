"""多要素認証 in real Chromium (manual P.2 【Step1】 ④, P.6 【Step1】): the administrator switches
it on; a 端末ユーザ registers an e-mail address, reads the one-time code the simulator sent by SMTP
(through the provisioning API), and logs in; a used or expired code is refused."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from harness.pytest_plugin.browser import NewContext
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.web.pages import (
    AdminTopPage,
    MfaCodePage,
    MfaRegisterPage,
    SettingsLoginPage,
    UserTopPage,
)

from .conftest import ADMIN, USER_20201, last_code, login

pytestmark = pytest.mark.browser

EMAIL = "user20201@example.co.jp"
CODE_LIFETIME_S = 600
"""One-time code validity in simulated seconds (DOMAIN.md: 10 minutes)."""


@pytest.mark.manual_step("P2-S1-4", "P6-S1-mfa")
def test_admin_enables_mfa_and_user_logs_in_with_the_mailed_code(
    sim: SimulatorHandle, page: Page, new_context: NewContext
) -> None:
    admin = login(sim, page, ADMIN)
    assert isinstance(admin, AdminTopPage)
    account = admin.open_account_settings()
    assert account.mfa_enabled() is False
    account.enable_mfa()
    assert account.mfa_enabled() is True
    assert sim.api("GET", "/api/mfa") == {"enabled": True}

    user_page = new_context().new_page()
    register = login(sim, user_page, USER_20201)
    assert isinstance(register, MfaRegisterPage)
    # Half-way through the login the header names no account, but offers ログアウト.
    header = user_page.get_by_role("navigation", name="アカウント")
    expect(header).to_have_text("ログアウト")
    code_page = register.register_email(EMAIL)
    assert isinstance(code_page, MfaCodePage)
    first_code = last_code(sim, EMAIL)

    expect(header).to_have_text("ログアウト")
    top = code_page.enter_code(first_code)
    assert isinstance(top, UserTopPage)
    expect(header).to_contain_text("端末ユーザ: aaaacccc（内線 20201）")
    assert top.extension() == "20201"

    # Every later login asks for a new code; the used one is refused, the new one works.
    again = top.logout().login(*USER_20201)
    assert isinstance(again, MfaCodePage)
    assert len(sim.mail()) == 2, "a login with 多要素認証 on sends a new code"
    second_code = last_code(sim, EMAIL)
    refused = again.enter_code(first_code)
    assert isinstance(refused, MfaCodePage)
    assert "ワンタイムパスワード" in refused.field_errors()
    assert isinstance(refused.enter_code(second_code), UserTopPage)


def test_invalid_email_is_refused_by_the_form(sim: SimulatorHandle, page: Page) -> None:
    sim.set_mfa(True)
    register = login(sim, page, USER_20201)
    assert isinstance(register, MfaRegisterPage)

    result = register.register_email("not-an-address")

    assert isinstance(result, MfaRegisterPage)
    assert "メールアドレス" in result.field_errors()
    assert sim.mail() == []


def test_expired_code_is_refused_and_a_fresh_one_works(new_context: NewContext) -> None:
    # A simulator of its own whose clock runs fast: the 10-minute code lives 1.8 s.
    scale = 0.003
    with start_simulator(time_scale=scale) as fast:
        fast.set_mfa(True)
        page = new_context().new_page()
        register = SettingsLoginPage.open(page, fast.base_url).login(*USER_20201)
        assert isinstance(register, MfaRegisterPage)
        code_page = register.register_email(EMAIL)
        assert isinstance(code_page, MfaCodePage)
        expired = last_code(fast, EMAIL)
        # Wait out the code's lifetime (a deadline of the simulated clock, not a sync sleep).
        time.sleep(CODE_LIFETIME_S * scale * 1.2)

        refused = code_page.enter_code(expired)

        assert isinstance(refused, MfaCodePage)
        assert "有効期限" in refused.field_errors()["ワンタイムパスワード"]
        # The same steps with a code inside its lifetime succeed: time made the difference.
        resent = refused.resend_code()
        assert isinstance(resent, MfaCodePage)
        assert page.url == MfaCodePage.url(fast.base_url)  # POST-redirect-GET
        assert resent.messages() == ["再送信しました。"]
        assert isinstance(resent.enter_code(last_code(fast, EMAIL)), UserTopPage)
