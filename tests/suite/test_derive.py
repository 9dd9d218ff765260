"""``derive_checks``: every row of a tenant's settings has its checks, on the bundled tenants and
on generated ones; ids are unique and stable; every scenario predicts; steps and needs hold."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given

from harness.errors import InputError
from harness.flows.calls import ANSWER_AFTER, QUIET, quiet_instant
from harness.flows.catalog import step_by_id
from harness.guide import ForwardAbsence, GroupKind, Tenant, load_tenant
from harness.guide.types import Action, TerminalKind
from harness.model import (
    EndpointState,
    Event,
    EventKind,
    Outcome,
    Timeline,
    predict,
    scenario_problems,
)
from harness.sip.app import Platform
from harness.strategies.tenants import dense_tenants as model_tenants
from harness.strategies.tenants import tenants as guide_tenants
from harness.suite.derive import (
    BehaviourCheck,
    Bounds,
    CheckKind,
    derive_checks,
    scenario_checks,
)
from harness.suite.plan import bundled_guides, load_tenants
from harness.target.model import Capability
from harness.target.phones import platform_for, platforms_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容"
BUNDLED = ("sample", "multisite", "domain-examples", "large")
PBX_KINDS = {
    CheckKind.GROUP,
    CheckKind.PICKUP,
    CheckKind.INBOUND,
    CheckKind.OUTBOUND,
    CheckKind.ABSENCE,
    CheckKind.REACH,
}
#: The apps each 端末種別 runs (DOMAIN.md "Terminal kinds": a smartphone runs the Android or the
#: iPhone app, a softphone the Windows PC app; IP Phone / VoIP-GW no app).
APPS = {
    TerminalKind.SMARTPHONE: {Platform.ANDROID, Platform.IPHONE},
    TerminalKind.SOFTPHONE: {Platform.WINDOWS},
    TerminalKind.IP_PHONE: {Platform.IP_PHONE},
    TerminalKind.VOIP_GW: {Platform.IP_PHONE},
}


@pytest.fixture(scope="module", params=BUNDLED)
def bundled(request: pytest.FixtureRequest) -> Tenant:
    return load_tenant(FIXTURES / request.param)


def ids(checks: tuple[BehaviourCheck, ...]) -> set[str]:
    return {c.id for c in checks}


def has_caller(tenant: Tenant, number: str) -> bool:
    """Someone can call ``number``: another extension, or a line routed to it."""
    return len(tenant.extensions) > 1 or any(
        r.destination == number for r in tenant.settings.inbound_routes
    )


def assert_every_app_of_every_terminal_is_checked(
    tenant: Tenant, checks: tuple[BehaviourCheck, ...]
) -> None:
    """Each terminal registers with every app its 端末種別 runs (the default app under the
    plain id), and a call joins each ordered pair of apps two different terminals can run."""
    registered: dict[str, set[Platform]] = {}
    for check in checks:
        if check.kind == CheckKind.REGISTER:
            ((extension, platform),) = check.platforms.items()
            registered.setdefault(extension, set()).add(platform)
    apps = {t.extension: APPS[t.terminal_kind] for t in tenant.guide.terminals}
    assert registered == apps
    found = ids(checks)
    for terminal in tenant.guide.terminals:
        assert f"register:{terminal.extension}" in found
        default = next(c for c in checks if c.id == f"register:{terminal.extension}")
        assert default.platforms == {terminal.extension: platform_for(terminal.terminal_kind)}
    possible = {
        (a, b)
        for x, caller_apps in apps.items()
        for y, callee_apps in apps.items()
        if x != y
        for a in caller_apps
        for b in callee_apps
    }
    paired = set()
    for check in checks:
        if check.kind == CheckKind.CALL:
            caller, callee = check.scenario.caller, check.scenario.dialled
            assert set(check.platforms) == {caller, callee}, check.id
            paired.add((check.platforms[caller], check.platforms[callee]))
    assert paired == possible
    assert len([c for c in checks if c.kind == CheckKind.CALL]) == len(possible) <= 16


def assert_every_row_has_its_checks(tenant: Tenant, checks: tuple[BehaviourCheck, ...]) -> None:
    assert_every_app_of_every_terminal_is_checked(tenant, checks)
    found = ids(checks)
    by_id = {c.id: c for c in checks}
    for group in tenant.settings.ring_groups:
        if group.kind is GroupKind.PICKUP:
            outside = [e for e in tenant.extensions if e not in group.members]
            plain = [
                m
                for m in group.members
                if tenant.absence_of(m) is None and tenant.group_with_pilot(m) is None
            ]
            if outside and plain:
                assert f"pickup:{group.members[0]}:pickup" in found
            continue
        pilot = group.pilot
        if not has_caller(tenant, str(pilot)):
            continue
        if group.kind is GroupKind.SIMULTANEOUS:
            assert f"group:{pilot}:simultaneous-first-answers" in found
            assert f"group:{pilot}:simultaneous-no-answer" in found
        else:
            order = by_id[f"group:{pilot}:sequential-order"]
            if [m for m in group.members if m != order.scenario.caller]:
                assert f"group:{pilot}:sequential-skip-unregistered" in found
                assert f"group:{pilot}:sequential-skip-busy" in found
    for route in tenant.settings.inbound_routes:
        assert f"inbound:{route.external_number}" in found
    prefixed: set[str] = set()
    for row in tenant.settings.outbound_caller_ids:
        assert f"outbound:{row.extension}" in found
        if row.caller_id not in prefixed:
            assert {f"outbound:{row.extension}:184", f"outbound:{row.extension}:186"} <= found
            prefixed.add(row.caller_id)
    for extension, absence in tenant.settings.absence.items():
        if not has_caller(tenant, extension):
            continue
        if not isinstance(absence, ForwardAbsence):
            assert f"reach:{extension}:legs" in found
        elif absence.actions.unconditional is not Action.NONE:
            assert f"absence:{extension}:unconditional" in found
        else:
            for state in ("busy", "unreachable", "no-answer"):
                assert f"absence:{extension}:{state}" in found


def assert_checks_are_sound(tenant: Tenant, checks: tuple[BehaviourCheck, ...]) -> None:
    assert len(ids(checks)) == len(checks), Counter(c.id for c in checks).most_common(3)
    for check in checks:
        assert check.steps and check.requirement and check.title, check.id
        for extension, platform in check.platforms.items():
            assert platform in platforms_for(tenant.terminal_for(extension).terminal_kind)
        for step in check.steps:
            step_by_id(step)  # KeyError names the unknown step
        assert scenario_problems(tenant, check.scenario, source=check.id) == []
        timeline = predict(tenant, check.scenario)
        involved = {check.scenario.caller, *check.scenario.endpoints}
        involved |= {e.endpoint for e in timeline.events}
        external = any(not tenant.has_extension(n) for n in involved)
        assert (Capability.CARRIER in check.needs) is (
            external or check.kind in (CheckKind.INBOUND, CheckKind.OUTBOUND)
        ), check.id
        if check.kind in PBX_KINDS:
            assert Capability.PBX_FEATURES in check.needs, check.id
        # a lapsing terminal is one the scenario makes unregistered: the model never rings it
        for lapsed in check.lapsed:
            assert check.kind == CheckKind.LAPSE, check.id
            assert check.scenario.behaviour(lapsed).state is EndpointState.UNREGISTERED
            assert not any(
                e.kind is EventKind.RING and e.endpoint == lapsed for e in timeline.events
            ), check.id
        # an endpoint told to answer is one the model rings (the check proves it was reached),
        # at least ANSWER_AFTER after it started ringing
        for endpoint, behaviour in check.scenario.endpoints.items():
            if behaviour.answer_after is not None and check.kind != CheckKind.SCENARIO:
                assert behaviour.answer_after >= ANSWER_AFTER, check.id
                assert any(
                    e.kind is EventKind.RING and e.endpoint == endpoint for e in timeline.events
                ), check.id


def test_bundled_tenants_have_a_check_for_every_row(bundled: Tenant) -> None:
    checks = derive_checks(bundled)
    assert_every_row_has_its_checks(bundled, checks)
    assert_checks_are_sound(bundled, checks)


def test_ids_are_stable_from_the_same_documents(bundled: Tenant) -> None:
    again = load_tenant(FIXTURES / bundled.name)
    assert derive_checks(bundled) == derive_checks(again)


def test_sample_checks_are_the_documents_promises() -> None:
    tenant = load_tenant(FIXTURES / "sample")
    checks = {c.id: c for c in derive_checks(tenant)}
    # 20201 (plain) is rung by 20200 and answers; nothing but SIP is needed
    register = checks["register:20201"]
    assert (register.scenario.caller, register.scenario.dialled) == ("20200", "20201")
    assert register.needs == ()
    assert checks["call:android->windows"].steps == ("P3-S3-11", "P5-S3-12")
    # the スマートフォン 20200 also runs the iPhone app (P.4 ⑧: the キーボード tab)
    iphone = checks["register:20200:iphone"]
    assert iphone.platforms == {"20200": Platform.IPHONE}
    assert iphone.steps == ("P4-S3-8",) and "3G/LTEで通話可能" in iphone.title
    assert iphone.scenario == checks["register:20200"].scenario
    assert checks["call:iphone->windows"].platforms == {
        "20200": Platform.IPHONE,
        "20201": Platform.WINDOWS,
    }
    # one スマートフォン only: no call between two smartphone apps
    assert not {"call:android->iphone", "call:iphone->android"} & set(checks)
    # 184 withholds the caller ID the far end sees, 186 presents it
    withheld = predict(tenant, checks["outbound:20200:184"].scenario)
    presented = predict(tenant, checks["outbound:20200:186"].scenario)
    assert [e.caller_id for e in withheld.events if e.kind is EventKind.RING] == ["非通知"]
    assert [e.caller_id for e in presented.events if e.kind is EventKind.RING] == ["0312345678"]
    pickup = predict(tenant, checks["pickup:20200:pickup"].scenario)
    assert pickup.answered_by == "20201"
    # one lapse check per tenant, on the plain 20201 that 20200's call rings when registered
    assert [c.id for c in checks.values() if c.kind == CheckKind.LAPSE] == ["register-lapse:20201"]
    lapse = checks["register-lapse:20201"]
    assert lapse.lapsed == ("20201",)
    assert (lapse.scenario.caller, lapse.scenario.dialled) == ("20200", "20201")
    assert lapse.steps == checks["register:20201"].steps


def test_bounds_cap_each_table() -> None:
    tenant = load_tenant(FIXTURES / "large")
    capped = derive_checks(tenant, bounds=Bounds(rows_per_table=1))
    kinds = Counter(c.kind for c in capped)
    assert kinds[CheckKind.INBOUND] == 1
    assert sum(1 for c in capped if c.id.startswith("outbound:") and c.id.count(":") == 1) == 1
    # terminals are never capped: one check per terminal and app it runs
    apps = sum(len(platforms_for(t.terminal_kind)) for t in tenant.guide.terminals)
    assert kinds[CheckKind.REGISTER] == apps > len(tenant.extensions)
    assert len(capped) < len(derive_checks(tenant))


@given(guide_tenants(max_extensions=6))
def test_generated_tenants_have_a_check_for_every_row(tenant: Tenant) -> None:
    checks = derive_checks(tenant)
    assert_every_row_has_its_checks(tenant, checks)
    assert_checks_are_sound(tenant, checks)


@given(model_tenants())
def test_model_tenants_with_forwarding_chains_derive_soundly(tenant: Tenant) -> None:
    checks = derive_checks(tenant)
    assert_every_row_has_its_checks(tenant, checks)
    assert_checks_are_sound(tenant, checks)


def test_answers_keep_clear_of_the_other_events_of_the_call() -> None:
    # シングルナンバーリーチ: X rings at 0, 接続先1 at 1 s, 接続先2 at 3 s, all stop at 30 s
    unanswered = Timeline(
        events=(
            Event(t=0, kind=EventKind.RING, endpoint="20200", caller_id="20201"),
            Event(t=1, kind=EventKind.RING, endpoint="09011112222", caller_id="0312345678"),
            Event(t=3, kind=EventKind.RING, endpoint="0311112222", caller_id="0312345678"),
            Event(t=30, kind=EventKind.STOP, endpoint="20200"),
        ),
        outcome=Outcome.RELEASED,
    )
    at = quiet_instant(unanswered, "20200", 0)
    assert at >= ANSWER_AFTER and min(abs(at - t) for t in (1, 3, 30)) >= QUIET
    # no quiet instant while it rings (stopped at 3 s): the farthest one from the others
    crowded = Timeline(
        events=(
            Event(t=0, kind=EventKind.RING, endpoint="20200", caller_id="20201"),
            Event(t=3, kind=EventKind.STOP, endpoint="20200"),
        ),
        outcome=Outcome.RELEASED,
    )
    assert quiet_instant(crowded, "20200", 0) == ANSWER_AFTER


def test_the_default_guides_are_the_bundled_tenants() -> None:
    assert [p.name for p in bundled_guides()] == sorted(BUNDLED)


def test_a_bad_scenario_file_is_named_with_the_tenant(tmp_path: Path) -> None:
    folder = tmp_path / "sample"
    shutil.copytree(FIXTURES / "sample", folder)
    (folder / "scenarios" / "typo.yaml").write_text(
        'call: {from: "29999", to: "20200"}\n', encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"sample/scenarios/typo.yaml › call › from"):
        load_tenants([folder])
    checks = scenario_checks(load_tenant(FIXTURES / "sample"), FIXTURES / "sample")
    assert [c.id for c in checks] == [
        f"scenario:{p.stem}" for p in sorted((FIXTURES / "sample" / "scenarios").glob("*.yaml"))
    ]


def test_digits_the_numbering_plan_translates_need_the_pbx() -> None:
    # A plain SIP proxy (Kamailio) routes a full 内線番号 only: a bare 端末番号 or a 184
    # prefix is the PBX's to translate, so those calls need PBX features.
    tenant = load_tenant(FIXTURES / "sample")
    checks = {c.id: c for c in scenario_checks(tenant, FIXTURES / "sample")}
    assert checks["scenario:bare-terminal-number"].scenario.dialled == "201"
    assert checks["scenario:bare-terminal-number"].needs == (Capability.PBX_FEATURES,)
    assert checks["scenario:outbound-184"].scenario.dialled.startswith("184")
    assert Capability.PBX_FEATURES in checks["scenario:outbound-184"].needs
    assert {c.id: c.needs for c in derive_checks(tenant)}["register:20201"] == ()
