"""SIP header fields: the ``Headers`` collection and typed values (``Via``, ``CSeq``).

``Headers`` is an immutable, ordered, multi-valued collection of ``(name, value)`` pairs.
Names are stored in canonical spelling for known headers (compact forms such as ``v``, ``i``,
``m`` become ``Via``, ``Call-ID``, ``Contact``; RFC 3261 §7.3.3) and as written otherwise;
lookups are case-insensitive. A comma-separated list header (Via, Contact, Route…) holds one
pair per element, so serialising writes one line per element; headers whose values may contain
commas (WWW-Authenticate, Authorization, Date, unknown headers…) are never split.

Typed accessors (``call_id``, ``cseq``, ``vias``, ``from_``, ``to``, ``contacts``,
``max_forwards``, ``content_length``, ``expires``, ``p_asserted_identities``, ``routes``,
``record_routes``) parse on first use and cache; a missing mandatory header or a malformed
value raises ``SipParseError``. Editing methods (``add``, ``prepend``, ``set``, ``remove``)
return a new ``Headers``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from harness.sip.syntax import (
    EMPTY_PARAMS,
    HOST,
    PORT,
    SIMPLE_PARAMS,
    TOKEN,
    Params,
    SipParseError,
    parse_params,
    parse_uint,
    split_commas,
)
from harness.sip.uri import NameAddr

_CANONICAL_NAMES = (
    "Accept Accept-Contact Accept-Encoding Accept-Language Alert-Info Allow Allow-Events "
    "Authentication-Info Authorization Call-ID Call-Info Contact Content-Disposition "
    "Content-Encoding Content-Language Content-Length Content-Type CSeq Date Diversion "
    "Error-Info Event Expires From History-Info Identity Identity-Info In-Reply-To "
    "Max-Forwards MIME-Version Min-Expires Min-SE Organization P-Asserted-Identity "
    "P-Preferred-Identity Path Priority Privacy Proxy-Authenticate Proxy-Authorization "
    "Proxy-Require RAck Reason Record-Route Refer-To Referred-By Reject-Contact Replaces "
    "Reply-To Request-Disposition Require Retry-After Route RSeq Server Service-Route "
    "Session-Expires Subject Subscription-State Supported Timestamp To Unsupported "
    "User-Agent Via Warning WWW-Authenticate"
).split()

# Compact forms: RFC 3261 §7.3.3 and the extensions that define one.
COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_BY_LOWER: dict[str, str] = {n.lower(): n for n in _CANONICAL_NAMES}
_BY_LOWER.update(COMPACT_FORMS)

# Headers whose grammar is a comma-separated list of elements (RFC 3261 §7.3.1, §20).
LIST_HEADERS = frozenset(
    (
        "Accept Accept-Contact Accept-Encoding Accept-Language Alert-Info Allow Allow-Events "
        "Call-Info Contact Content-Encoding Content-Language Diversion Error-Info History-Info "
        "In-Reply-To P-Asserted-Identity P-Preferred-Identity Path Proxy-Require Reason "
        "Record-Route Reject-Contact Require Route Service-Route Supported Unsupported Via "
        "Warning"
    ).split()
)


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name (``v``/``VIA`` → ``Via``); unknown ones as is."""
    return _BY_LOWER.get(name.lower(), name)


@dataclass(frozen=True, slots=True, kw_only=True)
class CSeq:
    """``CSeq: 4711 INVITE`` (§20.16)."""

    number: int
    method: str

    @staticmethod
    def parse(text: str, where: str = "CSeq") -> CSeq:
        """Parse a CSeq value; the number must fit in 32 bits (RFC 4475 §3.1.2.4)."""
        plain = cseq_plain_match(text)
        if plain is not None:  # the usual form in one match, a third of the general path
            return CSeq(number=int(plain[1]), method=plain[2])
        parts = text.split()
        if len(parts) != 2:
            raise SipParseError(f"expected 'number METHOD', found {text[:40]!r}", where)
        return CSeq(number=parse_uint(parts[0], "sequence number", where), method=parts[1])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


