"""Manual-step markers and the compliance matrix.

``@pytest.mark.manual_step("P3-S2-6", "P3-S2-7")`` names the steps of the manual a test
exercises (ids from ``harness/flows/manual_steps.yaml``; an unknown id stops collection with the
closest valid ids). Each test's outcome is classified like Allure does — an ``AssertionError``
(including ``ConformanceFailure``) in the test body is *failed*, any other error, or an error in
set-up/tear-down, is *broken* — and at the end of the session ``--compliance-dir DIR`` writes
``compliance.json``, ``compliance.md`` and ``compliance.html`` there. The step ids are also
attached as Allure labels (``manual_step``, feature = page, story = step) and JUnit properties
when those reporters are active.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from harness.flows.catalog import manual_steps, step_by_id
from harness.report.compliance import CaseResult, Outcome, StepInfo, build_matrix, matrix_html

_RESULTS = pytest.StashKey[dict[str, CaseResult]]()
_STEPS = pytest.StashKey[tuple[str, ...]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smartpbx-harness")
    group.addoption(
        "--compliance-dir",
        metavar="DIR",
        default=None,
        help="write the compliance matrix (compliance.json, .md, .html) into DIR",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "manual_step(*ids): manual steps (harness/flows/manual_steps.yaml) the test exercises",
    )
    config.stash[_RESULTS] = {}


def _step_ids(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("manual_step"):
        ids.extend(str(arg) for arg in mark.args)
    return tuple(dict.fromkeys(ids))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = []
    for item in items:
        ids = _step_ids(item)
        for step_id in ids:
            try:
                step_by_id(step_id)
            except KeyError as error:
                problems.append(f"{item.nodeid}: {error.args[0]}")
        item.stash[_STEPS] = ids
        for step_id in ids:
            item.user_properties.append(("manual_step", step_id))
    if problems:
        raise pytest.UsageError("unknown manual steps:\n  " + "\n  ".join(problems))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    ids = item.stash.get(_STEPS, ())
    if not ids:
        return
    try:
        import allure
    except ImportError:  # allure-pytest is a test extra; labels are a nicety
        return
    dynamic: Any = allure.dynamic  # allure-pytest ships no type hints
    for step_id in ids:
        step = step_by_id(step_id)
        dynamic.label("manual_step", step_id)
        dynamic.feature(f"{step.page} {step.surface}")
        dynamic.story(step.label)


def _outcome(report: pytest.TestReport) -> Outcome:
    if report.skipped:
        return "skipped"
    if report.passed:
        return "passed"
    if report.when == "call" and report.longrepr is not None:
        excinfo = getattr(report, "_harness_excinfo", None)
        if excinfo is not None and excinfo.errisinstance(AssertionError):
            return "failed"
    return "broken"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    report._harness_excinfo = call.excinfo  # type: ignore[attr-defined]
    results = item.config.stash[_RESULTS]
    outcome = _outcome(report)
    previous = results.get(item.nodeid)
    # The worst phase decides: broken > failed > skipped > passed.
    rank = {"passed": 0, "skipped": 1, "failed": 2, "broken": 3}
    if previous is None or rank[outcome] > rank[previous.outcome]:
        message = None
        if outcome in ("failed", "broken") and call.excinfo is not None:
            message = call.excinfo.exconly().splitlines()[0][:300]
        results[item.nodeid] = CaseResult(
            nodeid=item.nodeid,
            outcome=outcome,
            steps=item.stash.get(_STEPS, ()),
            message=message,
        )
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    directory = session.config.getoption("--compliance-dir")
    if not directory:
        return
    steps = [
        StepInfo(
            id=s.id,
            label=s.label,
            actor=s.actor,
            surface=s.surface,
            text=s.text,
            in_scope=s.scope == "automated",
            reason=s.reason,
        )
        for s in manual_steps()
    ]
    matrix = build_matrix(steps, session.config.stash[_RESULTS].values())
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compliance.json").write_text(matrix.to_json(), encoding="utf-8")
    (out / "compliance.md").write_text(matrix.to_markdown(), encoding="utf-8")
    (out / "compliance.html").write_text(matrix_html(matrix), encoding="utf-8")
