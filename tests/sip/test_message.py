"""Message layer: one (bytes, expected) table drives parse, serialize and stream framing.

Each case is fed three ways (STYLE.md §4): whole, byte by byte to the StreamParser, and with
trailing data (the start of the next message) that must stay buffered.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.sip.headers import CSeq, Headers, Via
from harness.sip.message import (
    Request,
    Response,
    SizeLimits,
    StreamParser,
    parse_message,
    serialize,
    split_message,
)
from harness.sip.syntax import Params, SipParseError
from harness.sip.uri import AbsoluteUri, NameAddr, SipUri


@dataclass(frozen=True, kw_only=True)
class Case:
    id: str
    data: bytes
    expected: Request | Response
    canonical: bool  # serialize(expected) == data byte for byte


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"

CASES = [
    Case(
        id="invite-with-sdp",
        data=crlf(
            "INVITE sip:bob@example.com SIP/2.0\n"
            "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776;rport\n"
            "Max-Forwards: 70\n"
            'From: "Alice" <sip:alice@example.com>;tag=1928\n'
            "To: <sip:bob@example.com>\n"
            "Call-ID: a84b4c76e66710@127.0.0.1\n"
            "CSeq: 314159 INVITE\n"
            "Contact: <sip:alice@127.0.0.1:5060>\n"
            "Content-Type: application/sdp\n"
            f"Content-Length: {len(SDP)}\n\n"
        )
        + SDP,
        expected=Request(
            method="INVITE",
            uri=SipUri(user="bob", host="example.com"),
            headers=Headers(
                [
                    ("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776;rport"),
                    ("Max-Forwards", "70"),
                    ("From", '"Alice" <sip:alice@example.com>;tag=1928'),
                    ("To", "<sip:bob@example.com>"),
                    ("Call-ID", "a84b4c76e66710@127.0.0.1"),
                    ("CSeq", "314159 INVITE"),
                    ("Contact", "<sip:alice@127.0.0.1:5060>"),
                    ("Content-Type", "application/sdp"),
                    ("Content-Length", str(len(SDP))),
                ]
            ),
            body=SDP,
        ),
        canonical=True,
    ),
    Case(
        id="compact-forms-folding-and-lists",
        data=crlf(
            "OPTIONS sip:[::1]:5070;transport=tcp SIP/2.0\n"
            "v: SIP/2.0/TCP [::1]:5071;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb\n"
            "f: sip:alice@example.com;tag=1\n"
            "t: sip:bob@example.com\n"
            "i: abc\n"
            "CSEQ: 2\n"
            "  OPTIONS\n"
            "k: replaces, timer\n"
            "X-Custom: a, b\n"
            "l: 0\n\n"
        ),
        expected=Request(
            method="OPTIONS",
            uri=SipUri(host="[::1]", port=5070, params=Params((("transport", "tcp"),))),
            headers=Headers(
                [
                    ("Via", "SIP/2.0/TCP [::1]:5071;branch=z9hG4bKa"),
                    ("Via", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb"),
                    ("From", "sip:alice@example.com;tag=1"),
                    ("To", "sip:bob@example.com"),
                    ("Call-ID", "abc"),
                    ("CSeq", "2 OPTIONS"),
                    ("Supported", "replaces"),
                    ("Supported", "timer"),
                    ("X-Custom", "a, b"),
                    ("Content-Length", "0"),
                ]
            ),
        ),
        canonical=False,
    ),
    Case(
        id="response-utf8-reason",
        data=crlf(
            "SIP/2.0 486 話中です\n"
            "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;received=127.0.0.2;rport=5062\n"
            'From: "山田 \\"太郎\\"" <sip:20201@example.jp>;tag=a\n'
            "To: <sip:20200@example.jp>;tag=b\n"
            "Call-ID: x@y\n"
            "CSeq: 1 INVITE\n"
            'WWW-Authenticate: Digest realm="a, b", nonce="n"\n'
            "Content-Length: 0\n\n"
        ),
        expected=Response(
            status=486,
            reason="話中です",
            headers=Headers(
                [
                    (
                        "Via",
                        "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;received=127.0.0.2;rport=5062",
                    ),
                    ("From", '"山田 \\"太郎\\"" <sip:20201@example.jp>;tag=a'),
                    ("To", "<sip:20200@example.jp>;tag=b"),
                    ("Call-ID", "x@y"),
                    ("CSeq", "1 INVITE"),
                    ("WWW-Authenticate", 'Digest realm="a, b", nonce="n"'),
                    ("Content-Length", "0"),
                ]
            ),
        ),
        canonical=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_parse_gives_the_expected_message(case: Case) -> None:
    assert parse_message(case.data) == case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_serialize_round_trips(case: Case) -> None:
    data = serialize(case.expected)
    if case.canonical:
        assert data == case.data
    assert parse_message(data) == case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_stream_parser_whole_byte_by_byte_and_with_trailing_data(case: Case) -> None:
    whole = StreamParser()
    assert whole.feed(case.data) == [case.expected]
    assert whole.buffered == 0

    bytewise = StreamParser()
    got = []
    for i in range(len(case.data)):
        got += bytewise.feed(case.data[i : i + 1])
        if i < len(case.data) - 1:
            assert got == [], f"message completed early at byte {i}"
    assert got == [case.expected]

    trailing = StreamParser()
    tail = b"\r\n\r\n" + case.data[:30]  # a keep-alive, then half a message
    assert trailing.feed(case.data + tail) == [case.expected]
    assert trailing.buffered == 30
    assert trailing.feed(case.data[30:]) == [case.expected]


def test_typed_accessors() -> None:
    h = parse_message(CASES[0].data).headers
    assert h.call_id == "a84b4c76e66710@127.0.0.1"
    assert h.cseq == CSeq(number=314159, method="INVITE")
    assert h.via.branch == "z9hG4bK776" and h.via.has_rport and h.via.rport is None
    assert h.via.sent_by == "127.0.0.1:5060"
    assert h.from_.display_name == "Alice" and h.from_.tag == "1928"
    assert h.to.tag is None
    assert h.contact is not None and h.contact.uri == SipUri(
        user="alice", host="127.0.0.1", port=5060
    )
    assert h.max_forwards == 70 and h.content_length == len(SDP)
    assert h.content_type == "application/sdp" and h.expires is None
    r = parse_message(CASES[2].data).headers
    assert r.via.received == "127.0.0.2" and r.via.rport == 5062
    assert r.from_.display_name == '山田 "太郎"'
    assert r.get_all("www-authenticate") == ['Digest realm="a, b", nonce="n"']


def test_headers_are_case_insensitive_and_keep_order() -> None:
    h = Headers([("v", "SIP/2.0/UDP a"), ("x-foo", "1"), ("VIA", "SIP/2.0/UDP b")])
    assert list(h) == [("Via", "SIP/2.0/UDP a"), ("x-foo", "1"), ("Via", "SIP/2.0/UDP b")]
    assert h.get_all("via") == ["SIP/2.0/UDP a", "SIP/2.0/UDP b"]
    assert h.get("X-FOO") == "1" and "X-Foo" in h and "Route" not in h
    assert [v.host for v in h.vias] == ["a", "b"]
    assert list(h.set("Via", "SIP/2.0/TCP c")) == [("Via", "SIP/2.0/TCP c"), ("x-foo", "1")]
    assert list(h.remove("X-Foo")) == [("Via", "SIP/2.0/UDP a"), ("Via", "SIP/2.0/UDP b")]
    assert h.prepend("Via", "SIP/2.0/UDP z").get("via") == "SIP/2.0/UDP z"
    with pytest.raises(ValueError, match="CR or LF"):
        Headers([("Subject", "a\r\nInjected: 1")])


def test_p_asserted_identity_and_routes() -> None:
    h = Headers(
        [
            ("P-Asserted-Identity", '"Taro" <sip:0312345678@example.jp>'),
            ("P-Asserted-Identity", "<tel:+81312345678>"),
            ("Record-Route", "<sip:p1.example.com;lr>"),
            ("Record-Route", "<sip:p2.example.com;lr>"),
        ]
    )
    ids = h.p_asserted_identities
    assert ids[0].display_name == "Taro"
    assert ids[1].uri == AbsoluteUri(scheme="tel", rest="+81312345678")
    assert [str(r.uri) for r in h.record_routes] == [
        "sip:p1.example.com;lr",
        "sip:p2.example.com;lr",
    ]


def test_request_build_and_response_for_request_follow_8_2_6() -> None:
    req = Request.build(
        "INVITE",
        "sip:20200@example.jp",
        from_=NameAddr(uri=SipUri(user="20201", host="example.jp")).with_tag("f1"),
        to=NameAddr(uri=SipUri(user="20200", host="example.jp")),
        call_id="c1@h",
        cseq=7,
        vias=(
            Via(transport="UDP", host="10.0.0.1", port=5060).with_param("branch", "z9hG4bKx"),
            "SIP/2.0/UDP proxy.example.jp;branch=z9hG4bKy",
        ),
        contact="<sip:20201@10.0.0.1:5060>",
        headers=(("Record-Route", "<sip:rr.example.jp;lr>"),),
        body=SDP,
        content_type="application/sdp",
    )
    assert req.headers.cseq == CSeq(number=7, method="INVITE")
    assert req.headers.content_length == len(SDP)
    assert parse_message(serialize(req)) == req

    ringing = Response.for_request(req, 180, to_tag="t9")
    assert ringing.reason == "Ringing"
    assert ringing.headers.get_all("Via") == req.headers.get_all("Via")
    assert ringing.headers.get("From") == req.headers.get("From")
    assert ringing.headers.to.tag == "t9"
    assert ringing.headers.call_id == "c1@h" and ringing.headers.cseq == req.headers.cseq
    assert ringing.headers.get_all("Record-Route") == ["<sip:rr.example.jp;lr>"]
    trying = Response.for_request(req, 100)
    assert trying.headers.to.tag is None and "Record-Route" not in trying.headers
    busy = Response.for_request(req, 486, "Busy", to_tag="t9")
    assert busy.reason == "Busy" and parse_message(bytes(busy)) == busy


def test_with_body_keeps_content_length_consistent() -> None:
    req = parse_message(CASES[1].data)
    assert isinstance(req, Request)
    longer = req.with_body(b"hello", "text/plain")
    assert longer.headers.content_length == 5 and longer.headers.content_type == "text/plain"
    assert parse_message(serialize(longer)) == longer
    with pytest.raises(ValueError, match="Content-Length"):
        serialize(req.with_header("Content-Length", "9"))


def test_datagram_content_length_rules() -> None:
    data = CASES[1].data
    extra = data + b"garbage that looks like nothing"
    message, rest = split_message(extra)
    assert message == CASES[1].expected and rest == b"garbage that looks like nothing"
    assert parse_message(extra) == CASES[1].expected  # §18.3: extra octets are dropped
    no_length = data.replace(b"l: 0\r\n", b"") + b"body"
    assert parse_message(no_length).body == b"body"  # UDP: body runs to the datagram's end
    with pytest.raises(SipParseError, match="Content-Length 10 but only 4 bytes") as info:
        parse_message(data.replace(b"l: 0", b"l: 10") + b"body")
    assert info.value.where == "Content-Length"


@pytest.mark.parametrize(
    ("data", "what", "where"),
    [
        (b"", "header section not ended", "offset 0"),
        (b"INVITE sip:a@b SIP/2.0\r\n\r\n", "missing mandatory Via", "Via"),
        (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", "more than one space", "request line"),
        (b"INVITE sip:a@b SIP/2.0 \r\n\r\n", "trailing whitespace", "request line"),
        (b"INVITE sip:a@b SIP/3.0\r\n\r\n", "unsupported SIP version", "request line"),
        (b"SIP/2.0 1000 Big\r\n\r\n", "status code must be 3 digits", "status line"),
        (b"INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP a\r\n\r\n", "without ':'", "line 2"),
        (b"INVITE sip:a@b SIP/2.0\r\nVi a: x\r\n\r\n", "invalid header name", "line 2"),
        (b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a\nX: y\r\n\r\n", "bare CR or LF", ""),
    ],
)
def test_parse_errors_say_what_and_where(data: bytes, what: str, where: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert what in info.value.what
    assert where in info.value.where
    assert isinstance(info.value, ValueError)


def test_version_errors_suggest_505() -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(b"OPTIONS sip:a@b SIP/7.0\r\n\r\n")
    assert info.value.status == 505


def test_stream_parser_skips_keepalives_and_refuses_runaway_headers() -> None:
    parser = StreamParser(limits=SizeLimits(max_header_bytes=300))
    assert parser.feed(b"\r\n\r\n\r\n") == []
    assert parser.buffered == 0
    assert parser.feed(CASES[1].data) == [CASES[1].expected]
    with pytest.raises(SipParseError, match="header section longer than 300 bytes"):
        parser.feed(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 60)
    assert parser.buffered == 0


def test_an_internal_error_still_surfaces_as_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.sip.message as message_module

    def broken(head: str) -> None:
        raise IndexError("simulated parser bug")

    monkeypatch.setattr(message_module, "_parse_head", broken)
    with pytest.raises(SipParseError, match="unparseable message .IndexError: simulated") as info:
        parse_message(CASES[0].data)
    assert isinstance(info.value.__cause__, IndexError)
