"""RFC 4475 §3.1 torture messages, driven by rfc4475/cases.toml: each fed whole as a datagram,
whole / byte by byte / with trailing bytes to the StreamParser, and round-tripped."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness.sip.message import (
    Message,
    Request,
    Response,
    StreamParser,
    parse_message,
    serialize,
    split_message,
)
from harness.sip.syntax import SipParseError
from harness.sip.uri import SipUri

HERE = Path(__file__).parent / "rfc4475"
CASES: dict[str, dict[str, Any]] = tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))
ACCEPTED = [name for name, case in CASES.items() if case["verdict"] != "refused"]
REFUSED = [name for name, case in CASES.items() if case["verdict"] == "refused"]
TRAILING = b"OPTIONS sip:next@example.com SIP/2.0\r\nVia: SIP/2"


def data(name: str) -> bytes:
    return (HERE / f"{name}.dat").read_bytes()


def test_every_section_3_1_message_is_in_the_table() -> None:
    sections = sorted(case["section"] for case in CASES.values())
    assert sections == sorted(
        [f"3.1.1.{n}" for n in range(1, 14)] + [f"3.1.2.{n}" for n in range(1, 20)]
    )
    assert sorted(p.stem for p in HERE.glob("*.dat")) == sorted(CASES)


def check(message: Message, case: dict[str, Any]) -> None:
    if isinstance(message, Request):
        assert message.method == case["start"]
    else:
        assert isinstance(message, Response) and str(message.status) == case["start"]
    assert message.headers.call_id == case["call_id"]
    assert len(message.headers.vias) == case["vias"]
    assert len(message.body) == case["body"]


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_messages_parse_as_a_datagram_and_round_trip(name: str) -> None:
    case = CASES[name]
    message, rest = split_message(data(name))
    check(message, case)
    assert len(rest) == case.get("trailing", 0)
    assert parse_message(serialize(message)) == message


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_messages_stream_whole_bytewise_and_with_trailing_bytes(name: str) -> None:
    raw = data(name)
    case = CASES[name]
    whole = StreamParser().feed(raw)
    assert len(whole) == case["stream"]
    check(whole[0], case)
    parser = StreamParser()
    bytewise = [m for i in range(len(raw)) for m in parser.feed(raw[i : i + 1])]
    rest = case.get("stream_rest", 0)
    assert bytewise == whole and parser.buffered == rest
    trailing = StreamParser()
    assert trailing.feed(raw + TRAILING) == whole
    assert trailing.buffered == rest + len(TRAILING)


@pytest.mark.parametrize("name", REFUSED)
def test_refused_messages_name_what_and_where(name: str) -> None:
    case = CASES[name]
    with pytest.raises(SipParseError) as info:
        parse_message(data(name))
    assert case["what"] in info.value.what
    assert case["where"] in info.value.where
    assert info.value.status == case["status"]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_messages_on_a_stream(name: str) -> None:
    raw = data(name)
    case = CASES[name]
    for chunks in ([raw], [raw[i : i + 1] for i in range(len(raw))], [raw + TRAILING]):
        parser = StreamParser()
        if case["stream"] == "incomplete":
            assert [m for c in chunks for m in parser.feed(c)] == []
            assert parser.buffered >= len(raw)
            continue
        with pytest.raises(SipParseError) as info:
            for chunk in chunks:
                parser.feed(chunk)
        assert case["what"] in info.value.what


def test_wsinv_details() -> None:
    h = parse_message(data("wsinv")).headers
    assert h.from_.display_name == 'J Rosenberg \\"' and h.from_.tag == "98asjd8"
    assert h.to.tag == "1918181833n" and h.max_forwards == 68 and h.cseq.number == 9
    assert h.get("Subject") == ""
    assert h.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert h.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert [v.branch for v in h.vias] == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]
    contact = h.contacts[0]
    assert contact.display_name == 'Quoted string ""'
    assert contact.params.get("newparam") == "newvalue" and "secondparam" in contact.params
    assert contact.params.get("q") == "0.33"
    route = h.routes[0].uri
    assert isinstance(route, SipUri) and route.params.get("unknownwith") == "value"


def test_intmeth_details() -> None:
    message = parse_message(data("intmeth"))
    assert isinstance(message, Request) and isinstance(message.uri, SipUri)
    assert message.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert message.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert message.headers.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.headers.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert message.headers.from_.tag == "_token~1'+`*%!-."
    assert message.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_escaping_details() -> None:
    esc01 = parse_message(data("esc01"))
    assert isinstance(esc01, Request) and isinstance(esc01.uri, SipUri)
    assert esc01.uri.user_text == "sips:user@example.com"
    from_uri = esc01.headers.from_.uri
    assert isinstance(from_uri, SipUri) and from_uri.user_text == "I have spaces"
    escnull = parse_message(data("escnull"))
    users = [c.uri.user_text for c in escnull.headers.contacts if isinstance(c.uri, SipUri)]
    assert users == ["\x00", "\x00\x00"]
    esc02 = parse_message(data("esc02"))
    assert esc02.headers.to.display_name == "%Z%45"
    assert len(esc02.headers.contacts) == 2  # C%6Fntact is another header
    semiuri = parse_message(data("semiuri"))
    assert isinstance(semiuri, Request) and isinstance(semiuri.uri, SipUri)
    assert semiuri.uri.user_text == "user;par=u@example.net" and semiuri.uri.host == "example.com"
    assert len(semiuri.headers.get_all("Accept")) == 6


def test_response_details() -> None:
    unreason = parse_message(data("unreason"))
    assert isinstance(unreason, Response)
    assert unreason.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"
    noreason = parse_message(data("noreason"))
    assert isinstance(noreason, Response) and noreason.reason == ""
    transports = parse_message(data("transports"))
    assert [v.transport for v in transports.headers.vias] == [
        "UDP",
        "SCTP",
        "TLS",
        "UNKNOWN",
        "TCP",
    ]
    lwsdisp = parse_message(data("lwsdisp"))
    assert lwsdisp.headers.from_.display_name == "caller"
