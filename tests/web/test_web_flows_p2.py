"""The P.2 administrator web flows, live on the embedded simulator: onboarding from a blank
tenant reaches exactly 設定.yaml, verify-only passes on it and names every setting changed behind
its back, and the verify-only guard lets nothing but login/logout through."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from harness.errors import HarnessError
from harness.flows.context import FlowContext
from harness.flows.p2_admin import route_change
from harness.flows.settings_diff import SettingsMismatch
from harness.flows.web import admin_top, check_guards
from harness.guide import load_tenant
from harness.pytest_plugin.browser import NewContext
from harness.pytest_plugin.sim import SAMPLE_GUIDE, SimulatorHandle
from harness.sip.runtime import Runtime
from tests.web.web_flows_kit import close_clients, flow_context, run_flow

pytestmark = pytest.mark.browser

FIXTURES = SAMPLE_GUIDE.parent
TENANTS = [FIXTURES / "sample", FIXTURES / "multisite"]
ONBOARDING = ("p2-initial-setup", "p6-absence", "p6-absence-unset")


def _ctx(sim: SimulatorHandle, folder: Path, new_context: NewContext, **kw: Any) -> FlowContext:
    return flow_context(sim, load_tenant(folder), folder, lambda: new_context().new_page(), **kw)


def _in_force(ctx: FlowContext) -> list[str]:
    """The calls P.2 ③ placed to show a changed 着信先 in force (their evidence names)."""
    texts: dict[str, str] = ctx.evidence.texts  # type: ignore[attr-defined]
    return sorted({n.split(" — ")[0] for n in texts if n.startswith("外線着信設定 in force")})


def onboard_and_verify(
    sim: SimulatorHandle, folder: Path, new_context: NewContext, runtime: Runtime
) -> None:
    """Blank tenant → the onboarding flows → GET /api/settings is the document; run twice
    (idempotent) and verify-only passes."""
    sim.load_tenant(folder)
    tenant = load_tenant(folder)
    document = sim.settings()  # 設定.yaml as the service holds it
    # 不在時動作 is set on the 端末ユーザ's own page: extensions without an account are out of
    # the site's reach (the flow names them in its evidence).
    absence = document.get("不在時動作設定", {})
    for extension in [e for e in absence if tenant.terminal_user_for(e) is None]:
        del absence[extension]
    sim.put_settings({})
    for _ in range(2):
        ctx = _ctx(sim, folder, new_context, changes=True, runtime=runtime)
        for name in ONBOARDING:
            _run_unless_not_applicable(name, ctx)
        assert _present(sim.settings()) == _present(document)
        if route_change(tenant) is not None:  # a line set elsewhere and back, called each time
            assert len(_in_force(ctx)) == 2, _in_force(ctx)
        # This pass's phones unregister: left registered, the next pass's calls would fork to
        # them as well (a second contact of the same 内線番号) and they answer on their own
        # last schedule, before the phone the check watches.
        close_clients()
    ctx = _ctx(sim, folder, new_context, changes=False)
    for name in ONBOARDING:
        _run_unless_not_applicable(name, ctx)
    assert ctx.guards and not any(g.refused for g in ctx.guards)


def _present(document: dict[str, Any]) -> dict[str, Any]:
    """The document without empty tables (an empty table and an absent one mean the same)."""
    return {key: value for key, value in document.items() if value}


def _run_unless_not_applicable(name: str, ctx: FlowContext) -> None:
    from harness.flows.applicability import NotApplicable

    try:
        run_flow(name, ctx)
    except NotApplicable as reason:
        print(f"{name}: n/a ({reason.reason})")


@pytest.mark.parametrize("folder", TENANTS, ids=lambda p: p.name)
def test_onboarding_reaches_the_tenants_settings_and_verify_only_passes(
    sim: SimulatorHandle, new_context: NewContext, folder: Path, sip_runtime: Runtime
) -> None:
    onboard_and_verify(sim, folder, new_context, sip_runtime)


def test_onboarding_exercises_the_note_on_lines_not_yet_opened(
    sim: SimulatorHandle, new_context: NewContext, sip_runtime: Runtime
) -> None:
    sim.put_settings({})
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=True, runtime=sip_runtime)
    run_flow("p2-initial-setup", ctx)
    # ③: the line set to another extension rang there, set back it rang at 20200 again
    assert _in_force(ctx) == [
        "外線着信設定 in force: 0312345678 → 20200 again",
        "外線着信設定 in force: 0312345678 → 20201",
    ]
    assert ctx.executed == ["P2-S2-1", "P2-S2-2", "P2-S2-3-note1", "P2-S2-3", "P2-S2-4"]
    assert ctx.api is not None
    assert ctx.api.lines == [("0312345678", False), ("0312345678", True)]  # type: ignore[attr-defined]
    assert sim.settings()["外線着信設定"] == [{"外線番号": "0312345678", "着信先": "20200"}]


def test_verify_only_names_every_setting_changed_behind_its_back(
    sim: SimulatorHandle, new_context: NewContext
) -> None:
    changed = copy.deepcopy(sim.settings())
    changed["着信グループ"][0]["メンバー"] = ["20201", "20200"]
    changed["外線発信設定"] = changed["外線発信設定"][:1]
    sim.put_settings(changed)
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=False)
    with pytest.raises(SettingsMismatch) as caught:
        run_flow("p2-initial-setup", ctx)
    paths = {d.path: (d.expected, d.shown) for d in caught.value.differences}
    assert paths == {
        "着信グループ › 1 › メンバー": ("20200、20201", "20201、20200"),
        "外線発信設定 › 20201 › 発信者番号": ("0312345678", ""),
    }
    assert "着信グループ › 1 › メンバー" in str(caught.value)
    assert sim.settings() == changed  # verify-only changed nothing


def test_the_verify_only_guard_refuses_every_change_but_login_and_logout(
    sim: SimulatorHandle, new_context: NewContext
) -> None:
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=False)
    top = admin_top(ctx)  # the login POST goes through
    account = top.open_account_settings()
    with pytest.raises(Exception):  # noqa: B017, PT011 (Playwright's own navigation error)
        account.enable_mfa()
    assert ctx.guards[0].refused == ["POST /SmartPBX/Account"]
    assert sim.api("GET", "/api/mfa")["enabled"] is False
    with pytest.raises(HarnessError, match="POST /SmartPBX/Account"):
        check_guards(ctx)
    # The site, read on a fresh page (the refused one shows the browser's error page).
    assert admin_top(ctx).open_account_settings().mfa_enabled() is False


def test_an_onboarding_run_is_not_guarded(sim: SimulatorHandle, new_context: NewContext) -> None:
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=True)
    admin_top(ctx)
    assert ctx.guards == []


def test_admin_login_goes_through_the_portal_and_refuses_a_wrong_password(
    sim: SimulatorHandle, new_context: NewContext
) -> None:
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=False)
    run_flow("p2-admin-login", ctx)
    assert ctx.executed == ["P2-S1-1", "P2-S1-2", "P2-S1-3", "P2-S1-4"]
    assert ctx.evidence.shots[:4] == ctx.executed  # type: ignore[attr-defined]


@pytest.mark.parametrize("changes", [True, False], ids=["onboarding", "verify-only"])
def test_account_mfa_is_put_back_as_it_was(
    sim: SimulatorHandle, new_context: NewContext, changes: bool
) -> None:
    ctx = _ctx(sim, SAMPLE_GUIDE, new_context, changes=changes)
    run_flow("p2-account-mfa", ctx)
    assert ctx.executed == ["P2-S1-4"] * (3 if changes else 1)
    assert sim.api("GET", "/api/mfa")["enabled"] is False
