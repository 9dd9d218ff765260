"""Validation of one settings change, by the rules of ../shared/DOMAIN.md.

Pure functions: raw values as submitted (strings from a form, or the 設定 document's values
turned into strings) and the tenant's current state in, typed values or Japanese messages out.
The store calls them inside the change's transaction, so the state they see is the state the
change is written over; the web layer and the provisioning API share them, so a rule holds the
same way on both surfaces.

Messages are Japanese (they are shown beside the field on the settings site) and say what is
allowed, so the person can fix the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.guide.types import Action, GroupKind, TerminalKind

MAX_GROUPS = 200
"""着信グループ: up to 200 groups (S)."""
GROUP_RING_TIME = (5, 60)
"""Group 呼出時間 (s): not published; 5–60 as in harness.guide (default 20)."""
DEFAULT_GROUP_RING_TIME = 20  # what the add form shows; left blank, the service default applies
ABSENCE_RING_TIME = (5, 30)
REACH_START = (1, 30)
REACH_END = (5, 60)
PHONE_NUMBER_MAX = 32

FORWARD_KIND = "転送/留守番電話"
REACH_KIND = "シングルナンバーリーチ"
REACH_KIND_MISSPELT = "シングルナンバーリッチ"
ABSENCE_OFF = "未設定"
ABSENCE_ON = "設定"

_PHONE = re.compile(r"[0-9-]+")
_INT = re.compile(r"[0-9]{1,4}")


class FieldErrors(dict[str, str]):
    """Field name → Japanese message; empty when the change is valid."""

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, message)


@dataclass(frozen=True, kw_only=True)
class TenantView:
    """What the rules need to know of the tenant's current state."""

    extensions: Mapping[str, TerminalKind]
    """内線番号 → 端末種別."""
    external_numbers: frozenset[str]
    pilots: Mapping[str, int] = field(default_factory=dict)
    """代表番号 → group id (順次着信 / 一斉着信)."""
    pickup_members: Mapping[str, int] = field(default_factory=dict)
    """内線番号 → id of the コールピックアップ group it belongs to."""
    group_count: int = 0


# --- small parsers ----------------------------------------------------------------------------


def parse_seconds(
    raw: str, *, label: str, bounds: tuple[int, int], required: bool, errors: FieldErrors, name: str
) -> int | None:
    """A whole number of seconds within ``bounds``; None when empty and not required."""
    text = raw.strip()
    low, high = bounds
    if not text:
        if required:
            errors.add(name, f"{label}を入力してください（{low}〜{high}秒）。")
        return None
    if not _INT.fullmatch(text) or not low <= int(text) <= high:
        errors.add(name, f"{label}は{low}〜{high}の整数（秒）で入力してください。")
        return None
    return int(text)


def parse_phone_number(
    raw: str, *, label: str, required: bool, errors: FieldErrors, name: str
) -> str | None:
    """Digits and hyphens, at most 32 characters; hyphens are dropped (DOMAIN.md)."""
    text = raw.strip()
    if not text:
        if required:
            errors.add(name, f"{label}を入力してください。")
        return None
    if len(text) > PHONE_NUMBER_MAX or not _PHONE.fullmatch(text) or not text.strip("-"):
        errors.add(name, f"{label}は数字とハイフンで{PHONE_NUMBER_MAX}文字以内で入力してください。")
        return None
    return text.replace("-", "")


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


