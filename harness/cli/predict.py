"""``smartpbx-harness predict --guide DIR --scenario FILE [--json] [--param NAME=VALUE ...]``.

Prints the reference model's timeline of one call: a readable table (default) or the JSON
contract of docs/model.md. A bad tenant, scenario or option is refused with what is wrong,
where, and the rule (exit 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from harness.cli import EXIT_OK
from harness.cli.options import name_values
from harness.errors import InputError
from harness.guide import Tenant, load_tenant
from harness.model import (
    DEFAULT_PARAMS,
    ModelParams,
    Scenario,
    Timeline,
    load_scenario,
    predict,
    scenario_problems,
)


def parse_params(pairs: list[str]) -> ModelParams:
    """``NAME=VALUE`` options over the model's defaults; every bad one is reported."""
    return DEFAULT_PARAMS.with_overrides(name_values(pairs, subject="model parameters"))


def load_checked_scenario(tenant: Tenant, path: Path) -> Scenario:
    """Load a scenario file and check the extensions it names exist in ``tenant``."""
    scenario = load_scenario(path)
    problems = scenario_problems(tenant, scenario, source=path.name)
    if problems:
        raise InputError(problems, subject="scenario")
    return scenario


def format_table(timeline: Timeline, scenario: Scenario) -> str:
    """The timeline as a table a person reads: t, event, endpoint, caller ID; then outcome."""
    title = f"call {scenario.caller} → {scenario.dialled}"
    if scenario.description:
        title += f"  ({scenario.description})"
    rows = [title, f"{'t (s)':>7}  {'event':<9}  {'endpoint':<14}  caller ID"]
    for event in timeline.events:
        rows.append(
            f"{event.t:>7g}  {event.kind.value:<9}  {event.endpoint:<14}  {event.caller_id or ''}"
        )
    outcome = f"outcome: {timeline.outcome.value}"
    if timeline.answered_by is not None:
        outcome += f" (answered by {timeline.answered_by})"
    rows.append(outcome)
    return "\n".join(row.rstrip() for row in rows)


def to_json_text(timeline: Timeline) -> str:
    return json.dumps(timeline.to_json(), ensure_ascii=False, indent=2)


def run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    tenant = load_tenant(args.guide)
    scenario = load_checked_scenario(tenant, Path(args.scenario))
    timeline = predict(tenant, scenario, params)
    print(to_json_text(timeline) if args.json else format_table(timeline, scenario))
    return EXIT_OK


def register(subparsers: Any) -> None:
    names = ", ".join(field.name for field in dataclasses.fields(ModelParams))
    parser = subparsers.add_parser(
        "predict",
        help="print the reference model's timeline of one call",
        description="Predict one call with the reference model (docs/model.md): who rings "
        "when, with which caller ID, and how the call ends.",
    )
    parser.add_argument("--guide", required=True, metavar="DIR", help="a tenant folder")
    parser.add_argument("--scenario", required=True, metavar="FILE", help="a scenario YAML file")
    parser.add_argument("--json", action="store_true", help="print the JSON contract")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"override a model assumption (repeatable; docs/model.md says what each "
        f"means and its alternative); names: {names}",
    )
    parser.set_defaults(handler=run)
