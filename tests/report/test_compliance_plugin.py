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
    assert verdicts["P3-S2-7"] == "failed"
    assert verdicts["P3-S2-9"] == "broken"
    assert verdicts["P3-S2-10"] == "skipped"
    assert verdicts["P4-S2-5"] == "broken"
    assert verdicts["P3-S1-1"] == "out_of_scope"
    assert verdicts["P2-S1-1"] == "not covered"
    markdown = (out / "compliance.md").read_text(encoding="utf-8")
    assert "**failed**" in markdown and "skipped: not today" in markdown
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


# What the conformance suite records (docs/suite.md "Recorded properties"), two tenants.
SUITE_CONFTEST = """
def pytest_collection_modifyitems(items):
    for item in items:
        tenant = item.callspec.params["tenant"]
        item.user_properties += [("tenant", tenant), ("target", "embedded")]
        if item.originalname == "test_flow":
            item.user_properties += [("flow", "p2-admin-login"), ("steps", "P2-S1-1 P2-S1-3")]
        elif item.originalname == "test_check":
            item.user_properties += [("check", f"ring-group:{tenant}"), ("steps", ["P2-S2-3"]),
                                     ("requirement", "members ring in order")]
        else:
            item.user_properties += [("flow", "p4-iphone"), ("steps", "P4-S2-6")]
"""

SUITE_TESTS = """
import pytest

TENANTS = ["acme", "beta"]

@pytest.mark.parametrize("tenant", TENANTS)
def test_flow(tenant):
    assert True

@pytest.mark.parametrize("tenant", TENANTS)
def test_check(tenant, record_property):
    record_property("evidence", f"evidence/{tenant}/timeline.txt")
    if tenant == "beta":
        raise AssertionError("20201 never rang, model says at t=0")

@pytest.mark.parametrize("tenant", TENANTS)
def test_iphone(tenant, request):
    if tenant == "acme":
        request.node.user_properties += [("verdict", "n/a"), ("reason", "no iPhone terminal")]
        pytest.skip("n/a: no iPhone terminal")
    pytest.skip("needs web")
"""


@pytest.mark.parametrize("workers", [None, "2"], ids=["serial", "xdist -n 2"])
def test_suite_properties_make_one_matrix_per_tenant_also_under_xdist(
    pytester: pytest.Pytester, workers: str | None
) -> None:
    # Before: report._harness_excinfo (an ExceptionInfo) on the report made pytest-xdist fail to
    # serialise any failing test (DumpError, INTERNALERROR), and the matrix was built from
    # worker-side hooks, so the controller wrote an empty one.
    pytester.makeconftest(SUITE_CONFTEST)
    pytester.makepyfile(test_suite=SUITE_TESTS)
    out = pytester.path / "reports"
    args = ["-p", "no:cacheprovider", f"--compliance-dir={out}"]
    if workers:
        args += ["-n", workers]
    result = pytester.runpytest_subprocess(*args)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=3, failed=1, skipped=2)
    assert not (out / "compliance.json").exists()  # every test names its tenant
    acme = json.loads((out / "acme" / "compliance.json").read_text(encoding="utf-8"))
    beta = json.loads((out / "beta" / "compliance.json").read_text(encoding="utf-8"))
    assert (acme["tenant"], acme["target"]) == ("acme", "embedded")
    v_acme = {s["id"]: (s["verdict"], s["reason"]) for s in acme["steps"]}
    v_beta = {s["id"]: (s["verdict"], s["reason"]) for s in beta["steps"]}
    assert v_acme["P2-S1-1"] == v_acme["P2-S1-3"] == ("pass", None)
    assert v_acme["P2-S2-3"] == ("pass", None)
    assert v_beta["P2-S2-3"] == ("failed", None)
    assert v_acme["P4-S2-6"] == ("n/a", "no iPhone terminal")
    assert v_beta["P4-S2-6"] == ("skipped", "needs web")
    check = next(s for s in beta["steps"] if s["id"] == "P2-S2-3")["tests"][0]
    assert check["kind"] == "check" and check["name"] == "ring-group:beta"
    assert check["message"] == "AssertionError: 20201 never rang, model says at t=0"
    assert check["evidence"] == ["evidence/beta/timeline.txt"]
    assert beta["outcomes"] == {"passed": 1, "failed": 1, "skipped": 1}
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [(e["tenant"], e["path"]) for e in index] == [
        ("acme", "acme/compliance"),
        ("beta", "beta/compliance"),
    ]
    page = (out / "beta" / "compliance.html").read_text(encoding="utf-8")
    assert "requires: members ring in order" in page
    assert 'href="../evidence/beta/timeline.txt"' in page  # relative to the reports folder
