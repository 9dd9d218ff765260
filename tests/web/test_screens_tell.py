"""Screens that do not mislead (issue 9 item 5), in real Chromium through the page objects: the
deletion asks first, the 着信先 list offers each number once and says what a call does, and the
warning that a 種別 switch clears the saved one appears as soon as that choice is made (the
stylesheet shows it; the site has no script). The sample tenant: 20200 is 代表番号 of a 一斉着信
group whose 一斉着信 rings 20200 and 20201; 0312345678 routes to 20200."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from harness.pytest_plugin.sim import SimulatorHandle
from harness.web.pages import (
    AbsencePage,
    AdminTopPage,
    InboundRouteForm,
    InboundRoutePage,
    OutboundCallerIdPage,
    RingGroupPage,
    UserTopPage,
)

from .conftest import USER_20200, USER_20201, login

pytestmark = pytest.mark.browser

REACH = {
    "種別": "シングルナンバーリーチ",
    "接続先番号1": "09011112222",
    "呼出開始時間1": 5,
    "呼出終了時間": 30,
}


def test_deleting_a_group_asks_first_and_cancel_keeps_it(
    sim: SimulatorHandle, admin_top: AdminTopPage
) -> None:
    groups = admin_top.open_initial_setup().next()
    asked = groups.open_delete(0)
    assert asked.group() == {
        "種別": "一斉着信",
        "代表番号": "20200",
        "メンバー": "20200、20201",
        "呼出時間": "既定（20秒）",  # the sample's group has none: PbxParams G applies
    }
    assert asked.warnings() == [
        "外線番号 0312345678 の着信先です。削除すると、0312345678 への着信は内線 20200 を"
        "呼び出します。"
    ]
    kept = asked.cancel()
    assert len(kept.groups()) == 2 and len(sim.settings()["着信グループ"]) == 2

    deleted = kept.delete_group(0)

    assert isinstance(deleted, RingGroupPage)
    assert deleted.messages() == ["削除しました。"]
    assert [g["種別"] for g in sim.settings()["着信グループ"]] == ["コールピックアップ"]


def test_destination_choice_is_single_and_the_page_says_what_a_call_does(
    sim: SimulatorHandle, admin_top: AdminTopPage
) -> None:
    inbound = admin_top.open_initial_setup().next().next()
    assert isinstance(inbound, InboundRoutePage)
    [route] = inbound.routes()
    assert route.effect == "着信グループ（一斉着信）20200 を呼び出します（メンバー: 20200、20201）"
    form = InboundRouteForm.open(inbound.page, sim.base_url, "0312345678")
    assert form.destinations() == [
        ("20200", "20200（一斉着信 代表番号）"),
        ("20201", "20201（内線）"),
    ]
    assert form.current_effect() == route.effect

    saved = form.choose_destination("20201").submit()

    assert isinstance(saved, InboundRoutePage)
    assert saved.messages() == ["設定しました。"]
    assert [r.effect for r in saved.routes()] == ["内線 20201 を呼び出します"]
    outbound = saved.next().set_outbound_caller_id("20201", "")
    assert isinstance(outbound, OutboundCallerIdPage)
    assert outbound.messages() == ["設定しました。"]


def test_switching_kind_warns_while_the_other_kind_is_chosen(
    sim: SimulatorHandle, page: Page
) -> None:
    sim.put_settings({**sim.settings(), "不在時動作設定": {"20201": REACH}})
    top = login(sim, page, USER_20201)
    assert isinstance(top, UserTopPage)
    absence = top.open_absence_settings()
    assert absence.warnings() == []  # the saved 種別 is chosen: nothing would be cleared

    page.get_by_role("radio", name="転送/留守番電話設定").check()
    assert absence.warnings() == [
        "種別を「転送/留守番電話設定」に切り替えて「設定」を押すと、保存されているシングルナンバー"
        "リーチ設定（接続先番号1 09011112222 など）は消去されます。"
    ]
    page.get_by_role("radio", name="未設定", exact=True).check()
    assert absence.warnings() == [
        "不在時動作を「未設定」にして「設定」を押すと、保存されているシングルナンバーリーチ設定"
        "（接続先番号1 09011112222 など）は消去されます。"
    ]

    cleared = absence.clear_absence()

    assert isinstance(cleared, AbsencePage)
    assert cleared.messages() == [
        "設定しました。（シングルナンバーリーチ設定の内容は消去しました。）"
    ]
    assert cleared.warnings() == []


def test_a_pilot_is_told_its_absence_does_not_act_and_a_late_leg_never_rings(
    sim: SimulatorHandle, page: Page
) -> None:
    top = login(sim, page, USER_20200)  # 20200: 代表番号 of the 一斉着信 group
    assert isinstance(top, UserTopPage)
    absence = top.open_absence_settings()
    pilot = (
        "内線 20200 は着信グループ（一斉着信）の代表番号です。20200 への着信は着信グループを"
        "呼び出すため、ここで設定する不在時動作は行われません。"
    )
    assert absence.warnings() == [pilot]

    saved = absence.set_single_number_reach("09011112222", 5, "0311112222", 30, 20, False)

    assert isinstance(saved, AbsencePage) and saved.field_errors() == {}
    assert saved.messages() == ["設定しました。"]
    assert saved.warnings() == [
        pilot,
        "接続先番号2（0311112222）は呼び出されません: 呼出開始時間2（30秒）が呼出終了時間（20秒）"
        "以上のため、呼び出す前に着信が終わります。",
    ]