_VIA_RE = re.compile(
    r"SIP[ \t]*/[ \t]*([0-9.]+)[ \t]*/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(?:[ \t]*:[ \t]*([0-9]{1,5}))?[ \t]*(;.*)?",
    re.S | re.I,
)


# Fast validation of one Via element in one match, building nothing: the usual
# ``SIP/2.0/UDP host:port;branch=…;rport`` without LWS or quoted parameters. A subset of what
# ``Via.parse`` accepts (version 2.0, port range in the pattern), which
# tests/sip/test_properties.py checks on strings generated from it; other forms take the full
# parser, which names the error.
VIA_PLAIN = re.compile(rf"SIP/2\.0/{TOKEN} (?:{HOST})(?::{PORT})?{SIMPLE_PARAMS}")
via_is_plain = VIA_PLAIN.fullmatch
# ``4711 INVITE`` with at most 9 digits (so below 2**32, no range check): number, method.
CSEQ_PLAIN = re.compile(rf"([0-9]{{1,9}}) ({TOKEN})")
cseq_plain_match = CSEQ_PLAIN.fullmatch


@dataclass(frozen=True, slots=True, kw_only=True)
class Via:
    """One Via element: ``SIP/2.0/UDP host:port;branch=z9hG4bK…;rport;received=…`` (§20.42)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = EMPTY_PARAMS

    @staticmethod
    def parse(text: str, where: str = "Via") -> Via:
        """Parse one Via element (LWS is allowed around ``/``, ``:``, ``;`` and ``=``)."""
        return _parse_via(text, where)

    @property
    def branch(self) -> str | None:
        """The ``branch`` parameter (transaction id when it starts with ``z9hG4bK``)."""
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        """The ``received`` parameter (source address seen by the next hop, §18.2.1)."""
        return self.params.get("received")

    @property
    def has_rport(self) -> bool:
        """Whether ``rport`` is present (with or without a value, RFC 3581)."""
        return "rport" in self.params

    @property
    def rport(self) -> int | None:
        """The ``rport`` value filled in by the server, if any."""
        value = self.params.get("rport")
        return int(value) if value and value.isdigit() else None

    @property
    def sent_by(self) -> str:
        """``host[:port]`` as written (what transaction matching compares, §17.2.3)."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def with_param(self, name: str, value: str | None = None) -> Via:
        """A copy with ``name`` set (e.g. ``received`` / ``rport`` by a server)."""
        return replace(self, params=self.params.with_param(name, value))

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"SIP/2.0/{self.transport} {self.host}{port}{self.params}"


@lru_cache(maxsize=4096)
def _parse_via(text: str, where: str) -> Via:
    m = _VIA_RE.fullmatch(text)
    if m is None:
        raise SipParseError(f"invalid Via {text[:60]!r}", where)
    version, transport, host, port, params = m.groups()
    if version != "2.0":
        raise SipParseError(f"unsupported SIP version {version} in Via", where, status=505)
    return Via(
        transport=transport.upper(),
        host=host,
        port=None if port is None else parse_uint(port, "port", where, limit=65535),
        params=parse_params(params, where) if params else EMPTY_PARAMS,
    )


HeaderValue = object  # a str, or anything whose str() is the value (NameAddr, Via, CSeq…)

_MISSING = object()
_KEYS = {n: n.lower() for n in _CANONICAL_NAMES}  # canonical name → index key


