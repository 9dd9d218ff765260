"""Logins: the ビジネスポータル (manual P.2 ①②), the settings site (P.2 ③, P.6 Step1) and the
多要素認証 steps of a 端末ユーザ (P.6: e-mail registration at first login, then a one-time code).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from harness.sim.faults import MFA_NOT_ENFORCED, OTP_REUSABLE
from harness.sim.web.context import LOGIN_PATH, PORTAL_LOGIN_PATH, Ctx, Guard, screen

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_CODE = re.compile(r"[0-9]{6}")

_log = logging.getLogger(__name__)

BAD_LOGIN = "ログインIDまたはパスワードが正しくありません。"
LOCKED = (
    "アカウントがロックされています。{duration}後に再度お試しいただくか、"
    "お客様管理者にお問い合わせください。"
)
UNLOCKED = "ロックを解除しました。"
MAIL_FAILED = "メールを送信できませんでした。時間をおいて再度お試しください。"
RESENT = "再送信しました。"


async def _check_login(ctx: Ctx) -> tuple[str | None, dict[str, str]]:
    """The posted ログインID / パスワード → (login id when accepted, errors)."""
    login_id, password = ctx.field("login_id").strip(), ctx.field("password")
    errors: dict[str, str] = {}
    if not login_id:
        errors["login_id"] = "ログインIDを入力してください。"
    if not password:
        errors["password"] = "パスワードを入力してください。"
    if errors:
        return None, errors
    check = partial(ctx.store.check_password, login_id, password, now=ctx.sim.clock.now())
    outcome = await run_in_threadpool(check)
    if outcome == "locked_now":
        _log_lockout(ctx, login_id)
    if outcome in ("locked", "locked_now"):
        return None, {"form": _locked_message(ctx)}
    if outcome != "ok":
        return None, {"form": BAD_LOGIN}
    return login_id, {}


def _duration(seconds: float) -> str:
    """A lock's length as a person reads it: 「15分」, 「30秒」 (simulated time)."""
    if seconds >= 60:
        return f"{math.ceil(seconds / 60)}分"
    return f"{math.ceil(seconds)}秒"


def _locked_message(ctx: Ctx) -> str:
    # The person learns the lock ends (and when), not only whom to ask.
    return LOCKED.format(duration=_duration(ctx.store.lockout_time))


def _log_lockout(ctx: Ctx, login_id: str) -> None:
    """One line in serve's log per lockout: who and from where — never what was typed."""
    source = ctx.request.client.host if ctx.request.client else "unknown"
    _log.warning(
        "web account locked: ログインID %r from %s after %d failed logins; it unlocks in "
        "%g simulated s (serve --lockout-time), or the administrator unlocks a 端末ユーザ on "
        "アカウント設定",
        login_id,
        source,
        ctx.store.lockout_threshold,
        ctx.store.lockout_time,
    )


# --- ビジネスポータル ---------------------------------------------------------------------------


@screen(Guard.ANYONE)
async def portal_login(ctx: Ctx) -> Response:
    """ビジネスポータル login, with the 管理者アカウント of the ご利用内容."""
    if ctx.request.method == "GET":
        return ctx.render("portal_login.html")
    login_id, errors = await _check_login(ctx)
    account = ctx.store.account(login_id) if login_id else None
    if account is None or account.role != "admin":
        errors = errors or {"form": BAD_LOGIN}
        values = {"login_id": ctx.field("login_id")[:100]}
        return ctx.render("portal_login.html", 200, errors=errors, values=values)
    ctx.rotate(
        login_id=ctx.session.login_id, stage=ctx.session.stage, portal_login_id=account.login_id
    )
    return ctx.redirect("/b-portal/")


@screen(Guard.PORTAL)
async def portal_top(ctx: Ctx) -> Response:
    """ポータルトップ: サービスメニュー."""
    return ctx.render("portal_top.html")


@screen(Guard.PORTAL)
async def portal_smartpbx(ctx: Ctx) -> Response:
    """サービスメニュー → Smart PBX: the link 「Arcstar Smart PBX 設定変更」."""
    return ctx.render("portal_smartpbx.html")


@screen(Guard.ANYONE)
async def portal_logout(ctx: Ctx) -> Response:
    """ビジネスポータルのログアウト: a POST with the CSRF token, as the site's (``logout``)."""
    ctx.rotate(login_id=ctx.session.login_id, stage=ctx.session.stage, keep_portal=False)
    return ctx.redirect(PORTAL_LOGIN_PATH)


