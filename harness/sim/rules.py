"""The settings site's form layer: form strings in, the guide's verdict out, in Japanese.

The rules themselves live once, in ``harness.guide`` (``types`` for each field, ``rules``
across rows, ``validate.check_settings`` for a whole 設定 document). A change made on a form
is checked the way ``smartpbx-harness check`` checks a document:

1. *parse*: the submitted strings become the values of a 設定 document row — text stripped,
   an empty field left out, seconds as whole numbers (a string that is no whole number is
   the one rule of this layer: a form sends text, a document sends numbers);
2. *check*: the row replaces what it changes in the tenant's current settings, and the whole
   resulting document goes through ``check_settings`` against the tenant's guide;
3. *word*: each problem found in the changed row is shown beside its field with the Japanese
   message of its ``rule_id`` (``MESSAGES``); a rule without a message here still refuses
   the change, with a generic message naming it (``test_every_rule_has_a_message`` keeps
   that from happening).

The store calls these functions inside the change's transaction, so the state they see is the
state the change is written over.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter

from harness.errors import Problem
from harness.guide.types import (
    DEFAULT_GROUP_RING_TIME,
    FORWARD_KIND,
    GROUP_LIMIT,
    PHONE_NUMBER_MAX,
    REACH_KIND,
    REACH_KIND_MISSPELT,
    Absence,
    Action,
    ExternalLine,
    ForwardAbsence,
    GroupKind,
    RingGroup,
    Settings,
    SingleNumberReach,
    Terminal,
    TerminalKind,
)
from harness.guide.validate import SETTINGS_FILE, as_source, bounds, check_settings
from harness.sim.faults import NO_FAULTS, RING_TIME_UPPER_UNCHECKED, Faults

__all__ = [
    "ABSENCE_OFF",
    "ABSENCE_ON",
    "ACTION_STATES",
    "DEFAULT_GROUP_RING_TIME",
    "FORWARD_KIND",
    "MAX_GROUPS",
    "MESSAGES",
    "REACH_KIND",
    "AbsenceCheck",
    "AbsenceDraft",
    "AbsenceValue",
    "FieldErrors",
    "GroupCheck",
    "GroupDraft",
    "GroupValue",
    "TenantView",
    "check_absence",
    "check_group",
    "check_inbound",
    "check_outbound",
]

MAX_GROUPS = GROUP_LIMIT
"""着信グループ: up to 200 groups (S); the guide's ``GROUP_LIMIT``."""

ABSENCE_OFF = "未設定"
ABSENCE_ON = "設定"

ACTION_STATES = (
    ("unconditional", "無条件"),
    ("busy", "話中"),
    ("unreachable", "圏外"),
    ("no_answer", "無応答"),
)
"""The 転送動作 states: form field name, label."""

_ABSENCE = TypeAdapter[Absence](Absence)
_WHOLE_NUMBER = re.compile(r"[0-9]{1,4}")  # ASCII digits only: "１５" is refused, not read as 15
WHOLE_NUMBER_RULE = "form.whole_number"
"""The form layer's own rule: a seconds field holds a whole number (a document holds one)."""
ENABLED_RULE = "form.absence_enabled"
"""The form layer's own rule: 不在時動作 is 未設定 or 設定 (a document omits 未設定 entries)."""


class FieldErrors(dict[str, str]):
    """Field name → Japanese message(s); empty when the change is valid.

    ``rule_ids`` keeps, per field, the ids of the rules behind its message (shown on the
    page as ``data-rule-ids``, so a test can hold the site to the document's verdict).
    """

    def __init__(self) -> None:
        super().__init__()
        self.rule_ids: dict[str, list[str]] = {}

    def add(self, name: str, message: str, rule_id: str | None = None) -> None:
        """Add ``message`` to the field's text (several rules can break on one field)."""
        text = self.get(name, "")
        if message not in text:
            self[name] = text + message
        if rule_id is not None and rule_id not in self.rule_ids.setdefault(name, []):
            self.rule_ids[name].append(rule_id)


