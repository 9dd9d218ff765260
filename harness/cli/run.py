"""``smartpbx-harness run``: the product — the manual, executed, for a tenant against a target.

1. **Pre-flight**, before any test: every ``--guide`` tenant folder is loaded and validated
   (with its ``scenarios/*.yaml``; without ``--guide``, every bundled tenant under
   ``--fixtures``), the ``--target`` file is read and validated, and a remote target is probed
   for reachability. Bad input stops the run with exit 2 naming the file and the problem; an
   unreachable target with exit 3. The model's predicted timeline of each tenant scenario is
   written under ``REPORTS/timelines/``.
2. **The conformance suite** ``harness.suite`` runs under pytest in a subprocess —
   ``python -m pytest --pyargs harness.suite --target … --guide …`` — writing Allure results,
   JUnit XML and the compliance matrices. A subprocess, not ``pytest.main`` in this process:
   pytest runs one session per interpreter cleanly (imported test modules, registered plugins
   and session-scoped simulators and browsers stay behind), and a crash or hang of the suite
   (Chromium, a SIP thread) must not take down the command that still has to write the
   summary and the reports. ``-n N`` gives the suite N pytest-xdist workers, each with its own
   embedded simulator.
3. **Reports**: the single-file Allure Report 3, and a summary table per tenant × target.

Exit 0 only when every check conformed (skipped and n/a allowed), 1 when a check found the
target deviating (a conformance failure — this wins over broken checks: the verdict on the
target is known), 2 bad input, 3 the harness could not run (a broken check, a pytest internal
or usage error, nothing collected, Allure missing).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import harness
from harness.cli import EXIT_BAD_INPUT, EXIT_BROKEN, EXIT_FAILED, EXIT_OK
from harness.cli.check import summary
from harness.cli.predict import format_table, load_checked_scenario, to_json_text
from harness.errors import HarnessError, InputError, Problem
from harness.guide import load_tenant
from harness.guide.load import GUIDE_FILE
from harness.guide.types import Tenant
from harness.model import predict
from harness.report.allure import generate_report
from harness.report.compliance import RESULTS_FILE, CaseResult, load_results
from harness.target.model import Target

#: The conformance suite shipped in the package (``pytest --pyargs harness.suite``).
SUITE = "harness.suite"
EMBEDDED = "embedded"
BROKEN = "broken"
#: The bundled tenants of a project checkout (``make run`` runs them all).
BUNDLED = Path(harness.__file__).resolve().parents[1] / "fixtures" / "ご利用内容"


def tenant_folders(fixtures: Path) -> list[Path]:
    """Every tenant folder under ``fixtures``, by name, except the broken documents.

    Refuses a folder that does not exist, a file, and a folder without any tenant: a run that
    checks nothing must not look like a run that found nothing wrong.
    """
    expected = f"give a folder of tenant folders, each holding {GUIDE_FILE}"
    if not fixtures.exists():
        _refuse(f"--fixtures {fixtures}", f"does not exist: {expected}")
    if not fixtures.is_dir():
        _refuse(f"--fixtures {fixtures}", f"is a file, not a folder: {expected}")
    try:
        folders = sorted(p for p in fixtures.iterdir() if p.is_dir() and p.name != BROKEN)
    except OSError as error:
        _refuse(f"--fixtures {fixtures}", f"cannot be read ({error.strerror}): {expected}")
    if not folders:
        _refuse(
            f"--fixtures {fixtures}",
            f"holds no tenant folder (besides {BROKEN}/): {expected} "
            "(fixtures/ご利用内容 of the project checkout has some)",
        )
    return folders


def _refuse(where: str, rule: str) -> NoReturn:
    raise InputError([Problem(where=where, rule=rule)], subject="run")


def _writable_reports(reports: Path) -> Path:
    """The ``--reports`` folder, created; refused (exit 2) when it cannot be."""
    try:
        reports.mkdir(parents=True, exist_ok=True)
        probe = reports / ".write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        _refuse(
            f"--reports {reports}",
            f"cannot be written ({error.strerror}): give a folder you can write",
        )
    return reports


@dataclass(frozen=True, kw_only=True)
class Checked:
    """A tenant folder that passed pre-flight, with its predicted sample timelines."""

    folder: Path
    tenant: Tenant


def check_guides(folders: Sequence[Path], timelines: Path) -> tuple[list[Checked], list[str]]:
    """Load and validate every tenant folder and its scenarios; predict each scenario.

    Returns the valid tenants and the printed problems (``smartpbx-harness: …`` lines) of the
    others: every problem of every folder is reported, not only the first.
    """
    checked: list[Checked] = []
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        try:
            tenant = load_tenant(folder)
        except InputError as error:
            problems.append(str(error))
            continue
        if tenant.name in seen:
            problems.append(
                f"--guide {folder}: the tenant {tenant.name!r} is also --guide {seen[tenant.name]}"
                ": the reports are per tenant name; give each tenant once (rename a copy)"
            )
            continue
        seen[tenant.name] = folder
        print(summary(tenant))
        valid = True
        for path in sorted((folder / "scenarios").glob("*.yaml")):
            try:
                scenario = load_checked_scenario(tenant, path)
            except InputError as error:
                problems.append(f"{tenant.name}/scenarios/{error}")
                valid = False
                continue
            timeline = predict(tenant, scenario)
            print(f"\n[{tenant.name}/{path.stem}] " + format_table(timeline, scenario) + "\n")
            out = timelines / tenant.name / f"{path.stem}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(to_json_text(timeline) + "\n", encoding="utf-8")
        if valid:
            checked.append(Checked(folder=folder, tenant=tenant))
    return checked, problems


def resolve(spec: str) -> Target | None:
    """``embedded`` → None (the suite starts one per tenant); else the target file, read and
    validated. A missing or unreadable file or bad TOML is refused here with the file named;
    the keys and values are harness.target.config's to judge."""
    if spec == EMBEDDED:
        return None
    path = Path(spec)
    fix = 'give `embedded` or a target file (TOML, docs/suite.md "Target files")'
    if not path.is_file():
        state = "is a folder" if path.is_dir() else "does not exist"
        _refuse(f"--target {spec}", f"{state}: {fix}")
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        _refuse(f"--target {spec}", f"cannot be read ({error}): {fix}")
    except tomllib.TOMLDecodeError as error:
        _refuse(f"--target {spec}", f"is not valid TOML ({error}): {fix}")
    load: Callable[[Path], Target] = _target_function("config", "load_target_file")
    return load(path)


