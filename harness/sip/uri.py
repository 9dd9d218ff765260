"""SIP URIs (RFC 3261 §19.1) and name-addr values (§20.10, §25.1).

- ``SipUri``: ``sip:`` / ``sips:`` URIs. Fields hold the text as written (escapes kept), so
  ``str(SipUri.parse(s)) == s`` for every canonical ``s``; ``user_text`` unescapes, and
  ``equivalent`` implements the comparison rules of §19.1.4.
- ``AbsoluteUri``: any other scheme (``tel:``, ``urn:``…), kept opaque.
- ``NameAddr``: ``"Display" <uri>;params`` as in From, To, Contact, Route, P-Asserted-Identity;
  ``tag`` is a shortcut for the ``tag`` parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import unquote

from harness.sip.syntax import (
    EMPTY_PARAMS,
    HOST,
    PORT,
    SIMPLE_PARAMS,
    TOKEN,
    Params,
    SipParseError,
    parse_params,
    parse_uri_params,
    quote,
    read_quoted,
)

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
# hostname / IPv4address / IPv6reference (§25.1), tolerant of a trailing dot.
_HOST_RE = re.compile(r"[A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\]")
_HOST_FULL = _HOST_RE.fullmatch
# userinfo characters: unreserved / escaped / user-unreserved, plus ':' for the password.
_USERINFO_FULL = re.compile(r"[A-Za-z0-9\-_.!~*'()%&=+$,;?/:]*").fullmatch
_HEADERS_FULL = re.compile(r"[A-Za-z0-9\-_.!~*'()%\[\]/?:+$=&]*").fullmatch
_URI_PARAM_FULL = re.compile(r"[A-Za-z0-9\-_.!~*'()%\[\]/:&+$;=]*").fullmatch


def _unescape(text: str) -> str:
    """%-unescape keeping invalid escapes as written (RFC 4475 §3.1.1.5) and any byte value."""
    return unquote(text, encoding="utf-8", errors="surrogateescape")


@dataclass(frozen=True, slots=True, kw_only=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI, e.g. ``sip:alice:pw@[::1]:5070;transport=tcp?x=y``.

    ``host`` keeps IPv6 brackets; ``port`` is ``None`` when absent (which §19.1.4 does not
    treat as equal to 5060); ``headers`` is the raw ``?…`` part without the ``?``.
    """

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str
    port: int | None = None
    params: Params = EMPTY_PARAMS
    headers: str = ""

    @staticmethod
    def parse(text: str, where: str = "URI") -> SipUri:
        """Parse a SIP URI or raise ``SipParseError``."""
        uri = parse_uri(text, where)
        if not isinstance(uri, SipUri):
            raise SipParseError(f"expected a sip: or sips: URI, found {text[:40]!r}", where)
        return uri

    @property
    def user_text(self) -> str | None:
        """The user part unescaped (``%40`` → ``@``)."""
        return None if self.user is None else _unescape(self.user)

    @property
    def host_address(self) -> str:
        """The host without IPv6 brackets (what a socket API wants)."""
        return self.host[1:-1] if self.host.startswith("[") else self.host

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased."""
        value = self.params.get("transport")
        return value.lower() if value else None

    def with_params(self, **params: str | None) -> SipUri:
        """A copy with the given URI parameters set (``None`` = flag such as ``lr``)."""
        p = self.params
        for name, value in params.items():
            p = p.with_param(name, value)
        return replace(self, params=p)

    def equivalent(self, other: object) -> bool:
        """URI equality of RFC 3261 §19.1.4.

        Scheme, host, parameter names and values compare case-insensitively, user and
        password case-sensitively, all after unescaping; ``user``, ``ttl``, ``method``,
        ``maddr`` and ``transport`` must match when present in either URI, other parameters
        only when present in both; headers must match as a set.
        """
        if not isinstance(other, SipUri):
            return False
        if self.scheme.lower() != other.scheme.lower():
            return False
        if self.user_text != other.user_text:
            return False
        mine_pw = None if self.password is None else _unescape(self.password)
        theirs_pw = None if other.password is None else _unescape(other.password)
        if mine_pw != theirs_pw:
            return False
        if self.host.lower() != other.host.lower() or self.port != other.port:
            return False
        mine = {n.lower(): _unescape(v).lower() if v else v for n, v in self.params.items}
        theirs = {n.lower(): _unescape(v).lower() if v else v for n, v in other.params.items}
        for name in ("user", "ttl", "method", "maddr", "transport"):
            if mine.get(name) != theirs.get(name):
                return False
        for name in mine.keys() & theirs.keys():
            if mine[name] != theirs[name]:
                return False
        return _header_set(self.headers) == _header_set(other.headers)

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out += [":", str(self.port)]
        out.append(str(self.params))
        if self.headers:
            out += ["?", self.headers]
        return "".join(out)


def _header_set(headers: str) -> frozenset[tuple[str, str]]:
    pairs = set()
    for item in headers.split("&") if headers else ():
        name, _, value = item.partition("=")
        pairs.add((_unescape(name).lower(), _unescape(value)))
    return frozenset(pairs)


@dataclass(frozen=True, slots=True, kw_only=True)
class AbsoluteUri:
    """A URI of another scheme (``tel:+81312345678``, ``urn:service:sos``), kept opaque."""

    scheme: str
    rest: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"


Uri = SipUri | AbsoluteUri


# The whole sip/sips grammar of §25.1 in one pattern (the parser's fast path).
_URI_USER = r"[A-Za-z0-9\-_.!~*'()%&=+$,;?/]+"
_URI_PASSWORD = r"[A-Za-z0-9\-_.!~*'()%&=+$,]*"
_URI_PARAMS = r"(?:;[A-Za-z0-9\-_.!~*'()%\[\]/:&+$]+(?:=[A-Za-z0-9\-_.!~*'()%\[\]/:&+$]+)?)*"
_URI_HEADERS = r"[A-Za-z0-9\-_.!~*'()%\[\]/?:+$=&]*"
_SIP_URI_FULL = re.compile(
    rf"(sips?):(?:({_URI_USER})(?::({_URI_PASSWORD}))?@)?({HOST})(?::([0-9]{{1,5}}))?"
    rf"({_URI_PARAMS})(?:\?({_URI_HEADERS}))?",
    re.I,
).fullmatch

# Fast validation of a name-addr (From, To, Contact) in one match, building nothing: the
# usual forms ``"Display" <sip:…>;tag=…``, ``Display <sip:…>`` and ``sip:user@host;tag=…``.
# Every piece is a subset of what ``NameAddr.parse`` accepts (lower-case scheme, port range in
# the pattern, no LWS or quotes in parameters), so a value this matches is known to parse;
# tests/sip/test_properties.py checks that on strings generated from ``NAME_ADDR_PLAIN``.
# Anything else goes through the full parser, which names the error.
_SIP_URI_PLAIN = (
    rf"sips?:(?:{_URI_USER}(?::{_URI_PASSWORD})?@)?(?:{HOST})(?::{PORT})?{_URI_PARAMS}"
    rf"(?:\?{_URI_HEADERS})?"
)
# addr-spec form: the first ';' starts header parameters, and '?', ',' need <> (§20).
_ADDR_SPEC_PLAIN = (
    r"sips?:(?:[A-Za-z0-9\-_.!~*'()%&=+$/]+(?::[A-Za-z0-9\-_.!~*'()%&=+$]*)?@)?"
    rf"(?:{HOST})(?::{PORT})?"
)
NAME_ADDR_PLAIN = re.compile(
    rf'(?:(?:"[^"\\<>\r\n]*"|{TOKEN}(?:[ \t]+{TOKEN})*)[ \t]*)?<{_SIP_URI_PLAIN}>{SIMPLE_PARAMS}'
    rf"|{_ADDR_SPEC_PLAIN}{SIMPLE_PARAMS}"
)
name_addr_is_plain = NAME_ADDR_PLAIN.fullmatch


@lru_cache(maxsize=4096)
def parse_uri(text: str, where: str = "URI") -> Uri:
    """Parse an absolute URI: ``SipUri`` for sip/sips, ``AbsoluteUri`` for other schemes.

    Memoised: URIs recur across the messages of a dialog and results are immutable.
    """
    m = _SIP_URI_FULL(text)
    if m is not None:
        scheme, user, password, host, port, params, headers = m.groups()
        if port is not None and int(port) > 65535:
            raise SipParseError(f"port {port} out of range", where)
        return SipUri(
            scheme=scheme,
            user=user,
            password=password,
            host=host,
            port=None if port is None else int(port),
            params=parse_uri_params(params, where) if params else EMPTY_PARAMS,
            headers=headers or "",
        )
    return _parse_uri_slowly(text, where)


def _parse_uri_slowly(text: str, where: str) -> Uri:
    """The general path: other schemes, and a precise error for a broken SIP URI."""
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME_RE.fullmatch(scheme):
        raise SipParseError(f"not an absolute URI: {text[:60]!r}", where)
    low = scheme.lower()
    if low != "sip" and low != "sips":
        if not rest or any(c in rest for c in ' \t<>"\r\n'):
            raise SipParseError(f"invalid {scheme}: URI {text[:60]!r}", where)
        return AbsoluteUri(scheme=scheme, rest=rest)
    user: str | None = None
    password: str | None = None
    # '@' cannot appear unescaped after the userinfo (§25.1), so the first one ends it.
    at = rest.find("@")
    if at >= 0:
        userinfo = rest[:at]
        rest = rest[at + 1 :]
        if not _USERINFO_FULL(userinfo):
            raise SipParseError(f"invalid character in user part {userinfo[:40]!r}", where)
        user, colon, pw = userinfo.partition(":")
        if colon:
            password = pw
        if not user:
            raise SipParseError("empty user part before '@'", where)
    headers = ""
    q = rest.find("?")
    if q >= 0:
        headers = rest[q + 1 :]
        rest = rest[:q]
        if not _HEADERS_FULL(headers):
            raise SipParseError(f"invalid URI headers {headers[:40]!r}", where)
    semi = rest.find(";")
    params = EMPTY_PARAMS
    if semi >= 0:
        raw_params = rest[semi:]
        rest = rest[:semi]
        if not _URI_PARAM_FULL(raw_params):
            raise SipParseError(f"invalid URI parameters {raw_params[:40]!r}", where)
        params = parse_uri_params(raw_params, where)
    port: int | None = None
    if rest.startswith("["):
        close = rest.find("]")
        host = rest[: close + 1] if close > 0 else rest
        tail = rest[close + 1 :] if close > 0 else ""
    else:
        host, _, tail = rest.partition(":")
        tail = ":" + tail if _ else ""
    if tail:
        digits = tail[1:]
        if tail[0] != ":" or not digits.isdigit() or not digits.isascii() or len(digits) > 5:
            raise SipParseError(f"invalid port in {text[:60]!r}", where)
        port = int(digits)
        if port > 65535:
            raise SipParseError(f"port {port} out of range", where)
    if not _HOST_FULL(host):
        raise SipParseError(f"invalid host {host[:40]!r}", where)
    return SipUri(
        scheme=scheme,
        user=user,
        password=password,
        host=host,
        port=port,
        params=params,
        headers=headers,
    )


# Display name forms (§25.1): quoted-string, or *(token LWS); the name-addr form has <uri>.
_SIMPLE_NAME_ADDR = re.compile(r'(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))[ \t]*<([^<>]*)>(.*)', re.S)
_TOKENS_FULL = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`'~]+)*").fullmatch
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


@dataclass(frozen=True, slots=True, kw_only=True)
class NameAddr:
    """``display-name <uri>;params`` (or a bare addr-spec), as in From/To/Contact/Route.

    ``display_name`` is unescaped text (``None`` when absent); ``params`` are the header
    parameters (``tag``, ``expires``, ``q``…), not the URI's.
    """

    display_name: str | None = None
    uri: Uri
    params: Params = EMPTY_PARAMS

    @staticmethod
    def parse(text: str, where: str = "name-addr") -> NameAddr:
        """Parse ``name-addr`` or ``addr-spec`` followed by header parameters (memoised)."""
        return _parse_name_addr(text, where)

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (From/To)."""
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        """A copy with ``tag`` set."""
        return replace(self, params=self.params.with_param("tag", tag))

    def with_param(self, name: str, value: str | None = None) -> NameAddr:
        """A copy with the header parameter ``name`` set."""
        return replace(self, params=self.params.with_param(name, value))

    def __str__(self) -> str:
        if self.display_name is None:
            head = f"<{self.uri}>"
        else:
            head = f"{quote(self.display_name)} <{self.uri}>"
        return head + str(self.params)


