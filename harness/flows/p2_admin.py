"""P.2 お客様管理者: ログイン (【Step1】), 初期設定 (【Step2】), アカウント設定 (多要素認証).

Two modes (DESIGN.md "Verify-only and onboarding"): with Capability.CHANGES_SETTINGS the flows
drive the pages from whatever the site shows to the tenant's 設定.yaml (running twice changes
nothing the second time); without it they only read the pages and compare them with 設定.yaml
(harness.flows.settings_diff), and one ConformanceFailure lists every difference.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from harness.errors import ConformanceFailure
from harness.flows import calls
from harness.flows import settings_diff as sd
from harness.flows.context import FlowContext
from harness.flows.step import flow, manual_step
from harness.flows.web import admin_top, base_url, changes_settings, check_guards
from harness.guide.types import InboundRoute, Tenant
from harness.model import EndpointBehaviour, EventKind, Scenario, predict
from harness.target.model import Capability
from harness.web.pages import (
    AccountSettingsPage,
    AdminTopPage,
    ExtensionListPage,
    InboundRouteForm,
    InboundRoutePage,
    OutboundCallerIdPage,
    PortalLoginPage,
    PortalMenuPage,
    RingGroupPage,
    Screen,
    SettingsLoginPage,
)

WRONG_PASSWORD_SUFFIX = "-wrong"
"""Appended to the 管理者アカウント's password for the failure path (a password that is not it)."""


# --- 【Step1】 Web設定変更サイトへのログイン ---------------------------------------------------


@manual_step("P2-S1-1")
def portal_login(ctx: FlowContext) -> PortalMenuPage:
    """ビジネスポータル login with the 管理者アカウント."""
    account = ctx.tenant.guide.admin_account
    page = ctx.open_page()
    screen = PortalLoginPage.open(page, base_url(ctx)).login(account.login_id, account.password)
    if not isinstance(screen, PortalMenuPage):
        raise ConformanceFailure(
            f"ビジネスポータル refused the 管理者アカウント: {screen.messages()}"
        )
    return screen


@manual_step("P2-S1-2")
def service_menu(ctx: FlowContext, menu: PortalMenuPage) -> SettingsLoginPage:
    """サービスメニュー → Smart PBX → Arcstar Smart PBX 設定変更: the site's login screen."""
    login = menu.go_to_settings_site()
    if login.heading() != SettingsLoginPage.TITLE:
        raise ConformanceFailure(
            f"「Arcstar Smart PBX 設定変更」 led to {login.page.url} ({login.heading()!r}), "
            f"not the Web設定変更サイト's login"
        )
    return login


@manual_step("P2-S1-3")
def settings_login(ctx: FlowContext, login: SettingsLoginPage) -> AdminTopPage:
    """The 管理者アカウント on the site's login; first the failure path: a wrong password gets
    the site's error and no session, then the right one gets in."""
    account = ctx.tenant.guide.admin_account
    refused = login.login(account.login_id, account.password + WRONG_PASSWORD_SUFFIX)
    if not isinstance(refused, SettingsLoginPage) or not refused.messages():
        raise ConformanceFailure(
            f"a wrong password for {account.login_id!r} was not refused with a message: "
            f"{refused.page.url} {refused.messages()}"
        )
    return admin_top(ctx, refused.page)


@manual_step("P2-S1-4")
def logged_in(ctx: FlowContext, top: AdminTopPage) -> AdminTopPage:
    """ログインできました: the トップ画面 offers 初期設定 and アカウント設定."""
    page = top.page
    for link in ("初期設定", "アカウント設定"):
        if page.get_by_role("link", name=link).count() == 0:
            raise ConformanceFailure(f"the administrator's トップ画面 has no 「{link}」 link")
    return top


@flow(
    "p2-admin-login",
    section="P.2",
    steps=("P2-S1-1", "P2-S1-2", "P2-S1-3", "P2-S1-4"),
    requirement="The 管理者アカウント of the ご利用内容 reaches the Web設定変更サイト through the "
    "ビジネスポータル's サービスメニュー; a wrong password is refused with a message.",
    needs=(Capability.WEB,),
)
def admin_login_flow(ctx: FlowContext) -> None:
    menu = portal_login(ctx)
    login = service_menu(ctx, menu)
    top = settings_login(ctx, login)
    logged_in(ctx, top).logout()
    check_guards(ctx)


# --- 【Step2】 初期設定 ------------------------------------------------------------------------


