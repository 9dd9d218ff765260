"""The P.6 端末ユーザ web flows, live on the embedded simulator (login, 多要素認証, 不在時動作),
and onboarding + verify-only on a tenant generated from the documents' strategies."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from harness.flows.applicability import NotApplicable
from harness.flows.settings_diff import SettingsMismatch
from harness.guide import Tenant
from harness.guide.dump import write_tenant
from harness.pytest_plugin.browser import NewContext
from harness.pytest_plugin.sim import SAMPLE_GUIDE, SimulatorHandle
from harness.sip.runtime import Runtime
from harness.strategies.tenants import tenants
from harness.target.model import Capability, MissingCapability
from tests.web.test_web_flows_p2 import FIXTURES, _ctx, onboard_and_verify
from tests.web.web_flows_kit import run_flow

pytestmark = pytest.mark.browser

MULTISITE = FIXTURES / "multisite"


def test_every_user_logs_in_to_its_own_extension(
    sim: SimulatorHandle, new_context: NewContext
) -> None:
    """p6-user-login takes the failure path with one account; every account logs in once, in
    one of the two 不在時動作 flows (its extension has a 不在時動作 or not)."""
    sim.load_tenant(MULTISITE)
    ctx = _ctx(sim, MULTISITE, new_context, changes=False)
    run_flow("p6-user-login", ctx)
    assert ctx.executed == ["P6-S1"]
    logins = 0
    for name in ("p6-absence", "p6-absence-unset"):
        ctx = _ctx(sim, MULTISITE, new_context, changes=False)
        try:
            run_flow(name, ctx)
        except NotApplicable:
            continue
        logins += ctx.executed.count("P6-S1")
    assert logins == len(ctx.tenant.guide.terminal_users) > 1


def test_first_login_with_mfa_registers_an_address_and_uses_the_mailed_code(
    sim: SimulatorHandle, new_context: NewContext
) -> None:
    for _ in range(2):  # the second login: the address is registered, a code is asked at once
        ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=True)
        run_flow("p6-user-login-mfa", ctx)
        assert "P6-S1-mfa" in ctx.executed
        assert sim.api("GET", "/api/mfa")["enabled"] is False  # put back as it was
    codes = [m for m in sim.mail() if "aaaabbbb@smartpbx-harness.test" in m["to"]]
    # Three per run: the login's code; the fresh one the login after a logout asks for (the
    # flow checks that the first code, already used, is refused there, and the fresh one too
    # once its 10 minutes have passed); the one 「再送信」 then sends, which logs in.
    assert len(codes) == 6
    assert len({m["body"] for m in codes}) == 6  # every code a new one


def test_mfa_login_needs_the_mail_capability(sim: SimulatorHandle, new_context: NewContext) -> None:
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=True, mail=False)
    with pytest.raises(MissingCapability) as caught:
        run_flow("p6-user-login-mfa", ctx)
    assert caught.value.capabilities == (Capability.MAIL,)


def test_verify_only_mfa_is_not_applicable_while_the_site_has_it_off(
    sim: SimulatorHandle, new_context: NewContext
) -> None:
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=False)
    with pytest.raises(NotApplicable, match="無効"):
        run_flow("p6-user-login-mfa", ctx)


def test_verify_only_mfa_logs_in_when_the_site_has_it_on(
    sim: SimulatorHandle, new_context: NewContext
) -> None:
    sim.set_mfa(True)
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=False)
    run_flow("p6-user-login-mfa", ctx)
    assert ctx.executed == ["P2-S1-4", "P6-S1-mfa"]
    assert not any(g.refused for g in ctx.guards)


def test_absence_is_not_applicable_without_any(
    sim: SimulatorHandle, new_context: NewContext
) -> None:
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=False)
    with pytest.raises(NotApplicable, match="no extension"):
        run_flow("p6-absence", ctx)


def test_verify_only_names_a_changed_absence(sim: SimulatorHandle, new_context: NewContext) -> None:
    sim.load_tenant(MULTISITE)
    changed = copy.deepcopy(sim.settings())
    changed["不在時動作設定"]["10102"]["呼出時間"] = 25
    sim.put_settings(changed)
    ctx = _ctx(sim, MULTISITE, new_context, changes=False)
    with pytest.raises(SettingsMismatch) as caught:
        run_flow("p6-absence", ctx)
    assert [(d.path, d.expected, d.shown) for d in caught.value.differences] == [
        ("不在時動作設定 › 10102 › 呼出時間", "15", "25")
    ]
    assert "P6-S2-forward" in ctx.executed


def _rich(tenant: Tenant) -> bool:
    """A tenant with work for every web flow: groups, routes, and a 不在時動作 of an extension
    that has a 端末ユーザ account."""
    s = tenant.settings
    reachable = [e for e in s.absence if tenant.terminal_user_for(e) is not None]
    return bool(s.ring_groups and s.inbound_routes and s.outbound_caller_ids and reachable)


@settings(
    max_examples=1,
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(tenant=tenants(min_extensions=3, max_extensions=6, name="generated-web").filter(_rich))
def test_a_generated_tenant_is_onboarded_and_verified(
    sim: SimulatorHandle,
    new_context: NewContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: Tenant,
    sip_runtime: Runtime,
) -> None:
    folder: Path = write_tenant(tenant, tmp_path_factory.mktemp("tenant"))
    onboard_and_verify(sim, folder, new_context, sip_runtime)


def test_the_voicemail_password_the_site_shows_plays_the_message(
    sim: SimulatorHandle, new_context: NewContext, sip_runtime: Runtime
) -> None:
    """multisite's 10102: its 端末ユーザ reads the 留守番電話パスワード on 不在時動作設定, a
    caller leaves a message, and the password entered by DTMF plays it back (verify-only:
    the site is only read)."""
    sim.load_tenant(MULTISITE)
    ctx = _ctx(sim, MULTISITE, new_context, changes=False, runtime=sip_runtime)
    run_flow("p6-voicemail", ctx)
    assert ctx.executed == ["P6-S1", "P6-S2-forward"]
    texts: dict[str, str] = ctx.evidence.texts  # type: ignore[attr-defined]
    (retrieval,) = [body for name, body in texts.items() if name.endswith("retrieval.txt")]
    assert "the message heard" in retrieval
    assert ctx.guards and not any(g.refused for g in ctx.guards)


def test_voicemail_is_not_applicable_without_a_mailbox(
    sim: SimulatorHandle, new_context: NewContext, sip_runtime: Runtime
) -> None:
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=False, runtime=sip_runtime)
    with pytest.raises(NotApplicable, match="no call ends in a 留守番電話"):
        run_flow("p6-voicemail", ctx)
