"""P.6 端末ご利用者: Web設定変更サイトへのログイン (【Step1】, with 多要素認証 when it is on) and
不在時動作設定 (【Step2】: 転送/留守番電話, シングルナンバーリーチ, 未設定).

The accounts are the ご利用内容's 内線番号情報2; an extension with a 不在時動作 in 設定.yaml but
no account cannot be reached through the site, and is named in the n/a reason when no
extension of the flow has one. Onboarding (Capability.CHANGES_SETTINGS) saves each
extension's 不在時動作 when the screen differs; verify-only reads and compares
(harness.flows.settings_diff).
"""

from __future__ import annotations

import time

from playwright.sync_api import Page

from harness.errors import ConformanceFailure, HarnessError
from harness.flows import mailbox
from harness.flows import settings_diff as sd
from harness.flows.applicability import NotApplicable
from harness.flows.context import FlowContext
from harness.flows.p2_admin import account_mfa, set_mfa
from harness.flows.step import flow, manual_step
from harness.flows.web import (
    MFA_CODE_LIFETIME,
    MFA_CODE_LIFETIME_SLACK,
    admin_top,
    changes_settings,
    check_guards,
    complete_mfa,
    login_page,
    mail_code,
    mail_mark,
    user_top,
)
from harness.guide.types import Action, ForwardAbsence, SingleNumberReach, TerminalUser
from harness.model import Scenario
from harness.target.model import Capability
from harness.web.pages import (
    AbsencePage,
    MfaCodePage,
    MfaRegisterPage,
    Screen,
    SettingsLoginPage,
    UserTopPage,
)

WRONG_PASSWORD_SUFFIX = "-wrong"
#: 呼出時間 values just outside its range (DOMAIN.md: 5–30 s): the site must refuse them.
OUT_OF_RANGE_RING_TIMES = (4, 31)


def _users(ctx: FlowContext) -> list[TerminalUser]:
    users = list(ctx.tenant.guide.terminal_users)
    if not users:
        raise NotApplicable("the ご利用内容 has no 内線番号情報2 (no 端末ユーザ account)")
    return users


# --- 【Step1】 ログイン -----------------------------------------------------------------------


@manual_step("P6-S1")
def user_login(
    ctx: FlowContext, user: TerminalUser, page: Page, *, wrong_first: bool = False
) -> UserTopPage:
    """Log in with the 端末ユーザ account; the トップ画面 names its own 内線番号. With
    ``wrong_first`` the failure path comes first: a wrong password is refused with a message.
    Returns the トップ画面 (the caller logs out, so ``page`` is on the login screen for the
    next account)."""
    login = login_page(ctx, page)
    if wrong_first:
        refused = login.login(user.login_id, user.password + WRONG_PASSWORD_SUFFIX)
        if not isinstance(refused, SettingsLoginPage) or not refused.messages():
            raise ConformanceFailure(
                f"a wrong password for 端末ユーザ {user.login_id!r} was not refused with a "
                f"message: {refused.page.url} {refused.messages()}"
            )
    top = user_top(ctx, user, login.page)
    shown = top.extension()
    if shown != user.extension:
        raise ConformanceFailure(
            f"端末ユーザ {user.login_id!r} is 内線 {user.extension} in 内線番号情報2, "
            f"the トップ画面 says {shown!r}"
        )
    return top


@flow(
    "p6-user-login",
    section="P.6",
    steps=("P6-S1",),
    requirement="A 端末ユーザ account of 内線番号情報2 is refused with a message for a wrong "
    "password and logs in to its own extension's トップ画面 with the right one (every other "
    "account logs in in the 不在時動作 flows, p6-absence and p6-absence-unset).",
    needs=(Capability.WEB,),
)
def user_login_flow(ctx: FlowContext) -> None:
    user_login(ctx, _users(ctx)[0], ctx.open_page(), wrong_first=True).logout()
    check_guards(ctx)


@manual_step("P6-S1-mfa")
def user_login_mfa(ctx: FlowContext, user: TerminalUser) -> None:
    """With 多要素認証 on: the first login asks for an e-mail address (メールアドレス登録), a
    one-time code is mailed to it, and the code opens the トップ画面; a later login asks for a
    fresh code only."""
    ctx.require(Capability.MAIL)
    login = login_page(ctx)
    mark = mail_mark(ctx)
    screen = login.login(user.login_id, user.password)
    if not isinstance(screen, MfaRegisterPage | MfaCodePage):
        raise ConformanceFailure(
            f"多要素認証 is on but 端末ユーザ {user.login_id!r} logged in without it "
            f"({screen.page.url})"
        )
    top = complete_mfa(ctx, screen, user, mark)
    if not isinstance(top, UserTopPage):
        raise ConformanceFailure(
            f"the one-time code did not open 端末ユーザ {user.login_id!r}'s トップ画面: "
            f"{top.page.url} {top.messages()}"
        )
    _code_works_once(ctx, top, user, mark)