@manual_step("P2-S2-1")
def extension_list(ctx: FlowContext, listing: ExtensionListPage) -> None:
    """内線一覧表示 shows exactly 内線番号情報1 (read only in both modes)."""
    shown = sd.extensions_shown(listing.extensions())
    sd.check_view("内線一覧表示", sd.extensions_expected(ctx.tenant), shown)


@manual_step("P2-S2-2")
def ring_groups(ctx: FlowContext, screen: RingGroupPage) -> None:
    """着信グループ設定: the list is 設定.yaml's groups, in order.

    Onboarding keeps the rows that already match, deletes the rest (「削除」 → 「削除する」) and
    adds the document's remaining groups with 「追加」; a group that leaves 呼出時間 out is added
    with the field empty (the service applies its default)."""
    groups = ctx.tenant.settings.ring_groups
    if changes_settings(ctx):
        keep = sd.first_group_difference(groups, screen.groups())
        for _ in range(len(screen.groups()) - keep):
            _expect(screen.delete_group(keep), RingGroupPage, "着信グループの削除")
        for index, group in enumerate(groups[keep:], keep + 1):
            form = screen.open_add_form().fill(
                group.kind.value,
                group.pilot,
                group.members,
                group.ring_time if "ring_time" in group.model_fields_set else None,
            )
            if "ring_time" not in group.model_fields_set:
                form.page.get_by_label("呼出時間").fill("")
            _expect(form.submit(), RingGroupPage, f"着信グループ {index} の追加")
    sd.check_view("着信グループ設定", sd.groups_expected(groups), sd.groups_shown(screen.groups()))


@manual_step("P2-S2-3")
def inbound_routes(ctx: FlowContext, screen: InboundRoutePage) -> None:
    """外線着信設定: every 外線番号 routed to 設定.yaml's 着信先, 状態 「設定済」."""
    if changes_settings(ctx):
        shown = {r.external_number: r for r in screen.routes()}
        for route in ctx.tenant.settings.inbound_routes:
            row = shown.get(route.external_number)
            if row and row.destination == route.destination and row.state == sd.APPLIED:
                continue
            result = screen.set_inbound_route(route.external_number, route.destination)
            if isinstance(result, InboundRouteForm):
                result = result.press_set_again()  # P.2 *1: 接続エラー → 設定 again
            _expect(result, InboundRoutePage, f"外線着信設定 {route.external_number}")
    expected = sd.inbound_expected(ctx.tenant)
    sd.check_view("外線着信設定", expected, sd.inbound_shown(screen.routes()))
    if changes_settings(ctx) and ctx.target.has(Capability.CARRIER):
        change_in_force(ctx, screen)


def change_in_force(ctx: FlowContext, screen: InboundRoutePage) -> None:
    """A 着信先 set with 「設定」 is where the line's next call rings — no restart, no stale
    route: the first routed line whose call another extension can take is set to that
    extension and called from outside (answered there), then set back to 設定.yaml's 着信先
    and called again. Onboarding only (the change is the harness's own, undone at once); a
    call that rings elsewhere is a ``TimelineMismatch`` of the step."""
    tenant = ctx.tenant
    change = route_change(tenant)
    if change is None:
        return
    route, other = change
    changed = _with_route(tenant, route.external_number, other)
    caller = calls.test_numbers(tenant)[0]
    line = route.external_number
    screen = _set_route(screen, line, other)
    try:
        _answered_call(dataclasses.replace(ctx, tenant=changed), caller, line, f"{line} → {other}")
    finally:
        screen = _set_route(screen, line, route.destination)
    _answered_call(ctx, caller, line, f"{line} → {route.destination} again")


def route_change(tenant: Tenant) -> tuple[InboundRoute, str] | None:
    """A routed line and another extension, of no 不在時動作 and no group's 代表番号, that the
    model rings first when the line is routed to it."""
    for route in tenant.settings.inbound_routes:
        for terminal in tenant.guide.terminals:
            other = terminal.extension
            if (
                other == route.destination
                or tenant.absence_of(other) is not None
                or tenant.group_with_pilot(other) is not None
            ):
                continue
            changed = _with_route(tenant, route.external_number, other)
            caller = calls.test_numbers(tenant)[0]
            if (
                _first_ringer(changed, Scenario(caller=caller, dialled=route.external_number))
                == other
            ):
                return route, other
    return None


