"""Browser side of the harness: Debian Chromium through Playwright (:mod:`harness.web.browser`)
and one page object per screen of the ビジネスポータル and the Web設定変更サイト
(:mod:`harness.web.pages`). See docs/web-pages.md."""

from __future__ import annotations

from harness.web.browser import BrowserOptions, find_chromium, launch, open_browser

__all__ = ["BrowserOptions", "find_chromium", "launch", "open_browser"]
