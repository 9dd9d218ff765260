"""The suite's fault power: the conformance suite run once fault-free and once per named fault
of the embedded simulator (``serve --fault NAME``), and which faults it catches.

Theory of operation (issue 12 item 5, docs/mutation.md):

1. **Faults** come from ``serve --list-faults`` (one line each: ``NAME  description``), chosen
   with ``--fault NAME`` (an unknown name is refused, naming the valid ones).
2. **Baseline**: the suite (``pytest --pyargs harness.suite``, exactly what ``smartpbx-harness
   run`` runs) against the fault-free embedded simulator. It must conform: when it does not,
   the faults' runs would mean nothing, and none is started.
3. **One run per fault**, the same command with ``--suite-serve-arg=--fault=NAME``; up to
   ``jobs`` runs at once (each its own ``serve`` and Chromium). A fault is **caught** when its
   run has at least one conformance failure (``failed``); the failed test ids are *by*. A run
   with only *broken* results is not a catch: the harness failed, which is a defect to fix.

Each run writes its ``results.json``, JUnit XML, Allure results and pytest's output under
``REPORTS/<run>/`` (``baseline``, then one folder per fault) for reading afterwards.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from harness.errors import HarnessError, InputError, Problem
from harness.guide.types import Tenant
from harness.report.compliance import RESULTS_FILE, CaseResult, load_results

if TYPE_CHECKING:
    from harness.suite.derive import BehaviourCheck

#: The suite the mutation runs (what ``smartpbx-harness run`` runs).
SUITE = "harness.suite"
#: Default real seconds per simulated second of a mutation run: timer faults of 2–3 simulated
#: seconds must stand out of the jitter — at 0.2 an event may drift 1.5 s from its call's
#: anchor (RELATIVE_BUDGET 0.3 s real) and come 0.5 s early (docs/suite-timelines.md
#: "Timer faults").
DEFAULT_TIME_SCALE = 0.2
#: The baseline's folder under the reports folder.
BASELINE = "baseline"
#: Real seconds one suite run may take before it is stopped (a hung run is broken, not missed).
RUN_TIMEOUT = 3600.0

Verdict = Literal["caught", "missed", "broken"]


@dataclass(frozen=True, kw_only=True)
class Fault:
    """A named deviation of the embedded simulator (``serve --fault NAME``)."""

    name: str
    description: str

    @property
    def serve_args(self) -> tuple[str, ...]:
        return (f"--fault={self.name}",)


@dataclass(frozen=True, kw_only=True)
class SuiteRun:
    """One run of the suite: its classified results, pytest's exit code and wall time."""

    label: str
    results: tuple[CaseResult, ...]
    pytest_code: int
    seconds: float
    folder: Path

    @property
    def failed(self) -> tuple[str, ...]:
        """The test ids (``<tenant>/<flow or check>``) that found the target deviating."""
        return tuple(_test_id(r) for r in self.results if r.outcome == "failed")

    @property
    def broken(self) -> tuple[str, ...]:
        return tuple(_test_id(r) for r in self.results if r.outcome == "broken")

    @property
    def green(self) -> bool:
        """Every flow and check conformed (skipped and n/a allowed), and pytest agrees."""
        return bool(self.results) and not self.failed and not self.broken and self.pytest_code == 0

    def problem(self) -> str:
        """Why the run is not green: each failed or broken test with the first line of its
        message, and where pytest's output is."""
        if not self.results:
            return f"the suite wrote no results (pytest exit {self.pytest_code}); see {self.log}"
        lines = [
            f"  {r.outcome} {_test_id(r)}: {(r.message or '').partition(chr(10))[0]}"
            for r in self.results
            if r.outcome in ("failed", "broken")
        ] or [f"  pytest exited {self.pytest_code} with every result conforming"]
        return "\n".join([*lines, f"  (pytest's output: {self.log})"])

    @property
    def log(self) -> Path:
        return self.folder / "pytest.log"


@dataclass(frozen=True, kw_only=True)
class FaultResult:
    fault: Fault
    run: SuiteRun

    @property
    def verdict(self) -> Verdict:
        if self.run.failed:
            return "caught"
        return "broken" if self.run.broken or self.run.pytest_code not in (0, 1) else "missed"

    @property
    def caught(self) -> bool:
        return self.verdict == "caught"


