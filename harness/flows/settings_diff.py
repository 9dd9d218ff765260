"""What the Web設定変更サイト shows, compared with the tenant's documents (verify-only).

Each screen and each document is turned into the same flat view — ``{setting path: value as
the screen writes it}`` — so one comparison serves every screen: :func:`differences` lists
every path whose values differ (a setting on one side only shows ``（なし）`` on the other).
A verify-only flow raises :class:`SettingsMismatch` (a ``ConformanceFailure``) listing every
difference of every screen it read, as a table a carrier can act on::

    setting                                   設定.yaml    shown
    着信グループ › 1 › メンバー                20200、20201  20200
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from harness.errors import ConformanceFailure
from harness.guide.types import (
    ForwardAbsence,
    GroupKind,
    RingGroup,
    SingleNumberReach,
    Tenant,
)
from harness.web.pages import AbsenceShown, ExtensionRow, InboundRouteRow, RingGroupRow

View = dict[str, str]
"""A flat view of settings: ``{setting path: value as the screen writes it}``."""

ABSENT = "（なし）"
"""How a table shows a setting that one side does not have."""

SEP = " › "


@dataclass(frozen=True, kw_only=True)
class Difference:
    """One setting whose value on the site is not the documents' value."""

    path: str
    expected: str
    shown: str


def differences(expected: Mapping[str, str], shown: Mapping[str, str]) -> list[Difference]:
    """Every path whose values differ, in the expected view's order then the shown one's."""
    paths = list(dict.fromkeys([*expected, *shown]))
    return [
        Difference(path=p, expected=expected.get(p, ABSENT), shown=shown.get(p, ABSENT))
        for p in paths
        if expected.get(p) != shown.get(p)
    ]


def table(found: Sequence[Difference], *, expected: str = "設定.yaml") -> str:
    """The differences as an aligned text table (setting, expected, shown)."""
    rows = [("setting", expected, "shown"), *((d.path, d.expected, d.shown) for d in found)]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(
        f"{path.ljust(widths[0])}  {want.ljust(widths[1])}  {got}" for path, want, got in rows
    )


class SettingsMismatch(ConformanceFailure):
    """The site shows settings other than the tenant's documents: every difference listed."""

    def __init__(self, subject: str, found: Sequence[Difference]) -> None:
        self.subject = subject
        self.differences = tuple(found)
        count = len(self.differences)
        noun = "setting differs" if count == 1 else "settings differ"
        super().__init__(f"{subject}: {count} {noun}\n{table(self.differences)}")


