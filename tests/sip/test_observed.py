"""Caller ID shown by a phone and the model-shaped JSON of its events."""

from __future__ import annotations

import pytest

from harness.sip.observed import PhoneEvent, PhoneEventKind, shown_caller_id


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
