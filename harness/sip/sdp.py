"""SDP for the virtual phones, pure: RFC 4566 session descriptions and RFC 3264 offer/answer.

Theory of operation. A body is parsed into frozen values (``SessionDescription`` → ``Media`` →
``Codec``) and built back from them; ``parse(build(d)) == d`` for every description the
builder accepts (a Hypothesis property in ``tests/sip/test_sdp_model.py``). Parsing is bounded,
because a body comes from the network: at most ``MAX_BODY`` bytes, ``MAX_LINES`` lines and
``MAX_MEDIA`` media lines; anything else is an ``SdpError`` that names the line (number and
text) and what is wrong with it — what a phone puts in its 400 (RFC 3261 §21.4.1).

Offer/answer (RFC 3264): ``offer`` builds a phone's offer (G.711 PCMU and PCMA, RFC 3551
static payload types 0 and 8, and ``telephone-event`` for RFC 4733 DTMF); ``answer`` answers
one: per audio stream the first offered codec we support (§6.1: the offerer's order is its
preference), ``telephone-event`` with the offerer's payload type when it offered it, the
direction mirrored (sendonly → recvonly, recvonly → sendonly, inactive stays; §6.1) and
narrowed by our own wish (a phone on hold answers sendonly at most); a stream we cannot take
is answered with port 0 (§6). When no audio stream is left, ``IncompatibleMedia``: the phone
answers 488 with ``Warning: 305 … "Incompatible media format"`` (RFC 3261 §20.43, §21.4.26).
``negotiate`` reads an offer and its answer from one side's point of view: the codec, where
to send, and whether to send and receive at all (hold is a direction, RFC 3264 §8.4).

Bytes in, bytes out: no socket, no clock (part of the sans-IO core, ``docs/architecture.md``).
``session_description`` is the old fixed body (port 9, PCMU only) kept for phones whose media
is off: signalling tests see exactly the bytes they saw before media existed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

CONTENT_TYPE = "application/sdp"
#: Bounds on a body from the network (a real phone's offer is ~300 bytes, ~15 lines).
MAX_BODY = 16_384
MAX_LINES = 256
MAX_MEDIA = 16
#: RFC 3551 §6 static payload types for the codecs the phones speak.
STATIC_CODECS = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}
#: The codecs a virtual phone supports, in its order of preference.
SUPPORTED = ("PCMU", "PCMA")
#: The dynamic payload type a phone offers RFC 4733 events on (any of 96–127 would do).
TELEPHONE_EVENT_PT = 101
TELEPHONE_EVENT = "telephone-event"
#: RFC 5761 §5.1.1: RTP and RTCP multiplexed on one port.
RTCP_MUX = "rtcp-mux"
#: The RFC 3261 §20.43 warning codes the phones send.
WARN_INCOMPATIBLE_MEDIA = 305
WARN_MISC = 399

_ANSWER_DIRECTION = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
_DIRECTIONS = ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive")
#: RFC 4566 §5 type letters, in the order a session section may hold them (then m= sections).
_SESSION_ORDER = "vosiuepcbtrzka"
_MEDIA_ORDER = "micbka"
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
_ADDRESS = re.compile(r"[0-9A-Za-z.:\-]+")


class Direction(StrEnum):
    """RFC 3264 §5.1 / RFC 4566 §6 media direction attributes."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def of(cls, *, sends: bool, receives: bool) -> Direction:
        if sends and receives:
            return cls.SENDRECV
        if sends:
            return cls.SENDONLY
        return cls.RECVONLY if receives else cls.INACTIVE

    def mirrored(self) -> Direction:
        """The direction an answer takes to an offer of this one (RFC 3264 §6.1)."""
        return Direction.of(sends=self.receives, receives=self.sends)


class SdpError(ValueError):
    """A body that is not a session description we accept: the line and what is wrong.

    ``line`` is the 1-based line number (0 when the whole body is at fault), ``text`` the line
    as received (cut to 80 characters)."""

    def __init__(self, reason: str, *, line: int = 0, text: str = "") -> None:
        where = f"SDP line {line} {text[:80]!r}: " if line else "SDP: "
        super().__init__(where + reason)
        self.reason = reason
        self.line = line
        self.text = text[:80]


class IncompatibleMedia(ValueError):
    """An offer with no stream we can take (no common codec): answer 488 + Warning 305."""


