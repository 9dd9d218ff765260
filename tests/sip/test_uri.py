"""SIP URIs and name-addr values: parse/str round trip, errors, §19.1.4 comparison."""

from __future__ import annotations

import pytest

from harness.sip.syntax import Params, SipParseError
from harness.sip.uri import AbsoluteUri, NameAddr, SipUri, parse_uri

URIS = [
    ("sip:alice@example.com", SipUri(user="alice", host="example.com")),
    (
        "sips:alice:secret@example.com:5061",
        SipUri(scheme="sips", user="alice", password="secret", host="example.com", port=5061),
    ),
    (
        "sip:[2001:db8::1]:5070;transport=tcp;lr",
        SipUri(
            host="[2001:db8::1]", port=5070, params=Params((("transport", "tcp"), ("lr", None)))
        ),
    ),
    ("sip:192.0.2.1", SipUri(host="192.0.2.1")),
    (
        "sip:user;par=u%40example.net@example.com",
        SipUri(user="user;par=u%40example.net", host="example.com"),
    ),
    (
        "sip:bob@example.com?subject=project%20x&priority=urgent",
        SipUri(user="bob", host="example.com", headers="subject=project%20x&priority=urgent"),
    ),
    ("tel:+81-3-1234-5678", AbsoluteUri(scheme="tel", rest="+81-3-1234-5678")),
]


@pytest.mark.parametrize(("text", "expected"), URIS, ids=[t for t, _ in URIS])
def test_uri_parse_and_str_round_trip(text: str, expected: object) -> None:
    assert parse_uri(text) == expected
    assert str(expected) == text


def test_uri_helpers() -> None:
    uri = SipUri.parse("sip:%61lice@[::1]:5060;transport=TCP")
    assert uri.user_text == "alice" and uri.host_address == "::1" and uri.transport == "tcp"
    assert (
        str(uri.with_params(lr=None, transport="udp")) == "sip:%61lice@[::1]:5060;transport=udp;lr"
    )
    with pytest.raises(SipParseError, match="expected a sip: or sips: URI"):
        SipUri.parse("tel:123")


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("alice@example.com", "not an absolute URI"),
        ("sip:", "invalid host"),
        ("sip:alice@", "invalid host"),
        ("sip:@example.com", "empty user part"),
        ("sip:example.com:99999", "port"),
        ("sip:example.com:5x", "invalid port"),
        ("sip:exa mple.com", "invalid host"),
        ("sip:example.com;;lr", "empty URI parameter name"),
    ],
)
def test_uri_errors(text: str, what: str) -> None:
    with pytest.raises(SipParseError, match=what):
        parse_uri(text)


# RFC 3261 §19.1.4 examples: equivalent pairs, then non-equivalent pairs.
EQUIVALENT = [
    ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
    (
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
    ),
    (
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
    ),
]
NOT_EQUIVALENT = [
    ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
    ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
    ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"),
]


@pytest.mark.parametrize(("a", "b"), EQUIVALENT)
def test_equivalent_uris(a: str, b: str) -> None:
    assert SipUri.parse(a).equivalent(SipUri.parse(b))
    assert SipUri.parse(b).equivalent(SipUri.parse(a))


@pytest.mark.parametrize(("a", "b"), NOT_EQUIVALENT)
def test_non_equivalent_uris(a: str, b: str) -> None:
    assert not SipUri.parse(a).equivalent(SipUri.parse(b))
    assert not SipUri.parse(b).equivalent(SipUri.parse(a))


NAME_ADDRS = [
    (
        '"Alice" <sip:alice@example.com>;tag=1',
        NameAddr(
            display_name="Alice",
            uri=SipUri(user="alice", host="example.com"),
            params=Params((("tag", "1"),)),
        ),
    ),
    (
        "<sip:alice@example.com;transport=tcp>;expires=60;q=0.5",
        NameAddr(
            uri=SipUri(user="alice", host="example.com", params=Params((("transport", "tcp"),))),
            params=Params((("expires", "60"), ("q", "0.5"))),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), NAME_ADDRS, ids=[t for t, _ in NAME_ADDRS])
def test_name_addr_round_trip(text: str, expected: NameAddr) -> None:
    assert NameAddr.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    ("text", "display", "uri", "tag"),
    [
        ("sip:alice@example.com;tag=9", None, "sip:alice@example.com", "9"),
        ("caller<sip:caller@example.com>;tag=323", "caller", "sip:caller@example.com", "323"),
        (
            '"J Rosenberg \\\\\\"" <sip:jdrosen@example.com> ; tag = 98',
            'J Rosenberg \\"',
            "sip:jdrosen@example.com",
            "98",
        ),
        ("token1~` token2'+_ <sip:m@example.com>", "token1~` token2'+_", "sip:m@example.com", None),
        (
            '"日本語 \\"名前\\"" <sip:20201@example.jp>',
            '日本語 "名前"',
            "sip:20201@example.jp",
            None,
        ),
        ('"a;b, <c>" <tel:+8131234>;tag=x', "a;b, <c>", "tel:+8131234", "x"),
    ],
)
def test_name_addr_display_names(text: str, display: str | None, uri: str, tag: str | None) -> None:
    value = NameAddr.parse(text)
    assert value.display_name == display
    assert str(value.uri) == uri
    assert value.tag == tag
    assert NameAddr.parse(str(value)) == value


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('"Mr. J. User <sip:j.user@example.com>', "unterminated quoted string"),
        ("Watson, Thomas <sip:t.watson@example.org>", "need quoting"),
        ('"Watson" < sip:t.watson@example.org >', "whitespace inside"),
        ("sip:user@example.com?Route=%3Csip:sip.example.com%3E", "enclosed in <>"),
        ("<sip:a@b>;;tag=1", "invalid parameter name"),
        ("<sip:a@b>;tag=", "invalid value"),
        ("<sip:a@b", "unbalanced"),
    ],
)
def test_name_addr_errors(text: str, what: str) -> None:
    with pytest.raises(SipParseError, match=what):
        NameAddr.parse(text)


def test_name_addr_helpers() -> None:
    value = NameAddr.parse("<sip:a@b>").with_tag("t1").with_param("expires", "30")
    assert str(value) == "<sip:a@b>;tag=t1;expires=30"
    assert value.with_tag("t2").tag == "t2"
