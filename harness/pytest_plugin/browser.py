"""Browser fixtures: one Chromium per session, a context and page per test, evidence on failure.

Modelled on pytest-playwright's fixture ladder and its ``ArtifactsRecorder`` (../shared/STYLE.md
§10, §12), without depending on pytest-playwright (it would download browsers and bring its own
``--browser`` options):

- ``browser_options`` (session) from ``--chromium PATH`` and ``--headed``;
- ``browser`` (session): Debian Chromium through :mod:`harness.web.browser`;
- ``new_context`` (function): a factory of browser contexts that closes what it opened;
- ``context`` and ``page`` (function): the first context of that factory and a page in it;
- ``borrow_context`` (function): records this test's part of a context that a wider-scoped
  fixture opened with :func:`open_shared_context` (e.g. one login shared by a module's tests).

Every context records a Playwright trace (a shared context: one trace chunk per test). When
the test fails (in set-up or in its body), the trace and a screenshot of every open page are
kept under ``reports/artifacts/<test id>/`` and attached to Allure when allure-pytest is
writing results; otherwise the trace is dropped.
``--browser-artifacts on`` keeps them for passing tests too, ``off`` records nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from harness.web.browser import BrowserOptions, launch

DEFAULT_TIMEOUT_MS = 10_000
"""Default wait of every locator action: the simulator answers in milliseconds, so a step that
takes seconds is broken, and failing fast keeps a failing browser suite short."""

VIEWPORT = {"width": 1280, "height": 800}

ARTIFACT_MODES = ("retain-on-failure", "on", "off")


class NewContext(Protocol):
    """Type of the ``new_context`` fixture: ``new_context(**playwright_context_options)``."""

    def __call__(self, **options: Any) -> BrowserContext: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smartpbx-browser", "smartpbx-harness browser (Debian Chromium)")
    group.addoption(
        "--chromium",
        metavar="PATH",
        default=None,
        help="Chromium executable to drive (default: $SMARTPBX_CHROMIUM or /usr/bin/chromium).",
    )
    group.addoption(
        "--headed",
        action="store_true",
        default=False,
        help="Show the browser window (needs a display) and slow actions down to follow them.",
    )
    group.addoption(
        "--browser-artifacts",
        choices=ARTIFACT_MODES,
        default="retain-on-failure",
        help="Keep screenshot + Playwright trace per test: retain-on-failure (default), on, off.",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When set-up or the test body fails, keep the evidence of its browser contexts now.

    Now, not at teardown: the pages still show the failure, and Allure attaches files to the
    test itself (in fixture teardown they would land in the fixture's "tear down" section).
    """
    report: pytest.TestReport = yield
    recorder = item.stash.get(_recorder_key, None)
    if recorder is not None and report.failed and report.when in ("setup", "call"):
        recorder.keep()
    return report


class _Recorder:
    """The browser contexts one test used, and what to keep of them (STYLE.md §12)."""

    def __init__(self, config: pytest.Config, mode: str, target: Path, title: str) -> None:
        self.config = config
        self.mode = mode
        self.target = target
        self.title = title
        self.contexts: list[BrowserContext] = []
        self.kept: set[int] = set()
        self.borrowed: set[int] = set()
        """Indexes of contexts a wider-scoped fixture owns: traced in chunks, never closed."""

    def borrow(self, context: BrowserContext) -> BrowserContext:
        """Record this test's part of a context opened by :func:`open_shared_context`."""
        if self.mode != "off":
            context.tracing.start_chunk(title=self.title)
        self.borrowed.add(len(self.contexts))
        self.contexts.append(context)
        return context

    def keep(self) -> None:
        """Screenshot every open page and save each trace, once; attach them to Allure."""
        if self.mode == "off":
            return
        saved: list[Path] = []
        for index, context in enumerate(self.contexts):
            if index not in self.kept:
                self.kept.add(index)
                saved += _save_evidence(context, self.target, index, index in self.borrowed)
        _attach_to_allure(self.config, saved)

    def close(self) -> None:
        """Close every context the test opened; traces (or chunks) not kept are dropped."""
        if self.mode == "on":
            self.keep()
        for index, context in enumerate(self.contexts):
            shared = index in self.borrowed
            if self.mode != "off" and index not in self.kept:
                if shared:
                    context.tracing.stop_chunk()
                else:
                    context.tracing.stop()
            if not shared:
                context.close()


_recorder_key = pytest.StashKey[_Recorder]()


@pytest.fixture(scope="session")
def browser_options(pytestconfig: pytest.Config) -> BrowserOptions:
    """Launch options from the command line (``--chromium``, ``--headed``)."""
    headed = bool(pytestconfig.getoption("headed"))
    chromium = pytestconfig.getoption("chromium")
    base = BrowserOptions()
    return BrowserOptions(
        executable=Path(chromium) if chromium else base.executable,
        headless=not headed,
        slow_mo_ms=250 if headed else 0,
    )