@dataclass(frozen=True, kw_only=True)
class TenantView:
    """The tenant's state a change is checked against: its guide's rows and its settings."""

    terminals: tuple[Terminal, ...]
    external_lines: tuple[ExternalLine, ...]
    settings: Settings = field(default_factory=Settings)

    @property
    def extensions(self) -> Mapping[str, TerminalKind]:
        """内線番号 → 端末種別."""
        return {t.extension: t.terminal_kind for t in self.terminals}

    def document(self) -> dict[str, Any]:
        """The current settings as 設定 document data (Japanese keys), to change a row of."""
        data: dict[str, Any] = self.settings.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        return data


# --- messages ----------------------------------------------------------------------------------


def _seconds_messages(model: type[Any], name: str, label: str, form_field: str) -> dict[str, Any]:
    low, high = bounds(model, name)
    key = f"field.{model.__name__}.{name}"
    return {
        f"{key}.missing": (form_field, f"{label}を入力してください（{low}〜{high}秒）。"),
        f"{key}.range": (form_field, f"{label}は{low}〜{high}の整数（秒）で入力してください。"),
        f"{key}.type": (form_field, f"{label}は{low}〜{high}の整数（秒）で入力してください。"),
    }


def _phone_messages(model: type[Any], name: str, label: str, form_field: str) -> dict[str, Any]:
    key = f"field.{model.__name__}.{name}"
    wrong = (form_field, f"{label}は数字とハイフンで{PHONE_NUMBER_MAX}文字以内で入力してください。")
    return {
        f"{key}.missing": (form_field, f"{label}を入力してください。"),
        f"{key}.pattern": wrong,
        f"{key}.length": wrong,
        f"{key}.type": wrong,
    }


_GROUP_KIND = ("kind", "種別は順次着信・一斉着信・コールピックアップから選択してください。")
_PILOT_UNKNOWN = ("pilot", "代表番号はご利用中の内線番号から選択してください。")
_MEMBER_UNKNOWN = ("members", "メンバー「{value}」はご利用中の内線番号ではありません。")
_MEMBERS_NONE = ("members", "メンバーを1件以上入力してください。")
_LINE_UNKNOWN = ("external_number", "外線番号がご利用内容にありません。")
_DESTINATION = ("destination", "着信先は内線番号または着信グループの代表番号から選択してください。")
_EXTENSION_UNKNOWN = ("extension", "内線番号がご利用内容にありません。")
_CALLER_ID = ("caller_id", "発信者番号はご契約の外線番号から選択してください。")
_ABSENCE_KIND = (
    "kind",
    "転送/留守番電話設定・シングルナンバーリーチ設定のどちらかを選択してください。",
)
_ACTIONS = {
    f"field.ForwardActions.{name}.choice": (
        name,
        f"転送動作（{label}）は転送・留守番電話・設定しないから選択してください。",
    )
    for name, label in ACTION_STATES
}
_RING_LOW, _RING_HIGH = bounds(ForwardAbsence, "ring_time")
_START_LOW, _START_HIGH = bounds(SingleNumberReach, "reach_start_2")

