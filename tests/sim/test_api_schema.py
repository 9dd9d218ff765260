"""schemathesis against the provisioning API's own OpenAPI document, over real HTTP.

Every operation, with generated valid and invalid bodies and parameters, sent with the bearer
token the document declares: never a 5xx, the status code is one the document declares, the
content type and body match the declared schema.
(``positive_data_acceptance`` is not checked: a schema-valid 設定 document may still break a
DOMAIN.md rule — an unknown 代表番号 — and is rightly refused with 422.)
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sim.api import OPENAPI

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


@pytest.fixture(scope="module")
def api_sim() -> Iterator[SimulatorHandle]:
    """A simulator of its own: the API changes state."""
    with start_simulator() as handle:
        yield handle


def test_served_document_is_the_tested_one(api_sim: SimulatorHandle) -> None:
    # Public, without the token: a client learns how to authenticate from it.
    assert httpx.get(f"{api_sim.base_url}/api/openapi.json").json() == OPENAPI


def _has_input(label: str) -> bool:
    method, path = label.split(" ", 1)
    spec = OPENAPI["paths"][path][method.lower()]
    return "requestBody" in spec or "parameters" in spec


# Negative cases exist only for operations that take input.
CASES = [(label, GenerationMode.POSITIVE) for label in sorted(OPERATIONS)] + [
    (label, GenerationMode.NEGATIVE) for label in sorted(OPERATIONS) if _has_input(label)
]


# schemathesis's own pytest integration does not run on this pytest; drive its strategies with
# Hypothesis directly, one test per operation and generation mode.
@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{lb}-{m.value}" for lb, m in CASES])
def test_api_conforms_to_its_openapi_document(
    api_sim: SimulatorHandle, label: str, mode: GenerationMode
) -> None:
    operation = OPERATIONS[label]

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        bearer = f"Bearer {api_sim.api_token}"
        response = case.call_and_validate(
            base_url=api_sim.base_url, headers={"Authorization": bearer}, checks=CHECKS
        )
        # 401 exactly when the request did not carry the token (negative cases mutate the
        # declared security away too): a 401 for a request with it would make every check above
        # vacuous, a 2xx without it would be a hole.
        sent = response.request.headers.get("Authorization")
        assert (response.status_code == 401) == (sent != bearer), (sent, response.text)

    check()
