"""Browser fixtures: pytest-playwright's, on Debian Chromium, plus contexts shared by a module.

pytest-playwright (microsoft/playwright-pytest) owns the fixture ladder — ``playwright``,
``browser_type``, ``browser`` (session), ``new_context``, ``context``, ``page`` (function) — and
its options: ``--headed``, ``--slowmo``, ``--tracing``, ``--screenshot``, ``--video``,
``--output``. No browser is ever downloaded here (DESIGN.md "Real components"): the overrides
below point its launch at Debian's ``chromium`` through ``executable_path``, with the
loopback-only arguments of :mod:`harness.web.browser`:

- ``browser_type_launch_args`` (session): pytest-playwright's, plus ``executable_path`` (from
  ``--chromium PATH``, ``$SMARTPBX_CHROMIUM`` or ``/usr/bin/chromium``) and Chromium's arguments;
- ``browser_context_args`` (session): pytest-playwright's, plus Japanese locale, Tokyo time
  and the viewport the screenshots in docs/ are taken at;
- ``new_context`` (function): pytest-playwright's factory, each context with a 10 s default wait.

Overrides of a plugin's fixtures must live in a ``conftest.py`` to win over the plugin whatever
order the two plugins load in, so a ``conftest.py`` imports them (the project's root conftest
and ``harness/suite/conftest.py`` do; a user's own suite adds the same one line)::

    from harness.pytest_plugin.browser import (  # noqa: F401 (fixture overrides)
        browser_context_args, browser_type_launch_args, new_context)

pytest-playwright has no context that outlives a test. ``open_shared_context`` opens one for a
module- or session-scoped fixture (e.g. one login a module's tests share) and
``borrow_context`` records one test's part of it: a trace chunk and, when the test fails, a
screenshot of its pages, kept under the test's ``output_path`` like pytest-playwright's own
artifacts (``--tracing`` / ``--screenshot`` decide, with the same values).

Kept artifacts — pytest-playwright's and the shared contexts' — are attached to the Allure test
when allure-pytest writes results.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.sync_api import Browser, BrowserContext

from harness.web.fixtures import (
    DEFAULT_TIMEOUT_MS,
    VIEWPORT,
    NewContext,
    browser_context_args,
    browser_type_launch_args,
    new_context,
)

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "VIEWPORT",
    "NewContext",
    "browser_context_args",
    "browser_type_launch_args",
    "new_context",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smartpbx-browser", "smartpbx-harness browser (Debian Chromium)")
    group.addoption(
        "--chromium",
        metavar="PATH",
        default=None,
        help="Chromium executable pytest-playwright launches (default: $SMARTPBX_CHROMIUM or "
        "/usr/bin/chromium); no browser is ever downloaded.",
    )


# --- contexts shared by the tests of a module ------------------------------------------------


def open_shared_context(browser: Browser, config: pytest.Config, **options: Any) -> BrowserContext:
    """A context for a module- or session-scoped fixture, e.g. one login its tests share.

    Same defaults as ``new_context``. With ``--tracing`` on, tracing starts but nothing is
    recorded until a test borrows it (``borrow_context``). The caller closes it.
    """
    settings: dict[str, Any] = {
        "locale": "ja-JP",
        "timezone_id": "Asia/Tokyo",
        "viewport": VIEWPORT,
        **options,
    }
    context = browser.new_context(**settings)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    if _tracing(config) != "off":
        # DOM snapshots only: screenshots in the trace cost a quarter of the suite's time,
        # and a failure's own screenshot is taken separately.
        context.tracing.start(screenshots=False, snapshots=True, sources=False)
        context.tracing.stop_chunk()  # what the owner does before a test borrows it is not kept
    return context


class BorrowContext(Protocol):
    """Type of the ``borrow_context`` fixture: ``borrow_context(shared) -> shared``."""

    def __call__(self, context: BrowserContext) -> BrowserContext: ...


class _Borrowed:
    """The shared contexts one test borrowed, and what to keep of them."""

    def __init__(self, config: pytest.Config, folder: Path, title: str) -> None:
        self.config = config
        self.folder = folder
        self.title = title
        self.contexts: list[BrowserContext] = []
        self.done = False

    def borrow(self, context: BrowserContext) -> BrowserContext:
        if _tracing(self.config) != "off":
            context.tracing.start_chunk(title=self.title)
        self.contexts.append(context)
        return context

    def finish(self, *, failed: bool) -> list[Path]:
        """Stop this test's trace chunks, keeping them and screenshots as the options say."""
        if self.done:
            return []
        self.done = True
        tracing, screenshot = _tracing(self.config), _screenshot(self.config)
        keep_trace = tracing == "on" or (tracing == "retain-on-failure" and failed)
        keep_shot = screenshot == "on" or (screenshot == "only-on-failure" and failed)
        saved: list[Path] = []
        for index, context in enumerate(self.contexts):
            if keep_shot:
                saved += _screenshots(context, self.folder, index)
            if tracing == "off":
                continue
            trace = self.folder / f"shared-context{index}-trace.zip" if keep_trace else None
            if trace is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                saved.append(trace)
            context.tracing.stop_chunk(path=trace)
        return saved


