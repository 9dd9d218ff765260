"""The model's answer: what each phone observes, in simulated seconds from the call's arrival.

:meth:`Timeline.to_json` is the JSON contract of issue 2 that other tools rely on::

    {"events": [{"t": 0, "kind": "ring", "endpoint": "20200", "caller_id": "09099998888"},
                {"t": 15, "kind": "stop", "endpoint": "20200"}],
     "outcome": "answered", "answered_by": "09011112222"}

Endpoints are full 内線番号 or external digits without hyphens. ``caller_id`` (on ring events
only) is the number shown to that endpoint, or ``非通知``. The events that end the call (busy,
release, refused) name the *caller* as endpoint: it is the caller who hears the busy tone, the
release or the refusal; ``voicemail`` names the mailbox's extension, ``answer`` who answered.
Events at the same t: stops before rings, rings before answers, the call's end last.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

WITHHELD = "非通知"


class EventKind(StrEnum):
    RING = "ring"
    STOP = "stop"
    ANSWER = "answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    RELEASE = "release"
    REFUSED = "refused"


class Outcome(StrEnum):
    ANSWERED = "answered"
    VOICEMAIL = "voicemail"
    RELEASED = "released"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    REFUSED = "refused"


#: Order of events that share a t (DOMAIN.md / issue 2: stops before rings).
KIND_RANK: dict[EventKind, int] = {
    EventKind.STOP: 0,
    EventKind.RING: 1,
    EventKind.ANSWER: 2,
    EventKind.BUSY: 3,
    EventKind.VOICEMAIL: 3,
    EventKind.RELEASE: 3,
    EventKind.REFUSED: 3,
}

#: The event that ends a call with each outcome.
FINAL_KIND: dict[Outcome, EventKind] = {
    Outcome.ANSWERED: EventKind.ANSWER,
    Outcome.VOICEMAIL: EventKind.VOICEMAIL,
    Outcome.RELEASED: EventKind.RELEASE,
    Outcome.UNAVAILABLE: EventKind.RELEASE,
    Outcome.BUSY: EventKind.BUSY,
    Outcome.REFUSED: EventKind.REFUSED,
}


@dataclass(frozen=True, kw_only=True)
class Event:
    """One observation: at ``t`` something happened at ``endpoint``."""

    t: float
    kind: EventKind
    endpoint: str
    caller_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"t": _number(self.t), "kind": self.kind.value}
        data["endpoint"] = self.endpoint
        if self.caller_id is not None:
            data["caller_id"] = self.caller_id
        return data


@dataclass(frozen=True, kw_only=True)
class Timeline:
    """Every event of one call, in order, and how the call ended."""

    events: tuple[Event, ...]
    outcome: Outcome
    answered_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "events": [event.to_json() for event in self.events],
            "outcome": self.outcome.value,
            "answered_by": self.answered_by,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Timeline:
        """Inverse of :meth:`to_json` (for tools that compare stored timelines)."""
        return cls(
            events=tuple(
                Event(
                    t=float(item["t"]),
                    kind=EventKind(item["kind"]),
                    endpoint=str(item["endpoint"]),
                    caller_id=item.get("caller_id"),
                )
                for item in data["events"]
            ),
            outcome=Outcome(data["outcome"]),
            answered_by=data.get("answered_by"),
        )


def _number(t: float) -> int | float:
    """Whole seconds print as integers (``0``, not ``0.0``), as in the contract's example."""
    return int(t) if float(t).is_integer() else t