def probe(target: Target) -> None:
    """Stop the run (``TargetUnreachable``, exit 3) when the target does not answer."""
    require: Callable[[Target], None] = _target_function("probe", "require_reachable")
    require(target)


def _target_function(module: str, name: str) -> Any:
    """``harness.target.<module>.<name>``, looked up when a target file is used (contracts.md;
    the modules are harness.target's own and may be absent from a partial install)."""
    try:
        found = importlib.import_module(f"harness.target.{module}")
    except ModuleNotFoundError as error:
        raise HarnessError(
            f"harness.target.{module} is missing ({error}): target files cannot be read by "
            "this installation; reinstall smartpbx-harness"
        ) from None
    return getattr(found, name)


def run(args: argparse.Namespace) -> int:
    reports = _writable_reports(Path(args.reports))
    guides = [Path(g) for g in args.guide] or tenant_folders(Path(args.fixtures))
    if args.time_scale is not None and args.target != EMBEDDED:
        _refuse(
            f"--time-scale {args.time_scale}",
            "applies to --target embedded only: a target file names its own [target] time_scale",
        )
    if args.workers not in (None, "1") and args.target != EMBEDDED:
        _refuse(
            f"-n {args.workers}",
            "applies to --target embedded only (each worker starts its own simulator): a "
            "target file names ONE shared deployment, whose flows and checks must run one "
            "after the other (onboarding flows bring the settings the checks need, and two "
            "workers would register the same terminals); leave -n out",
        )
    checked, problems = check_guides(guides, reports / "timelines")
    target = None
    try:
        target = resolve(args.target)
    except InputError as error:
        problems.append(str(error))
    if problems:
        for text in problems:
            print(f"smartpbx-harness: {text}", file=sys.stderr)
        print(f"{len(problems)} input(s) refused: nothing was run", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.no_suite:
        print(f"{len(checked)} tenant(s) valid; timelines under {reports / 'timelines'}")
        return EXIT_OK
    require_suite(str(args.suite))
    if target is not None:
        probe(target)
    return run_suite(args, [c.folder for c in checked], reports)


def require_suite(suite: str) -> None:
    """The suite to run exists: a path, or an importable package (exit 3 otherwise)."""
    if Path(suite).exists():
        return
    try:
        found = importlib.util.find_spec(suite)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise HarnessError(
            f"the conformance suite {suite} is not installed: reinstall smartpbx-harness "
            "(`make setup`), or give --suite a folder of tests"
        )


def suite_command(args: argparse.Namespace, guides: Sequence[Path], reports: Path) -> list[str]:
    """The pytest command line of the suite: target, guides, time scale, workers, reports."""
    suite = str(args.suite)
    selection = [suite] if Path(suite).exists() else ["--pyargs", suite]
    command = [
        sys.executable,
        "-m",
        "pytest",
        *selection,
        "-p",
        "no:cacheprovider",
        "-q",
        f"--target={args.target}",
        *(f"--guide={g}" for g in guides),
        f"--alluredir={reports / 'allure-results'}",
        "--clean-alluredir",
        f"--compliance-dir={reports}",
        f"--junitxml={reports / 'junit.xml'}",
        # xunit1 keeps each test's properties (tenant, flow/check, steps) in the JUnit XML;
        # xunit2 drops them and warns on record_property.
        "-o",
        "junit_family=xunit1",
    ]
    if args.time_scale is not None:
        command.append(f"--suite-time-scale={args.time_scale}")
    if args.workers is not None:
        # loadgroup: a remote target's tenant stays on one worker (flows, then its checks);
        # without groups (embedded) it distributes like `load`.
        command += ["-n", str(args.workers), "--dist", "loadgroup"]
    return [*command, *args.pytest_args]


def run_suite(args: argparse.Namespace, guides: Sequence[Path], reports: Path) -> int:
    """Run the suite, render Allure, print the summary; the exit code of the run."""
    (reports / RESULTS_FILE).unlink(missing_ok=True)  # never summarise a previous run
    command = suite_command(args, guides, reports)
    print("\n$ " + shlex.join(command), flush=True)
    pytest_code = subprocess.run(command, check=False).returncode
    if pytest_code == 4:  # pytest's usage error: an option the suite refused
        print(
            "smartpbx-harness: pytest refused the suite's options (see above): check the "
            "arguments after --",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    results = read_results(reports)
    render_reports(reports, results)
    return verdict(results, pytest_code)


def read_results(reports: Path) -> list[CaseResult]:
    path = reports / RESULTS_FILE
    if not path.exists():
        raise HarnessError(
            f"the suite wrote no {path}: it did not run to the end (see pytest's output above)"
        )
    try:
        return load_results(path.read_text(encoding="utf-8"), source=str(path))
    except ValueError as error:
        raise HarnessError(str(error)) from None


def render_reports(reports: Path, results: Sequence[CaseResult]) -> None:
    """Print the summary table, render the Allure HTML, print where every report is.

    The table comes first: when Allure cannot render (HarnessError, exit 3), the verdicts
    are on the terminal all the same.
    """
    print("\n" + summary_table(results) + "\n", flush=True)
    index = generate_report(
        reports / "allure-results", reports / "allure-report", project=_project()
    )
    matrices = reports / "index.html"
    if not matrices.exists():
        matrices = reports / "compliance.html"
    print(f"compliance matrix: {matrices}")
    print(f"Allure report: {index}")
    print(f"JUnit XML: {reports / 'junit.xml'}")


def _project() -> Path:
    """Where Allure 3 and allurerc.mjs are: the project checkout, else the working folder."""
    root = BUNDLED.parents[1]
    return root if (root / "node_modules").exists() else Path.cwd()


COLUMNS = ("passed", "failed", "broken", "skipped", "n/a")


def summary_table(results: Sequence[CaseResult]) -> str:
    """Per tenant × target: results per outcome, then every failed or broken check named."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for r in results:
        counts = groups.setdefault((r.tenant or "—", r.target or "—"), dict.fromkeys(COLUMNS, 0))
        counts[r.outcome] += 1
    header = ("tenant", "target", *COLUMNS)
    rows = [(t, g, *(str(c[k]) for k in COLUMNS)) for (t, g), c in groups.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if not rows:
        lines.append("(no flow or check ran)")
    bad = [r for r in results if r.outcome in ("failed", "broken")]
    if bad:
        lines += ["", "Not conforming:" if any(r.outcome == "failed" for r in bad) else "Broken:"]
        lines += [
            f"  {r.outcome:7} {r.tenant or '—'} › {r.display}: {r.message or ''}".rstrip()
            for r in bad
        ]
    return "\n".join(lines)


def verdict(results: Sequence[CaseResult], pytest_code: int) -> int:
    """The run's exit code from the classified results and pytest's own exit code."""
    outcomes = {r.outcome for r in results}
    if "failed" in outcomes:
        return EXIT_FAILED
    if "broken" in outcomes or pytest_code not in (0, 1) or not results:
        return EXIT_BROKEN
    if pytest_code == 1:  # a failure the classification did not see (e.g. a session error)
        return EXIT_BROKEN
    return EXIT_OK


def workers(text: str) -> str:
    """``-n``: a positive number of workers or ``auto`` (pytest-xdist's own values)."""
    if text == "auto" or (text.isdigit() and int(text) > 0):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: give a number of workers (1, 2 …) or auto")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="main job: the manual executed for tenants against a target, with reports",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
The main job: run the conformance suite (harness.suite: every flow of the manual and the
behaviour checks derived from each tenant's own settings) for each --guide tenant folder
against --target, and write the reports.

Before any test, every tenant folder (and its scenarios/*.yaml) is validated, the target file
read and validated, and a remote target probed; the model's predicted timeline of each tenant
scenario is written as JSON under REPORTS/timelines/<tenant>/.

Reports in REPORTS: allure-results/ and the single-file allure-report/index.html; junit.xml;
the compliance matrix per tenant, <tenant>/compliance.md, .json and .html (every manual step
with its flows and checks and a verdict: pass, failed, broken, skipped with the missing
capability, n/a with the reason, out_of_scope with the reason, or not covered), indexed by
index.html/.md/.json; results.json (what `smartpbx-harness report` re-renders from).
The terminal shows pytest's progress and, at the end, a summary table per tenant x target
(passed / failed / broken / skipped / n/a) naming every failing check.""",
        epilog="""\
exit codes: 0 every check conformed (skipped and n/a allowed); 1 a conformance failure (the
target deviates from the model or the manual); 2 bad input (a tenant folder, a scenario, the
target file, an option); 3 the harness could not run (a broken check, an unreachable target,
a pytest internal error, nothing collected).

examples:
  smartpbx-harness run                                   # bundled tenants, embedded simulator
  smartpbx-harness run --guide ./acme --target acme-staging.toml --reports out/
  smartpbx-harness run --guide ./acme -n 2 -- -k p3 --tracing=retain-on-failure""",
    )
    parser.add_argument(
        "--target",
        default=EMBEDDED,
        metavar="embedded|FILE",
        help="`embedded` (default: the suite starts `smartpbx-harness serve` per tenant on "
        "loopback) or a target file (TOML) naming a deployment",
    )
    parser.add_argument(
        "--guide",
        action="append",
        default=[],
        metavar="DIR",
        help="a tenant folder (ご利用内容.yaml, 設定.yaml, scenarios/); repeat for several; "
        "default: every tenant under --fixtures",
    )
    parser.add_argument(
        "--fixtures",
        default=str(BUNDLED),
        metavar="DIR",
        help="folder of tenant folders run when no --guide is given, except broken/ "
        "(default: the bundled fixtures/ご利用内容)",
    )
    parser.add_argument(
        "--reports", default="reports", metavar="DIR", help="output folder (default reports)"
    )
    parser.add_argument(
        "-n",
        dest="workers",
        type=workers,
        metavar="N",
        default=None,
        help="pytest-xdist workers (a number or `auto`); each runs its own embedded simulator "
        "(--target embedded only: a target file's deployment is run serially)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        metavar="X",
        help="real seconds per simulated second for --target embedded (default: the suite's, "
        "0.01); a target file names its own",
    )
    parser.add_argument(
        "--suite",
        default=SUITE,
        metavar="PACKAGE|PATH",
        help=f"the suite to run (default {SUITE}); the project's tests use a stand-in",
    )
    parser.add_argument(
        "--no-suite",
        action="store_true",
        help="pre-flight only: validate tenants and the target, predict timelines",
    )
    parser.add_argument(
        "pytest_args",
        nargs="*",
        metavar="PYTEST_ARG",
        help="extra pytest arguments after `--`, e.g. -- -x -k p3 --headed",
    )
    parser.set_defaults(handler=run)
