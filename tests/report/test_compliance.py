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
        (("skipped",), "not covered"),
        (("passed",), "pass"),
        (("passed", "skipped"), "pass"),
        (("passed", "failed"), "fail"),
        (("failed", "broken"), "broken"),
        (("passed", "broken"), "broken"),
    ],
)
def test_verdict_precedence(outcomes: tuple[str, ...], expected: str) -> None:
    results = [result(f"t{i}", o, "A") for i, o in enumerate(outcomes)]
    matrix = build_matrix([step("A")], results)
    assert matrix.rows[0].verdict == expected
    assert len(matrix.rows[0].tests) == len(outcomes)


def test_out_of_scope_step_is_na_whatever_its_tests() -> None:
    matrix = build_matrix([step("X", in_scope=False)], [result("t", "failed", "X")])
    assert matrix.rows[0].verdict == "n/a"
    assert "out of scope: app store" in matrix.to_markdown()


def test_unknown_step_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown manual steps: NOPE"):
        build_matrix([step("A")], [result("t", "passed", "A", "NOPE")])


def test_one_test_feeds_every_step_it_names_and_documents_agree() -> None:
    matrix = build_matrix(
        [step("A"), step("B"), step("C")],
        [result("t::one", "passed", "A", "B"), result("t::two", "failed", "B")],
    )
    assert [r.verdict for r in matrix.rows] == ["pass", "fail", "not covered"]
    assert matrix.counts() == {"pass": 1, "fail": 1, "not covered": 1}
    payload = json.loads(matrix.to_json())
    assert [s["verdict"] for s in payload["steps"]] == ["pass", "fail", "not covered"]
    assert payload["steps"][1]["tests"][1]["nodeid"] == "t::two"
    markdown = matrix.to_markdown()
    assert "| B | P.9 B text of B | 端末ご利用者 | web | **fail** |" in markdown


def test_html_page_escapes_and_colours_verdicts() -> None:
    matrix = build_matrix(
        [step("A<b>"), step("B", in_scope=False)], [result("t::<x>", "failed", "A<b>")]
    )
    page = matrix_html(matrix)
    assert "A&lt;b&gt;" in page and "t::&lt;x&gt;" in page and "<b>" not in page
    assert 'style="color:#c0392b;font-weight:bold">fail<' in page
    assert "out of scope: app store" in page
