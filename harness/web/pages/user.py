"""端末ユーザ screens of the Web設定変更サイト: top page and 不在時動作設定 (manual P.6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.web.pages.base import Screen, SignedInScreen, current_screen

FORWARD_STATES = ("無条件", "話中", "圏外", "無応答")
"""The 転送動作 states, in the screen's order (DOMAIN.md: unconditional, busy, unreachable,
no_answer)."""


class UserTopPage(SignedInScreen):
    """トップ画面 of a 端末ユーザ: its own 内線番号 and 「不在時動作設定」 (manual P.6)."""

    PATH = "/SmartPBX/User/Top"

    def extension(self) -> str:
        """The 内線番号 this account belongs to, as shown on the page."""
        term = self.page.get_by_role("term").filter(has_text="内線番号")
        return term.locator("xpath=following-sibling::dd[1]").inner_text().strip()

    def open_absence_settings(self) -> AbsencePage:
        """Follow 「不在時動作設定」."""
        self._click_and_wait(self.page.get_by_role("link", name="不在時動作設定"))
        return AbsencePage(self.page)


@dataclass(frozen=True, kw_only=True)
class AbsenceShown:
    """What 不在時動作設定 shows: every field as its text (empty when blank)."""

    enabled: bool
    kind: str
    forward_to: str
    actions: dict[str, str]
    ring_time: str
    reach_number_1: str
    reach_start_1: str
    reach_number_2: str
    reach_start_2: str
    reach_end: str
    voicemail: bool
    voicemail_password: str


class AbsencePage(SignedInScreen):
    """不在時動作設定 (manual P.6 【Step2】).

    「不在時動作の設定/未設定を選択します。「設定」を選択すると、「転送/留守番電話設定」[シングル
    ナンバーリッチ設定]のどちらか1つを設定できます。… 設定が完了しましたら、「設定」ボタンを押して
    ください。」 (the screens write シングルナンバーリーチ; DOMAIN.md).
    """

    PATH = "/SmartPBX/User/Absence"
    TITLE = "不在時動作設定"

    def set_absence_forwarding(
        self, forward_to: str, actions: Mapping[str, str], ring_time: int | str | None
    ) -> Screen:
        """Choose 不在時動作 「設定」 and 「転送/留守番電話設定」, fill 転送先電話番号, 転送動作
        per state and 呼出時間, press 「設定」.

        ``actions`` maps 無条件/話中/圏外/無応答 to 転送/留守番電話/設定しない; states left out are
        set to 設定しない. Returns this screen (saved, or with field errors).
        """
        self._choose_absence("設定")
        self.page.get_by_role("radio", name="転送/留守番電話設定").check()
        self.page.get_by_label("転送先電話番号").fill(forward_to)
        for state in FORWARD_STATES:
            self.page.get_by_label(state, exact=True).select_option(
                label=actions.get(state, "設定しない")
            )
        self.page.get_by_label("呼出時間", exact=True).fill(
            "" if ring_time is None else str(ring_time)
        )
        return self._press_set()

    def set_single_number_reach(
        self,
        number_1: str,
        start_1: int | str,
        number_2: str | None,
        start_2: int | str | None,
        end: int | str,
        voicemail: bool,
    ) -> Screen:
        """Choose 不在時動作 「設定」 and 「シングルナンバーリーチ設定」, fill 接続先番号1/2,
        呼出開始時間1/2, 呼出終了時間 and 留守番電話, press 「設定」.

        Returns this screen (saved, or with field errors)."""
        self._choose_absence("設定")
        self.page.get_by_role("radio", name="シングルナンバーリーチ設定").check()
        self.page.get_by_label("接続先番号1").fill(number_1)
        self.page.get_by_label("呼出開始時間1").fill(str(start_1))
        self.page.get_by_label("接続先番号2").fill(number_2 or "")
        self.page.get_by_label("呼出開始時間2").fill("" if start_2 is None else str(start_2))
        self.page.get_by_label("呼出終了時間").fill(str(end))
        self.page.get_by_label("留守番電話", exact=True).set_checked(voicemail)
        return self._press_set()

    def clear_absence(self) -> Screen:
        """不在時動作 「未設定」 and 「設定」."""
        self._choose_absence("未設定")
        return self._press_set()

    def shown(self) -> AbsenceShown:
        """Read every field as the screen shows it now."""
        label = self.page.get_by_label
        return AbsenceShown(
            enabled=self.page.get_by_role("radio", name="設定", exact=True).is_checked(),
            kind=(
                "シングルナンバーリーチ設定"
                if self.page.get_by_role("radio", name="シングルナンバーリーチ設定").is_checked()
                else "転送/留守番電話設定"
            ),
            forward_to=label("転送先電話番号").input_value(),
            actions={
                state: label(state, exact=True).locator("option:checked").inner_text().strip()
                for state in FORWARD_STATES
            },
            ring_time=label("呼出時間", exact=True).input_value(),
            reach_number_1=label("接続先番号1").input_value(),
            reach_start_1=label("呼出開始時間1").input_value(),
            reach_number_2=label("接続先番号2").input_value(),
            reach_start_2=label("呼出開始時間2").input_value(),
            reach_end=label("呼出終了時間").input_value(),
            voicemail=label("留守番電話", exact=True).is_checked(),
            voicemail_password=self.voicemail_password(),
        )

    def voicemail_password(self) -> str:
        """The 留守番電話パスワード shown (read only)."""
        term = self.page.get_by_role("term").filter(has_text="留守番電話パスワード")
        return term.locator("xpath=following-sibling::dd[1]").inner_text().strip()

    def back_to_top(self) -> UserTopPage:
        """Return to the 端末ユーザ's トップ画面."""
        self._click_and_wait(self.page.get_by_role("link", name="戻る"))
        return UserTopPage(self.page)

    def press_set(self) -> Screen:
        """Press 「設定」 with the form as it is now."""
        return self._press_set()

    def _choose_absence(self, choice: str) -> None:
        self.page.get_by_role("radio", name=choice, exact=True).check()

    def _press_set(self) -> Screen:
        self._click_and_wait(self.page.get_by_role("button", name="設定", exact=True))
        return current_screen(self.page)
