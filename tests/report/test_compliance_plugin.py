"""The pytest plugin's manual_step marker and --compliance-dir, run through pytester."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest

@pytest.mark.manual_step("P3-S2-6", "P3-S2-7")
def test_pass():
    assert True

@pytest.mark.manual_step("P3-S2-7")
def test_fail():
    assert 1 == 2

@pytest.mark.manual_step("P3-S2-9")
def test_broken():
    raise RuntimeError("peer crashed")

@pytest.mark.manual_step("P3-S2-10")
def test_skipped():
    pytest.skip("not today")

@pytest.fixture
def bad_fixture():
    raise OSError("no port")

@pytest.mark.manual_step("P4-S2-5")
def test_setup_error(bad_fixture):
    pass
"""


def test_plugin_classifies_outcomes_like_allure_and_writes_the_matrix(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_steps=TESTS)
    out = pytester.path / "reports"
    # In-process runs nest inside this test: pytest-playwright's soft-assertion scope refuses
    # to nest, and the inner tests use no browser.
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-p", "no:playwright", f"--compliance-dir={out}"
    )
    result.assert_outcomes(passed=1, failed=2, skipped=1, errors=1)
    payload = json.loads((out / "compliance.json").read_text(encoding="utf-8"))
    verdicts = {s["id"]: s["verdict"] for s in payload["steps"]}
    assert verdicts["P3-S2-6"] == "pass"
    assert verdicts["P3-S2-7"] == "fail"
    assert verdicts["P3-S2-9"] == "broken"
    assert verdicts["P3-S2-10"] == "not covered"
    assert verdicts["P4-S2-5"] == "broken"
    assert verdicts["P3-S1-1"] == "n/a"
    assert verdicts["P2-S1-1"] == "not covered"
    assert "**fail**" in (out / "compliance.md").read_text(encoding="utf-8")
    page = (out / "compliance.html").read_text(encoding="utf-8")
    assert "AssertionError: assert 1 == 2" in page and "P3-S2-7" in page


def test_unknown_step_id_stops_collection_with_a_suggestion(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_typo="""
import pytest

@pytest.mark.manual_step("P3-S2-66")
def test_x():
    pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:playwright")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown manual steps*", "*P3-S2-66*did you mean P3-S2-6,*"])
