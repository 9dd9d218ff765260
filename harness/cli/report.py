"""``smartpbx-harness report``: re-render the reports of a finished run.

Reads ``REPORTS/results.json`` (every flow and check with its outcome, written by the suite's
pytest plugin), writes the compliance matrices again — one per tenant plus the index, against
the current catalog of manual steps — renders the single-file Allure Report 3 from
``REPORTS/allure-results`` and prints the summary table. Nothing is run against a target.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli import EXIT_OK
from harness.cli.run import render_reports
from harness.errors import InputError, Problem
from harness.flows.catalog import step_infos
from harness.report.compliance import RESULTS_FILE, load_results, matrices, write_matrices


def report(args: argparse.Namespace) -> int:
    reports = Path(args.reports)
    path = reports / RESULTS_FILE
    needs = "give the --reports folder of a finished `smartpbx-harness run`"
    if not path.is_file():
        raise InputError(
            [Problem(where=f"--reports {reports}", rule=f"holds no {RESULTS_FILE}: {needs}")],
            subject="report",
        )
    if not (reports / "allure-results").is_dir():
        raise InputError(
            [Problem(where=f"--reports {reports}", rule=f"holds no allure-results/: {needs}")],
            subject="report",
        )
    try:
        results = load_results(path.read_text(encoding="utf-8"), source=str(path))
    except ValueError as error:
        raise InputError([Problem(where=str(path), rule=str(error))], subject="report") from None
    write_matrices(reports, matrices(step_infos(), results))
    render_reports(reports, results)
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="re-render the compliance matrices and the Allure HTML of a finished run",
        description="Re-render REPORTS/<tenant>/compliance.{md,json,html}, REPORTS/index.* and "
        "REPORTS/allure-report/index.html from REPORTS/results.json and REPORTS/allure-results "
        "of a finished `smartpbx-harness run`, and print its summary table. Runs nothing "
        "against a target. Exit 0, or 2 when the folder holds no finished run.",
    )
    parser.add_argument(
        "--reports",
        default="reports",
        metavar="DIR",
        help="the run's output folder (default reports)",
    )
    parser.set_defaults(handler=report)