@dataclass(frozen=True, kw_only=True)
class MutationReport:
    baseline: SuiteRun
    faults: tuple[FaultResult, ...]

    @property
    def caught(self) -> int:
        return sum(1 for f in self.faults if f.caught)

    def to_json(self) -> dict[str, object]:
        """The documented JSON (issue 12 item 5): faults, caught, total, kill_rate."""
        total = len(self.faults)
        return {
            "faults": [
                {
                    "name": f.fault.name,
                    "description": f.fault.description,
                    "caught": f.caught,
                    "by": list(f.run.failed),
                    "seconds": round(f.run.seconds, 1),
                }
                for f in self.faults
            ],
            "caught": self.caught,
            "total": total,
            "kill_rate": self.caught / total if total else 0.0,
        }


def _test_id(result: CaseResult) -> str:
    return f"{result.tenant or '—'}/{result.name or result.nodeid}"


# --- faults ---------------------------------------------------------------------------------

_FAULT_LINE = re.compile(r"^\s*(?P<name>[a-z0-9][a-z0-9_.-]*)(?:\s*[:—–]\s*|\s+)(?P<text>\S.*)$")


def parse_fault_list(text: str) -> tuple[Fault, ...]:
    """The faults of ``serve --list-faults``: a line ``NAME  description`` (or ``NAME: …``,
    ``NAME — …``) each; blank lines and lines that do not start with a name are skipped."""
    found: list[Fault] = []
    for line in text.splitlines():
        match = _FAULT_LINE.match(line)
        if match is not None:
            found.append(Fault(name=match["name"], description=match["text"].strip()))
    return tuple(found)


