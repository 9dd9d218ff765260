"""What one run of the suite will do, decided before any test: the target and the tenants.

:func:`build_plan` is the pre-flight (issue 11 item 4): a broken target file or tenant folder is
an ``InputError`` naming what and where (exit 2), an unreachable remote target a
``TargetUnreachable`` (exit 3) — both before the first test. The pytest plugin
(``harness.pytest_plugin.suite``) and ``smartpbx-harness run`` call it with the same options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import InputError, Problem
from harness.guide import Tenant, load_tenant
from harness.guide.load import GUIDE_FILE
from harness.model import DEFAULT_PARAMS, ModelParams
from harness.suite import surfaces
from harness.suite.derive import BehaviourCheck, derive_checks, scenario_checks
from harness.target.model import Target

#: The bundled tenants (``--guide`` left out): every folder of fixtures/ご利用内容 holding a
#: ご利用内容.yaml (the ``broken`` collection holds one folder per refused document, not one).
BUNDLED_ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容"

#: Default real seconds per simulated second of an embedded target (DESIGN.md "Time").
DEFAULT_TIME_SCALE = 0.01


#: This package: what ``pytest`` runs when it runs the suite.
SUITE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, kw_only=True)
class SuiteTenant:
    """One tenant of the run: its folder, its documents and the checks they imply."""

    key: str  # the test-id part naming the tenant (its folder name; numbered when repeated)
    folder: Path
    tenant: Tenant
    checks: tuple[BehaviourCheck, ...]  # derived from the settings, then scenarios/*.yaml

    def __repr__(self) -> str:  # a test parameter: Allure and pytest show it
        return f"SuiteTenant({self.key!r})"


@dataclass(frozen=True, kw_only=True)
class SuitePlan:
    """The run: ``target`` is None for an embedded one (one ``serve`` per tenant and worker)."""

    target_spec: str
    target: Target | None
    time_scale: float
    tenants: tuple[SuiteTenant, ...]
    params: ModelParams = DEFAULT_PARAMS
    #: Arguments every embedded ``serve`` gets as they are (``--suite-serve-arg``), e.g.
    #: ``--fault=NAME`` for a mutation run.
    serve_args: tuple[str, ...] = ()

    @property
    def embedded(self) -> bool:
        return self.target is None


def bundled_guides() -> tuple[Path, ...]:
    """The bundled tenant folders, sorted by name."""
    return tuple(
        sorted(p for p in BUNDLED_ROOT.iterdir() if p.is_dir() and (p / GUIDE_FILE).is_file())
    )


def load_tenants(
    guides: Sequence[Path], *, params: ModelParams = DEFAULT_PARAMS
) -> tuple[SuiteTenant, ...]:
    """Load every tenant folder and derive its checks; one InputError lists every problem."""
    problems: list[Problem] = []
    loaded: list[SuiteTenant] = []
    seen: dict[str, int] = {}
    for folder in guides:
        try:
            tenant = load_tenant(folder)
            checks = derive_checks(tenant, params=params) + scenario_checks(
                tenant, folder, params=params
            )
        except InputError as error:
            problems.extend(
                Problem(where=f"--guide {folder} › {p.where}", rule=p.rule, value=p.value)
                for p in error.problems
            )
            continue
        count = seen[tenant.name] = seen.get(tenant.name, 0) + 1
        key = tenant.name if count == 1 else f"{tenant.name}-{count}"
        loaded.append(SuiteTenant(key=key, folder=folder.resolve(), tenant=tenant, checks=checks))
    if problems:
        raise InputError(problems, subject="tenant folders (--guide)")
    return tuple(loaded)


def build_plan(
    target: str = "embedded",
    guides: Sequence[Path] = (),
    *,
    time_scale: float = DEFAULT_TIME_SCALE,
    probe: bool = True,
    serve_args: Sequence[str] = (),
) -> SuitePlan:
    """Read the target and the tenants; probe a remote target (``probe``). ``serve_args`` go
    to every embedded ``serve``; with a target file they are refused (nothing is started)."""
    if not (time_scale > 0 and time_scale != float("inf")):
        raise InputError(
            [
                Problem(
                    where="--suite-time-scale",
                    rule="must be a positive number of real seconds per simulated second",
                    value=repr(time_scale),
                )
            ],
            subject="options",
        )
    if serve_args and target != "embedded":
        raise InputError(
            [
                Problem(
                    where="--suite-serve-arg",
                    rule="applies to --target embedded only: the harness starts no `serve` "
                    "for a target file; start the deployment with those arguments yourself",
                    value=" ".join(serve_args),
                )
            ],
            subject="options",
        )
    tenants = load_tenants(list(guides) or bundled_guides())
    if target == "embedded":
        return SuitePlan(
            target_spec=target,
            target=None,
            time_scale=time_scale,
            tenants=tenants,
            serve_args=tuple(serve_args),
        )
    remote = surfaces.load_target_file(Path(target))
    if probe:
        surfaces.require_reachable(remote)
    return SuitePlan(
        target_spec=target, target=remote, time_scale=remote.time_scale, tenants=tenants
    )


#: Where the pytest plugin keeps the run's plan (``config.stash[SUITE_PLAN]``).
SUITE_PLAN = pytest.StashKey[SuitePlan]()
