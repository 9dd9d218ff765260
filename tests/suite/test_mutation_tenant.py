"""``mutation``'s default tenant: built by ``harness.strategies.tenants.rich_tenants`` so every
area the faults touch has a behaviour that shows, judged by the checks the suite derives
(``mutation.rich``) — for every tenant the strategy draws, not only the first one."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from harness.guide.dump import documents
from harness.guide.types import Tenant
from harness.strategies.tenants import rich_tenants
from harness.suite import mutation


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rich_tenants())
def test_every_rich_tenant_has_a_check_that_shows_each_area(tenant: Tenant) -> None:
    assert mutation.rich(tenant)


def test_the_default_tenant_is_the_same_on_every_call() -> None:
    first, again = mutation.generated_tenant(), mutation.generated_tenant()
    assert documents(first) == documents(again)
    assert mutation.rich(first)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rich_tenants())
def test_the_oldest_pickup_check_rings_a_newer_call_apart_from_the_checked_one(
    tenant: Tenant,
) -> None:
    from harness.guide.types import GroupKind
    from harness.model import predict
    from harness.suite.derive import derive_checks

    (check,) = [c for c in derive_checks(tenant) if c.id.endswith(":oldest")]
    (pickup,) = check.scenario.pickups
    group = next(g for g in tenant.settings.ring_groups if g.kind is GroupKind.PICKUP)
    (newer,) = check.background
    used = {e.endpoint for e in predict(tenant, check.scenario).events}
    # the newer call rings another member of the same group, on phones the model leaves alone
    assert newer.callee in group.members and pickup.by in group.members
    assert not {newer.caller, newer.callee} & (used | {check.scenario.caller})
    # the checked call is answered by the pickup: the oldest call is the one taken
    assert predict(tenant, check.scenario).answered_by == pickup.by
