"""Request plumbing shared by every screen: sessions, CSRF, login guards, rendering.

Sessions are server-side rows of the store (``web_sessions``), named by an opaque random token
in the ``smartpbx_session`` cookie (HttpOnly, SameSite=Lax, path /). Every visitor gets one, even
before login, because the login form itself carries a CSRF token. The token is replaced at each
login step (``rotate``), so a token planted before login is useless after it. The cookie is
``Secure`` when the request came over TLS (``https``); ``serve`` offers plain HTTP on loopback
only, so today it never is — HttpOnly and SameSite=Lax are what protect it there.

Every POST must carry the session's ``csrf_token`` form field; a missing or wrong token is
refused with 403 before the handler runs. Guards: ``Guard.PORTAL`` (ビジネスポータル login),
``Guard.ADMIN`` (ユーザ管理者), ``Guard.TERMINAL_USER`` (端末ユーザ, MFA completed),
``Guard.MFA_REGISTER`` / ``Guard.MFA_CODE`` (half-way through a 多要素認証 login) and
``Guard.ANYONE``. Without the right login a GET is redirected to the login page and a POST is
refused (403); a logged-in user of the wrong role gets 403.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from harness.clock import Clock
from harness.sim.faults import NO_FAULTS, Faults
from harness.sim.mail import Mailer, MailSink
from harness.sim.store import Account, Session, Stage, Store

COOKIE = "smartpbx_session"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

LOGIN_PATH = "/SmartPBX/Login"
PORTAL_LOGIN_PATH = "/b-portal/login"
MAX_FORM_BYTES = 1_000_000
"""A larger form body is refused (400) unread."""
MAX_FIELD_CHARS = 1000
"""Longer form values are refused as a whole (a person never types more)."""


@dataclass
class Simulation:
    """What the web app and the API need, attached to ``app.state.sim``."""

    store: Store
    clock: Clock
    mailer: Mailer
    mail_sink: MailSink | None = None
    ports: dict[str, int | None] | None = None
    faults: Faults = NO_FAULTS  # named deviations of the site (harness.sim.faults)


class Guard(enum.Enum):
    ANYONE = "anyone"
    PORTAL = "portal"
    ADMIN = "admin"
    TERMINAL_USER = "terminal_user"
    MFA_REGISTER = "mfa_register"
    MFA_CODE = "mfa_code"


@dataclass
class Ctx:
    """One request as a screen handler sees it."""

    request: Request
    sim: Simulation
    session: Session
    account: Account | None
    form: dict[str, str]
    form_lists: dict[str, list[str]]

    @property
    def store(self) -> Store:
        return self.sim.store

    def field(self, name: str) -> str:
        return self.form.get(name, "")

    def rotate(
        self,
        *,
        login_id: str | None,
        stage: Stage,
        portal_login_id: str | None = None,
        keep_portal: bool = True,
    ) -> None:
        """Replace the session by a fresh one (new token, new CSRF token)."""
        portal = self.session.portal_login_id if keep_portal else None
        self.session = self.store.new_session(
            portal_login_id=portal_login_id or portal,
            login_id=login_id,
            stage=stage,
            replaces=self.session.token,
        )

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        # The header names the account only once every login step is done: half-way through
        # 多要素認証 the password alone has not proved who is at the keyboard.
        context.setdefault("account", self.account if self.session.stage == "full" else None)
        context["signing_in"] = self.session.stage in ("mfa_register", "mfa_code")
        context.setdefault("errors", {})
        context.setdefault("values", {})
        context["csrf_token"] = self.session.csrf_token
        context["portal_user"] = self.session.portal_login_id
        return TEMPLATES.TemplateResponse(self.request, template, context, status_code=status_code)

    def redirect(self, path: str) -> Response:
        return RedirectResponse(path, status_code=303)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    # Secure over TLS (RFC 6265 §4.1.2.5): a browser then never sends it over plain HTTP.
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/", secure=secure)


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    """A plain error page (never a traceback)."""
    return TEMPLATES.TemplateResponse(
        request,
        "error.html",
        {"title": title, "message": message, "account": None, "portal_user": None},
        status_code=status_code,
    )


Handler = Callable[[Ctx], Awaitable[Response]]


def screen(guard: Guard) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a screen handler with the session, CSRF check and login guard."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            sim: Simulation = request.app.state.sim
            token = request.cookies.get(COOKIE, "")
            session = sim.store.session(token) if token else None
            fresh = session is None
            if session is None:
                session = sim.store.new_session()
            form: dict[str, str] = {}
            form_lists: dict[str, list[str]] = {}
            if request.method == "POST":
                parsed = await _read_form(request)
                if parsed is None:
                    return _refuse(request, session, 400, "送信内容を読み取れませんでした。")
                form, form_lists = parsed
                sent = form.get("csrf_token", "")
                if fresh or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
                    return _refuse(
                        request,
                        session,
                        403,
                        "画面の有効期限が切れたか、不正な送信です。もう一度画面を開き直してください。",
                    )
            account = sim.store.account(session.login_id) if session.login_id else None
            ctx = Ctx(
                request=request,
                sim=sim,
                session=session,
                account=account,
                form=form,
                form_lists=form_lists,
            )
            response = _check_guard(ctx, guard) or await handler(ctx)
            # The cookie names the session as it is after the handler (rotated at login).
            set_session_cookie(request, response, ctx.session.token)
            return response

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


def _refuse(request: Request, session: Session, status: int, message: str) -> Response:
    response = error_page(request, status, "エラー", message)
    set_session_cookie(request, response, session.token)
    return response


async def _read_form(request: Request) -> tuple[dict[str, str], dict[str, list[str]]] | None:
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        return None
    try:
        data: FormData = await request.form(max_files=0, max_fields=200)
    except Exception:  # noqa: BLE001 — any malformed body is the client's fault, answered 400
        return None
    single: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for key, value in data.multi_items():
        text = value if isinstance(value, str) else ""
        if len(text) > MAX_FIELD_CHARS:
            text = text[:MAX_FIELD_CHARS]
        single.setdefault(key, text)
        lists.setdefault(key, []).append(text)
    return single, lists


def _check_guard(ctx: Ctx, guard: Guard) -> Response | None:
    session, account = ctx.session, ctx.account
    if guard is Guard.ANYONE:
        return None
    if guard is Guard.PORTAL:
        if session.portal_login_id is None:
            return _to_login(ctx, PORTAL_LOGIN_PATH)
        return None
    wanted_stage = {
        Guard.ADMIN: "full",
        Guard.TERMINAL_USER: "full",
        Guard.MFA_REGISTER: "mfa_register",
        Guard.MFA_CODE: "mfa_code",
    }[guard]
    if account is None or session.stage != wanted_stage:
        return _to_login(ctx, LOGIN_PATH)
    wanted_role = "admin" if guard is Guard.ADMIN else "terminal_user"
    if account.role != wanted_role:
        return error_page(
            ctx.request, 403, "アクセスできません", "この画面を表示する権限がありません。"
        )
    return None


def _to_login(ctx: Ctx, path: str) -> Response:
    if ctx.request.method == "GET":
        return RedirectResponse(path, status_code=303)
    return error_page(ctx.request, 403, "ログインしてください", "この操作にはログインが必要です。")
