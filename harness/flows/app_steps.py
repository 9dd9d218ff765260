"""What the app pages of the manual (P.3 Android, P.4 iPhone, P.5 Windows PC, P.7) share.

The step functions of ``p3_android`` / ``p4_iphone`` / ``p5_windows`` / ``p7_fic`` are bound to
their own catalog ids; the bodies they have in common live here: choosing the terminals from
the tenant's documents, typing アカウント設定 from ご利用内容のご案内, waiting for the
registration's outcome and checking the status text the manual promises, the failure path
(a mistyped パスワード, a mistyped 端末ID answered exactly as the パスワード was, then the
right values), and a call to another extension.

Every check raises ``ConformanceFailure`` with what the manual / model expects and what the
target made the app show (the REGISTER's answer included), so the report reads as a verdict on
the target, never as a harness error.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from harness.errors import ConformanceFailure, HarnessError
from harness.flows import calls
from harness.flows.app import VirtualApp, expect, terminal_for, transport_of
from harness.flows.applicability import NotApplicable
from harness.guide.types import Action, ForwardAbsence, GroupKind, Tenant, Terminal
from harness.sip.app import (
    AUTH_FAILED_TEXT,
    CALLABLE,
    CELLULAR_CALLABLE,
    NOT_CALLABLE,
    WIFI_CALLABLE,
    NetworkKind,
    Platform,
    RegistrationState,
)
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import CallHandle, Phone, RegisterAnswer
from harness.target.model import Capability

if TYPE_CHECKING:
    from harness.flows.context import FlowContext

#: Real seconds a call's ring / answer may take on the target (no service timer is involved
#: in a direct call between two extensions).
CALL_TIMEOUT = 10.0

#: Real seconds between looks at a call that has not rung yet.
POLL = 0.05

#: The suffix that makes the failure path's パスワード wrong (a typo, as the manual imagines).
TYPO = "x"


def open_app(ctx: FlowContext, platform: Platform) -> VirtualApp:
    """The app of the tenant's first terminal of ``platform``'s 端末種別 (NotApplicable if none),
    launched on its first screen."""
    app = VirtualApp(ctx, terminal_for(ctx.tenant, platform), platform)
    app.open()
    return app


def enter_from_guide(
    app: VirtualApp, *, password: str | None = None, service_code: bool = True
) -> None:
    """Type アカウント設定 as ご利用内容のご案内 says: ユーザID = 端末ID, パスワード, SIPサーバ =
    お客様情報's 内線サーバアドレス, サービスコード when the guide has one
    (P.3 ⑥, P.4 ⑥–⑦, P.5 ⑪)."""
    customer = app.ctx.tenant.guide.customer
    app.enter_account(
        user_id=app.terminal.terminal_id,
        password=app.terminal.password if password is None else password,
        sip_server=customer.sip_domain,
        service_code=customer.service_code if service_code else app.typed("サービスコード"),
    )


def record_screen(ctx: FlowContext, app: VirtualApp, label: str) -> None:
    """Evidence: what the app shows now — screen, its words and buttons, the fields typed
    (パスワード masked), the status text and mark, the address it registers through."""
    shown = app.screen()
    lines = [
        f"app: {app.platform} on {app.terminal.extension} ({app.network.kind.value}"
        + (f" {app.network.ssid}" if app.network.ssid else "")
        + ")",
        f"screen: {shown.name}",
        "shows: " + " ".join(f"「{w}」" for w in shown.words),
        "buttons: " + " ".join(f"[{b}]" for b, _ in shown.buttons),
    ]
    for field in shown.fields:
        value = app.typed(field) or ""
        lines.append(f"  {field}: {'*' * len(value) if field == 'パスワード' else value}")
    if shown.shows_status:
        lines.append(f"status: {app.status()}  mark: {app.indicator() or '-'}")
    if app.shown_while_registering is not None:
        lines.append(f"shown while registering: {app.shown_while_registering}")
        lines.append(f"registers via: {app.route().value} address {app.server()}")
        lines.append(f"last answer: {app.last_answer()}")
    ctx.evidence.text(f"app screen: {label}", "\n".join(lines) + "\n")


def expect_screen(app: VirtualApp, name: str) -> None:
    """The app is on ``name`` (a defect of the flow or the screen table otherwise)."""
    if app.screen().name != name:
        raise HarnessError(f"{app.name}: on {app.screen().name}, expected {name}")


def navigate(ctx: FlowContext, app: VirtualApp, *labels: str, arrive: str) -> None:
    """A navigation step: evidence of the screen before, tap ``labels``, evidence after; the
    app must be on ``arrive`` (a screen-table or flow defect otherwise)."""
    record_screen(ctx, app, app.screen().name)
    app.go(*labels)
    record_screen(ctx, app, app.screen().name)
    expect_screen(app, arrive)


def type_account(ctx: FlowContext, app: VirtualApp, *, service_code: bool = True) -> None:
    """An アカウント設定 step: type the guide's values, evidence, check the fields hold them."""
    enter_from_guide(app, service_code=service_code)
    record_screen(ctx, app, "アカウント設定 (入力後)")
    check_typed_from_guide(app, service_code=service_code)


