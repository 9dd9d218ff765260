"""``smartpbx-harness run``: the main job (what ``make run`` runs).

1. Validate every tenant under ``fixtures/ご利用内容/`` (except ``broken/``, the deliberately
   invalid documents) and print the reference model's predicted timeline of each tenant's
   sample scenarios ``<tenant>/scenarios/*.yaml``, writing them as JSON to
   ``<reports>/timelines/<tenant>/<scenario>.json``.
2. Run the executable specs that exist so far against the embedded simulator: every test of
   the suite marked ``manual_step`` (except those against other SIP servers, marked ``peers``),
   as a pytest subprocess writing Allure results, JUnit XML and the compliance matrix.
3. Render the single-file Allure Report 3.

Until the executable manual (flows for every step) lands, the suite is the project's own tests
that name manual steps; steps no test exercises show as ``not covered`` in the matrix.
Exit 0 all passed, 1 a conformance test failed, 2 bad input (a tenant or scenario), 3 the
harness could not run.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

from harness.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from harness.cli.check import summary
from harness.cli.predict import format_table, load_checked_scenario, to_json_text
from harness.errors import HarnessError, InputError, Problem
from harness.guide import load_tenant
from harness.guide.load import GUIDE_FILE
from harness.model import predict
from harness.report.allure import generate_report

# The conformance selection: tests that exercise a manual step, against the embedded simulator.
SUITE_MARKERS = "manual_step and not peers"

BROKEN = "broken"


def tenant_folders(fixtures: Path) -> list[Path]:
    """Every tenant folder under ``fixtures``, by name, except the broken documents.

    Refuses a folder that does not exist, a file, and a folder without any tenant: a run that
    predicts nothing must not look like a run that found nothing wrong.
    """
    expected = f"give a folder of tenant folders, each holding {GUIDE_FILE}"
    if not fixtures.exists():
        _refuse_fixtures(fixtures, f"does not exist: {expected}")
    if not fixtures.is_dir():
        _refuse_fixtures(fixtures, f"is a file, not a folder: {expected}")
    try:
        folders = sorted(p for p in fixtures.iterdir() if p.is_dir() and p.name != BROKEN)
    except OSError as error:
        _refuse_fixtures(fixtures, f"cannot be read ({error.strerror}): {expected}")
    if not folders:
        _refuse_fixtures(
            fixtures,
            f"holds no tenant folder (besides {BROKEN}/): {expected} "
            "(fixtures/ご利用内容 of the project checkout has some)",
        )
    return folders


def _refuse_fixtures(fixtures: Path, rule: str) -> NoReturn:
    raise InputError([Problem(where=f"--fixtures {fixtures}", rule=rule)], subject="run")


def run(args: argparse.Namespace) -> int:
    code = predict_samples(args)
    if args.no_suite:
        return code
    suite_code = run_suite(Path(args.suite), Path(args.reports), list(args.pytest_args))
    if code == EXIT_BAD_INPUT:
        return code
    return suite_code


def run_suite(suite: Path, reports: Path, extra: list[str]) -> int:
    """Run the conformance selection of ``suite`` with pytest; render Allure; summarise."""
    if not suite.is_dir():
        raise InputError(
            [
                Problem(
                    where=f"--suite {suite}",
                    rule="is not a folder of tests: run from the project checkout, or give "
                    "the suite's folder",
                )
            ],
            subject="run",
        )
    reports.mkdir(parents=True, exist_ok=True)
    results = reports / "allure-results"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(suite),
        "-m",
        SUITE_MARKERS,
        "-q",
        f"--alluredir={results}",
        "--clean-alluredir",
        f"--compliance-dir={reports}",
        f"--junitxml={reports / 'junit.xml'}",
        *extra,
    ]
    print("\n$ " + shlex.join(command), flush=True)
    pytest_code = subprocess.run(command, check=False).returncode
    if pytest_code not in (0, 1):
        raise HarnessError(f"the suite could not run (pytest exit {pytest_code})")
    index = generate_report(results, reports / "allure-report", project=Path.cwd())
    counts = json.loads((reports / "compliance.json").read_text(encoding="utf-8"))["counts"]
    verdicts = ", ".join(f"{name}: {n}" for name, n in sorted(counts.items()))
    print(f"\ncompliance matrix ({verdicts}): {reports / 'compliance.md'}")
    print(f"Allure report: {index}")
    print(f"JUnit XML: {reports / 'junit.xml'}")
    return EXIT_OK if pytest_code == 0 else EXIT_FAILED


def _writable_reports(reports: Path) -> Path:
    """The ``--reports`` folder, created; refused (exit 2) when it cannot be."""
    try:
        reports.mkdir(parents=True, exist_ok=True)
        probe = reports / ".write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise InputError(
            [
                Problem(
                    where=f"--reports {reports}",
                    rule=f"cannot be written ({error.strerror}): give a folder you can write",
                )
            ],
            subject="run",
        ) from None
    return reports


def predict_samples(args: argparse.Namespace) -> int:
    fixtures = Path(args.fixtures)
    out = _writable_reports(Path(args.reports)) / "timelines"
    code = EXIT_OK
    predicted = 0
    for folder in tenant_folders(fixtures):
        try:
            tenant = load_tenant(folder)
        except InputError as error:
            print(f"smartpbx-harness: {error}", file=sys.stderr)
            code = EXIT_BAD_INPUT
            continue
        print(summary(tenant))
        for path in sorted((folder / "scenarios").glob("*.yaml")):
            try:
                scenario = load_checked_scenario(tenant, path)
            except InputError as error:
                print(f"smartpbx-harness: {tenant.name}/scenarios/{error}", file=sys.stderr)
                code = EXIT_BAD_INPUT
                continue
            timeline = predict(tenant, scenario)
            print(f"\n[{tenant.name}/{path.stem}] " + format_table(timeline, scenario) + "\n")
            target = out / tenant.name / f"{path.stem}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(to_json_text(timeline) + "\n", encoding="utf-8")
            predicted += 1
    print(f"{predicted} timelines predicted; JSON written under {out}")
    return code


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="main job: predicted timelines, the executable specs against the simulator, "
        "Allure report and compliance matrix",
        description="The main job (`make run`): (1) validate every tenant under the fixtures "
        "folder (except broken/) and print the reference model's predicted timeline of each "
        "tenant's scenarios/*.yaml (JSON under REPORTS/timelines/); (2) run the tests of the "
        f"suite marked manual_step ({SUITE_MARKERS!r}) against the embedded simulator, "
        "writing REPORTS/allure-results, REPORTS/junit.xml and the compliance matrix "
        "REPORTS/compliance.md and .json (every manual step -> tests -> verdict; steps no "
        "test exercises yet show as 'not covered'); (3) render the single-file Allure Report "
        "3 into REPORTS/allure-report/index.html. Exit 0 all passed, 1 a conformance test "
        "failed, 2 bad input, 3 the harness could not run.",
    )
    parser.add_argument("--reports", default="reports", metavar="DIR", help="output folder")
    parser.add_argument(
        "--fixtures",
        default="fixtures/ご利用内容",
        metavar="DIR",
        help="folder of tenant folders (default fixtures/ご利用内容)",
    )
    parser.add_argument(
        "--suite",
        default="tests",
        metavar="DIR",
        help="folder of the test suite to run (default tests, in the project checkout)",
    )
    parser.add_argument(
        "--no-suite",
        action="store_true",
        help="only validate tenants and predict timelines (no simulator, no browser)",
    )
    parser.add_argument(
        "pytest_args",
        nargs="*",
        metavar="PYTEST_ARG",
        help="extra pytest arguments after `--`, e.g. -- -x --sim-time-scale 0.02",
    )
    parser.set_defaults(handler=run)