# --- Web設定変更サイト ---------------------------------------------------------------------------


@screen(Guard.ANYONE)
async def login(ctx: Ctx) -> Response:
    """Web設定変更サイト login: 管理者 → /SmartPBX/Top, 端末ユーザ → /SmartPBX/User/Top."""
    if ctx.request.method == "GET":
        return ctx.render("login.html")
    login_id, errors = await _check_login(ctx)
    account = ctx.store.account(login_id) if login_id else None
    if account is None:
        values = {"login_id": ctx.field("login_id")[:100]}
        return ctx.render("login.html", 200, errors=errors, values=values)
    if account.role == "admin":
        ctx.rotate(login_id=account.login_id, stage="full")
        return ctx.redirect("/SmartPBX/Top")
    if not ctx.store.mfa_enabled() or ctx.sim.faults.on(MFA_NOT_ENFORCED):
        ctx.rotate(login_id=account.login_id, stage="full")
        return ctx.redirect("/SmartPBX/User/Top")
    if account.email is None:
        ctx.rotate(login_id=account.login_id, stage="mfa_register")
        return ctx.redirect("/SmartPBX/Mfa/Register")
    ctx.rotate(login_id=account.login_id, stage="mfa_code")
    if not await _send_code(ctx, account.login_id, account.email):
        return ctx.render("login.html", 503, errors={"form": MAIL_FAILED})
    return ctx.redirect("/SmartPBX/Mfa/Code")


async def _send_code(ctx: Ctx, login_id: str, email: str) -> bool:
    code = ctx.store.issue_code(login_id, now=ctx.sim.clock.now())
    try:
        await ctx.sim.mailer.send_code(email, code)
    except OSError:
        return False
    return True


@screen(Guard.MFA_REGISTER)
async def mfa_register(ctx: Ctx) -> Response:
    """多要素認証: first login of a 端末ユーザ registers the e-mail address for one-time codes."""
    if ctx.request.method == "GET":
        return ctx.render("mfa_register.html")
    email = ctx.field("email").strip()
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        errors = {
            "email": "メールアドレスを正しい形式で入力してください（例: user@example.co.jp）。"
        }
        return ctx.render("mfa_register.html", 200, errors=errors, values={"email": email[:254]})
    assert ctx.account is not None
    ctx.store.register_email(ctx.account.login_id, email)
    ctx.rotate(login_id=ctx.account.login_id, stage="mfa_code")
    if not await _send_code(ctx, ctx.account.login_id, email):
        return ctx.render("mfa_register.html", 503, errors={"form": MAIL_FAILED})
    return ctx.redirect("/SmartPBX/Mfa/Code")


@screen(Guard.MFA_CODE)
async def mfa_code(ctx: Ctx) -> Response:
    """多要素認証: the one-time code sent by e-mail (6 digits, 10 minutes, single use)."""
    assert ctx.account is not None
    if ctx.request.method == "GET":
        notice = ctx.store.take_flash(ctx.session.token)
        return ctx.render("mfa_code.html", email=ctx.account.email, notice=notice)
    code = ctx.field("code").strip()
    if not _CODE.fullmatch(code):
        errors = {"code": "ワンタイムパスワード（数字6桁）を入力してください。"}
        return ctx.render("mfa_code.html", 200, errors=errors, email=ctx.account.email)
    single_use = not ctx.sim.faults.on(OTP_REUSABLE)
    if ctx.store.redeem_code(
        ctx.account.login_id, code, now=ctx.sim.clock.now(), single_use=single_use
    ):
        ctx.rotate(login_id=ctx.account.login_id, stage="full")
        return ctx.redirect("/SmartPBX/User/Top")
    outcome = ctx.store.record_failure(ctx.account.login_id, now=ctx.sim.clock.now())
    if outcome == "locked_now":
        _log_lockout(ctx, ctx.account.login_id)
    if outcome in ("locked", "locked_now"):
        ctx.rotate(login_id=None, stage="anonymous")
        return ctx.render("login.html", 200, errors={"form": _locked_message(ctx)}, account=None)
    errors = {"code": "ワンタイムパスワードが正しくないか、有効期限が切れています。"}
    return ctx.render("mfa_code.html", 200, errors=errors, email=ctx.account.email)


