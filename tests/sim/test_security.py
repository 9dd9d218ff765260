"""Security of the settings site: logins per page, roles, own extension only, CSRF, cookies,
session rotation, lockout, one-time codes (expiry on the simulator clock, single use)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from harness.clock import ManualClock
from harness.sim.store import Store

from .conftest import ADMIN, USERS, FakeMailer, Site, field_errors

ADMIN_PAGES = [
    "/SmartPBX/Top",
    "/SmartPBX/Init/Extensions",
    "/SmartPBX/Init/Groups",
    "/SmartPBX/Init/Groups/Add",
    "/SmartPBX/Init/Inbound",
    "/SmartPBX/Init/Inbound/0311112222",
    "/SmartPBX/Init/Outbound",
    "/SmartPBX/Init/Outbound/30300",
    "/SmartPBX/Account",
]
USER_PAGES = ["/SmartPBX/User/Top", "/SmartPBX/User/Absence"]
ADMIN_POSTS = [
    ("/SmartPBX/Init/Groups/Add", {"kind": "一斉着信", "pilot": "30303", "member_1": "30302"}),
    ("/SmartPBX/Init/Groups/1/Delete", {}),
    ("/SmartPBX/Init/Inbound/0633334444", {"destination": "30301"}),
    ("/SmartPBX/Init/Outbound/30300", {"caller_id": "0633334444"}),
    ("/SmartPBX/Account", {"mfa": "on"}),
]
USER_POST = ("/SmartPBX/User/Absence", {"enabled": "未設定"})


@pytest.mark.parametrize("path", ADMIN_PAGES + USER_PAGES + ["/b-portal/", "/SmartPBX/Mfa/Code"])
def test_every_page_requires_login(site: Site, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 303
    assert response.headers["location"] in ("/SmartPBX/Login", "/b-portal/login")


@pytest.mark.parametrize(("path", "form"), [*ADMIN_POSTS, USER_POST])
def test_every_post_requires_login(
    site: Site, store: Store, path: str, form: dict[str, str]
) -> None:
    before = (store.settings_document(), store.mfa_enabled())
    response = site.post(path, form)
    assert response.status_code == 403
    assert (store.settings_document(), store.mfa_enabled()) == before


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_terminal_user_is_refused_admin_pages(site: Site, path: str) -> None:
    site.login_user("30300")
    assert site.get(path).status_code == 403


@pytest.mark.parametrize(("path", "form"), ADMIN_POSTS)
def test_terminal_user_cannot_post_admin_forms(
    site: Site, store: Store, path: str, form: dict[str, str]
) -> None:
    before = (store.settings_document(), store.mfa_enabled())
    site.login_user("30300")
    assert site.post(path, form).status_code == 403
    assert (store.settings_document(), store.mfa_enabled()) == before


@pytest.mark.parametrize("path", USER_PAGES)
def test_admin_is_refused_terminal_user_pages(site: Site, path: str) -> None:
    site.login_admin()
    assert site.get(path).status_code == 403


def test_terminal_user_cannot_read_another_extension(site: Site, store: Store) -> None:
    site.login_user("30300")
    response = site.get("/SmartPBX/User/Absence?extension=30302")
    assert response.status_code == 403
    other_password = store.routing_snapshot().voicemail_passwords["30302"]
    assert "30302" not in response.text and other_password not in response.text
    assert site.get("/SmartPBX/User/Top?extension=30301").status_code == 403


def test_terminal_user_cannot_change_another_extension(site: Site, store: Store) -> None:
    before = store.settings_document()
    site.login_user("30300")
    response = site.post("/SmartPBX/User/Absence", {"extension": "30302", "enabled": "未設定"})
    assert response.status_code == 403
    assert store.settings_document() == before
    assert "30302" in store.routing_snapshot().absence


@pytest.mark.parametrize("token", [None, "", "wrong-token"], ids=["missing", "empty", "wrong"])
@pytest.mark.parametrize(("path", "form"), ADMIN_POSTS)
def test_admin_forms_refuse_bad_csrf(
    site: Site, store: Store, token: str | None, path: str, form: dict[str, str]
) -> None:
    before = (store.settings_document(), store.mfa_enabled())
    site.login_admin()
    body = dict(form) if token is None else form | {"csrf_token": token}
    assert site.post(path, body, csrf=False).status_code == 403
    assert (store.settings_document(), store.mfa_enabled()) == before


def test_login_and_absence_refuse_bad_csrf(site: Site, store: Store) -> None:
    login = site.post("/SmartPBX/Login", {"login_id": ADMIN[0], "password": ADMIN[1]}, csrf=False)
    assert login.status_code == 403
    assert site.get("/SmartPBX/Top").status_code == 303  # still not logged in
    site.login_user("30302")
    before = store.settings_document()
    absence = site.post(
        "/SmartPBX/User/Absence", {"enabled": "未設定", "csrf_token": "x"}, csrf=False
    )
    assert absence.status_code == 403
    assert store.settings_document() == before


def test_csrf_token_of_another_session_is_refused(
    site: Site, make_site: Callable[[], Site], store: Store
) -> None:
    attacker = make_site()
    foreign = attacker.token()
    site.login_admin()
    response = site.post("/SmartPBX/Account", {"mfa": "on", "csrf_token": foreign}, csrf=False)
    assert response.status_code == 403 and not store.mfa_enabled()


def test_session_cookie_flags(site: Site) -> None:
    cookie = site.get("/SmartPBX/Login").headers["set-cookie"]
    assert cookie.startswith("smartpbx_session=")
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags


def test_session_is_rotated_at_login(site: Site, make_site: Callable[[], Site]) -> None:
    site.get("/SmartPBX/Login")
    before = site.client.cookies["smartpbx_session"]
    token_before = site.token()
    site.login_admin()
    after = site.client.cookies["smartpbx_session"]
    assert after != before and site.token() != token_before
    # the pre-login session id (e.g. planted by an attacker) does not carry the login
    planted = make_site()
    planted.client.cookies.set("smartpbx_session", before)
    assert planted.get("/SmartPBX/Top").status_code == 303


def test_lockout_after_five_failures(site: Site) -> None:
    login_id, password = USERS["30300"]
    for _ in range(4):
        assert "正しくありません" in site.login(login_id, "wrong-pass1").text
    assert "ロックされています" in site.login(login_id, "wrong-pass1").text
    locked = site.login(login_id, password)
    assert "ロックされています" in locked.text and "location" not in locked.headers
    # other accounts are unaffected
    site.login_user("30301")


def test_unknown_login_id_reads_like_a_wrong_password(site: Site) -> None:
    unknown = site.login("nobody", "whatever1")
    wrong = site.login(USERS["30300"][0], "whatever1")
    assert field_errors(unknown) == field_errors(wrong)
    assert "ログインIDまたはパスワードが正しくありません。" in unknown.text


def _code(mailer: FakeMailer) -> str:
    return mailer.sent[-1][1]


def _mfa_user(site: Site, store: Store, mailer: FakeMailer) -> None:
    """MFA on; 30300 has registered its e-mail; a code has just been sent."""
    store.set_mfa(True)
    response = site.login(*USERS["30300"])
    assert response.headers["location"] == "/SmartPBX/Mfa/Register"
    register = site.post("/SmartPBX/Mfa/Register", {"email": "user30300@example.co.jp"})
    assert register.headers["location"] == "/SmartPBX/Mfa/Code"
    assert mailer.sent[-1][0] == "user30300@example.co.jp"


@pytest.mark.manual_step("P6-S1-mfa")
def test_mfa_first_login_registers_email_then_code(
    site: Site, store: Store, mailer: FakeMailer
) -> None:
    _mfa_user(site, store, mailer)
    # half-way: the user pages are still closed
    assert site.get("/SmartPBX/User/Top").status_code == 303
    before = site.client.cookies["smartpbx_session"]
    done = site.post("/SmartPBX/Mfa/Code", {"code": _code(mailer)})
    assert done.headers["location"] == "/SmartPBX/User/Top"
    assert site.client.cookies["smartpbx_session"] != before
    assert site.get("/SmartPBX/User/Top").status_code == 200
    # next login: no registration, straight to a new code
    site.post("/SmartPBX/Logout", {})
    assert site.login(*USERS["30300"]).headers["location"] == "/SmartPBX/Mfa/Code"
    assert len(mailer.sent) == 2


def test_mfa_code_is_single_use(
    site: Site, make_site: Callable[[], Site], store: Store, mailer: FakeMailer
) -> None:
    _mfa_user(site, store, mailer)
    code = _code(mailer)
    assert site.post("/SmartPBX/Mfa/Code", {"code": code}).status_code == 303
    # a second browser reaches the code step (its own code is sent) and replays the old one
    other = make_site()
    assert other.login(*USERS["30300"]).headers["location"] == "/SmartPBX/Mfa/Code"
    if _code(mailer) == code:  # one chance in a million: the new code happens to be equal
        pytest.skip("the freshly sent code equals the used one")
    replay = other.post("/SmartPBX/Mfa/Code", {"code": code})
    assert "有効期限が切れています" in field_errors(replay)["code"]


def test_mfa_code_expires_after_ten_simulated_minutes(
    site: Site, store: Store, mailer: FakeMailer, clock: ManualClock
) -> None:
    _mfa_user(site, store, mailer)
    clock.advance(600)
    expired = site.post("/SmartPBX/Mfa/Code", {"code": _code(mailer)})
    assert "有効期限が切れています" in field_errors(expired)["code"]
    resent = site.post("/SmartPBX/Mfa/Resend", {})
    assert resent.headers["location"] == "/SmartPBX/Mfa/Code"
    clock.advance(599)
    assert site.post("/SmartPBX/Mfa/Code", {"code": _code(mailer)}).status_code == 303


def test_mfa_resend_redirects_to_the_code_screen_with_a_notice_shown_once(
    site: Site, store: Store, mailer: FakeMailer
) -> None:
    _mfa_user(site, store, mailer)
    first = _code(mailer)

    resent = site.post("/SmartPBX/Mfa/Resend", {})

    # POST-redirect-GET: the address bar ends on the code screen, a reload sends nothing.
    assert resent.status_code == 303
    assert resent.headers["location"] == "/SmartPBX/Mfa/Code"
    assert len(mailer.sent) == 2
    shown = site.get("/SmartPBX/Mfa/Code")
    assert '<div class="alert alert-ok" role="status">再送信しました。</div>' in shown.text
    assert "再送信しました。" not in site.get("/SmartPBX/Mfa/Code").text
    assert len(mailer.sent) == 2
    if _code(mailer) != first:  # the new code replaced the old one
        replay = site.post("/SmartPBX/Mfa/Code", {"code": first})
        assert "code" in field_errors(replay)
    assert site.post("/SmartPBX/Mfa/Code", {"code": _code(mailer)}).status_code == 303


def test_header_names_the_account_only_after_the_second_factor(
    site: Site, store: Store, mailer: FakeMailer
) -> None:
    store.set_mfa(True)
    site.login(*USERS["30300"])
    register = site.get("/SmartPBX/Mfa/Register")
    site.post("/SmartPBX/Mfa/Register", {"email": "user30300@example.co.jp"})
    code = site.get("/SmartPBX/Mfa/Code")
    for half_way in (register, code):
        assert half_way.status_code == 200
        # (the code screen names the e-mail address the user typed, not the account)
        assert "端末ユーザ" not in half_way.text and "内線 30300" not in half_way.text
        assert 'action="/SmartPBX/Logout"' in half_way.text  # the login can still be abandoned

    site.post("/SmartPBX/Mfa/Code", {"code": _code(mailer)})

    assert "端末ユーザ: user30300（内線 30300）" in site.get("/SmartPBX/User/Top").text


def test_mfa_wrong_codes_lock_the_account(site: Site, store: Store, mailer: FakeMailer) -> None:
    _mfa_user(site, store, mailer)
    wrong = "000000" if _code(mailer) != "000000" else "111111"
    for _ in range(4):
        assert "code" in field_errors(site.post("/SmartPBX/Mfa/Code", {"code": wrong}))
    locked = site.post("/SmartPBX/Mfa/Code", {"code": wrong})
    assert "ロックされています" in locked.text
    assert store.is_locked("user30300", now=0.0)


def test_mfa_register_rejects_bad_addresses(site: Site, store: Store, mailer: FakeMailer) -> None:
    store.set_mfa(True)
    site.login(*USERS["30300"])
    for bad in ("", "user", "a@b", "user@exa mple.jp", "ユーザ@example.jp", "x" * 300 + "@a.jp"):
        errors = field_errors(site.post("/SmartPBX/Mfa/Register", {"email": bad}))
        assert "正しい形式" in errors["email"], bad
    assert mailer.sent == [] and store.account("user30300").email is None  # type: ignore[union-attr]


def test_admin_is_not_asked_for_mfa(site: Site, store: Store) -> None:
    store.set_mfa(True)
    site.login_admin()
    assert site.get("/SmartPBX/Top").status_code == 200


def test_no_page_echoes_a_password(site: Site) -> None:
    response = site.login(USERS["30300"][0], "Secret-typed-1")
    assert "Secret-typed-1" not in response.text
    assert re.search(r'name="password" value=""', response.text)


@pytest.mark.parametrize("path", ["/SmartPBX/Login", "/api/health", "/nowhere"])
def test_security_headers(site: Site, path: str) -> None:
    headers = site.get(path).headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"


def test_oversized_form_body_is_refused_unread(site: Site, store: Store) -> None:
    site.login_user("30300")
    before = store.settings_document()
    body = {"enabled": "未設定", "junk": "x" * 1_100_000}
    assert site.post("/SmartPBX/User/Absence", body).status_code == 400
    assert store.settings_document() == before


# --- ログアウト is a POST with the CSRF token; the cookie is Secure over TLS (issue 10.7) -------


@pytest.mark.parametrize(
    ("login", "logout", "protected"),
    [
        ("/SmartPBX/Login", "/SmartPBX/Logout", "/SmartPBX/Top"),
        ("/b-portal/login", "/b-portal/logout", "/b-portal/"),
    ],
)
def test_logout_is_a_post_with_the_csrf_token(
    site: Site, login: str, logout: str, protected: str
) -> None:
    assert site.post(login, {"login_id": ADMIN[0], "password": ADMIN[1]}).status_code == 303
    page = site.get(protected)
    # The header offers a form (with this session's token), no link a third party could fire.
    assert f'<form method="post" action="{logout}" class="logout">' in page.text
    assert f'href="{logout}"' not in page.text
    assert f'name="csrf_token" value="{site.token()}"' in page.text

    assert site.get(logout).status_code == 405  # an <img src> or link cannot end the session
    assert site.post(logout, {}, csrf=False).status_code == 403
    assert site.post(logout, {"csrf_token": "forged"}, csrf=False).status_code == 403
    assert site.get(protected).status_code == 200  # still logged in

    assert site.post(logout, {}).headers["location"] == login
    assert site.get(protected).headers["location"] == login


def test_session_cookie_is_secure_over_tls_only(make_site: Callable[[], Site], site: Site) -> None:
    # serve offers plain HTTP only (docs/web.md): HttpOnly + SameSite are what it sets there
    # (test_session_cookie_flags); a request that came over TLS gets Secure as well.
    plain = {
        p.strip().lower() for p in site.get("/SmartPBX/Login").headers["set-cookie"].split(";")
    }
    assert "secure" not in plain
    tls = make_site()
    tls.client.base_url = httpx.URL("https://127.0.0.1")
    flags = {p.strip().lower() for p in tls.get("/SmartPBX/Login").headers["set-cookie"].split(";")}
    assert {"secure", "httponly", "samesite=lax"} <= flags


# --- a lockout ends: by time, or by the administrator; each one is logged (issue 10.6) ------


def _lock(site: Site, login_id: str) -> None:
    for _ in range(5):
        site.login(login_id, "Wrong-typed-9")
    assert "ロックされています" in site.login(login_id, "Wrong-typed-9").text


def test_locked_account_unlocks_after_the_lockout_time(site: Site, clock: ManualClock) -> None:
    login_id, password = USERS["30300"]
    _lock(site, login_id)
    refused = site.login(login_id, password)
    assert "15分後に再度お試しいただくか" in refused.text  # the person learns it ends
    clock.advance(899.0)
    assert "ロックされています" in site.login(login_id, password).text
    clock.advance(1.0)  # 900 simulated seconds (the default) after the lock
    site.login_user("30300")


def test_the_administrator_is_locked_out_for_a_while_only(site: Site, clock: ManualClock) -> None:
    _lock(site, ADMIN[0])
    clock.advance(900.0)
    site.login_admin()


def test_administrator_unlocks_a_terminal_user(
    site: Site, make_site: Callable[[], Site], store: Store
) -> None:
    user = make_site()
    login_id, password = USERS["30300"]
    _lock(user, login_id)
    site.login_admin()
    account = site.get("/SmartPBX/Account")
    assert "ロック中の端末ユーザ" in account.text
    assert f'name="login_id" value="{login_id}"' in account.text and "15分" in account.text

    done = site.post("/SmartPBX/Account/Unlock", {"login_id": login_id})

    assert done.status_code == 200 and "ロックを解除しました。" in done.text
    assert "ロック中の端末ユーザはいません。" in done.text
    assert not store.is_locked(login_id, now=0.0)
    user.login_user("30300")


@pytest.mark.parametrize("login_id", [ADMIN[0], "nobody", ""])
def test_only_terminal_users_are_unlocked_on_the_account_screen(
    site: Site, store: Store, login_id: str
) -> None:
    site.login_admin()
    store.record_failure(ADMIN[0], now=0.0)  # someone else is guessing the admin's password
    refused = site.post("/SmartPBX/Account/Unlock", {"login_id": login_id})
    assert refused.status_code == 200
    assert "ロックを解除できるのは端末ユーザのアカウントです。" in refused.text
    assert store.account(ADMIN[0]).failed_logins == 1  # type: ignore[union-attr]


def test_a_terminal_user_cannot_unlock(site: Site, make_site: Callable[[], Site]) -> None:
    _lock(make_site(), USERS["30301"][0])
    site.login_user("30300")
    response = site.post("/SmartPBX/Account/Unlock", {"login_id": USERS["30301"][0]})
    assert response.status_code == 403


def test_every_lockout_is_logged_with_login_id_and_source_never_the_password(
    site: Site, store: Store, mailer: FakeMailer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="harness.sim.web.auth")
    _lock(site, USERS["30301"][0])
    _mfa_user(site, store, mailer)  # 30300, locked by wrong one-time codes
    for _ in range(5):
        site.post("/SmartPBX/Mfa/Code", {"code": "000000" if _code(mailer) != "000000" else "1"})

    lines = [r.getMessage() for r in caplog.records if "web account locked" in r.getMessage()]
    assert len(lines) == 2  # one per lockout, not one per refused attempt
    assert "ログインID 'user30301' from 127.0.0.1" in lines[0]
    assert "ログインID 'user30300' from 127.0.0.1" in lines[1]
    assert all("Wrong-typed-9" not in r.getMessage() for r in caplog.records)
