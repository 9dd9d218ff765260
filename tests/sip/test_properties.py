"""Property tests of the message layer (Hypothesis).

- Fuzz: random bytes and mutated valid messages — only ``SipParseError`` may escape, from
  ``parse_message`` and from the ``StreamParser`` fed in random chunks.
- Round trip: generated messages satisfy ``parse(serialize(m)) == m`` and their typed header
  values come back equal.
- List lines: lines of list headers with a comma are split once and memoised by their text;
  the first parse (memo filled) and the second (memo hit) agree with ``split_commas``.
- Fast validation: ``parse_message`` checks the usual forms of Via, From/To/Contact, CSeq,
  Call-ID, Max-Forwards and Content-Length with one pattern each and builds the typed values
  on first access. Strings generated from each pattern must be accepted by the full parser,
  and after any successful parse (also of fuzzed input) those accessors must not raise.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.sip.headers import CSEQ_PLAIN, VIA_PLAIN, CSeq, Headers, Via
from harness.sip.message import (
    _LIST_LINE_MAX_CHARS,
    _LIST_LINES,
    _LIST_LINES_MAX,
    CALL_ID_PLAIN,
    CONTENT_LENGTH_PLAIN,
    MAX_FORWARDS_PLAIN,
    Request,
    Response,
    StreamParser,
    parse_message,
    serialize,
)
from harness.sip.syntax import Params, SipParseError, split_commas
from harness.sip.uri import NAME_ADDR_PLAIN, NameAddr, SipUri

SEEDS = [p.read_bytes() for p in sorted((Path(__file__).parent / "rfc4475").glob("*.dat"))]


def read_validated_values(h: Headers) -> None:
    """Every accessor ``parse_message`` vouches for; any exception fails the test."""
    _ = h.vias, h.via, h.from_, h.to, h.call_id, h.cseq, h.contacts, h.contact
    _ = h.max_forwards, h.content_length


def parse_or_refuse(data: bytes) -> None:
    """Parse ``data`` every way; anything but SipParseError propagates and fails the test."""
    try:
        message = parse_message(data)
    except SipParseError as exc:
        assert exc.what and exc.where
    else:
        read_validated_values(message.headers)
        assert parse_message(serialize(message)) == message


def stream_or_refuse(data: bytes, cuts: list[int]) -> None:
    parser = StreamParser()
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    try:
        for a, b in zip(bounds, bounds[1:], strict=False):
            parser.feed(data[a:b])
    except SipParseError as exc:
        assert exc.what and exc.where


@given(st.binary(max_size=600))
def test_random_bytes_only_raise_sip_parse_error(data: bytes) -> None:
    parse_or_refuse(data)
    parse_or_refuse(b"INVITE sip:a@b SIP/2.0\r\n" + data)


@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=8))
def test_random_bytes_on_a_stream_only_raise_sip_parse_error(data: bytes, cuts: list[int]) -> None:
    stream_or_refuse(data, cuts)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate"]))
        if action == "flip" and data:
            data[at] = draw(st.sampled_from(b' \t\r\n:;,<>"\\@%=/0aZ\x00\xff'))
        elif action == "insert":
            data[at:at] = draw(st.sampled_from([b"\r\n", b" ", b'"', b"<", b",", b";", b"\r\n "]))
        elif action == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=8))]
        elif action == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(min_value=1, max_value=40))]
        else:
            del data[at:]
    return bytes(data)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.lists(st.integers(min_value=0), max_size=8))
def test_mutated_valid_messages_only_raise_sip_parse_error(data: bytes, cuts: list[int]) -> None:
    parse_or_refuse(data)
    stream_or_refuse(data, cuts)


# --- generated messages ---------------------------------------------------------------

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
tokens = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=12)
users = st.text(alphabet="abcdefghijXYZ0123456789-_.!~*'()&=+$,;?/", min_size=1, max_size=12)
hostnames = st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){0,2}", fullmatch=True)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.sampled_from(["[::1]", "[2001:db8::10]", "[fe80::1:2:3]"])
hosts = st.one_of(hostnames, ipv4, ipv6)
ports = st.none() | st.integers(min_value=0, max_value=65535)
params = st.lists(st.tuples(tokens, st.none() | tokens), max_size=3).map(
    lambda items: Params(tuple(items))
)
# URI parameters use paramchar (§25.1), narrower than the token of header parameters.
uri_param_parts = st.text(alphabet="abcXYZ019-_.!~*'()[]/:&+$", min_size=1, max_size=10)
uri_params = st.lists(st.tuples(uri_param_parts, st.none() | uri_param_parts), max_size=3).map(
    lambda items: Params(tuple(items))
)
sip_uris = st.builds(
    SipUri,
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.none() | users,
    host=hosts,
    port=ports,
    params=uri_params,
)
# Display names: any text but CR/LF and surrogates (quoted and escaped on the wire).
display_names = st.none() | st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=15
)
name_addrs = st.builds(NameAddr, display_name=display_names, uri=sip_uris, params=params)
vias = st.builds(
    Via,
    transport=st.sampled_from(["UDP", "TCP", "TLS", "SCTP"]),
    host=hosts,
    port=ports,
    params=tokens.map(lambda b: Params((("branch", "z9hG4bK" + b),))),
)
header_values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30
).map(lambda v: v.strip(" \t"))
extra_headers = st.lists(st.tuples(tokens.map(lambda n: "X-" + n), header_values), max_size=4).map(
    tuple
)
call_ids = st.from_regex(r"[A-Za-z0-9.\-]{1,16}(@[a-z0-9.]{1,10})?", fullmatch=True)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(st.sampled_from(["INVITE", "REGISTER", "OPTIONS", "BYE"]) | tokens)
    return Request.build(
        method,
        draw(sip_uris),
        from_=draw(name_addrs),
        to=draw(name_addrs),
        call_id=draw(call_ids),
        cseq=draw(st.integers(min_value=0, max_value=2**31 - 1)),
        vias=tuple(draw(st.lists(vias, min_size=1, max_size=3))),
        contact=draw(st.none() | name_addrs),
        max_forwards=draw(st.integers(min_value=0, max_value=255)),
        headers=draw(extra_headers),
        body=draw(st.binary(max_size=80)),
        content_type=draw(st.none() | st.just("application/sdp")),
    )


@st.composite
def responses(draw: st.DrawFn) -> Response:
    request = draw(requests())
    status = draw(st.integers(min_value=100, max_value=699))
    reason = draw(st.none() | header_values)
    return Response.for_request(
        request,
        status,
        reason,
        to_tag=draw(st.none() | tokens),
        headers=draw(extra_headers),
        body=draw(st.binary(max_size=80)),
    )


@given(requests() | responses())
def test_parse_of_serialize_is_identity(message: Request | Response) -> None:
    data = serialize(message)
    parsed = parse_message(data)
    assert parsed == message
    assert StreamParser().feed(data + data) == [message, message]


@given(requests())
def test_typed_values_survive_the_wire(request: Request) -> None:
    parsed = parse_message(serialize(request)).headers
    h = request.headers
    assert parsed.from_ == h.from_ and parsed.to == h.to
    assert parsed.vias == h.vias and parsed.contacts == h.contacts
    assert parsed.cseq == h.cseq and parsed.call_id == h.call_id


@given(sip_uris)
def test_uri_str_round_trip(uri: SipUri) -> None:
    assert SipUri.parse(str(uri)) == uri
    assert SipUri.parse(str(uri)).equivalent(uri)


# --- fast validation patterns are subsets of the full parsers -------------------------------


@given(st.from_regex(VIA_PLAIN, fullmatch=True))
def test_every_plain_via_parses(text: str) -> None:
    transport = text.split("/", 2)[2].split(" ", 1)[0]
    assert Via.parse(text).transport == transport.upper()


@given(st.from_regex(NAME_ADDR_PLAIN, fullmatch=True))
def test_every_plain_name_addr_parses(text: str) -> None:
    for where in ("From", "To", "Contact"):
        assert isinstance(NameAddr.parse(text, where), NameAddr)


@given(st.from_regex(CSEQ_PLAIN, fullmatch=True))
def test_every_plain_cseq_parses_to_the_matched_method(text: str) -> None:
    match = CSEQ_PLAIN.fullmatch(text)
    assert match is not None
    assert CSeq.parse(text) == CSeq(number=int(text.split()[0]), method=match[2])


@given(
    st.from_regex(CALL_ID_PLAIN, fullmatch=True),
    st.from_regex(MAX_FORWARDS_PLAIN, fullmatch=True),
    st.from_regex(CONTENT_LENGTH_PLAIN, fullmatch=True),
)
def test_plain_scalars_are_accepted_by_the_accessors(
    call_id: str, max_forwards: str, content_length: str
) -> None:
    h = Headers(
        [("Call-ID", call_id), ("Max-Forwards", max_forwards), ("Content-Length", content_length)]
    )
    assert h.call_id == call_id
    assert h.max_forwards == int(max_forwards) and h.content_length == int(content_length)


# Values in the usual forms must take the fast path (else parsing silently gets slower).
TYPICAL_PLAIN_VALUES = {
    VIA_PLAIN: [
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport",
        "SIP/2.0/TCP [2001:db8::1]:50600;branch=z9hG4bKx;received=192.0.2.1;rport=60000",
        "SIP/2.0/TLS pbx.example.com;branch=z9hG4bK1",
    ],
    NAME_ADDR_PLAIN: [
        '"Alice" <sip:20201@01234abc.smart-pbx.jp>;tag=9fxced76sl',
        "<sip:20200@01234abc.smart-pbx.jp>",
        "<sip:20201@192.0.2.10:5060;transport=udp>",
        "Bob Smith <sips:bob@example.com:65535;transport=tls>;expires=3600",
        "sip:alice@example.com;tag=1928301774",
        '"山田 太郎" <sip:20201@[2001:db8::10]:5070;lr>;tag=a',
    ],
    CSEQ_PLAIN: ["1 INVITE", "314159 REGISTER"],
    MAX_FORWARDS_PLAIN: ["0", "70", "255"],
    CALL_ID_PLAIN: ["3848276298220188511@192.0.2.10"],
}


def test_typical_values_take_the_fast_path() -> None:
    for pattern, values in TYPICAL_PLAIN_VALUES.items():
        assert [v for v in values if pattern.fullmatch(v) is None] == [], pattern.pattern
    assert NAME_ADDR_PLAIN.fullmatch("<sip:a@b:65536>") is None
    assert MAX_FORWARDS_PLAIN.fullmatch("256") is None


# --- memoised list header lines ---------------------------------------------------------

LIST_LINE_BASE = (
    b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
    b"From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\n"
    b"CSeq: 1 OPTIONS\r\n"
)
# Canonical, other case, compact form, LWS before the colon (the slow name path).
LIST_LINE_NAMES = {
    "Allow": "Allow",
    "ALLOW": "Allow",
    "k": "Supported",
    "Supported \t": "Supported",
    "Accept": "Accept",
    "u": "Allow-Events",
}


@given(
    st.sampled_from(sorted(LIST_LINE_NAMES)),
    st.lists(st.text(alphabet=' \t"<>\\abXY-,', max_size=6), min_size=2, max_size=5),
    st.sampled_from([",", ", ", " ,", ",\t"]),
)
def test_memoised_list_lines_agree_with_split_commas(
    name: str, elements: list[str], separator: str
) -> None:
    canon = LIST_LINE_NAMES[name]
    value = separator.join(elements).strip(" \t")
    data = LIST_LINE_BASE + f"{name}: {value}\r\nContent-Length: 0\r\n\r\n".encode()
    expected: object
    try:
        expected = split_commas(value, canon)
    except SipParseError as exc:
        expected = exc.what
    _LIST_LINES.clear()
    for _ in range(2):  # a miss that fills the memo, then a hit
        try:
            headers = parse_message(data).headers
        except SipParseError as exc:
            assert exc.what == expected
        else:
            assert headers.get_all(canon) == expected
            assert [v for n, v in headers if n == canon] == expected
    if isinstance(expected, str):  # a refused line is never memoised
        assert _LIST_LINES == {}


def test_list_line_memo_is_bounded() -> None:
    _LIST_LINES.clear()
    for n in range(_LIST_LINES_MAX + 5):
        parse_message(LIST_LINE_BASE + b"Allow: A%d, B\r\nContent-Length: 0\r\n\r\n" % n)
        assert 0 < len(_LIST_LINES) <= _LIST_LINES_MAX
    long_value = ", ".join(["INVITE"] * 80)
    headers = parse_message(
        LIST_LINE_BASE + f"Allow: {long_value}\r\nContent-Length: 0\r\n\r\n".encode()
    ).headers
    assert headers.get_all("Allow") == ["INVITE"] * 80
    assert not any(len(line) > _LIST_LINE_MAX_CHARS for line in _LIST_LINES)