MESSAGES: dict[str, tuple[str, str]] = {
    # 着信グループ
    "field.RingGroup.kind.choice": _GROUP_KIND,
    "field.RingGroup.kind.missing": _GROUP_KIND,
    "group.at_most_200": ("kind", f"着信グループは{GROUP_LIMIT}件まで登録できます。"),
    "group.pickup_has_no_pilot": ("pilot", "コールピックアップには代表番号を設定できません。"),
    "group.pilot_required": ("pilot", "代表番号を選択してください。"),
    "group.pilot_exists": _PILOT_UNKNOWN,
    "field.RingGroup.pilot.pattern": _PILOT_UNKNOWN,
    "group.gateway_not_pilot": ("pilot", "VoIP-GWの内線番号は代表番号にできません。"),
    "group.pilot_of_one_group": ("pilot", "この内線番号は既に別の着信グループの代表番号です。"),
    "field.RingGroup.members.missing": _MEMBERS_NONE,
    "field.RingGroup.members.length": _MEMBERS_NONE,
    "group.member_exists": _MEMBER_UNKNOWN,
    "field.RingGroup.members.pattern": _MEMBER_UNKNOWN,
    "group.gateway_not_member": ("members", "VoIP-GWの内線番号「{value}」はメンバーにできません。"),
    "group.one_pickup_group": (
        "members",
        "内線番号「{value}」は既に別のコールピックアップグループのメンバーです。",
    ),
    "group.member_once": (
        "members",
        "同じ内線番号をメンバーに重複して指定することはできません。",
    ),
    # members pick up each other's calls: one member alone has nobody to pick up from
    "group.pickup_two_members": (
        "members",
        "コールピックアップのメンバーは2件以上入力してください。",
    ),
    **_seconds_messages(RingGroup, "ring_time", "呼出時間", "ring_time"),
    # 外線着信設定
    "inbound.line_exists": _LINE_UNKNOWN,
    "field.InboundRoute.external_number.pattern": _LINE_UNKNOWN,
    "field.InboundRoute.destination.missing": ("destination", "着信先を選択してください。"),
    "inbound.destination_exists": _DESTINATION,
    "field.InboundRoute.destination.pattern": _DESTINATION,
    "inbound.routed_once": ("destination", "着信先は1つだけ選択してください。"),
    # 外線発信設定
    "outbound.extension_exists": _EXTENSION_UNKNOWN,
    "field.OutboundCallerId.extension.pattern": _EXTENSION_UNKNOWN,
    "outbound.caller_id_is_a_line": _CALLER_ID,
    "field.OutboundCallerId.caller_id.pattern": _CALLER_ID,
    "outbound.once_per_extension": ("caller_id", "発信者番号は1つだけ選択してください。"),
    # 不在時動作設定
    "absence.extension_exists": _EXTENSION_UNKNOWN,
    "absence.not_for_gateway": ("enabled", "VoIP-GWの内線番号には不在時動作を設定できません。"),
    "field.Absence.kind.choice": _ABSENCE_KIND,
    **_ACTIONS,
    "absence.forward_to_required": ("forward_to", "転送先電話番号を入力してください。"),
    **_phone_messages(ForwardAbsence, "forward_to", "転送先電話番号", "forward_to"),
    "absence.forward_to_not_self": (
        "forward_to",
        "転送先電話番号に自分の内線番号は設定できません。",
    ),
    "absence.ring_time_required": (
        "ring_time",
        f"呼出時間を入力してください（{_RING_LOW}〜{_RING_HIGH}秒）。",
    ),
    "absence.ring_time_unused": (
        "ring_time",
        "呼出時間は無応答が転送・留守番電話の場合のみ設定できます。",
    ),
    **_seconds_messages(ForwardAbsence, "ring_time", "呼出時間", "ring_time"),
    **_phone_messages(SingleNumberReach, "reach_number_1", "接続先番号1", "reach_number_1"),
    **_phone_messages(SingleNumberReach, "reach_number_2", "接続先番号2", "reach_number_2"),
    **_seconds_messages(SingleNumberReach, "reach_start_1", "呼出開始時間1", "reach_start_1"),
    **_seconds_messages(SingleNumberReach, "reach_start_2", "呼出開始時間2", "reach_start_2"),
    "absence.reach_start_2_required": (
        "reach_start_2",
        f"呼出開始時間2を入力してください（{_START_LOW}〜{_START_HIGH}秒）。",
    ),
    "absence.reach_start_2_unused": (
        "reach_start_2",
        "呼出開始時間2は接続先番号2を入力した場合のみ設定できます。",
    ),
    **_seconds_messages(SingleNumberReach, "reach_end", "呼出終了時間", "reach_end"),
}
"""Rule id → (form field, Japanese message shown beside it); ``{value}`` is what was found.

docs/web.md lists the mapping; the rules' English wording is in docs/guide-format.md."""