def _code_works_once(ctx: FlowContext, top: UserTopPage, user: TerminalUser, mark: object) -> None:
    """A one-time code opens one login: after logging out, the next login asks for a code
    again (a fresh one is mailed) and the code already used is refused; then the fresh code,
    entered after its 10 minutes, is refused too (``_code_expires``)."""
    used = mail_code(ctx, user, mark)
    again_mark = mail_mark(ctx)
    again = top.logout().login(user.login_id, user.password)
    issued_by = time.monotonic()  # the fresh code was issued before this login's answer
    if not isinstance(again, MfaCodePage):
        raise ConformanceFailure(
            f"多要素認証 is on but the second login of 端末ユーザ {user.login_id!r} asked for no "
            f"one-time code ({again.page.url})"
        )
    reused = again.enter_code(used)
    if isinstance(reused, UserTopPage):
        raise ConformanceFailure(
            f"the one-time code already used by 端末ユーザ {user.login_id!r} opened its "
            "トップ画面 again: a one-time code must work once"
        )
    fresh = mail_code(ctx, user, again_mark)
    _code_expires(ctx, reused, user, fresh, issued_by=issued_by)


def _code_expires(
    ctx: FlowContext, screen: Screen, user: TerminalUser, code: str, *, issued_by: float
) -> None:
    """A one-time code is valid 10 minutes (DOMAIN.md (A), ``MFA_CODE_LIFETIME``): ``code``,
    issued by ``issued_by`` (``time.monotonic()``) and never entered, is entered once its 10
    minutes and ``MFA_CODE_LIFETIME_SLACK`` have passed on the target's clock (a deadline:
    ``time_scale`` real seconds per second, 600 s on a deployment) and must be refused; a code
    sent with 「再送信」 then opens the トップ画面, so it was the code's age that was refused."""
    if not isinstance(screen, MfaCodePage):
        raise HarnessError(
            "after a refused code the site left the ワンタイムパスワード screen for "
            f"{screen.page.url}: no half-done login to enter an expired code into"
        )
    lifetime = MFA_CODE_LIFETIME * (1 + MFA_CODE_LIFETIME_SLACK) * ctx.target.time_scale
    time.sleep(max(0.0, issued_by + lifetime - time.monotonic()))  # until the code is stale
    expired = screen.enter_code(code)
    if isinstance(expired, UserTopPage):
        raise ConformanceFailure(
            f"a one-time code of 端末ユーザ {user.login_id!r} opened its トップ画面 "
            f"at least {MFA_CODE_LIFETIME * (1 + MFA_CODE_LIFETIME_SLACK):g} s after it was "
            "mailed (the target's seconds): a "
            f"code must be refused after its {MFA_CODE_LIFETIME / 60:g} minutes"
        )
    if not isinstance(expired, MfaCodePage):
        raise HarnessError(
            f"the expired code was refused, but the site left the code screen for "
            f"{expired.page.url}: 「再送信」 cannot follow"
        )
    resend_mark = mail_mark(ctx)
    resent = expired.resend_code()
    if not isinstance(resent, MfaCodePage):
        raise ConformanceFailure(
            f"「再送信」 after an expired code left the code screen of 端末ユーザ "
            f"{user.login_id!r}: {resent.page.url}"
        )
    top = resent.enter_code(mail_code(ctx, user, resend_mark))
    if not isinstance(top, UserTopPage):
        raise ConformanceFailure(
            f"the code sent with 「再送信」 after an expired one did not open 端末ユーザ "
            f"{user.login_id!r}'s トップ画面: {top.page.url} {top.messages()}"
        )
    top.logout().page.close()