@screen(Guard.MFA_CODE)
async def mfa_resend(ctx: Ctx) -> Response:
    """「再送信」: a new code (the previous one stops working), then back to the code screen.

    POST-redirect-GET: the browser ends on /SmartPBX/Mfa/Code (a reload does not send another
    code) and the code screen shows 「再送信しました。」 once.
    """
    assert ctx.account is not None and ctx.account.email is not None
    if not await _send_code(ctx, ctx.account.login_id, ctx.account.email):
        return ctx.render("mfa_code.html", 503, errors={"form": MAIL_FAILED})
    ctx.store.set_flash(ctx.session.token, RESENT)
    return ctx.redirect("/SmartPBX/Mfa/Code")


# --- アカウント設定: locked 端末ユーザ (issue 10.6) ------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LockRow:
    login_id: str
    extension: str
    remaining: str
    """Time until the lock runs out by itself, e.g. 「12分」."""


@dataclass(frozen=True, kw_only=True)
class AccountLocks:
    """What アカウント設定 shows about locks (template ``account_locks.html``)."""

    threshold: int
    duration: str
    rows: tuple[LockRow, ...]


def account_locks(ctx: Ctx) -> AccountLocks:
    """The 端末ユーザ locked now, for the administrator's アカウント設定."""
    now = ctx.sim.clock.now()
    rows = tuple(
        LockRow(
            login_id=account.login_id,
            extension=account.extension or "",
            remaining=_duration((ctx.store.locked_until(account, now=now) or now) - now),
        )
        for account in ctx.store.locked_accounts(now=now)
        if account.role == "terminal_user"
    )
    return AccountLocks(
        threshold=ctx.store.lockout_threshold,
        duration=_duration(ctx.store.lockout_time),
        rows=rows,
    )


@screen(Guard.ADMIN)
async def unlock(ctx: Ctx) -> Response:
    """アカウント設定 › 「ロック解除」: the administrator lifts a 端末ユーザ's lock at once."""
    login_id = ctx.field("login_id")
    account = ctx.store.account(login_id) if login_id else None
    mfa = ctx.store.mfa_enabled()
    if account is None or account.role != "terminal_user":
        errors = {"unlock": "ロックを解除できるのは端末ユーザのアカウントです。"}
        return ctx.render("account.html", 200, mfa=mfa, errors=errors, locks=account_locks(ctx))
    ctx.store.unlock(account.login_id)
    assert ctx.account is not None
    _log.warning(
        "web account unlocked: ログインID %r by the administrator %r",
        account.login_id,
        ctx.account.login_id,
    )
    notice = f"{UNLOCKED}（{account.login_id}）"
    return ctx.render("account.html", mfa=mfa, notice=notice, locks=account_locks(ctx))


@screen(Guard.ANYONE)
async def logout(ctx: Ctx) -> Response:
    """ログアウト: the session ends (a fresh anonymous one replaces it).

    A POST with the session's CSRF token (the header's 「ログアウト」 button): a GET could be
    fired by any page or image link to end the person's session unasked (OWASP CSRF cheat
    sheet: state-changing requests are never GETs).
    """
    ctx.rotate(login_id=None, stage="anonymous")
    return ctx.redirect(LOGIN_PATH)


async def root(request: Request) -> Response:
    return RedirectResponse(PORTAL_LOGIN_PATH, status_code=303)


ROUTES = [
    Route("/", root),
    Route(PORTAL_LOGIN_PATH, portal_login, methods=["GET", "POST"]),
    Route("/b-portal/", portal_top),
    Route("/b-portal/services/smartpbx", portal_smartpbx),
    Route("/b-portal/logout", portal_logout, methods=["POST"]),
    Route(LOGIN_PATH, login, methods=["GET", "POST"]),
    Route("/SmartPBX/Logout", logout, methods=["POST"]),
    Route("/SmartPBX/Mfa/Register", mfa_register, methods=["GET", "POST"]),
    Route("/SmartPBX/Mfa/Code", mfa_code, methods=["GET", "POST"]),
    Route("/SmartPBX/Mfa/Resend", mfa_resend, methods=["POST"]),
    Route("/SmartPBX/Account/Unlock", unlock, methods=["POST"]),
]
