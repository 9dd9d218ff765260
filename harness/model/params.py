"""Every **(A)** assumption of DOMAIN.md "Call routing semantics", as a named parameter.

DOMAIN.md marks as (A) what the public material of the service leaves open and was taken from
Asterisk/FreePBX behaviour. Each such choice is a field of :class:`ModelParams` with its default
and the DOMAIN.md rule it comes from, so a carrier whose deployment behaves otherwise can flip it
(`smartpbx-harness predict --param NAME=VALUE`). The few (A) statements with no meaningful
alternative reading are listed in docs/model.md's parameter table with the reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.errors import InputError, Problem


class ForwardedCallerId(StrEnum):
    """Which number a forwarded or single-number-reach leg to an external number presents."""

    #: The forwarding extension's 外線発信 number (rule 7, default).
    FORWARDING_EXTENSION = "forwarding_extension"
    #: The original caller's number, as shown to the forwarding extension.
    ORIGINAL_CALLER = "original_caller"


class MissingCallerId(StrEnum):
    """What an external call from an extension without 外線発信設定 does."""

    #: The call is refused (rule 7, default).
    REFUSED = "refused"
    #: The call goes out withheld (非通知).
    WITHHELD = "withheld"


class ReachEndFrom(StrEnum):
    """What シングルナンバーリーチ's 呼出終了時間 is measured from."""

    #: From the call's arrival at the extension (rule 5, default).
    ARRIVAL = "arrival"
    #: From the start of the last leg that rings.
    LAST_LEG_START = "last_leg_start"


class ForwardFallback(StrEnum):
    """What follows a 転送 whose 転送先 does not answer (rule 4)."""

    #: 転送 rings 転送先 with no further fallback (rule 4, default): a busy / unreachable /
    #: rejecting 転送先 gives the caller busy / unavailable.
    NONE = "none"
    #: Every way the forwarded part of the call ends other than an answer, a voicemail or the
    #: caller giving up (busy, unavailable, released: a failed 転送先, the hop limit, a
    #: forwarded-to group running out, ``unanswered_ring_limit``) goes instead to the
    #: *forwarding* extension's voicemail.
    VOICEMAIL = "voicemail"


class UnsetStateAction(StrEnum):
    """What a holding state (圏外 or 話中) whose 転送動作 is 設定しない does (rule 4)."""

    #: The caller gets busy (話中) or unavailable (圏外) at t=0 (rule 4, default).
    BUSY_OR_UNAVAILABLE = "busy_or_unavailable"
    #: The state falls through to 無応答: when 無応答 is set, the call waits (nothing rings)
    #: for 呼出時間 and then takes the 無応答 action, as if X had rung unanswered; when 無応答
    #: is 設定しない too, busy / unavailable as by default.
    NO_ANSWER_ACTION = "no_answer_action"


class InternalCallerId(StrEnum):
    """The caller ID an extension sees on an internal call (rule 7)."""

    #: The caller's full 内線番号 (rule 7, default).
    FULL_EXTENSION = "full_extension"
    #: The caller's bare 端末番号 when caller and callee are extensions of the same 拠点; the
    #: full 内線番号 across 拠点.
    TERMINAL_NUMBER_WITHIN_SITE = "terminal_number_within_site"


class InboundCallerId(StrEnum):
    """The caller ID an extension sees on a call that came in from outside (rule 7)."""

    #: The caller's number, or 非通知 when withheld (rule 7, default).
    CALLER = "caller"
    #: The tenant's 外線番号 the call came in on (withheld or not), as PBXs that display the
    #: dialled line (DID) do.
    DIALLED_LINE = "dialled_line"