@dataclass(frozen=True, kw_only=True)
class Codec:
    """One payload format of a media line: its ``a=rtpmap`` (RFC 4566 §6) and ``a=fmtp``."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None
    fmtp: str | None = None

    def rtpmap(self) -> str:
        channels = f"/{self.channels}" if self.channels is not None else ""
        return f"a=rtpmap:{self.payload_type} {self.encoding}/{self.clock_rate}{channels}"

    @property
    def is_telephone_event(self) -> bool:
        return self.encoding.lower() == TELEPHONE_EVENT


@dataclass(frozen=True, kw_only=True)
class Media:
    """One ``m=`` section. ``formats`` are the payload types in the offerer's order;
    ``codecs`` those with a known encoding (an rtpmap, or a static type of RFC 3551)."""

    kind: str
    port: int
    protocol: str
    formats: tuple[int, ...]
    codecs: tuple[Codec, ...] = ()
    connection: str | None = None
    direction: Direction | None = None
    ptime: int | None = None
    attributes: tuple[str, ...] = ()  # other a= lines, as "name[:value]"

    @property
    def effective_direction(self) -> Direction:
        return self.direction or Direction.SENDRECV

    def codec(self, payload_type: int) -> Codec | None:
        for codec in self.codecs:
            if codec.payload_type == payload_type:
                return codec
        return None

    @property
    def audio_codecs(self) -> tuple[Codec, ...]:
        """The codecs other than ``telephone-event``, in ``formats`` order."""
        chosen = (self.codec(pt) for pt in self.formats)
        return tuple(c for c in chosen if c is not None and not c.is_telephone_event)

    @property
    def telephone_event(self) -> Codec | None:
        return next((c for c in self.codecs if c.is_telephone_event), None)


@dataclass(frozen=True, kw_only=True)
class SessionDescription:
    """A whole RFC 4566 body (the fields the phones read; ``i u e p b z k r`` lines are
    accepted and not kept)."""

    username: str = "-"
    session_id: int
    session_version: int
    origin_address: str = "127.0.0.1"
    name: str = "-"
    connection: str | None = None
    timing: str = "0 0"
    direction: Direction | None = None
    attributes: tuple[str, ...] = ()
    media: tuple[Media, ...] = field(default_factory=tuple)

    def address_of(self, media: Media) -> str | None:
        """Where ``media`` is received: its own c= line, else the session's (RFC 4566 §5.7)."""
        return media.connection or self.connection

    def direction_of(self, media: Media) -> Direction:
        """The media line's direction, else the session's, else sendrecv (RFC 3264 §5.1)."""
        return media.direction or self.direction or Direction.SENDRECV

    @property
    def audio(self) -> Media | None:
        """The first audio stream that is not rejected (port 0), if any."""
        return next((m for m in self.media if m.kind == "audio" and m.port), None)


# -- building -------------------------------------------------------------------------------


def build(description: SessionDescription) -> bytes:
    """The body of ``description`` (CRLF lines, RFC 4566 §5 order)."""
    d = description
    lines = [
        "v=0",
        f"o={d.username} {d.session_id} {d.session_version} IN {_addrtype(d.origin_address)}"
        f" {d.origin_address}",
        f"s={d.name}",
    ]
    if d.connection is not None:
        lines.append(_c_line(d.connection))
    lines.append(f"t={d.timing}")
    if d.direction is not None:
        lines.append(f"a={d.direction.value}")
    lines += [f"a={a}" for a in d.attributes]
    for m in d.media:
        formats = " ".join(str(pt) for pt in m.formats)
        lines.append(f"m={m.kind} {m.port} {m.protocol} {formats}".rstrip())
        if m.connection is not None:
            lines.append(_c_line(m.connection))
        for codec in m.codecs:
            lines.append(codec.rtpmap())
            if codec.fmtp is not None:
                lines.append(f"a=fmtp:{codec.payload_type} {codec.fmtp}")
        if m.ptime is not None:
            lines.append(f"a=ptime:{m.ptime}")
        if m.direction is not None:
            lines.append(f"a={m.direction.value}")
        lines += [f"a={a}" for a in m.attributes]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def _c_line(address: str) -> str:
    return f"c=IN {_addrtype(address)} {address}"


