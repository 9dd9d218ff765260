"""Top-level conftest: Hypothesis profiles (dev, ci, thorough), chosen by HYPOTHESIS_PROFILE
or, under CI=true, ``ci``. The harness's own fixtures come from its pytest plugin; the
pytest-playwright overrides that launch Debian Chromium are imported here because a conftest
always wins over a plugin (harness/pytest_plugin/browser.py)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from harness.pytest_plugin.browser import (  # noqa: F401 (fixture overrides for pytest-playwright)
    browser_context_args,
    browser_type_launch_args,
    new_context,
)

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
)


#: Fixtures that start Playwright's sync API (pytest-playwright's ladder). Once started it stays
#: for the session and leaves its event loop as the main thread's running loop, so a later test
#: calling ``asyncio.run`` fails; and pytest-playwright parametrizes every such test with a
#: session-scoped ``browser_name``, which makes pytest pull them all next to the first one.
BROWSER_FIXTURES = frozenset({"page", "context", "new_context", "browser", "browser_type"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests after every other test, each group in its collected order."""

    def uses_browser(item: pytest.Item) -> bool:
        return bool(BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())))

    items[:] = [i for i in items if not uses_browser(i)] + [i for i in items if uses_browser(i)]
