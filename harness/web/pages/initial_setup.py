"""初期設定: the administrator's wizard, in the manual's order (P.2 【Step2】 ①–④).

内線一覧表示 → 着信グループ設定 (+ 追加 form) → 外線着信設定 → 外線発信設定 → トップ画面.
Values are passed as the screen shows them (種別 「順次着信」, 内線番号 「20200」), so the 設定.yaml
document's values (harness.guide) go in unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playwright.sync_api import Locator

from harness.web.pages.base import Screen, SignedInScreen, cell_value, current_screen

if TYPE_CHECKING:
    from harness.web.pages.admin import AdminTopPage


@dataclass(frozen=True, kw_only=True)
class ExtensionRow:
    """One line of 内線一覧表示."""

    extension: str
    site_number: str
    terminal_number: str
    terminal_id: str
    terminal_kind: str


@dataclass(frozen=True, kw_only=True)
class RingGroupRow:
    """One line of the 着信グループ table (``pilot`` is empty for コールピックアップ)."""

    kind: str
    pilot: str
    members: tuple[str, ...]
    ring_time: int | None
    """Seconds, as shown (「20秒」 → 20; 「既定（20秒）」, a group saved without one → the
    seconds the service applies, 20); None when none is shown (コールピックアップ: 「—」)."""


@dataclass(frozen=True, kw_only=True)
class InboundRouteRow:
    """One line of 外線着信設定: ``destination`` empty when 未設定; ``state`` as shown
    (「設定済」, 「接続エラー」, or empty)."""

    external_number: str
    kind: str
    destination: str
    state: str
    effect: str = ""
    """What a call to the 外線番号 does, as the 「着信時の動作」 column says it
    (「内線 20201 を呼び出します」); empty when 未設定."""

    @classmethod
    def from_cells(cls, row: Mapping[str, str]) -> InboundRouteRow:
        """The row of the table's cells ``{header: text}`` (a browser's or an HTML reader's)."""
        return cls(
            external_number=row["外線番号"],
            kind=row.get("種別", ""),
            destination=cell_value(row.get("着信先", "")),
            state=cell_value(row.get("状態", "")),
            effect=cell_value(row.get("着信時の動作", "")),
        )


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[、,\s]+", cell_value(text)) if word]


def _seconds(text: str) -> int | None:
    digits = re.search(r"\d+", text)
    return int(digits.group()) if digits else None


class _WizardScreen(SignedInScreen):
    def _next(self) -> None:
        self._click_and_wait(self.page.get_by_role("link", name="次へ"))

    def _back(self) -> None:
        self._click_and_wait(self.page.get_by_role("link", name="戻る"))


class ExtensionListPage(_WizardScreen):
    """1. 内線一覧表示 (read only).

    Manual P.2 【Step2】 ①: 「最初は、お申込みいただいた内線番号一覧が表示されます。この画面
    では設定は行いません。」
    """

    PATH = "/SmartPBX/Init/Extensions"
    TITLE = "内線一覧表示"

    def extensions(self) -> list[ExtensionRow]:
        """The table of 内線番号, 拠点番号, 端末番号, 端末ID, 端末種別."""
        return [
            ExtensionRow(
                extension=row["内線番号"],
                site_number=row["拠点番号"],
                terminal_number=row["端末番号"],
                terminal_id=row["端末ID"],
                terminal_kind=row["端末種別"],
            )
            for row in self._table()
        ]

    def next(self) -> RingGroupPage:
        """Press 「次へ」 to 着信グループ設定."""
        self._next()
        return RingGroupPage(self.page)


