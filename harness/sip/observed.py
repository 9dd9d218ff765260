"""What a virtual phone observed: its timeline of call events, in simulated seconds.

Pure. Event kinds line up with the reference model's Timeline (issue 2 part 6 JSON contract:
``ring, stop, answer, busy, voicemail, release, refused``) so flows can compare observed and
predicted timelines event by event; a few kinds only a phone sees are added.

Seen by the *called* phone (the model's endpoint is this phone):

- ``ring``: an INVITE arrived and the phone rings (caller ID shown, 非通知 when withheld);
- ``stop``: the ringing ended without this phone answering (CANCEL, or another leg won);
- ``answer``: this phone answered;
- ``rejected``: this phone refused the call with 486 Busy Here (set busy: at once, without
  ringing; ``reject_after``: after ringing, ``detail`` ``after ringing``).

Seen by the *calling* phone (the model names the caller on the call's end events):

- ``dial``: the phone sent the INVITE (``peer`` = the dialled digits);
- ``ringback``: a 18x arrived;
- ``connected``: the far end answered (200 OK);
- ``busy``: 486/600 Busy; ``refused``: 403/404/484/603 and other 4xx-6xx the user cannot get
  through; ``release``: the call ended without an answer otherwise (480, 487 after our own
  cancel, 408 timeout, 503…).

Either side, after an answer: ``hangup`` (``detail`` ``local`` or ``remote``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

WITHHELD = "非通知"


class PhoneEventKind(StrEnum):
    RING = "ring"
    STOP = "stop"
    ANSWER = "answer"
    REJECTED = "rejected"
    DIAL = "dial"
    RINGBACK = "ringback"
    CONNECTED = "connected"
    BUSY = "busy"
    REFUSED = "refused"
    RELEASE = "release"
    HANGUP = "hangup"


#: Kinds that exist in the reference model's Timeline with the same meaning for this phone.
MODEL_KINDS = frozenset(
    {
        PhoneEventKind.RING,
        PhoneEventKind.STOP,
        PhoneEventKind.ANSWER,
        PhoneEventKind.BUSY,
        PhoneEventKind.REFUSED,
        PhoneEventKind.RELEASE,
    }
)


@dataclass(frozen=True, kw_only=True)
class PhoneEvent:
    """One observation of one phone.

    ``t``: simulated seconds (the phone's ``Clock.now()``); ``phone``: the phone's name (its
    内線番号 when built from a guide); ``call_id``: the SIP Call-ID, to group events of one
    call; ``caller_id``: on ``ring``, the number shown; ``peer``: on ``dial``, the digits
    dialled; ``status``: the SIP status code behind the event, when there is one.
    """

    t: float
    kind: PhoneEventKind
    phone: str
    call_id: str
    caller_id: str | None = None
    peer: str | None = None
    status: int | None = None
    detail: str | None = None

    def to_model_json(self, *, origin: float = 0.0) -> dict[str, Any]:
        """The event in the model's JSON shape, ``t`` relative to ``origin`` (the call's
        arrival, simulated seconds)."""
        data: dict[str, Any] = {"t": self.t - origin, "kind": self.kind.value}
        data["endpoint"] = self.phone
        if self.caller_id is not None:
            data["caller_id"] = self.caller_id
        return data


def shown_caller_id(
    *,
    from_display: str | None,
    from_user: str | None,
    from_host: str,
    asserted_user: str | None = None,
    privacy: str | None = None,
) -> str:
    """The caller ID a phone displays for an incoming INVITE.

    P-Asserted-Identity (RFC 3325) wins over From when present, unless ``Privacy`` asks for
    ``id`` or ``user`` privacy. Anonymous callers (RFC 3323 §4.1.1.3:
    ``"Anonymous" <sip:anonymous@anonymous.invalid>``, or any of its parts) show 非通知.
    """
    privacy_values = {p.strip().lower() for p in (privacy or "").split(";") if p.strip()}
    if privacy_values & {"id", "user", "header"}:
        return WITHHELD
    if asserted_user and asserted_user.lower() != "anonymous":
        return asserted_user
    if (
        (from_display or "").strip().lower() == "anonymous"
        or (from_user or "").lower() == "anonymous"
        or from_host.lower() == "anonymous.invalid"
        or not from_user
    ):
        return WITHHELD
    return from_user


def model_events(
    events: Iterable[PhoneEvent], *, origin: float, call_ids: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Several phones' events in the model's JSON shape, for comparison with a predicted
    Timeline: only the kinds the model knows (``MODEL_KINDS``), ``t`` relative to ``origin``
    (simulated seconds of the call's arrival), ordered by time. ``call_ids`` restricts to the
    legs of one call (a forwarded call has one Call-ID per leg)."""
    wanted = None if call_ids is None else set(call_ids)
    chosen = [
        e for e in events if e.kind in MODEL_KINDS and (wanted is None or e.call_id in wanted)
    ]
    chosen.sort(key=lambda e: e.t)
    return [e.to_model_json(origin=origin) for e in chosen]
