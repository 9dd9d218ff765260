"""The catalog of every step of the onboarding manual (ご利用までの流れ), as data.

``manual_steps.yaml`` beside this module lists each step with a stable id, the manual's page and
mark (``P.3 ⑥``), the actor, the surface it drives and the manual's own words. Tests name the
steps they exercise with ``@pytest.mark.manual_step("P3-S2-6")``; the compliance matrix
(``harness.report.compliance``) maps every step to those tests and their verdicts. Steps that no
harness can exercise (app-store downloads, installers, OS permission dialogs) are listed as
``out_of_scope`` with the reason, so the matrix shows them instead of silently dropping them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from harness.guide.source import parse_yaml
from harness.report.compliance import StepInfo

Scope = Literal["automated", "out_of_scope"]


@dataclass(frozen=True, kw_only=True)
class ManualStep:
    """One step of the manual."""

    id: str
    page: str
    ref: str
    actor: str
    surface: str
    section: str
    text: str
    scope: Scope
    reason: str | None = None

    @property
    def label(self) -> str:
        """``P.3 ⑥`` — how the manual itself refers to the step."""
        return f"{self.page} {self.ref}"


@cache
def manual_steps() -> tuple[ManualStep, ...]:
    """Every step of the manual, in the manual's order."""
    text = resources.files(__package__).joinpath("manual_steps.yaml").read_text(encoding="utf-8")
    # The one YAML reader of the harness (bounded, no aliases), though this file is ours.
    source = parse_yaml(text, label="manual_steps.yaml")
    if source.problems:
        raise ValueError("; ".join(str(problem) for problem in source.problems))
    rows = source.data["steps"]
    steps = tuple(_step(row) for row in rows)
    ids = [step.id for step in steps]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"manual_steps.yaml: duplicate step ids {duplicates}")
    return steps


def _step(row: dict[str, object]) -> ManualStep:
    fields = {k: str(v) for k, v in row.items()}
    scope = fields.pop("scope")
    if scope not in ("automated", "out_of_scope"):
        raise ValueError(f"manual_steps.yaml: step {fields.get('id')}: bad scope {scope!r}")
    return ManualStep(scope="automated" if scope == "automated" else "out_of_scope", **fields)


def step_by_id(step_id: str) -> ManualStep:
    """The step with ``step_id``; KeyError names the closest valid ids."""
    for step in manual_steps():
        if step.id == step_id:
            return step
    import difflib

    close = difflib.get_close_matches(step_id, [s.id for s in manual_steps()], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise KeyError(f"no manual step {step_id!r} in harness/flows/manual_steps.yaml{hint}")


def step_infos() -> list[StepInfo]:
    """The catalog as the compliance matrix (harness.report.compliance) reads it."""
    return [
        StepInfo(
            id=s.id,
            label=s.label,
            actor=s.actor,
            surface=s.surface,
            text=s.text,
            in_scope=s.scope == "automated",
            reason=s.reason,
        )
        for s in manual_steps()
    ]