def _with_route(tenant: Tenant, line: str, destination: str) -> Tenant:
    routes = [
        InboundRoute(external_number=r.external_number, destination=destination)
        if r.external_number == line
        else r
        for r in tenant.settings.inbound_routes
    ]
    settings = tenant.settings.model_copy(update={"inbound_routes": routes})
    return tenant.model_copy(update={"settings": settings})


def _set_route(screen: InboundRoutePage, line: str, destination: str) -> InboundRoutePage:
    result = screen.set_inbound_route(line, destination)
    return _expect(result, InboundRoutePage, f"外線着信設定 {line} → {destination}")


def _first_ringer(tenant: Tenant, scenario: Scenario) -> str | None:
    return next(
        (e.endpoint for e in predict(tenant, scenario).events if e.kind is EventKind.RING), None
    )


def _answered_call(ctx: FlowContext, caller: str, line: str, what: str) -> None:
    """A call from ``caller`` (outside) to ``line``, answered by the first endpoint the model
    rings at a quiet instant; compared with the model of ``ctx.tenant``."""
    scenario = Scenario(caller=caller, dialled=line)
    unanswered = predict(ctx.tenant, scenario, ctx.params)
    ring = next((e for e in unanswered.events if e.kind is EventKind.RING), None)
    if ring is not None:
        at = calls.quiet_instant(unanswered, ring.endpoint, ring.t) - ring.t
        endpoints = {ring.endpoint: EndpointBehaviour(answer_after=at)}
        scenario = dataclasses.replace(scenario, endpoints=endpoints)
    calls.check(ctx, scenario, params=ctx.params, name=f"外線着信設定 in force: {what}")


@manual_step("P2-S2-3-note1")
def inbound_before_opening(ctx: FlowContext, screen: InboundRoutePage, number: str) -> None:
    """*1 開通前に設定し接続エラー → 開通 → 「設定」 again → saved.

    Onboarding with the provisioning API: the line ``number`` is taken out of 開通, its 着信先
    saved (the site must answer 接続エラー and list 状態 「接続エラー」), the line opened
    again, and 「設定」 pressed again (状態 「設定済」). Without the API (verify-only or a
    remote target) the note is checked only where the site shows 接続エラー: a route the
    documents want that the site shows not in effect."""
    destination = ctx.tenant.inbound_destination(number) or ""
    if not (changes_settings(ctx) and ctx.target.has(Capability.PROVISIONING_API)):
        state = {r.external_number: r.state for r in screen.routes()}.get(number, "")
        raise sd.SettingsMismatch(
            "外線着信設定 (P.2 *1)",
            [
                sd.Difference(
                    path=f"外線着信設定 › {number} › 状態", expected=sd.APPLIED, shown=state
                )
            ],
        )
    lines = ctx.api
    assert lines is not None  # PROVISIONING_API was checked above
    lines.set_line_live(number, False)
    try:
        form = screen.set_inbound_route(number, destination)
        if not isinstance(form, InboundRouteForm) or not any(
            m.startswith("接続エラー") for m in form.messages()
        ):
            raise ConformanceFailure(
                f"外線着信設定 {number} before 開通: the site did not answer 接続エラー "
                f"(P.2 *1): {form.page.url} {form.messages()}"
            )
        listed = InboundRoutePage.open(form.page, base_url(ctx))
        state = {r.external_number: r.state for r in listed.routes()}.get(number, "")
        if state != "接続エラー":
            raise ConformanceFailure(f"外線着信設定 {number} before 開通 is listed as {state!r}")
        form = InboundRouteForm.open(form.page, base_url(ctx), number)
    finally:
        lines.set_line_live(number, True)
    _expect(form.choose_destination(destination).press_set_again(), InboundRoutePage, number)


@manual_step("P2-S2-4")
def outbound_caller_ids(ctx: FlowContext, screen: OutboundCallerIdPage) -> None:
    """外線発信設定: every extension's 発信者番号 as in 設定.yaml (設定しない where none)."""
    if changes_settings(ctx):
        for extension, shown in screen.caller_ids().items():
            wanted = ctx.tenant.caller_id_of(extension) or ""
            if shown != wanted:
                result = screen.set_outbound_caller_id(extension, wanted)
                _expect(result, OutboundCallerIdPage, f"外線発信設定 {extension}")
    shown_ids = screen.caller_ids()
    expected = sd.outbound_expected(ctx.tenant, list(shown_ids))
    sd.check_view("外線発信設定", expected, sd.outbound_shown(shown_ids))


