"""Caller ID shown by a phone and the model-shaped JSON of its events."""

from __future__ import annotations

import pytest

from harness.sip.observed import PhoneEvent, PhoneEventKind, model_events, shown_caller_id


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"from_display": None, "from_user": "20201", "from_host": "d.jp"}, "20201"),
        (
            {
                "from_display": "x",
                "from_user": "20201",
                "from_host": "d",
                "asserted_user": "0312345678",
            },
            "0312345678",
        ),
        ({"from_display": "Anonymous", "from_user": "20201", "from_host": "d"}, "非通知"),
        ({"from_display": None, "from_user": "anonymous", "from_host": "d"}, "非通知"),
        ({"from_display": None, "from_user": "x", "from_host": "anonymous.invalid"}, "非通知"),
        (
            {
                "from_display": None,
                "from_user": "20201",
                "from_host": "d",
                "asserted_user": "20201",
                "privacy": "id",
            },
            "非通知",
        ),
        ({"from_display": None, "from_user": None, "from_host": "d"}, "非通知"),
    ],
)
def test_shown_caller_id(kwargs: dict[str, str | None], shown: str) -> None:
    assert shown_caller_id(**kwargs) == shown  # type: ignore[arg-type]


def test_model_json_is_relative_to_the_call_origin() -> None:
    event = PhoneEvent(
        t=12.5, kind=PhoneEventKind.RING, phone="20200", call_id="c", caller_id="20201"
    )
    assert event.to_model_json(origin=2.5) == {
        "t": 10.0,
        "kind": "ring",
        "endpoint": "20200",
        "caller_id": "20201",
    }


def test_model_events_keep_model_kinds_in_time_order() -> None:
    def event(t: float, kind: PhoneEventKind, phone: str, call_id: str = "c") -> PhoneEvent:
        return PhoneEvent(t=t, kind=kind, phone=phone, call_id=call_id)

    events = [
        event(10.0, PhoneEventKind.DIAL, "20200"),
        event(30.0, PhoneEventKind.STOP, "20201"),
        event(10.1, PhoneEventKind.RING, "20201"),
        event(31.0, PhoneEventKind.RING, "20202", call_id="other"),
    ]
    assert model_events(events, origin=10.0, call_ids=["c"]) == [
        {"t": pytest.approx(0.1), "kind": "ring", "endpoint": "20201"},
        {"t": 20.0, "kind": "stop", "endpoint": "20201"},
    ]
    assert [e["endpoint"] for e in model_events(events, origin=10.0)] == [
        "20201",
        "20201",
        "20202",
    ]