def check_typed_from_guide(app: VirtualApp, *, service_code: bool = True) -> None:
    """The fields hold the documents' values (the step typed what the manual says)."""
    customer = app.ctx.tenant.guide.customer
    fields = app.screen().fields
    expected = [app.terminal.terminal_id, app.terminal.password, customer.sip_domain]
    if service_code and "サービスコード" in fields:
        expected.append(customer.service_code or "")
    for field, value in zip(fields, expected, strict=False):
        typed = app.typed(field) or ""
        if typed != value:
            raise HarnessError(f"アカウント設定 › {field} holds {typed!r}, not {value!r}")


def callable_text(app: VirtualApp) -> str:
    """The text the manual promises once registered (P.3 ⑩, P.4 ⑧, P.5 ⑫)."""
    if app.platform is Platform.IPHONE:
        return WIFI_CALLABLE if app.network.kind is NetworkKind.WIFI else CELLULAR_CALLABLE
    return CALLABLE


def failure_text(app: VirtualApp) -> str:
    """The text the manual's ※アカウント情報に不備がある場合 shows for wrong credentials."""
    return NOT_CALLABLE if app.platform is Platform.IPHONE else AUTH_FAILED_TEXT


def expect_callable(app: VirtualApp, *, what: str) -> None:
    """Wait for the registration's outcome; ConformanceFailure unless the app is callable."""
    _expect_outcome(
        app,
        RegistrationState.REGISTERED,
        callable_text(app),
        what=f"{what} ({app.name}, {app.terminal.terminal_id} via {app.server()})",
        because="the target accepts the 端末ID / パスワード",
    )


def expect_refused(app: VirtualApp, *, what: str) -> None:
    """Wait for the outcome; ConformanceFailure unless the target refused the credentials."""
    _expect_outcome(
        app,
        RegistrationState.AUTH_FAILED,
        failure_text(app),
        what=f"{what} ({app.name}, パスワード mistyped)",
        because="the target refuses a wrong パスワード",
    )


def _expect_outcome(
    app: VirtualApp, state: RegistrationState, text: str, *, what: str, because: str
) -> None:
    shown = app.wait_settled()
    expect(
        app.state() is state and shown == text,
        what=what,
        expected=f"「{text}」 ({because})",
        seen=f"「{shown}」 ({app.last_answer()})",
    )


def expect_mark(app: VirtualApp, mark: str, *, what: str) -> None:
    """The status mark (電話アイコン, 緑マーク) is shown; ConformanceFailure otherwise."""
    expect(
        app.indicator() == mark,
        what=f"{app.name}: {what}",
        expected=mark,
        seen=str(app.indicator()),
    )


