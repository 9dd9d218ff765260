"""Options of the conformance suite (``pytest --pyargs harness.suite``) and its pre-flight.

- ``--target embedded|FILE`` (default ``embedded``): the embedded simulator (one ``serve`` per
  tenant and xdist worker) or a TOML target file (docs/targets.md);
- ``--guide DIR`` (repeatable; default: the bundled tenants of fixtures/ご利用内容);
- ``--suite-time-scale`` (default 0.01): real seconds per simulated second of an embedded
  target; a remote target's scale is its file's ``time_scale``;
- ``--suite-serve-arg ARG`` (repeatable, embedded only): an argument given to every embedded
  ``serve`` as it is, e.g. ``--suite-serve-arg=--fault=NAME`` (what ``smartpbx-harness
  mutation`` runs the suite with) or ``--suite-serve-arg=--param=sequential_rounds=2``.

The pre-flight runs in ``pytest_configure`` only when the suite is what pytest was asked to run
(``harness.suite`` or a path inside it): a broken target file, tenant folder or scenario file is
a usage error (pytest exit 4, ``smartpbx-harness run`` exit 2) naming what and where; an
unreachable target stops the run with exit 3. Either way before the first test. The plan
(:class:`harness.suite.plan.SuitePlan`) is kept in ``config.stash[SUITE_PLAN]``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HarnessError, InputError
from harness.suite.plan import DEFAULT_TIME_SCALE, SUITE_DIR, SUITE_PLAN, build_plan

#: Exit status of a run whose target cannot be reached (the CLI's "could not run").
EXIT_UNREACHABLE = 3


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smartpbx-suite", "conformance suite (harness.suite)")
    group.addoption(
        "--target",
        default="embedded",
        metavar="embedded|FILE",
        help="what the suite runs against: the embedded simulator (default) or a TOML target file",
    )
    group.addoption(
        "--guide",
        action="append",
        default=[],
        metavar="DIR",
        help="tenant folder (ご利用内容.yaml, 設定.yaml); repeatable; default: bundled tenants",
    )
    group.addoption(
        "--suite-time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="real seconds per simulated second of an embedded target (default 0.01)",
    )
    group.addoption(
        "--suite-serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an argument for every embedded `serve`, as it is (repeatable; write it with =, "
        "e.g. --suite-serve-arg=--fault=NAME); --target embedded only",
    )


def runs_suite(config: pytest.Config) -> bool:
    """pytest was asked to run the suite: ``harness.suite[.…]`` or a path inside it."""
    for arg in config.args:
        name = arg.split("::", 1)[0]
        if name == "harness.suite" or name.startswith("harness.suite."):
            return True
        path = Path(name).resolve()
        if path == SUITE_DIR or SUITE_DIR in path.parents:
            return True
    return False


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not runs_suite(config):
        return
    try:
        plan = build_plan(
            str(config.getoption("--target")),
            [Path(g) for g in config.getoption("--guide")],
            time_scale=float(config.getoption("--suite-time-scale")),
            serve_args=[str(a) for a in config.getoption("--suite-serve-arg")],
        )
    except InputError as error:
        raise pytest.UsageError(f"{error}\nNothing was run: fix the input above.") from None
    except HarnessError as error:  # TargetUnreachable and the like: the run cannot start
        pytest.exit(f"the target cannot be used: {error}", returncode=EXIT_UNREACHABLE)
    config.stash[SUITE_PLAN] = plan
