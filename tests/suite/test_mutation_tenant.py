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
