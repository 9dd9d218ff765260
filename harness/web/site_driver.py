"""What a person does on the Web設定変更サイト, as one interface with two drivers.

:class:`SiteDriver` is the list of actions (add or delete a 着信グループ, route a 外線番号, set a
発信者番号, 多要素認証 on/off, set or clear 不在時動作) and readings (each list as shown) that
the stateful test (tests/web/test_site_state_machine.py) performs; one driver instance is one
logged-in account. Two drivers implement it:

- :class:`BrowserSite` (here) drives the screens in Chromium through the page objects of
  :mod:`harness.web.pages` (the ``thorough`` profile);
- ``HttpSite`` (tests/web/http_site.py) posts the same forms over plain HTTP with the page's
  CSRF token, the way a browser without JavaScript would (every profile). It lives in the
  tests: harness.web drives a browser and imports no HTTP client (contract
  ``web-report-leaves``).

Every action returns an :class:`Outcome`: whether the site confirmed the save, and the
messages shown beside fields keyed by the field's accessible name (its ``<label>`` or the
legend its ``aria-labelledby`` names), read as assistive technology reads them (docs/web.md:
``aria-invalid`` + ``aria-describedby``). Like the page objects, drivers never assert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from playwright.sync_api import Page

from harness.web.pages import (
    AbsencePage,
    AbsenceShown,
    AccountSettingsPage,
    InboundRoutePage,
    InboundRouteRow,
    OutboundCallerIdPage,
    RingGroupPage,
    RingGroupRow,
    Screen,
    SettingsLoginPage,
)
from harness.web.pages.initial_setup import InboundRouteForm, OutboundCallerIdForm

SAVED_NOTICES = ("設定しました。", "削除しました。")
"""The confirmations the site shows after a save (docs/web.md "Conventions"); a notice may go
on (「設定しました。（転送/留守番電話設定の内容は消去しました。）」)."""

NOT_OFFERED = "（選択肢にありません）"
"""The message of an :class:`Outcome` whose value the form's ``<select>`` does not offer: a
person in a browser cannot choose it, so the form was never sent."""


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What the site answered to one action."""

    saved: bool
    """The site confirmed it (「設定しました。」 / 「削除しました。」)."""
    field_errors: Mapping[str, str] = field(default_factory=dict)
    """``{field's accessible name: message shown beside it}``."""
    messages: tuple[str, ...] = ()
    """Notices of the whole page (errors and confirmations)."""


@dataclass(frozen=True, kw_only=True)
class ForwardForm:
    """転送/留守番電話設定 as a person types it: 転送先電話番号, 転送動作 per state
    (無条件/話中/圏外/無応答 → 転送/留守番電話/設定しない), 呼出時間."""

    forward_to: str
    actions: Mapping[str, str]
    ring_time: str


@dataclass(frozen=True, kw_only=True)
class ReachForm:
    """シングルナンバーリーチ設定 as a person types it."""

    number_1: str
    start_1: str
    number_2: str
    start_2: str
    end: str
    voicemail: bool


AbsenceForm = ForwardForm | ReachForm
"""One of the two forms of 不在時動作 「設定」."""


class SiteDriver(Protocol):
    """One logged-in account on the Web設定変更サイト (administrator or 端末ユーザ)."""

    def landing(self) -> str:
        """The path the login led to (``/SmartPBX/Top``, ``/SmartPBX/Mfa/Register`` …)."""
        ...

    # -- administrator: 初期設定 and アカウント設定 -------------------------------------------
    def groups(self) -> list[RingGroupRow]: ...
    def add_group(
        self, kind: str, pilot: str, members: Sequence[str], ring_time: str
    ) -> Outcome: ...
    def delete_group(self, index: int) -> Outcome: ...
    def inbound_routes(self) -> list[InboundRouteRow]: ...
    def set_inbound_route(self, external_number: str, destination: str) -> Outcome: ...
    def caller_ids(self) -> dict[str, str]: ...
    def set_outbound_caller_id(self, extension: str, caller_id: str) -> Outcome: ...
    def mfa_enabled(self) -> bool: ...
    def set_mfa(self, enabled: bool) -> Outcome: ...

    # -- 端末ユーザ: 不在時動作設定 ------------------------------------------------------------
    def absence(self) -> AbsenceShown: ...
    def set_absence(self, form: AbsenceForm) -> Outcome:
        """不在時動作 「設定」 with ``form``'s 種別 and values, 「設定」 pressed."""
        ...

    def clear_absence(self) -> Outcome: ...
    def close(self) -> None: ...


