"""The compliance matrix: every manual step → the flows and checks that verify it → a verdict.

Pure data in, documents out (stdlib only). One matrix is made per tenant and target (several
tenants in one run → one matrix each plus an index, :func:`index_documents`).

Each test result (a suite flow, a behaviour check, or one of the project's tests marked
``manual_step``) has an outcome, classified like Allure does: ``passed``; ``failed`` (the target
deviates: ``ConformanceFailure``/``AssertionError`` in the test body); ``broken`` (the harness
failed); ``skipped`` (the target lacks a capability, reason named); ``n/a`` (the tenant has
nothing for it to do, reason named). Verdicts per step, in order of precedence:

- ``out_of_scope`` the catalog says no harness can perform the step (its reason is shown)
- ``broken``       some test of the step could not run properly (Allure *broken*)
- ``failed``       some test of the step found the target deviating (Allure *failed*)
- ``pass``         every test of the step that ran passed (at least one ran)
- ``skipped``      none ran: each was skipped for a missing capability (the reasons are shown)
- ``n/a``          none ran: the tenant has nothing for the step (the reasons are shown)
- ``not covered``  no flow or check names the step — shown, never counted as passing
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

Outcome = Literal["passed", "failed", "broken", "skipped", "n/a"]
Verdict = Literal["pass", "failed", "broken", "skipped", "n/a", "out_of_scope", "not covered"]
#: What a result is: a flow of the suite, a behaviour check of the suite, or another test.
CaseKind = Literal["flow", "check", "test"]

OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "broken", "skipped", "n/a")
VERDICTS: tuple[Verdict, ...] = (
    "pass",
    "failed",
    "broken",
    "skipped",
    "n/a",
    "out_of_scope",
    "not covered",
)


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
    """One test's outcome and the manual steps it names.

    ``name`` is the flow name or the check id (the node id for other tests); ``message`` the
    first line of the failure, or the reason of a skip / n/a; ``evidence`` paths or URLs of
    the files recorded for it (screenshots, ladders, timelines).
    """

    nodeid: str
    outcome: Outcome
    steps: tuple[str, ...]
    message: str | None = None
    kind: CaseKind = "test"
    name: str | None = None
    requirement: str | None = None
    tenant: str | None = None
    target: str | None = None
    evidence: tuple[str, ...] = ()
    #: Steps a flow declares but did not perform: it had nothing to do for them for this tenant
    #: (e.g. P.2 *1 without a 接続エラー). Listed under those steps as *n/a*, never as a pass.
    not_run: tuple[str, ...] = ()

    def for_step(self, step_id: str) -> CaseResult:
        """This result as it counts for ``step_id``: n/a where the flow did not perform it."""
        if step_id in self.not_run and self.outcome == "passed":
            return replace(
                self, outcome="n/a", message="the flow had nothing to do for this step here"
            )
        return self

    @property
    def display(self) -> str:
        return f"{self.kind} {self.name}" if self.name and self.kind != "test" else self.nodeid

    def as_json(self) -> dict[str, object]:
        return {
            "nodeid": self.nodeid,
            "kind": self.kind,
            "name": self.name,
            "outcome": self.outcome,
            "steps": list(self.steps),
            "message": self.message,
            "requirement": self.requirement,
            "evidence": list(self.evidence),
            "not_run": list(self.not_run),
        }

    def as_record(self) -> dict[str, object]:
        """Everything of the result, for ``results.json`` (:func:`load_results` reads it)."""
        return self.as_json() | {"tenant": self.tenant, "target": self.target}


@dataclass(frozen=True, kw_only=True)
class Row:
    step: StepInfo
    verdict: Verdict
    tests: tuple[CaseResult, ...] = field(default_factory=tuple)

    @property
    def reason(self) -> str | None:
        """Why the step has no pass/fail verdict: the catalog's or its tests' reasons."""
        if self.verdict == "out_of_scope":
            return self.step.reason
        if self.verdict in ("skipped", "n/a"):
            reasons = dict.fromkeys(t.message for t in self.tests if t.message)
            return "; ".join(r for r in reasons if r) or None
        return None


@dataclass(frozen=True, kw_only=True)
class Matrix:
    rows: tuple[Row, ...]
    tenant: str | None = None
    target: str | None = None
    #: Prefix of evidence paths (relative to the reports folder) as seen from the matrix's
    #: own folder: ``../`` for a tenant's ``<tenant>/compliance.*``.
    link_base: str = ""

    @property
    def title(self) -> str:
        parts = [
            p
            for p in (
                self.tenant and f"tenant {self.tenant}",
                self.target and f"target {self.target}",
            )
            if p
        ]
        suffix = f" ({', '.join(parts)})" if parts else ""
        return f"Compliance matrix — ご利用までの流れ{suffix}"

    def counts(self) -> dict[str, int]:
        """Steps per verdict."""
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.verdict] = out.get(row.verdict, 0) + 1
        return out

    def results(self) -> tuple[CaseResult, ...]:
        """Every distinct test result of the matrix, in first-seen order."""
        seen: dict[str, CaseResult] = {}
        for row in self.rows:
            for test in row.tests:
                seen.setdefault(test.nodeid, test)
        return tuple(seen.values())

    def outcome_counts(self) -> dict[str, int]:
        """Tests (flows and checks) per outcome."""
        out: dict[str, int] = {}
        for test in self.results():
            out[test.outcome] = out.get(test.outcome, 0) + 1
        return out

    def to_json(self) -> str:
        payload = {
            "tenant": self.tenant,
            "target": self.target,
            "counts": self.counts(),
            "outcomes": self.outcome_counts(),
            "steps": [
                {
                    "id": row.step.id,
                    "label": row.step.label,
                    "actor": row.step.actor,
                    "surface": row.step.surface,
                    "text": row.step.text,
                    "verdict": row.verdict,
                    "reason": row.reason,
                    "tests": [t.as_json() for t in row.tests],
                }
                for row in self.rows
            ],
        }
        return json.dumps(payload, ensure_ascii=False, indent=2)

    def to_markdown(self) -> str:
        lines = [
            f"# {self.title}",
            "",
            f"Steps: {len(self.rows)} ({_counts_text(self.counts())}); "
            f"flows and checks: {len(self.results())} ({_counts_text(self.outcome_counts())})",
            "",
            "| step | manual | actor | surface | verdict | flows and checks |",
            "|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            cells = [_md_test(t, self.link_base) for t in row.tests]
            if row.reason:
                cells.insert(0, f"{row.verdict}: {row.reason}")
            text = row.step.text.replace("|", "\\|")
            tests = "<br>".join(c.replace("|", "\\|") for c in cells) or "—"
            lines.append(
                f"| {row.step.id} | {row.step.label} {text} | {row.step.actor} | "
                f"{row.step.surface} | **{row.verdict}** | {tests} |"
            )
        return "\n".join(lines) + "\n"


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())) or "none"


def link(evidence: str, base: str) -> str:
    """An evidence path as a link from a matrix ``base`` folders below the reports folder:
    URLs and absolute paths as they are, paths relative to the reports folder prefixed."""
    if "://" in evidence or evidence.startswith("/"):
        return evidence
    return base + evidence


def _md_test(test: CaseResult, base: str) -> str:
    text = f"{test.outcome}: `{test.display}`"
    if test.message and test.outcome in ("failed", "broken", "skipped", "n/a"):
        text += f" — {test.message}"
    links = " ".join(f"[evidence {i}]({link(e, base)})" for i, e in enumerate(test.evidence, 1))
    return f"{text} {links}".rstrip()


_VERDICT_COLOURS: dict[str, str] = {
    "pass": "#1e7e34",
    "passed": "#1e7e34",
    "failed": "#c0392b",
    "broken": "#d68910",
    "skipped": "#7d6608",
    "n/a": "#95a5a6",
    "out_of_scope": "#95a5a6",
    "not covered": "#5d6d7e",
}

_STYLE = (
    "body{font-family:sans-serif;margin:24px;font-size:13px;color:#1d2733}"
    "table{border-collapse:collapse}td,th{border:1px solid #c9d3df;padding:4px 6px;"
    "vertical-align:top}th{background:#0d3c8c;color:#fff;text-align:left}"
    "td.t{font-size:11px;color:#456}code{font-size:11px}"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="ja"><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_STYLE}</style><h1>{html.escape(title)}</h1>{body}</html>\n"
    )


def _html_test(test: CaseResult, base: str) -> str:
    colour = _VERDICT_COLOURS[test.outcome]
    text = (
        f'<span style="color:{colour}">{html.escape(test.outcome)}</span>: '
        f"<code>{html.escape(test.display)}</code>"
    )
    if test.requirement:
        text += f"<br><small>requires: {html.escape(test.requirement)}</small>"
    if test.message and test.outcome != "passed":
        text += f"<br><small>{html.escape(test.message)}</small>"
    for i, path in enumerate(test.evidence, 1):
        text += f' <a href="{html.escape(link(path, base), quote=True)}">evidence {i}</a>'
    return text


def matrix_html(matrix: Matrix) -> str:
    """A self-contained HTML page of the matrix (no scripts, no external resources)."""
    rows = []
    for row in matrix.rows:
        colour = _VERDICT_COLOURS[row.verdict]
        cells = [_html_test(t, matrix.link_base) for t in row.tests]
        if row.reason:
            cells.insert(0, f"{html.escape(row.verdict)}: {html.escape(row.reason)}")
        rows.append(
            f"<tr><td>{html.escape(row.step.id)}</td>"
            f"<td>{html.escape(row.step.label)} {html.escape(row.step.text)}</td>"
            f"<td>{html.escape(row.step.actor)}</td><td>{html.escape(row.step.surface)}</td>"
            f'<td style="color:{colour};font-weight:bold">{html.escape(row.verdict)}</td>'
            f"<td class=t>{'<br>'.join(cells) or '—'}</td></tr>"
        )
    body = (
        f"<p>Steps: {len(matrix.rows)} ({html.escape(_counts_text(matrix.counts()))}); "
        f"flows and checks: {len(matrix.results())} "
        f"({html.escape(_counts_text(matrix.outcome_counts()))})</p>"
        "<table><tr><th>step</th><th>manual</th><th>actor</th><th>surface</th>"
        "<th>verdict</th><th>flows and checks</th></tr>" + "".join(rows) + "</table>"
    )
    return _page(matrix.title, body)


def verdict_of(step: StepInfo, tests: Sequence[CaseResult]) -> Verdict:
    if not step.in_scope:
        return "out_of_scope"
    outcomes = {t.outcome for t in tests}
    for outcome, verdict in (
        ("broken", "broken"),
        ("failed", "failed"),
        ("passed", "pass"),
        ("skipped", "skipped"),
        ("n/a", "n/a"),
    ):
        if outcome in outcomes:
            return verdict  # type: ignore[return-value]
    return "not covered"


def build_matrix(
    steps: Iterable[StepInfo],
    results: Iterable[CaseResult],
    *,
    tenant: str | None = None,
    target: str | None = None,
) -> Matrix:
    """Map every step to its tests; a test naming an unknown step id is a ValueError.

    Flows are listed before checks under each step, then other tests, each in run order.
    """
    steps = list(steps)
    order = {"flow": 0, "check": 1, "test": 2}
    results = sorted(results, key=lambda r: order[r.kind])
    known = {s.id for s in steps}
    unknown = sorted({sid for r in results for sid in r.steps if sid not in known})
    if unknown:
        raise ValueError(f"tests name unknown manual steps: {', '.join(unknown)}")
    rows = []
    for step in steps:
        tests = tuple(r.for_step(step.id) for r in results if step.id in r.steps)
        rows.append(Row(step=step, verdict=verdict_of(step, tests), tests=tests))
    base = "" if tenant is None else "../"
    return Matrix(rows=tuple(rows), tenant=tenant, target=target, link_base=base)


@dataclass(frozen=True, kw_only=True)
class IndexEntry:
    """One matrix of a run, as the index lists it (``path`` relative to the index)."""

    matrix: Matrix
    path: str


def index_documents(entries: Sequence[IndexEntry]) -> dict[str, str]:
    """The run's index of matrices: ``{"index.json": …, "index.md": …, "index.html": …}``."""
    title = "Compliance matrices — ご利用までの流れ"
    payload = [
        {
            "tenant": e.matrix.tenant,
            "target": e.matrix.target,
            "path": e.path,
            "counts": e.matrix.counts(),
            "outcomes": e.matrix.outcome_counts(),
        }
        for e in entries
    ]
    md = [
        f"# {title}",
        "",
        "| tenant | target | steps | flows and checks | matrix |",
        "|---|---|---|---|---|",
    ]
    rows = []
    for e in entries:
        m = e.matrix
        md.append(
            f"| {m.tenant} | {m.target} | {_counts_text(m.counts())} | "
            f"{_counts_text(m.outcome_counts())} | [{e.path}.md]({e.path}.md) |"
        )
        rows.append(
            f"<tr><td>{html.escape(m.tenant or '—')}</td><td>{html.escape(m.target or '—')}</td>"
            f"<td>{html.escape(_counts_text(m.counts()))}</td>"
            f"<td>{html.escape(_counts_text(m.outcome_counts()))}</td>"
            f'<td><a href="{html.escape(e.path, quote=True)}.html">matrix</a></td></tr>'
        )
    body = (
        '<p><a href="allure-report/index.html">Allure report</a> (steps with their '
        "evidence: screenshots, SIP ladders, timelines)</p>"
        "<table><tr><th>tenant</th><th>target</th><th>steps</th><th>flows and checks</th>"
        "<th>matrix</th></tr>" + "".join(rows) + "</table>"
    )
    return {
        "index.json": json.dumps(payload, ensure_ascii=False, indent=2),
        "index.md": "\n".join(md) + "\n",
        "index.html": _page(title, body),
    }