def failure_path(
    ctx: FlowContext,
    app: VirtualApp,
    *,
    to_account: tuple[str, ...],
    apply: tuple[str, ...],
    again: tuple[str, ...],
    reapply: tuple[str, ...],
    mark: str | None = None,
) -> None:
    """※アカウント情報に不備がある場合, on any platform. Prepare: walk ``to_account`` to
    アカウント設定, type the guide's values with the パスワード mistyped, tap ``apply`` (to the
    screen that shows the status); the target must refuse (the manual's failure text), and
    a mistyped 端末ID must be answered the same (``expect_no_enumeration``). Act: walk
    ``again`` back to アカウント設定, type the right values, tap ``reapply``. Check: the
    app is callable (with ``mark`` when the platform shows one)."""
    app.go(*to_account)
    enter_from_guide(app, password=app.terminal.password + TYPO)
    before = len(app.phone.register_answers) if app.has_phone else 0
    app.go(*apply)
    expect_refused(app, what=f"{app.platform} ※ a wrong パスワード")
    record_screen(ctx, app, failure_text(app))
    expect_no_enumeration(ctx, app, app.phone.register_answers[before:])
    app.go(*again)
    enter_from_guide(app)
    app.go(*reapply)
    expect_callable(app, what=f"{app.platform} ※ after entering the account again")
    if mark is not None:
        expect_mark(app, mark, what="after re-entry")
    record_screen(ctx, app, "再入力後")


def unknown_terminal_id(tenant: Tenant, terminal: Terminal) -> str:
    """``terminal``'s 端末ID mistyped (``TYPO`` appended until it is no 端末ID of the tenant)."""
    known = {t.terminal_id for t in tenant.guide.terminals}
    unknown = terminal.terminal_id + TYPO
    while unknown in known:
        unknown += TYPO
    return unknown


def expect_no_enumeration(
    ctx: FlowContext, app: VirtualApp, wrong_password: Sequence[RegisterAnswer]
) -> None:
    """A mistyped ユーザID (an unknown 端末ID, with the right パスワード) is one more
    アカウント情報の不備: a phone of the same app on its own port registers with it, answering
    one challenge. Its two answers — to the REGISTER without credentials and to the one with
    them — must be the ones ``wrong_password`` (the app's attempt with a mistyped パスワード)
    began with: the same status, reason, header names and challenge shape (docs/security.md:
    no enumeration of 端末IDs, as sipvicious svwar tries), and the app shows the same failure
    text. The nonces differ in every challenge and are not compared."""
    account = app.profile().account
    unknown = unknown_terminal_id(ctx.tenant, app.terminal)
    profile = dataclasses.replace(
        app.profile(),
        account=dataclasses.replace(account, user_id=unknown, password=app.terminal.password),
    )
    probe = ctx.phones.from_profile(
        f"{app.name} 端末ID {unknown}", profile, transport=transport_of(ctx)
    )
    try:
        probe.register(auth_rounds=1)
        answers = probe.register_answers
        shown = probe.status_text
    finally:
        probe.close()
    expected = list(wrong_password[:2])
    evidence = (
        f"a mistyped パスワード for 端末ID {app.terminal.terminal_id}:\n"
        + "\n".join(f"  {a}" for a in expected)
        + f"\nan unknown 端末ID {unknown} (right パスワード):\n"
        + "\n".join(f"  {a}" for a in answers)
    )
    ctx.evidence.text(f"{app.name} — 端末ID enumeration.txt", evidence)
    if len(expected) < 2:
        raise HarnessError(
            f"{app.name}: the mistyped パスワード got {len(expected)} REGISTER answer(s), "
            "not a challenge and an answer to the credentials; nothing to compare with"
        )
    if list(answers) != expected:
        raise ConformanceFailure(
            f"{app.name}: an unknown 端末ID must get the same answer as a known one with a "
            "wrong パスワード (same status, headers and challenge), or 端末IDs can be "
            f"enumerated; the target told them apart:\n{evidence}"
        )
    if shown != failure_text(app):
        raise ConformanceFailure(
            f"{app.name}: with an unknown 端末ID the app shows {shown!r}, not "
            f"{failure_text(app)!r} (※アカウント情報に不備がある場合)"
        )


def run_app(
    ctx: FlowContext,
    platform: Platform,
    *steps: Callable[[FlowContext, VirtualApp], None],
) -> None:
    """Open the app of ``platform``'s terminal, run ``steps`` on it in order, quit the app."""
    app = open_app(ctx, platform)
    try:
        for step in steps:
            step(ctx, app)
    finally:
        app.close()


