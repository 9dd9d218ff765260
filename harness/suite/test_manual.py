"""One test per flow of harness.flows (every step of ご利用までの流れ), per tenant.

A flow runs prepare → act → evidence → check for each of its steps (harness.flows.step); here
the suite checks that it ran exactly what it declares: every step it ran is one of its steps,
and a passing flow ran all of them (a step it has nothing to do for raises NotApplicable, and
the verdict is n/a). A flow the target cannot support is skipped with the capability named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.errors import HarnessError
from harness.flows.context import FlowContext
from harness.suite.conftest import allure_labels
from harness.suite.plan import SuiteTenant
from harness.suite.verdicts import verdicts

if TYPE_CHECKING:
    from harness.flows.step import Flow


def test_flow(
    suite_tenant: SuiteTenant,
    suite_flow: Flow,
    manual_context: FlowContext,
    request: pytest.FixtureRequest,
) -> None:
    allure_labels(
        epic=suite_flow.section,
        feature=suite_flow.name,
        title=f"{suite_tenant.key}: {suite_flow.name}",
        description=suite_flow.requirement,
    )
    with verdicts(request.node):
        manual_context.require(*suite_flow.needs)
        suite_flow.run(manual_context)
    ran = list(dict.fromkeys(manual_context.executed))
    undeclared = [s for s in ran if s not in suite_flow.steps]
    skipped = [s for s in suite_flow.steps if s not in ran]
    if undeclared or skipped:
        raise HarnessError(
            f"flow {suite_flow.name!r} ({suite_flow.module}) ran steps it does not declare "
            f"{undeclared} and did not run declared steps {skipped}: fix its @flow(steps=…) "
            "or raise NotApplicable for a step it has nothing to do for"
        )