@flow(
    "p6-user-login-mfa",
    section="P.6",
    steps=("P2-S1-4", "P6-S1-mfa"),
    requirement="With 多要素認証 on (アカウント設定), a 端末ユーザ registers an e-mail address at "
    "the first login and logs in with the one-time code mailed to it; a code MUST work once "
    "and MUST be refused after its 10 minutes (DOMAIN.md).",
    needs=(Capability.WEB, Capability.MAIL),
)
def user_login_mfa_flow(ctx: FlowContext) -> None:
    ctx.require(Capability.WEB, Capability.MAIL)
    user = _users(ctx)[0]
    if changes_settings(ctx):
        was = set_mfa(ctx, True)
        try:
            user_login_mfa(ctx, user)
        finally:
            if not was:
                set_mfa(ctx, False)
    else:
        top = admin_top(ctx)
        enabled = account_mfa(ctx, top, None)
        top.logout()
        if not enabled:
            raise NotApplicable(
                "多要素認証 is 無効 on the site, and a verify-only run never switches it on"
            )
        user_login_mfa(ctx, user)
    check_guards(ctx)


# --- 【Step2】 不在時動作設定 ------------------------------------------------------------------


def _reachable(ctx: FlowContext, extensions: list[str]) -> list[TerminalUser]:
    """The 端末ユーザ accounts of ``extensions``; NotApplicable naming why when none."""
    users = [u for e in extensions if (u := ctx.tenant.terminal_user_for(e)) is not None]
    if not extensions:
        raise NotApplicable("設定.yaml gives no extension this flow concerns")
    if not users:
        without = ", ".join(extensions)
        raise NotApplicable(
            "no extension of this flow has a 端末ユーザ account in 内線番号情報2 "
            f"(extensions concerned: {without})"
        )
    return users


@manual_step("P6-S2-forward")
def absence_forward(
    ctx: FlowContext,
    screen: AbsencePage,
    extension: str,
    absence: ForwardAbsence,
    *,
    try_invalid: bool = False,
) -> None:
    """転送/留守番電話設定: 転送先電話番号, 転送動作 per state, 呼出時間. With ``try_invalid``
    (onboarding only: a verify-only run never writes) a 呼出時間 outside 5–30 s is entered
    first: the site must refuse it with a message and change nothing."""
    a = absence.actions
    actions = {"無条件": a.unconditional, "話中": a.busy, "圏外": a.unreachable}
    actions["無応答"] = a.no_answer
    if changes_settings(ctx):
        if try_invalid:
            screen = _refuses_out_of_range(screen, extension, absence, actions)
        saved = screen.set_absence_forwarding(
            absence.forward_to or "", {s: v.value for s, v in actions.items()}, absence.ring_time
        )
        _saved(saved, "転送/留守番電話設定")
    _check_absence(screen, extension, absence)


def _refuses_out_of_range(
    screen: AbsencePage,
    extension: str,
    absence: ForwardAbsence,
    actions: dict[str, Action],
) -> AbsencePage:
    """Enter each of OUT_OF_RANGE_RING_TIMES (無応答 acting, so 呼出時間 counts): each must be
    refused with a message beside the field or on the page, and the screen reloaded must show
    what it showed before (DOMAIN.md: 呼出時間 5–30 s; an invalid value changes nothing)."""
    before = screen.shown()
    if actions["無応答"] is Action.NONE:
        actions = actions | {"無応答": Action.VOICEMAIL}
    for ring_time in OUT_OF_RANGE_RING_TIMES:
        shown = screen.set_absence_forwarding(
            absence.forward_to or "", {s: v.value for s, v in actions.items()}, ring_time
        )
        page = shown.page
        saved = isinstance(shown, AbsencePage) and "設定しました。" in shown.messages()
        told = isinstance(shown, AbsencePage) and bool(shown.field_errors() or shown.messages())
        if saved or not told:
            raise ConformanceFailure(
                f"不在時動作設定 of 内線 {extension}: 呼出時間 {ring_time} (outside 5–30 s) was "
                + ("saved" if saved else "not refused with a message")
            )
        # A new GET of the screen (not a reload: the browser would restore the typed values).
        page.goto(page.url.split("?", 1)[0])
        screen = AbsencePage(page)
        sd.check_view(
            f"不在時動作設定 of 内線 {extension} after 呼出時間 {ring_time} was refused",
            sd.absence_shown(extension, before),
            sd.absence_shown(extension, screen.shown()),
        )
    return screen