def confirms(messages: Sequence[str]) -> bool:
    return any(m.startswith(SAVED_NOTICES) for m in messages)


class BrowserSite:
    """:class:`SiteDriver` in Chromium, through the page objects (one page, one account)."""

    def __init__(self, page: Page, base_url: str, login_id: str, password: str) -> None:
        self.page = page
        self.base_url = base_url
        screen = SettingsLoginPage.open(page, base_url).login(login_id, password)
        self._landing = urlsplit(screen.page.url).path

    def landing(self) -> str:
        return self._landing

    def close(self) -> None:
        self.page.close()

    def _outcome(self, screen: Screen) -> Outcome:
        messages = tuple(screen.messages())
        return Outcome(
            saved=confirms(messages),
            field_errors=screen.field_errors(),
            messages=messages,
        )

    # -- administrator ---------------------------------------------------------------------
    def groups(self) -> list[RingGroupRow]:
        return RingGroupPage.open(self.page, self.base_url).groups()

    def add_group(self, kind: str, pilot: str, members: Sequence[str], ring_time: str) -> Outcome:
        form = RingGroupPage.open(self.page, self.base_url).open_add_form()
        offered = self.page.get_by_label("代表番号").evaluate(
            "(s) => Array.from(s.options, (o) => o.value)"
        )
        if pilot not in offered:
            return Outcome(saved=False, field_errors={"代表番号": NOT_OFFERED})
        form.fill(kind, pilot or None, members, None)
        self.page.get_by_label("呼出時間").fill(ring_time)
        return self._outcome(form.submit())

    def delete_group(self, index: int) -> Outcome:
        return self._outcome(RingGroupPage.open(self.page, self.base_url).delete_group(index))

    def inbound_routes(self) -> list[InboundRouteRow]:
        return InboundRoutePage.open(self.page, self.base_url).routes()

    def set_inbound_route(self, external_number: str, destination: str) -> Outcome:
        form = InboundRouteForm.open(self.page, self.base_url, external_number)
        if destination not in dict(form.destinations()) and destination != "":
            return Outcome(saved=False, field_errors={"着信先": NOT_OFFERED})
        return self._outcome(form.choose_destination(destination).submit())

    def caller_ids(self) -> dict[str, str]:
        return OutboundCallerIdPage.open(self.page, self.base_url).caller_ids()

    def set_outbound_caller_id(self, extension: str, caller_id: str) -> Outcome:
        form = OutboundCallerIdForm.open(self.page, self.base_url, extension)
        offered = self.page.get_by_label("発信者番号").evaluate(
            "(s) => Array.from(s.options, (o) => o.value)"
        )
        if caller_id not in offered:
            return Outcome(saved=False, field_errors={"発信者番号": NOT_OFFERED})
        return self._outcome(form.choose_caller_id(caller_id).submit())

    def mfa_enabled(self) -> bool:
        return AccountSettingsPage.open(self.page, self.base_url).mfa_enabled()

    def set_mfa(self, enabled: bool) -> Outcome:
        page = AccountSettingsPage.open(self.page, self.base_url)
        return self._outcome(page.enable_mfa() if enabled else page.disable_mfa())

    # -- 端末ユーザ ----------------------------------------------------------------------------
    def absence(self) -> AbsenceShown:
        return AbsencePage.open(self.page, self.base_url).shown()

    def set_absence(self, form: AbsenceForm) -> Outcome:
        page = AbsencePage.open(self.page, self.base_url)
        if isinstance(form, ForwardForm):
            return self._outcome(
                page.set_absence_forwarding(form.forward_to, form.actions, form.ring_time)
            )
        screen = page.set_single_number_reach(
            form.number_1, form.start_1, form.number_2, form.start_2, form.end, form.voicemail
        )
        return self._outcome(screen)

    def clear_absence(self) -> Outcome:
        return self._outcome(AbsencePage.open(self.page, self.base_url).clear_absence())
