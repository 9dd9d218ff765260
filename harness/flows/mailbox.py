"""留守番電話 heard end to end: the message a caller leaves is the one its mailbox's owner hears.

DOMAIN.md rule 6: a call reaches voicemail only through 転送動作 = 留守番電話 or
シングルナンバーリーチ with 留守番電話 on, and the mailbox is the dialled extension's; its owner
dials the access code (``ModelParams.voicemail_access_code``, an (A)) from its own terminal,
enters the 留守番電話パスワード (shown on its 不在時動作設定) as RFC 4733 DTMF ended by ``#`` and
hears the messages. The P.6 flow ``p6-voicemail`` (harness.flows.p6_user) runs this for an
extension of each kind of 不在時動作 that can end in 留守番電話:

1. **leave** — a call the model ends in the extension's voicemail (``message_scenario``) is
   played and compared like every call (``calls.check``); once it agrees, the caller speaks its
   tone (``harness.sip.media``) for ``MESSAGE_SECONDS`` to the voicemail that answered;
2. **retrieve** — the owner's terminal dials the access code; after a wrong password (same
   length, every digit moved by one) the message must not play for ``REFUSED_WAIT``; after the
   right one it must be heard — the caller's tone — within ``HEAR_WAIT``.

Media is real time (20 ms packets), never scaled: every wait is a condition with a deadline.
The owner's and the caller's media reports go to the evidence (``<name> — retrieval.txt``).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConformanceFailure, HarnessError
from harness.flows import calls
from harness.flows.context import FlowContext
from harness.guide.types import Tenant
from harness.model import (
    DEFAULT_PARAMS,
    EndpointBehaviour,
    EndpointState,
    EventKind,
    ModelParams,
    Scenario,
    predict,
)
from harness.sip.media import MediaReport
from harness.sip.phone import CallHandle, CallState

#: Real seconds of the caller's tone spoken to the voicemail (50 packets a second).
MESSAGE_SECONDS = 1.5
#: Real seconds within which the access code must answer.
ANSWER_WAIT = 5.0
#: Real seconds after a wrong password during which the message must not play.
REFUSED_WAIT = 1.5
#: Real seconds after the right password within which the message must be heard.
HEAR_WAIT = 5.0

_PACKETS_PER_SECOND = 50


@dataclass(frozen=True, kw_only=True)
class Message:
    """A message left: whose mailbox, who spoke it, the tone it carries."""

    mailbox: str
    caller: str
    tone_hz: float


def message_scenario(
    tenant: Tenant, extension: str, params: ModelParams = DEFAULT_PARAMS
) -> Scenario | None:
    """A call the model ends in ``extension``'s voicemail: from another terminal of the tenant,
    with ``extension`` left ringing, unregistered or busy — of those that end there, one that
    rings no external number (it needs no carrier side), then the soonest. None when no such
    call ends in that mailbox (no 留守番電話 reachable, a pilot, no other terminal)."""
    callers = [t.extension for t in tenant.guide.terminals if t.extension != extension]
    states: tuple[EndpointState | None, ...] = (
        EndpointState.UNREGISTERED,
        EndpointState.BUSY,
        None,  # registered, never answering
    )
    best: tuple[tuple[bool, float], Scenario] | None = None
    for caller in callers:
        for state in states:
            endpoints = {} if state is None else {extension: EndpointBehaviour(state=state)}
            scenario = Scenario(
                caller=caller,
                dialled=extension,
                endpoints=endpoints,
                description=f"a message for 内線 {extension}'s 留守番電話",
            )
            events = predict(tenant, scenario, params).events
            end = events[-1] if events else None
            if end is None or end.kind is not EventKind.VOICEMAIL or end.endpoint != extension:
                continue
            external = any(not tenant.has_extension(e.endpoint) for e in events[:-1])
            rank = (external, end.t)
            if best is None or rank < best[0]:
                best = (rank, scenario)
    return None if best is None else best[1]


def leave_message(
    ctx: FlowContext, scenario: Scenario, *, params: ModelParams = DEFAULT_PARAMS, name: str
) -> Message:
    """Play ``scenario`` (it must agree with the model, ``calls.check``), then speak the
    caller's tone for ``MESSAGE_SECONDS`` to the voicemail that answered."""
    mailbox = scenario.dialled
    spoken: list[MediaReport] = []

    def speak(call: CallHandle) -> None:
        if call.state is not CallState.CONNECTED:
            raise ConformanceFailure(
                f"{name}: the model sends this call to 内線 {mailbox}'s 留守番電話, yet the "
                f"caller's call is {call.state} (status {call.final_status}), not answered"
            )
        packets = int(MESSAGE_SECONDS * _PACKETS_PER_SECOND)
        spoken.append(
            call.wait_media(
                lambda r: r.sent_packets >= packets,
                f"the caller spoke {MESSAGE_SECONDS} s to the voicemail",
                timeout=MESSAGE_SECONDS + 3.0,
            )
        )

    calls.check(ctx, scenario, params=params, name=name, then=speak)
    if not spoken:  # pragma: no cover - check returns only after an agreeing play spoke
        raise HarnessError(f"{name}: the call agreed but its message was never spoken")
    report = spoken[0]
    ctx.evidence.text(f"{name} — message.txt", f"the caller's side of the message:\n{report}")
    return Message(mailbox=mailbox, caller=scenario.caller, tone_hz=report.tone_hz)


