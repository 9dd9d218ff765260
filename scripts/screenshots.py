"""Screenshots of every screen of the simulator's web site, taken through the page objects.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--guide DIR]

Starts the embedded simulator (a subprocess on free loopback ports) with the manual's sample
tenant, walks the screens the way the manual does (ビジネスポータル → Web設定変更サイト → 初期設定 →
アカウント設定; 端末ユーザ → 不在時動作設定; 多要素認証) and writes one PNG per screen. Re-runnable:
files are overwritten, so the pictures follow the screens.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import TypeVar

from playwright.sync_api import Browser, Page

from harness.pytest_plugin.sim import SAMPLE_GUIDE, SimulatorHandle, start_simulator
from harness.web.browser import open_browser
from harness.web.pages import (
    AbsencePage,
    AccountSettingsPage,
    AdminTopPage,
    ExtensionListPage,
    InboundRouteForm,
    InboundRoutePage,
    MfaCodePage,
    MfaRegisterPage,
    OutboundCallerIdForm,
    OutboundCallerIdPage,
    PortalLoginPage,
    PortalMenuPage,
    RingGroupAddForm,
    RingGroupDeletePage,
    RingGroupPage,
    Screen,
    SettingsLoginPage,
    UserTopPage,
)

ROOT = Path(__file__).resolve().parents[1]
ADMIN = ("adm01234abc", "Adm1nPass01")
USER = ("aaaacccc", "ccccddd2")
FORWARDING = {
    "種別": "転送/留守番電話",
    "転送先電話番号": "09011112222",
    "転送動作": {"無条件": "転送"},
}


class Camera:
    """Writes ``NN-name.png`` of whole pages into one folder, numbering in shooting order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def shoot(self, screen: Screen, name: str) -> Screen:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        screen.page.screenshot(path=path, full_page=True)
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        return screen


S = TypeVar("S", bound=Screen)


def _expect(screen: Screen, kind: type[S]) -> S:
    if not isinstance(screen, kind):
        raise SystemExit(f"expected {kind.__name__}, the browser shows {screen!r}")
    return screen


def _page(browser: Browser) -> Page:
    context = browser.new_context(
        locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 800}
    )
    return context.new_page()


def administrator(sim: SimulatorHandle, browser: Browser, camera: Camera) -> None:
    """ビジネスポータル → 設定変更 → login → 初期設定 (each step) → アカウント設定."""
    sim.put_settings({})  # a new tenant (新設): 初期設定 starts from nothing
    page = _page(browser)
    portal = camera.shoot(PortalLoginPage.open(page, sim.base_url), "portal-login")
    menu = _expect(_expect(portal, PortalLoginPage).login(*ADMIN), PortalMenuPage)
    camera.shoot(menu, "portal-service-menu")
    service = menu.choose_smart_pbx()
    camera.shoot(service, "portal-smart-pbx")
    login = camera.shoot(service.open_settings_site(), "settings-login")
    top = _expect(_expect(login, SettingsLoginPage).login(*ADMIN), AdminTopPage)
    camera.shoot(top, "admin-top")

    extensions = camera.shoot(top.open_initial_setup(), "init-1-extensions")
    groups = _expect(extensions, ExtensionListPage).next()
    _expect(groups.add_group("順次着信", "20200", ["20201"], 15), RingGroupPage)
    _expect(groups.add_group("コールピックアップ", None, ["20200", "20201"]), RingGroupPage)
    camera.shoot(groups, "init-2-ring-groups")
    asked = camera.shoot(groups.open_delete(0), "init-2-ring-group-delete")
    groups = _expect(asked, RingGroupDeletePage).cancel()
    form = groups.open_add_form().fill("一斉着信", "20201", ["20200", "20999"], 90)
    camera.shoot(_expect(form.submit(), RingGroupAddForm), "init-2-ring-group-add-errors")
    # 20201 with its own 不在時動作: the add form warns that a pilot loses it.
    settings = sim.settings()
    sim.put_settings({**settings, "不在時動作設定": {"20201": FORWARDING}})
    warned = RingGroupAddForm.open(page, sim.base_url)
    camera.shoot(warned, "init-2-ring-group-add-pilot-warning")
    sim.put_settings(settings)

    sim.set_line_live("0312345678", False)
    inbound = RingGroupPage.open(page, sim.base_url).next()
    refused = _expect(inbound.set_inbound_route("0312345678", "20200"), InboundRouteForm)
    camera.shoot(refused, "init-3-inbound-connection-error")
    sim.set_line_live("0312345678", True)
    inbound = _expect(refused.press_set_again(), InboundRoutePage)
    camera.shoot(inbound, "init-3-inbound")
    chosen = InboundRouteForm.open(page, sim.base_url, "0312345678")
    chosen.page.locator("details.effects summary").click()  # 着信先ごとの動作, opened
    camera.shoot(chosen, "init-3-inbound-form")
    inbound = InboundRoutePage.open(page, sim.base_url)

    outbound = inbound.next()
    outbound.set_outbound_caller_id("20201", "0312345678")
    camera.shoot(outbound, "init-4-outbound")
    camera.shoot(OutboundCallerIdForm.open(page, sim.base_url, "20200"), "init-4-outbound-form")
    top = OutboundCallerIdPage.open(page, sim.base_url).finish()

    account = top.open_account_settings()
    account.enable_mfa()
    camera.shoot(_expect(account, AccountSettingsPage), "account-mfa")
    page.context.close()


