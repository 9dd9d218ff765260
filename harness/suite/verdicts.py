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

Every call-phase report carries the user property ``verdict`` (one of :data:`VERDICTS`) and,
for a skip, ``verdict_reason``: the compliance matrix reads them from the JUnit XML / the
reports, never by parsing messages. A phone that never rang is a ``ConformanceFailure``
(``harness.flows.calls`` raises it); a ``TimeoutError`` is *broken*, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pytest

from harness.errors import ConformanceFailure
from harness.flows.applicability import NotApplicable
from harness.target.model import MissingCapability

Verdict = Literal["passed", "failed", "broken", "skipped", "n/a"]
VERDICTS: tuple[Verdict, ...] = ("passed", "failed", "broken", "skipped", "n/a")

#: Prefix of the skip reason of an n/a verdict (what ``verdict_of`` recognises).
NA_PREFIX = "n/a: "


def missing_reason(error: MissingCapability) -> str:
    """``needs <capability>[, …]: <why>``."""
    names = ", ".join(c.value for c in error.capabilities)
    return f"needs {names}: {error}"


@contextmanager
def verdicts() -> Iterator[None]:
    """Run a check, turning a missing capability and an n/a into their skips."""
    try:
        yield
    except MissingCapability as error:
        pytest.skip(missing_reason(error))
    except NotApplicable as error:
        _allure_label("verdict", "n/a")
        pytest.skip(NA_PREFIX + error.reason)


def _allure_label(name: str, value: str) -> None:
    """A label on the Allure result when allure-pytest is active (the matrix reads it too)."""
    try:
        import allure
    except ImportError:
        return
    dynamic: Any = allure.dynamic  # allure-pytest ships no type hints
    dynamic.label(name, value)


def verdict_of(report: pytest.TestReport, exception: BaseException | None) -> Verdict:
    """The verdict of a call-phase (or failed set-up) report."""
    if report.passed:
        return "passed"
    if report.skipped:
        return "n/a" if skip_reason(report).startswith(NA_PREFIX) else "skipped"
    if isinstance(exception, ConformanceFailure):
        return "failed"
    return "broken"


def skip_reason(report: pytest.TestReport) -> str:
    """The reason pytest recorded for a skip (``(path, line, "Skipped: reason")``)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")