def _word(problems: list[Problem], errors: FieldErrors) -> None:
    for problem in problems:
        name, message = MESSAGES.get(
            problem.rule_id or "",
            ("form", "入力内容に誤りがあります（{rule}）。"),
        )
        if WHOLE_NUMBER_RULE in errors.rule_ids.get(name, []):
            continue  # not a number: left out of the row, so "required" would only echo it
        errors.add(
            name,
            message.format(value=(problem.value or "")[:40], rule=problem.rule),
            problem.rule_id,
        )


def _within(where: str, place: str) -> bool:
    return where == place or where.startswith(place + " ")


def _verdict(view: TenantView, document: dict[str, Any], places: list[str]) -> list[Problem]:
    """The guide's problems of ``document`` that lie in the changed ``places``.

    Problems elsewhere were in the settings before this change (the store only holds
    settings the guide accepted, so there are none) and are not this form's to show.
    """
    verdict = check_settings(
        as_source(document), terminals=view.terminals, external_lines=view.external_lines
    )
    return [p for p in verdict.problems if any(_within(p.where, at) for at in places)]


def _seconds(
    raw: str,
    row: dict[str, Any],
    key: str,
    errors: FieldErrors,
    *,
    model: type[BaseModel],
    name: str,
    label: str,
) -> None:
    """A seconds field: left out when empty, a whole number when given (its range is the
    guide's rule, checked with the rest of the row)."""
    text = raw.strip()
    if not text:
        return
    if _WHOLE_NUMBER.fullmatch(text):
        row[key] = int(text)
        return
    low, high = bounds(model, name)
    errors.add(name, f"{label}は{low}〜{high}の整数（秒）で入力してください。", WHOLE_NUMBER_RULE)


def _text(raw: str, row: dict[str, Any], key: str) -> None:
    text = raw.strip()
    if text:
        row[key] = text


# --- 着信グループ -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GroupDraft:
    """A 着信グループ as submitted: 種別, 代表番号, メンバー (in order), 呼出時間."""

    kind: str
    pilot: str = ""
    members: tuple[str, ...] = ()
    ring_time: str = ""


@dataclass(frozen=True, kw_only=True)
class GroupValue:
    kind: GroupKind
    pilot: str | None
    members: tuple[str, ...]
    ring_time: int | None  # None: left out — the service's default applies (PbxParams G / T)


@dataclass(frozen=True, kw_only=True)
class GroupCheck:
    """The verdict on a 着信グループ「追加」: the group to save, or the messages to show."""

    value: GroupValue | None
    errors: FieldErrors


def check_group(draft: GroupDraft, view: TenantView) -> GroupCheck:
    """着信グループ「追加」: the new group is appended to the tenant's groups and checked."""
    errors = FieldErrors()
    row: dict[str, Any] = {"メンバー": [m.strip() for m in draft.members if m.strip()]}
    _text(draft.kind, row, "種別")
    _text(draft.pilot, row, "代表番号")
    _seconds(
        draft.ring_time,
        row,
        "呼出時間",
        errors,
        model=RingGroup,
        name="ring_time",
        label="呼出時間",
    )
    document = view.document()
    groups = document.setdefault("着信グループ", [])
    groups.append(row)
    _word(_verdict(view, document, [f"{SETTINGS_FILE} › 着信グループ › row {len(groups)}"]), errors)
    if errors:
        return GroupCheck(value=None, errors=errors)
    group = RingGroup.model_validate(row)
    value = GroupValue(
        kind=group.kind,
        pilot=group.pilot,
        members=tuple(group.members),
        ring_time=group.ring_time if "ring_time" in group.model_fields_set else None,
    )
    return GroupCheck(value=value, errors=errors)