def offer(
    *,
    session_id: int,
    version: int,
    address: str,
    port: int,
    codecs: Sequence[str] = SUPPORTED,
    telephone_event: bool = True,
    direction: Direction = Direction.SENDRECV,
    ptime: int = 20,
    rtcp_mux: bool = False,
) -> SessionDescription:
    """A phone's offer: one audio stream on ``address``:``port`` with ``codecs`` (names of
    ``STATIC_CODECS``) and, by default, RFC 4733 events on ``TELEPHONE_EVENT_PT``;
    ``rtcp_mux``: RTCP on the RTP port (``a=rtcp-mux``, RFC 5761 §5.1.1)."""
    by_name = {name: (pt, rate) for pt, (name, rate) in STATIC_CODECS.items()}
    unknown = [c for c in codecs if c not in by_name]
    if unknown or not codecs:
        raise ValueError(f"codecs must be some of {sorted(by_name)}, got {list(codecs)}")
    chosen = [
        Codec(payload_type=by_name[c][0], encoding=c, clock_rate=by_name[c][1]) for c in codecs
    ]
    if telephone_event:
        chosen.append(_telephone_event(TELEPHONE_EVENT_PT))
    return SessionDescription(
        session_id=session_id,
        session_version=version,
        origin_address=address,
        connection=address,
        media=(
            Media(
                kind="audio",
                port=port,
                protocol="RTP/AVP",
                formats=tuple(c.payload_type for c in chosen),
                codecs=tuple(chosen),
                ptime=ptime,
                direction=direction,
                attributes=(RTCP_MUX,) if rtcp_mux else (),
            ),
        ),
    )


def _telephone_event(payload_type: int) -> Codec:
    # RFC 4733 §7.1.1: the events offered; 0-15 are the DTMF digits 0-9 * # A-D.
    return Codec(payload_type=payload_type, encoding=TELEPHONE_EVENT, clock_rate=8000, fmtp="0-15")


def answer(
    remote: SessionDescription,
    *,
    session_id: int,
    version: int,
    address: str,
    port: int,
    supported: Sequence[str] = SUPPORTED,
    direction: Direction = Direction.SENDRECV,
    rtcp_mux: bool = False,
) -> SessionDescription:
    """Our answer to ``remote``'s offer (RFC 3264 §6). ``direction`` is what we want (hold:
    sendonly); the answer is the offer's direction mirrored and narrowed to it. ``rtcp_mux``:
    accept an offered ``a=rtcp-mux`` (RFC 5761 §5.1.1: the answer repeats it).

    Raises ``IncompatibleMedia`` when no audio stream has a codec of ``supported``."""
    answered: list[Media] = []
    accepted = False
    for m in remote.media:
        common = [c for c in m.audio_codecs if c.encoding.upper() in supported]
        if m.kind != "audio" or not m.port or not common or accepted:
            # §6: a stream we do not take is answered with port 0 and the offered formats.
            answered.append(Media(kind=m.kind, port=0, protocol=m.protocol, formats=m.formats))
            continue
        accepted = True
        codec = replace(common[0], encoding=common[0].encoding.upper())
        codecs = [codec]
        event = m.telephone_event
        if event is not None:
            codecs.append(event)
        mirrored = remote.direction_of(m).mirrored()
        answered.append(
            Media(
                kind="audio",
                port=port,
                protocol=m.protocol,
                formats=tuple(c.payload_type for c in codecs),
                codecs=tuple(codecs),
                ptime=m.ptime,
                direction=Direction.of(
                    sends=mirrored.sends and direction.sends,
                    receives=mirrored.receives and direction.receives,
                ),
                attributes=(RTCP_MUX,) if rtcp_mux and RTCP_MUX in m.attributes else (),
            )
        )
    if not accepted:
        offered = sorted({c.encoding for m in remote.media for c in m.audio_codecs})
        raise IncompatibleMedia(
            f"no audio stream with a codec of {list(supported)} (offered: {offered or 'none'})"
        )
    return SessionDescription(
        session_id=session_id,
        session_version=version,
        origin_address=address,
        connection=address,
        media=tuple(answered),
    )


@dataclass(frozen=True, kw_only=True)
class Negotiated:
    """One side's view of an agreed audio stream: what to send, where, and in which
    directions media flows for this side (``sends``/``receives``)."""

    codec: Codec
    telephone_event: int | None
    remote_address: str
    remote_port: int
    sends: bool
    receives: bool
    ptime: int
    rtcp_mux: bool = False  # both sides said a=rtcp-mux: RTCP on the RTP port (RFC 5761)


