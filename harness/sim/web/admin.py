"""Screens of the ユーザ管理者: top, the 初期設定 wizard (manual P.2 Step2 ①–④), アカウント設定."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from harness.guide.types import DEFAULT_GROUP_RING_TIME, GroupKind, TerminalKind
from harness.sim.faults import CONNECTION_ERROR_NEVER_SHOWN
from harness.sim.rules import GroupDraft
from harness.sim.store import GroupRecord, RoutingSnapshot, SettingsError
from harness.sim.web import display
from harness.sim.web.auth import account_locks
from harness.sim.web.context import Ctx, Guard, error_page, screen

WIZARD = (
    ("/SmartPBX/Init/Extensions", "内線一覧表示"),
    ("/SmartPBX/Init/Groups", "着信グループ設定"),
    ("/SmartPBX/Init/Inbound", "外線着信設定"),
    ("/SmartPBX/Init/Outbound", "外線発信設定"),
)
SAVED = "設定しました。"
DELETED = "削除しました。"
CONNECTION_ERROR = (
    "接続エラー: 外線サービスが開通していないため設定を反映できませんでした。"
    "外線サービス開通後に「設定」ボタンを押し直してください。"
)


def _wizard(
    ctx: Ctx, step: int, template: str, status_code: int = 200, **context: object
) -> Response:
    return ctx.render(template, status_code, steps=WIZARD, step=step, **context)


@screen(Guard.ADMIN)
async def top(ctx: Ctx) -> Response:
    """トップ画面: 「初期設定」, 「アカウント設定」."""
    return ctx.render("admin_top.html", tenant=ctx.store.tenant_summary())


@screen(Guard.ADMIN)
async def extensions(ctx: Ctx) -> Response:
    """① 内線一覧表示: the contracted extensions (read only)."""
    snapshot = ctx.store.routing_snapshot()
    return _wizard(ctx, 0, "init_extensions.html", terminals=list(snapshot.terminals.values()))


def _notice(ctx: Ctx) -> str | None:
    """The confirmation after a redirect: 「設定しました。」 (``?done=1``) or 「削除しました。」."""
    query = ctx.request.query_params
    if query.get("deleted"):
        return DELETED
    return SAVED if query.get("done") else None


def _group_warnings(snapshot: RoutingSnapshot) -> list[str]:
    """Every 代表番号 whose own 不在時動作 the group overrides (DOMAIN.md rule 1)."""
    warnings = (
        display.pilot_absence_warning(snapshot, g.pilot) for g in snapshot.groups if g.pilot
    )
    return [w for w in warnings if w]


@screen(Guard.ADMIN)
async def groups(ctx: Ctx) -> Response:
    """② 着信グループ設定: the groups, 「追加」 and 「削除」."""
    snapshot = ctx.store.routing_snapshot()
    defaults = ctx.store.ring_time_defaults
    return _wizard(
        ctx,
        1,
        "init_groups.html",
        groups=[(g, display.ring_time_text(g, defaults)) for g in snapshot.groups],
        notice=_notice(ctx),
        warnings=_group_warnings(snapshot),
    )


def _eligible(ctx: Ctx) -> list[str]:
    terminals = ctx.store.routing_snapshot().terminals.values()
    return [t.extension for t in terminals if t.terminal_kind is not TerminalKind.VOIP_GW]


@screen(Guard.ADMIN)
async def group_add(ctx: Ctx) -> Response:
    """着信グループ「追加」: 種別, 代表番号, メンバー1..N (in order), 呼出時間, 「設定」."""
    eligible = _eligible(ctx)
    slots = max(len(eligible), 1)
    kinds = [k.value for k in GroupKind]
    warnings = display.pilot_candidates_with_absence(ctx.store.routing_snapshot(), eligible)
    if ctx.request.method == "GET":
        return _wizard(
            ctx,
            1,
            "init_group_add.html",
            kinds=kinds,
            extensions=eligible,
            slots=slots,
            warnings=warnings,
            values={"ring_time": str(DEFAULT_GROUP_RING_TIME)},  # as the service shows it
            members=[],
        )
    members = tuple(ctx.field(f"member_{i}") for i in range(1, slots + 1))
    draft = GroupDraft(
        kind=ctx.field("kind"),
        pilot=ctx.field("pilot"),
        members=members,
        ring_time=ctx.field("ring_time"),
    )
    try:
        ctx.store.add_group(draft)
    except SettingsError as error:
        return _wizard(
            ctx,
            1,
            "init_group_add.html",
            200,
            kinds=kinds,
            extensions=eligible,
            slots=slots,
            warnings=warnings,
            errors=error.fields,
            values=ctx.form,
            members=list(members),
        )
    return ctx.redirect("/SmartPBX/Init/Groups?done=1")


def _group(snapshot: RoutingSnapshot, raw: str) -> GroupRecord | None:
    return next((g for g in snapshot.groups if str(g.id) == raw), None)


@screen(Guard.ADMIN)
async def group_delete(ctx: Ctx) -> Response:
    """着信グループ「削除」: GET asks for confirmation (a page, so it works without JavaScript),
    its 「削除する」 POSTs and deletes."""
    raw = ctx.request.path_params.get("group_id", "")
    snapshot = ctx.store.routing_snapshot()
    group = _group(snapshot, raw)
    if ctx.request.method == "GET":
        if group is None:
            return error_page(
                ctx.request, 404, "見つかりません", "指定された着信グループはありません。"
            )
        return _wizard(
            ctx,
            1,
            "init_group_delete.html",
            group=group,
            ring_time=display.ring_time_text(group, ctx.store.ring_time_defaults),
            warnings=display.group_deletion_warnings(snapshot, group),
        )
    # The id is looked up among the groups that exist, never converted: a segment of 30 nines
    # overflowed SQLite's 64-bit integers (OverflowError, a 500) when passed to the store.
    if group is not None:
        try:
            ctx.store.delete_group(group.id)
            return ctx.redirect("/SmartPBX/Init/Groups?deleted=1")
        except SettingsError:  # deleted in another tab since the snapshot was read
            pass
    return error_page(ctx.request, 404, "見つかりません", "指定された着信グループはありません。")


@screen(Guard.ADMIN)
async def inbound(ctx: Ctx) -> Response:
    """③ 外線着信設定: each 外線番号 with its 着信先 and a 「設定」 button."""
    snapshot = ctx.store.routing_snapshot()
    effects = {
        number: display.destination_effect(snapshot, route.destination)
        for number, route in snapshot.inbound_routes.items()
    }
    return _wizard(
        ctx,
        2,
        "init_inbound.html",
        lines=list(snapshot.external_lines.values()),
        routes=snapshot.inbound_routes,
        effects=effects,
        notice=_notice(ctx),
    )


@screen(Guard.ADMIN)
async def inbound_edit(ctx: Ctx) -> Response:
    """外線着信設定 of one 外線番号: 着信先, 「設定」; 接続エラー while the line is not 開通."""
    number = ctx.request.path_params.get("number", "")
    snapshot = ctx.store.routing_snapshot()
    if number not in snapshot.external_lines:
        return error_page(ctx.request, 404, "見つかりません", "指定された外線番号はありません。")
    current = snapshot.inbound_routes.get(number)
    options = display.destination_options(snapshot)
    effect = display.destination_effect(snapshot, current.destination) if current else ""
    if ctx.request.method == "GET":
        values = {"destination": current.destination if current else ""}
        return _wizard(
            ctx,
            2,
            "init_inbound_edit.html",
            number=number,
            options=options,
            values=values,
            effect=effect,
        )
    # Every value sent, not just the first: two 着信先 for one 外線番号 are refused (the
    # guide's inbound.routed_once), never silently reduced to one.
    destinations = tuple(ctx.form_lists.get("destination", [""]))
    try:
        applied = ctx.store.set_inbound_route(number, destinations)
    except SettingsError as error:
        return _wizard(
            ctx,
            2,
            "init_inbound_edit.html",
            number=number,
            options=options,
            errors=error.fields,
            values=ctx.form,
            effect=effect,
        )
    if not applied and not ctx.sim.faults.on(CONNECTION_ERROR_NEVER_SHOWN):
        return _wizard(
            ctx,
            2,
            "init_inbound_edit.html",
            number=number,
            options=options,
            errors={"form": CONNECTION_ERROR},
            values=ctx.form,
            effect=effect,
        )
    return ctx.redirect("/SmartPBX/Init/Inbound?done=1")


@screen(Guard.ADMIN)
async def outbound(ctx: Ctx) -> Response:
    """④ 外線発信設定: each 内線番号 with its 発信者番号 and a 「設定」 button."""
    snapshot = ctx.store.routing_snapshot()
    return _wizard(
        ctx,
        3,
        "init_outbound.html",
        terminals=list(snapshot.terminals.values()),
        caller_ids=snapshot.outbound_caller_ids,
        notice=_notice(ctx),
    )


@screen(Guard.ADMIN)
async def outbound_edit(ctx: Ctx) -> Response:
    """外線発信設定 of one 内線番号: 発信者番号 (a 外線番号, or 設定しない), 「設定」."""
    extension = ctx.request.path_params.get("extension", "")
    snapshot = ctx.store.routing_snapshot()
    if extension not in snapshot.terminals:
        return error_page(ctx.request, 404, "見つかりません", "指定された内線番号はありません。")
    numbers = list(snapshot.external_lines)
    if ctx.request.method == "GET":
        values = {"caller_id": snapshot.outbound_caller_ids.get(extension, "")}
        return _wizard(
            ctx, 3, "init_outbound_edit.html", extension=extension, numbers=numbers, values=values
        )
    try:
        # Every value sent: two 発信者番号 are refused (outbound.once_per_extension).
        ctx.store.set_outbound_caller_id(extension, tuple(ctx.form_lists.get("caller_id", [""])))
    except SettingsError as error:
        return _wizard(
            ctx,
            3,
            "init_outbound_edit.html",
            extension=extension,
            numbers=numbers,
            errors=error.fields,
            values=ctx.form,
        )
    return ctx.redirect("/SmartPBX/Init/Outbound?done=1")


@screen(Guard.ADMIN)
async def account_settings(ctx: Ctx) -> Response:
    """アカウント設定: 多要素認証 (有効/無効) for 端末ユーザ; locked 端末ユーザ (auth.unlock)."""
    locks = account_locks(ctx)
    if ctx.request.method == "GET":
        return ctx.render("account.html", mfa=ctx.store.mfa_enabled(), locks=locks)
    choice = ctx.field("mfa")
    if choice not in ("on", "off"):
        errors = {"mfa": "多要素認証は有効・無効から選択してください。"}
        mfa = ctx.store.mfa_enabled()
        return ctx.render("account.html", 200, mfa=mfa, errors=errors, locks=locks)
    ctx.store.set_mfa(choice == "on")
    return ctx.render("account.html", mfa=choice == "on", notice=SAVED, locks=locks)


ROUTES = [
    Route("/SmartPBX/Top", top),
    Route("/SmartPBX/Init/Extensions", extensions),
    Route("/SmartPBX/Init/Groups", groups),
    Route("/SmartPBX/Init/Groups/Add", group_add, methods=["GET", "POST"]),
    Route("/SmartPBX/Init/Groups/{group_id}/Delete", group_delete, methods=["GET", "POST"]),
    Route("/SmartPBX/Init/Inbound", inbound),
    Route("/SmartPBX/Init/Inbound/{number}", inbound_edit, methods=["GET", "POST"]),
    Route("/SmartPBX/Init/Outbound", outbound),
    Route("/SmartPBX/Init/Outbound/{extension}", outbound_edit, methods=["GET", "POST"]),
    Route("/SmartPBX/Account", account_settings, methods=["GET", "POST"]),
]
