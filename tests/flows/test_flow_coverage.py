"""The catalog and the flows cover each other (issue 11 item 2): every automated step of the
manual has a step function and is performed by some flow; every flow names catalog steps it
has functions for; an out-of-scope step has a reason and no flow."""

from __future__ import annotations

from harness.flows.catalog import manual_steps
from harness.flows.step import bound_steps, flows


def test_every_automated_step_has_a_step_function() -> None:
    bound = bound_steps()
    missing = [s.id for s in manual_steps() if s.scope == "automated" and s.id not in bound]
    assert not missing, f"automated catalog steps without a @manual_step function: {missing}"


def test_every_automated_step_is_performed_by_a_flow() -> None:
    performed = {step for flow in flows() for step in flow.steps}
    orphans = [s.id for s in manual_steps() if s.scope == "automated" and s.id not in performed]
    assert not orphans, f"automated catalog steps no flow performs: {orphans}"


def test_every_flow_names_steps_that_have_functions() -> None:
    bound = bound_steps()
    for flow in flows():
        assert flow.steps, f"flow {flow.name} names no catalog step"
        unbound = [step for step in flow.steps if step not in bound]
        assert not unbound, f"flow {flow.name} declares steps without a function: {unbound}"


def test_out_of_scope_steps_have_a_reason_and_no_flow() -> None:
    performed = {step for flow in flows() for step in flow.steps}
    for step in manual_steps():
        if step.scope == "out_of_scope":
            assert step.reason, f"{step.id} is out of scope without a reason"
            assert step.id not in performed, f"{step.id} is out of scope but a flow performs it"
