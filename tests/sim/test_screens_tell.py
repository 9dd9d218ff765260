"""Screens that do not mislead (issue 9 item 5): the page says what a setting will do, warns
where a saved setting is overridden or can never act, confirms every save and asks before a
deletion. In-process over HTTP on the rich tenant (tests/sim/tenants/rich): 30300 is 代表番号 of
a 順次着信 group, 30302 has 転送/留守番電話, 30303 has シングルナンバーリーチ."""

from __future__ import annotations

import re
from collections.abc import Callable

from harness.sim.store import RingTimeDefaults, Store

from .conftest import Site, field_errors

REACH = {
    "enabled": "設定",
    "kind": "シングルナンバーリーチ",
    "reach_number_1": "09011112222",
    "reach_start_1": "5",
    "reach_end": "30",
}


def options(html: str, select: str) -> list[tuple[str, str]]:
    """``(value, label)`` of every option of the ``<select id=select>``."""
    body = re.search(rf'<select id="{select}".*?</select>', html, re.S)
    assert body, f"no select {select}"
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body.group(0))


def warnings(html: str) -> list[str]:
    """The warnings always shown (not those the stylesheet shows only for a choice)."""
    return re.findall(r'<div class="alert alert-warning" role="note">([^<]*)</div>', html)


def test_destination_list_offers_a_pilot_once_and_says_what_a_call_does(
    site: Site, store: Store
) -> None:
    site.login_admin()
    form = site.get("/SmartPBX/Init/Inbound/0633334444").text
    choices = options(form, "destination")
    values = [value for value, _ in choices if value]
    assert len(values) == len(set(values)), f"a number offered twice: {choices}"
    assert ("30300", "30300（順次着信 代表番号）") in choices
    assert ("30300", "30300（内線）") not in choices  # a call to a pilot rings its group

    site.post("/SmartPBX/Init/Inbound/0633334444", {"destination": "30301"})
    listing = site.get("/SmartPBX/Init/Inbound").text
    assert "着信グループ（順次着信）30300 を呼び出します（メンバー: 30301、30302）" in listing
    assert "内線 30301 を呼び出します" in listing
    again = site.get("/SmartPBX/Init/Inbound/0633334444").text
    assert (
        '<p class="effect" id="destination-effect">現在の設定: 内線 30301 を呼び出します</p>'
        in (again)
    )


def test_inbound_and_outbound_saves_say_so(site: Site, store: Store) -> None:
    site.login_admin()
    inbound = site.post("/SmartPBX/Init/Inbound/0633334444", {"destination": "30301"})
    assert "設定しました。" in site.get(inbound.headers["location"]).text
    outbound = site.post("/SmartPBX/Init/Outbound/30300", {"caller_id": "0633334444"})
    assert "設定しました。" in site.get(outbound.headers["location"]).text
    assert "設定しました。" not in site.get("/SmartPBX/Init/Outbound").text  # only after a save


def test_a_pilot_with_its_own_absence_is_warned_about_everywhere(
    site: Site, make_site: Callable[[], Site], store: Store
) -> None:
    site.login_admin()
    form = site.get("/SmartPBX/Init/Groups/Add").text
    found = warnings(form)
    assert any("内線 30302 には不在時動作（転送/留守番電話設定）" in w for w in found), found
    assert any("内線 30303 には不在時動作（シングルナンバーリーチ設定）" in w for w in found)
    assert not any("30301" in w for w in found)  # no 不在時動作: nothing to lose

    added = site.post(
        "/SmartPBX/Init/Groups/Add",
        {"kind": "一斉着信", "pilot": "30302", "member_1": "30301", "ring_time": "20"},
    )
    assert added.status_code == 303, field_errors(added)
    listing = warnings(site.get("/SmartPBX/Init/Groups").text)
    assert any("内線 30302 の不在時動作（転送/留守番電話設定）は行われません" in w for w in listing)

    user = make_site()
    user.login_user("30302")
    page = warnings(user.get("/SmartPBX/User/Absence").text)
    assert any("30302 は着信グループ（一斉着信）の代表番号です" in w for w in page), page


def test_default_ring_time_shows_the_seconds_the_sip_side_uses(site: Site, store: Store) -> None:
    store.ring_time_defaults = RingTimeDefaults(simultaneous=25, sequential=12)
    site.login_admin()
    for kind, pilot in (("一斉着信", "30301"), ("順次着信", "30303")):
        response = site.post(
            "/SmartPBX/Init/Groups/Add",
            {"kind": kind, "pilot": pilot, "member_1": "30302", "ring_time": ""},
        )
        assert response.status_code == 303, field_errors(response)
    listing = site.get("/SmartPBX/Init/Groups").text
    assert "<td>15秒</td>" in listing  # set explicitly in 設定.yaml
    assert "<td>既定（25秒）</td>" in listing and "<td>既定（12秒）</td>" in listing
    assert "<td>既定</td>" not in listing


def test_a_reach_leg_that_starts_after_the_end_is_saved_and_said_never_to_ring(
    site: Site, store: Store
) -> None:
    site.login_user("30301")
    late_second_leg = {"reach_number_2": "0311112222", "reach_start_2": "25", "reach_end": "20"}
    done = site.post("/SmartPBX/User/Absence", REACH | late_second_leg)
    assert "設定しました。" in done.text  # DOMAIN.md: valid, the leg just never rings
    assert store.routing_snapshot().absence["30301"].reach_start_2 == 25
    said = warnings(done.text)
    assert any(
        w.startswith("接続先番号2（0311112222）は呼び出されません") and "呼出開始時間2（25秒）" in w
        for w in said
    ), said
    assert not any("接続先番号1" in w for w in said)  # 5 s < 20 s: that leg rings
    assert said == warnings(site.get("/SmartPBX/User/Absence").text)  # and stays said


def test_switching_kind_warns_before_and_says_after_what_was_cleared(
    site: Site, store: Store
) -> None:
    site.login_user("30302")  # 転送/留守番電話 saved
    page = site.get("/SmartPBX/User/Absence").text
    switch = re.search(
        r'class="alert alert-warning switch-warning when-reach" role="note">([^<]*)<', page
    )
    assert switch, "no warning for a switch to シングルナンバーリーチ"
    assert "保存されている転送/留守番電話設定（転送先電話番号 09011112222 など）は消去されます" in (
        switch.group(1)
    )
    assert "when-off" in page  # 未設定 clears it as well
    done = site.post("/SmartPBX/User/Absence", REACH)
    assert "設定しました。（転送/留守番電話設定の内容は消去しました。）" in done.text
    assert store.routing_snapshot().absence["30302"].forward_to is None


def test_deleting_a_group_asks_first_and_names_the_routes_it_changes(
    site: Site, store: Store
) -> None:
    site.login_admin()
    group = store.routing_snapshot().group_by_pilot("30300")
    assert group is not None
    listing = site.get("/SmartPBX/Init/Groups").text
    assert f'<form method="get" action="/SmartPBX/Init/Groups/{group.id}/Delete">' in listing
    confirm = site.get(f"/SmartPBX/Init/Groups/{group.id}/Delete").text
    assert "次の着信グループを削除します。よろしいですか？" in confirm
    assert any(
        "外線番号 0311112222 の着信先です" in w and "内線 30300 を呼び出します" in w
        for w in warnings(confirm)
    )
    assert store.routing_snapshot().group_by_pilot("30300") is not None  # asking deletes nothing
    assert site.get("/SmartPBX/Init/Groups/999/Delete").status_code == 404
