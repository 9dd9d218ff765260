"""お客様管理者 in real Chromium: ビジネスポータル → Web設定変更サイト (P.2 【Step1】) and the whole
初期設定 wizard (P.2 【Step2】), checked on the screens and through the provisioning API."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from harness.pytest_plugin.sim import SimulatorHandle
from harness.web.pages import (
    AdminTopPage,
    ExtensionRow,
    InboundRouteForm,
    InboundRoutePage,
    OutboundCallerIdPage,
    PortalLoginPage,
    PortalMenuPage,
    RingGroupPage,
    RingGroupRow,
    SettingsLoginPage,
)

from .conftest import ADMIN

pytestmark = pytest.mark.browser


@pytest.mark.manual_step("P2-S1-1", "P2-S1-2", "P2-S1-3", "P2-S1-4")
def test_portal_service_menu_leads_to_the_settings_site_login(
    sim: SimulatorHandle, page: Page
) -> None:
    menu = PortalLoginPage.open(page, sim.base_url).login(*ADMIN)
    assert isinstance(menu, PortalMenuPage)
    settings_login = menu.go_to_settings_site()
    assert isinstance(settings_login, SettingsLoginPage)
    assert settings_login.heading() == "Arcstar Smart PBX Web設定変更サイト"

    top = settings_login.login(*ADMIN)

    assert isinstance(top, AdminTopPage)


def test_wrong_password_stays_on_login_with_an_error(sim: SimulatorHandle, page: Page) -> None:
    result = SettingsLoginPage.open(page, sim.base_url).login(ADMIN[0], "Wrong0pass")
    assert isinstance(result, SettingsLoginPage)
    assert result.messages(), "no error shown for a wrong password"


@pytest.mark.manual_step("P2-S2-1", "P2-S2-2", "P2-S2-3", "P2-S2-3-note1", "P2-S2-4")
def test_initial_setup_wizard_end_to_end(
    blank_sim: SimulatorHandle, admin_top: AdminTopPage
) -> None:
    sim = blank_sim
    # ① 内線一覧表示: the extensions of the ご利用内容, read only.
    extensions = admin_top.open_initial_setup()
    assert extensions.extensions() == [
        ExtensionRow(
            extension="20200",
            site_number="20",
            terminal_number="200",
            terminal_id="abcde20200",
            terminal_kind="スマートフォン",
        ),
        ExtensionRow(
            extension="20201",
            site_number="20",
            terminal_number="201",
            terminal_id="abcde20201",
            terminal_kind="ソフトフォン",
        ),
    ]

    # ② 着信グループ設定: one group of each kind.
    groups = extensions.next()
    assert groups.groups() == []
    for kind, pilot, members, ring_time in [
        ("順次着信", "20200", ["20201"], 15),
        ("一斉着信", "20201", ["20200"], None),
        ("コールピックアップ", None, ["20200", "20201"], None),
    ]:
        after = groups.add_group(kind, pilot, members, ring_time)
        assert isinstance(after, RingGroupPage), after.field_errors()
        groups = after
    assert groups.groups() == [
        RingGroupRow(kind="順次着信", pilot="20200", members=("20201",), ring_time=15),
        RingGroupRow(kind="一斉着信", pilot="20201", members=("20200",), ring_time=20),
        RingGroupRow(kind="コールピックアップ", pilot="", members=("20200", "20201"), ring_time=20),
    ]

    # ③ 外線着信設定 before 開通: 接続エラー; pressing 設定 again after 開通 works (*1).
    inbound = groups.next()
    sim.set_line_live("0312345678", False)
    refused = inbound.set_inbound_route("0312345678", "20200")
    assert isinstance(refused, InboundRouteForm)
    assert any("接続エラー" in message for message in refused.messages())
    sim.set_line_live("0312345678", True)
    retried = refused.press_set_again()
    assert isinstance(retried, InboundRoutePage)
    [route] = retried.routes()
    assert (route.external_number, route.destination, route.state) == (
        "0312345678",
        "20200",
        "設定済",
    )

    # ④ 外線発信設定, then 完了 back to the top page.
    outbound = retried.next()
    saved = outbound.set_outbound_caller_id("20201", "0312345678")
    assert isinstance(saved, OutboundCallerIdPage)
    assert saved.caller_ids() == {"20200": "", "20201": "0312345678"}
    assert isinstance(saved.finish(), AdminTopPage)

    assert sim.settings() == {
        "着信グループ": [
            {"種別": "順次着信", "代表番号": "20200", "メンバー": ["20201"], "呼出時間": 15},
            {"種別": "一斉着信", "代表番号": "20201", "メンバー": ["20200"], "呼出時間": 20},
            {"種別": "コールピックアップ", "メンバー": ["20200", "20201"], "呼出時間": 20},
        ],
        "外線着信設定": [{"外線番号": "0312345678", "着信先": "20200"}],
        "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345678"}],
        "不在時動作設定": {},
    }


def test_deleted_group_is_gone_from_the_table_and_the_settings(
    blank_sim: SimulatorHandle, admin_top: AdminTopPage
) -> None:
    sim = blank_sim
    groups = admin_top.open_initial_setup().next()
    added = groups.add_group("一斉着信", "20201", ["20200"])
    assert isinstance(added, RingGroupPage)
    assert len(sim.settings()["着信グループ"]) == 1

    after = added.delete_group(0)

    assert isinstance(after, RingGroupPage)
    assert after.groups() == []
    assert sim.settings()["着信グループ"] == []
