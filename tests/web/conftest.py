"""Helpers of the browser tests: a tiny loopback HTTP server for pages written in the test, and
logins to the simulator's Web設定変更サイト (the ``sim`` fixture of harness.pytest_plugin.sim)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from harness.pytest_plugin.browser import BorrowContext, open_shared_context
from harness.pytest_plugin.sim import SimulatorHandle, restore_session_tenant
from harness.web.pages import AdminTopPage, Screen, SettingsLoginPage


@dataclass
class LocalSite:
    """HTML documents served on 127.0.0.1, and every request line the server saw."""

    pages: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    base_url: str = ""


def _handler(site: LocalSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            site.requests.append(self.requestline)
            body = site.pages.get(self.path)
            if body is None:
                self.send_error(404)
                return
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads ``site.requests`` instead."""

    return Handler


@pytest.fixture
def local_site() -> Iterator[LocalSite]:
    """An HTTP server on a free loopback port, in a thread, stopped at teardown."""
    site = LocalSite()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="local-site", daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- the Web設定変更サイト of the simulator (fixtures/ご利用内容/sample) ---------------------

ADMIN = ("adm01234abc", "Adm1nPass01")
"""管理者アカウント of the sample ご利用内容."""
USER_20200 = ("aaaabbbb", "ccccddd1")
USER_20201 = ("aaaacccc", "ccccddd2")
"""内線番号情報2 accounts of the sample (端末ユーザ of 20200 and 20201)."""

OTP = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def login(sim: SimulatorHandle, page: Page, account: tuple[str, str]) -> Screen:
    """Open /SmartPBX/Login and log in with ``account``; the screen the site shows next."""
    return SettingsLoginPage.open(page, sim.base_url).login(*account)


@pytest.fixture
def admin_top(sim: SimulatorHandle, page: Page) -> AdminTopPage:
    """The administrator logged in, on the トップ画面."""
    top = login(sim, page, ADMIN)
    assert isinstance(top, AdminTopPage), top
    return top


def last_code(sim: SimulatorHandle, to: str) -> str:
    """The one-time code of the newest mail the SMTP sink received for ``to``."""
    mails = [m for m in sim.mail() if to in m["to"]]
    assert mails, f"no mail to {to} in the sink: {sim.mail()}"
    found = OTP.search(mails[-1]["body"])
    assert found, mails[-1]
    return found.group(1)


def _shared_login(
    browser: Browser, config: pytest.Config, simulator: SimulatorHandle, account: tuple[str, str]
) -> Iterator[BrowserContext]:
    """A context logged in once with ``account``, for a module's tests that change nothing of
    the login: they skip it (argon2 + 3 pages) and the cost of a new context and renderer."""
    context = open_shared_context(browser, config)
    try:
        top = login(simulator, context.new_page(), account)
        assert not isinstance(top, SettingsLoginPage), top.messages()
        yield context
    finally:
        context.close()


def _page_of(context: BrowserContext) -> Page:
    """The shared context's page (a new one if an earlier test closed it)."""
    return context.pages[0] if context.pages else context.new_page()


@pytest.fixture(scope="module")
def module_simulator(simulator: SimulatorHandle) -> SimulatorHandle:
    """The session's simulator, back to the session's tenant once for this module's shared
    logins (the same as the ``sim`` fixture: reloaded when an earlier test loaded another
    tenant, else reset).

    Only for tests that save nothing, in modules that never use the ``sim`` fixture: its reset
    ends every session, so a later test of the module would find itself logged out.
    """
    return restore_session_tenant(simulator)


@pytest.fixture(scope="module")
def user_context(
    module_simulator: SimulatorHandle, browser: Browser, pytestconfig: pytest.Config
) -> Iterator[BrowserContext]:
    """20201's 端末ユーザ logged in once per module."""
    yield from _shared_login(browser, pytestconfig, module_simulator, USER_20201)


@pytest.fixture(scope="module")
def admin_context(
    module_simulator: SimulatorHandle, browser: Browser, pytestconfig: pytest.Config
) -> Iterator[BrowserContext]:
    """The administrator logged in once per module."""
    yield from _shared_login(browser, pytestconfig, module_simulator, ADMIN)


@pytest.fixture
def user_page(user_context: BrowserContext, borrow_context: BorrowContext) -> Page:
    """The module's page logged in as 20201's 端末ユーザ; this test's steps traced apart."""
    return _page_of(borrow_context(user_context))


@pytest.fixture
def admin_page(admin_context: BrowserContext, borrow_context: BorrowContext) -> Page:
    """The module's page logged in as the administrator; this test's steps traced apart."""
    return _page_of(borrow_context(admin_context))


@pytest.fixture
def blank_sim(sim: SimulatorHandle) -> SimulatorHandle:
    """The simulator with no settings at all, as a tenant is before its 初期設定 (新設)."""
    sim.put_settings({})
    return sim


@pytest.fixture(scope="module")
def baseline_settings(module_simulator: SimulatorHandle) -> dict[str, Any]:
    """The module's starting settings (the sample's 設定.yaml after the module's reset)."""
    return module_simulator.settings()


@pytest.fixture
def restored(
    module_simulator: SimulatorHandle, baseline_settings: dict[str, Any]
) -> SimulatorHandle:
    """The module's simulator with its settings put back (``PUT /api/settings``): unlike a
    reset, this keeps the module's logins alive, for tests that save settings."""
    module_simulator.put_settings(baseline_settings)
    return module_simulator


@pytest.fixture(autouse=True)
def _close_flow_clients() -> Iterator[None]:
    """The provisioning and mail clients the web-flow contexts of a test opened."""
    from tests.web.web_flows_kit import close_clients

    yield
    close_clients()