def negotiate(local: SessionDescription, remote: SessionDescription) -> Negotiated | None:
    """The audio stream ``local`` and ``remote`` agree on (one is the offer, the other the
    answer), seen from the side that wrote ``local``; None when the stream was rejected.

    The codec is the first of the answer's that the offer also listed (both sides must send
    a codec the other listed, RFC 3264 §5.1/§6.1; with one codec in our answers they agree)."""
    mine, theirs = local.audio, remote.audio
    if mine is None or theirs is None:
        return None
    common = [c for c in theirs.audio_codecs if mine.codec(c.payload_type) is not None]
    address = remote.address_of(theirs)
    if not common or address is None:
        return None
    event = theirs.telephone_event
    if event is not None and mine.telephone_event is None:
        event = None
    my_direction = local.direction_of(mine)
    their_direction = remote.direction_of(theirs)
    return Negotiated(
        codec=common[0],
        telephone_event=event.payload_type if event is not None else None,
        remote_address=address,
        remote_port=theirs.port,
        sends=my_direction.sends and their_direction.receives,
        receives=my_direction.receives and their_direction.sends,
        ptime=theirs.ptime or mine.ptime or 20,
        rtcp_mux=RTCP_MUX in mine.attributes and RTCP_MUX in theirs.attributes,
    )


def warning(code: int, agent: str, text: str) -> str:
    """A Warning header value (RFC 3261 §20.43): ``305 agent "Incompatible media format"``."""
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'{code} {agent} "{quoted}"'


# -- parsing --------------------------------------------------------------------------------


def parse(body: bytes) -> SessionDescription:
    """Parse an RFC 4566 body; ``SdpError`` names the first line that is wrong.

    Lines may end in CRLF or LF (RFC 4566 §5 asks parsers to accept LF)."""
    if len(body) > MAX_BODY:
        raise SdpError(f"body of {len(body)} bytes is larger than {MAX_BODY}; send a smaller one")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpError(f"not UTF-8 at byte {exc.start} (RFC 4566 §5: UTF-8 text)") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES:
        raise SdpError(f"{len(lines)} lines, more than {MAX_LINES}")
    if not lines:
        raise SdpError("empty body; a description starts with v=0")
    return _Parser(lines).run()


