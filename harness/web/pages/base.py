"""What every screen object shares: its page, its path, reading messages and field errors.

Page objects follow ../shared/STYLE.md §11: a method says what a person does on the screen,
finds elements by role and label text as that person reads them, returns the screen that
follows, and never asserts — tests and flows decide what is right.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Self
from urllib.parse import quote, urlsplit

from playwright.sync_api import Locator, Page

if TYPE_CHECKING:
    from harness.web.pages.login import SettingsLoginPage

_SCREENS: list[tuple[re.Pattern[str], type[Screen]]] = []

EMPTY_CELLS = frozenset({"", "未設定", "—", "-"})
"""What the tables show for "nothing set"."""


def cell_value(text: str) -> str:
    """A table cell's value: ``""`` for the screen's "nothing set" marks."""
    text = text.strip()
    return "" if text in EMPTY_CELLS else text


class Screen:
    """One screen of the business portal or the Web設定変更サイト, bound to a Playwright page."""

    PATH: ClassVar[str] = ""
    """Path of the screen under the site's base URL (docs/web.md); ``{name}`` marks a part that
    names a record (``/SmartPBX/Init/Inbound/{外線番号}``)."""
    TITLE: ClassVar[str] = ""
    """The screen's ``<h1>``, as printed in the manual."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.PATH:
            parts = re.split(r"\{[^}]+\}", cls.PATH.rstrip("/"))
            pattern = "[^/]+".join(re.escape(part) for part in parts)
            _SCREENS.append((re.compile(pattern + "/?"), cls))

    def __init__(self, page: Page) -> None:
        self.page = page

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.page.url!r})"

    @classmethod
    def open(cls, page: Page, base_url: str, *record: str) -> Self:
        """Type this screen's address into the browser (as a person with a bookmark would).

        ``record`` fills the ``{…}`` parts of :attr:`PATH` in order (e.g. the 外線番号).
        """
        page.goto(cls.url(base_url, *record), wait_until="domcontentloaded")
        return cls(page)

    @classmethod
    def url(cls, base_url: str, *record: str) -> str:
        """This screen's address under ``base_url``; ``record`` fills :attr:`PATH`'s ``{…}``."""
        values = iter(record)
        path = re.sub(r"\{[^}]+\}", lambda _: quote(next(values), safe=""), cls.PATH)
        return base_url.rstrip("/") + path

    @property
    def base_url(self) -> str:
        """``scheme://host:port`` of the site this page is on."""
        parts = urlsplit(self.page.url)
        return f"{parts.scheme}://{parts.netloc}"

    def heading(self) -> str:
        """The screen's title (its ``<h1>``)."""
        return self.page.get_by_role("heading", level=1).first.inner_text().strip()

    def messages(self) -> list[str]:
        """Notices of the whole page: errors (``role=alert``) and confirmations (``role=status``),
        without the messages beside fields (see :meth:`field_errors`)."""
        found = self.page.locator("[role=alert]:not(form [role=alert]), [role=status]")
        return [text.strip() for text in found.all_inner_texts() if text.strip()]

    def warnings(self) -> list[str]:
        """Warnings the page shows now (``.alert-warning``, ``role=note``): a setting that is
        overridden, can never act, or would be cleared by the choice made (docs/web.md). Those
        the stylesheet hides for the current choice are not read."""
        texts: list[str] = self.page.evaluate(_VISIBLE_WARNINGS)
        return texts

    def field_errors(self) -> dict[str, str]:
        """Error messages shown beside fields, as ``{field label: message}``.

        Read as assistive technology reads them (WAI-ARIA, docs/web.md): every field in error
        (an input, a select, the fieldset of a radio group or of the メンバー list) carries
        ``aria-invalid="true"`` and names its message in ``aria-describedby``; the key is that
        field's accessible name (``aria-labelledby``, else its ``<label>``). Fields the browser's
        own constraint validation refused (so the form was never sent) give the browser's
        message.
        """
        pairs: list[list[str]] = self.page.evaluate(_FIELD_ERRORS)
        refused_by_browser: list[list[str]] = self.page.evaluate(_BROWSER_ERRORS)
        return {label: message for label, message in [*pairs, *refused_by_browser]}

    def _table(self, table: Locator | None = None) -> list[dict[str, str]]:
        """The rows of a table as ``{column header: cell text}`` (the first table by default)."""
        target = table if table is not None else self.page.get_by_role("table").first
        rows: list[dict[str, str]] = target.evaluate(_READ_TABLE)
        return rows

    def _row(self, text: str, table: Locator | None = None) -> Locator:
        """The body row whose first cell reads ``text`` exactly; :class:`LookupError` if none."""
        target = table if table is not None else self.page.get_by_role("table").first
        firsts: list[str] = target.evaluate(
            "(t) => Array.from(t.querySelectorAll('tbody tr'), (r) => r.cells[0].innerText.trim())"
        )
        if text not in firsts:
            raise LookupError(f"{self.TITLE or self.page.url}: no row {text!r} (rows: {firsts})")
        return target.locator("tbody tr").nth(firsts.index(text))

    def _click_and_wait(self, target: Locator) -> None:
        """Click something that loads another page (a link or a form submit) and wait for it.

        A form the browser itself refuses (an ``<input type="email">`` holding no address)
        is not sent: the click shows the browser's message and there is nothing to wait for;
        :meth:`field_errors` reports that message.
        """
        if not target.evaluate(_FORM_IS_VALID):
            target.click()
            return
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            target.click()


