"""Differential: for the fixture tenants' scenarios (fixtures/ご利用内容/*/scenarios) and any
parameter set — and for the model's generated tenants and scenarios — the simulator's call
engine on a ManualClock produces the reference model's timeline: event for event, with caller
IDs, outcome and who answered. The phones are played by tests/sim/pbx/agreement.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given

from harness.guide import Tenant, load_tenant
from harness.model import DEFAULT_PARAMS, ModelParams, Scenario, load_scenario, predict
from harness.strategies.params import model_params
from harness.strategies.scenarios import tenants_and_scenarios
from tests.sim.pbx.agreement import canonical, observe, pbx_params

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "ご利用内容"


def _cases() -> list[tuple[str, Tenant, Scenario]]:
    cases = []
    for folder in sorted(FIXTURES.iterdir()):
        files = sorted((folder / "scenarios").glob("*.yaml"))
        if not files:
            continue
        tenant = load_tenant(folder)
        for path in files:
            scenario = load_scenario(path)
            if not scenario.pickups:  # several calls: tests/sim/pbx/test_pbx.py
                cases.append((f"{folder.name}/{path.stem}", tenant, scenario))
    return cases


CASES = _cases()


def _agree(tenant: Tenant, scenario: Scenario, params: ModelParams) -> None:
    expected = canonical(predict(tenant, scenario, params))
    observed = observe(
        tenant, scenario, pbx_params(params), gives_up_after=params.caller_gives_up_after
    )
    assert observed == expected


def test_cases_were_found() -> None:
    assert len(CASES) >= 20, [name for name, _, _ in CASES]


@pytest.mark.parametrize(("name", "tenant", "scenario"), CASES, ids=[c[0] for c in CASES])
def test_engine_agrees_with_the_model_by_default(
    name: str, tenant: Tenant, scenario: Scenario
) -> None:
    _agree(tenant, scenario, DEFAULT_PARAMS)


@pytest.mark.parametrize(("name", "tenant", "scenario"), CASES, ids=[c[0] for c in CASES])
@given(params=model_params())
def test_engine_agrees_with_the_model_for_any_parameters(
    name: str, tenant: Tenant, scenario: Scenario, params: ModelParams
) -> None:
    _agree(tenant, scenario, params)


@given(tenant_and_scenario=tenants_and_scenarios(), params=model_params())
def test_engine_agrees_with_the_model_on_generated_tenants(
    tenant_and_scenario: tuple[Tenant, Scenario], params: ModelParams
) -> None:
    """The model's own generators (every group kind, every 不在時動作, forwarding loops, any
    numbering), pickups left out."""
    tenant, scenario = tenant_and_scenario
    _agree(tenant, dataclasses.replace(scenario, pickups=()), params)
