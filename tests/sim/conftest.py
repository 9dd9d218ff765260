"""In-process fixtures for the simulator's web side: a Store, a ManualClock, the ASGI app.

``Site`` is a small browser stand-in over Starlette's TestClient: it keeps the session cookie,
reads the CSRF token from the page the way a browser form would carry it, and logs in.
The app runs on an anyio blocking portal (a loop in a thread, as uvicorn would run it) behind a
synchronous httpx transport; app exceptions are re-raised, so a bug surfaces as a test error.
(Starlette's own TestClient is deprecated with httpx in this Starlette version.)
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import anyio.from_thread
import httpx
import pytest
from starlette.types import ASGIApp

from harness.clock import ManualClock
from harness.sim.documents import read_tenant
from harness.sim.store import Store
from harness.sim.web import create_app

RICH = Path(__file__).parent / "tenants" / "rich"
SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "sample"
ADMIN = ("adm05678xyz", "Adm1nPass02")
USERS = {
    "30300": ("user30300", "userpass300"),
    "30301": ("user30301", "userpass301"),
    "30302": ("user30302", "userpass302"),
    "30303": ("user30303", "userpass303"),
    "30309": ("user30309", "userpass309"),
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_FIELD_ERROR = re.compile(
    r'<p class="field-error" id="([a-z_0-9]+)-error" role="alert"(?: data-rule-ids="[^"]*")?>'
    r"([^<]*)</p>"
)
_FIELD_RULE_IDS = re.compile(
    r'<p class="field-error" id="([a-z_0-9]+)-error" role="alert" data-rule-ids="([^"]*)">'
)


@dataclass
class FakeMailer:
    """Records one-time codes instead of sending them (the SMTP path has its own tests)."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send_code(self, to: str, code: str) -> None:
        self.sent.append((to, code))


class PortalTransport(httpx.BaseTransport):
    """Synchronous httpx transport calling an ASGI app on an anyio blocking portal."""

    def __init__(self, app: ASGIApp, portal: anyio.from_thread.BlockingPortal) -> None:
        self._inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._portal.call(call)


class Site:
    """A browser stand-in: cookie jar, CSRF token from the page, login helper."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, follow_redirects=False, **kwargs)  # type: ignore[arg-type]

    def token(self) -> str:
        """The session's CSRF token, as the login page's form carries it."""
        match = _CSRF.search(self.get("/SmartPBX/Login").text)
        assert match, "the login page carries no CSRF token"
        return match.group(1)

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        body = dict(data)
        if csrf:
            body.setdefault("csrf_token", self.token())
        return self.client.post(path, data=body, follow_redirects=False)

    def login(self, login_id: str, password: str) -> httpx.Response:
        return self.post("/SmartPBX/Login", {"login_id": login_id, "password": password})

    def login_admin(self) -> None:
        response = self.login(*ADMIN)
        assert response.headers["location"] == "/SmartPBX/Top", response.text

    def login_user(self, extension: str) -> None:
        response = self.login(*USERS[extension])
        assert response.headers["location"] == "/SmartPBX/User/Top", response.text


class _DescribedControls(HTMLParser):
    """Ids named by ``aria-describedby`` of the elements marked ``aria-invalid="true"``."""

    def __init__(self) -> None:
        super().__init__()
        self.described: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("aria-invalid") == "true":
            self.described.update((found.get("aria-describedby") or "").split())


def field_errors(response: httpx.Response) -> dict[str, str]:
    """Field name → the Japanese message shown beside it.

    Each message must also be reachable the way assistive technology reads it (docs/web.md,
    WAI-ARIA): some control or fieldset carries ``aria-invalid="true"`` and names the message
    in ``aria-describedby``; a message without one fails the test that reads it.
    """
    errors = dict(_FIELD_ERROR.findall(response.text))
    parser = _DescribedControls()
    parser.feed(response.text)
    unbound = sorted(name for name in errors if f"{name}-error" not in parser.described)
    assert not unbound, f"field errors no aria-invalid control points at: {unbound}"
    return errors


def field_rule_ids(response: httpx.Response) -> dict[str, list[str]]:
    """Field name → the ids of the guide's rules behind its message (``data-rule-ids``)."""
    return {name: ids.split() for name, ids in _FIELD_RULE_IDS.findall(response.text)}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture(scope="session")
def loaded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file with the rich tenant loaded once (argon2 hashing is deliberately slow)."""
    path = tmp_path_factory.mktemp("template") / "sim.sqlite3"
    template = Store(path)
    template.load_tenant(read_tenant(RICH), source_path=str(RICH))
    template.close()
    return path


@pytest.fixture
def store(tmp_path: Path, loaded_db: Path) -> Iterator[Store]:
    """A fresh copy of the loaded store for each test."""
    path = tmp_path / "sim.sqlite3"
    shutil.copyfile(loaded_db, path)
    s = Store(path)
    yield s
    s.close()


@pytest.fixture(scope="session")
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as blocking_portal:
        yield blocking_portal


@pytest.fixture
def app(store: Store, clock: ManualClock, mailer: FakeMailer) -> ASGIApp:
    return create_app(store, clock, mailer)


@pytest.fixture
def make_site(
    app: ASGIApp, portal: anyio.from_thread.BlockingPortal
) -> Iterator[Callable[..., Site]]:
    """A factory of independent browsers (own cookie jar) on the same app, or on ``on`` (an
    app of its own over the same store, e.g. with faults: tests/sim/test_faults.py)."""
    opened: list[httpx.Client] = []

    def make(on: ASGIApp | None = None) -> Site:
        transport = PortalTransport(on or app, portal)
        client = httpx.Client(transport=transport, base_url="http://127.0.0.1")
        opened.append(client)
        return Site(client)

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()