class _Parser:
    def __init__(self, lines: list[str]) -> None:
        self.lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        self.number = 0
        self.text = ""
        self.session: dict[str, object] = {}
        self.session_attributes: list[str] = []
        self.session_direction: Direction | None = None
        self.media: list[dict[str, object]] = []
        self.seen: set[str] = set()
        self.order = _SESSION_ORDER
        self.position = 0

    def fail(self, reason: str) -> SdpError:
        return SdpError(reason, line=self.number, text=self.text)

    def run(self) -> SessionDescription:
        for number, text in enumerate(self.lines, start=1):
            self.number, self.text = number, text
            self.line(text)
        missing = [k for k in "vost" if k not in self.seen]
        if missing:
            raise SdpError(f"no {missing[0]}= line (RFC 4566 §5: v, o, s and t are required)")
        media = tuple(self.finish_media(m) for m in self.media)
        return SessionDescription(
            username=str(self.session["username"]),
            session_id=_as_int(self.session["session_id"]),
            session_version=_as_int(self.session["session_version"]),
            origin_address=str(self.session["origin_address"]),
            name=str(self.session["name"]),
            connection=_opt_str(self.session.get("connection")),
            timing=str(self.session["timing"]),
            direction=self.session_direction,
            attributes=tuple(self.session_attributes),
            media=media,
        )

    def line(self, text: str) -> None:
        if len(text) < 2 or text[1] != "=":
            raise self.fail("not a type=value line")
        kind, value = text[0], text[2:]
        if self.number == 1 and kind != "v":
            raise self.fail("a description starts with v=0 (RFC 4566 §5)")
        if kind == "m":
            self.start_media(value)
            return
        where = self.order.find(kind, self.position)
        if where < 0:
            if kind not in self.order:
                context = "session" if self.order is _SESSION_ORDER else "media"
                raise self.fail(f"'{kind}=' is not a {context}-level line (RFC 4566 §5)")
            raise self.fail(f"'{kind}=' out of order (RFC 4566 §5: {' '.join(self.order)})")
        # a, b, t and r lines may repeat; every other letter appears once per section.
        self.position = where if kind in "abtr" else where + 1
        handler = getattr(self, f"on_{kind}", None)
        if handler is not None:
            handler(value)
        self.seen.add(kind)

    def on_v(self, value: str) -> None:
        if value != "0":
            raise self.fail("only version 0 exists (RFC 4566 §5.1)")

    def on_o(self, value: str) -> None:
        parts = value.split(" ")
        if len(parts) != 6:
            raise self.fail("o= needs 6 fields: username sess-id sess-version IN IP4 address")
        username, sid, version, net, addrtype, address = parts
        if not (sid.isdigit() and version.isdigit()) or len(sid) > 20 or len(version) > 20:
            raise self.fail("sess-id and sess-version must be numbers (RFC 4566 §5.2)")
        self.check_address(net, addrtype, address)
        self.session.update(
            username=username, session_id=sid, session_version=version, origin_address=address
        )

    def on_s(self, value: str) -> None:
        # RFC 4566 §5.3 wants "s= " or "s=-" for no name, but RFC 3264's own examples send an
        # empty s=: accepted (liberal in what we accept), kept as "".
        self.session["name"] = value

    def on_c(self, value: str) -> None:
        parts = value.split(" ")
        if len(parts) != 3:
            raise self.fail("c= needs 3 fields: IN IP4 address (RFC 4566 §5.7)")
        net, addrtype, address = parts
        self.check_address(net, addrtype, address.split("/")[0])
        target = self.media[-1] if self.media else self.session
        if "connection" in target:
            raise self.fail("a second c= line here")
        target["connection"] = address.split("/")[0]

    def on_t(self, value: str) -> None:
        parts = value.split(" ")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise self.fail("t= needs start and stop times, e.g. t=0 0 (RFC 4566 §5.9)")
        self.session.setdefault("timing", value)

    def on_a(self, value: str) -> None:
        if not value:
            raise self.fail("a= must name an attribute")
        name, _, rest = value.partition(":")
        if not _TOKEN.fullmatch(name):
            raise self.fail("an attribute name is a token (RFC 4566 §9 att-field)")
        in_media = bool(self.media)
        if name in Direction.__members__.values():
            if rest:
                raise self.fail(f"a={name} takes no value")
            if in_media:
                if self.media[-1].get("direction") is not None:
                    raise self.fail("a second direction attribute in this media section")
                self.media[-1]["direction"] = Direction(name)
            else:
                if self.session_direction is not None:
                    raise self.fail("a second session-level direction attribute")
                self.session_direction = Direction(name)
            return
        if in_media and name in ("rtpmap", "fmtp", "ptime"):
            getattr(self, f"on_{name}")(rest)
            return
        if in_media:
            _list(self.media[-1], "attributes").append(value)
        else:
            self.session_attributes.append(value)

    def on_rtpmap(self, value: str) -> None:
        match = re.fullmatch(r"(\d{1,3}) ([^/ ]+)/(\d{1,6})(?:/(\d{1,2}))?", value)
        if match is None:
            raise self.fail("rtpmap is <payload type> <encoding>/<clock rate>[/<channels>]")
        pt = int(match[1])
        media = self.media[-1]
        self.check_payload_type(media, pt)
        rtpmaps = _dict(media, "rtpmaps")
        if pt in rtpmaps:
            raise self.fail(f"a second rtpmap for payload type {pt}")
        channels = int(match[4]) if match[4] else None
        rtpmaps[pt] = Codec(
            payload_type=pt, encoding=match[2], clock_rate=int(match[3]), channels=channels
        )

    def on_fmtp(self, value: str) -> None:
        pt_text, _, params = value.partition(" ")
        if not pt_text.isdigit() or not params:
            raise self.fail("fmtp is <payload type> <parameters>")
        self.check_payload_type(self.media[-1], int(pt_text))
        fmtps = _dict(self.media[-1], "fmtps")
        if int(pt_text) in fmtps:
            raise self.fail(f"a second fmtp for payload type {pt_text}")
        fmtps[int(pt_text)] = params

    def on_ptime(self, value: str) -> None:
        if not value.isdigit() or not 1 <= int(value) <= 1000:
            raise self.fail("ptime is milliseconds, 1-1000")
        self.media[-1]["ptime"] = int(value)

    def check_payload_type(self, media: dict[str, object], pt: int) -> None:
        formats = media["formats"]
        assert isinstance(formats, tuple)
        if pt not in formats:
            raise self.fail(f"payload type {pt} is not listed on this section's m= line")

    def check_address(self, net: str, addrtype: str, address: str) -> None:
        if net != "IN":
            raise self.fail(f"network type {net!r}: only IN is defined (RFC 4566 §5.7)")
        if addrtype not in ("IP4", "IP6"):
            raise self.fail(f"address type {addrtype!r}: IP4 or IP6")
        if not _ADDRESS.fullmatch(address):
            raise self.fail(f"address {address!r} is not an IP address or a host name")

    def start_media(self, value: str) -> None:
        if "t" not in self.seen:
            raise self.fail("m= before t= (RFC 4566 §5: the session section ends with t=)")
        if len(self.media) >= MAX_MEDIA:
            raise self.fail(f"more than {MAX_MEDIA} media sections")
        parts = value.split(" ")
        if len(parts) < 3:
            raise self.fail("m= needs <media> <port> <proto> <fmt> … (RFC 4566 §5.14)")
        kind, port, protocol, *formats = parts
        if not _TOKEN.fullmatch(kind) or not _TOKEN.fullmatch(protocol.replace("/", "")):
            raise self.fail("media and proto are tokens (RFC 4566 §9)")
        port = port.split("/")[0]
        if not port.isdigit() or int(port) > 65535:
            raise self.fail(f"port {port!r} is not a number 0-65535")
        if protocol.startswith("RTP/"):
            if not formats or not all(f.isdigit() and int(f) <= 127 for f in formats):
                raise self.fail("RTP formats are payload types 0-127 (RFC 3551)")
        self.media.append(
            {
                "kind": kind,
                "port": int(port),
                "protocol": protocol,
                "formats": tuple(int(f) for f in formats if f.isdigit()),
            }
        )
        self.order = _MEDIA_ORDER
        self.position = 0

    def finish_media(self, m: dict[str, object]) -> Media:
        formats = m["formats"]
        assert isinstance(formats, tuple)
        rtpmaps = _dict(m, "rtpmaps")
        fmtps = _dict(m, "fmtps")
        codecs: list[Codec] = []
        for pt in formats:
            codec = rtpmaps.get(pt)
            if codec is None and pt in STATIC_CODECS:
                name, rate = STATIC_CODECS[pt]
                codec = Codec(payload_type=pt, encoding=name, clock_rate=rate)
            if isinstance(codec, Codec):
                fmtp = fmtps.get(pt)
                codecs.append(replace(codec, fmtp=str(fmtp)) if fmtp is not None else codec)
        ptime = m.get("ptime")
        direction = m.get("direction")
        return Media(
            kind=str(m["kind"]),
            port=_as_int(m["port"]),
            protocol=str(m["protocol"]),
            formats=formats,
            codecs=tuple(codecs),
            connection=_opt_str(m.get("connection")),
            direction=direction if isinstance(direction, Direction) else None,
            ptime=ptime if isinstance(ptime, int) else None,
            attributes=tuple(_list(m, "attributes")),
        )


