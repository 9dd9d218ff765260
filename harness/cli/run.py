"""``smartpbx-harness run [--reports DIR] [--fixtures DIR]``: the INTERIM main job.

Until the conformance suite exists (issue 2, part 2), ``make run`` validates every sample
tenant under ``fixtures/ご利用内容/`` (except ``broken/``, the deliberately invalid documents)
and prints the reference model's predicted timeline of each tenant's sample scenarios
``<tenant>/scenarios/*.yaml``, writing them as JSON to
``<reports>/timelines/<tenant>/<scenario>.json``. Exit 2 when a tenant or scenario is invalid
(every one is still reported).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli import EXIT_BAD_INPUT, EXIT_OK
from harness.cli.check import summary
from harness.cli.predict import format_table, load_checked_scenario, to_json_text
from harness.errors import InputError
from harness.guide import load_tenant
from harness.model import predict

BROKEN = "broken"


def tenant_folders(fixtures: Path) -> list[Path]:
    """Every tenant folder under ``fixtures``, by name, except the broken documents."""
    if not fixtures.is_dir():
        raise InputError([], subject=f"{fixtures} is not a folder of tenants (--fixtures)")
    return sorted(p for p in fixtures.iterdir() if p.is_dir() and p.name != BROKEN)


def run(args: argparse.Namespace) -> int:
    fixtures = Path(args.fixtures)
    out = Path(args.reports) / "timelines"
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
        help="INTERIM main job: validate sample tenants, print predicted timelines",
        description="INTERIM main job (what `make run` runs until the conformance suite "
        "exists): validate every tenant under the fixtures folder (except broken/) and print "
        "the reference model's predicted timeline of each tenant's scenarios/*.yaml, writing "
        "them as JSON under REPORTS/timelines/. It does not yet test any target. Exit 2 when "
        "a tenant or scenario is invalid.",
    )
    parser.add_argument("--reports", default="reports", metavar="DIR", help="output folder")
    parser.add_argument(
        "--fixtures",
        default="fixtures/ご利用内容",
        metavar="DIR",
        help="folder of tenant folders (default fixtures/ご利用内容)",
    )
    parser.set_defaults(handler=run)