@dataclass(frozen=True, kw_only=True)
class ModelParams:
    """The model's assumptions. Times are simulated seconds."""

    # Rule 1: destination.
    internal_pilot_starts_group: bool = True
    """Rule 1 (A): dialling a group's 代表番号 internally starts the group. False: it rings the
    pilot's own extension like any extension (a 外線着信設定 to a pilot always starts it, S)."""
    bare_terminal_number_within_site: bool = True
    """"Numbering and accounts" (A): within one 拠点, dialling the bare 端末番号 reaches the
    extension. False: only the full 内線番号 does (bare digits reach nothing unless they are
    an external number)."""
    own_number_loops_back: bool = True
    """Rules 1/7 (the model's reading; DOMAIN.md is silent): an extension dialling one of the
    tenant's own 外線番号 comes back in as an inbound call (presenting the caller's 外線発信
    number), as through the PSTN, which delivers the number to the tenant that owns it; a line
    with no 外線着信設定 then refuses it at once, as it refuses every inbound call. False: it is
    an ordinary external leg."""

    # Rule 2: 一斉着信 (and what rule 2 says of every group).
    group_ring_time: float = 20
    """Rule 2 (A): G, how long a 一斉着信 group rings when its 呼出時間 is not given."""
    simultaneous_empty_ends_at_once: bool = True
    """Rule 2 (A): a 一斉着信 group with no member available ends at t=0 (unavailable). False:
    it waits in silence until G, then ends unavailable; a group whose ringing members all
    reject also waits until G (then released)."""
    group_members_apply_absence: bool = False
    """Rule 2 (A): members' own 不在時動作 is not applied inside any group (False). True: a member
    whose 無条件 action is 転送 is replaced in the group by its 転送先, rung plainly in the
    member's place (an extension's own settings are not applied again; an external 転送先 shows
    the member's 外線発信 number, per ``forwarded_external_caller_id``, and is left out when it
    cannot be placed); a member whose 無条件 action is 留守番電話 is left out (treated as
    unavailable: a group call never ends in a member's mailbox). Other states (話中, 圏外,
    無応答) and シングルナンバーリーチ are still not applied."""
    pilot_rings_as_member: bool = False
    """Rule 2 (A): the 代表番号's own terminal rings only if it is also a member (False). True:
    a pilot that is not a member rings as if it were the group's first member (一斉着信: at 0
    with the others; 順次着信: first, for T)."""

    # Rule 3: 順次着信.
    member_ring_time: float = 20
    """Rule 3 (A): T, how long each 順次着信 member rings when the group's 呼出時間 is not
    given."""
    skip_unavailable_costs_ring_time: bool = False
    """Rule 3 (A): an unavailable member is skipped at once (False). True: its slot of T
    passes in silence."""
    sequential_rounds: int = 1
    """Rule 3 (A): no loop, the group ends after the last member (1). n: it goes through its
    members n times."""

    # Rule 4: 転送/留守番電話.
    unanswered_ring_limit: float | None = None
    """Rule 4 (A): with 無応答 not set (and for a forwarded leg with no fallback) a call rings
    until the caller gives up (None). A number: it is released after that many seconds."""
    forward_hop_limit: int = 5
    """Rule 4 (A): at most this many 転送 hops to extensions; the next hop makes the call
    unavailable."""
    forward_applies_target_settings: bool = True
    """Rule 4 (A): a 転送先 that is an extension applies that extension's 不在時動作 (True).
    False: the 転送先 extension rings plainly (no 無条件/話中/圏外/無応答 or シングルナンバー
    リーチ of its own); a 転送先 that is a group's 代表番号 still starts the group."""
    forward_fallback: ForwardFallback = ForwardFallback.NONE
    """Rule 4 (A): 転送 rings 転送先 with no further fallback; see :class:`ForwardFallback`."""
    unset_state_action: UnsetStateAction = UnsetStateAction.BUSY_OR_UNAVAILABLE
    """Rule 4 (A): a state whose condition holds but whose action is 設定しない; see
    :class:`UnsetStateAction`."""
    default_no_answer_ring_time: float = 20
    """Not an (A) of DOMAIN.md: the 呼出時間 used when 無応答 is set but a document omits it
    (validation refuses such documents, S; this only keeps the model total)."""

    # Rule 5: シングルナンバーリーチ.
    reach_rings_extension: bool = True
    """Rule 5 (A): the extension X itself rings from t=0 alongside its 接続先. False: only the
    接続先 ring."""
    reach_end_from: ReachEndFrom = ReachEndFrom.ARRIVAL
    """Rule 5 (A): 呼出終了時間 is measured from arrival; see :class:`ReachEndFrom`."""
    reach_early_end_when_all_failed: bool = True
    """Rule 5 (A): when every leg has failed (busy, unreachable, rejected) and none is pending,
    the end (voicemail or unavailable) comes at once. False: it waits for 呼出終了時間."""

    # Rule 7: caller ID.
    internal_caller_id: InternalCallerId = InternalCallerId.FULL_EXTENSION
    """Rule 7 (A): what an extension sees on an internal call; see :class:`InternalCallerId`."""
    inbound_caller_id: InboundCallerId = InboundCallerId.CALLER
    """Rule 7 (A): what an extension sees on a call from outside; see
    :class:`InboundCallerId`."""
    withhold_prefix: str | None = "184"
    """Rule 7 (A): dialled before a number, the callee sees 非通知. Another prefix, or none
    (no withholding prefix: the digits are dialled as they are)."""
    present_prefix: str | None = "186"
    """Rule 7 (A): dialled before a number, the caller ID is presented. Another prefix, or
    none (the digits are dialled as they are)."""
    external_call_without_caller_id: MissingCallerId = MissingCallerId.REFUSED
    """Rule 7 (A): an external call from an extension with no 外線発信設定 is refused; see
    :class:`MissingCallerId`."""
    forwarded_external_caller_id: ForwardedCallerId = ForwardedCallerId.FORWARDING_EXTENSION
    """Rule 7 (A): a forwarded / single-number-reach leg to an external number presents the
    forwarding extension's 外線発信 number; see :class:`ForwardedCallerId`."""

    # Rule 8: pickup.
    pickup_code: str = "*8"
    """Rule 8 (A): dialled by a pickup-group member to answer another member's ringing
    call."""

    # 留守番電話 retrieval (issue 13 item 3; DOMAIN.md is silent on how a mailbox is heard).
    voicemail_access_code: str = "*98"
    """(A): dialled by an extension to hear its own mailbox: the PBX answers, asks for the
    留守番電話パスワード by DTMF (RFC 4733, ended by #) and plays the messages. The model does
    not follow such a call (it is not a call to anyone); the parameter is here so that one
    ``--param`` means the same to ``predict`` and ``serve``."""
    voicemail_password_attempts: int = 3
    """(A): wrong 留守番電話パスワード entries in a row after which the mailbox is locked
    (even the right password is then refused) until the simulator's next reset."""

    # Scenario default.
    caller_gives_up_after: float = 120
    """Issue 2's scenario format (not an (A) of DOMAIN.md): when a scenario does not say, the
    caller hangs up after this many seconds."""

    def with_overrides(self, overrides: dict[str, str]) -> ModelParams:
        """A copy with ``NAME=VALUE`` strings applied; InputError names every bad one."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        problems: list[Problem] = []
        for name, text in overrides.items():
            field = fields.get(name)
            if field is None:
                problems.append(
                    Problem(
                        where=f"--param {name}",
                        rule="unknown parameter; valid names: " + ", ".join(sorted(fields)),
                    )
                )
                continue
            try:
                changes[name] = _convert(getattr(self, name), field.type, text)
            except ValueError as error:
                problems.append(Problem(where=f"--param {name}", rule=str(error), value=text))
        if problems:
            raise InputError(problems, subject="model parameters")
        return dataclasses.replace(self, **changes)


def _convert(current: object, annotation: object, text: str) -> object:
    """Parse ``text`` into the type of the field (bool, int, float, float|None, enum, str)."""
    kind = str(annotation)
    if isinstance(current, StrEnum):
        choices = [member.value for member in type(current)]
        if text not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return type(current)(text)
    if isinstance(current, bool):
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError("must be true or false")
    if "None" in kind and text.lower() in ("none", "null", ""):
        return None
    if isinstance(current, int) and "float" not in kind:
        if not text.isdigit() or int(text) < 1:
            raise ValueError("must be a whole number ≥ 1")
        return int(text)
    if "float" in kind:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                "must be a number of seconds" + (" or none" if "None" in kind else "")
            ) from None
        if value < 0:
            raise ValueError("must be ≥ 0 seconds")
        return value
    if not text:
        raise ValueError("must not be empty")
    return text


DEFAULT_PARAMS = ModelParams()