class RingGroupPage(_WizardScreen):
    """2. 着信グループ設定: the list of groups.

    Manual P.2 【Step2】 ②: 「着信グループを作成する場合は、「追加」を押していただき、「順次着信」、
    「一斉着信」、「コールピックアップ」のグループを作成してください。」
    """

    PATH = "/SmartPBX/Init/Groups"
    TITLE = "着信グループ設定"

    def groups(self) -> list[RingGroupRow]:
        """The groups in the table, in the order shown."""
        return [
            RingGroupRow(
                kind=row["種別"],
                pilot=cell_value(row.get("代表番号", "")),
                members=tuple(_words(row.get("メンバー", ""))),
                ring_time=_seconds(row.get("呼出時間", "")),
            )
            for row in self._table()
        ]

    def open_add_form(self) -> RingGroupAddForm:
        """Press 「追加」."""
        self._click_and_wait(self.page.get_by_role("button", name="追加"))
        return RingGroupAddForm(self.page)

    def add_group(
        self, kind: str, pilot: str | None, members: Sequence[str], ring_time: int | None = None
    ) -> Screen:
        """Press 「追加」, fill 種別, 代表番号 (none for コールピックアップ), メンバー in ring order
        and 呼出時間, then press 「設定」.

        Returns this list (the group was added) or the form with its field errors.
        """
        return self.open_add_form().fill(kind, pilot, members, ring_time).submit()

    def open_delete(self, index: int) -> RingGroupDeletePage:
        """Press 「削除」 on the ``index``-th group of the table (0 = first): the site asks for
        confirmation first."""
        row = self.page.get_by_role("table").first.locator("tbody tr").nth(index)
        self._click_and_wait(row.get_by_role("button", name="削除"))
        return RingGroupDeletePage(self.page)

    def delete_group(self, index: int) -> Screen:
        """Press 「削除」 on the ``index``-th group of the table (0 = first) and confirm with
        「削除する」; returns the list (「削除しました。」)."""
        return self.open_delete(index).confirm()

    def next(self) -> InboundRoutePage:
        """Press 「次へ」 to 外線着信設定."""
        self._next()
        return InboundRoutePage(self.page)

    def back(self) -> ExtensionListPage:
        """Press 「戻る」 to 内線一覧表示."""
        self._back()
        return ExtensionListPage(self.page)


class RingGroupDeletePage(Screen):
    """着信グループの削除: the confirmation 「削除」 on 着信グループ設定 asks for (docs/web.md)."""

    PATH = "/SmartPBX/Init/Groups/{id}/Delete"

    def group(self) -> dict[str, str]:
        """The group about to be deleted, as ``{種別, 代表番号, メンバー, 呼出時間: text}``."""
        pairs: list[list[str]] = self.page.evaluate(_READ_SUMMARY)
        return {term: value for term, value in pairs}

    def confirm(self) -> Screen:
        """Press 「削除する」: the group is deleted, back to the list."""
        self._click_and_wait(self.page.get_by_role("button", name="削除する"))
        return current_screen(self.page)

    def cancel(self) -> RingGroupPage:
        """Follow 「キャンセル」: nothing is deleted, back to the list."""
        self._click_and_wait(self.page.get_by_role("link", name="キャンセル"))
        return RingGroupPage(self.page)


_READ_SUMMARY = """() => Array.from(document.querySelectorAll('main dl.summary dt'), (dt) => {
  const dd = dt.nextElementSibling;
  return [dt.innerText.trim(), dd ? dd.innerText.trim() : ''];
})"""


class RingGroupAddForm(Screen):
    """着信グループの追加 form, opened by 「追加」 on 着信グループ設定 (manual P.2 【Step2】 ②)."""

    PATH = "/SmartPBX/Init/Groups/Add"

    def fill(
        self, kind: str, pilot: str | None, members: Sequence[str], ring_time: int | None = None
    ) -> RingGroupAddForm:
        """Choose 種別 and 代表番号, type the メンバー in ring order, and 呼出時間 when given."""
        self.page.get_by_label("種別").select_option(label=kind)
        self.page.get_by_label("代表番号").select_option(value=pilot or "")
        # メンバー1..N, one 内線番号 each in ring order; the form offers one box per extension
        # that may be a member, so boxes beyond ``members`` are cleared.
        boxes = self.page.get_by_label(re.compile(r"^メンバー\d+$"))
        for position in range(boxes.count()):
            boxes.nth(position).fill(members[position] if position < len(members) else "")
        for position in range(boxes.count(), len(members)):
            self.page.get_by_label(f"メンバー{position + 1}", exact=True).fill(members[position])
        if ring_time is not None:
            self.page.get_by_label("呼出時間").fill(str(ring_time))
        return self

    def submit(self) -> Screen:
        """Press 「設定」: back to the group list, or this form with its field errors."""
        self._click_and_wait(self.page.get_by_role("button", name="設定"))
        return current_screen(self.page)


