"""Bad input in real Chromium: every rule of DOMAIN.md shown beside its field, nothing saved.

These tests change nothing, so they share one login per account for the module (``admin_page``,
``user_page``) and never use the ``sim`` fixture, whose reset would end those sessions.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from harness.pytest_plugin.sim import SimulatorHandle
from harness.web.pages import (
    AbsencePage,
    InboundRouteForm,
    RingGroupAddForm,
    RingGroupPage,
    SettingsLoginPage,
)

from .test_user import SetAbsence

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("kind", "pilot", "members", "ring_time", "field", "message"),
    [
        ("順次着信", "20200", ["20999"], None, "メンバー（呼出順）", "20999"),
        ("順次着信", "20200", ["20201"], 4, "呼出時間", "5〜60"),
        ("一斉着信", "20200", ["20201"], 61, "呼出時間", "5〜60"),
        ("順次着信", None, ["20201"], None, "代表番号", ""),
        ("順次着信", "20200", [], None, "メンバー（呼出順）", ""),
    ],
    ids=["unknown member", "ring time 4", "ring time 61", "no pilot", "no members"],
)
def test_bad_group_is_refused_beside_the_field(
    module_simulator: SimulatorHandle,
    admin_page: Page,
    kind: str,
    pilot: str | None,
    members: list[str],
    ring_time: int | None,
    field: str,
    message: str,
) -> None:
    before = module_simulator.settings()
    groups = RingGroupPage.open(admin_page, module_simulator.base_url)
    result = groups.add_group(kind, pilot, members, ring_time)

    assert isinstance(result, RingGroupAddForm)
    errors = result.field_errors()
    assert field in errors, errors
    assert message in errors[field]
    assert module_simulator.settings() == before


def test_inbound_route_without_destination_is_refused(
    module_simulator: SimulatorHandle, admin_page: Page
) -> None:
    before = module_simulator.settings()
    form = InboundRouteForm.open(admin_page, module_simulator.base_url, "0312345678")

    result = form.choose_destination("").submit()

    assert isinstance(result, InboundRouteForm)
    assert "着信先" in result.field_errors()
    assert module_simulator.settings() == before


def test_select_in_error_is_described_by_its_message(
    module_simulator: SimulatorHandle, admin_page: Page
) -> None:
    groups = RingGroupPage.open(admin_page, module_simulator.base_url)
    result = groups.add_group("順次着信", None, ["20201"], None)

    assert isinstance(result, RingGroupAddForm)
    pilot = admin_page.get_by_role("combobox", name="代表番号")
    expect(pilot).to_have_attribute("aria-invalid", "true")
    expect(pilot).to_have_accessible_description("代表番号を選択してください。")
    members = admin_page.get_by_role("group", name="メンバー（呼出順）")
    expect(members).not_to_have_attribute("aria-invalid", "true")


def test_radio_group_in_error_is_described_by_its_message(
    module_simulator: SimulatorHandle, user_page: Page
) -> None:
    before = module_simulator.settings()
    absence = AbsencePage.open(user_page, module_simulator.base_url)
    # A value no radio offers (as a tampered or stale form would send) is refused by the server.
    user_page.get_by_role("radio", name="設定", exact=True).evaluate("(r) => r.value = '常時'")

    result = absence.set_absence_forwarding("09011112222", {"無応答": "転送"}, 15)

    assert isinstance(result, AbsencePage)
    group = user_page.get_by_role("radiogroup", name="不在時動作")
    expect(group).to_have_attribute("aria-invalid", "true")
    expect(group).to_have_accessible_description("不在時動作は未設定・設定から選択してください。")
    assert result.field_errors() == {"不在時動作": "不在時動作は未設定・設定から選択してください。"}
    assert module_simulator.settings() == before


@pytest.mark.parametrize(
    ("login_id", "password", "field"),
    [("", "Adm1nPass01", "ログインID"), ("adm01234abc", "", "パスワード")],
    ids=["no login id", "no password"],
)
def test_empty_login_field_is_named_beside_it(
    module_simulator: SimulatorHandle, page: Page, login_id: str, password: str, field: str
) -> None:
    result = SettingsLoginPage.open(page, module_simulator.base_url).login(login_id, password)

    assert isinstance(result, SettingsLoginPage)
    assert field in result.field_errors()


def _forward(
    forward_to: str = "09011112222",
    actions: dict[str, str] | None = None,
    ring_time: int | str | None = 15,
) -> SetAbsence:
    chosen = {"無応答": "転送"} if actions is None else actions
    return lambda page: page.set_absence_forwarding(forward_to, chosen, ring_time)


def _reach(
    number_1: str = "09011112222",
    start_1: int | str = 5,
    number_2: str | None = None,
    start_2: int | str | None = None,
    end: int | str = 30,
) -> SetAbsence:
    return lambda page: page.set_single_number_reach(
        number_1, start_1, number_2, start_2, end, True
    )


# field label → (a bad entry, words its message must contain); one row per rule of DOMAIN.md.
BAD_VALUES: list[tuple[str, SetAbsence, str, str]] = [
    ("転送先 letters", _forward(forward_to="090-abcd-2222"), "転送先電話番号", "32"),
    ("転送先 33 chars", _forward(forward_to="0" * 33), "転送先電話番号", "32"),
    ("転送先 own extension", _forward(forward_to="20201"), "転送先電話番号", "自分の内線番号"),
    ("転送先 missing for 転送", _forward(forward_to=""), "転送先電話番号", ""),
    ("呼出時間 4", _forward(ring_time=4), "呼出時間", "5〜30"),
    ("呼出時間 31", _forward(ring_time=31), "呼出時間", "5〜30"),
    ("呼出時間 not a number", _forward(ring_time="1O"), "呼出時間", "整数"),
    ("呼出時間 missing with 無応答", _forward(ring_time=None), "呼出時間", ""),
    ("接続先番号1 missing", _reach(number_1=""), "接続先番号1", ""),
    ("接続先番号1 letters", _reach(number_1="abc"), "接続先番号1", "32"),
    ("接続先番号2 33 chars", _reach(number_2="1" * 33, start_2=10), "接続先番号2", "32"),
    ("呼出開始時間1 0", _reach(start_1=0), "呼出開始時間1", "1〜30"),
    ("呼出開始時間1 31", _reach(start_1=31), "呼出開始時間1", "1〜30"),
    ("呼出開始時間2 without 接続先番号2", _reach(start_2=10), "呼出開始時間2", "接続先番号2"),
    ("呼出開始時間2 missing", _reach(number_2="0311112222"), "呼出開始時間2", ""),
    ("呼出終了時間 4", _reach(end=4), "呼出終了時間", "5〜60"),
    ("呼出終了時間 61", _reach(end=61), "呼出終了時間", "5〜60"),
]


@pytest.mark.parametrize(
    ("act", "field", "words"),
    [pytest.param(act, field, words, id=name) for name, act, field, words in BAD_VALUES],
)
def test_bad_absence_value_is_refused_beside_its_field(
    module_simulator: SimulatorHandle, user_page: Page, act: SetAbsence, field: str, words: str
) -> None:
    before = module_simulator.settings()
    result = act(AbsencePage.open(user_page, module_simulator.base_url))

    assert isinstance(result, AbsencePage)
    errors = result.field_errors()
    assert field in errors, errors
    assert words in errors[field]
    assert "設定しました。" not in result.messages()
    assert module_simulator.settings() == before
