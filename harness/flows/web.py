"""What the web flows (P.2 administrator, P.6 端末ユーザ) share: logging in to the
Web設定変更サイト with the ご利用内容's accounts, 多要素認証 through the target's mail, and the
verify-only guard's verdict.

Not a flow module (no ``p*_`` prefix): these helpers are not manual steps of their own — the
steps that log in are bound in :mod:`harness.flows.p2_admin` and :mod:`harness.flows.p6_user`;
other flows log in through here to reach their screens.
"""

from __future__ import annotations

from typing import Protocol, cast

from playwright.sync_api import Page

from harness.errors import ConformanceFailure, HarnessError
from harness.flows.context import FlowContext
from harness.guide.types import TerminalUser
from harness.target.model import Capability
from harness.web.pages import (
    AdminTopPage,
    MfaCodePage,
    MfaRegisterPage,
    Screen,
    SettingsLoginPage,
    UserTopPage,
)

MFA_MAIL_DOMAIN = "smartpbx-harness.test"
"""Domain of the address a 端末ユーザ registers at a first login with 多要素認証 (RFC 2606's
reserved ``.test``): the target's ``[mail] api`` lists what was sent to it."""

MFA_CODE_TIMEOUT = 20.0
"""Real seconds to wait for a one-time code mail."""

MFA_CODE_LIFETIME = 600.0
"""Simulated seconds a one-time code is valid (DOMAIN.md (A): 10 minutes): real seconds on a
deployment, ``time_scale`` times them on the embedded target, whose site runs its 10 minutes
on the service clock (``serve --time-scale``)."""

MFA_CODE_LIFETIME_SLACK = 0.05
"""Share of ``MFA_CODE_LIFETIME`` waited beyond it before a code must be refused (a site may
count its 10 minutes from a little after the login, or in whole minutes)."""


class _Codes(Protocol):
    """What the web flows use of harness.target.mail.MailReader (contracts.md)."""

    def mark(self) -> object: ...

    def wait_for_code(self, to: str, *, after: object, timeout: float = ...) -> str: ...


def base_url(ctx: FlowContext) -> str:
    """The site's base URL (MissingCapability WEB when the target has none)."""
    ctx.require(Capability.WEB)
    url = ctx.target.web_base_url
    assert url is not None  # WEB means a base URL
    return url


def changes_settings(ctx: FlowContext) -> bool:
    """Whether this run drives the pages to reach 設定.yaml (else verify-only)."""
    return ctx.target.has(Capability.CHANGES_SETTINGS)


def mfa_address(user: TerminalUser) -> str:
    """The e-mail address the harness registers for ``user``'s 多要素認証."""
    return f"{user.login_id}@{MFA_MAIL_DOMAIN}"


def login_page(ctx: FlowContext, page: Page | None = None) -> SettingsLoginPage:
    """The Web設定変更サイト's login screen, on ``page`` or a fresh page."""
    return SettingsLoginPage.open(page or ctx.open_page(), base_url(ctx))


def admin_top(ctx: FlowContext, page: Page | None = None) -> AdminTopPage:
    """Log in with the ご利用内容's 管理者アカウント: its トップ画面.

    A refused login is a ConformanceFailure (the documents say the account works)."""
    account = ctx.tenant.guide.admin_account
    screen = login_page(ctx, page).login(account.login_id, account.password)
    if not isinstance(screen, AdminTopPage):
        raise ConformanceFailure(
            f"the site refused the 管理者アカウント {account.login_id!r} of the ご利用内容: "
            f"{_shown(screen)}"
        )
    return screen


def user_top(ctx: FlowContext, user: TerminalUser, page: Page | None = None) -> UserTopPage:
    """Log in as ``user`` (内線番号情報2): its トップ画面, through 多要素認証 when it is on
    (MissingCapability MAIL when the code cannot be read)."""
    login = login_page(ctx, page)
    mark = mail_mark(ctx) if ctx.mail is not None else None
    screen = login.login(user.login_id, user.password)
    if isinstance(screen, MfaRegisterPage | MfaCodePage):
        screen = complete_mfa(ctx, screen, user, mark)
    if not isinstance(screen, UserTopPage):
        raise ConformanceFailure(
            f"the site refused the 端末ユーザ {user.login_id!r} (内線 {user.extension}) of "
            f"the ご利用内容: {_shown(screen)}"
        )
    return screen


def complete_mfa(
    ctx: FlowContext,
    screen: MfaRegisterPage | MfaCodePage,
    user: TerminalUser,
    mark: object | None,
) -> Screen:
    """Register the e-mail address (first login) and enter the mailed one-time code."""
    ctx.require(Capability.MAIL)
    reader = _mail(ctx)
    address = mfa_address(user)
    if isinstance(screen, MfaRegisterPage):
        mark = reader.mark()
        registered = screen.register_email(address)
        if not isinstance(registered, MfaCodePage):
            raise ConformanceFailure(
                f"メールアドレス登録 refused {address!r} for {user.login_id!r}: "
                f"{_shown(registered)}"
            )
        screen = registered
    if mark is None:
        raise HarnessError("no mail mark was taken before the login that sent the code")
    code = reader.wait_for_code(address, after=mark, timeout=MFA_CODE_TIMEOUT)
    return screen.enter_code(code)


def mail_code(ctx: FlowContext, user: TerminalUser, mark: object) -> str:
    """The first one-time code mailed to ``user``'s address after ``mark``."""
    ctx.require(Capability.MAIL)
    return _mail(ctx).wait_for_code(mfa_address(user), after=mark, timeout=MFA_CODE_TIMEOUT)


def mail_mark(ctx: FlowContext) -> object:
    """ "Everything sent before now" of the target's mail (MissingCapability MAIL without)."""
    ctx.require(Capability.MAIL)
    return _mail(ctx).mark()


def check_guards(ctx: FlowContext) -> None:
    """HarnessError when a verify-only page tried to change the site."""
    for guard in ctx.guards:
        guard.check()


def _mail(ctx: FlowContext) -> _Codes:
    if ctx.mail is None:
        ctx.require(Capability.MAIL)
        raise HarnessError("the target has a mail capability but the run has no mail reader")
    # The interim MailReader shell has no methods yet (contracts.md: mark, wait_for_code).
    return cast(_Codes, ctx.mail)


def _shown(screen: Screen) -> str:
    messages = screen.messages() or [f"{k}: {v}" for k, v in screen.field_errors().items()]
    return f"{screen.page.url} shows {messages or 'no message'}"