class SignedInScreen(Screen):
    """A screen of a signed-in account: the header's 「ログアウト」 is on every one of them."""

    def logout(self) -> SettingsLoginPage:
        """Press 「ログアウト」 in the header (a POST with the CSRF token): the login screen."""
        from harness.web.pages.login import SettingsLoginPage

        header = self.page.get_by_role("navigation", name="アカウント")
        self._click_and_wait(header.get_by_role("button", name="ログアウト"))
        return SettingsLoginPage(self.page)


_FIELD_ERRORS = """() => {
  const text = (el) => (el ? el.innerText.trim() : '');
  const byIds = (ids) => (ids || '').split(/\\s+/).map((id) => document.getElementById(id))
    .filter((el) => el);
  const name = (field) => {
    const labelledBy = byIds(field.getAttribute('aria-labelledby'));
    if (labelledBy.length) return labelledBy.map(text).join(' ');
    return field.labels && field.labels.length ? text(field.labels[0]) : field.id;
  };
  return Array.from(document.querySelectorAll('form [aria-invalid="true"]')).flatMap((field) =>
    byIds(field.getAttribute('aria-describedby'))
      .filter((msg) => msg.getAttribute('role') === 'alert')
      .map((msg) => [name(field), text(msg)]));
}"""

_VISIBLE_WARNINGS = """() => Array.from(document.querySelectorAll('.alert-warning[role=note]'))
  .filter((el) => el.checkVisibility()).map((el) => el.innerText.trim())"""

_FORM_IS_VALID = "(el) => !el.form || el.formNoValidate || el.form.checkValidity()"

_BROWSER_ERRORS = """() => Array.from(document.querySelectorAll('form :invalid'))
  .filter((el) => el.labels && el.labels.length)
  .map((el) => [el.labels[0].innerText.trim(), el.validationMessage])"""

# One round trip instead of one per cell: header texts, then each body row's cell texts.
_READ_TABLE = """(table) => {
  const clean = (cell) => cell.innerText.trim();
  const headers = Array.from(table.querySelectorAll('thead th')).map(clean);
  // A row of one cell spanning the table ("着信グループはありません。") is a note, not data.
  const rows = Array.from(table.querySelectorAll('tbody tr')).filter(
    (row) => !(row.cells.length === 1 && row.cells[0].colSpan > 1));
  return rows.map((row) => {
    const cells = Array.from(row.querySelectorAll('th, td')).map(clean);
    return Object.fromEntries(headers.map((header, i) => [header, cells[i] ?? '']));
  });
}"""


def current_screen(page: Page) -> Screen:
    """The screen object for whatever page the browser shows now (by its path).

    Used after an action whose outcome depends on the account or the service's state (a login
    lands on the administrator's or the 端末ユーザ's top page, or on 多要素認証), and by tests
    that check where a URL led. A path no screen claims gives a plain :class:`Screen`.
    """
    path = urlsplit(page.url).path
    for pattern, screen in _SCREENS:
        if pattern.fullmatch(path):
            return screen(page)
    return Screen(page)
