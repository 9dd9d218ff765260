"""Expectations as data: ``fixtures/ご利用内容/domain-examples/expected/<scenario>.json`` holds
DOMAIN.md's worked timelines in the JSON contract; the model must reproduce each exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.guide import load_tenant
from harness.model import load_scenario, predict

EXAMPLES = Path(__file__).parents[2] / "fixtures" / "ご利用内容" / "domain-examples"
EXPECTED = sorted((EXAMPLES / "expected").glob("*.json"))


def test_every_worked_timeline_has_an_expectation() -> None:
    assert [p.stem for p in EXPECTED] == sorted(p.stem for p in (EXAMPLES / "scenarios").iterdir())
    assert len(EXPECTED) == 3


@pytest.mark.parametrize("expected", EXPECTED, ids=[p.stem for p in EXPECTED])
def test_model_reproduces_the_worked_timeline(expected: Path) -> None:
    tenant = load_tenant(EXAMPLES)
    scenario = load_scenario(EXAMPLES / "scenarios" / f"{expected.stem}.yaml")
    assert predict(tenant, scenario).to_json() == json.loads(expected.read_text("utf-8"))
