from __future__ import annotations

import json

import pytest

from harness.report.compliance import CaseResult, StepInfo, build_matrix, matrix_html


def step(step_id: str, *, in_scope: bool = True) -> StepInfo:
    return StepInfo(
        id=step_id,
        label=f"P.9 {step_id}",
        actor="端末ご利用者",
        surface="web",
        text=f"text of {step_id}",
        in_scope=in_scope,
        reason=None if in_scope else "app store",
    )


def result(nodeid: str, outcome: str, *steps: str) -> CaseResult:
    return CaseResult(nodeid=nodeid, outcome=outcome, steps=steps)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ((), "not covered"),
        (("skipped",), "skipped"),
        (("n/a",), "n/a"),
        (("n/a", "skipped"), "skipped"),
        (("passed",), "pass"),
        (("passed", "skipped"), "pass"),
        (("passed", "n/a"), "pass"),
        (("passed", "failed"), "failed"),
        (("failed", "broken"), "broken"),
        (("passed", "broken"), "broken"),
    ],
)
def test_verdict_precedence(outcomes: tuple[str, ...], expected: str) -> None:
    results = [result(f"t{i}", o, "A") for i, o in enumerate(outcomes)]
    matrix = build_matrix([step("A")], results)
    assert matrix.rows[0].verdict == expected
    assert len(matrix.rows[0].tests) == len(outcomes)


def test_out_of_scope_step_keeps_its_reason_whatever_its_tests() -> None:
    matrix = build_matrix([step("X", in_scope=False)], [result("t", "failed", "X")])
    assert matrix.rows[0].verdict == "out_of_scope"
    assert "out_of_scope: app store" in matrix.to_markdown()


def test_skipped_and_na_steps_show_their_reasons() -> None:
    results = [
        CaseResult(nodeid="a", outcome="skipped", steps=("A",), message="needs web"),
        CaseResult(nodeid="b", outcome="skipped", steps=("A",), message="needs web"),
        CaseResult(nodeid="c", outcome="n/a", steps=("B",), message="no iPhone terminal"),
    ]
    matrix = build_matrix([step("A"), step("B")], results)
    assert [(r.verdict, r.reason) for r in matrix.rows] == [
        ("skipped", "needs web"),
        ("n/a", "no iPhone terminal"),
    ]
    assert "skipped: needs web<br>" in matrix.to_markdown()


def test_unknown_step_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown manual steps: NOPE"):
        build_matrix([step("A")], [result("t", "passed", "A", "NOPE")])


def test_one_test_feeds_every_step_it_names_and_documents_agree() -> None:
    matrix = build_matrix(
        [step("A"), step("B"), step("C")],
        [result("t::one", "passed", "A", "B"), result("t::two", "failed", "B")],
    )
    assert [r.verdict for r in matrix.rows] == ["pass", "failed", "not covered"]
    assert matrix.counts() == {"pass": 1, "failed": 1, "not covered": 1}
    assert matrix.outcome_counts() == {"passed": 1, "failed": 1}
    payload = json.loads(matrix.to_json())
    assert [s["verdict"] for s in payload["steps"]] == ["pass", "failed", "not covered"]
    assert payload["steps"][1]["tests"][1]["nodeid"] == "t::two"
    markdown = matrix.to_markdown()
    assert "| B | P.9 B text of B | 端末ご利用者 | web | **failed** |" in markdown


def test_checks_are_listed_under_their_steps_after_the_flows() -> None:
    results = [
        CaseResult(nodeid="c", outcome="passed", steps=("A",), kind="check", name="ring:1"),
        CaseResult(nodeid="f", outcome="passed", steps=("A",), kind="flow", name="p2-admin"),
    ]
    matrix = build_matrix([step("A")], results, tenant="acme", target="embedded")
    assert [t.display for t in matrix.rows[0].tests] == ["flow p2-admin", "check ring:1"]
    assert matrix.to_markdown().startswith(
        "# Compliance matrix — ご利用までの流れ (tenant acme, target embedded)"
    )


def test_html_page_escapes_and_colours_verdicts() -> None:
    matrix = build_matrix(
        [step("A<b>"), step("B", in_scope=False)], [result("t::<x>", "failed", "A<b>")]
    )
    page = matrix_html(matrix)
    assert "A&lt;b&gt;" in page and "t::&lt;x&gt;" in page and "<b>" not in page
    assert 'style="color:#c0392b;font-weight:bold">failed<' in page
    assert "out_of_scope: app store" in page


def test_a_step_a_passing_flow_did_not_perform_is_na_for_it_not_a_pass() -> None:
    flow = CaseResult(
        nodeid="f", outcome="passed", steps=("A", "B"), kind="flow", name="f", not_run=("B",)
    )
    matrix = build_matrix([step("A"), step("B")], [flow])
    assert [row.verdict for row in matrix.rows] == ["pass", "n/a"]
    assert matrix.rows[1].tests[0].outcome == "n/a"
    failed = CaseResult(nodeid="g", outcome="failed", steps=("B",), not_run=("B",))
    assert build_matrix([step("B")], [failed]).rows[0].verdict == "failed"
    record = json.loads(json.dumps(flow.as_record()))
    assert record["not_run"] == ["B"]