def callee_for(tenant: Tenant, caller: Terminal, *, pbx: bool = True) -> Terminal:
    """Another terminal that rings at once when dialled: a different 内線番号 and 端末ID and,
    on a target with the Smart PBX features, either a plain extension whose 不在時動作 does not
    divert at once (no 無条件 転送/留守番電話, no シングルナンバーリーチ) or the 代表番号 of a
    一斉着信 group it is a member of (the group rings every available member at t=0 and members'
    own 不在時動作 does not apply, DOMAIN.md rule 2). NotApplicable when the tenant has none."""
    for terminal in tenant.guide.terminals:
        if terminal.extension == caller.extension or terminal.terminal_id == caller.terminal_id:
            continue
        if not pbx or _rings_at_once(tenant, terminal.extension):
            return terminal
    raise NotApplicable(
        f"内線番号情報1 has no other terminal that rings at once when {caller.extension} calls "
        "it (each other extension is a 順次着信 代表番号 or diverts at once, or there is none)"
    )


def _rings_at_once(tenant: Tenant, extension: str) -> bool:
    group = tenant.group_with_pilot(extension)
    if group is not None:
        return group.kind is GroupKind.SIMULTANEOUS and extension in group.members
    absence = tenant.absence_of(extension)
    return absence is None or (
        isinstance(absence, ForwardAbsence) and absence.actions.unconditional is Action.NONE
    )


def dial_another_extension(
    ctx: FlowContext, app: VirtualApp, *, button: Literal["IP電話モード", "IP電話"]
) -> None:
    """Dial another terminal of the tenant from the app's keyboard; the callee must ring
    (showing the caller's 内線番号 when the target has the Smart PBX features: DOMAIN.md rule 7),
    answer, and both ends see the call connect and end.

    On a plain SIP server (no ``pbx_features``) there are no 内線番号: the number dialled is the
    callee's 端末ID, the user part the server routes by."""
    pbx = ctx.target.has(Capability.PBX_FEATURES)
    callee_terminal = callee_for(ctx.tenant, app.terminal, pbx=pbx)
    callee = ctx.phones.for_terminal(ctx.tenant.guide, callee_terminal, transport=transport_of(ctx))
    shown = callee.register()
    expect(
        callee.registration_state is RegistrationState.REGISTERED,
        what=f"the callee {callee_terminal.extension} registers",
        expected="通話可能",
        seen=f"「{shown}」",
    )
    number = callee_terminal.extension if pbx else callee_terminal.terminal_id
    call = app.call(number, button=button)
    ring = _wait_ring(app, callee, call, number)
    if pbx:
        expect(
            ring.peer == app.terminal.extension,
            what=f"caller ID shown on {callee_terminal.extension}",
            expected=f"the caller's 内線番号 {app.terminal.extension}",
            seen=repr(ring.peer),
        )
    ring.answer()
    try:
        call.wait_for(PhoneEventKind.CONNECTED, CALL_TIMEOUT)
    except TimeoutError:
        raise _no_ring(app, number, call.final_status, connected=True) from None
    unheard: list[str] = []
    try:
        if ctx.target.has(Capability.MEDIA):
            unheard = calls.hear_both_ways(ctx, f"{app.name} → {number}", call, ring)
    finally:
        call.hangup()
        ring.wait_ended(CALL_TIMEOUT)
        callee.close()
    if unheard:
        raise calls.NoTwoWayAudio(
            f"{app.name} dialled {number}: the call connected but " + "; ".join(unheard)
        )


def _wait_ring(app: VirtualApp, callee: Phone, call: CallHandle, number: str) -> CallHandle:
    """The callee's ringing call; ConformanceFailure as soon as the caller's INVITE got a
    final failure answer, or when nothing rang by the deadline (polled, never a fixed wait)."""
    deadline = time.monotonic() + CALL_TIMEOUT
    while True:
        try:
            return callee.incoming(POLL)
        except TimeoutError:
            failed = call.final_status is not None and call.final_status >= 300
            if failed or time.monotonic() > deadline:
                raise _no_ring(app, number, call.final_status) from None


def _no_ring(
    app: VirtualApp, number: str, status: int | None, *, connected: bool = False
) -> ConformanceFailure:
    what = "connect after the callee answered" if connected else "ring the callee"
    answer = f"the INVITE's final answer was {status}" if status is not None else "no answer"
    return ConformanceFailure(
        f"{app.name} dialled {number}: the call did not {what} within {CALL_TIMEOUT} s ({answer})"
    )