def check_group(draft: GroupDraft, view: TenantView) -> tuple[GroupValue | None, FieldErrors]:
    """着信グループ rules: kind, pilot (not for pickup, one group per pilot), members."""
    errors = FieldErrors()
    kinds = {k.value: k for k in GroupKind}
    kind = kinds.get(draft.kind.strip())
    if kind is None:
        errors.add("kind", "種別は順次着信・一斉着信・コールピックアップから選択してください。")
    if view.group_count >= MAX_GROUPS:
        errors.add("kind", f"着信グループは{MAX_GROUPS}件まで登録できます。")
    pilot: str | None = draft.pilot.strip() or None
    if kind is GroupKind.PICKUP:
        if pilot is not None:
            errors.add("pilot", "コールピックアップには代表番号を設定できません。")
        pilot = None
    elif kind is not None:
        if pilot is None:
            errors.add("pilot", "代表番号を選択してください。")
        elif pilot not in view.extensions:
            errors.add("pilot", "代表番号はご利用中の内線番号から選択してください。")
        elif view.extensions[pilot] is TerminalKind.VOIP_GW:
            errors.add("pilot", "VoIP-GWの内線番号は代表番号にできません。")
        elif pilot in view.pilots:
            errors.add("pilot", "この内線番号は既に別の着信グループの代表番号です。")
    members = tuple(m.strip() for m in draft.members if m.strip())
    if not members:
        errors.add("members", "メンバーを1件以上入力してください。")
    for member in members:
        if member not in view.extensions:
            errors.add("members", f"メンバー「{member[:40]}」はご利用中の内線番号ではありません。")
        elif view.extensions[member] is TerminalKind.VOIP_GW:
            errors.add("members", f"VoIP-GWの内線番号「{member}」はメンバーにできません。")
        elif kind is GroupKind.PICKUP and member in view.pickup_members:
            errors.add(
                "members",
                f"内線番号「{member}」は既に別のコールピックアップグループのメンバーです。",
            )
    if len(set(members)) != len(members):
        errors.add("members", "同じ内線番号をメンバーに重複して指定することはできません。")
    if kind is GroupKind.PICKUP and 0 < len(set(members)) < 2:
        # members pick up each other's calls: one member alone has nobody to pick up from
        errors.add("members", "コールピックアップのメンバーは2件以上入力してください。")
    ring_time = parse_seconds(
        draft.ring_time,
        label="呼出時間",
        bounds=GROUP_RING_TIME,
        required=False,
        errors=errors,
        name="ring_time",
    )
    if errors or kind is None:
        return None, errors
    value = GroupValue(
        kind=kind,
        pilot=pilot,
        members=members,
        ring_time=ring_time,
    )
    return value, errors


# --- 外線着信設定 / 外線発信設定 ------------------------------------------------------------------


def check_inbound(external_number: str, destination: str, view: TenantView) -> FieldErrors:
    """外線着信設定: the 外線番号 exists; 着信先 is an extension or a group's 代表番号."""
    errors = FieldErrors()
    if external_number not in view.external_numbers:
        errors.add("external_number", "外線番号がご利用内容にありません。")
    target = destination.strip()
    if not target:
        errors.add("destination", "着信先を選択してください。")
    elif target not in view.extensions and target not in view.pilots:
        errors.add(
            "destination", "着信先は内線番号または着信グループの代表番号から選択してください。"
        )
    return errors


def check_outbound(extension: str, caller_id: str, view: TenantView) -> FieldErrors:
    """外線発信設定: an existing extension; 発信者番号 empty (none) or one of the 外線番号."""
    errors = FieldErrors()
    if extension not in view.extensions:
        errors.add("extension", "内線番号がご利用内容にありません。")
    number = caller_id.strip()
    if number and number not in view.external_numbers:
        errors.add("caller_id", "発信者番号はご契約の外線番号から選択してください。")
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


ACTION_STATES = (
    ("unconditional", "無条件"),
    ("busy", "話中"),
    ("unreachable", "圏外"),
    ("no_answer", "無応答"),
)


