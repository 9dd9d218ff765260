"""Every validation rule of the 不在時動作 form and the wizard, table-driven, through the web.

Each case posts a form, expects the Japanese message beside the named field, the submitted value
refilled, and nothing saved (the 設定 document is unchanged).
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.guide.types import GroupKind, RingGroup, Settings, Terminal, TerminalKind
from harness.sim.rules import MAX_GROUPS, MESSAGES, GroupDraft, TenantView, check_group
from harness.sim.store import Store
from tests.guide.test_rule_ids import rule_ids

from .conftest import Site, field_errors, field_rule_ids

FORWARD = {
    "enabled": "設定",
    "kind": "転送/留守番電話",
    "forward_to": "09011112222",
    "unconditional": "設定しない",
    "busy": "転送",
    "unreachable": "設定しない",
    "no_answer": "設定しない",
    "ring_time": "",
}
REACH = {
    "enabled": "設定",
    "kind": "シングルナンバーリーチ",
    "reach_number_1": "09011112222",
    "reach_start_1": "5",
    "reach_number_2": "",
    "reach_start_2": "",
    "reach_end": "30",
}

# (id, base form, changes, field with the error, part of the message)
ABSENCE_CASES: list[tuple[str, dict[str, str], dict[str, str], str, str]] = [
    ("不在時動作が不正", FORWARD, {"enabled": "たぶん"}, "enabled", "未設定・設定"),
    ("種別なし", FORWARD, {"kind": ""}, "kind", "どちらかを選択"),
    ("種別が不正", FORWARD, {"kind": "転送"}, "kind", "どちらかを選択"),
    ("転送先なしで転送", FORWARD, {"forward_to": ""}, "forward_to", "入力してください"),
    ("転送先に文字", FORWARD, {"forward_to": "090-abcd"}, "forward_to", "数字とハイフン"),
    ("転送先が33文字", FORWARD, {"forward_to": "0" * 33}, "forward_to", "32文字以内"),
    ("転送先がハイフンのみ", FORWARD, {"forward_to": "---"}, "forward_to", "数字とハイフン"),
    ("転送先が自分", FORWARD, {"forward_to": "303-00"}, "forward_to", "自分の内線番号"),
    ("無条件が不正", FORWARD, {"unconditional": "拒否"}, "unconditional", "転送動作（無条件）"),
    ("話中が不正", FORWARD, {"busy": "x"}, "busy", "転送動作（話中）"),
    ("圏外が不正", FORWARD, {"unreachable": "x"}, "unreachable", "転送動作（圏外）"),
    ("無応答が不正", FORWARD, {"no_answer": "x"}, "no_answer", "転送動作（無応答）"),
    ("無応答で呼出時間なし", FORWARD, {"no_answer": "留守番電話"}, "ring_time", "5〜30秒"),
    ("呼出時間4", FORWARD, {"no_answer": "転送", "ring_time": "4"}, "ring_time", "5〜30"),
    ("呼出時間31", FORWARD, {"no_answer": "転送", "ring_time": "31"}, "ring_time", "5〜30"),
    ("呼出時間が小数", FORWARD, {"no_answer": "転送", "ring_time": "10.5"}, "ring_time", "整数"),
    ("呼出時間が負", FORWARD, {"no_answer": "転送", "ring_time": "-5"}, "ring_time", "整数"),
    ("呼出時間が全角", FORWARD, {"no_answer": "転送", "ring_time": "１５"}, "ring_time", "整数"),
    ("接続先1なし", REACH, {"reach_number_1": ""}, "reach_number_1", "入力してください"),
    ("接続先1に文字", REACH, {"reach_number_1": "tel:0901"}, "reach_number_1", "数字とハイフン"),
    (
        "接続先2が33文字",
        REACH,
        {"reach_number_2": "1" * 33, "reach_start_2": "3"},
        "reach_number_2",
        "32文字",
    ),
    ("開始1なし", REACH, {"reach_start_1": ""}, "reach_start_1", "入力してください"),
    ("開始1が0", REACH, {"reach_start_1": "0"}, "reach_start_1", "1〜30"),
    ("開始1が31", REACH, {"reach_start_1": "31"}, "reach_start_1", "1〜30"),
    (
        "接続先2で開始2なし",
        REACH,
        {"reach_number_2": "0311112222"},
        "reach_start_2",
        "入力してください",
    ),
    ("開始2だけ", REACH, {"reach_start_2": "10"}, "reach_start_2", "接続先番号2を入力した場合のみ"),
    ("開始2が31", REACH, {"reach_number_2": "03", "reach_start_2": "31"}, "reach_start_2", "1〜30"),
    ("終了なし", REACH, {"reach_end": ""}, "reach_end", "入力してください"),
    ("終了4", REACH, {"reach_end": "4"}, "reach_end", "5〜60"),
    ("終了61", REACH, {"reach_end": "61"}, "reach_end", "5〜60"),
]


@pytest.mark.parametrize(
    ("base", "changes", "field", "message"),
    [case[1:] for case in ABSENCE_CASES],
    ids=[case[0] for case in ABSENCE_CASES],
)
def test_absence_rule(
    site: Site,
    store: Store,
    base: dict[str, str],
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = store.settings_document()
    site.login_user("30300")
    form = base | changes
    response = site.post("/SmartPBX/User/Absence", form)
    errors = field_errors(response)
    assert response.status_code == 200
    assert field in errors and message in errors[field], errors
    # One message per broken rule: a number that is no number is not also "missing".
    assert len(field_rule_ids(response)[field]) == 1, field_rule_ids(response)
    assert "設定しました。" not in response.text
    for name in ("forward_to", "reach_number_1", "ring_time", "reach_end"):
        if form.get(name) and len(form[name]) < 40 and '"' not in form[name]:
            assert f'value="{form[name]}"' in response.text, f"{name} not refilled"
    assert store.settings_document() == before


@pytest.mark.parametrize(
    ("base", "changes"),
    [
        (FORWARD, {}),
        (FORWARD, {"no_answer": "転送", "ring_time": "5"}),
        (FORWARD, {"no_answer": "転送", "ring_time": "30"}),
        (FORWARD, {"busy": "留守番電話", "forward_to": ""}),
        (FORWARD, {"forward_to": "0" * 32}),
        (REACH, {"reach_start_1": "1", "reach_end": "5"}),
        (REACH, {"reach_start_1": "30", "reach_end": "60"}),
        (REACH, {"reach_number_2": "03-1111-2222", "reach_start_2": "30"}),
        (REACH, {"kind": "シングルナンバーリッチ"}),
        (FORWARD | {"enabled": "未設定"}, {"forward_to": "junk", "ring_time": "999"}),
    ],
    ids=[
        "転送",
        "呼出時間5",
        "呼出時間30",
        "留守番電話のみ転送先なし",
        "転送先32文字",
        "開始1と終了5",
        "開始30と終了60",
        "接続先2あり",
        "リッチ表記",
        "未設定は他を無視",
    ],
)
def test_absence_boundaries_accepted(
    site: Site, store: Store, base: dict[str, str], changes: dict[str, str]
) -> None:
    site.login_user("30300")
    response = site.post("/SmartPBX/User/Absence", base | changes)
    assert "設定しました。" in response.text, field_errors(response)


def test_ring_time_without_no_answer_is_refused_as_in_a_document(site: Site, store: Store) -> None:
    # The site used to drop the 呼出時間 silently; 設定.yaml refuses it (absence.ring_time_unused).
    before = store.settings_document()
    site.login_user("30300")
    response = site.post("/SmartPBX/User/Absence", FORWARD | {"ring_time": "12"})
    assert "無応答が転送・留守番電話の場合のみ" in field_errors(response)["ring_time"]
    assert field_rule_ids(response)["ring_time"] == ["absence.ring_time_unused"]
    assert store.settings_document() == before
    site.post("/SmartPBX/User/Absence", FORWARD | {"no_answer": "留守番電話", "ring_time": "12"})
    assert store.routing_snapshot().absence["30300"].ring_time == 12


def test_voip_gw_has_no_absence(site: Site, store: Store) -> None:
    site.login_user("30309")
    errors = field_errors(site.post("/SmartPBX/User/Absence", FORWARD))
    assert "VoIP-GW" in errors["enabled"]
    assert "30309" not in store.routing_snapshot().absence


GROUP_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("種別が不正", {"kind": "輪番"}, "kind", "順次着信・一斉着信・コールピックアップ"),
    ("代表番号なし", {"pilot": ""}, "pilot", "代表番号を選択"),
    ("代表番号が内線でない", {"pilot": "99999"}, "pilot", "ご利用中の内線番号"),
    ("代表番号がVoIP-GW", {"pilot": "30309"}, "pilot", "VoIP-GW"),
    ("代表番号が使用中", {"pilot": "30300"}, "pilot", "既に別の着信グループの代表番号"),
    ("ピックアップに代表番号", {"kind": "コールピックアップ"}, "pilot", "代表番号を設定できません"),
    ("メンバーなし", {"member_1": "", "member_2": ""}, "members", "1件以上"),
    ("メンバーが内線でない", {"member_2": "1234"}, "members", "ご利用中の内線番号ではありません"),
    ("メンバーがVoIP-GW", {"member_2": "30309"}, "members", "VoIP-GW"),
    ("メンバー重複", {"member_2": "30302"}, "members", "重複"),
    (
        "別のピックアップのメンバー",
        {"kind": "コールピックアップ", "pilot": "", "member_1": "30303"},
        "members",
        "別のコールピックアップグループ",
    ),
    (
        "ピックアップのメンバー1件",
        {"kind": "コールピックアップ", "pilot": "", "member_1": "30300"},
        "members",
        "2件以上",
    ),
    ("呼出時間4", {"ring_time": "4"}, "ring_time", "5〜60"),
    ("呼出時間61", {"ring_time": "61"}, "ring_time", "5〜60"),
    ("呼出時間が文字", {"ring_time": "二十"}, "ring_time", "整数"),
]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [case[1:] for case in GROUP_CASES],
    ids=[case[0] for case in GROUP_CASES],
)
def test_group_rule(
    site: Site, store: Store, changes: dict[str, str], field: str, message: str
) -> None:
    before = store.settings_document()
    site.login_admin()
    form = {
        "kind": "順次着信",
        "pilot": "30301",
        "member_1": "30302",
        "member_2": "",
        "ring_time": "20",
    }
    response = site.post("/SmartPBX/Init/Groups/Add", form | changes)
    errors = field_errors(response)
    assert field in errors and message in errors[field], errors
    assert store.settings_document() == before


def test_group_form_is_refilled_in_order(site: Site) -> None:
    site.login_admin()
    response = site.post(
        "/SmartPBX/Init/Groups/Add",
        {
            "kind": "一斉着信",
            "pilot": "30301",
            "member_1": "30303",
            "member_2": "nope",
            "ring_time": "7",
        },
    )
    text = response.text
    assert 'id="member_1" name="member_1" value="30303"' in text
    assert 'id="member_2" name="member_2" value="nope"' in text
    assert (
        '<option value="一斉着信" selected>' in text and '<option value="30301" selected>' in text
    )


def _view_with_groups(count: int) -> TenantView:
    """A tenant of 202 extensions whose first ``count`` are pilots of a group each."""
    terminals = tuple(
        Terminal(
            no=i,
            site_number="3",
            terminal_number=f"{i:04d}",
            terminal_id=f"t{i}",
            password="x",
            terminal_kind=TerminalKind.SMARTPHONE,
        )
        for i in range(1, 203)
    )
    groups = [
        RingGroup(kind=GroupKind.SIMULTANEOUS, pilot=t.extension, members=[terminals[-1].extension])
        for t in terminals[:count]
    ]
    return TenantView(terminals=terminals, external_lines=(), settings=Settings(ring_groups=groups))


def test_at_most_200_groups() -> None:
    # a tenant needs 200 pilots to reach the limit: check the rule on a view of such a tenant
    draft = GroupDraft(kind="一斉着信", pilot="30201", members=("30202",))
    checked = check_group(draft, _view_with_groups(MAX_GROUPS))
    assert checked.value is None and "200件まで" in checked.errors["kind"]
    assert checked.errors.rule_ids["kind"] == ["group.at_most_200"]
    assert check_group(draft, _view_with_groups(MAX_GROUPS - 1)).value is not None


@pytest.mark.parametrize(
    ("number", "destination", "message"),
    [
        ("0633334444", "", "着信先を選択"),
        ("0633334444", "99999", "内線番号または着信グループの代表番号"),
        ("0633334444", "0311112222", "内線番号または着信グループの代表番号"),
    ],
    ids=["着信先なし", "着信先が内線でない", "着信先が外線"],
)
def test_inbound_rule(
    site: Site, store: Store, number: str, destination: str, message: str
) -> None:
    before = store.settings_document()
    site.login_admin()
    errors = field_errors(
        site.post(f"/SmartPBX/Init/Inbound/{number}", {"destination": destination})
    )
    assert message in errors["destination"]
    assert store.settings_document() == before


def test_outbound_rule(site: Site, store: Store) -> None:
    before = store.settings_document()
    site.login_admin()
    errors = field_errors(site.post("/SmartPBX/Init/Outbound/30300", {"caller_id": "0399999999"}))
    assert "ご契約の外線番号" in errors["caller_id"]
    assert store.settings_document() == before


def test_unknown_line_or_extension_in_url_is_404(site: Site) -> None:
    site.login_admin()
    assert site.get("/SmartPBX/Init/Inbound/0999999999").status_code == 404
    assert site.get("/SmartPBX/Init/Outbound/99999").status_code == 404
    assert site.post("/SmartPBX/Init/Groups/abc/Delete", {}).status_code == 404
    assert site.post("/SmartPBX/Init/Groups/99999/Delete", {}).status_code == 404


def test_account_setting_rule(site: Site, store: Store) -> None:
    site.login_admin()
    errors = field_errors(site.post("/SmartPBX/Account", {"mfa": "maybe"}))
    assert "有効・無効" in errors["mfa"]
    assert not store.mfa_enabled()


SETTINGS_TABLES = ("group", "inbound", "outbound", "absence")


def test_every_settings_rule_has_a_message() -> None:
    # A settings rule the page cannot word would refuse with the generic message only.
    settings_ids = [i for i in rule_ids() if i.split(".")[0] in SETTINGS_TABLES]
    missing = [i for i in settings_ids if i not in MESSAGES]
    assert not missing, f"harness/sim/rules.py MESSAGES has no message for {missing}"