def results_json(results: Iterable[CaseResult]) -> str:
    """Every result of a run as JSON (``results.json``): what ``report`` re-renders from."""
    return json.dumps([r.as_record() for r in results], ensure_ascii=False, indent=2)


def load_results(text: str, *, source: str) -> list[CaseResult]:
    """Read ``results.json``; ValueError naming ``source`` and the entry when it is not one."""
    try:
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise TypeError("not a list")
        return [_result(row) for row in rows]
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{source}: not a results.json written by the harness ({error})") from None


def _result(row: dict[str, object]) -> CaseResult:
    def text(name: str) -> str | None:
        value = row.get(name)
        return None if value is None else str(value)

    outcome = str(row["outcome"])
    kind = str(row.get("kind", "test"))
    if outcome not in OUTCOMES or kind not in ("flow", "check", "test"):
        raise ValueError(f"bad outcome {outcome!r} or kind {kind!r} in {row.get('nodeid')!r}")
    steps = row.get("steps", [])
    evidence = row.get("evidence", [])
    not_run = row.get("not_run", [])
    if not all(isinstance(v, list) for v in (steps, evidence, not_run)):
        raise TypeError(f"steps, evidence and not_run of {row.get('nodeid')!r} must be lists")
    assert isinstance(steps, list) and isinstance(evidence, list) and isinstance(not_run, list)
    return CaseResult(
        nodeid=str(row["nodeid"]),
        outcome=outcome,
        steps=tuple(str(s) for s in steps),
        message=text("message"),
        kind=kind,  # type: ignore[arg-type]
        name=text("name"),
        requirement=text("requirement"),
        tenant=text("tenant"),
        target=text("target"),
        evidence=tuple(str(e) for e in evidence),
        not_run=tuple(str(s) for s in not_run),
    )