def check_absence(
    extension: str, draft: AbsenceDraft, view: TenantView
) -> tuple[AbsenceValue | None, FieldErrors]:
    """不在時動作設定 rules of DOMAIN.md; returns (None, {}) for a valid 未設定."""
    errors = FieldErrors()
    kind = view.extensions.get(extension)
    if kind is None:
        errors.add("extension", "内線番号がご利用内容にありません。")
        return None, errors
    if draft.enabled not in (ABSENCE_OFF, ABSENCE_ON):
        errors.add("enabled", "不在時動作は未設定・設定から選択してください。")
        return None, errors
    if draft.enabled == ABSENCE_OFF:
        return None, errors
    if kind is TerminalKind.VOIP_GW:
        errors.add("enabled", "VoIP-GWの内線番号には不在時動作を設定できません。")
        return None, errors
    chosen = REACH_KIND if draft.kind == REACH_KIND_MISSPELT else draft.kind
    if chosen == FORWARD_KIND:
        return _check_forward(extension, draft, errors)
    if chosen == REACH_KIND:
        return _check_reach(draft, errors)
    errors.add(
        "kind", "転送/留守番電話設定・シングルナンバーリーチ設定のどちらかを選択してください。"
    )
    return None, errors


def _check_forward(
    extension: str, draft: AbsenceDraft, errors: FieldErrors
) -> tuple[AbsenceValue | None, FieldErrors]:
    actions: dict[str, Action] = {}
    by_value = {a.value: a for a in Action}
    for name, label in ACTION_STATES:
        action = by_value.get(getattr(draft, name))
        if action is None:
            errors.add(
                name, f"転送動作（{label}）は転送・留守番電話・設定しないから選択してください。"
            )
        else:
            actions[name] = action
    any_forward = Action.FORWARD in actions.values()
    forward_to = parse_phone_number(
        draft.forward_to,
        label="転送先電話番号",
        required=any_forward,
        errors=errors,
        name="forward_to",
    )
    if forward_to is not None and forward_to == extension:
        errors.add("forward_to", "転送先電話番号に自分の内線番号は設定できません。")
    no_answer = actions.get("no_answer", Action.NONE)
    ring_time = parse_seconds(
        draft.ring_time,
        label="呼出時間",
        bounds=ABSENCE_RING_TIME,
        required=no_answer is not Action.NONE,
        errors=errors,
        name="ring_time",
    )
    if errors:
        return None, errors
    value = AbsenceValue(
        kind=FORWARD_KIND,
        forward_to=forward_to,
        unconditional=actions["unconditional"],
        busy=actions["busy"],
        unreachable=actions["unreachable"],
        no_answer=no_answer,
        # 呼出時間 only means something when 無応答 acts; a leftover value is not kept, so the
        # saved settings read back as a 設定 document harness.guide accepts.
        ring_time=ring_time if no_answer is not Action.NONE else None,
    )
    return value, errors


def _check_reach(
    draft: AbsenceDraft, errors: FieldErrors
) -> tuple[AbsenceValue | None, FieldErrors]:
    number_1 = parse_phone_number(
        draft.reach_number_1,
        label="接続先番号1",
        required=True,
        errors=errors,
        name="reach_number_1",
    )
    start_1 = parse_seconds(
        draft.reach_start_1,
        label="呼出開始時間1",
        bounds=REACH_START,
        required=True,
        errors=errors,
        name="reach_start_1",
    )
    number_2 = parse_phone_number(
        draft.reach_number_2,
        label="接続先番号2",
        required=False,
        errors=errors,
        name="reach_number_2",
    )
    number_2_given = bool(draft.reach_number_2.strip())
    start_2 = parse_seconds(
        draft.reach_start_2,
        label="呼出開始時間2",
        bounds=REACH_START,
        required=number_2_given,
        errors=errors,
        name="reach_start_2",
    )
    if draft.reach_start_2.strip() and not number_2_given:
        errors.add("reach_start_2", "呼出開始時間2は接続先番号2を入力した場合のみ設定できます。")
    end = parse_seconds(
        draft.reach_end,
        label="呼出終了時間",
        bounds=REACH_END,
        required=True,
        errors=errors,
        name="reach_end",
    )
    if errors:
        return None, errors
    value = AbsenceValue(
        kind=REACH_KIND,
        reach_number_1=number_1,
        reach_start_1=start_1,
        reach_number_2=number_2,
        reach_start_2=start_2,
        reach_end=end,
        voicemail=draft.voicemail,
    )
    return value, errors
