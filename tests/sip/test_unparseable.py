"""``response_to_unparseable``: the stateless 400/413/505 to bytes the parser refused
(RFC 3261 §8.2.6.2, §21.4.11, §21.5.6), tested three ways (STYLE.md §4): the whole input,
every prefix of it, and with trailing data after the header section."""

from __future__ import annotations

import re

import pytest

from harness.sip.message import (
    Response,
    parse_message,
    response_to_unparseable,
)
from harness.sip.syntax import SipParseError

HEAD = (
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
    b"From: <sip:1001@pbx.example>;tag=a1\r\n"
    b"To: <sip:1002@pbx.example>\r\n"
    b"Call-ID: c-1@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
)

# (bytes, expected status or None when nobody is answered)
CASES: list[tuple[bytes, int | None]] = [
    (b"INVITE sip:1002@pbx.example SIP/2.0\r\n" + HEAD + b"Max-Forwards: x\r\n\r\n", 400),
    (b"INVITE sip:1002@pbx.example SIP/7.0\r\n" + HEAD + b"\r\n", 505),
    (b"INVITE sip:1002@pbx.example SIP/2.0\r\n" + HEAD + b"Content-Length: 99999999\r\n\r\n", 413),
    # compact forms are echoed too
    (
        b"OPTIONS sip:pbx.example SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-2\r\n"
        b"f: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: x\r\nCSeq: nope\r\n\r\n",
        400,
    ),
    (b"INVITE sip:1002@pbx.example SIP/2.0\r\nTo: <sip:a@b>\r\nCSeq: x\r\n\r\n", None),  # no Via
    (b"SIP/2.0 200 OK\r\n" + HEAD + b"CSeq: x\r\n\r\n", None),  # a response: never answered
    (b"\xff\xfe garbage\r\n\r\n", None),
    (b"", None),
]

_TAG = re.compile(rb";tag=[0-9a-f]+")


def _masked(answer: bytes | None) -> bytes | None:
    return None if answer is None else _TAG.sub(b";tag=T", answer)


def _status_of(data: bytes) -> int:
    """The status the parser itself suggests for ``data`` (SipParseError.status)."""
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    return info.value.status


def _check_answer(answer: bytes, data: bytes, status: int) -> None:
    """The answer: a status line with ``status``, the request's Via/From/To/Call-ID/CSeq lines
    echoed as sent (a To tag added when missing), Content-Length 0 and nothing else."""
    lines = answer.split(b"\r\n")
    assert lines[0].startswith(f"SIP/2.0 {status} ".encode())
    assert answer.endswith(b"\r\nContent-Length: 0\r\n\r\n")
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    echoed = [
        line for line in head if line.split(b":")[0].strip().lower() in _ECHOED and b":" in line
    ]
    assert [_norm(line) for line in lines[1:-3]] == [_norm(line) for line in echoed]
    to_lines = [line for line in lines if line.lower().startswith((b"to:", b"t:"))]
    assert all(b";tag=" in line for line in to_lines)


def _norm(line: bytes) -> bytes:
    name, _, value = _TAG.sub(b"", line).partition(b":")
    return name.strip() + b": " + value.strip()


_ECHOED = {b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq"}


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_whole_input(data: bytes, expected: int | None) -> None:
    status = expected or 400
    if expected in (400, 505):
        # the parser suggests that very status (413 comes from the size limits of a body
        # actually received, tests/sip/test_transport_limits.py)
        assert _status_of(data) == expected
    answer = response_to_unparseable(data, status, "what went wrong")
    if expected is None:
        assert answer is None
        return
    assert answer is not None
    _check_answer(answer, data, expected)
    assert b"(what went wrong)\r\n" in answer


def test_an_answer_with_sound_echoed_lines_parses_as_that_response() -> None:
    data, status = CASES[0]
    answer = response_to_unparseable(data, 400, "Max-Forwards")
    assert answer is not None
    response = parse_message(answer)
    assert isinstance(response, Response)
    assert (response.status, response.headers.call_id) == (status, "c-1@127.0.0.1")
    assert response.headers.via.branch == "z9hG4bK-1"
    assert response.headers.to.tag is not None  # §8.2.6.2: a To tag is added


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_every_prefix_is_answered_or_not_but_never_raises(data: bytes, expected: int) -> None:
    for end in range(len(data) + 1):
        answer = response_to_unparseable(data[:end], 400, "truncated")
        if answer is not None:
            _check_answer(answer, data[:end], 400)


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_trailing_data_after_the_head_changes_nothing(data: bytes, expected: int | None) -> None:
    status = expected or 400
    alone = response_to_unparseable(data, status, "x")
    for trailer in (b"v=0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\n", b"\x00\xff" * 50, b"\r\n\r\n"):
        assert _masked(response_to_unparseable(data + trailer, status, "x")) == _masked(alone)


def test_a_to_tag_already_there_is_kept_and_the_reason_is_printable_ascii() -> None:
    head = HEAD.replace(b"<sip:1002@pbx.example>", b"<sip:c@d>;tag=z9")
    data = b"INVITE sip:a@b SIP/2.0\r\n" + head + b"Max-Forwards: x\r\n\r\n"
    answer = response_to_unparseable(data, 400, "不正な\r\nMax-Forwards " + "x" * 300)
    assert answer is not None
    response = parse_message(answer)
    assert isinstance(response, Response)
    assert response.headers.to.tag == "z9"
    assert response.reason == "Bad Request (Max-Forwards " + "x" * 87 + ")"
