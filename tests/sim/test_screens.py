"""Each screen's happy path, in the manual's order (P.2 for the administrator, P.6 for users)."""

from __future__ import annotations

import re

import pytest

from harness.guide.types import Action, GroupKind
from harness.sim.store import Store

from .conftest import ADMIN, Site, field_errors


def h1(html: str) -> str:
    match = re.search(r"<h1>([^<]*)</h1>", html)
    assert match, "page has no h1"
    return match.group(1)


@pytest.mark.manual_step("P2-S1-1", "P2-S1-2")
def test_business_portal_leads_to_the_settings_site_login(site: Site) -> None:
    assert site.get("/").headers["location"] == "/b-portal/login"
    page = site.get("/b-portal/login")
    assert h1(page.text) == "ビジネスポータル"
    assert '<label for="login_id">ログインID</label>' in page.text
    assert (
        site.post("/b-portal/login", {"login_id": ADMIN[0], "password": ADMIN[1]}).headers[
            "location"
        ]
        == "/b-portal/"
    )
    top = site.get("/b-portal/")
    assert "サービスメニュー" in top.text and ">Smart PBX</a>" in top.text
    service = site.get("/b-portal/services/smartpbx")
    assert '<a href="/SmartPBX/Login">Arcstar Smart PBX 設定変更</a>' in service.text


def test_business_portal_refuses_wrong_and_terminal_user_accounts(site: Site) -> None:
    wrong = site.post("/b-portal/login", {"login_id": ADMIN[0], "password": "nope"})
    assert "ログインIDまたはパスワードが正しくありません。" in wrong.text
    user = site.post("/b-portal/login", {"login_id": "user30300", "password": "userpass300"})
    assert "ログインIDまたはパスワードが正しくありません。" in user.text
    assert site.get("/b-portal/").headers["location"] == "/b-portal/login"


@pytest.mark.manual_step("P2-S1-3", "P2-S1-4")
def test_admin_login_lands_on_top_with_initial_settings(site: Site) -> None:
    page = site.get("/SmartPBX/Login")
    assert h1(page.text) == "Arcstar Smart PBX Web設定変更サイト"
    site.login_admin()
    top = site.get("/SmartPBX/Top")
    assert '<a class="tile primary" href="/SmartPBX/Init/Extensions">初期設定</a>' in top.text
    assert ">アカウント設定</a>" in top.text and ">ログアウト</button>" in top.text


@pytest.mark.manual_step("P2-S2-1")
def test_extension_list_is_read_only(site: Site) -> None:
    site.login_admin()
    page = site.get("/SmartPBX/Init/Extensions")
    assert h1(page.text) == "内線一覧表示"
    for cell in ("<td>30300</td>", "<td>xyz30302</td>", "<td>VoIP-GW</td>"):
        assert cell in page.text
    assert "<form" not in page.text.split("<main")[1]


@pytest.mark.manual_step("P2-S2-2")
def test_add_and_delete_a_group(site: Site, store: Store) -> None:
    site.login_admin()
    assert h1(site.get("/SmartPBX/Init/Groups").text) == "着信グループ設定"
    response = site.post(
        "/SmartPBX/Init/Groups/Add",
        {"kind": "一斉着信", "pilot": "30303", "member_1": "30302", "member_2": "30300"},
    )
    assert response.status_code == 303, field_errors(response)
    group = store.routing_snapshot().group_by_pilot("30303")
    assert group is not None
    # 呼出時間 left blank: none is stored, the service's default (PbxParams G) applies
    assert (group.kind, group.members, group.ring_time) == (
        GroupKind.SIMULTANEOUS,
        ("30302", "30300"),
        None,
    )
    listing = site.get("/SmartPBX/Init/Groups?done=1").text
    assert "30302、30300" in listing and "設定しました。" in listing
    assert "<td>既定（20秒）</td>" in listing  # the seconds the SIP side applies (PbxParams G)
    document = store.settings_document()
    left_out = next(g for g in document.ring_groups if g.pilot == "30303")
    assert "ring_time" not in left_out.model_fields_set  # exported as left out, not as 20
    confirm = site.get(f"/SmartPBX/Init/Groups/{group.id}/Delete")
    assert "着信グループの削除" in confirm.text and store.routing_snapshot().groups  # not yet
    deleted = site.post(f"/SmartPBX/Init/Groups/{group.id}/Delete", {})
    assert deleted.headers["location"] == "/SmartPBX/Init/Groups?deleted=1"
    assert store.routing_snapshot().group_by_pilot("30303") is None
    assert "削除しました。" in site.get(deleted.headers["location"]).text


@pytest.mark.manual_step("P2-S2-3")
def test_set_an_inbound_route(site: Site, store: Store) -> None:
    site.login_admin()
    table = site.get("/SmartPBX/Init/Inbound").text
    assert h1(table) == "外線着信設定" and "0633334444" in table
    form = site.get("/SmartPBX/Init/Inbound/0633334444").text
    assert "30300（順次着信 代表番号）" in form
    response = site.post("/SmartPBX/Init/Inbound/0633334444", {"destination": "30301"})
    assert response.headers["location"] == "/SmartPBX/Init/Inbound?done=1"
    route = store.routing_snapshot().inbound_routes["0633334444"]
    assert (route.destination, route.applied) == ("30301", True)