@dataclass
class MismatchCollector:
    """Gathers the differences of several screens, so one failure lists all of them."""

    subject: str
    found: list[Difference] = field(default_factory=list)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Run a step; a SettingsMismatch it raises is kept (the step still shows as failed
        in Allure) and the flow goes on to the next screen."""
        try:
            yield
        except SettingsMismatch as mismatch:
            self.found.extend(mismatch.differences)

    def check(self) -> None:
        """Raise one SettingsMismatch with everything gathered, if anything was."""
        if self.found:
            raise SettingsMismatch(self.subject, self.found)


def check_view(subject: str, expected: Mapping[str, str], shown: Mapping[str, str]) -> None:
    """Raise SettingsMismatch when ``shown`` differs from ``expected``."""
    found = differences(expected, shown)
    if found:
        raise SettingsMismatch(subject, found)


# --- 内線一覧表示 -----------------------------------------------------------------------------


def extensions_expected(tenant: Tenant) -> View:
    """内線番号情報1 as 内線一覧表示 lists it."""
    view: View = {}
    for t in tenant.guide.terminals:
        base = f"内線一覧表示{SEP}{t.extension}{SEP}"
        view |= {
            base + "拠点番号": t.site_number,
            base + "端末番号": t.terminal_number,
            base + "端末ID": t.terminal_id,
            base + "端末種別": t.terminal_kind.value,
        }
    return view


def extensions_shown(rows: Sequence[ExtensionRow]) -> View:
    view: View = {}
    for r in rows:
        base = f"内線一覧表示{SEP}{r.extension}{SEP}"
        view |= {
            base + "拠点番号": r.site_number,
            base + "端末番号": r.terminal_number,
            base + "端末ID": r.terminal_id,
            base + "端末種別": r.terminal_kind,
        }
    return view


# --- 着信グループ設定 --------------------------------------------------------------------------


def group_expected(index: int, group: RingGroup) -> View:
    """One 着信グループ of 設定.yaml as the list shows it (row ``index``, from 1).

    呼出時間 is the seconds the service applies (a group that leaves it out shows the default,
    20); a コールピックアップ that leaves it out shows none."""
    base = f"着信グループ{SEP}{index}{SEP}"
    shows_time = group.kind is not GroupKind.PICKUP or "ring_time" in group.model_fields_set
    return {
        base + "種別": group.kind.value,
        base + "代表番号": group.pilot or "",
        base + "メンバー": "、".join(group.members),
        base + "呼出時間": str(group.ring_time) if shows_time else "",
    }


def group_shown(index: int, row: RingGroupRow) -> View:
    base = f"着信グループ{SEP}{index}{SEP}"
    return {
        base + "種別": row.kind,
        base + "代表番号": row.pilot,
        base + "メンバー": "、".join(row.members),
        base + "呼出時間": "" if row.ring_time is None else str(row.ring_time),
    }


def groups_expected(groups: Sequence[RingGroup]) -> View:
    return {k: v for i, g in enumerate(groups, 1) for k, v in group_expected(i, g).items()}


def groups_shown(rows: Sequence[RingGroupRow]) -> View:
    return {k: v for i, r in enumerate(rows, 1) for k, v in group_shown(i, r).items()}


def first_group_difference(groups: Sequence[RingGroup], rows: Sequence[RingGroupRow]) -> int:
    """Index (0-based) of the first row that is not the document's group at that place;
    ``len(groups)`` when the site's list starts with exactly the document's groups."""
    for index, group in enumerate(groups):
        if index >= len(rows) or group_expected(index + 1, group) != group_shown(
            index + 1, rows[index]
        ):
            return index
    return len(groups)


# --- 外線着信設定 / 外線発信設定 ----------------------------------------------------------------

APPLIED = "設定済"


def inbound_expected(tenant: Tenant) -> View:
    """外線着信設定 of every 外線番号: its 着信先 and, when routed, 状態 「設定済」 (in effect)."""
    view: View = {}
    for number in tenant.external_numbers:
        destination = tenant.inbound_destination(number) or ""
        view[f"外線着信設定{SEP}{number}{SEP}着信先"] = destination
        if destination:
            view[f"外線着信設定{SEP}{number}{SEP}状態"] = APPLIED
    return view


def inbound_shown(rows: Sequence[InboundRouteRow]) -> View:
    view: View = {}
    for r in rows:
        view[f"外線着信設定{SEP}{r.external_number}{SEP}着信先"] = r.destination
        if r.destination:
            view[f"外線着信設定{SEP}{r.external_number}{SEP}状態"] = r.state
    return view


def outbound_expected(tenant: Tenant, extensions: Sequence[str]) -> View:
    """外線発信設定 of ``extensions`` (those the screen lists) and of every document row."""
    documented = [o.extension for o in tenant.settings.outbound_caller_ids]
    listed = list(dict.fromkeys([*extensions, *documented]))
    return {f"外線発信設定{SEP}{e}{SEP}発信者番号": tenant.caller_id_of(e) or "" for e in listed}


def outbound_shown(caller_ids: Mapping[str, str]) -> View:
    return {f"外線発信設定{SEP}{e}{SEP}発信者番号": c for e, c in caller_ids.items()}


# --- 不在時動作設定 ----------------------------------------------------------------------------

FORWARD_SCREEN_KIND = "転送/留守番電話設定"
REACH_SCREEN_KIND = "シングルナンバーリーチ設定"


def absence_expected(extension: str, absence: ForwardAbsence | SingleNumberReach | None) -> View:
    """The 不在時動作 of ``extension`` in 設定.yaml, as 不在時動作設定 shows it."""
    base = f"不在時動作設定{SEP}{extension}{SEP}"
    if absence is None:
        return {base + "不在時動作": "未設定"}
    if isinstance(absence, ForwardAbsence):
        a = absence.actions
        states = {"無条件": a.unconditional, "話中": a.busy, "圏外": a.unreachable}
        states["無応答"] = a.no_answer
        return {
            base + "不在時動作": "設定",
            base + "種別": FORWARD_SCREEN_KIND,
            base + "転送先電話番号": absence.forward_to or "",
            **{f"{base}転送動作{SEP}{s}": action.value for s, action in states.items()},
            base + "呼出時間": _text(absence.ring_time),
        }
    return {
        base + "不在時動作": "設定",
        base + "種別": REACH_SCREEN_KIND,
        base + "接続先番号1": absence.reach_number_1,
        base + "呼出開始時間1": str(absence.reach_start_1),
        base + "接続先番号2": absence.reach_number_2 or "",
        base + "呼出開始時間2": _text(absence.reach_start_2),
        base + "呼出終了時間": str(absence.reach_end),
        base + "留守番電話": "あり" if absence.voicemail else "なし",
    }


def absence_shown(extension: str, shown: AbsenceShown) -> View:
    """What 不在時動作設定 shows, as :func:`absence_expected` writes it (only the chosen
    種別's fields: the other's are neither saved nor checked)."""
    base = f"不在時動作設定{SEP}{extension}{SEP}"
    if not shown.enabled:
        return {base + "不在時動作": "未設定"}
    if shown.kind == FORWARD_SCREEN_KIND:
        return {
            base + "不在時動作": "設定",
            base + "種別": shown.kind,
            base + "転送先電話番号": shown.forward_to.replace("-", ""),
            **{f"{base}転送動作{SEP}{s}": action for s, action in shown.actions.items()},
            base + "呼出時間": shown.ring_time,
        }
    return {
        base + "不在時動作": "設定",
        base + "種別": shown.kind,
        base + "接続先番号1": shown.reach_number_1.replace("-", ""),
        base + "呼出開始時間1": shown.reach_start_1,
        base + "接続先番号2": shown.reach_number_2.replace("-", ""),
        base + "呼出開始時間2": shown.reach_start_2,
        base + "呼出終了時間": shown.reach_end,
        base + "留守番電話": "あり" if shown.voicemail else "なし",
    }


def _text(value: int | None) -> str:
    return "" if value is None else str(value)
