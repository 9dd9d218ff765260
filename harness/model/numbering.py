"""Numbers of one tenant: what dialled digits reach, and which caller ID goes with them.

DOMAIN.md "Numbering and accounts": 内線番号 = 拠点番号 + 端末番号; within one 拠点 the bare
端末番号 reaches the extension (A). "Call routing semantics" rule 1 (destination) and rule 7
(caller ID): digits that are no extension or pilot and start with 0 are an external number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.errors import Problem
from harness.guide import (
    ForwardAbsence,
    GroupKind,
    RingGroup,
    SingleNumberReach,
    Tenant,
)
from harness.model.params import ModelParams
from harness.model.scenario import Scenario


class Target(StrEnum):
    EXTENSION = "extension"
    GROUP = "group"
    EXTERNAL = "external"


@dataclass(frozen=True, kw_only=True)
class Destination:
    """What dialled digits reach: an extension, a ring group (by pilot) or an external number."""

    target: Target
    number: str


class TenantIndex:
    """Lookup tables over one tenant's guide and settings, built once per prediction."""

    def __init__(self, tenant: Tenant) -> None:
        settings = tenant.settings
        self.site_of: dict[str, str] = {}
        self.by_site_terminal: dict[tuple[str, str], str] = {}
        for terminal in tenant.guide.terminals:
            self.site_of[terminal.extension] = terminal.site_number
            self.by_site_terminal[(terminal.site_number, terminal.terminal_number)] = (
                terminal.extension
            )
        self.groups: dict[str, RingGroup] = {}
        self.pickup_group: dict[str, tuple[str, ...]] = {}
        for group in settings.ring_groups:
            if group.kind is GroupKind.PICKUP:
                for member in group.members:
                    self.pickup_group[member] = tuple(group.members)
            elif group.pilot is not None:
                self.groups[group.pilot] = group
        self.outbound: dict[str, str] = {
            row.extension: _digits(row.caller_id) for row in settings.outbound_caller_ids
        }
        self.inbound: dict[str, str] = {
            _digits(row.external_number): row.destination for row in settings.inbound_routes
        }
        self.absence: dict[str, ForwardAbsence | SingleNumberReach] = dict(settings.absence)
        #: Every 外線番号 of the guide, routed or not: the PSTN delivers each to this tenant.
        self.own_lines: frozenset[str] = frozenset(
            _digits(line.external_number) for line in tenant.guide.external_lines
        )

    def is_extension(self, number: str) -> bool:
        return number in self.site_of or number in self.groups

    def resolve(
        self, digits: str, *, site: str | None, params: ModelParams, dialled: bool = True
    ) -> Destination | None:
        """Rule 1: the full 内線番号 (or pilot), else the bare 端末番号 within ``site``, else an
        external number when it starts with 0; None when the digits reach nothing.

        ``dialled``: the digits were dialled by an extension (or are its 転送先), where
        ``internal_pilot_starts_group`` applies; a 外線着信設定 to a pilot always starts the
        group (S)."""
        extension: str | None = None
        if self.is_extension(digits):
            extension = digits
        elif site is not None and params.bare_terminal_number_within_site:
            extension = self.by_site_terminal.get((site, digits))
        if extension is not None:
            if extension in self.groups and (params.internal_pilot_starts_group or not dialled):
                return Destination(target=Target.GROUP, number=extension)
            return Destination(target=Target.EXTENSION, number=extension)
        if digits.startswith("0"):
            return Destination(target=Target.EXTERNAL, number=digits)
        return None


_INDEX_CACHE: dict[int, tuple[Tenant, TenantIndex]] = {}
_INDEX_CACHE_SIZE = 16


def index_of(tenant: Tenant) -> TenantIndex:
    """The tenant's lookup tables, memoised: tenants are frozen, and building the tables is
    most of the cost of a prediction on a large tenant (benchmarks/bench_model.py). The cache
    holds the tenant itself, so an ``id`` is never reused while its entry lives."""
    entry = _INDEX_CACHE.get(id(tenant))
    if entry is not None and entry[0] is tenant:
        return entry[1]
    if len(_INDEX_CACHE) >= _INDEX_CACHE_SIZE:
        del _INDEX_CACHE[next(iter(_INDEX_CACHE))]
    index = TenantIndex(tenant)
    _INDEX_CACHE[id(tenant)] = (tenant, index)
    return index


def strip_prefix(digits: str, params: ModelParams) -> tuple[str, bool | None]:
    """Rule 7: a leading 184 withholds (True), 186 presents (False), else None (default)."""
    withhold, present = params.withhold_prefix, params.present_prefix
    if withhold and digits.startswith(withhold) and len(digits) > len(withhold):
        return digits[len(withhold) :], True
    if present and digits.startswith(present) and len(digits) > len(present):
        return digits[len(present) :], False
    return digits, None


def _digits(number: str) -> str:
    return number.replace("-", "")


def scenario_problems(tenant: Tenant, scenario: Scenario, *, source: str) -> list[Problem]:
    """What in ``scenario`` names extensions ``tenant`` does not have (the model itself is total:
    it routes any digits; these checks catch typos in scenario files)."""
    index = TenantIndex(tenant)
    known = ", ".join(sorted(index.site_of))
    problems: list[Problem] = []

    def check(number: str, where: str) -> None:
        if number and not number.startswith("0") and not index.is_extension(number):
            problems.append(
                Problem(
                    where=f"{source} › {where}",
                    rule=f"must be an extension of tenant {tenant.name} ({known}) or an "
                    "external number starting with 0",
                    value=number,
                )
            )

    check(scenario.caller, "call › from")
    for endpoint in scenario.endpoints:
        check(endpoint, f"endpoints › {endpoint}")
    for row, pickup in enumerate(scenario.pickups, start=1):
        if not index.is_extension(pickup.by):
            problems.append(
                Problem(
                    where=f"{source} › pickups › row {row} › by",
                    rule=f"must be an extension of tenant {tenant.name} ({known})",
                    value=pickup.by,
                )
            )
    return problems
