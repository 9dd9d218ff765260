"""``smartpbx-harness check DIR [DIR...]``: validate tenant folders (ご利用内容 + 設定).

Prints one summary line per valid tenant. Every problem of every invalid tenant is printed to
stderr (file › table › row › field, the rule, what was found); the exit code is then 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli import EXIT_BAD_INPUT, EXIT_OK
from harness.errors import InputError
from harness.guide import Tenant, load_tenant


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(tenant: Tenant) -> str:
    """One line describing a valid tenant: extensions, sites, groups, lines, settings."""
    settings = tenant.settings
    return (
        f"{tenant.name}: ok — {_plural(len(tenant.extensions), 'extension')} "
        f"({_plural(len(tenant.sites), 'site')}), "
        f"{_plural(len(settings.ring_groups), 'group')}, "
        f"{_plural(len(tenant.external_numbers), 'external line')}, "
        f"{_plural(len(settings.inbound_routes), 'inbound route')}, "
        f"{_plural(len(settings.absence), 'absence setting')}"
    )


def run(args: argparse.Namespace) -> int:
    code = EXIT_OK
    for folder in args.dirs:
        try:
            tenant = load_tenant(folder)
        except InputError as error:
            print(f"smartpbx-harness: {error}", file=sys.stderr)
            code = EXIT_BAD_INPUT
            continue
        print(summary(tenant))
    return code


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate tenant folders (ご利用内容.yaml and optional 設定.yaml)",
        description="Validate tenant folders: every problem is printed with file, table, row, "
        "field and the rule; exit 0 when all are valid, 2 otherwise.",
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="a tenant folder")
    parser.set_defaults(handler=run)