@pytest.fixture(scope="session")
def browser(browser_options: BrowserOptions) -> Iterator[Browser]:
    """One Chromium for the whole session (a context per test isolates cookies and storage)."""
    with sync_playwright() as playwright:
        launched = launch(playwright.chromium, browser_options)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def browser_artifacts_root(pytestconfig: pytest.Config) -> Path:
    """``reports/artifacts`` under the project root: where failed tests leave their evidence."""
    return pytestconfig.rootpath / "reports" / "artifacts"


def artifact_dir_name(nodeid: str) -> str:
    """A directory name for a test id: readable, Japanese kept, path separators replaced.

    pytest escapes non-ASCII parameter ids (``[\\u8ee2\\u9001]``); they are turned back into
    the Japanese they stand for.
    """
    readable = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), nodeid)
    name = re.sub(r"[^\w.\-\[\]=]+", "_", readable.replace("::", "__")).strip("_")
    return name[:150] or "test"


@pytest.fixture
def new_context(
    browser: Browser, request: pytest.FixtureRequest, browser_artifacts_root: Path
) -> Iterator[NewContext]:
    """Factory of browser contexts (Japanese locale, Tokyo time); closes each one at teardown.

    Keyword arguments go to :meth:`playwright.sync_api.Browser.new_context` and override the
    defaults. Evidence is kept as described in the module docstring.
    """
    mode = _artifact_mode(request.config)
    target = browser_artifacts_root / artifact_dir_name(request.node.nodeid)
    recorder = _Recorder(request.config, mode, target, request.node.nodeid)
    request.node.stash[_recorder_key] = recorder

    def factory(**options: Any) -> BrowserContext:
        context = _open_context(browser, mode, request.node.nodeid, **options)
        recorder.contexts.append(context)
        return context

    yield factory
    recorder.close()


class BorrowContext(Protocol):
    """Type of the ``borrow_context`` fixture: ``borrow_context(shared) -> shared``."""

    def __call__(self, context: BrowserContext) -> BrowserContext: ...


@pytest.fixture
def borrow_context(new_context: NewContext, request: pytest.FixtureRequest) -> BorrowContext:
    """Use a context opened by :func:`open_shared_context` in this test: the test's actions go
    to a trace chunk of its own, kept with a screenshot when it fails; the context stays open
    for the next test (its owner closes it)."""
    recorder: _Recorder = request.node.stash[_recorder_key]
    return recorder.borrow


def open_shared_context(browser: Browser, config: pytest.Config, **options: Any) -> BrowserContext:
    """A context for a module- or session-scoped fixture, e.g. one login its tests share.

    Same defaults as ``new_context``; tracing is on but nothing is recorded until a test
    borrows it (``borrow_context``). The caller closes it.
    """
    mode = _artifact_mode(config)
    context = _open_context(browser, mode, "shared context", **options)
    if mode != "off":
        context.tracing.stop_chunk()  # what the owner does before a test borrows it is not kept
    return context


def _artifact_mode(config: pytest.Config) -> str:
    return str(config.getoption("browser_artifacts"))


def _open_context(browser: Browser, mode: str, title: str, **options: Any) -> BrowserContext:
    settings: dict[str, Any] = {
        "locale": "ja-JP",
        "timezone_id": "Asia/Tokyo",
        "viewport": VIEWPORT,
        **options,
    }
    context = browser.new_context(**settings)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    if mode != "off":
        # DOM snapshots only: screenshots in the trace cost a quarter of the suite's time,
        # and a failure's own screenshot is taken separately.
        context.tracing.start(title=title, screenshots=False, snapshots=True, sources=False)
    return context


def _save_evidence(
    context: BrowserContext, target: Path, index: int, chunk: bool = False
) -> list[Path]:
    """Write a screenshot of each open page and the context's trace (with ``chunk``: the
    current trace chunk, of a shared context); the files written."""
    target.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    for page_index, open_page in enumerate(context.pages):
        shot = target / f"context{index}-page{page_index}.png"
        try:
            open_page.screenshot(path=shot, full_page=True)
        except Exception:  # A crashed or closed page must not hide the test's own failure.
            continue
        saved.append(shot)
    trace = target / f"context{index}-trace.zip"
    if chunk:
        context.tracing.stop_chunk(path=trace)
    else:
        context.tracing.stop(path=trace)
    saved.append(trace)
    return saved


def _attach_to_allure(config: pytest.Config, files: list[Path]) -> None:
    """Attach evidence files to the current Allure test, when allure-pytest writes results."""
    if not getattr(config.option, "allure_report_dir", None):
        return
    import allure

    for path in files:
        if path.suffix == ".png":
            allure.attach.file(  # type: ignore[no-untyped-call]
                str(path), name=path.name, attachment_type=allure.attachment_type.PNG
            )
        else:
            allure.attach.file(  # type: ignore[no-untyped-call]
                str(path),
                name=f"{path.stem} (npx playwright show-trace)",
                extension=path.suffix.lstrip("."),
            )


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    """A fresh browser context for this test."""
    return new_context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page in this test's context."""
    return context.new_page()
