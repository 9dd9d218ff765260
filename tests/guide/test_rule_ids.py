"""Every rule of the documents has a stable id, and every problem carries one.

The ids are what the settings site and the provisioning API refer to (docs/guide-format.md
lists them); a problem without one could not be worded on the site or compared across the
three ways settings come in (tests/sim/test_one_verdict.py).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.guide import load_tenant, rules

BROKEN = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "broken"
CASES = sorted(p for p in BROKEN.iterdir() if p.is_dir())
DOCS = Path(__file__).resolve().parents[2] / "docs" / "guide-format.md"
_ID = re.compile(r'rule_id="([a-z_.0-9]+)"')
_FIELD_ID = re.compile(r"^field\.[A-Z][A-Za-z]+\.([a-z_0-9]+\.)?[a-z_]+$")


def rule_ids() -> list[str]:
    """The ids written in harness/guide/rules.py, in order."""
    source = inspect.getsource(rules)
    return [*_ID.findall(source), *rules._LENGTH_IDS.values(), rules.STRUCTURE_RULE]


def test_rule_ids_are_unique_and_named_by_table() -> None:
    ids = rule_ids()
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    prefixes = {"guide", "group", "inbound", "outbound", "absence", "document"}
    assert {i.split(".")[0] for i in ids} <= prefixes


def test_every_rule_id_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [i for i in rule_ids() if f"`{i}`" not in text]
    assert not missing, f"docs/guide-format.md does not list {missing}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_problem_of_a_broken_document_has_a_rule_id(case: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_tenant(case)
    known = set(rule_ids())
    for problem in caught.value.problems:
        assert problem.rule_id is not None, problem
        assert problem.rule_id in known or _FIELD_ID.match(problem.rule_id), problem
