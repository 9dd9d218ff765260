"""Debian Chromium through Playwright: launch, Japanese rendering, clicks, loopback-only network,
a clear error when Chromium is missing, and evidence kept when a browser test fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from harness.errors import HarnessError
from harness.web.browser import BrowserOptions, find_chromium, launch

from .conftest import LocalSite

pytestmark = pytest.mark.browser

JAPANESE_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>内線一覧表示</title></head>
<body>
  <h1>内線一覧表示</h1>
  <p id="status">未設定</p>
  <button type="button" onclick="document.getElementById('status').textContent='設定しました'">
    設定</button>
  <canvas id="glyphs" width="64" height="32"></canvas>
</body></html>"""

# Draws one character on a blank canvas in the page's default (Japanese) sans-serif font and
# returns its pixels. With no CJK font every kanji becomes the same "tofu" box (or nothing), so
# two different kanji drawing the same pixels means Japanese does not render.
GLYPH_PIXELS = """(ch) => {
  const canvas = document.getElementById('glyphs');
  const g = canvas.getContext('2d');
  g.fillStyle = 'white'; g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = 'black'; g.font = '28px sans-serif'; g.textBaseline = 'top';
  g.fillText(ch, 2, 2);
  return Array.from(g.getImageData(0, 0, canvas.width, canvas.height).data);
}"""


def _ink(pixels: list[int]) -> int:
    """How many pixels are not white (red channel below 128)."""
    return sum(1 for red in pixels[0::4] if red < 128)


def test_japanese_page_renders_and_a_click_works(page: Page, local_site: LocalSite) -> None:
    local_site.pages["/"] = JAPANESE_PAGE
    page.goto(local_site.base_url + "/")

    assert page.get_by_role("heading", level=1).inner_text() == "内線一覧表示"
    page.get_by_role("button", name="設定").click()
    assert page.locator("#status").inner_text() == "設定しました"

    naisen = page.evaluate(GLYPH_PIXELS, "内")
    sen = page.evaluate(GLYPH_PIXELS, "線")
    assert _ink(naisen) > 40, "the kanji 内 drew (almost) nothing"
    assert naisen != sen, "内 and 線 draw the same pixels: no CJK font (fonts-ipafont-gothic)"


def test_no_request_leaves_loopback(browser: Browser, local_site: LocalSite) -> None:
    """A non-loopback URL goes to the blackhole proxy (here: our recording server), never out."""
    remote = "http://www.smart-pbx.jp/SmartPBX/Login"
    local_site.pages["/"] = "<h1>direct</h1>"
    local_site.pages[remote] = "<h1>proxied</h1>"  # a proxy sees the absolute URL as the path
    proxy = local_site.base_url.removeprefix("http://")
    recorded = launch(browser.browser_type, BrowserOptions(blackhole_proxy=proxy))
    try:
        page = recorded.new_page()
        page.goto(local_site.base_url + "/")
        assert page.get_by_role("heading").inner_text() == "direct"
        page.goto(remote)
        assert page.get_by_role("heading").inner_text() == "proxied"
    finally:
        recorded.close()
    assert "GET / HTTP/1.1" in local_site.requests
    assert f"GET {remote} HTTP/1.1" in local_site.requests


def test_launch_args_keep_chromium_quiet_and_on_loopback() -> None:
    args = BrowserOptions().launch_args()
    for required in (
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--proxy-server=http://127.0.0.1:9",
    ):
        assert required in args
    assert not any(
        a.startswith("--proxy") for a in BrowserOptions(loopback_only=False).launch_args()
    )


def test_missing_chromium_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"apt-get install chromium"):
        find_chromium(tmp_path / "no-such-chromium")
    not_executable = tmp_path / "chromium"
    not_executable.write_text("", encoding="utf-8")
    with pytest.raises(HarnessError, match=str(not_executable)):
        find_chromium(not_executable)


def test_bare_name_is_found_on_path() -> None:
    assert find_chromium(Path("chromium")).is_absolute()


INNER_TESTS = """
import pytest

from harness.pytest_plugin.browser import open_shared_context

def test_passes(page):
    page.set_content("<h1>着信グループ設定</h1>")

def test_fails(page):
    page.set_content("<h1>外線着信設定</h1>")
    assert page.get_by_role("heading").inner_text() == "外線発信設定"

@pytest.fixture(scope="module")
def shared(browser, pytestconfig):
    context = open_shared_context(browser, pytestconfig)
    context.new_page().set_content("<h1>ログイン</h1>")
    yield context
    context.close()

def test_shared_passes(shared, borrow_context):
    borrow_context(shared).pages[0].set_content("<h1>内線一覧表示</h1>")

def test_shared_fails(shared, borrow_context):
    page = borrow_context(shared).pages[0]
    page.set_content("<h1>不在時動作設定</h1>")
    assert page.get_by_role("heading").inner_text() == "トップ"
"""


INNER_CONFTEST = """
from harness.pytest_plugin.browser import (  # noqa: F401
    browser_context_args, browser_type_launch_args, new_context)
"""


def test_failed_test_keeps_screenshot_and_trace(tmp_path: Path) -> None:
    """A child pytest (pytest-playwright with the documented conftest line) runs passing and
    failing tests, in their own contexts and in a context shared by the module: only the
    failures leave evidence, in Allure too, and the shared context's trace holds the failed
    test's own steps only."""
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS), encoding="utf-8")
    (tmp_path / "conftest.py").write_text(textwrap.dedent(INNER_CONFTEST), encoding="utf-8")
    output = tmp_path / "artifacts"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "-W",
            "ignore:Session-scoped fixtures defined as instance:pytest.PytestRemovedIn10Warning",
            "--rootdir",
            str(tmp_path),
            "--alluredir",
            str(tmp_path / "allure"),
            "--tracing=retain-on-failure",
            "--screenshot=only-on-failure",
            "--output",
            str(output),
            str(tmp_path / "test_inner.py"),
        ],  # fmt: skip
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert "2 failed, 2 passed" in result.stdout, result.stdout + result.stderr
    kept = {p.name: sorted(f.name for f in p.iterdir()) for p in output.iterdir()}
    assert sorted(kept) == [
        "test-inner-py-test-fails-chromium",
        "test-inner-py-test-shared-fails-chromium",
    ], kept
    assert kept["test-inner-py-test-fails-chromium"] == ["test-failed-1.png", "trace.zip"]
    shared = output / "test-inner-py-test-shared-fails-chromium"
    assert kept[shared.name] == ["shared-context0-page0.png", "shared-context0-trace.zip"]
    for png in output.rglob("*.png"):
        assert png.read_bytes().startswith(b"\x89PNG")
    with zipfile.ZipFile(shared / "shared-context0-trace.zip") as trace:
        steps = trace.read("trace.trace").decode("utf-8")
    # Its own action is there; the other test's and the owner's are not (the page as the test
    # found it is, in the DOM snapshot taken before its first step).
    assert "<h1>不在時動作設定</h1>" in steps
    assert "<h1>内線一覧表示</h1>" not in steps and "<h1>ログイン</h1>" not in steps
    results = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (tmp_path / "allure").glob("*-result.json")
    ]
    attached = {r["name"]: sorted(a["name"] for a in r.get("attachments", [])) for r in results}
    assert attached["test_fails[chromium]"] == [
        "test-failed-1.png",
        "trace (npx playwright show-trace)",
    ]
    assert attached["test_passes[chromium]"] == attached["test_shared_passes[chromium]"] == []
    assert attached["test_shared_fails[chromium]"] == [
        "shared-context0-page0.png",
        "shared-context0-trace (npx playwright show-trace)",
    ]
