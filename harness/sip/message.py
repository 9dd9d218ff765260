"""SIP messages (RFC 3261 §7): ``Request``, ``Response``, parsing, serialising, TCP framing.

API overview::

    msg = parse_message(datagram)            # Request | Response, or SipParseError
    msg, extra = split_message(data)         # also returns bytes after Content-Length
    data = serialize(msg)                    # == bytes(msg); parse_message(data) == msg
    parser = StreamParser(); parser.feed(chunk) -> [messages]   # TCP, Content-Length framing
    check_datagram(datagram, SizeLimits(...))   # the same size caps for a UDP datagram
    answer = response_to_unparseable(data, exc.status, str(exc))   # 400/413/505, or None
    req = Request.build("INVITE", uri, from_=…, to=…, call_id=…, cseq=1, via=…, body=sdp,
                        content_type="application/sdp")
    resp = Response.for_request(req, 180, to_tag="abc")   # §8.2.6 copies Via/From/To/…

Messages are frozen keyword-only dataclasses; ``headers`` is an immutable ``Headers`` with
typed accessors (``msg.headers.cseq.number``, ``msg.headers.via.branch``,
``msg.headers.from_.tag``…). ``parse_message`` validates what every later layer relies on
(start line, Via, From, To, Call-ID, CSeq and its method, Max-Forwards, Content-Length,
Contact), so a parsed message never raises from those accessors. Nothing but
``SipParseError`` escapes the parser, whatever the input.

Leniency decisions (RFC 4475 cases, see ``tests/sip/rfc4475/cases.toml``): extra bytes after
Content-Length in a datagram are dropped (§18.3); a Date header is not interpreted; everything
else RFC 4475 calls invalid is refused with a ``SipParseError`` naming what and where.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from typing import Self

from harness.sip.headers import (
    _BY_LOWER,
    LIST_HEADERS,
    CSeq,
    Headers,
    HeaderValue,
    Via,
    cseq_plain_match,
    via_is_plain,
)
from harness.sip.syntax import TOKEN, TOKEN_RE, SipParseError, split_commas
from harness.sip.uri import NameAddr, SipUri, Uri, name_addr_is_plain, parse_uri

REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

BRANCH_MAGIC = "z9hG4bK"  # §8.1.1.7: branches of RFC 3261 transactions start with this


def new_tag() -> str:
    """A fresh From/To tag (§19.3: at least 32 bits of randomness)."""
    return secrets.token_hex(6)


def new_branch() -> str:
    """A fresh Via branch with the RFC 3261 magic cookie."""
    return BRANCH_MAGIC + secrets.token_hex(8)


def new_call_id(host: str = "harness.invalid") -> str:
    """A fresh Call-ID."""
    return f"{secrets.token_hex(10)}@{host}"


class _MessageMixin:
    """Behaviour shared by ``Request`` and ``Response`` (both have ``headers`` and ``body``)."""

    __slots__ = ()
    headers: Headers
    body: bytes

    def __bytes__(self) -> bytes:
        return serialize(self)  # type: ignore[arg-type]

    def with_headers(self, headers: Headers) -> Self:
        """A copy with ``headers``."""
        return replace(self, headers=headers)  # type: ignore[type-var]

    def with_header(self, name: str, *values: HeaderValue) -> Self:
        """A copy where header ``name`` has exactly ``values`` (see ``Headers.set``)."""
        return self.with_headers(self.headers.set(name, *values))

    def with_body(self, body: bytes, content_type: str | None = None) -> Self:
        """A copy with ``body``, Content-Length updated and Content-Type set when given."""
        headers = self.headers
        if content_type is not None:
            headers = headers.set("Content-Type", content_type)
        headers = headers.set("Content-Length", str(len(body)))
        return replace(self, headers=headers, body=body)  # type: ignore[type-var]


def _optional_items(
    contact: NameAddr | str | None,
    headers: tuple[tuple[str, HeaderValue], ...],
    body: bytes,
    content_type: str | None,
) -> list[tuple[str, HeaderValue]]:
    """The builders' common tail: Contact, extra headers, Content-Type, Content-Length."""
    items: list[tuple[str, HeaderValue]] = [] if contact is None else [("Contact", contact)]
    items += headers
    if content_type is not None:
        items.append(("Content-Type", content_type))
    items.append(("Content-Length", str(len(body))))
    return items


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(_MessageMixin):
    """A SIP request: ``method``, Request-URI, headers and body."""

    method: str
    uri: Uri
    headers: Headers
    body: bytes = b""

    @classmethod
    def build(
        cls,
        method: str,
        uri: Uri | str,
        *,
        from_: NameAddr | str,
        to: NameAddr | str,
        call_id: str,
        cseq: int,
        via: Via | str | None = None,
        vias: tuple[Via | str, ...] = (),
        contact: NameAddr | str | None = None,
        max_forwards: int = 70,
        headers: tuple[tuple[str, HeaderValue], ...] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A request with the mandatory headers of §8.1.1 in conventional order, then
        ``headers``, Content-Type and Content-Length."""
        uri_value = parse_uri(uri, "Request-URI") if isinstance(uri, str) else uri
        items: list[tuple[str, HeaderValue]] = [("Via", v) for v in ((via,) if via else vias)]
        items += [
            ("Max-Forwards", str(max_forwards)),
            ("From", from_),
            ("To", to),
            ("Call-ID", call_id),
            ("CSeq", CSeq(number=cseq, method=method)),
        ]
        items += _optional_items(contact, headers, body, content_type)
        return cls(method=method, uri=uri_value, headers=Headers(items), body=body)


@dataclass(frozen=True, slots=True, kw_only=True)
class Response(_MessageMixin):
    """A SIP response: status code, reason phrase, headers and body."""

    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    @classmethod
    def for_request(
        cls,
        request: Request,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        contact: NameAddr | str | None = None,
        headers: tuple[tuple[str, HeaderValue], ...] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """A response to ``request`` per §8.2.6.2: Via (all, in order), From, To, Call-ID and
        CSeq copied; ``to_tag`` added to To when it has none (pass one for every response
        but 100, §8.2.6.2); Record-Route copied on 101–299 (§12.1.1)."""
        src = request.headers
        to_value: NameAddr | str = src.get("To") or ""
        if to_tag is not None and src.to.tag is None:
            to_value = src.to.with_tag(to_tag)
        items: list[tuple[str, HeaderValue]] = [("Via", v) for v in src.get_all("Via")]
        if 100 < status < 300:
            items += [("Record-Route", v) for v in src.get_all("Record-Route")]
        items += [
            ("From", src.get("From") or ""),
            ("To", to_value),
            ("Call-ID", src.get("Call-ID") or ""),
            ("CSeq", src.get("CSeq") or ""),
        ]
        items += _optional_items(contact, headers, body, content_type)
        return cls(
            status=status,
            reason=REASON_PHRASES.get(status, "") if reason is None else reason,
            headers=Headers(items),
            body=body,
        )


Message = Request | Response


def serialize(message: Message) -> bytes:
    """The wire form of ``message`` (CRLF line ends, one line per header element).

    Raises ``ValueError`` when a Content-Length header disagrees with the body, since the
    bytes would then frame differently from the message.
    """
    if isinstance(message, Request):
        lines = [f"{message.method} {message.uri} SIP/2.0"]
    else:
        lines = [f"SIP/2.0 {message.status} {message.reason}"]
    body = message.body
    for name, value in message.headers:
        if name == "Content-Length" and value.strip().isdigit() and int(value) != len(body):
            raise ValueError(f"Content-Length {value} but the body has {len(body)} bytes")
        lines.append(f"{name}: {value}")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape") + body


_FOLD_RE = re.compile(r"\r\n[ \t]+")
_TOKEN_FULL = TOKEN_RE.fullmatch
_VERSION_RE = re.compile(r"SIP/(\d+)\.(\d+)", re.I)
_STATUS_FULL = re.compile(r"[1-6][0-9][0-9]").fullmatch


def _check_version(version: str, where: str) -> None:
    if version == "SIP/2.0":
        return
    if _VERSION_RE.fullmatch(version) and version.upper() != "SIP/2.0":
        raise SipParseError(f"unsupported SIP version {version!r}", where, status=505)
    if version.upper() != "SIP/2.0":
        raise SipParseError(f"expected SIP/2.0, found {version[:20]!r}", where)


# The usual request line in one match (method token, a URI without spaces, SIP/2.0 exactly):
# three times cheaper than splitting and checking each part; anything else takes the checks
# below, which name the error.
_request_line_plain = re.compile(rf"({TOKEN}) ([^ ]+) SIP/2\.0").fullmatch


def _parse_start_line(line: str) -> tuple[str, str, str]:
    """Return ("request", method, uri-text) or ("response", status, reason)."""
    plain = _request_line_plain(line)
    if plain is not None:
        return "request", plain[1], plain[2]
    if line.startswith("SIP/") or line[:4].upper() == "SIP/":
        version, _, rest = line.partition(" ")
        _check_version(version, "status line")
        code, _, reason = rest.partition(" ")
        if not _STATUS_FULL(code):
            raise SipParseError(
                f"status code must be 3 digits 100-699, found {code[:20]!r}", "status line"
            )
        return "response", code, reason
    parts = line.split(" ")
    if len(parts) != 3:
        if len(parts) > 3 and parts[-1] == "":
            what = "trailing whitespace after SIP version"
        elif "" in parts:
            what = "more than one space between request-line elements"
        elif len(parts) > 3:
            what = "whitespace inside the Request-URI"
        else:
            what = "expected 'METHOD Request-URI SIP/2.0'"
        raise SipParseError(what, "request line")
    method, uri, version = parts
    if not _TOKEN_FULL(method):
        raise SipParseError(f"invalid method {method[:30]!r}", "request line")
    _check_version(version, "request line")
    return "request", method, uri


# lower-cased header name (or compact form) → (canonical name, its index key, is a list header)
# Also keyed by the canonical spelling itself, which most peers send: no lower() needed then.
_HEADER_INFO: dict[str, tuple[str, str, bool]] = {
    lower: (canon, canon.lower(), canon in LIST_HEADERS) for lower, canon in _BY_LOWER.items()
}
_HEADER_INFO.update({info[0]: info for info in list(_HEADER_INFO.values())})


def _header_info(line: str, number: int) -> tuple[str, str, bool]:
    """The slow path of ``_parse_head``: LWS before the colon, other case, unknown or no name."""
    name, colon, _ = line.partition(":")
    if not colon:
        raise SipParseError(f"header line without ':' {line[:40]!r}", f"line {number}")
    stripped = name.rstrip(" \t")
    info = _HEADER_INFO.get(stripped.lower())
    if info is not None:
        return info
    if not _TOKEN_FULL(stripped):
        raise SipParseError(f"invalid header name {stripped[:40]!r}", f"line {number}")
    return stripped, stripped.lower(), False


# Split list-header lines (Allow, Supported, Accept…) memoised by their raw text: a user
# agent sends the same such lines in every request, and splitting one costs as much as the
# rest of its line. Only successful splits of lines up to 512 characters are kept, so a bad
# line raises every time; the memo is emptied when full, which bounds it (a few MB at most)
# whatever a peer sends.
_LIST_LINES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {}
_LIST_LINES_MAX = 1024
_LIST_LINE_MAX_CHARS = 512


def _split_list_line(
    line: str, canon: str, value: str
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The ``(name, element)`` pairs and elements of a list header line with a comma."""
    elements = tuple(split_commas(value.strip(" \t"), canon))
    split = tuple([(canon, element) for element in elements]), elements
    if len(line) <= _LIST_LINE_MAX_CHARS:
        if len(_LIST_LINES) >= _LIST_LINES_MAX:
            _LIST_LINES.clear()
        _LIST_LINES[line] = split
    return split


def _parse_head(
    head: str,
) -> tuple[str, str, str, tuple[tuple[str, str], ...], dict[str, list[str]]]:
    """Start line parts and header items, with the index of values by lower-cased name."""
    if "\r\n " in head or "\r\n\t" in head:
        head = _FOLD_RE.sub(" ", head)
    # Fast path: str.split and str.partition (C loops) instead of a findall regex, which
    # costs twice as much on a typical INVITE; a bare CR or LF shows as a count mismatch.
    lines = head.split("\r\n")
    kind, a, b = _parse_start_line(lines[0])
    eols = len(lines) - 1
    if head.count("\n") != eols or head.count("\r") != eols:
        number = next(n for n, line in enumerate(lines, 1) if "\r" in line or "\n" in line)
        raise SipParseError("bare CR or LF (lines must end with CRLF)", f"line {number}")
    items: list[tuple[str, str]] = []
    index: dict[str, list[str]] = {}
    append = items.append
    info_of = _HEADER_INFO.get
    list_line = _LIST_LINES.get
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        # Most peers write canonical names ("Via", "Call-ID"): one dict hit, no lower().
        info = info_of(name)
        if info is None or not colon:
            info = _header_info(line, lines.index(line) + 1)
        canon, key, is_list = info
        if is_list and "," in value:
            split = list_line(line) or _split_list_line(line, canon, value)
            items += split[0]
            values = index.get(key)
            if values is None:
                index[key] = list(split[1])
            else:
                values += split[1]
            continue
        value = value.strip(" \t")
        append((canon, value))
        values = index.get(key)
        if values is None:
            index[key] = [value]
        else:
            values.append(value)
    return kind, a, b, tuple(items), index


# Plain Call-ID, Max-Forwards (0-255) and Content-Length values, checked in one match each.
CALL_ID_PLAIN = re.compile(r"[^ \t\r\n]+")
MAX_FORWARDS_PLAIN = re.compile(r"[0-9]{1,2}|[01][0-9]{2}|2[0-4][0-9]|25[0-5]")
CONTENT_LENGTH_PLAIN = re.compile(r"[0-9]{1,9}")  # below 2**31, no range check
_call_id_is_plain = CALL_ID_PLAIN.fullmatch
_max_forwards_is_plain = MAX_FORWARDS_PLAIN.fullmatch
_content_length_is_plain = CONTENT_LENGTH_PLAIN.fullmatch


def _validate(message: Message, index: dict[str, list[str]]) -> None:
    """Check what later layers rely on, so that errors surface here, named.

    Fast path: Via, From, To, Contact, Call-ID, CSeq and Max-Forwards values in their usual
    form are checked with one compiled pattern each (``via_is_plain``, ``name_addr_is_plain``,
    ``cseq_plain_match``…), which accept only values their full parser is known to accept
    (Content-Length likewise in ``_parse``); the typed value is then
    built on first access (and cached). Building Via/NameAddr/Params objects for every message
    cost about half of the parse time, while most messages are only routed by a few of them.
    A value the pattern does not match (or a missing or repeated header) goes through the full
    accessor right away: that raises the precise ``SipParseError`` (RFC 4475 verdicts) or
    caches the result. So the accessors of a parsed message still never raise. ``index`` is
    the header index of ``message.headers`` (lower-cased name → values), read directly
    because a method call per header costs as much as the pattern match.
    """
    h = message.headers
    get = index.get
    values = get("via")
    if not values:
        raise SipParseError("missing mandatory Via header field", "Via")
    if not all(map(via_is_plain, values)):
        _ = h.vias
    values = get("from")
    if not (values and len(values) == 1 and name_addr_is_plain(values[0])):
        _ = h.from_
    values = get("to")
    if not (values and len(values) == 1 and name_addr_is_plain(values[0])):
        _ = h.to
    values = get("call-id")
    if not (values and len(values) == 1 and _call_id_is_plain(values[0])):
        _ = h.call_id
    values = get("cseq")
    plain = cseq_plain_match(values[0]) if values and len(values) == 1 else None
    cseq_method = plain[2] if plain is not None else h.cseq.method
    if isinstance(message, Request):
        if cseq_method != message.method:
            raise SipParseError(
                f"CSeq method {cseq_method} does not match request method {message.method}",
                "CSeq",
            )
        if isinstance(message.uri, SipUri) and message.uri.headers:
            raise SipParseError("headers (?…) are not allowed in a Request-URI", "Request-URI")
    values = get("contact")
    if values and values != ["*"] and not all(map(name_addr_is_plain, values)):
        _ = h.contacts
    values = get("max-forwards")
    if values is not None and not (len(values) == 1 and _max_forwards_is_plain(values[0])):
        _ = h.max_forwards


def _parse(data: bytes, *, stream: bool) -> tuple[Message, bytes]:
    start = 0
    while data.startswith(b"\r\n", start):  # §7.5: ignore CRLFs before the start line
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise SipParseError(
            "header section not ended by an empty line (CRLF CRLF)", f"offset {len(data)}"
        )
    head = data[start:end].decode("utf-8", "surrogateescape")
    kind, a, b, items, index = _parse_head(head)
    headers = Headers._trusted(items, index)
    body_start = end + 4
    values = index.get("content-length")
    length: int | None
    if values is not None and len(values) == 1 and _content_length_is_plain(values[0]):
        length = int(values[0])  # the usual case, without the accessor's checks
    else:
        length = headers.content_length  # raises for a repeated or malformed value
    available = len(data) - body_start
    if length is None:
        if stream:
            length = 0
        else:
            length = available  # §18.3: over UDP the body runs to the end of the datagram
    if length > available:
        raise SipParseError(
            f"Content-Length {length} but only {available} bytes of body", "Content-Length"
        )
    body = data[body_start : body_start + length]
    rest = data[body_start + length :]
    message: Message
    if kind == "request":
        message = Request(method=a, uri=parse_uri(b, "Request-URI"), headers=headers, body=body)
    else:
        message = Response(status=int(a), reason=b, headers=headers, body=body)
    _validate(message, index)
    return message, rest


def _guarded(data: bytes, *, stream: bool) -> tuple[Message, bytes]:
    try:
        return _parse(data, stream=stream)
    except SipParseError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        # Defence in depth: a parser bug must still surface as a parse error.
        raise SipParseError(
            f"unparseable message ({type(exc).__name__}: {exc})", "message"
        ) from exc


def parse_message(data: bytes) -> Message:
    """Parse one message from a datagram; bytes after Content-Length are dropped (§18.3)."""
    return _guarded(bytes(data), stream=False)[0]


def split_message(data: bytes) -> tuple[Message, bytes]:
    """Parse one message and also return the bytes after its body (by Content-Length)."""
    return _guarded(bytes(data), stream=False)


# What a stateless answer to an unparseable request echoes (§8.2.6.2), compact forms included.
_ECHOED = frozenset({"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"})
_ANY_VERSION = re.compile(r"SIP/\d+\.\d+", re.I).fullmatch


def response_to_unparseable(data: bytes, status: int, reason: str) -> bytes | None:
    """A stateless final response (400, 413 for a body too large §21.4.11, 505 for another SIP
    version §21.5.6: ``SipParseError.status``) to ``data``, a request the parser refused,
    echoing the Via, From, To (with a tag), Call-ID and CSeq lines it can (§8.2.6.2), with
    ``reason`` in the reason phrase.

    None when there is nobody to answer: the bytes are no request line (garbage, or a broken
    response — responses are never answered) or carry no Via to answer along. Pure: the
    caller sends the bytes back to where ``data`` came from.
    """
    head = data.split(b"\r\n\r\n", 1)[0]
    try:
        lines = head.decode("utf-8").split("\r\n")
    except UnicodeDecodeError:
        return None
    first = lines[0].split(" ")
    version_ok = len(first) == 3 and (
        first[2] == "SIP/2.0" or (status == 505 and _ANY_VERSION(first[2]) is not None)
    )
    if not version_ok or not first[0].isalpha():
        return None
    echoed: list[str] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        if not colon or key not in _ECHOED:
            continue
        value = value.strip()
        if key in ("to", "t") and ";tag=" not in value.replace(" ", ""):
            value += f";tag={new_tag()}"
        echoed.append(f"{name.strip()}: {value}")
    if not any(line.split(":", 1)[0].lower() in ("via", "v") for line in echoed):
        return None
    phrase = "".join(c for c in reason if c.isascii() and c.isprintable())[:100]
    line = f"SIP/2.0 {status} {REASON_PHRASES.get(status, 'Bad Request')} ({phrase})"
    return ("\r\n".join([line, *echoed, "Content-Length: 0", "", ""])).encode("utf-8")


_CONTENT_LENGTH_RE = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*([0-9]+)[ \t]*\r", re.I)
# Longer digit strings are above any body limit: never converted (int() of more than 4,300
# digits raises, and a header section may hold 64 KiB of them).
_LENGTH_DIGITS_MAX = 12


_FOLD_BYTES_RE = re.compile(rb"\r\n[ \t]+")


@dataclass(frozen=True, kw_only=True, slots=True)
class SizeLimits:
    """The largest message a peer may send, per part (header section, body), in bytes.

    64 KiB each by default: what a datagram can carry at most (RFC 768, 65,535 bytes) and the
    usual buffer of SIP servers (Kamailio's ``BUF_SIZE``), far above any honest message (an
    INVITE with SDP is 1–3 KiB). A stream parser holds at most one header section plus one
    body (plus a read chunk), whatever a peer sends: that is what bounds a connection's memory.
    """

    max_header_bytes: int = 65536  # start line + header fields + the empty line
    max_body_bytes: int = 65536  # Content-Length, or a datagram's bytes after the headers

    def __post_init__(self) -> None:
        if self.max_header_bytes < 64 or self.max_body_bytes < 0:
            raise ValueError(
                "max_header_bytes is at least 64 and max_body_bytes at least 0, got "
                f"{self.max_header_bytes!r} and {self.max_body_bytes!r}"
            )


DEFAULT_SIZE_LIMITS = SizeLimits()


class FramingError(SipParseError):
    """A message the framing refused, with ``data``: what of it was read (the whole message,
    or its header section up to the limit, cut at a line end) so a server can still answer it
    statelessly (400, 413) before closing the connection (RFC 3261 §21.4.1, §21.4.11).
    ``oversize``: refused for a size limit rather than for its syntax."""

    def __init__(
        self, what: str, where: str, *, data: bytes, status: int = 400, oversize: bool = False
    ) -> None:
        super().__init__(what, where, status=status)
        self.data = data
        self.oversize = oversize


def _head_lines(data: bytes | bytearray, limit: int) -> bytes:
    """The first ``limit`` bytes of ``data`` cut after their last CRLF (no half line)."""
    cut = data.rfind(b"\r\n", 0, limit)
    return bytes(data[: cut + 2]) if cut >= 0 else b""


def check_datagram(data: bytes, limits: SizeLimits = DEFAULT_SIZE_LIMITS) -> None:
    """Raise ``FramingError`` when a datagram's header section or body exceeds ``limits``
    (the same caps as a stream's; §18.3 frames a datagram by its own length)."""
    if len(data) <= limits.max_header_bytes and len(data) <= limits.max_body_bytes:
        return  # cannot exceed either limit: the usual case costs two comparisons
    end = data.find(b"\r\n\r\n", 0, limits.max_header_bytes + 1)
    if end < 0 or end + 4 > limits.max_header_bytes:
        if end < 0 and len(data) <= limits.max_header_bytes:
            return  # no header end at all: the parser names that error
        raise _header_too_large(data, limits)
    body = len(data) - end - 4
    if body > limits.max_body_bytes:
        raise _body_too_large(data[: end + 4], f"{body} bytes", limits)


def _header_too_large(data: bytes | bytearray, limits: SizeLimits) -> FramingError:
    return FramingError(
        f"header section longer than {limits.max_header_bytes} bytes (the limit of this "
        "server): send shorter header fields",
        f"offset {limits.max_header_bytes}",
        data=_head_lines(data, limits.max_header_bytes),
        oversize=True,
    )


def _body_too_large(head: bytes, size: str, limits: SizeLimits) -> FramingError:
    return FramingError(
        f"body of {size} is larger than the {limits.max_body_bytes} bytes this server accepts",
        "Content-Length",
        data=head,
        status=413,  # §21.4.11 Request Entity Too Large
        oversize=True,
    )


class StreamParser:
    """Framing of a byte stream (TCP/TLS) into messages by Content-Length (§18.3).

    ``feed(chunk)`` returns every message completed by ``chunk``; partial data is kept.
    CRLF keep-alives between messages (RFC 5626 §3.5.1) are skipped. A message without
    Content-Length has an empty body. A header section longer than ``limits.max_header_bytes``
    or a Content-Length above ``limits.max_body_bytes`` is refused as soon as it is seen
    (the body is never waited for), so the buffer stays below one header section plus one
    body plus the chunk being fed. Every error is a ``FramingError`` carrying what was read
    of the message; after one the stream is unusable (the buffer is dropped): answer it if
    it can be answered, then close the connection.
    """

    def __init__(self, *, limits: SizeLimits = DEFAULT_SIZE_LIMITS) -> None:
        self._buffer = bytearray()
        self._scan_from = 0
        self._limits = limits

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        """Add ``data``; return the messages it completes, in order."""
        self._buffer += data
        out: list[Message] = []
        try:
            while True:
                message = self._next()
                if message is None:
                    return out
                out.append(message)
        except FramingError:
            self._buffer.clear()
            self._scan_from = 0
            raise

    def _next(self) -> Message | None:
        buf = self._buffer
        limits = self._limits
        skip = 0
        while buf.startswith(b"\r\n", skip) or buf.startswith(b"\n", skip):
            skip += 2 if buf[skip] == 0x0D else 1
        if skip:
            del buf[:skip]
            self._scan_from = 0
        if not buf or buf == b"\r":
            return None
        end = buf.find(b"\r\n\r\n", max(self._scan_from - 3, 0), limits.max_header_bytes + 1)
        if end < 0 or end + 4 > limits.max_header_bytes:
            if end < 0 and len(buf) <= limits.max_header_bytes:
                self._scan_from = len(buf)
                return None
            raise _header_too_large(buf, limits)
        head = bytes(buf[: end + 2])
        unfolded = _FOLD_BYTES_RE.sub(b" ", head)
        m = _CONTENT_LENGTH_RE.search(b"\r\n" + unfolded)
        digits = m.group(1) if m else b"0"
        length = int(digits) if len(digits) <= _LENGTH_DIGITS_MAX else None
        if length is None or length > limits.max_body_bytes:
            size = (
                f"{length} bytes"
                if length is not None
                else f"a {len(digits)}-digit number of bytes"
            )
            raise _body_too_large(head + b"\r\n", size, limits)
        total = end + 4 + length
        if len(buf) < total:
            self._scan_from = end
            return None
        chunk = bytes(buf[:total])
        del buf[:total]
        self._scan_from = 0
        try:
            return _guarded(chunk, stream=True)[0]
        except SipParseError as exc:
            raise FramingError(exc.what, exc.where, data=chunk, status=exc.status) from exc
