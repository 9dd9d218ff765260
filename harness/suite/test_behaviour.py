"""One test per behaviour check derived from the tenant (harness.suite.derive), and one per
``scenarios/*.yaml`` of the tenant folder: the call is played on the target and what the phones
observe is compared with the reference model (harness.flows.calls.check).

A deviation is *failed* (``TimelineMismatch``, both timelines attached); a phone that never
rang when the model says it must is a failure too, never a ``TimeoutError``; a check whose
capability the target lacks is *skipped* with it named.
"""

from __future__ import annotations

import pytest

from harness.flows.context import FlowContext
from harness.suite import surfaces
from harness.suite.conftest import allure_labels
from harness.suite.derive import BehaviourCheck
from harness.suite.plan import SuitePlan, SuiteTenant
from harness.suite.verdicts import verdicts


def test_check(
    suite_plan: SuitePlan,
    suite_tenant: SuiteTenant,
    suite_check: BehaviourCheck,
    behaviour_context: FlowContext,
    request: pytest.FixtureRequest,
) -> None:
    allure_labels(
        title=f"{suite_tenant.key}: {suite_check.title}",
        description=suite_check.requirement,
    )
    with verdicts(request.node):
        behaviour_context.require(*suite_check.needs)
        surfaces.check_call(
            behaviour_context,
            suite_check.scenario,
            params=suite_plan.params,
            name=suite_check.id,
            platforms=suite_check.platforms,
            background=suite_check.background,
            lapsed=suite_check.lapsed,
        )