def _as_int(value: object) -> int:
    assert isinstance(value, int | str)
    return int(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _list(target: dict[str, object], key: str) -> list[str]:
    value = target.setdefault(key, [])
    assert isinstance(value, list)
    return value


def _dict(target: dict[str, object], key: str) -> dict[int, object]:
    value = target.setdefault(key, {})
    assert isinstance(value, dict)
    return value


# -- the fixed body of phones without media ------------------------------------------------


def session_description(session: int, direction: str = "sendrecv") -> bytes:
    """A minimal audio offer/answer (RFC 4566) for a phone whose media is off: port 9
    (discard), PCMU. ``session`` is the o= line's session id and version."""
    return (
        f"v=0\r\no=- {session} {session} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
        f"t=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n"
    ).encode()


def sdp_direction(sdp: bytes) -> str:
    """The media direction an SDP body states (``a=sendonly`` …; sendrecv when none)."""
    for line in sdp.decode("utf-8", "replace").splitlines():
        if line.strip() in _DIRECTIONS:
            return line.strip()[2:]
    return "sendrecv"


def answer_direction(offer: bytes) -> str:
    """The direction to answer ``offer`` with (sendonly → recvonly …; RFC 3264 §6.1)."""
    return _ANSWER_DIRECTION.get(sdp_direction(offer), "sendrecv")
