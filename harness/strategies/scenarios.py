"""Hypothesis strategies of call scenarios (``harness.model.scenario``) on a tenant.

:func:`scenarios` picks any caller (an extension or a carrier-side number), digits that hit
every rule of destination resolution (full and bare 内線番号, pilots, 外線番号, external
numbers, 184/186 prefixes, digits that are nothing), a behaviour for most endpoints
(registered / unregistered / busy, answer after a delay or never, reject after a delay),
pickups and a give-up time.
"""

from __future__ import annotations

from hypothesis import strategies as st

from harness.guide.types import ForwardAbsence, Tenant
from harness.model import EndpointBehaviour, EndpointState, Pickup, Scenario
from harness.strategies.settings import OUTSIDE
from harness.strategies.tenants import dense_tenants, tenants

__all__ = ["lines_of", "numbers_in_settings", "scenarios", "tenants_and_scenarios"]

#: Seconds an endpoint may wait before answering / rejecting once it rings, and the caller
#: before giving up: past every timer of DOMAIN.md's ranges (60 s) and the model's defaults.
ANSWER_AFTER = (0, 40)
REJECT_AFTER = (1, 30)
GIVES_UP = (10, 150)
PICKUP_AT = (0, 60)


def numbers_in_settings(tenant: Tenant) -> list[str]:
    """Every 転送先 and 接続先 of the tenant's 不在時動作 (so scenarios give them behaviours)."""
    found: list[str] = []
    for absence in tenant.settings.absence.values():
        if isinstance(absence, ForwardAbsence):
            found.append(absence.forward_to or "")
        else:
            found += [absence.reach_number_1, absence.reach_number_2 or ""]
    return sorted({n.replace("-", "") for n in found if n})


def lines_of(tenant: Tenant) -> list[str]:
    """The tenant's 外線番号."""
    return [line.external_number for line in tenant.guide.external_lines]


def behaviours() -> st.SearchStrategy[EndpointBehaviour]:
    """One endpoint's behaviour: registered most often, any state, answer / reject delays."""
    return st.builds(
        EndpointBehaviour,
        state=st.sampled_from([EndpointState.REGISTERED] * 2 + list(EndpointState)),
        answer_after=st.none() | st.integers(*ANSWER_AFTER).map(float) | st.just(7.5),
        reject_after=st.none() | st.none() | st.integers(*REJECT_AFTER).map(float),
    )


@st.composite
def scenarios(draw: st.DrawFn, tenant: Tenant, *, outside: tuple[str, ...] = OUTSIDE) -> Scenario:
    """A call on ``tenant``: any caller (inside or one of ``outside``), digits that hit every
    rule of destination resolution, behaviours for most endpoints, maybe pickups and a give-up
    time."""
    extensions = [t.extension for t in tenant.guide.terminals]
    reachable = sorted(set(outside) | set(numbers_in_settings(tenant)))
    caller = draw(st.sampled_from(extensions + list(outside)))
    bare = [t.terminal_number for t in tenant.guide.terminals]
    dialled = draw(st.sampled_from(extensions + bare + lines_of(tenant) + reachable + ["999"]))
    prefix = draw(st.sampled_from(["", "", "", "184", "186"]))
    endpoints: dict[str, EndpointBehaviour] = {}
    for number in sorted(set(extensions + reachable)):
        if draw(st.integers(0, 3)) == 0:
            continue  # default: registered, never answers
        endpoints[number] = draw(behaviours())
    pickups = tuple(
        Pickup(by=by, at=float(at))
        for by, at in draw(
            st.lists(st.tuples(st.sampled_from(extensions), st.integers(*PICKUP_AT)), max_size=2)
        )
    )
    gives_up = draw(st.none() | st.integers(*GIVES_UP).map(float))
    return Scenario(
        caller=caller,
        dialled=prefix + dialled,
        endpoints=endpoints,
        pickups=pickups,
        caller_gives_up_after=gives_up,
    )


@st.composite
def tenants_and_scenarios(draw: st.DrawFn) -> tuple[Tenant, Scenario]:
    """A dense tenant, or a valid tenant of any numbering, and a call on it."""
    tenant = draw(dense_tenants() | tenants(max_extensions=8))
    return tenant, draw(scenarios(tenant))
