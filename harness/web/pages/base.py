"""What every screen object shares: its page, its path, reading messages and field errors.

Page objects follow ../shared/STYLE.md §11: a method says what a person does on the screen,
finds elements by role and label text as that person reads them, returns the screen that
follows, and never asserts — tests and flows decide what is right.
"""

from __future__ import annotations

from typing import ClassVar, Self
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page

_SCREENS: dict[str, type[Screen]] = {}


class Screen:
    """One screen of the business portal or the Web設定変更サイト, bound to a Playwright page."""

    PATH: ClassVar[str] = ""
    """Path of the screen under the site's base URL (docs/web.md)."""
    TITLE: ClassVar[str] = ""
    """The screen's ``<h1>``, as printed in the manual."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.PATH:
            _SCREENS[cls.PATH.rstrip("/")] = cls

    def __init__(self, page: Page) -> None:
        self.page = page

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.page.url!r})"

    @classmethod
    def open(cls, page: Page, base_url: str) -> Self:
        """Type this screen's address into the browser (as a person with a bookmark would)."""
        page.goto(base_url.rstrip("/") + cls.PATH)
        return cls(page)

    @property
    def base_url(self) -> str:
        """``scheme://host:port`` of the site this page is on."""
        parts = urlsplit(self.page.url)
        return f"{parts.scheme}://{parts.netloc}"

    def heading(self) -> str:
        """The screen's title (its ``<h1>``)."""
        return self.page.get_by_role("heading", level=1).first.inner_text().strip()

    def messages(self) -> list[str]:
        """Notices shown to the person: errors (``role=alert``), confirmations (``role=status``)."""
        found = self.page.locator("[role=alert], [role=status]")
        return [text.strip() for text in found.all_inner_texts() if text.strip()]

    def field_errors(self) -> dict[str, str]:
        """Error messages shown beside fields, as ``{field label: message}``.

        A field in error is marked ``aria-invalid="true"`` and names its message with
        ``aria-describedby`` (docs/web.md); the label is the text of its ``<label for>``.
        """
        errors: dict[str, str] = {}
        for field in self.page.locator("[aria-invalid=true]").all():
            label = _label_text(self.page, field)
            described = field.get_attribute("aria-describedby") or ""
            texts = [
                self.page.locator(f"[id='{ident}']").inner_text().strip()
                for ident in described.split()
            ]
            errors[label] = " ".join(text for text in texts if text)
        return errors

    def _table(self, table: Locator | None = None) -> list[dict[str, str]]:
        """The rows of a table as ``{column header: cell text}`` (the first table by default)."""
        target = table if table is not None else self.page.get_by_role("table").first
        rows: list[dict[str, str]] = target.evaluate(_READ_TABLE)
        return rows

    def _row(self, text: str, table: Locator | None = None) -> Locator:
        """The body row whose first cell reads ``text`` exactly; :class:`LookupError` if none."""
        target = table if table is not None else self.page.get_by_role("table").first
        firsts = [next(iter(row.values()), "") for row in self._table(target)]
        if text not in firsts:
            raise LookupError(f"{self.TITLE or self.page.url}: no row {text!r} (rows: {firsts})")
        return target.locator("tbody tr").nth(firsts.index(text))

    def _click_and_wait(self, target: Locator) -> None:
        """Click something that loads another page (a link or a form submit) and wait for it."""
        with self.page.expect_navigation():
            target.click()


# One round trip instead of one per cell: header texts, then each body row's cell texts.
_READ_TABLE = """(table) => {
  const clean = (cell) => cell.innerText.trim();
  const headers = Array.from(table.querySelectorAll('thead th')).map(clean);
  const rows = Array.from(table.querySelectorAll('tbody tr'));
  return rows.map((row) => {
    const cells = Array.from(row.querySelectorAll('th, td')).map(clean);
    return Object.fromEntries(headers.map((header, i) => [header, cells[i] ?? '']));
  });
}"""


def _label_text(page: Page, field: Locator) -> str:
    ident = field.get_attribute("id")
    if ident:
        label = page.locator(f"label[for='{ident}']")
        if label.count():
            return label.first.inner_text().strip()
    return field.get_attribute("aria-label") or field.get_attribute("name") or "?"


def current_screen(page: Page) -> Screen:
    """The screen object for whatever page the browser shows now (by its path).

    Used after an action whose outcome depends on the account or the service's state (a login
    lands on the administrator's or the 端末ユーザ's top page, or on 多要素認証), and by tests
    that check where a URL led. A path no screen claims gives a plain :class:`Screen`.
    """
    path = urlsplit(page.url).path.rstrip("/")
    return _SCREENS.get(path, Screen)(page)