def wrong_password(password: str) -> str:
    """A password of the same length that is not ``password``: every digit moved by one."""
    return "".join(str((int(d) + 1) % 10) if d.isdigit() else "0" for d in password)


def retrieve(
    ctx: FlowContext,
    message: Message,
    password: str,
    *,
    params: ModelParams = DEFAULT_PARAMS,
    name: str,
    wrong_first: bool = True,
) -> None:
    """The owner of ``message.mailbox`` dials the access code from its own terminal and, after
    ``password`` by DTMF, hears ``message`` (after a wrong password first, does not); a
    ConformanceFailure says which part did not happen."""
    owner = calls.terminal_phone(ctx, message.mailbox)
    code = params.voicemail_access_code
    call = owner.call(code)
    lines = [f"内線 {message.mailbox} dials the access code {code}"]
    try:
        _answered(call, name, code)
        if wrong_first:
            wrong = wrong_password(password)
            call.send_dtmf(wrong + "#")
            lines.append(f"wrong password {wrong}# sent")
            try:
                played = call.wait_media(
                    lambda r: r.hears_tone(message.tone_hz), "", timeout=REFUSED_WAIT
                )
            except TimeoutError:
                lines.append(f"the message did not play within {REFUSED_WAIT} s: refused")
            else:
                raise ConformanceFailure(
                    f"{name}: the access code played 内線 {message.mailbox}'s message after "
                    f"a wrong 留守番電話パスワード ({wrong}#): {played}"
                )
        call.send_dtmf(password + "#")
        lines.append("the password the site shows sent, then #")
        try:
            heard = call.wait_media(
                lambda r: r.hears_tone(message.tone_hz),
                f"the message of {message.caller}",
                timeout=HEAR_WAIT,
            )
        except TimeoutError as missed:
            raise ConformanceFailure(
                f"{name}: after its 留守番電話パスワード by DTMF, 内線 {message.mailbox} did not "
                f"hear the message {message.caller} left (its {message.tone_hz:g} Hz tone) "
                f"within {HEAR_WAIT} s: {missed}"
            ) from missed
        lines.append(f"the message heard: {heard}")
    finally:
        if call.state is not CallState.ENDED:
            call.hangup()
        ctx.evidence.text(f"{name} — retrieval.txt", "\n".join(lines))


def _answered(call: CallHandle, name: str, code: str) -> None:
    try:
        call.wait_for("connected", timeout=ANSWER_WAIT)
    except TimeoutError as error:
        raise ConformanceFailure(
            f"{name}: the access code {code} was not answered within {ANSWER_WAIT} s "
            f"(status {call.final_status}); a deployment with another code is run with "
            f"--param voicemail_access_code=<code>"
        ) from error
