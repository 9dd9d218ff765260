"""Every **(A)** assumption of DOMAIN.md "Call routing semantics", as a named parameter.

DOMAIN.md marks as (A) what the public material of the service leaves open and was taken from
Asterisk/FreePBX behaviour. Each such choice is a field of :class:`ModelParams` with its default
and the DOMAIN.md rule it comes from, so a carrier whose deployment behaves otherwise can flip it
(`smartpbx-harness predict --param NAME=VALUE`). A few (A) statements are structural and are
not parameters; docs/model.md lists them with the reason.
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


@dataclass(frozen=True, kw_only=True)
class ModelParams:
    """The model's assumptions. Times are simulated seconds."""

    # Rule 1: destination.
    internal_pilot_starts_group: bool = True
    """Dialling a group's 代表番号 internally starts the group (else it rings the pilot's own
    extension like any extension)."""
    bare_terminal_number_within_site: bool = True
    """Within one 拠点, dialling the bare 端末番号 reaches the extension ("Numbering")."""
    own_number_loops_back: bool = True
    """An extension dialling one of the tenant's own 外線番号 that has a 外線着信設定 comes back in
    as an inbound call (presenting the caller's 外線発信 number), as it would through the PSTN."""

    # Rule 2: 一斉着信.
    group_ring_time: float = 20
    """G: how long a 一斉着信 group rings when its 呼出時間 is not given."""

    # Rule 3: 順次着信.
    member_ring_time: float = 20
    """T: how long each 順次着信 member rings when the group's 呼出時間 is not given."""
    skip_unavailable_costs_ring_time: bool = False
    """An unavailable member is skipped at once (False) or its slot of T passes in silence."""
    sequential_rounds: int = 1
    """How many times a 順次着信 group goes through its members (1: no loop)."""

    # Rule 4: 転送/留守番電話.
    unanswered_ring_limit: float | None = None
    """How long a call rings when nothing ends it (no 無応答 action, a forwarded leg with no
    fallback): None = until the caller gives up; a number = released after that many seconds."""
    forward_hop_limit: int = 5
    """At most this many 転送 hops to extensions; the next hop makes the call unavailable."""
    default_no_answer_ring_time: float = 20
    """呼出時間 used when 無応答 is set but a document omits 呼出時間 (validation refuses such
    documents; this only keeps the model total)."""

    # Rule 5: シングルナンバーリーチ.
    reach_rings_extension: bool = True
    """The extension X itself rings from t=0 alongside its 接続先."""
    reach_end_from: ReachEndFrom = ReachEndFrom.ARRIVAL
    """What 呼出終了時間 is measured from."""
    reach_early_end_when_all_failed: bool = True
    """When every leg has failed (busy, unreachable) and none is pending, the end comes at once."""

    # Rule 7: caller ID.
    withhold_prefix: str = "184"
    """Dialled before a number: the callee sees 非通知."""
    present_prefix: str = "186"
    """Dialled before a number: the caller ID is presented."""
    external_call_without_caller_id: MissingCallerId = MissingCallerId.REFUSED
    """An external call from an extension with no 外線発信設定."""
    forwarded_external_caller_id: ForwardedCallerId = ForwardedCallerId.FORWARDING_EXTENSION
    """The number a forwarded / single-number-reach leg to an external number presents."""

    # Rule 8: pickup.
    pickup_code: str = "*8"
    """Dialled by a pickup-group member to answer another member's ringing call."""

    # Scenario default.
    caller_gives_up_after: float = 120
    """When a scenario does not say, the caller hangs up after this many seconds."""

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