@flow(
    "p2-initial-setup",
    section="P.2",
    steps=("P2-S2-1", "P2-S2-2", "P2-S2-3", "P2-S2-3-note1", "P2-S2-4"),
    requirement="初期設定 shows 内線番号情報1 and reaches (onboarding) or shows (verify-only) the "
    "tenant's 設定.yaml: 着信グループ, 外線着信設定 (in effect after 開通) and 外線発信設定.",
    needs=(Capability.WEB,),
)
def initial_setup_flow(ctx: FlowContext) -> None:
    mismatches = sd.MismatchCollector("初期設定 differs from 設定.yaml")
    listing = admin_top(ctx).open_initial_setup()
    with mismatches.collecting():
        extension_list(ctx, listing)
    groups = listing.next()
    with mismatches.collecting():
        ring_groups(ctx, groups)
    inbound = groups.next()
    note = _note_line(ctx, inbound)
    if note is not None:
        with mismatches.collecting():
            inbound_before_opening(ctx, inbound, note)
    with mismatches.collecting():
        inbound_routes(ctx, inbound)
    outbound = inbound.next()
    with mismatches.collecting():
        outbound_caller_ids(ctx, outbound)
    outbound.finish()
    check_guards(ctx)
    mismatches.check()


def _note_line(ctx: FlowContext, screen: InboundRoutePage) -> str | None:
    """The 外線番号 for P.2 *1, or None when the note has nothing to do for this run: onboarding
    with the API uses the first routed line; otherwise a routed line the site lists as
    接続エラー."""
    routed = [r.external_number for r in ctx.tenant.settings.inbound_routes]
    if changes_settings(ctx) and ctx.target.has(Capability.PROVISIONING_API):
        return routed[0] if routed else None
    errors = {r.external_number for r in screen.routes() if r.state == "接続エラー"}
    return next((n for n in routed if n in errors), None)


S = TypeVar("S")


def _expect(screen: object, kind: type[S], what: str) -> S:
    """``screen`` as ``kind``, else the site refused a valid setting: ConformanceFailure."""
    if isinstance(screen, kind):
        return screen
    shown = screen if isinstance(screen, Screen) else None
    errors = shown.field_errors() if shown else {}
    messages = shown.messages() if shown else []
    raise ConformanceFailure(
        f"{what}: the site refused a setting of 設定.yaml (the documents are valid): "
        f"{messages} {errors}"
    )


# --- アカウント設定 多要素認証 ---------------------------------------------------------------


@manual_step("P2-S1-4")
def account_mfa(ctx: FlowContext, top: AdminTopPage, enable: bool | None) -> bool:
    """アカウント設定 → 多要素認証: with ``enable`` set it and check the screen shows it
    (「設定しました。」, the radio checked); with None only read it. Returns what is shown."""
    screen = top.open_account_settings()
    if enable is not None:
        after = screen.enable_mfa() if enable else screen.disable_mfa()
        screen = _expect(after, AccountSettingsPage, "アカウント設定 多要素認証")
        if "設定しました。" not in screen.messages() or screen.mfa_enabled() != enable:
            raise ConformanceFailure(
                f"多要素認証 {'有効' if enable else '無効'} was not saved: {screen.messages()}"
            )
    shown = screen.mfa_enabled()
    screen.back_to_top()
    return shown


@flow(
    "p2-account-mfa",
    section="P.2",
    steps=("P2-S1-4",),
    requirement="アカウント設定 shows 多要素認証 of the 端末ユーザ; onboarding switches it on and "
    "back to what it was, and the screen shows each save.",
    needs=(Capability.WEB,),
)
def account_mfa_flow(ctx: FlowContext) -> None:
    top = admin_top(ctx)
    was = account_mfa(ctx, top, None)
    if changes_settings(ctx):
        account_mfa(ctx, top, not was)
        account_mfa(ctx, top, was)
    top.logout()
    check_guards(ctx)


def set_mfa(ctx: FlowContext, enabled: bool) -> bool:
    """Log in as the administrator and set 多要素認証 (P.2 アカウント設定); returns what it was.
    Used by the P.6 多要素認証 flow; only with CHANGES_SETTINGS."""
    top = admin_top(ctx)
    was = account_mfa(ctx, top, None)
    if was != enabled:
        account_mfa(ctx, top, enabled)
    top.logout()
    return was