# --- 外線着信設定 / 外線発信設定 ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Change:
    """A 設定 document with some rows changed, and where the changed rows are in it."""

    document: dict[str, Any]
    places: list[str]


def _replace_rows(
    view: TenantView, table: str, key: str, value: str, rows: list[dict[str, Any]]
) -> _Change:
    """The document with ``table``'s rows whose ``key`` is ``value`` replaced by ``rows``
    (appended last)."""
    document = view.document()
    kept = [r for r in document.get(table, []) if r.get(key) != value]
    document[table] = kept + rows
    count = len(rows)
    places = [f"{SETTINGS_FILE} › {table} › row {len(kept) + i}" for i in range(1, count + 1)]
    return _Change(document=document, places=places)


def check_inbound(
    external_number: str, destinations: str | tuple[str, ...], view: TenantView
) -> FieldErrors:
    """外線着信設定「設定」: ``external_number``'s 着信先 becomes ``destinations`` (one, as the
    page sends it; a request naming several is refused as a document with two rows is)."""
    chosen = (destinations,) if isinstance(destinations, str) else destinations
    rows: list[dict[str, Any]] = []
    for destination in chosen or ("",):
        row: dict[str, Any] = {"外線番号": external_number}
        _text(destination, row, "着信先")
        rows.append(row)
    change = _replace_rows(view, "外線着信設定", "外線番号", external_number, rows)
    errors = FieldErrors()
    _word(_verdict(view, change.document, change.places), errors)
    return errors


def check_outbound(
    extension: str, caller_ids: str | tuple[str, ...], view: TenantView
) -> FieldErrors:
    """外線発信設定「設定」: ``extension``'s 発信者番号 becomes ``caller_ids`` (empty: 設定しない,
    the row is removed; several are refused as a document with two rows is)."""
    chosen = (caller_ids,) if isinstance(caller_ids, str) else caller_ids
    given = [c.strip() for c in chosen if c.strip()]
    rows = [{"内線番号": extension, "発信者番号": c} for c in given]
    change = _replace_rows(view, "外線発信設定", "内線番号", extension, rows)
    errors = FieldErrors()
    if not rows and extension not in view.extensions:
        # 設定しない writes no row, so no document rule sees the extension: name it here.
        errors.add(*_EXTENSION_UNKNOWN, "outbound.extension_exists")
    _word(_verdict(view, change.document, change.places), errors)
    return errors


# --- 不在時動作設定 -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AbsenceDraft:
    """The 不在時動作設定 form as submitted (every value a string, 留守番電話 a flag)."""

    enabled: str = ABSENCE_OFF
    kind: str = ""
    forward_to: str = ""
    unconditional: str = Action.NONE.value
    busy: str = Action.NONE.value
    unreachable: str = Action.NONE.value
    no_answer: str = Action.NONE.value
    ring_time: str = ""
    reach_number_1: str = ""
    reach_start_1: str = ""
    reach_number_2: str = ""
    reach_start_2: str = ""
    reach_end: str = ""
    voicemail: bool = False


@dataclass(frozen=True, kw_only=True)
class AbsenceValue:
    """A valid 不在時動作 (None for 未設定). ``kind`` is FORWARD_KIND or REACH_KIND."""

    kind: str
    forward_to: str | None = None
    unconditional: Action = Action.NONE
    busy: Action = Action.NONE
    unreachable: Action = Action.NONE
    no_answer: Action = Action.NONE
    ring_time: int | None = None
    reach_number_1: str | None = None
    reach_start_1: int | None = None
    reach_number_2: str | None = None
    reach_start_2: int | None = None
    reach_end: int | None = None
    voicemail: bool = False


@dataclass(frozen=True, kw_only=True)
class AbsenceCheck:
    """The verdict on a 不在時動作設定「設定」: what to save (None: 未設定) or the messages."""

    value: AbsenceValue | None
    errors: FieldErrors