@pytest.mark.manual_step("P2-S2-3-note1")
def test_inbound_route_before_line_live_gives_connection_error_then_works(
    site: Site, store: Store
) -> None:
    store.set_line_live("0633334444", False)
    site.login_admin()
    failed = site.post("/SmartPBX/Init/Inbound/0633334444", {"destination": "30301"})
    assert "接続エラー" in failed.text
    assert "接続エラー" in site.get("/SmartPBX/Init/Inbound").text
    store.set_line_live("0633334444", True)
    again = site.post("/SmartPBX/Init/Inbound/0633334444", {"destination": "30301"})
    assert again.status_code == 303
    assert store.routing_snapshot().inbound_routes["0633334444"].applied


@pytest.mark.manual_step("P2-S2-4")
def test_set_and_clear_an_outbound_caller_id(site: Site, store: Store) -> None:
    site.login_admin()
    page = site.get("/SmartPBX/Init/Outbound").text
    assert h1(page) == "外線発信設定" and ">完了</a>" in page
    site.post("/SmartPBX/Init/Outbound/30300", {"caller_id": "0633334444"})
    assert store.routing_snapshot().outbound_caller_ids["30300"] == "0633334444"
    site.post("/SmartPBX/Init/Outbound/30300", {"caller_id": ""})
    assert "30300" not in store.routing_snapshot().outbound_caller_ids


def test_account_settings_switch_mfa(site: Site, store: Store) -> None:
    site.login_admin()
    assert h1(site.get("/SmartPBX/Account").text) == "アカウント設定"
    done = site.post("/SmartPBX/Account", {"mfa": "on"})
    assert "設定しました。" in done.text and store.mfa_enabled()
    site.post("/SmartPBX/Account", {"mfa": "off"})
    assert not store.mfa_enabled()


@pytest.mark.manual_step("P6-S1")
def test_terminal_user_top_offers_absence_settings_only(site: Site) -> None:
    site.login_user("30300")
    top = site.get("/SmartPBX/User/Top").text
    assert "30300" in top and '<a class="tile primary" href="/SmartPBX/User/Absence">' in top
    assert "初期設定" not in top and "アカウント設定" not in top


@pytest.mark.manual_step("P6-S2-forward")
def test_set_forwarding_and_see_it_refilled(site: Site, store: Store) -> None:
    site.login_user("30300")
    page = site.get("/SmartPBX/User/Absence").text
    assert h1(page) == "不在時動作設定"
    password = store.routing_snapshot().voicemail_passwords["30300"]
    assert f'<dd class="voicemail-password">{password}</dd>' in page
    done = site.post(
        "/SmartPBX/User/Absence",
        {
            "enabled": "設定",
            "kind": "転送/留守番電話",
            "forward_to": "090-1111-2222",
            "unconditional": "設定しない",
            "busy": "転送",
            "unreachable": "留守番電話",
            "no_answer": "転送",
            "ring_time": "15",
        },
    )
    assert "設定しました。" in done.text
    assert 'value="09011112222"' in done.text
    saved = store.routing_snapshot().absence["30300"]
    assert (saved.forward_to, saved.busy, saved.unreachable, saved.ring_time) == (
        "09011112222",
        Action.FORWARD,
        Action.VOICEMAIL,
        15,
    )


@pytest.mark.manual_step("P6-S2-reach", "P6-S2-unset")
def test_set_single_number_reach_then_unset(site: Site, store: Store) -> None:
    site.login_user("30301")
    site.post(
        "/SmartPBX/User/Absence",
        {
            "enabled": "設定",
            "kind": "シングルナンバーリーチ",
            "reach_number_1": "09011112222",
            "reach_start_1": "5",
            "reach_number_2": "0311112222",
            "reach_start_2": "10",
            "reach_end": "30",
            "voicemail": "on",
        },
    )
    saved = store.routing_snapshot().absence["30301"]
    assert (saved.kind, saved.reach_number_2, saved.reach_end, saved.voicemail) == (
        "シングルナンバーリーチ",
        "0311112222",
        30,
        True,
    )
    site.post("/SmartPBX/User/Absence", {"enabled": "未設定"})
    assert "30301" not in store.routing_snapshot().absence


def test_logout_ends_the_session(site: Site) -> None:
    site.login_admin()
    assert site.post("/SmartPBX/Logout", {}).headers["location"] == "/SmartPBX/Login"
    assert site.get("/SmartPBX/Top").headers["location"] == "/SmartPBX/Login"


def test_unknown_page_is_a_plain_404(site: Site) -> None:
    response = site.get("/SmartPBX/nowhere")
    assert response.status_code == 404 and "ページが見つかりません" in response.text
