"""The compliance matrix: every manual step → the tests that exercise it → a verdict.

Pure data in, documents out (stdlib only). Verdicts per step, in order of precedence:

- ``n/a``         the step is out of scope for any harness (its reason is shown)
- ``broken``      some test of the step could not run properly (harness error: Allure *broken*)
- ``fail``        some test of the step found the target deviating (Allure *failed*)
- ``pass``        every test of the step passed (at least one ran)
- ``not covered`` no test ran for the step — shown, never counted as passing

Skipped tests count as not run: a step whose only tests were skipped is ``not covered``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

Outcome = Literal["passed", "failed", "broken", "skipped"]
Verdict = Literal["pass", "fail", "broken", "not covered", "n/a"]


@dataclass(frozen=True, kw_only=True)
class StepInfo:
    """What the matrix needs to know of a manual step."""

    id: str
    label: str
    actor: str
    surface: str
    text: str
    in_scope: bool
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseResult:
    """One test's outcome and the manual steps it names."""

    nodeid: str
    outcome: Outcome
    steps: tuple[str, ...]
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class Row:
    step: StepInfo
    verdict: Verdict
    tests: tuple[CaseResult, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class Matrix:
    rows: tuple[Row, ...]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.verdict] = out.get(row.verdict, 0) + 1
        return out

    def to_json(self) -> str:
        payload = {
            "counts": self.counts(),
            "steps": [
                {
                    "id": row.step.id,
                    "label": row.step.label,
                    "actor": row.step.actor,
                    "surface": row.step.surface,
                    "text": row.step.text,
                    "verdict": row.verdict,
                    "reason": row.step.reason,
                    "tests": [asdict(t) | {"steps": list(t.steps)} for t in row.tests],
                }
                for row in self.rows
            ],
        }
        return json.dumps(payload, ensure_ascii=False, indent=2)

    def to_markdown(self) -> str:
        counts = ", ".join(f"{v}: {n}" for v, n in sorted(self.counts().items()))
        lines = [
            "# Compliance matrix — ご利用までの流れ",
            "",
            f"Steps: {len(self.rows)} ({counts})",
            "",
            "| step | manual | actor | surface | verdict | tests |",
            "|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            if row.verdict == "n/a":
                tests = f"out of scope: {row.step.reason}"
            else:
                tests = "<br>".join(f"{t.outcome}: `{t.nodeid}`" for t in row.tests) or "—"
            text = row.step.text.replace("|", "\\|")
            lines.append(
                f"| {row.step.id} | {row.step.label} {text} | {row.step.actor} | "
                f"{row.step.surface} | **{row.verdict}** | {tests} |"
            )
        return "\n".join(lines) + "\n"


_VERDICT_COLOURS = {
    "pass": "#1e7e34",
    "fail": "#c0392b",
    "broken": "#d68910",
    "not covered": "#5d6d7e",
    "n/a": "#95a5a6",
}


def matrix_html(matrix: Matrix) -> str:
    """A self-contained HTML page of the matrix (no scripts, no external resources)."""
    counts = ", ".join(f"{v}: {n}" for v, n in sorted(matrix.counts().items()))
    rows = []
    for row in matrix.rows:
        colour = _VERDICT_COLOURS[row.verdict]
        if row.verdict == "n/a":
            tests = f"out of scope: {html.escape(row.step.reason or '')}"
        else:
            tests = (
                "<br>".join(
                    f"{html.escape(t.outcome)}: <code>{html.escape(t.nodeid)}</code>"
                    + (f"<br><small>{html.escape(t.message)}</small>" if t.message else "")
                    for t in row.tests
                )
                or "—"
            )
        rows.append(
            f"<tr><td>{html.escape(row.step.id)}</td>"
            f"<td>{html.escape(row.step.label)} {html.escape(row.step.text)}</td>"
            f"<td>{html.escape(row.step.actor)}</td><td>{html.escape(row.step.surface)}</td>"
            f'<td style="color:{colour};font-weight:bold">{row.verdict}</td>'
            f"<td class=t>{tests}</td></tr>"
        )
    return (
        '<!doctype html><html lang="ja"><meta charset="utf-8">'
        "<title>Compliance matrix — ご利用までの流れ</title><style>"
        "body{font-family:sans-serif;margin:24px;font-size:13px;color:#1d2733}"
        "table{border-collapse:collapse}td,th{border:1px solid #c9d3df;padding:4px 6px;"
        "vertical-align:top}th{background:#0d3c8c;color:#fff;text-align:left}"
        "td.t{font-size:11px;color:#456}code{font-size:11px}</style>"
        "<h1>Compliance matrix — ご利用までの流れ</h1>"
        f"<p>Steps: {len(matrix.rows)} ({html.escape(counts)})</p>"
        "<table><tr><th>step</th><th>manual</th><th>actor</th><th>surface</th>"
        "<th>verdict</th><th>tests</th></tr>" + "".join(rows) + "</table></html>\n"
    )


def verdict_of(step: StepInfo, tests: Sequence[CaseResult]) -> Verdict:
    if not step.in_scope:
        return "n/a"
    ran = [t for t in tests if t.outcome != "skipped"]
    if any(t.outcome == "broken" for t in ran):
        return "broken"
    if any(t.outcome == "failed" for t in ran):
        return "fail"
    if ran:
        return "pass"
    return "not covered"


def build_matrix(steps: Iterable[StepInfo], results: Iterable[CaseResult]) -> Matrix:
    """Map every step to its tests; a test naming an unknown step id is a ValueError."""
    steps = list(steps)
    results = list(results)
    known = {s.id for s in steps}
    unknown = sorted({sid for r in results for sid in r.steps if sid not in known})
    if unknown:
        raise ValueError(f"tests name unknown manual steps: {', '.join(unknown)}")
    rows = []
    for step in steps:
        tests = tuple(r for r in results if step.id in r.steps)
        rows.append(Row(step=step, verdict=verdict_of(step, tests), tests=tests))
    return Matrix(rows=tuple(rows))
