"""Screens of the 端末ユーザ (manual P.6/P.7): top and 不在時動作設定 of its OWN extension.

The extension always comes from the login; an ``extension`` named in the URL or the form that is
not the user's own is refused with 403 (and nothing about it is shown).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from harness.guide.types import Action
from harness.sim import rules
from harness.sim.faults import OTHER_EXTENSION_ABSENCE
from harness.sim.rules import AbsenceDraft, AbsenceValue
from harness.sim.store import RoutingSnapshot, SettingsError
from harness.sim.web import display
from harness.sim.web.context import Ctx, Guard, error_page, screen

ACTIONS = [a.value for a in Action]
DRAFT_FIELDS = (
    "enabled",
    "kind",
    "forward_to",
    "unconditional",
    "busy",
    "unreachable",
    "no_answer",
    "ring_time",
    "reach_number_1",
    "reach_start_1",
    "reach_number_2",
    "reach_start_2",
    "reach_end",
)


def _own_extension(ctx: Ctx) -> str | Response:
    assert ctx.account is not None and ctx.account.extension is not None
    own = ctx.account.extension
    asked = [ctx.request.query_params.get("extension"), ctx.form.get("extension")]
    other = next((value for value in asked if value and value != own), None)
    if other is not None and ctx.sim.faults.on(OTHER_EXTENSION_ABSENCE):
        return other  # the extension named in the request, unchecked against the login
    if any(value is not None and value != own for value in asked):
        return error_page(
            ctx.request, 403, "アクセスできません", "ご自身の内線番号の設定のみ変更できます。"
        )
    return own


@screen(Guard.TERMINAL_USER)
async def top(ctx: Ctx) -> Response:
    """端末ユーザのトップ: its 内線番号 and 「不在時動作設定」."""
    own = _own_extension(ctx)
    if isinstance(own, Response):
        return own
    return ctx.render("user_top.html", extension=own)


def _values(value: AbsenceValue | None) -> dict[str, str]:
    """A saved 不在時動作 → the form's values."""
    if value is None:
        return {"enabled": rules.ABSENCE_OFF, "kind": rules.FORWARD_KIND} | {
            name: Action.NONE.value for name, _ in rules.ACTION_STATES
        }

    def text(item: object) -> str:
        return "" if item is None else str(item)

    return {
        "enabled": rules.ABSENCE_ON,
        "kind": value.kind,
        "forward_to": text(value.forward_to),
        "unconditional": value.unconditional.value,
        "busy": value.busy.value,
        "unreachable": value.unreachable.value,
        "no_answer": value.no_answer.value,
        "ring_time": text(value.ring_time),
        "reach_number_1": text(value.reach_number_1),
        "reach_start_1": text(value.reach_start_1),
        "reach_number_2": text(value.reach_number_2),
        "reach_start_2": text(value.reach_start_2),
        "reach_end": text(value.reach_end),
        "voicemail": "on" if value.voicemail else "",
    }


def _shown(snapshot: RoutingSnapshot, own: str, saved: AbsenceValue | None) -> dict[str, Any]:
    """What the page tells beside the fields, from the saved setting (docs/web.md)."""
    pilot = display.absence_page_pilot_warning(snapshot, own)
    return {
        "warnings": [pilot] if pilot else [],
        "silent_legs": display.silent_reach_legs(saved),
        "switch_warnings": display.kind_switch_warnings(saved),
    }


@screen(Guard.TERMINAL_USER)
async def absence(ctx: Ctx) -> Response:
    """不在時動作設定: every field of DOMAIN.md; 「設定」 saves all or nothing."""
    own = _own_extension(ctx)
    if isinstance(own, Response):
        return own
    snapshot = ctx.store.routing_snapshot()
    common: dict[str, Any] = {
        "extension": own,
        "actions": ACTIONS,
        "states": rules.ACTION_STATES,
        "voicemail_password": snapshot.voicemail_passwords.get(own, ""),
    }
    before = snapshot.absence.get(own)
    if ctx.request.method == "GET":
        return ctx.render(
            "user_absence.html", values=_values(before), **common, **_shown(snapshot, own, before)
        )
    raw = {name: ctx.field(name) for name in DRAFT_FIELDS}
    if not raw["enabled"]:
        raw["enabled"] = rules.ABSENCE_OFF
    for name, _ in rules.ACTION_STATES:
        raw[name] = raw[name] or Action.NONE.value
    draft = AbsenceDraft(**raw, voicemail=ctx.field("voicemail") == "on")
    try:
        saved = ctx.store.set_absence(own, draft, ctx.sim.faults)
    except SettingsError as error:
        values = raw | {"voicemail": ctx.field("voicemail")}
        return ctx.render(
            "user_absence.html",
            200,
            values=values,
            errors=error.fields,
            **common,
            **_shown(snapshot, own, before),
        )
    notice = "設定しました。"
    if before is not None and (saved is None or saved.kind != before.kind):
        # Only the chosen 種別 is kept: say that the other one's values are gone.
        notice += f"（{display.absence_label(before)}の内容は消去しました。）"
    return ctx.render(
        "user_absence.html",
        values=_values(saved),
        notice=notice,
        **common,
        **_shown(snapshot, own, saved),
    )


ROUTES = [
    Route("/SmartPBX/User/Top", top),
    Route("/SmartPBX/User/Absence", absence, methods=["GET", "POST"]),
]
