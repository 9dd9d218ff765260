"""harness.strategies reaches the whole value space of DOMAIN.md: every corner the issue
names must appear in one derandomized sample of 1,500 draws (a strategy that lost a corner fails
here with the corner named), and every drawn value is valid (it loads back unchanged).
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from harness.guide.dump import documents
from harness.guide.load import load_tenant_text
from harness.guide.types import (
    GROUP_RING_TIME_RANGE,
    Action,
    ForwardAbsence,
    GroupKind,
    SingleNumberReach,
    Tenant,
    TerminalKind,
)
from harness.model import EndpointState, Scenario, parse_scenario, scenario_document
from harness.strategies.scenarios import scenarios, tenants_and_scenarios
from harness.strategies.settings import dense_settings
from harness.strategies.tenants import DENSE_LINES, dense_tenants, guide_of, tenants
from harness.suite.differential import DEFAULT_EXTENSIONS, examples

FIND = settings(max_examples=5000, database=None, suppress_health_check=list(HealthCheck))
#: One derandomized sample in which every corner must appear (one pass, not a search each).
SAMPLE = settings(
    max_examples=1500,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _groups(tenant: Tenant, kind: GroupKind) -> list[int]:
    return [len(g.members) for g in tenant.settings.ring_groups if g.kind is kind]


def _forwards(tenant: Tenant) -> list[ForwardAbsence]:
    return [a for a in tenant.settings.absence.values() if isinstance(a, ForwardAbsence)]


def _reaches(tenant: Tenant) -> list[SingleNumberReach]:
    return [a for a in tenant.settings.absence.values() if isinstance(a, SingleNumberReach)]


def _pilots(tenant: Tenant) -> set[str]:
    return {g.pilot for g in tenant.settings.ring_groups if g.pilot is not None}


TENANT_CORNERS: dict[str, Callable[[Tenant], bool]] = {
    "拠点番号 of 1 digit": lambda t: any(len(x.site_number) == 1 for x in t.guide.terminals),
    "拠点番号 of 11 digits": lambda t: any(len(x.site_number) == 11 for x in t.guide.terminals),
    "端末番号 of 1 digit": lambda t: any(len(x.terminal_number) == 1 for x in t.guide.terminals),
    "端末番号 of 11 digits": lambda t: any(len(x.terminal_number) == 11 for x in t.guide.terminals),
    "a VoIP-GW terminal": lambda t: any(
        x.terminal_kind is TerminalKind.VOIP_GW for x in t.guide.terminals
    ),
    "順次着信 of 1 member": lambda t: 1 in _groups(t, GroupKind.SEQUENTIAL),
    "順次着信 of 4 members": lambda t: 4 in _groups(t, GroupKind.SEQUENTIAL),
    "一斉着信 of 1 member": lambda t: 1 in _groups(t, GroupKind.SIMULTANEOUS),
    "一斉着信 of 4 members": lambda t: 4 in _groups(t, GroupKind.SIMULTANEOUS),
    "コールピックアップ": lambda t: bool(_groups(t, GroupKind.PICKUP)),
    "group 呼出時間 left out": lambda t: any(
        g.pilot and "ring_time" not in g.model_fields_set for g in t.settings.ring_groups
    ),
    "group 呼出時間 60": lambda t: any(
        g.ring_time == GROUP_RING_TIME_RANGE[1] and "ring_time" in g.model_fields_set
        for g in t.settings.ring_groups
    ),
    "外線着信設定 to a pilot": lambda t: any(
        r.destination in _pilots(t) for r in t.settings.inbound_routes
    ),
    "外線着信設定 to an extension that is no pilot": lambda t: any(
        r.destination not in _pilots(t) for r in t.settings.inbound_routes
    ),
    "外線発信設定": lambda t: bool(t.settings.outbound_caller_ids),
    "無条件 留守番電話": lambda t: any(
        a.actions.unconditional is Action.VOICEMAIL for a in _forwards(t)
    ),
    "話中 転送": lambda t: any(a.actions.busy is Action.FORWARD for a in _forwards(t)),
    "圏外 留守番電話": lambda t: any(
        a.actions.unreachable is Action.VOICEMAIL for a in _forwards(t)
    ),
    "無応答 転送 with 呼出時間 5": lambda t: any(
        a.actions.no_answer is Action.FORWARD and a.ring_time == 5 for a in _forwards(t)
    ),
    "無応答 with 呼出時間 30": lambda t: any(a.ring_time == 30 for a in _forwards(t)),
    "every state 設定しない": lambda t: any(
        {a.actions.unconditional, a.actions.busy, a.actions.unreachable, a.actions.no_answer}
        == {Action.NONE}
        for a in _forwards(t)
    ),
    "シングルナンバーリーチ with 接続先番号2, 留守番電話 on": lambda t: any(
        r.reach_number_2 is not None and r.voicemail for r in _reaches(t)
    ),
    "シングルナンバーリーチ 留守番電話 off": lambda t: any(not r.voicemail for r in _reaches(t)),
    "呼出開始時間1 of 1": lambda t: any(r.reach_start_1 == 1 for r in _reaches(t)),
    "呼出開始時間2 of 30": lambda t: any(r.reach_start_2 == 30 for r in _reaches(t)),
    "呼出終了時間 5": lambda t: any(r.reach_end == 5 for r in _reaches(t)),
    "呼出終了時間 60": lambda t: any(r.reach_end == 60 for r in _reaches(t)),
}


def test_the_tenant_strategies_reach_every_corner() -> None:
    seen: set[str] = set()

    @SAMPLE
    @given(tenants() | dense_tenants())
    def draw(tenant: Tenant) -> None:
        seen.update(name for name, corner in TENANT_CORNERS.items() if corner(tenant))

    draw()
    assert sorted(set(TENANT_CORNERS) - seen) == []


def _caller_is_outside(case: tuple[Tenant, Scenario]) -> bool:
    return not case[1].caller.startswith("2")


SCENARIO_CORNERS: dict[str, Callable[[tuple[Tenant, Scenario]], bool]] = {
    "an external caller": _caller_is_outside,
    "184 (withhold)": lambda c: c[1].dialled.startswith("184"),
    "186 (present)": lambda c: c[1].dialled.startswith("186"),
    "a pilot dialled": lambda c: c[1].dialled in _pilots(c[0]),
    "an unregistered endpoint": lambda c: any(
        b.state is EndpointState.UNREGISTERED for b in c[1].endpoints.values()
    ),
    "a busy endpoint": lambda c: any(
        b.state is EndpointState.BUSY for b in c[1].endpoints.values()
    ),
    "an answer delay": lambda c: any(
        b.answer_after is not None and b.answer_after > 0 for b in c[1].endpoints.values()
    ),
    "a reject": lambda c: c[1].rejects,
    "a pickup": lambda c: bool(c[1].pickups),
    "the caller gives up": lambda c: c[1].caller_gives_up_after is not None,
}


def test_the_scenario_strategies_reach_every_corner() -> None:
    seen: set[str] = set()

    @SAMPLE
    @given(tenants_and_scenarios())
    def draw(case: tuple[Tenant, Scenario]) -> None:
        seen.update(name for name, corner in SCENARIO_CORNERS.items() if corner(case))

    draw()
    assert sorted(set(SCENARIO_CORNERS) - seen) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tenants(max_extensions=8) | dense_tenants())
def test_every_drawn_tenant_is_valid_and_loads_back_unchanged(tenant: Tenant) -> None:
    assert load_tenant_text(tenant.name, *documents(tenant)) == tenant


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_scenario_written_as_a_file_reads_back_unchanged(data: st.DataObject) -> None:
    tenant, scenario = data.draw(tenants_and_scenarios())
    assert parse_scenario(scenario_document(scenario)) == scenario


@settings(max_examples=40, deadline=None)
@given(examples(guide_of(list(DEFAULT_EXTENSIONS), lines=DENSE_LINES)))
def test_the_differential_examples_are_valid_settings_of_the_fixed_guide(example: object) -> None:
    from harness.suite.differential import Example

    assert isinstance(example, Example)
    tenant = Tenant(
        name="t",
        guide=guide_of(list(DEFAULT_EXTENSIONS), lines=DENSE_LINES),
        settings=example.settings,
    )
    assert load_tenant_text("t", *documents(tenant)) == tenant


def test_dense_settings_forward_only_inside_the_tenant_or_to_the_carrier_side() -> None:
    guide = guide_of(list(DEFAULT_EXTENSIONS), lines=DENSE_LINES)
    found = find(
        dense_settings(guide),
        lambda s: any(isinstance(a, ForwardAbsence) and a.forward_to for a in s.absence.values()),
        settings=FIND,
    )
    targets = {a.forward_to for a in found.absence.values() if isinstance(a, ForwardAbsence)}
    assert targets - {None} <= set(DEFAULT_EXTENSIONS) | {
        "09011112222",
        "0311112222",
        "08033334444",
    }


def test_scenarios_of_a_tenant_call_from_its_extensions_or_the_outside() -> None:
    tenant = find(dense_tenants(), lambda t: len(t.guide.terminals) >= 3, settings=FIND)
    scenario = find(scenarios(tenant), lambda s: s.caller.startswith("0"), settings=FIND)
    assert scenario.caller in {"09011112222", "0311112222", "08033334444", "09099998888"}