@lru_cache(maxsize=4096)
def _parse_name_addr(text: str, where: str) -> NameAddr:
    text = text.strip(" \t")
    lt = text.find("<")
    semi = text.find(";")
    if lt >= 0 and (semi < 0 or lt < semi or text.startswith('"')):
        m = _SIMPLE_NAME_ADDR.fullmatch(text)
        if m is None:
            _diagnose_name_addr(text, where)
            raise SipParseError(f"invalid name-addr {text[:60]!r}", where)
        quoted, bare, uri_text, tail = m.groups()
        display: str | None
        if quoted is not None:
            display = _QUOTED_PAIR.sub(r"\1", quoted) if "\\" in quoted else quoted
        elif bare:
            if not _TOKENS_FULL(bare):
                raise SipParseError(
                    f"display name {bare!r} has characters that need quoting", where
                )
            display = bare
        else:
            display = None
        if uri_text != uri_text.strip(" \t"):
            raise SipParseError("whitespace inside <…> around the URI", where)
        return NameAddr(
            display_name=display,
            uri=parse_uri(uri_text, where),
            params=parse_params(tail, where),
        )
    if text.startswith('"'):
        read_quoted(text, 0, where)  # raises on an unterminated string
        raise SipParseError("display name without <URI>", where)
    # addr-spec form: the first ';' starts header parameters, so the URI can have none
    # and may not contain '?' or ',' (§20 "MUST be enclosed in angle brackets").
    uri_text, _, tail = text.partition(";")
    uri_text = uri_text.rstrip(" \t")
    if "?" in uri_text or "," in uri_text or " " in uri_text:
        raise SipParseError(
            f"URI {uri_text[:60]!r} with '?', ',' or spaces must be enclosed in <>", where
        )
    return NameAddr(
        uri=parse_uri(uri_text, where),
        params=parse_params(";" + tail, where) if _ else EMPTY_PARAMS,
    )


def _diagnose_name_addr(text: str, where: str) -> None:
    """Raise a precise error for a name-addr the fast pattern refused."""
    if text.startswith('"'):
        read_quoted(text, 0, where)
    if text.count("<") != text.count(">"):
        raise SipParseError("unbalanced '<' and '>'", where)
