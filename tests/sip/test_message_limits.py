"""Size limits of the message layer (issue 10.4a): one table of inputs at, just under and
over each limit drives the stream parser three ways (STYLE.md §4: whole, byte by byte, with
trailing data) and the datagram check, so the caps hold however TCP segments the bytes.

Refusals are ``FramingError``s: 400 for a header section over the cap, 413 for a body over
it (RFC 3261 §21.4.11), each carrying the bytes a server needs to answer statelessly — never
more than the cap, cut at a line end.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.sip.message import (
    FramingError,
    Request,
    Response,
    SizeLimits,
    StreamParser,
    check_datagram,
    parse_message,
)

LIMITS = SizeLimits(max_header_bytes=256, max_body_bytes=32)

START = (
    "OPTIONS sip:b@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKlimits\r\n"
    "From: <sip:a@127.0.0.1>;tag=1\r\n"
    "To: <sip:b@127.0.0.1>\r\n"
    "Call-ID: limits\r\n"
    "CSeq: 1 OPTIONS\r\n"
)


def message(*, pad_to: int | None = None, length: str | None = None, body: bytes = b"") -> bytes:
    """A request whose header section (empty line included) is ``pad_to`` bytes long when
    given (an ``X-Pad`` header fills it), with ``Content-Length: length`` (default: the body's
    length) and ``body``."""
    tail = f"Content-Length: {len(body) if length is None else length}\r\n"
    head = START + tail
    if pad_to is not None:
        filler = pad_to - len(head) - len("X-Pad: \r\n") - 2
        assert filler >= 0
        head = START + f"X-Pad: {'p' * filler}\r\n" + tail
        assert len(head) + 2 == pad_to
    return (head + "\r\n").encode() + body


@dataclass(frozen=True, kw_only=True)
class Accepted:
    id: str
    data: bytes


@dataclass(frozen=True, kw_only=True)
class Refused:
    id: str
    data: bytes
    status: int
    what: str


ACCEPTED = [
    Accepted(id="header section exactly at the cap", data=message(pad_to=256)),
    Accepted(id="body exactly at the cap", data=message(body=b"b" * 32)),
    Accepted(id="both at their cap", data=message(pad_to=256, body=b"b" * 32)),
]

REFUSED = [
    Refused(
        id="header section one byte over",
        data=message(pad_to=257),
        status=400,
        what="header section longer than 256 bytes",
    ),
    Refused(
        id="header section that never ends",
        data=START.encode() + b"X-Slow: s\r\n" * 40,
        status=400,
        what="header section longer than 256 bytes",
    ),
    Refused(
        id="body one byte over",
        data=message(body=b"b" * 33),
        status=413,
        what="body of 33 bytes is larger than the 32 bytes",
    ),
    Refused(
        id="Content-Length 9999999999, no body sent",
        data=message(length="9999999999"),
        status=413,
        what="body of 9999999999 bytes",
    ),
    Refused(
        id="Content-Length of 40 digits",
        data=message(length="9" * 40),
        status=413,
        what="body of a 40-digit number of bytes",
    ),
]


def parsed(data: bytes) -> Request:
    request = parse_message(data)
    assert isinstance(request, Request)
    return request


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.id)
def test_messages_within_the_limits_frame_three_ways(case: Accepted) -> None:
    expected = parsed(case.data)

    whole = StreamParser(limits=LIMITS)
    assert whole.feed(case.data) == [expected]
    assert whole.buffered == 0

    bytewise = StreamParser(limits=LIMITS)
    got = []
    for i in range(len(case.data)):
        got += bytewise.feed(case.data[i : i + 1])
    assert got == [expected]

    trailing = StreamParser(limits=LIMITS)
    assert trailing.feed(case.data + case.data[:40]) == [expected]
    assert trailing.buffered == 40
    assert trailing.feed(case.data[40:]) == [expected]

    check_datagram(case.data, LIMITS)  # a datagram within the limits passes too


def check_refusal(error: FramingError, case: Refused) -> None:
    assert error.status == case.status
    assert error.oversize
    assert case.what in error.what
    # What a server may answer from: the request's lines up to the cap, never a half line.
    assert len(error.data) <= LIMITS.max_header_bytes
    assert error.data.startswith(b"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nVia: ")
    assert error.data.endswith(b"\r\n")


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_messages_over_a_limit_are_refused_three_ways(case: Refused) -> None:
    whole = StreamParser(limits=LIMITS)
    with pytest.raises(FramingError) as info:
        whole.feed(case.data)
    check_refusal(info.value, case)
    assert whole.buffered == 0  # the buffer is dropped with the stream

    # Byte by byte the refusal comes as soon as the limit is crossed, and the buffer never
    # holds more than one header section and one body.
    bytewise = StreamParser(limits=LIMITS)
    bound = LIMITS.max_header_bytes + LIMITS.max_body_bytes
    with pytest.raises(FramingError) as info:
        for i in range(len(case.data)):
            assert bytewise.feed(case.data[i : i + 1]) == []
            assert bytewise.buffered <= bound
    check_refusal(info.value, case)
    assert i <= LIMITS.max_header_bytes + LIMITS.max_body_bytes

    trailing = StreamParser(limits=LIMITS)
    with pytest.raises(FramingError) as info:
        trailing.feed(case.data + message())  # an honest message behind it changes nothing
    check_refusal(info.value, case)


@pytest.mark.parametrize("case", REFUSED[:3], ids=lambda c: c.id)
def test_the_same_limits_apply_to_a_datagram(case: Refused) -> None:
    with pytest.raises(FramingError) as info:
        check_datagram(case.data, LIMITS)
    check_refusal(info.value, case)


def test_a_413_comes_before_any_of_the_body_is_read() -> None:
    parser = StreamParser(limits=LIMITS)
    head = message(length="9999999999")
    with pytest.raises(FramingError) as info:
        parser.feed(head)  # the header section alone: the body is never waited for
    assert info.value.status == 413
    assert info.value.data == head


def test_a_broken_framed_message_carries_its_bytes_for_a_400() -> None:
    data = message().replace(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS")
    with pytest.raises(FramingError) as info:
        StreamParser(limits=LIMITS).feed(data)
    assert (info.value.status, info.value.oversize) == (400, False)
    assert info.value.data == data
    assert "CSeq" in info.value.where


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_header_bytes is at least 64"):
        SizeLimits(max_header_bytes=10)
    with pytest.raises(ValueError, match="max_body_bytes at least 0"):
        SizeLimits(max_body_bytes=-1)


@given(
    case=st.sampled_from(ACCEPTED + REFUSED),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_any_chunking_gives_the_same_verdict_within_the_bound(
    case: Accepted | Refused, cuts: list[int]
) -> None:
    """However TCP segments the bytes, a message within the limits frames to itself and one
    over a limit is refused with the same status, the buffer never holding more than one
    header section, one body and the chunk just fed."""
    parser = StreamParser(limits=LIMITS)
    bounds = sorted({0, len(case.data), *(c for c in cuts if c < len(case.data))})
    got: list[Request | Response] = []
    try:
        for a, b in itertools.pairwise(bounds):
            got += parser.feed(case.data[a:b])
            assert parser.buffered <= LIMITS.max_header_bytes + LIMITS.max_body_bytes + (b - a)
    except FramingError as error:
        assert isinstance(case, Refused), f"{case.id} refused: {error}"
        check_refusal(error, case)
    else:
        assert isinstance(case, Accepted), f"{case.id} was not refused"
        assert got == [parsed(case.data)]