_borrowed_key = pytest.StashKey[_Borrowed]()


@pytest.fixture
def borrow_context(request: pytest.FixtureRequest, output_path: str) -> Iterator[BorrowContext]:
    """Use a context opened by :func:`open_shared_context` in this test: the test's actions go
    to a trace chunk of its own, kept (with a screenshot) as ``--tracing``/``--screenshot``
    say; the context stays open for the next test (its owner closes it)."""
    borrowed = _Borrowed(request.config, Path(output_path), request.node.nodeid)
    request.node.stash[_borrowed_key] = borrowed
    yield borrowed.borrow
    borrowed.finish(failed=False)  # a failure was handled in pytest_runtest_makereport


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep a failing test's shared-context evidence now (its pages still show the failure),
    and attach every kept browser artifact to the Allure test."""
    report: pytest.TestReport = yield
    borrowed = item.stash.get(_borrowed_key, None)
    if borrowed is not None and report.failed and report.when in ("setup", "call"):
        _attach_to_allure(item.config, borrowed.finish(failed=True))
    if report.when == "teardown":
        # pytest-playwright lists what it kept as user properties of the teardown report.
        kept = [
            Path(str(value))
            for name, value in report.user_properties
            if name in ("playwright_screenshot", "playwright_trace", "playwright_video")
        ]
        start = item.config.invocation_params.dir
        _attach_to_allure(item.config, [p if p.is_absolute() else start / p for p in kept])
    return report


def _tracing(config: pytest.Config) -> str:
    return str(config.getoption("tracing", default="off"))


def _screenshot(config: pytest.Config) -> str:
    return str(config.getoption("screenshot", default="off"))


def _screenshots(context: BrowserContext, folder: Path, index: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    for page_index, open_page in enumerate(context.pages):
        shot = folder / f"shared-context{index}-page{page_index}.png"
        try:
            open_page.screenshot(path=shot, full_page=True)
        except Exception:  # A crashed or closed page must not hide the test's own failure.
            continue
        saved.append(shot)
    return saved


def _attach_to_allure(config: pytest.Config, files: list[Path]) -> None:
    """Attach evidence files to the current Allure test, when allure-pytest writes results."""
    if not files or not getattr(config.option, "allure_report_dir", None):
        return
    import allure

    for path in files:
        if not path.is_file():
            continue
        if path.suffix == ".png":
            allure.attach.file(  # type: ignore[no-untyped-call]
                str(path), name=path.name, attachment_type=allure.attachment_type.PNG
            )
        else:
            allure.attach.file(  # type: ignore[no-untyped-call]
                str(path),
                name=f"{path.stem} (npx playwright show-trace)"
                if path.suffix == ".zip"
                else path.name,
                extension=path.suffix.lstrip("."),
            )
