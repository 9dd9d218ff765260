"""The simulator's web site: ビジネスポータル, Web設定変更サイト and the provisioning API.

Starlette rather than FastAPI: the site is server-rendered forms whose validation must follow
DOMAIN.md field by field with Japanese messages beside each field and the form refilled, which
FastAPI's automatic 422 JSON answers would get in the way of; the JSON API is small enough that
a hand-written OpenAPI document (api.py) stays accurate without FastAPI's generator. Starlette is
the ASGI core FastAPI is built on, so nothing is lost.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.clock import Clock
from harness.sim import api
from harness.sim.faults import NO_FAULTS, Faults
from harness.sim.mail import Mailer, MailSink
from harness.sim.store import NoTenantError, Store
from harness.sim.web import admin, auth, user
from harness.sim.web.access import AccessGuard, allowed_hosts
from harness.sim.web.context import Simulation, error_page

_log = logging.getLogger(__name__)

_STATUS_TEXT = {
    400: ("リクエストが正しくありません", "送信内容を確認してください。"),
    404: ("ページが見つかりません", "指定されたページは存在しません。"),
    405: ("操作できません", "この画面ではその操作はできません。"),
}


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if request.url.path.startswith("/api/"):
        detail = exc.detail if isinstance(exc, HTTPException) else "error"
        return JSONResponse({"error": str(detail), "problems": []}, status_code=status)
    title, message = _STATUS_TEXT.get(status, ("エラー", "処理できませんでした。"))
    return error_page(request, status, title, message)


async def _no_tenant(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc), "problems": []}, status_code=409)
    return error_page(
        request, 503, "準備中", "ご利用内容が読み込まれていません（POST /api/tenant）。"
    )


async def _crash(request: Request, exc: Exception) -> Response:
    """Last resort: log the bug, answer a plain page (never a traceback)."""
    _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "internal error", "problems": []}, status_code=500)
    return error_page(request, 500, "システムエラー", "処理中にエラーが発生しました。")


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """Headers every response carries: no framing, no sniffing, only our own resources; pages
    and API answers are not cached (they show settings and one-time steps)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + _SECURITY_HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    store: Store,
    clock: Clock,
    mailer: Mailer,
    *,
    mail_sink: MailSink | None = None,
    ports: dict[str, int | None] | None = None,
    host: str = "127.0.0.1",
    api_token: str | None = None,
    token_hint: str = "it is printed in serve's banner",
    faults: Faults = NO_FAULTS,
) -> Starlette:
    """The ASGI app over ``store``; one-time codes go out through ``mailer``.

    Requests must name ``host``:``ports["http"]`` in their Host header, and ``/api/*`` needs
    ``Authorization: Bearer <api_token>`` (``harness.sim.web.access``); without an
    ``api_token`` a random one is made, so the API is never open. ``faults``: the named
    deviations of the site switched on (harness.sim.faults; none by default).
    """
    static = StaticFiles(directory=str(Path(__file__).parent / "static"))
    app = Starlette(
        routes=[
            *auth.ROUTES,
            *admin.ROUTES,
            *user.ROUTES,
            *api.ROUTES,
            Mount("/static", static, name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                AccessGuard,
                api_token=api_token or secrets.token_urlsafe(32),
                hosts=allowed_hosts(host, (ports or {}).get("http")),
                token_hint=token_hint,
            ),
        ],
        exception_handlers={
            HTTPException: _http_error,
            NoTenantError: _no_tenant,
            Exception: _crash,
        },
    )
    app.state.sim = Simulation(
        store=store, clock=clock, mailer=mailer, mail_sink=mail_sink, ports=ports, faults=faults
    )
    return app
