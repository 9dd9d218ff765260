"""``predict``: the reference model's timeline of one call (the oracle).

Pure and deterministic: the same tenant, scenario and parameters always give the same
:class:`~harness.model.timeline.Timeline`. It applies DOMAIN.md "Call routing semantics":

- rule 1 and 7 here: who is calling, what the dialled digits reach (184/186 prefixes, full
  内線番号 or pilot, bare 端末番号 within the caller's 拠点, external numbers with a leading 0,
  外線着信設定 for calls from outside) and the caller ID the first legs show;
- rules 2–7 in :mod:`harness.model.plan` (groups, 転送/留守番電話, シングルナンバーリーチ);
- time, answers, pickups (rule 8) and the caller giving up in :mod:`harness.model.engine`.
"""

from __future__ import annotations

from harness.guide import Tenant
from harness.model.engine import Run
from harness.model.numbering import Destination, Target, TenantIndex, index_of, strip_prefix
from harness.model.params import DEFAULT_PARAMS, InboundCallerId, ModelParams
from harness.model.plan import REFUSED, Planner, Step
from harness.model.scenario import Scenario
from harness.model.timeline import WITHHELD, Timeline


def predict(tenant: Tenant, scenario: Scenario, params: ModelParams = DEFAULT_PARAMS) -> Timeline:
    """The timeline the service should produce for ``scenario`` on ``tenant``."""
    index = index_of(tenant)
    planner = Planner(index, scenario, params)
    return Run(index, planner, scenario, params).run(first_step(index, planner, scenario))


def first_step(index: TenantIndex, planner: Planner, scenario: Scenario) -> Step:
    """Rule 1 (destination) and rule 7 (the caller ID of the first legs)."""
    params = planner.params
    caller = scenario.caller
    site = index.site_of.get(caller)
    digits, withheld = scenario.dialled, None
    if site is None:  # from outside: 外線着信設定 decides
        if digits not in index.inbound:
            digits, withheld = strip_prefix(digits, params)
        return inbound(index, planner, digits, WITHHELD if withheld else caller)
    dest = index.resolve(digits, site=site, params=params)
    if dest is None or dest.target is Target.EXTERNAL:  # an extension is never a prefix
        digits, withheld = strip_prefix(digits, params)
        dest = index.resolve(digits, site=site, params=params)
    if dest is None:
        return REFUSED
    if dest.target is not Target.EXTERNAL:
        return internal(planner, dest, WITHHELD if withheld else caller)
    shown = planner.outbound_caller_id(caller, withheld=bool(withheld))
    if shown is None:  # external call without 外線発信設定
        return REFUSED
    if params.own_number_loops_back and digits in index.own_lines:
        return inbound(index, planner, digits, shown)
    return planner.external(digits, shown)


def inbound(index: TenantIndex, planner: Planner, number: str, caller_id: str) -> Step:
    """A call to one of the tenant's 外線番号: routed by 外線着信設定 (refused when unrouted)."""
    route = index.inbound.get(number)
    if route is None:
        return REFUSED
    if planner.params.inbound_caller_id is InboundCallerId.DIALLED_LINE:
        caller_id = number
    dest = index.resolve(route, site=None, params=planner.params, dialled=False)
    if dest is None or dest.target is Target.EXTERNAL:
        return REFUSED
    return internal(planner, dest, caller_id)


def internal(planner: Planner, dest: Destination, caller_id: str) -> Step:
    if dest.target is Target.GROUP:
        return planner.group(dest.number, caller_id)
    return planner.extension(dest.number, caller_id)
