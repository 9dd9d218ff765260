"""Security of the Web設定変更サイト as a person with a browser can probe it (issue 5 §5): a
端末ユーザ reaches neither the administrator's screens nor another extension's 不在時動作設定;
cookies, session rotation and lockout. The module shares logins (``user_page``, ``admin_page``),
so no test here uses the ``sim`` fixture, whose reset would end them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.web.pages import (
    AbsencePage,
    AccountSettingsPage,
    AdminTopPage,
    ExtensionListPage,
    InboundRouteForm,
    InboundRoutePage,
    OutboundCallerIdForm,
    OutboundCallerIdPage,
    RingGroupAddForm,
    RingGroupPage,
    Screen,
    SettingsLoginPage,
    UserTopPage,
    current_screen,
)

from .conftest import ADMIN, USER_20200, USER_20201

pytestmark = pytest.mark.browser

LOCKOUT_AFTER = 5
"""Failed logins before an account locks (the simulator's default, ``serve --lockout-after``)."""

ADMIN_SCREENS: list[tuple[type[Screen], tuple[str, ...]]] = [
    (AdminTopPage, ()),
    (ExtensionListPage, ()),
    (RingGroupPage, ()),
    (RingGroupAddForm, ()),
    (InboundRoutePage, ()),
    (InboundRouteForm, ("0312345678",)),
    (OutboundCallerIdPage, ()),
    (OutboundCallerIdForm, ("20201",)),
    (AccountSettingsPage, ()),
]

FORBIDDEN = (403, "アクセスできません")


def _visit(page: Page, url: str) -> tuple[int, str]:
    response = page.goto(url)
    status = response.status if response is not None else 0
    return status, current_screen(page).heading()


def test_terminal_user_cannot_open_any_administrator_screen(
    module_simulator: SimulatorHandle, user_page: Page
) -> None:
    seen = {
        screen.__name__: _visit(user_page, screen.url(module_simulator.base_url, *record))
        for screen, record in ADMIN_SCREENS
    }
    assert seen == {screen.__name__: FORBIDDEN for screen, _ in ADMIN_SCREENS}


def test_administrator_cannot_open_terminal_user_screens(
    module_simulator: SimulatorHandle, admin_page: Page
) -> None:
    seen = {
        screen.__name__: _visit(admin_page, screen.url(module_simulator.base_url))
        for screen in (UserTopPage, AbsencePage)
    }
    assert seen == {"UserTopPage": FORBIDDEN, "AbsencePage": FORBIDDEN}


def test_another_extensions_absence_page_is_refused(
    module_simulator: SimulatorHandle, user_page: Page
) -> None:
    url = f"{module_simulator.base_url}{AbsencePage.PATH}?extension=20200"
    assert _visit(user_page, url) == FORBIDDEN


def test_absence_form_tampered_to_another_extension_saves_nothing(
    module_simulator: SimulatorHandle, user_page: Page
) -> None:
    before = module_simulator.settings()
    absence = AbsencePage.open(user_page, module_simulator.base_url)
    # What a person could do with the browser's developer tools: point the form at 20200.
    user_page.locator("input[type=hidden][name=extension]").evaluate("(e) => e.value = '20200'")

    result = absence.set_absence_forwarding("09011112222", {"無条件": "転送"}, None)

    assert result.heading() == "アクセスできません"
    assert module_simulator.settings() == before


@pytest.mark.parametrize("screen", [AdminTopPage, InboundRoutePage, UserTopPage, AbsencePage])
def test_screens_without_login_lead_to_the_login(
    module_simulator: SimulatorHandle, page: Page, screen: type[Screen]
) -> None:
    screen.open(page, module_simulator.base_url)
    assert isinstance(current_screen(page), SettingsLoginPage)


def test_session_cookie_is_httponly_samesite_and_rotated_at_login(
    module_simulator: SimulatorHandle, page: Page
) -> None:
    login_page = SettingsLoginPage.open(page, module_simulator.base_url)
    before = {c["name"]: c for c in page.context.cookies()}
    assert login_page.login(*USER_20201).heading() == "トップ"
    after = {c["name"]: c for c in page.context.cookies()}

    [name] = after
    assert after[name]["httpOnly"] is True
    assert after[name]["sameSite"] in ("Lax", "Strict")
    assert after[name]["value"] != before[name]["value"]


def test_account_locks_after_repeated_wrong_passwords(
    module_simulator: SimulatorHandle, page: Page
) -> None:
    # 20200's account: the module's shared login is 20201's (the lock lasts 900 simulated s).
    login_page = SettingsLoginPage.open(page, module_simulator.base_url)
    for _ in range(LOCKOUT_AFTER):
        refused = login_page.login(USER_20200[0], "Wrong0pass")
        assert isinstance(refused, SettingsLoginPage)

    locked = login_page.login(*USER_20200)

    assert isinstance(locked, SettingsLoginPage)
    assert any("ロック" in message for message in locked.messages())


def test_administrator_unlocks_a_locked_terminal_user(page: Page) -> None:
    # A simulator of its own whose locks last a day: the unlock, not the clock, ends this one.
    with start_simulator(extra_args=["--lockout-time", "86400"]) as sim:
        login_page = SettingsLoginPage.open(page, sim.base_url)
        for _ in range(LOCKOUT_AFTER):
            login_page.login(USER_20200[0], "Wrong0pass")
        top = login_page.login(*ADMIN)
        assert isinstance(top, AdminTopPage)
        account = top.open_account_settings()
        assert account.locked_users() == [USER_20200[0]]

        unlocked = account.unlock(USER_20200[0])

        assert "ロックを解除しました。（aaaabbbb）" in unlocked.messages()
        assert unlocked.locked_users() == []
        again = unlocked.back_to_top().logout().login(*USER_20200)
        assert isinstance(again, UserTopPage)