def _absence_row(draft: AbsenceDraft, errors: FieldErrors) -> dict[str, Any]:
    kind = REACH_KIND if draft.kind == REACH_KIND_MISSPELT else draft.kind.strip()
    row: dict[str, Any] = {}
    _text(kind, row, "種別")
    if kind == REACH_KIND:
        _text(draft.reach_number_1, row, "接続先番号1")
        for key, name, raw in (
            ("呼出開始時間1", "reach_start_1", draft.reach_start_1),
            ("呼出開始時間2", "reach_start_2", draft.reach_start_2),
            ("呼出終了時間", "reach_end", draft.reach_end),
        ):
            _seconds(raw, row, key, errors, model=SingleNumberReach, name=name, label=key)
        _text(draft.reach_number_2, row, "接続先番号2")
        row["留守番電話"] = draft.voicemail
    else:  # 転送/留守番電話, or a 種別 the guide refuses (its message names the choices)
        _text(draft.forward_to, row, "転送先電話番号")
        row["転送動作"] = {label: getattr(draft, name) for name, label in ACTION_STATES}
        _seconds(
            draft.ring_time,
            row,
            "呼出時間",
            errors,
            model=ForwardAbsence,
            name="ring_time",
            label="呼出時間",
        )
    return row


def check_absence(
    extension: str, draft: AbsenceDraft, view: TenantView, faults: Faults = NO_FAULTS
) -> AbsenceCheck:
    """不在時動作設定「設定」 of ``extension``: its entry replaced (未設定: removed), checked.
    ``faults``: the web site's deviations switched on (``ring-time-upper-unchecked``)."""
    errors = FieldErrors()
    if draft.enabled not in (ABSENCE_OFF, ABSENCE_ON):
        errors.add("enabled", "不在時動作は未設定・設定から選択してください。", ENABLED_RULE)
        return AbsenceCheck(value=None, errors=errors)
    document = view.document()
    entries = document.setdefault("不在時動作設定", {})
    entries.pop(extension, None)
    if draft.enabled == ABSENCE_OFF:
        if extension not in view.extensions:
            errors.add(*_EXTENSION_UNKNOWN, "absence.extension_exists")
        return AbsenceCheck(value=None, errors=errors)
    row = _absence_row(draft, errors)
    over = row.get("呼出時間")
    if faults.on(RING_TIME_UPPER_UNCHECKED) and isinstance(over, int) and over > _RING_HIGH:
        row["呼出時間"] = _RING_HIGH  # the form's upper bound is not checked …
    else:
        over = None
    entries[extension] = row
    _word(_verdict(view, document, [f"{SETTINGS_FILE} › 不在時動作設定 › {extension}"]), errors)
    if errors:
        return AbsenceCheck(value=None, errors=errors)
    # The entry passed its field checks above: validating it alone gives its typed form.
    value = absence_value(_ABSENCE.validate_python(row))
    if over is not None:  # … and the value given is what is saved
        value = dataclasses.replace(value, ring_time=over)
    return AbsenceCheck(value=value, errors=errors)


def absence_value(absence: ForwardAbsence | SingleNumberReach) -> AbsenceValue:
    """A 設定 document's 不在時動作 entry as the store keeps it."""
    if isinstance(absence, ForwardAbsence):
        return AbsenceValue(
            kind=FORWARD_KIND,
            forward_to=absence.forward_to,
            unconditional=absence.actions.unconditional,
            busy=absence.actions.busy,
            unreachable=absence.actions.unreachable,
            no_answer=absence.actions.no_answer,
            ring_time=absence.ring_time,
        )
    return AbsenceValue(
        kind=REACH_KIND,
        reach_number_1=absence.reach_number_1,
        reach_start_1=absence.reach_start_1,
        reach_number_2=absence.reach_number_2,
        reach_start_2=absence.reach_start_2,
        reach_end=absence.reach_end,
        voicemail=absence.voicemail,
    )