class InboundRoutePage(_WizardScreen):
    """3. 外線着信設定: each 外線番号's 着信先.

    Manual P.2 【Step2】 ③: 「対象の外線番号を選択のうえ「設定」を押していただき、着信させたい
    内線番号を設定してください。*1」 — *1: 「外線サービス開通後に設定してください。開通前に
    設定し接続エラーとなった場合は、設定ボタンを押し直してください。」
    """

    PATH = "/SmartPBX/Init/Inbound"
    TITLE = "外線着信設定"

    def routes(self) -> list[InboundRouteRow]:
        """The 外線番号 table, in the order shown."""
        return [InboundRouteRow.from_cells(row) for row in self._table()]

    def set_inbound_route(self, external_number: str, destination: str) -> Screen:
        """Select the 外線番号's 「設定」, choose 着信先 ``destination``, press 「設定」.

        Returns this list, or the form showing 「接続エラー」 when the line is not 開通 yet;
        then :meth:`InboundRouteForm.press_set_again` is the manual's remedy.
        """
        self._click_and_wait(self._row(external_number).get_by_role("button", name="設定"))
        return InboundRouteForm(self.page).choose_destination(destination).submit()

    def next(self) -> OutboundCallerIdPage:
        """Press 「次へ」 to 外線発信設定."""
        self._next()
        return OutboundCallerIdPage(self.page)

    def back(self) -> RingGroupPage:
        """Press 「戻る」 to 着信グループ設定."""
        self._back()
        return RingGroupPage(self.page)


class InboundRouteForm(Screen):
    """The 着信先 form of one 外線番号 on 外線着信設定 (manual P.2 【Step2】 ③)."""

    PATH = "/SmartPBX/Init/Inbound/{外線番号}"

    def _form(self) -> Locator:
        return self.page.locator("form").filter(has=self.page.get_by_label("着信先"))

    def choose_destination(self, destination: str) -> InboundRouteForm:
        """Choose 着信先: an extension or a group's 代表番号."""
        self.page.get_by_label("着信先").select_option(value=destination)
        return self

    def destinations(self) -> list[tuple[str, str]]:
        """The 着信先 offered, as ``(number, label)`` (「20200（一斉着信 代表番号）」)."""
        pairs: list[list[str]] = self.page.get_by_label("着信先").evaluate(
            "(s) => Array.from(s.options).filter((o) => o.value).map((o) => [o.value, o.text])"
        )
        return [(value, label) for value, label in pairs]

    def current_effect(self) -> str:
        """What a call to this 外線番号 does with the saved 着信先 (empty when 未設定)."""
        effect = self.page.locator("#destination-effect")
        if not effect.count():
            return ""
        return effect.inner_text().strip().removeprefix("現在の設定: ")

    def submit(self) -> Screen:
        """Press 「設定」."""
        self._click_and_wait(self._form().get_by_role("button", name="設定"))
        return current_screen(self.page)

    def press_set_again(self) -> Screen:
        """Press 「設定」 again after a 接続エラー (manual P.2 *1)."""
        return self.submit()


class OutboundCallerIdPage(_WizardScreen):
    """4. 外線発信設定: each extension's 発信者番号, the last screen of 初期設定.

    Manual P.2 【Step2】 ④: 「対象の内線番号を選択のうえ、「設定」を押していただき、発信者番号として
    設定したい外線番号を設定してください。」
    """

    PATH = "/SmartPBX/Init/Outbound"
    TITLE = "外線発信設定"

    def caller_ids(self) -> dict[str, str]:
        """``{内線番号: 発信者番号}`` as listed (empty when none is set)."""
        return {row["内線番号"]: cell_value(row.get("発信者番号", "")) for row in self._table()}

    def set_outbound_caller_id(self, extension: str, external_number: str) -> Screen:
        """Press the extension's 「設定」, choose 発信者番号 ``external_number`` (``""`` for
        設定しない) and press 「設定」. Returns this list, or the form with its field error."""
        self._click_and_wait(self._row(extension).get_by_role("button", name="設定"))
        return OutboundCallerIdForm(self.page).choose_caller_id(external_number).submit()

    def finish(self) -> AdminTopPage:
        """Press 「完了」: 初期設定 is over, back to the トップ画面."""
        from harness.web.pages.admin import AdminTopPage

        self._click_and_wait(self.page.get_by_role("link", name="完了"))
        return AdminTopPage(self.page)

    def back(self) -> InboundRoutePage:
        """Press 「戻る」 to 外線着信設定."""
        self._back()
        return InboundRoutePage(self.page)


class OutboundCallerIdForm(Screen):
    """The 発信者番号 form of one extension on 外線発信設定 (manual P.2 【Step2】 ④)."""

    PATH = "/SmartPBX/Init/Outbound/{内線番号}"

    def choose_caller_id(self, external_number: str) -> OutboundCallerIdForm:
        """Choose 発信者番号: a 外線番号 of the contract, or ``""`` for 設定しない."""
        self.page.get_by_label("発信者番号").select_option(value=external_number)
        return self

    def submit(self) -> Screen:
        """Press 「設定」."""
        form = self.page.locator("form").filter(has=self.page.get_by_label("発信者番号"))
        self._click_and_wait(form.get_by_role("button", name="設定"))
        return current_screen(self.page)