def _other_extension_refused(screen: AbsencePage, own: str, other: str) -> AbsencePage:
    """A 端末ユーザ changes only its own extension's 不在時動作 (DOMAIN.md: one account per
    extension). Every hidden field of the screen's form that carries the own 内線番号 is set to
    ``other``'s and the form sent as it is (form-field tampering, as a security review would
    try): the answer must not be ``other``'s screen saved. Returns the own screen fetched
    again."""
    page = screen.page
    tampered: int = page.evaluate(
        """([own, other]) => {
            let n = 0;
            for (const input of document.querySelectorAll('form input[type=hidden]')) {
                if (input.value === own) { input.value = other; n += 1; }
            }
            return n;
        }""",
        [own, other],
    )
    if tampered:
        answer = screen.press_set()
        saved = isinstance(answer, AbsencePage) and "設定しました。" in answer.messages()
        if saved and other in " ".join(answer.page.locator("h1 + p").all_inner_texts()):
            raise ConformanceFailure(
                f"端末ユーザ of 内線 {own} saved 内線 {other}'s 不在時動作 by changing the "
                "form's hidden 内線番号: an account must reach its own extension only"
            )
    page.goto(page.url.split("?", 1)[0])
    return AbsencePage(page)


@manual_step("P6-S2-reach")
def absence_reach(
    ctx: FlowContext, screen: AbsencePage, extension: str, absence: SingleNumberReach
) -> None:
    """シングルナンバーリーチ設定: 接続先番号1/2, 呼出開始時間1/2, 呼出終了時間, 留守番電話; the
    saved screen shows a 留守番電話パスワード."""
    if changes_settings(ctx):
        saved = screen.set_single_number_reach(
            absence.reach_number_1,
            absence.reach_start_1,
            absence.reach_number_2,
            absence.reach_start_2,
            absence.reach_end,
            absence.voicemail,
        )
        _saved(saved, "シングルナンバーリーチ設定")
    _check_absence(screen, extension, absence)
    if not screen.voicemail_password():
        raise ConformanceFailure("シングルナンバーリーチ設定 shows no 留守番電話パスワード")


@manual_step("P6-S2-unset")
def absence_unset(ctx: FlowContext, screen: AbsencePage, extension: str) -> None:
    """不在時動作 「未設定」 for an extension 設定.yaml gives none."""
    if changes_settings(ctx) and screen.shown().enabled:
        _saved(screen.clear_absence(), "不在時動作 未設定")
    _check_absence(screen, extension, None)


def _saved(screen: object, what: str) -> None:
    if not isinstance(screen, AbsencePage) or "設定しました。" not in screen.messages():
        shown = screen if isinstance(screen, AbsencePage) else None
        errors = shown.field_errors() if shown else {}
        raise ConformanceFailure(f"{what} of 設定.yaml was not saved by the site: {errors}")


def _check_absence(
    screen: AbsencePage, extension: str, absence: ForwardAbsence | SingleNumberReach | None
) -> None:
    expected = sd.absence_expected(extension, absence)
    shown = sd.absence_shown(extension, screen.shown())
    sd.check_view(f"不在時動作設定 of 内線 {extension}", expected, shown)


def _absence_flow(
    ctx: FlowContext, extensions: list[str], users: list[TerminalUser], subject: str
) -> None:
    unreachable = sorted(set(extensions) - {u.extension for u in users})
    if unreachable:
        ctx.evidence.text(
            "extensions without a 端末ユーザ account (not reachable on the site)",
            ", ".join(unreachable),
        )
    mismatches = sd.MismatchCollector(subject)
    page = ctx.open_page()  # one page: each account logs out before the next logs in
    tried_invalid = False
    for index, user in enumerate(users):
        screen = user_login(ctx, user, page).open_absence_settings()
        absence = ctx.tenant.absence_of(user.extension)
        with mismatches.collecting():
            if isinstance(absence, ForwardAbsence):
                absence_forward(ctx, screen, user.extension, absence, try_invalid=not tried_invalid)
                tried_invalid = True
            elif isinstance(absence, SingleNumberReach):
                absence_reach(ctx, screen, user.extension, absence)
            else:
                absence_unset(ctx, screen, user.extension)
        if index == 0 and len(users) > 1 and changes_settings(ctx):
            # The next account's screen is checked against 設定.yaml below: a write that
            # landed on it shows there too.
            screen = _other_extension_refused(screen, user.extension, users[1].extension)
        screen.logout()  # 「ログアウト」 is in every signed-in screen's header
    check_guards(ctx)
    mismatches.check()


@flow(
    "p6-absence",
    section="P.6",
    steps=("P6-S1", "P6-S2-forward", "P6-S2-reach"),
    requirement="Every extension with a 不在時動作 in 設定.yaml (and a 端末ユーザ account) logs in "
    "to its own トップ画面 and has it "
    "on 不在時動作設定: 転送/留守番電話 with its states and 呼出時間, or シングルナンバーリーチ "
    "with its numbers and timers.",
    needs=(Capability.WEB,),
)
def absence_flow(ctx: FlowContext) -> None:
    extensions = list(ctx.tenant.settings.absence)
    users = _reachable(ctx, extensions)
    _absence_flow(ctx, extensions, users, "不在時動作設定 differs from 設定.yaml")


