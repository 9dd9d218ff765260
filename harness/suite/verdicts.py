"""Typed verdicts of the suite (../shared/STYLE.md §18, issue 11 item 3).

=========================  =========  ===============================================
raised by the test         verdict    how pytest / Allure / JUnit show it
=========================  =========  ===============================================
nothing                    passed     passed
``ConformanceFailure``     failed     failed (an ``AssertionError``: Allure *failed*),
                                      both timelines attached by ``calls.check``
``MissingCapability``      skipped    skipped ``needs <capability>: <why>``
``NotApplicable``          n/a        skipped ``n/a: <reason>``
anything else              broken     error: Allure *broken* (not an assertion)
=========================  =========  ===============================================

An n/a records the user properties ``verdict = n/a`` and ``reason`` before it skips; the
compliance plugin (harness.pytest_plugin.compliance) classifies every other outcome from the
report itself, on the worker that ran the test — the matrix never parses messages.
A phone that never rang is a ``ConformanceFailure`` (``harness.flows.calls`` raises it);
a ``TimeoutError`` is *broken*, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pytest

from harness.flows.applicability import NotApplicable
from harness.target.model import MissingCapability

Verdict = Literal["passed", "failed", "broken", "skipped", "n/a"]
VERDICTS: tuple[Verdict, ...] = ("passed", "failed", "broken", "skipped", "n/a")

#: Prefix of the skip reason of an n/a verdict (pytest's own summary shows it).
NA_PREFIX = "n/a: "


def missing_reason(error: MissingCapability) -> str:
    """``needs <capability>[, …]: <why>``."""
    names = ", ".join(c.value for c in error.capabilities)
    return f"needs {names}: {error}"


@contextmanager
def verdicts(item: pytest.Item) -> Iterator[None]:
    """Run a flow or check, turning a missing capability and an n/a into their skips; an n/a
    records ``verdict = n/a`` and its ``reason`` on ``item`` first (docs/suite.md "Recorded
    properties"), which is how the reports tell it from a skip."""
    try:
        yield
    except MissingCapability as error:
        pytest.skip(missing_reason(error))
    except NotApplicable as error:
        _allure_label("verdict", "n/a")
        item.user_properties.extend([("verdict", "n/a"), ("reason", error.reason)])
        pytest.skip(NA_PREFIX + error.reason)


def _allure_label(name: str, value: str) -> None:
    """A label on the Allure result when allure-pytest is active (the matrix reads it too)."""
    try:
        import allure
    except ImportError:
        return
    dynamic: Any = allure.dynamic  # allure-pytest ships no type hints
    dynamic.label(name, value)
