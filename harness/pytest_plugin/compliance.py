"""Manual-step markers, the compliance matrix, and Allure labels (docs/suite.md "Recorded
properties").

A test names the manual steps it verifies in one of two ways: ``@pytest.mark.manual_step(
"P3-S2-6", "P3-S2-7")`` (the project's own tests), or the ``steps`` user property the
conformance suite (``harness.suite``) records at collection, with ``tenant``, ``target``,
``flow`` or ``check``, ``requirement``, and — for a flow or check with nothing to do for the
tenant — ``verdict = n/a`` and ``reason``. Step ids come from ``harness/flows/manual_steps.yaml``;
an unknown id stops collection with the closest valid ids.

Each test's outcome is classified like Allure does — an ``AssertionError`` (including
``ConformanceFailure``) in the test body is *failed*, any other error, or an error in
set-up/tear-down, is *broken*; a skip is *skipped* (with its reason) unless the test recorded
``verdict = n/a``. The classification is made in ``pytest_runtest_makereport`` on the process
that ran the test and stored on the report as plain strings (``harness_outcome``,
``harness_message``), which pytest-xdist serialises to the controller; the matrix is built from
the reports the controller sees (``pytest_runtest_logreport``), so ``-n N`` gives the same matrix
as a serial run. At the end of the session ``--compliance-dir DIR`` writes, for tests that name
no tenant, ``compliance.{json,md,html}`` in DIR, and for the suite one matrix per tenant,
``<tenant>/compliance.{json,md,html}``, plus ``index.{json,md,html}``. With ``--alluredir`` it
also writes Allure's ``environment.properties`` (target, tenants, versions, time scale).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness import __version__
from harness.flows.catalog import ManualStep, step_by_id, step_infos
from harness.report.compliance import (
    RESULTS_FILE,
    CaseKind,
    CaseResult,
    Outcome,
    matrices,
    results_json,
    write_matrices,
)

_RESULTS = pytest.StashKey[dict[str, CaseResult]]()
_STEPS = pytest.StashKey[tuple[str, ...]]()

# Worst phase decides: broken > failed > skipped/n/a > passed.
_RANK: dict[str, int] = {"passed": 0, "n/a": 1, "skipped": 2, "failed": 3, "broken": 4}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smartpbx-harness")
    group.addoption(
        "--compliance-dir",
        metavar="DIR",
        default=None,
        help="write the compliance matrix into DIR: compliance.{json,md,html} for tests naming "
        "no tenant, <tenant>/compliance.{json,md,html} and index.{json,md,html} for the suite",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "manual_step(*ids): manual steps (harness/flows/manual_steps.yaml) the test exercises",
    )
    config.stash[_RESULTS] = {}
    config.pluginmanager.register(_Recorder(config), "smartpbx-compliance-recorder")


def split_steps(value: object) -> tuple[str, ...]:
    """Step ids of a ``steps`` property: a string of ids separated by spaces or commas, or a
    list/tuple of ids (both survive pytest-xdist and JUnit XML)."""
    if isinstance(value, str):
        return tuple(s for s in re.split(r"[\s,]+", value) if s)
    if isinstance(value, list | tuple):
        return tuple(str(s) for s in value)
    return (str(value),)


def properties(pairs: Iterable[tuple[str, object]]) -> dict[str, list[object]]:
    """User properties by name (a name may repeat: ``manual_step``, ``evidence``)."""
    out: dict[str, list[object]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def _first(props: dict[str, list[object]], name: str) -> str | None:
    values = props.get(name)
    return None if not values else str(values[0])


def steps_of(pairs: Iterable[tuple[str, object]]) -> tuple[str, ...]:
    props = properties(pairs)
    ids: list[str] = [str(v) for v in props.get("manual_step", [])]
    for value in props.get("steps", []):
        ids.extend(split_steps(value))
    return tuple(dict.fromkeys(ids))


def _marker_steps(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers("manual_step"):
        ids.extend(str(arg) for arg in mark.args)
    return tuple(dict.fromkeys(ids))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = []
    for item in items:
        marked = _marker_steps(item)
        for step_id in marked:
            item.user_properties.append(("manual_step", step_id))
        ids = steps_of(item.user_properties)
        for step_id in ids:
            try:
                step_by_id(step_id)
            except KeyError as error:
                problems.append(f"{item.nodeid}: {error.args[0]}")
        item.stash[_STEPS] = ids
    if problems:
        raise pytest.UsageError("unknown manual steps:\n  " + "\n  ".join(problems))


def allure_labels(item: pytest.Item) -> list[tuple[str, str]]:
    """Allure labels of a test: epic = manual section (page and surface), feature = flow or
    check (or the screen for the project's tests), story = each manual step; plus the tenant
    and target."""
    props = properties(item.user_properties)
    steps: Sequence[ManualStep] = [step_by_id(s) for s in item.stash.get(_STEPS, ())]
    labels: list[tuple[str, str]] = []
    for section in dict.fromkeys(f"{s.page} {s.surface}" for s in steps):
        labels.append(("epic", section))
    named = _first(props, "flow") or _first(props, "check")
    features = [named] if named else list(dict.fromkeys(f"{s.page} {s.surface}" for s in steps))
    labels.extend(("feature", f) for f in features)
    labels.extend(("story", f"{s.label} {s.text}") for s in steps)
    labels.extend(("manual_step", s.id) for s in steps)
    for name in ("tenant", "target"):
        value = _first(props, name)
        if value:
            labels.append((name, value))
    tenant = _first(props, "tenant")
    kind, case = _kind(props)
    if tenant and case:
        labels.append((HISTORY_LABEL, f"{tenant}/{kind}/{case}"))
    return labels


#: The Allure label naming a suite test stably (tenant, flow or check): its historyId is made
#: from it, so history and retries follow the check across runs whatever its node id.
HISTORY_LABEL = "harness_id"


def stable_history_ids(alluredir: Path) -> int:
    """Set ``historyId`` (and ``testCaseId``) of every Allure result carrying the
    :data:`HISTORY_LABEL` label to a hash of it; returns how many results were rewritten.

    Done once all results are written (the controller's session finish under xdist), on the
    files, rather than through allure-pytest's private listener state."""
    rewritten = 0
    for path in alluredir.glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        labels = data.get("labels", [])
        stable = next((lb["value"] for lb in labels if lb.get("name") == HISTORY_LABEL), None)
        if stable is None:
            continue
        digest = hashlib.md5(str(stable).encode("utf-8"), usedforsecurity=False).hexdigest()
        data["historyId"] = data["testCaseId"] = digest
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        rewritten += 1
    return rewritten


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    labels = allure_labels(item)
    if not labels:
        return
    try:
        import allure
    except ImportError:  # allure-pytest writes results only when installed; labels are a nicety
        return
    dynamic: Any = allure.dynamic  # allure-pytest ships no type hints
    for name, value in labels:
        dynamic.label(name, value)


def _skip_reason(report: pytest.TestReport) -> str | None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return None if longrepr is None else str(longrepr)


def classify(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[Outcome, str | None]:
    """The Allure-like outcome of one phase and its message (first line of the error, or the
    reason of a skip or n/a)."""
    props = properties(report.user_properties)
    if report.skipped:
        if _first(props, "verdict") == "n/a":
            return "n/a", _first(props, "reason") or _skip_reason(report)
        return "skipped", _skip_reason(report)
    if report.passed:
        return "passed", None
    message = None
    if call.excinfo is not None:
        message = call.excinfo.exconly().splitlines()[0][:300]
    if report.when == "call" and call.excinfo is not None:
        if call.excinfo.errisinstance(AssertionError):
            return "failed", message
    return "broken", message


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # Plain strings only: pytest-xdist serialises the report's attributes to the controller
    # (an ExceptionInfo here made every failing test an INTERNALERROR under -n).
    outcome, message = classify(report, call)
    report.harness_outcome = outcome  # type: ignore[attr-defined]
    report.harness_message = message  # type: ignore[attr-defined]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        # The verdict as a property of the test (its teardown report, the JUnit XML), once.
        if not any(name == "verdict" for name, _ in item.user_properties):
            item.user_properties.append(("verdict", outcome))
    return report


def _kind(props: dict[str, list[object]]) -> tuple[CaseKind, str | None]:
    if "flow" in props:
        return "flow", _first(props, "flow")
    if "check" in props:
        return "check", _first(props, "check")
    return "test", None


class _Recorder:
    """Collects the classified reports of one session (on the controller under xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome: str | None = getattr(report, "harness_outcome", None)
        if outcome is None:
            return
        results = self.config.stash[_RESULTS]
        message: str | None = getattr(report, "harness_message", None)
        previous = results.get(report.nodeid)
        if previous is not None and _RANK[outcome] < _RANK[previous.outcome]:
            # The worst phase decides the outcome; later phases still add properties
            # (evidence recorded during the call reaches the teardown report).
            outcome, message = previous.outcome, previous.message
        props = properties(report.user_properties)
        kind, name = _kind(props)
        results[report.nodeid] = CaseResult(
            nodeid=report.nodeid,
            outcome=outcome,  # type: ignore[arg-type]
            steps=steps_of(report.user_properties),
            message=message,
            kind=kind,
            name=name,
            requirement=_first(props, "requirement"),
            tenant=_first(props, "tenant"),
            target=_first(props, "target"),
            evidence=tuple(dict.fromkeys(str(e) for e in props.get("evidence", []))),
            not_run=tuple(s for v in props.get("not_run", []) for s in split_steps(v)),
        )


def environment(results: Sequence[CaseResult], config: pytest.Config) -> dict[str, str]:
    """Allure's environment of the run: target, tenants, versions, time scale."""
    env = {
        "smartpbx-harness": __version__,
        "python": platform.python_version(),
        "pytest": pytest.__version__,
    }
    tenants = ", ".join(dict.fromkeys(r.tenant for r in results if r.tenant))
    targets = ", ".join(dict.fromkeys(r.target for r in results if r.target))
    if tenants:
        env["tenant"] = tenants
    if targets:
        env["target"] = targets
    spec = _option(config, "target")
    if spec is not None:
        env["target.spec"] = str(spec)
    scale = _option(config, "suite_time_scale")
    if spec in (None, "embedded") and scale is not None:  # a target file names its own
        env["time_scale"] = str(scale)
    return env


def _option(config: pytest.Config, name: str) -> object:
    try:
        return config.getoption(name)
    except ValueError:  # the option belongs to a plugin that is not loaded
        return None


def _write_environment(directory: Path, env: dict[str, str]) -> None:
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("\n", " ").replace("=", "\\=")

    lines = [f"{escape(k)}={escape(v)}" for k, v in env.items()]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller writes
        return
    results = list(config.stash[_RESULTS].values())
    directory = config.getoption("--compliance-dir")
    if directory:
        write_matrices(Path(directory), matrices(step_infos(), results))
        (Path(directory) / RESULTS_FILE).write_text(results_json(results), encoding="utf-8")
    alluredir = _option(config, "allure_report_dir")
    if alluredir:
        _write_environment(Path(str(alluredir)), environment(results, config))
        stable_history_ids(Path(str(alluredir)))
