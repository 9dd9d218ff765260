"""One test per flow of harness.flows (every step of ご利用までの流れ), per tenant.

A flow runs prepare → act → evidence → check for each of its steps (harness.flows.step); here
the suite checks that every step it ran is one of its steps. A declared step it did not perform
(nothing to do for this tenant, e.g. P.2 *1 without a 接続エラー) is recorded as ``not_run``:
the matrix lists the flow under that step as *n/a*, never as a pass. A flow with nothing to do
at all raises NotApplicable (verdict n/a). A flow the target cannot support is skipped with
the capability named.
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
        title=f"{suite_tenant.key}: {suite_flow.name}",
        description=suite_flow.requirement,
    )
    with verdicts(request.node):
        manual_context.require(*suite_flow.needs)
        suite_flow.run(manual_context)
    ran = list(dict.fromkeys(manual_context.executed))
    undeclared = [s for s in ran if s not in suite_flow.steps]
    if undeclared or not ran:
        raise HarnessError(
            f"flow {suite_flow.name!r} ({suite_flow.module}) ran steps it does not declare "
            f"{undeclared} (or none at all: {ran}): fix its @flow(steps=…), or raise "
            "NotApplicable when it has nothing to do for this tenant"
        )
    not_run = [s for s in suite_flow.steps if s not in ran]
    if not_run:
        # Nothing to do for these steps here: the matrix shows them n/a for this flow.
        request.node.user_properties.append(("not_run", " ".join(not_run)))
