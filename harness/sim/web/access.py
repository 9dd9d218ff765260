"""Who may talk to the simulator's HTTP side: the Host check (every path) and the provisioning
API's bearer token and JSON-only bodies (``/api/*``).

Theory of operation (issue 10.5): the simulator listens on loopback only, but loopback is shared
by everyone on the machine and reachable from any web page open in the rehearsing person's
browser. Three checks close the holes, outermost first, before any route runs:

1. **Host** (every path, pages and API alike): the ``Host`` header must name the address the
   simulator listens on (``127.0.0.1:<port>``, ``localhost:<port>``, ``[::1]:<port>``…),
   otherwise 421 Misdirected Request (RFC 9110 §15.5.20). A DNS-rebinding page
   (``attacker.example`` resolved to 127.0.0.1) sends its own name as Host and is refused, so
   it can neither read the pages nor drive the API through the victim's browser.
2. **Bearer token** (``/api/*`` except the public ``GET /api/openapi.json``): ``Authorization:
   Bearer <token>`` (RFC 6750 §2.1), compared in constant time (``hmac.compare_digest``);
   without it 401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3) and a JSON message saying
   where the token is. A browser cannot add that header cross-origin without a CORS preflight,
   which the simulator never grants. The pages keep their own login (sessions + CSRF).
3. **JSON bodies only** on ``/api/*``: a request carrying a body (or a ``Content-Type``) that is
   not ``application/json`` (or ``…+json``) gets 415 (RFC 9110 §15.5.16). ``text/plain``,
   form and multipart bodies are what a cross-origin page can send without a preflight
   (Fetch standard, "CORS-safelisted request-header").
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from harness.sim.web.context import error_page

OPENAPI_PATH = "/api/openapi.json"
"""Public: the document says how to authenticate, so a client can read it before it has a token."""
REALM = "smartpbx-harness simulator"
MIN_TOKEN_CHARS = 16
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750 §2.1 ``b64token``: what a bearer token may contain."""
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_api_token(text: str) -> str | None:
    """Why ``text`` cannot be an API token (``None``: it can)."""
    if len(text) < MIN_TOKEN_CHARS:
        return f"at least {MIN_TOKEN_CHARS} characters (a guessable token protects nothing)"
    if not _TOKEN.fullmatch(text):
        return "letters, digits and - . _ ~ + / only, optionally ending in = (RFC 6750 b64token)"
    return None


def allowed_hosts(host: str, port: int | None) -> frozenset[str]:
    """The ``Host`` header values that name a simulator listening on ``host``:``port``.

    ``port`` ``None`` (an app not bound to a socket, in-process tests) counts as port 80, where
    browsers leave the port out of the header (RFC 9110 §7.2).
    """
    literal = f"[{host}]" if ":" in host else host
    names = {literal.lower(), "localhost"}
    if host == "localhost":
        names |= {"127.0.0.1", "[::1]"}
    number = 80 if port is None else port
    hosts = {f"{name}:{number}" for name in names}
    if number == 80:
        hosts |= names
    return frozenset(hosts)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class AccessGuard:
    """ASGI middleware running the three checks of this module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_token: str,
        hosts: Iterable[str],
        token_hint: str = "it is printed in serve's banner",
    ) -> None:
        self.app = app
        self._token = api_token.encode()
        self._hosts = frozenset(h.lower() for h in hosts)
        self._token_hint = token_hint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        path = str(scope.get("path", ""))
        api = path == "/api" or path.startswith("/api/")
        host = (_header(scope, b"host") or "").lower()
        if host not in self._hosts:
            return self._misdirected(scope, api, host)
        if not api:
            return None
        method = str(scope.get("method", "GET"))
        if path == OPENAPI_PATH and method in ("GET", "HEAD"):
            return None
        unauthorized = self._unauthorized(_header(scope, b"authorization"))
        if unauthorized is not None:
            return unauthorized
        if method in _BODY_METHODS:
            return _not_json(scope)
        return None

    def _misdirected(self, scope: Scope, api: bool, host: str) -> Response:
        expected = sorted(self._hosts)[0]
        if api:
            return JSONResponse(
                {
                    "error": f"Host {host[:100]!r} is not this simulator: call it by the address "
                    f"it listens on (Host: {', '.join(sorted(self._hosts))})",
                    "problems": [],
                },
                status_code=421,
            )
        return error_page(
            Request(scope),
            421,
            "このアドレスでは表示できません",
            f"シミュレータのアドレス（http://{expected}/）を開いてください。",
        )

    def _unauthorized(self, authorization: str | None) -> Response | None:
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        how = (
            "send the provisioning API token as 'Authorization: Bearer <token>' "
            f"(serve --api-token TOKEN sets it; {self._token_hint})"
        )
        if not authorization:
            challenge = f'Bearer realm="{REALM}"'
            error = f"missing API token: {how}"
        elif scheme.lower() != "bearer" or not credentials.strip():
            challenge = f'Bearer realm="{REALM}", error="invalid_request"'
            error = f"the Authorization header is not a bearer token: {how}"
        elif not hmac.compare_digest(credentials.strip().encode(), self._token):
            challenge = f'Bearer realm="{REALM}", error="invalid_token"'
            error = f"wrong API token: {how}"
        else:
            return None
        return JSONResponse(
            {"error": error, "problems": []},
            status_code=401,
            headers={"WWW-Authenticate": challenge},
        )


def _not_json(scope: Scope) -> Response | None:
    content_type = _header(scope, b"content-type")
    if content_type is None:
        length = _header(scope, b"content-length")
        chunked = _header(scope, b"transfer-encoding") is not None
        if not chunked and (length is None or length.strip() == "0"):
            return None  # no body at all (POST /api/reset)
        given = "no Content-Type"
    else:
        media = content_type.split(";", 1)[0].strip().lower()
        json_media = media.startswith("application/") and media.endswith("+json")
        if media == "application/json" or json_media:
            return None
        given = f"Content-Type {content_type[:100]!r}"
    return JSONResponse(
        {
            "error": f"the API takes JSON bodies only (got {given}): send the body as JSON "
            "with 'Content-Type: application/json'",
            "problems": [],
        },
        status_code=415,
    )
