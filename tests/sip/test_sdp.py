"""The phones' session descriptions (harness.sip.sdp): RFC 3264 offer/answer directions."""

from __future__ import annotations

import pytest

from harness.sip.sdp import answer_direction, sdp_direction, session_description


@pytest.mark.parametrize("direction", ["sendrecv", "sendonly", "recvonly", "inactive"])
def test_a_description_states_its_direction(direction: str) -> None:
    body = session_description(7, direction)
    assert sdp_direction(body) == direction
    assert body.startswith(b"v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\n")
    assert b"\r\nm=audio 9 RTP/AVP 0\r\n" in body  # port 9: discard, no media is sent
    assert body.endswith(f"a={direction}\r\n".encode())


def test_no_direction_attribute_means_sendrecv() -> None:
    # RFC 3264 §5.1: sendrecv is the default when no direction attribute is present.
    assert sdp_direction(b"v=0\r\nm=audio 9 RTP/AVP 0\r\n") == "sendrecv"
    assert sdp_direction(b"") == "sendrecv"
    assert sdp_direction(b"\xff\xfe a=sendonly") == "sendrecv"  # not a line of its own


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        ("sendonly", "recvonly"),  # hold (RFC 3264 §8.4)
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
        ("sendrecv", "sendrecv"),  # resume
    ],
)
def test_the_answer_mirrors_the_offer(offered: str, answered: str) -> None:
    assert answer_direction(session_description(1, offered)) == answered


def test_an_empty_offer_is_answered_sendrecv() -> None:
    assert answer_direction(b"") == "sendrecv"
