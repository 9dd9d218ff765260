"""Verify-only guard: a browser page that can read the site but never change it.

A verify-only run (``changes_settings = false``, DESIGN.md "Verify-only and onboarding") reads
the Web設定変更サイト and compares it with 設定.yaml. :func:`guard_read_only` routes every request
of a page through a check that lets ``GET``/``HEAD`` pass and refuses (aborts, before it leaves
the browser) any other method except to the paths of logging in and out — the portal's and the
site's login, the 多要素認証 steps of a 端末ユーザ's login, and logout. A refused request is
recorded in :attr:`ReadOnlyGuard.refused`; :meth:`ReadOnlyGuard.check` turns it into a
HarnessError (a flow that tried to write in verify-only is a harness defect).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route

from harness.errors import HarnessError

LOGIN_PATHS = frozenset(
    {
        "/b-portal/login",
        "/b-portal/logout",
        "/SmartPBX/Login",
        "/SmartPBX/Logout",
        "/SmartPBX/Mfa/Register",
        "/SmartPBX/Mfa/Code",
        "/SmartPBX/Mfa/Resend",
    }
)
"""Paths a verify-only page may still POST to: logging in (with 多要素認証) and out."""

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class ReadOnlyGuard:
    """The requests a guarded page refused (``"POST /SmartPBX/Account"``)."""

    allowed_paths: frozenset[str] = LOGIN_PATHS
    refused: list[str] = field(default_factory=list)

    def allows(self, method: str, url: str) -> bool:
        """Whether a request of ``method`` to ``url`` may leave the browser."""
        path = urlsplit(url).path.rstrip("/") or "/"
        return method.upper() in READ_METHODS or path in self.allowed_paths

    def check(self) -> None:
        """HarnessError naming every refused request, if any."""
        if self.refused:
            raise HarnessError(
                "verify-only run tried to change the site (refused in the browser): "
                + ", ".join(self.refused)
            )

    def _route(self, route: Route) -> None:
        request = route.request
        if self.allows(request.method, request.url):
            route.fallback()
            return
        self.refused.append(f"{request.method} {urlsplit(request.url).path}")
        route.abort("blockedbyclient")


def guard_read_only(page: Page, allowed_paths: frozenset[str] = LOGIN_PATHS) -> ReadOnlyGuard:
    """Refuse every request of ``page`` that could change something (see the module)."""
    guard = ReadOnlyGuard(allowed_paths=allowed_paths)
    page.route("**/*", guard._route)
    return guard