#: Every classified result of a run, written beside the matrices (``report`` reads it).
RESULTS_FILE = "results.json"
#: The matrix of tests that name no tenant (the project's own tests).
NO_TENANT = "—"


def matrices(steps: Sequence[StepInfo], results: Iterable[CaseResult]) -> list[Matrix]:
    """One matrix per tenant (tests naming no tenant: one matrix with ``tenant`` None); with
    no result at all, one matrix of the catalog (every step ``not covered``)."""
    by_tenant: dict[str, list[CaseResult]] = {}
    for result in results:
        by_tenant.setdefault(result.tenant or NO_TENANT, []).append(result)
    out = []
    for tenant, group in by_tenant.items():
        targets = ", ".join(dict.fromkeys(r.target for r in group if r.target)) or None
        out.append(
            build_matrix(
                steps, group, tenant=None if tenant == NO_TENANT else tenant, target=targets
            )
        )
    return out or [build_matrix(steps, [])]


def write_matrices(directory: Path, found: Sequence[Matrix]) -> list[Path]:
    """Write each matrix into ``directory`` (a tenant's into ``<tenant>/``) as
    ``compliance.{json,md,html}``, and ``index.{json,md,html}`` when tenants are named;
    returns the JSON files."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    entries: list[IndexEntry] = []
    for matrix in found:
        folder = directory if matrix.tenant is None else directory / safe_name(matrix.tenant)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "compliance.json").write_text(matrix.to_json(), encoding="utf-8")
        (folder / "compliance.md").write_text(matrix.to_markdown(), encoding="utf-8")
        (folder / "compliance.html").write_text(matrix_html(matrix), encoding="utf-8")
        written.append(folder / "compliance.json")
        if matrix.tenant is not None:
            entries.append(IndexEntry(matrix=matrix, path=f"{folder.name}/compliance"))
    if entries:
        for name, text in index_documents(entries).items():
            (directory / name).write_text(text, encoding="utf-8")
    return written


def safe_name(name: str) -> str:
    """A tenant name as one folder name (path separators and leading dots replaced)."""
    cleaned = re.sub(r"[/\\\x00]", "_", name).lstrip(".")
    return cleaned or "_"
