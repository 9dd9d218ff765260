"""``smartpbx-harness`` command line.

Each sub-command lives in its own module of this package exposing
``register(subparsers) -> None``; the module adds its parser and sets ``handler`` (a function
``(args) -> int`` returning the exit code) with ``set_defaults``. Exit codes: 0 success,
1 a conformance verdict failed, 2 bad input (a document, scenario, file or option),
3 the harness could not run (a missing component, a crashed peer).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harness import __version__
from harness.errors import HarnessError, InputError

# Sub-command modules, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = ("check", "predict", "run", "report", "serve", "fuzz", "mutation")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartpbx-harness",
        description=(
            "Conformance harness and onboarding simulator for Arcstar Smart PBX: the onboarding "
            "manual (ご利用までの流れ) as executable specs."
        ),
        epilog="Exit codes: 0 ok, 1 conformance failure, 2 bad input, 3 harness broken.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"harness.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except InputError as error:
        print(f"smartpbx-harness: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except HarnessError as error:
        print(f"smartpbx-harness: the harness could not run: {error}", file=sys.stderr)
        return EXIT_BROKEN
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
