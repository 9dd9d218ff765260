"""SDP parse/build and RFC 3264 offer/answer (harness.sip.sdp), three ways as the SIP parser:
one (bytes, expected) table drives parse and build; the RFCs' own examples; malformed bodies
that must be refused naming the line. A Hypothesis property checks build → parse → build.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.sip.sdp import (
    MAX_BODY,
    MAX_LINES,
    MAX_MEDIA,
    Codec,
    Direction,
    IncompatibleMedia,
    Media,
    SdpError,
    SessionDescription,
    answer,
    build,
    negotiate,
    offer,
    parse,
    warning,
)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


PCMU = Codec(payload_type=0, encoding="PCMU", clock_rate=8000)
PCMA = Codec(payload_type=8, encoding="PCMA", clock_rate=8000)
EVENTS = Codec(payload_type=101, encoding="telephone-event", clock_rate=8000, fmtp="0-15")


@dataclass(frozen=True, kw_only=True)
class Case:
    id: str
    data: bytes
    expected: SessionDescription


CASES = [
    Case(
        id="phone-offer",
        data=crlf(
            "v=0\no=- 42 43 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
            "m=audio 40000 RTP/AVP 0 8 101\na=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\n"
            "a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=ptime:20\na=sendrecv\n"
        ),
        expected=SessionDescription(
            session_id=42,
            session_version=43,
            connection="127.0.0.1",
            media=(
                Media(
                    kind="audio",
                    port=40000,
                    protocol="RTP/AVP",
                    formats=(0, 8, 101),
                    codecs=(PCMU, PCMA, EVENTS),
                    ptime=20,
                    direction=Direction.SENDRECV,
                ),
            ),
        ),
    ),
    Case(
        id="hold-session-level-direction-media-connection",
        data=crlf(
            "v=0\no=bob 7 8 IN IP6 ::1\ns=call\nt=0 0\na=sendonly\na=tool:x\n"
            "m=audio 5004 RTP/AVP 8\nc=IN IP6 ::1\na=rtpmap:8 PCMA/8000/1\na=label:1\n"
        ),
        expected=SessionDescription(
            username="bob",
            session_id=7,
            session_version=8,
            origin_address="::1",
            name="call",
            direction=Direction.SENDONLY,
            attributes=("tool:x",),
            media=(
                Media(
                    kind="audio",
                    port=5004,
                    protocol="RTP/AVP",
                    formats=(8,),
                    codecs=(Codec(payload_type=8, encoding="PCMA", clock_rate=8000, channels=1),),
                    connection="::1",
                    attributes=("label:1",),
                ),
            ),
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_parse(case: Case) -> None:
    assert parse(case.data) == case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_build(case: Case) -> None:
    assert build(case.expected) == case.data


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_parse_with_bare_lf(case: Case) -> None:
    # RFC 4566 §5: a parser should accept LF alone as the line end.
    assert parse(case.data.replace(b"\r\n", b"\n")) == case.expected


def test_static_payload_types_need_no_rtpmap() -> None:
    d = parse(
        crlf(
            "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
            "m=audio 9 RTP/AVP 8 0 18\n"
        )
    )
    assert d.media[0].audio_codecs == (PCMA, PCMU)  # 18 (G729) has no rtpmap: not known


# -- the RFCs' own examples ------------------------------------------------------------------

RFC4566_EXAMPLE = crlf(
    "v=0\no=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\ns=SDP Seminar\n"
    "i=A Seminar on the session description protocol\nu=http://www.example.com/seminars/sdp.pdf\n"
    "e=j.doe@example.com (Jane Doe)\nc=IN IP4 224.2.17.12/127\nt=2873397496 2873404696\n"
    "a=recvonly\nm=audio 49170 RTP/AVP 0\nm=video 51372 RTP/AVP 99\na=rtpmap:99 h263-1998/90000\n"
)
# RFC 3264 §10.1 (note the empty s=, which that RFC's examples use).
RFC3264_OFFER = crlf(
    "v=0\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\ns=\n"
    "c=IN IP4 host.atlanta.example.com\nt=0 0\nm=audio 49170 RTP/AVP 0 8 97\n"
    "a=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\na=rtpmap:97 iLBC/8000\n"
    "m=video 51372 RTP/AVP 31 32\na=rtpmap:31 H261/90000\na=rtpmap:32 MPV/90000\n"
)
RFC3264_ANSWER = crlf(
    "v=0\no=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com\ns=\n"
    "c=IN IP4 host.biloxi.example.com\nt=0 0\nm=audio 49174 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"
    "m=video 49170 RTP/AVP 32\na=rtpmap:32 MPV/90000\n"
)


def test_rfc4566_example() -> None:
    d = parse(RFC4566_EXAMPLE)
    assert (d.username, d.name, d.connection) == ("jdoe", "SDP Seminar", "224.2.17.12")
    assert d.direction is Direction.RECVONLY
    assert [(m.kind, m.port) for m in d.media] == [("audio", 49170), ("video", 51372)]
    assert d.direction_of(d.media[0]) is Direction.RECVONLY  # the session's direction
    assert d.media[1].codecs == (Codec(payload_type=99, encoding="h263-1998", clock_rate=90000),)


def test_rfc3264_answer_to_the_example_offer() -> None:
    ours = answer(parse(RFC3264_OFFER), session_id=1, version=1, address="127.0.0.1", port=4000)
    audio, video = ours.media
    assert audio.codecs == (PCMU,)  # the offerer's first codec we support (§6.1)
    assert (audio.port, audio.direction) == (4000, Direction.SENDRECV)
    assert (video.port, video.formats) == (0, (31, 32))  # rejected stream: port 0 (§6)


def test_rfc3264_negotiated_from_both_sides() -> None:
    alice, bob = parse(RFC3264_OFFER), parse(RFC3264_ANSWER)
    a = negotiate(alice, bob)
    b = negotiate(bob, alice)
    assert a is not None and b is not None
    assert (a.codec, a.remote_address, a.remote_port) == (PCMU, "host.biloxi.example.com", 49174)
    assert (b.codec, b.remote_address, b.remote_port) == (PCMU, "host.atlanta.example.com", 49170)
    assert a.sends and a.receives and a.telephone_event is None


# -- offer/answer: codecs, events, directions ------------------------------------------------


def _offer(**kwargs: object) -> SessionDescription:
    return offer(session_id=1, version=1, address="127.0.0.1", port=5000, **kwargs)  # type: ignore[arg-type]


def _answer(remote: SessionDescription, **kwargs: object) -> SessionDescription:
    return answer(remote, session_id=2, version=2, address="127.0.0.1", port=6000, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("offered", "supported", "chosen"),
    [
        (("PCMU", "PCMA"), ("PCMU", "PCMA"), "PCMU"),
        (("PCMA", "PCMU"), ("PCMU", "PCMA"), "PCMA"),  # the offerer's preference wins
        (("PCMA",), ("PCMU", "PCMA"), "PCMA"),
        (("PCMU", "PCMA"), ("PCMA",), "PCMA"),
    ],
)
def test_the_answer_picks_the_first_offered_codec_we_support(
    offered: tuple[str, ...], supported: tuple[str, ...], chosen: str
) -> None:
    ours = _answer(_offer(codecs=offered), supported=supported)
    assert [c.encoding for c in ours.media[0].audio_codecs] == [chosen]
    mine = negotiate(ours, _offer(codecs=offered))
    assert mine is not None and mine.codec.encoding == chosen


def test_no_common_codec_is_incompatible_media() -> None:
    with pytest.raises(IncompatibleMedia, match=r"PCMU.*offered: \['PCMA'\]"):
        _answer(_offer(codecs=("PCMA",)), supported=("PCMU",))
    with pytest.raises(IncompatibleMedia):
        _answer(parse(RFC4566_EXAMPLE.replace(b"RTP/AVP 0", b"RTP/AVP 3")))  # GSM only


def test_warning_305_header() -> None:
    assert warning(305, "phone.invalid", "Incompatible media format") == (
        '305 phone.invalid "Incompatible media format"'
    )
    assert warning(399, "h", 'a "b"') == '399 h "a \\"b\\""'


def test_telephone_event_is_answered_with_the_offerers_payload_type() -> None:
    remote = parse(build(_offer()).replace(b"101", b"96"))
    ours = _answer(remote)
    assert ours.media[0].telephone_event == Codec(
        payload_type=96, encoding="telephone-event", clock_rate=8000, fmtp="0-15"
    )
    agreed = negotiate(ours, remote)
    assert agreed is not None and agreed.telephone_event == 96
    plain = _answer(_offer(telephone_event=False))
    assert plain.media[0].telephone_event is None
    agreed = negotiate(_offer(), plain)
    assert agreed is not None and agreed.telephone_event is None


@pytest.mark.parametrize(
    ("offered", "wanted", "answered", "offerer_sends", "offerer_receives"),
    [
        (Direction.SENDRECV, Direction.SENDRECV, Direction.SENDRECV, True, True),
        (Direction.SENDONLY, Direction.SENDRECV, Direction.RECVONLY, True, False),  # hold
        (Direction.RECVONLY, Direction.SENDRECV, Direction.SENDONLY, False, True),
        (Direction.INACTIVE, Direction.SENDRECV, Direction.INACTIVE, False, False),
        (Direction.SENDRECV, Direction.SENDONLY, Direction.SENDONLY, False, True),  # held here
        (Direction.SENDONLY, Direction.SENDONLY, Direction.INACTIVE, False, False),  # both hold
    ],
)
def test_directions_for_hold_and_resume(
    offered: Direction,
    wanted: Direction,
    answered: Direction,
    offerer_sends: bool,
    offerer_receives: bool,
) -> None:
    remote = _offer(direction=offered)
    ours = _answer(remote, direction=wanted)
    assert ours.media[0].direction is answered
    offerer = negotiate(remote, ours)
    answerer = negotiate(ours, remote)
    assert offerer is not None and answerer is not None
    assert (offerer.sends, offerer.receives) == (offerer_sends, offerer_receives)
    assert (answerer.sends, answerer.receives) == (offerer_receives, offerer_sends)


def test_a_rejected_stream_negotiates_nothing() -> None:
    remote = parse(RFC3264_OFFER)
    rejected = parse(RFC3264_ANSWER.replace(b"audio 49174", b"audio 0"))
    assert negotiate(remote, rejected) is None


@pytest.mark.parametrize(
    ("offered", "accepted", "agreed"),
    [(True, True, True), (True, False, False), (False, True, False)],
    ids=["both", "answerer-declines", "not-offered"],
)
def test_rtcp_mux_is_agreed_only_when_offered_and_answered(
    offered: bool, accepted: bool, agreed: bool
) -> None:
    mine = offer(session_id=1, version=1, address="127.0.0.1", port=4000, rtcp_mux=offered)
    assert ("a=rtcp-mux" in build(mine).decode()) is offered
    theirs = answer(
        parse(build(mine)),
        session_id=2,
        version=1,
        address="127.0.0.1",
        port=5000,
        rtcp_mux=accepted,
    )
    assert ("a=rtcp-mux" in build(theirs).decode()) is agreed  # RFC 5761 §5.1.1
    ours, their = negotiate(mine, theirs), negotiate(theirs, mine)
    assert ours is not None and their is not None
    assert ours.rtcp_mux is their.rtcp_mux is agreed


def test_offer_refuses_unknown_codecs() -> None:
    with pytest.raises(ValueError, match="codecs must be some of"):
        _offer(codecs=("G729",))


# -- malformed bodies: refused, naming the line ----------------------------------------------

HEAD = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
MALFORMED = [
    ("not-v-first", "o=- 1 1 IN IP4 127.0.0.1\n", 1, "starts with v=0"),
    ("version-1", "v=1\n", 1, "only version 0"),
    ("no-equals", HEAD + "m audio 9 RTP/AVP 0\n", 6, "not a type=value line"),
    ("origin-fields", "v=0\no=- 1 IN IP4 127.0.0.1\n", 2, "o= needs 6 fields"),
    ("origin-number", "v=0\no=- x 1 IN IP4 127.0.0.1\n", 2, "must be numbers"),
    ("network-type", "v=0\no=- 1 1 XX IP4 127.0.0.1\n", 2, "only IN"),
    ("address-type", HEAD.replace("c=IN IP4", "c=IN IPX"), 4, "IP4 or IP6"),
    ("address", HEAD.replace("c=IN IP4 127.0.0.1", "c=IN IP4 a b"), 4, "c= needs 3 fields"),
    ("timing", HEAD.replace("t=0 0", "t=now"), 5, "start and stop times"),
    ("m-before-t", "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nm=audio 9 RTP/AVP 0\n", 4, "m= before t="),
    ("port", HEAD + "m=audio 70000 RTP/AVP 0\n", 6, "0-65535"),
    ("port-text", HEAD + "m=audio x RTP/AVP 0\n", 6, "0-65535"),
    ("payload-type", HEAD + "m=audio 9 RTP/AVP 200\n", 6, "payload types 0-127"),
    ("m-fields", HEAD + "m=audio 9\n", 6, "m= needs"),
    ("rtpmap-syntax", HEAD + "m=audio 9 RTP/AVP 0\na=rtpmap:0 PCMU\n", 7, "rtpmap is"),
    ("rtpmap-unlisted", HEAD + "m=audio 9 RTP/AVP 0\na=rtpmap:8 PCMA/8000\n", 7, "not listed"),
    (
        "rtpmap-twice",
        HEAD + "m=audio 9 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=rtpmap:0 PCMA/8000\n",
        8,
        "second rtpmap",
    ),
    ("ptime", HEAD + "m=audio 9 RTP/AVP 0\na=ptime:0\n", 7, "ptime is"),
    ("direction-value", HEAD + "m=audio 9 RTP/AVP 0\na=sendonly:1\n", 7, "takes no value"),
    (
        "two-directions",
        HEAD + "m=audio 9 RTP/AVP 0\na=sendonly\na=recvonly\n",
        8,
        "second direction",
    ),
    ("order", HEAD.replace("s=-\n", "") + "s=-\n", 5, "out of order"),
    ("unknown-letter", HEAD + "x=1\n", 6, "not a session-level line"),
    ("media-level-letter", HEAD + "m=audio 9 RTP/AVP 0\ns=-\n", 7, "not a media-level line"),
    ("missing-s", "v=0\no=- 1 1 IN IP4 127.0.0.1\nt=0 0\n", 0, "no s= line"),
    ("empty", "", 0, "empty body"),
    ("attribute-name", HEAD + "a=\n", 6, "must name an attribute"),
]


@pytest.mark.parametrize(
    ("text", "line", "reason"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_bodies_name_the_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(SdpError, match=reason) as caught:
        parse(crlf(text))
    assert caught.value.line == line
    if line:
        assert str(caught.value).startswith(f"SDP line {line} ")


def test_bounds_on_hostile_bodies() -> None:
    with pytest.raises(SdpError, match=f"larger than {MAX_BODY}"):
        parse(b"v=0\r\n" + b"a=x\r\n" * (MAX_BODY // 5))
    with pytest.raises(SdpError, match=f"more than {MAX_LINES}"):
        parse(b"v=0\r\n" * (MAX_LINES + 1))
    many = HEAD + "m=audio 9 RTP/AVP 0\n" * (MAX_MEDIA + 1)
    with pytest.raises(SdpError, match=f"more than {MAX_MEDIA} media"):
        parse(crlf(many))
    with pytest.raises(SdpError, match="not UTF-8 at byte 3"):
        parse(b"v=0\xff\r\n")


# -- build → parse → build -------------------------------------------------------------------

_tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
_addresses = st.sampled_from(["127.0.0.1", "::1", "10.1.2.3", "host.example.com"])


@st.composite
def _media(draw: st.DrawFn) -> Media:
    dynamic = draw(st.lists(st.integers(96, 127), unique=True, max_size=3))
    static = draw(st.lists(st.sampled_from([0, 8]), unique=True, max_size=2))
    formats = tuple(draw(st.permutations(static + dynamic)))
    if not formats:
        formats = (0,)
    codecs = []
    for pt in formats:
        if pt in (0, 8):
            codecs.append(PCMU if pt == 0 else PCMA)
        else:
            codecs.append(
                Codec(
                    payload_type=pt,
                    encoding=draw(st.sampled_from(["telephone-event", "opus", "L16"])),
                    clock_rate=draw(st.sampled_from([8000, 16000, 48000])),
                    channels=draw(st.none() | st.integers(1, 2)),
                    fmtp=draw(st.none() | st.sampled_from(["0-15", "useinbandfec=1"])),
                )
            )
    return Media(
        kind="audio",
        port=draw(st.integers(0, 65535)),
        protocol="RTP/AVP",
        formats=formats,
        codecs=tuple(codecs),
        connection=draw(st.none() | _addresses),
        direction=draw(st.none() | st.sampled_from(list(Direction))),
        ptime=draw(st.none() | st.integers(1, 1000)),
        attributes=tuple(draw(st.lists(_tokens.map(lambda t: f"x-{t}"), max_size=2))),
    )


_descriptions = st.builds(
    SessionDescription,
    username=_tokens,
    session_id=st.integers(0, 2**63),
    session_version=st.integers(0, 2**63),
    origin_address=_addresses,
    name=_tokens,
    connection=st.none() | _addresses,
    direction=st.none() | st.sampled_from(list(Direction)),
    attributes=st.lists(_tokens.map(lambda t: f"x-{t}:v"), max_size=2).map(tuple),
    media=st.lists(_media(), max_size=3).map(tuple),
)


@given(_descriptions)
def test_build_parse_round_trip(description: SessionDescription) -> None:
    body = build(description)
    assert parse(body) == description
    assert build(parse(body)) == body