@flow(
    "p6-absence-unset",
    section="P.6",
    steps=("P6-S1", "P6-S2-unset"),
    requirement="Every extension 設定.yaml gives no 不在時動作 (with a 端末ユーザ account) logs "
    "in to its own トップ画面 and shows "
    "不在時動作 「未設定」.",
    needs=(Capability.WEB,),
)
def absence_unset_flow(ctx: FlowContext) -> None:
    extensions = [e for e in ctx.tenant.extensions if ctx.tenant.absence_of(e) is None]
    users = _reachable(ctx, extensions)
    _absence_flow(ctx, extensions, users, "不在時動作 未設定 differs from 設定.yaml")


# --- 留守番電話: the message left is the message heard ----------------------------------------


@manual_step("P6-S2-forward")
def forward_voicemail_heard(
    ctx: FlowContext, extension: str, scenario: Scenario, password: str
) -> None:
    """転送/留守番電話設定's 留守番電話: a call that reaches it leaves the caller's message, and
    the 留守番電話パスワード the screen shows plays it back (harness.flows.mailbox)."""
    _voicemail_heard(ctx, extension, scenario, password)


@manual_step("P6-S2-reach")
def reach_voicemail_heard(
    ctx: FlowContext, extension: str, scenario: Scenario, password: str
) -> None:
    """シングルナンバーリーチ設定's 留守番電話 on: a call unanswered until 呼出終了時間 leaves the
    caller's message, and the 留守番電話パスワード the screen shows plays it back."""
    _voicemail_heard(ctx, extension, scenario, password)


def _voicemail_heard(ctx: FlowContext, extension: str, scenario: Scenario, password: str) -> None:
    name = f"留守番電話 of 内線 {extension}"
    message = mailbox.leave_message(ctx, scenario, params=ctx.params, name=f"{name}: a message")
    mailbox.retrieve(ctx, message, password, params=ctx.params, name=f"{name}: retrieval")


def _voicemail_owners(
    ctx: FlowContext,
) -> list[tuple[TerminalUser, ForwardAbsence | SingleNumberReach, Scenario]]:
    """One extension of each kind of 不在時動作 (設定.yaml order) with a 端末ユーザ account and a
    call the model ends in its 留守番電話; NotApplicable naming why when there is none."""
    tenant = ctx.tenant
    chosen: dict[type, tuple[TerminalUser, ForwardAbsence | SingleNumberReach, Scenario]] = {}
    ending = []
    for extension, absence in tenant.settings.absence.items():
        if type(absence) in chosen:
            continue
        scenario = mailbox.message_scenario(tenant, extension, ctx.params)
        if scenario is None:
            continue
        ending.append(extension)
        user = tenant.terminal_user_for(extension)
        if user is not None:
            chosen[type(absence)] = (user, absence, scenario)
    if not chosen:
        raise NotApplicable(
            "no call ends in a 留守番電話 of an extension with a 端末ユーザ account "
            f"(extensions whose calls can end in one: {', '.join(ending) or 'none'})"
        )
    return list(chosen.values())


@flow(
    "p6-voicemail",
    section="P.6",
    steps=("P6-S1", "P6-S2-forward", "P6-S2-reach"),
    requirement="For one extension of each kind of 不在時動作 that can end in 留守番電話 (with a "
    "端末ユーザ account): a call the model sends to its 留守番電話 is answered and the caller's "
    "voice recorded; the owner, dialling the access code (voicemail_access_code) from its own "
    "terminal and entering by DTMF (RFC 4733, ended by #) the 留守番電話パスワード its "
    "不在時動作設定 shows, MUST hear that message — and MUST NOT after a wrong password.",
    needs=(Capability.WEB, Capability.MEDIA, Capability.PBX_FEATURES),
)
def voicemail_flow(ctx: FlowContext) -> None:
    owners = _voicemail_owners(ctx)
    page = ctx.open_page()
    for user, absence, scenario in owners:
        screen = user_login(ctx, user, page).open_absence_settings()
        password = screen.voicemail_password()
        screen.logout()
        if not password:
            raise ConformanceFailure(
                f"不在時動作設定 of 内線 {user.extension} shows no 留守番電話パスワード"
            )
        if isinstance(absence, ForwardAbsence):
            forward_voicemail_heard(ctx, user.extension, scenario, password)
        else:
            reach_voicemail_heard(ctx, user.extension, scenario, password)
    check_guards(ctx)
