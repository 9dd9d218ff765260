"""The sample tenants load cleanly and mean what their files say (lookups on Tenant)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.guide import (
    Action,
    ForwardAbsence,
    GroupKind,
    SingleNumberReach,
    TerminalKind,
    load_tenant,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容"
TENANTS = sorted(p for p in FIXTURES.iterdir() if (p / "ご利用内容.yaml").exists())


@pytest.mark.parametrize("folder", TENANTS, ids=[p.name for p in TENANTS])
def test_sample_tenant_loads(folder: Path) -> None:
    tenant = load_tenant(folder)
    assert tenant.name == folder.name
    assert tenant.extensions


def test_manual_sample_matches_the_manual() -> None:
    tenant = load_tenant(FIXTURES / "sample")
    assert tenant.guide.customer.sip_domain == "01234abc.smart-pbx.jp"
    assert tenant.extensions == ["20200", "20201"]
    assert tenant.terminal_for("20200").terminal_id == "abcde20200"
    assert tenant.terminal_for("20200").terminal_kind is TerminalKind.SMARTPHONE
    assert tenant.site_of("20201") == "20"
    user = tenant.terminal_user_for("20201")
    assert user is not None and user.login_id == "aaaacccc"
    assert tenant.inbound_destination("0312345678") == "20200"
    assert tenant.caller_id_of("20201") == "0312345678"


def test_multisite_covers_every_option() -> None:
    tenant = load_tenant(FIXTURES / "multisite")
    assert tenant.sites == ["10", "20", "30"]
    assert {len(t.terminal_number) for t in tenant.guide.terminals} == {3}
    assert {t.terminal_kind for t in tenant.guide.terminals} == set(TerminalKind)
    assert {g.kind for g in tenant.settings.ring_groups} == set(GroupKind)
    assert tenant.terminal_for("20200").terminal_kind is TerminalKind.IP_PHONE  # "IP-Phone"
    assert tenant.extension_in_site("30", "100") == "30100"
    assert tenant.extension_in_site("20", "100") is None
    forward = tenant.absence_of("10101")
    assert isinstance(forward, ForwardAbsence)
    assert forward.forward_to == "09011112222"  # hyphens dropped
    assert forward.actions.unconditional is Action.FORWARD
    actions = {
        a
        for ab in tenant.settings.absence.values()
        if isinstance(ab, ForwardAbsence)
        for a in (
            ab.actions.unconditional,
            ab.actions.busy,
            ab.actions.unreachable,
            ab.actions.no_answer,
        )
    }
    assert actions == set(Action)
    reach = tenant.absence_of("30102")
    assert isinstance(reach, SingleNumberReach)  # written シングルナンバーリッチ
    assert reach.kind == "シングルナンバーリーチ"
    assert (reach.reach_number_2, reach.reach_start_2, reach.voicemail) == ("0311112222", 10, True)
    single = tenant.absence_of("30101")
    assert isinstance(single, SingleNumberReach) and single.reach_number_2 is None
    assert single.reach_number_1 == "08033334444"
    pickup = tenant.pickup_group_of("20202")
    assert pickup is not None and pickup.kind is GroupKind.PICKUP
    group = tenant.group_with_pilot("10100")
    assert group is not None and group.members == ["10101", "10102", "10103"]
    assert group.ring_time == 15
    assert tenant.group_with_pilot("20201") is None
    assert tenant.absence_of("10100") is None


def test_large_tenant_is_the_richest() -> None:
    tenant = load_tenant(FIXTURES / "large")
    assert len(tenant.extensions) >= 40
    assert len(tenant.sites) == 4
    assert len(tenant.settings.ring_groups) >= 10
    assert len(tenant.external_numbers) >= 8


def test_terminal_for_unknown_extension_names_it() -> None:
    tenant = load_tenant(FIXTURES / "sample")
    with pytest.raises(KeyError, match="29999"):
        tenant.terminal_for("29999")
    assert not tenant.has_extension("29999")
    assert tenant.terminal_by_id("abcde20201") == tenant.terminal_for("20201")


def test_lookups_follow_model_copy_updates() -> None:
    tenant = load_tenant(FIXTURES / "sample")
    assert tenant.caller_id_of("20200") == "0312345678"  # fills the cache
    bare = tenant.model_copy(update={"settings": tenant.settings.model_copy(update={
        "outbound_caller_ids": [], "ring_groups": []})})  # fmt: skip
    assert bare.caller_id_of("20200") is None
    assert bare.group_with_pilot("20200") is None
    assert tenant.caller_id_of("20200") == "0312345678"
