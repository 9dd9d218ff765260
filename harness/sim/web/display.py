"""What the screens say about the settings beyond their values (docs/web.md "What the screens
tell"): what a call to a 着信先 does, the seconds a 「既定」 呼出時間 stands for, and warnings
where a saved setting is overridden or can never act.

Pure functions of a ``RoutingSnapshot`` (and the ring-time defaults the SIP side applies):
they only describe; every rule that refuses a value lives in ``harness.sim.rules``. The
sentences follow ../shared/DOMAIN.md "Call routing semantics": rule 1 (a pilot number starts
its group), rule 2 (inside a group the members' own 不在時動作 is not applied, and a call to
the pilot never reaches its own 不在時動作) and rule 5 (a シングルナンバーリーチ leg whose
呼出開始時間 ≥ 呼出終了時間 never rings).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.guide.types import GroupKind
from harness.sim.rules import FORWARD_KIND, REACH_KIND, AbsenceValue
from harness.sim.store import GroupRecord, RingTimeDefaults, RoutingSnapshot

_KIND_LABEL = {FORWARD_KIND: "転送/留守番電話設定", REACH_KIND: "シングルナンバーリーチ設定"}


@dataclass(frozen=True, kw_only=True)
class DestinationOption:
    """One choice of the 着信先 list: the number, its label, and what a call to it does."""

    value: str
    label: str
    effect: str


def _ring_group(snapshot: RoutingSnapshot, number: str) -> GroupRecord | None:
    """The 順次着信/一斉着信 group whose 代表番号 is ``number`` (コールピックアップ has none)."""
    return snapshot.group_by_pilot(number)


def destination_effect(snapshot: RoutingSnapshot, number: str) -> str:
    """What a call routed to ``number`` does (DOMAIN.md rule 1: a pilot starts its group)."""
    group = _ring_group(snapshot, number)
    if group is not None:
        members = "、".join(group.members)
        return f"着信グループ（{group.kind.value}）{number} を呼び出します（メンバー: {members}）"
    if number in snapshot.terminals:
        absence = snapshot.absence.get(number)
        if absence is None:
            return f"内線 {number} を呼び出します"
        return (
            f"内線 {number} を呼び出します"
            f"（不在時動作「{_KIND_LABEL.get(absence.kind, absence.kind)}」が働きます）"
        )
    return ""


def destination_options(snapshot: RoutingSnapshot) -> list[DestinationOption]:
    """Every 着信先, one per number: an extension that is a group's 代表番号 is offered once, as
    that pilot — a call to it rings the group, never the extension alone (DOMAIN.md rule 1)."""
    options = []
    for extension in snapshot.terminals:
        group = _ring_group(snapshot, extension)
        kind = "内線" if group is None else f"{group.kind.value} 代表番号"
        options.append(
            DestinationOption(
                value=extension,
                label=f"{extension}（{kind}）",
                effect=destination_effect(snapshot, extension),
            )
        )
    return options


def group_deletion_warnings(snapshot: RoutingSnapshot, group: GroupRecord) -> list[str]:
    """On the 削除 confirmation: 外線番号 routed to the group's 代表番号 keep their route, which
    then reaches the extension alone (DOMAIN.md rule 1 no longer starts a group)."""
    if group.pilot is None:
        return []
    return [
        f"外線番号 {route.external_number} の着信先です。削除すると、{route.external_number} "
        f"への着信は内線 {group.pilot} を呼び出します。"
        for route in snapshot.inbound_routes.values()
        if route.destination == group.pilot
    ]


def ring_time_text(group: GroupRecord, defaults: RingTimeDefaults) -> str:
    """The 呼出時間 column: 「15秒」, or 「既定（20秒）」 with the seconds the SIP side applies to
    a group left without one (PbxParams G for 一斉着信, T per member for 順次着信)."""
    if group.ring_time is not None:
        return f"{group.ring_time}秒"
    if group.kind is GroupKind.SIMULTANEOUS:
        return f"既定（{_seconds(defaults.simultaneous)}秒）"
    if group.kind is GroupKind.SEQUENTIAL:
        return f"既定（{_seconds(defaults.sequential)}秒）"
    return "—"  # コールピックアップ rings nobody itself: no 呼出時間


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def absence_label(value: AbsenceValue) -> str:
    return _KIND_LABEL.get(value.kind, value.kind)


def pilot_absence_warning(snapshot: RoutingSnapshot, extension: str) -> str | None:
    """The warning for a 代表番号 that has its own 不在時動作 (DOMAIN.md rule 1 and 2): calls to
    the number start the group, so that 不在時動作 never acts on them. None when it does not
    apply (not a pilot, or no 不在時動作)."""
    group = _ring_group(snapshot, extension)
    absence = snapshot.absence.get(extension)
    if group is None or absence is None:
        return None
    return (
        f"内線 {extension} は着信グループ（{group.kind.value}）の代表番号です。"
        f"{extension} への着信は着信グループを呼び出すため、"
        f"内線 {extension} の不在時動作（{absence_label(absence)}）は行われません。"
    )


def absence_page_pilot_warning(snapshot: RoutingSnapshot, extension: str) -> str | None:
    """On 不在時動作設定 of a 代表番号: whatever is set there, calls to the number start the group
    (DOMAIN.md rule 1), so it never acts on them."""
    group = _ring_group(snapshot, extension)
    if group is None:
        return None
    return (
        f"内線 {extension} は着信グループ（{group.kind.value}）の代表番号です。"
        f"{extension} への着信は着信グループを呼び出すため、"
        "ここで設定する不在時動作は行われません。"
    )


def pilot_candidates_with_absence(snapshot: RoutingSnapshot, eligible: list[str]) -> list[str]:
    """On the 着信グループ追加 form: the extensions that have their own 不在時動作 and would lose
    it as 代表番号 (a pilot starts its group; DOMAIN.md rule 1)."""
    warnings = []
    for extension in eligible:
        absence = snapshot.absence.get(extension)
        if absence is None or _ring_group(snapshot, extension) is not None:
            continue  # nothing to lose, or already a pilot (the form refuses it anyway)
        warnings.append(
            f"内線 {extension} には不在時動作（{absence_label(absence)}）が設定されています。"
            f"代表番号にすると、{extension} への着信は着信グループを呼び出し、"
            "この不在時動作は行われません。"
        )
    return warnings


def silent_reach_legs(value: AbsenceValue | None) -> list[str]:
    """シングルナンバーリーチ legs that can never ring: 呼出開始時間 ≥ 呼出終了時間 (DOMAIN.md rule
    5; the setting is valid, the leg just never starts before every leg stops)."""
    if value is None or value.kind != REACH_KIND or value.reach_end is None:
        return []
    notes = []
    legs = (
        (1, value.reach_number_1, value.reach_start_1),
        (2, value.reach_number_2, value.reach_start_2),
    )
    for index, number, start in legs:
        if number is None or start is None or start < value.reach_end:
            continue
        notes.append(
            f"接続先番号{index}（{number}）は呼び出されません: 呼出開始時間{index}（{start}秒）が"
            f"呼出終了時間（{value.reach_end}秒）以上のため、呼び出す前に着信が終わります。"
        )
    return notes


def kind_switch_warnings(value: AbsenceValue | None) -> dict[str, str]:
    """What a save would clear, keyed by the choice that clears it (``"reach"``: switching to
    シングルナンバーリーチ設定, ``"forward"``: to 転送/留守番電話設定, ``"off"``: 未設定). Only the
    chosen 種別 is saved (docs/web.md), so the other one's saved values are lost."""
    if value is None:
        return {}
    saved = absence_label(value)
    if value.kind == FORWARD_KIND:
        detail = f"転送先電話番号 {value.forward_to}" if value.forward_to else "転送動作"
        switch = ("reach", "シングルナンバーリーチ設定")
    else:
        detail = f"接続先番号1 {value.reach_number_1}"
        switch = ("forward", "転送/留守番電話設定")
    lost = f"保存されている{saved}（{detail} など）は消去されます。"
    return {
        switch[0]: f"種別を「{switch[1]}」に切り替えて「設定」を押すと、{lost}",
        "off": f"不在時動作を「未設定」にして「設定」を押すと、{lost}",
    }