def terminal_user(sim: SimulatorHandle, browser: Browser, camera: Camera) -> None:
    """端末ユーザ with 多要素認証 on: e-mail registration, code, top, 不在時動作設定."""
    page = _page(browser)
    register = SettingsLoginPage.open(page, sim.base_url).login(*USER)
    register = camera.shoot(_expect(register, MfaRegisterPage), "mfa-register")
    code_page = _expect(
        _expect(register, MfaRegisterPage).register_email("user20201@example.co.jp"), MfaCodePage
    )
    camera.shoot(code_page, "mfa-code")
    code = re.search(r"(?<!\d)\d{6}(?!\d)", sim.mail()[-1]["body"])
    if code is None:
        raise SystemExit(f"no one-time code in {sim.mail()[-1]}")
    top = _expect(code_page.enter_code(code.group()), UserTopPage)
    camera.shoot(top, "user-top")

    absence = top.open_absence_settings()
    absence.set_absence_forwarding(
        "090-1111-2222", {"話中": "転送", "圏外": "留守番電話", "無応答": "転送"}, 15
    )
    camera.shoot(absence, "user-absence-forwarding")
    absence = AbsencePage.open(page, sim.base_url)
    absence.set_single_number_reach("09011112222", 5, "0311112222", 10, 30, True)
    camera.shoot(absence, "user-absence-single-number-reach")
    absence = AbsencePage.open(page, sim.base_url)
    absence.set_absence_forwarding("090-abcd", {"無応答": "転送"}, 45)
    camera.shoot(absence, "user-absence-errors")
    absence = AbsencePage.open(page, sim.base_url)
    absence.set_single_number_reach("09011112222", 5, "0311112222", 30, 20, True)
    camera.shoot(absence, "user-absence-reach-leg-never-rings")
    page.get_by_role("radio", name="転送/留守番電話設定").check()
    camera.shoot(absence, "user-absence-kind-switch-warning")
    page.context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--guide", type=Path, default=SAMPLE_GUIDE)
    args = parser.parse_args(argv)
    started = time.monotonic()
    for old in args.out.glob("*.png"):
        old.unlink()
    camera = Camera(args.out)
    with start_simulator(args.guide) as sim, open_browser() as browser:
        administrator(sim, browser, camera)
        terminal_user(sim, browser, camera)
    print(f"{camera.count} screenshots in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
