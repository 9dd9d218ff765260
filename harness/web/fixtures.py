"""pytest-playwright's fixtures on Debian Chromium: the three overrides a ``conftest.py``
imports (harness/pytest_plugin/browser.py explains why a conftest, and docs/web-pages.md).

Here, in the web package, so that the conformance suite's own ``harness/suite/conftest.py`` can
import them (the suite sits below the pytest plugin in the package layers).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.sync_api import BrowserContext

from harness.web.browser import BrowserOptions, find_chromium

DEFAULT_TIMEOUT_MS = 10_000
"""Default wait of every locator action: the simulator answers in milliseconds, so a step that
takes seconds is broken, and failing fast keeps a failing browser suite short."""

VIEWPORT = {"width": 1280, "height": 800}


class NewContext(Protocol):
    """Type of the ``new_context`` fixture: ``new_context(**playwright_context_options)``."""

    def __call__(self, **options: Any) -> BrowserContext: ...


def chromium_launch_args(config: pytest.Config, *, loopback_only: bool = True) -> dict[str, Any]:
    """What Debian Chromium adds to pytest-playwright's launch arguments; ``loopback_only``
    (the default: the embedded simulator) keeps every request on loopback
    (:mod:`harness.web.browser`)."""
    chromium = config.getoption("chromium")
    executable = Path(chromium) if chromium else BrowserOptions().executable
    options = BrowserOptions(executable=executable, loopback_only=loopback_only)
    return {
        "executable_path": str(find_chromium(options.executable)),
        "args": options.launch_args(),
    }


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], pytestconfig: pytest.Config
) -> dict[str, Any]:
    """pytest-playwright's launch arguments (``--headed``, ``--slowmo``) on Debian Chromium."""
    return {**browser_type_launch_args, **chromium_launch_args(pytestconfig)}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's context arguments (``--video``, ``--device``) in Japanese, in Tokyo."""
    return {
        "locale": "ja-JP",
        "timezone_id": "Asia/Tokyo",
        "viewport": VIEWPORT,
        **browser_context_args,
    }


@pytest.fixture
def new_context(new_context: Callable[..., BrowserContext]) -> NewContext:
    """pytest-playwright's context factory; each context waits at most 10 s by default."""

    def factory(**options: Any) -> BrowserContext:
        context = new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        return context

    return factory