def list_faults() -> tuple[Fault, ...]:
    """Every fault the installed simulator offers (``serve --list-faults``)."""
    command = [sys.executable, "-m", "harness.cli", "serve", "--list-faults"]
    try:
        done = subprocess.run(  # noqa: S603 (our own CLI)
            command, capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        raise HarnessError("`serve --list-faults` did not answer within 60 s") from None
    if done.returncode != 0:
        raise HarnessError(
            "`serve --list-faults` failed: this simulator has no named faults (issue 12 item "
            f"4) or is broken; its output:\n{done.stderr.strip() or done.stdout.strip()}"
        )
    faults = parse_fault_list(done.stdout)
    if not faults:
        raise HarnessError("`serve --list-faults` listed no fault: there is nothing to mutate")
    return faults


def select_faults(available: Sequence[Fault], names: Sequence[str]) -> tuple[Fault, ...]:
    """The faults named with ``--fault`` (all when none is), in the order given; an unknown or
    repeated name is an InputError naming the valid ones."""
    if not names:
        return tuple(available)
    by_name = {f.name: f for f in available}
    problems = [
        Problem(
            where=f"--fault {name}",
            rule="is not a fault of this simulator; valid: " + ", ".join(sorted(by_name)),
        )
        for name in names
        if name not in by_name
    ]
    problems += [
        Problem(where=f"--fault {name}", rule="is given twice: name each fault once")
        for index, name in enumerate(names)
        if name in names[:index] and name in by_name
    ]
    if problems:
        raise InputError(problems, subject="mutation")
    return tuple(by_name[n] for n in names)


# --- the default tenant -----------------------------------------------------------------------


def _owned_by_an_account(tenant: Tenant, kind: type) -> bool:
    """Some 不在時動作 of ``kind`` belongs to an extension with a 端末ユーザ account."""
    accounts = {u.extension for u in tenant.guide.terminal_users}
    return any(isinstance(a, kind) and e in accounts for e, a in tenant.settings.absence.items())


def rich(tenant: Tenant) -> bool:
    """A tenant on which every area the faults touch has something to check, judged by the
    checks the suite itself derives (``derive_checks``), not by the settings alone:

    - every group kind, and a 順次着信 order check and a 一斉着信 no-answer check that each
      ring two members or more (with one member, out of order and late look right);
    - a コールピックアップ check with a newer call ringing beside it (``:oldest``);
    - a 話中, a 圏外 and a 無応答 check that each show their action (``_acts``), the 無応答
      with a 呼出時間 other than the default 20 s;
    - a シングルナンバーリーチ with 留守番電話 off whose 接続先番号2 starts after 接続先番号1
      and before 呼出終了時間;
    - an inbound line to a 代表番号 and one to an extension, caller IDs, both app kinds that
      call, a mailbox reached;
    - a 端末ユーザ account for the owner of a 転送/留守番電話 and of a シングルナンバーリーチ
      (else P.6's 不在時動作 steps, and the site's checks in them, have nothing to do)."""
    from harness.guide.types import (
        Action,
        ForwardAbsence,
        GroupKind,
        SingleNumberReach,
        TerminalKind,
    )
    from harness.suite.derive import derive_checks

    s = tenant.settings
    forwards = [a for a in s.absence.values() if isinstance(a, ForwardAbsence)]
    reaches = [a for a in s.absence.values() if isinstance(a, SingleNumberReach)]
    pilots = {g.pilot for g in s.ring_groups if g.pilot is not None}
    destinations = {r.destination for r in s.inbound_routes}
    kinds = {t.terminal_kind for t in tenant.guide.terminals}
    voicemail = any(a.voicemail for a in reaches) or any(
        Action.VOICEMAIL
        in (a.actions.unconditional, a.actions.busy, a.actions.unreachable, a.actions.no_answer)
        for a in forwards
    )
    if not (
        {g.kind for g in s.ring_groups} >= set(GroupKind)
        and {TerminalKind.SMARTPHONE, TerminalKind.SOFTPHONE} <= kinds
        and any(
            a.reach_number_2 is not None
            and a.reach_start_2 is not None
            and a.reach_start_1 < a.reach_start_2 < a.reach_end
            and not a.voicemail
            for a in reaches
        )
        and any(
            a.actions.no_answer is not Action.NONE and a.ring_time not in (None, 20)
            for a in forwards
        )
        and voicemail
        and bool(destinations & pilots)
        and bool(destinations - pilots)
        and bool(s.outbound_caller_ids)
        and _owned_by_an_account(tenant, ForwardAbsence)
        and _owned_by_an_account(tenant, SingleNumberReach)
    ):
        return False
    checks = derive_checks(tenant)
    acting = {
        c.id.rsplit(":", 1)[1] for c in checks if c.id.startswith("absence:") and _acts(tenant, c)
    }
    several = {
        c.id.rsplit(":", 1)[1]
        for c in checks
        if c.id.endswith((":sequential-order", ":simultaneous-no-answer"))
        and _rings_several(tenant, c)
    }
    return (
        any(c.id.startswith("pickup:") and c.id.endswith(":oldest") for c in checks)
        and acting >= {"busy", "unreachable", "no-answer"}
        and several >= {"sequential-order", "simultaneous-no-answer"}
    )


def _acts(tenant: Tenant, check: BehaviourCheck) -> bool:
    """The state's action shows: the model has the call ring someone else (a 転送先) or reach
    a mailbox — not a 転送先 that reaches nothing, which looks the same whether the state's
    rule is kept or not, and not an extension that is a 代表番号 (dialling it starts its
    group, whose members ring whatever the state's rule)."""
    from harness.model import predict
    from harness.model.timeline import EventKind

    x = check.id.split(":")[1]
    if any(g.pilot == x for g in tenant.settings.ring_groups):
        return False
    events = predict(tenant, check.scenario).events
    return any(
        e.kind is EventKind.VOICEMAIL or (e.kind is EventKind.RING and e.endpoint != x)
        for e in events
    )


def _rings_several(tenant: Tenant, check: BehaviourCheck) -> bool:
    """The group check's call, nobody answering, rings two members or more: an order, a
    member rung late or a ring time shows only then."""
    import dataclasses

    from harness.model import predict
    from harness.model.timeline import EventKind

    quiet = dataclasses.replace(check.scenario, endpoints={})
    rung = {e.endpoint for e in predict(tenant, quiet).events if e.kind is EventKind.RING}
    return len(rung) >= 2


def generated_tenant(name: str = "mutation") -> Tenant:
    """The first tenant ``harness.strategies.tenants.rich_tenants`` builds (derandomized: the
    same on every machine): a tenant no one wrote for these faults, whose every area has a
    behaviour that shows; :func:`rich` holds of it (tests/suite/test_mutation_tenant.py)."""
    from harness.strategies.tenants import first_example, rich_tenants

    return first_example(rich_tenants(name=name))


def write_generated_tenant(parent: Path) -> Path:
    """:func:`generated_tenant` written as the tenant folder ``parent/mutation``
    (ご利用内容.yaml, 設定.yaml); returns the folder."""
    from harness.guide.dump import write_tenant

    return write_tenant(generated_tenant(), parent)


# --- running the suite ------------------------------------------------------------------------


def suite_command(
    guides: Sequence[Path],
    folder: Path,
    *,
    time_scale: float,
    serve_args: Sequence[str] = (),
    suite: str = SUITE,
) -> list[str]:
    """The pytest command of one run: the suite on the embedded target for ``guides``, its
    results under ``folder``; ``serve_args`` go to every ``serve`` (``--suite-serve-arg``)."""
    selection = [suite] if Path(suite).exists() else ["--pyargs", suite]
    return [
        sys.executable, "-m", "pytest", *selection, "-p", "no:cacheprovider", "-q",
        "--target=embedded", *(f"--guide={g}" for g in guides),
        f"--suite-time-scale={time_scale!r}",
        *(f"--suite-serve-arg={a}" for a in serve_args),
        f"--alluredir={folder / 'allure-results'}", "--clean-alluredir",
        f"--compliance-dir={folder}", f"--junitxml={folder / 'junit.xml'}",
        "-o", "junit_family=xunit1",
    ]  # fmt: skip


def run_suite(
    label: str,
    guides: Sequence[Path],
    folder: Path,
    *,
    time_scale: float,
    serve_args: Sequence[str] = (),
    suite: str = SUITE,
) -> SuiteRun:
    """Run the suite once (pytest in a subprocess, output to ``folder/pytest.log``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RESULTS_FILE).unlink(missing_ok=True)
    command = suite_command(
        guides, folder, time_scale=time_scale, serve_args=serve_args, suite=suite
    )
    start = time.monotonic()
    with (folder / "pytest.log").open("w", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        try:
            code = subprocess.run(  # noqa: S603 (our own suite)
                command, stdout=log, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT, check=False
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    seconds = time.monotonic() - start
    return SuiteRun(
        label=label,
        results=_results(folder),
        pytest_code=code,
        seconds=seconds,
        folder=folder,
    )


def _results(folder: Path) -> tuple[CaseResult, ...]:
    path = folder / RESULTS_FILE
    if not path.exists():
        return ()
    try:
        return tuple(load_results(path.read_text(encoding="utf-8"), source=str(path)))
    except ValueError as error:
        raise HarnessError(str(error)) from None


Progress = Callable[[str], None]


def run_mutation(
    faults: Sequence[Fault],
    guides: Sequence[Path],
    reports: Path,
    *,
    jobs: int,
    time_scale: float,
    progress: Progress,
    suite: str = SUITE,
) -> MutationReport:
    """The baseline, then (when it is green) every fault's run, ``jobs`` at a time.

    A baseline that is not green is returned with no fault results: the caller stops there.
    """
    progress(f"baseline: the suite on the fault-free simulator (time scale {time_scale:g}) …")
    baseline = run_suite(BASELINE, guides, reports / BASELINE, time_scale=time_scale, suite=suite)
    state = "green" if baseline.green else "NOT green"
    progress(f"baseline: {state}, {len(baseline.results)} results, {baseline.seconds:.1f} s")
    if not baseline.green:
        return MutationReport(baseline=baseline, faults=())
    done = 0

    def one(fault: Fault) -> FaultResult:
        nonlocal done
        run = run_suite(
            fault.name,
            guides,
            reports / fault.name,
            time_scale=time_scale,
            serve_args=fault.serve_args,
            suite=suite,
        )
        result = FaultResult(fault=fault, run=run)
        done += 1
        by = f" by {len(run.failed)} check(s)" if result.caught else ""
        progress(f"[{done}/{len(faults)}] {fault.name}: {result.verdict}{by}, {run.seconds:.1f} s")
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = tuple(pool.map(one, faults))
    return MutationReport(baseline=baseline, faults=results)


def table(report: MutationReport, *, shown: int = 3) -> str:
    """fault | caught/missed/broken | by which checks (the first ``shown``, then a count) | s."""
    rows = [("fault", "verdict", "by", "s")]
    for f in report.faults:
        by = list(f.run.failed[:shown])
        if len(f.run.failed) > shown:
            by.append(f"+{len(f.run.failed) - shown} more")
        if f.verdict == "broken":
            by = [f"broken: {', '.join(f.run.broken[:shown]) or 'see ' + str(f.run.log)}"]
        rows.append((f.fault.name, f.verdict, ", ".join(by) or "—", f"{f.run.seconds:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    lines.insert(1, "-" * (sum(widths) + 10))
    total = len(report.faults)
    rate = f"{report.caught}/{total} caught" + (
        f" (kill rate {report.caught / total:.0%})" if total else ""
    )
    return "\n".join([*lines, "", rate])


def json_text(report: MutationReport) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)