class Headers:
    """Immutable, ordered, case-insensitive, multi-valued header fields.

    ``Headers([("Via", via), ("From", "<sip:a@b>;tag=1")])`` — names are canonicalised
    (compact forms expanded) and values converted with ``str``. Iterating yields
    ``(name, value)`` pairs in order.
    """

    __slots__ = ("_items", "_cache", "_index")

    def __init__(self, items: Iterable[tuple[str, HeaderValue]] = ()) -> None:
        pairs = []
        for name, value in items:
            canon = _BY_LOWER.get(name.lower(), name)
            text = value if isinstance(value, str) else str(value)
            if "\r" in text or "\n" in text:
                raise ValueError(f"header {canon} value contains CR or LF: {text!r}")
            pairs.append((canon, text))
        self._items: tuple[tuple[str, str], ...] = tuple(pairs)
        self._cache: dict[str, object] = {}
        self._index: dict[str, list[str]] | None = None

    @classmethod
    def _trusted(
        cls, items: tuple[tuple[str, str], ...], index: dict[str, list[str]] | None = None
    ) -> Headers:
        """Build from already canonical pairs (the parser's fast path); ``index`` maps each
        lower-cased name to its values."""
        self = cls.__new__(cls)
        self._items = items
        self._cache = {}
        self._index = index
        return self

    def _values(self, key: str) -> list[str]:
        """The internal list of values of the lower-cased canonical name ``key``."""
        index = self._index
        if index is None:
            index = {}
            for n, v in self._items:
                lower = n.lower()
                values = index.get(lower)
                if values is None:
                    index[lower] = [v]
                else:
                    values.append(v)
            self._index = index
        return index.get(key) or []

    # --- generic access -------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order (``[]`` when absent)."""
        key = name.lower()
        canon = _BY_LOWER.get(key)
        return list(self._values(key if canon is None else canon.lower()))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        values = self.get_all(name)
        return values[0] if values else default

    def names(self) -> list[str]:
        """Header names in order of first appearance."""
        seen: dict[str, None] = {}
        for n, _ in self._items:
            seen.setdefault(n, None)
        return list(seen)

    # --- editing (each returns a new Headers) ----------------------------------------------

    def add(self, name: str, value: HeaderValue) -> Headers:
        """A copy with ``name: value`` appended."""
        return Headers((*self._items, (name, value)))

    def prepend(self, name: str, value: HeaderValue) -> Headers:
        """A copy with ``name: value`` first (a proxy's own Via, §16.6 step 8)."""
        return Headers(((name, value), *self._items))

    def remove(self, name: str) -> Headers:
        """A copy without any ``name`` field."""
        canon = canonical_name(name).lower()
        return Headers._trusted(tuple((n, v) for n, v in self._items if n.lower() != canon))

    def set(self, name: str, *values: HeaderValue) -> Headers:
        """A copy where ``name`` has exactly ``values``, at the place of its first occurrence
        (appended when absent; no value removes it)."""
        canon = canonical_name(name)
        key = canon.lower()
        out: list[tuple[str, HeaderValue]] = []
        placed = False
        for n, v in self._items:
            if n.lower() == key:
                if not placed:
                    out.extend((canon, x) for x in values)
                    placed = True
                continue
            out.append((n, v))
        if not placed:
            out.extend((canon, x) for x in values)
        return Headers(out)

    # --- typed accessors ----------------------------------------------------------------

    def _one(self, name: str, *, required: bool) -> str | None:
        values = self._values(_KEYS.get(name) or name.lower())
        if len(values) > 1:
            raise SipParseError(f"more than one {name} header field", name)
        if not values:
            if required:
                raise SipParseError(f"missing mandatory {name} header field", name)
            return None
        return values[0]

    def _cached(self, key: str) -> object:
        return self._cache.get(key, _MISSING)

    @property
    def call_id(self) -> str:
        """The Call-ID (§20.8)."""
        value = self._one("Call-ID", required=True)
        assert value is not None
        if not value or " " in value or "\t" in value:
            raise SipParseError(f"invalid Call-ID {value[:40]!r}", "Call-ID")
        return value

    @property
    def cseq(self) -> CSeq:
        """The CSeq as ``CSeq(number, method)``."""
        hit = self._cached("CSeq")
        if hit is _MISSING:
            value = self._one("CSeq", required=True)
            assert value is not None
            hit = self._cache["CSeq"] = CSeq.parse(value)
        assert isinstance(hit, CSeq)
        return hit

    @property
    def vias(self) -> tuple[Via, ...]:
        """Every Via element, topmost first."""
        hit = self._cached("Via")
        if hit is _MISSING:
            hit = self._cache["Via"] = tuple([_parse_via(v, "Via") for v in self._values("via")])
        assert isinstance(hit, tuple)
        return hit

    @property
    def via(self) -> Via:
        """The topmost Via (the one that identifies the transaction)."""
        vias = self.vias
        if not vias:
            raise SipParseError("missing mandatory Via header field", "Via")
        return vias[0]

    def _name_addr(self, name: str) -> NameAddr:
        hit = self._cached(name)
        if hit is _MISSING:
            value = self._one(name, required=True)
            assert value is not None
            hit = self._cache[name] = NameAddr.parse(value, name)
        assert isinstance(hit, NameAddr)
        return hit

    def _name_addrs(self, name: str) -> tuple[NameAddr, ...]:
        hit = self._cached(name)
        if hit is _MISSING:
            hit = self._cache[name] = tuple(
                NameAddr.parse(v, name) for v in self._values(name.lower())
            )
        assert isinstance(hit, tuple)
        return hit

    @property
    def from_(self) -> NameAddr:
        """The From header as a ``NameAddr`` (``.tag`` is the local tag of the caller)."""
        return self._name_addr("From")

    @property
    def to(self) -> NameAddr:
        """The To header as a ``NameAddr``."""
        return self._name_addr("To")

    @property
    def contact_is_star(self) -> bool:
        """Whether the Contact is ``*`` (REGISTER removing every binding, §10.2.2)."""
        return self._values("contact") == ["*"]

    @property
    def contacts(self) -> tuple[NameAddr, ...]:
        """Every Contact (``()`` when absent or ``*``)."""
        if self.contact_is_star:
            return ()
        return self._name_addrs("Contact")

    @property
    def contact(self) -> NameAddr | None:
        """The first Contact, if any."""
        contacts = self.contacts
        return contacts[0] if contacts else None

    @property
    def routes(self) -> tuple[NameAddr, ...]:
        """Route elements in order."""
        return self._name_addrs("Route")

    @property
    def record_routes(self) -> tuple[NameAddr, ...]:
        """Record-Route elements in order."""
        return self._name_addrs("Record-Route")

    @property
    def p_asserted_identities(self) -> tuple[NameAddr, ...]:
        """P-Asserted-Identity values (RFC 3325): the caller ID a trusted network asserts."""
        return self._name_addrs("P-Asserted-Identity")

    def _uint(self, name: str, limit: int) -> int | None:
        value = self._one(name, required=False)
        return None if value is None else parse_uint(value, name, name, limit=limit)

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (0–255, §20.22), ``None`` when absent."""
        return self._uint("Max-Forwards", 255)

    @property
    def content_length(self) -> int | None:
        """Content-Length, ``None`` when absent."""
        return self._uint("Content-Length", 2**31 - 1)

    @property
    def content_type(self) -> str | None:
        """Content-Type as written (e.g. ``application/sdp``)."""
        return self._one("Content-Type", required=False)

    @property
    def expires(self) -> int | None:
        """Expires in seconds, ``None`` when absent (§20.19)."""
        return self._uint("Expires", 2**32 - 1)

    def split_lists(self) -> Headers:
        """A copy where list headers given as ``a, b`` in one value are split in elements."""
        out: list[tuple[str, str]] = []
        for n, v in self._items:
            if n in LIST_HEADERS and "," in v:
                out.extend((n, x) for x in split_commas(v, n))
            else:
                out.append((n, v))
        return Headers._trusted(tuple(out))
