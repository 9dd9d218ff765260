"""Manual steps as code: ``@manual_step("P3-S2-6")`` binds a function to its catalog step, and
``@flow(...)`` names a sequence of steps a suite test runs (../shared/STYLE.md §6).

A step function reads the same way every time — prepare → act → record evidence → check — and
takes the :class:`~harness.flows.context.FlowContext` as its first argument. Calling it:

1. opens an Allure step titled with the manual's mark and Japanese text
   (``P.3 ⑥ 「内線番号情報1」に記載されている…``) when allure-pytest is writing results;
2. records the step id in ``ctx.executed`` (the suite checks that a passing flow ran every step
   it declares — a flow that skipped a step is a harness defect, not a pass);
3. after the body, hands the step to ``ctx.evidence.after_step`` — a screenshot of every open
   page after a web step, the SIP ladder and pcap after a SIP step (harness.flows.evidence).

An unknown step id fails at import with the closest valid ids, so a flow can never name a step
the catalog does not have; ``tests/flows`` checks the other direction (every automated catalog
step has a flow).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from harness.flows.catalog import ManualStep, step_by_id
from harness.target.model import Capability

if TYPE_CHECKING:
    from harness.flows.context import FlowContext

P = ParamSpec("P")
R = TypeVar("R")

StepFunction = Callable[Concatenate["FlowContext", P], R]


@dataclass(frozen=True, kw_only=True)
class BoundStep:
    """A function bound to one catalog step."""

    step: ManualStep
    qualname: str
    module: str


@dataclass(frozen=True, kw_only=True)
class Flow:
    """A named sequence of manual steps that one suite test runs from start to end.

    ``steps`` are the catalog ids the flow performs (in order); ``needs`` the target
    capabilities without which the flow is skipped (with the capability named); ``requirement``
    the sentence the report shows beside the verdict (STYLE.md §19).
    """

    name: str
    section: str
    steps: tuple[str, ...]
    needs: tuple[Capability, ...]
    requirement: str
    run: Callable[[FlowContext], None]
    module: str

    def __repr__(self) -> str:  # a test parameter: Allure and pytest show it
        return f"Flow({self.name!r})"


_STEPS: dict[str, list[BoundStep]] = {}
_FLOWS: dict[str, Flow] = {}


def title(step: ManualStep) -> str:
    """The Allure title of a step: its mark and the manual's text."""
    return f"{step.label} {step.text}"


def manual_step(step_id: str) -> Callable[[StepFunction[P, R]], StepFunction[P, R]]:
    """Bind a step function to catalog step ``step_id`` (KeyError at import if unknown)."""
    step = step_by_id(step_id)

    def bind(function: StepFunction[P, R]) -> StepFunction[P, R]:
        @functools.wraps(function)
        def run(ctx: FlowContext, /, *args: P.args, **kwargs: P.kwargs) -> R:
            with allure_step(title(step)):
                ctx.executed.append(step.id)
                try:
                    return function(ctx, *args, **kwargs)
                finally:
                    ctx.evidence.after_step(step)

        _STEPS.setdefault(step.id, []).append(
            BoundStep(step=step, qualname=function.__qualname__, module=function.__module__)
        )
        return run

    return bind


def flow(
    name: str,
    *,
    section: str,
    steps: tuple[str, ...],
    requirement: str,
    needs: tuple[Capability, ...] = (),
) -> Callable[[Callable[[FlowContext], None]], Callable[[FlowContext], None]]:
    """Register ``function`` as the flow ``name`` performing catalog ``steps``."""
    for step_id in steps:
        step_by_id(step_id)

    def register(function: Callable[[FlowContext], None]) -> Callable[[FlowContext], None]:
        if name in _FLOWS:
            raise ValueError(
                f"two flows are named {name!r}: {_FLOWS[name].module}, {function.__module__}"
            )
        _FLOWS[name] = Flow(
            name=name,
            section=section,
            steps=steps,
            needs=needs,
            requirement=requirement,
            run=function,
            module=function.__module__,
        )
        return function

    return register


def bound_steps() -> dict[str, tuple[BoundStep, ...]]:
    """Every catalog step id that has a step function, with those functions."""
    _import_flow_modules()
    return {k: tuple(v) for k, v in _STEPS.items()}


def flows() -> tuple[Flow, ...]:
    """Every registered flow, in registration (manual) order."""
    _import_flow_modules()
    return tuple(_FLOWS.values())


def _import_flow_modules() -> None:
    """Import every flow module of this package so that their decorators have run."""
    import importlib
    import pkgutil

    import harness.flows as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith(("p2_", "p3_", "p4_", "p5_", "p6_", "p7_")):
            importlib.import_module(f"{package.__name__}.{info.name}")


@contextmanager
def allure_step(text: str) -> Iterator[None]:
    """An Allure step when allure-pytest is installed, else nothing."""
    try:
        import allure
    except ImportError:
        yield
        return
    step: Any = allure.step  # allure-pytest ships no type hints
    with step(text):
        yield
