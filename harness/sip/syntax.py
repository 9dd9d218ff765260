"""Lexical layer of SIP (RFC 3261 §25): the parse error, tokens, quoted strings, parameters.

Everything here is pure string work shared by ``uri``, ``headers`` and ``message``. Header
sections are decoded with ``surrogateescape``, so any byte survives a parse/serialize round
trip even when it is not UTF-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class SipParseError(ValueError):
    """Bytes that are not a valid SIP message (or header value, URI…).

    ``what`` says what is wrong, ``where`` where (start line, a header name, an offset).
    ``status`` is the response a server should send for it: 400, or 505 for a bad version.
    """

    def __init__(self, what: str, where: str, *, status: int = 400) -> None:
        self.what = what
        self.where = where
        self.status = status
        super().__init__(f"{what} (in {where})")


# Pattern text shared by the parsers and the fast validators of ``uri``, ``headers`` and
# ``message``, so that a fast pattern is built from the very pieces the full parser uses.
# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")  §25.1
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
# A parameter value without LWS or quotes: token, host (incl. IPv6 reference); ':' and '/' are
# tolerated because real peers send them unquoted (e.g. +sip.instance URNs, received=IPv6).
SIMPLE_PARAM_VALUE = r"[A-Za-z0-9\-.!%*_+`'~:\[\]/@$&?]+"
# Zero or more ``;name[=value]`` parameters without LWS or quotes (the usual case).
SIMPLE_PARAMS = rf"(?:;{TOKEN}(?:={SIMPLE_PARAM_VALUE})?)*"
# hostname / IPv4address / IPv6reference (§25.1), tolerant of a trailing dot.
HOST = r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+"
# A port 0-65535 (leading zeros allowed), so a fast pattern needs no range check afterwards.
PORT = r"(?:[0-5]?[0-9]{1,4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"

TOKEN_RE = re.compile(TOKEN)
_TOKEN_FULL = TOKEN_RE.fullmatch
_PARAM_VALUE_FULL = re.compile(r"[A-Za-z0-9\-.!%*_+`'~:\[\]/@$&?=]+").fullmatch
_LWS = " \t"
# Parameters without LWS or quotes, the usual case: checked in one regex call.
_SIMPLE_PARAMS_FULL = re.compile(rf"(?:;{TOKEN}(?:={SIMPLE_PARAM_VALUE})?)+").fullmatch


def is_token(text: str) -> bool:
    """True when ``text`` is a non-empty RFC 3261 token."""
    return _TOKEN_FULL(text) is not None


def quote(text: str) -> str:
    """``text`` as a quoted-string, escaping ``"`` and ``\\``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_quoted(text: str, start: int, where: str) -> tuple[str, int]:
    """Read the quoted-string that opens at ``text[start] == '"'``.

    Returns the unescaped content and the index just after the closing quote.
    """
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= n:
                break
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    raise SipParseError("unterminated quoted string", where)


def find_unquoted(text: str, chars: str, start: int = 0) -> int:
    """Index of the first of ``chars`` at or after ``start`` outside quotes and ``<…>``; -1."""
    i = start
    n = len(text)
    in_angle = False
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "<":
            in_angle = True
        elif c == ">":
            in_angle = False
        elif not in_angle and c in chars:
            return i
        i += 1
    return -1


def split_unquoted(text: str, separator: str, start: int) -> list[str]:
    """``text[start:]`` split at each ``separator`` outside quoted strings and ``<…>``."""
    parts = []
    while True:
        i = find_unquoted(text, separator, start)
        if i < 0:
            parts.append(text[start:])
            return parts
        parts.append(text[start:i])
        start = i + 1


def split_commas(value: str, where: str) -> list[str]:
    """Split a comma-separated header value, respecting quoted strings and ``<…>``.

    An empty element (``a,,b`` or a trailing comma) is an error: RFC 3261 §7.3.1 lists are
    ``element *(COMMA element)``.
    """
    if '"' not in value and "<" not in value:
        parts = value.split(",")
    else:
        parts = split_unquoted(value, ",", 0)
    out = [p.strip(_LWS) for p in parts]
    if "" in out:
        raise SipParseError("empty element in comma-separated list", where)
    return out


@dataclass(frozen=True, slots=True)
class Params:
    """Ordered ``;name=value`` parameters; names compare case-insensitively on lookup.

    A value is ``None`` for a flag (``;lr``); quoted values keep their quotes, so ``str``
    round-trips. ``items`` is a tuple of ``(name, value)`` pairs.
    """

    items: tuple[tuple[str, str | None], ...] = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of ``name`` (``None`` for a flag or when absent, unless ``default``)."""
        key = name.lower()
        for n, v in self.items:
            if n.lower() == key:
                return v
        return default

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower()
        return any(n.lower() == key for n, _ in self.items)

    def with_param(self, name: str, value: str | None = None) -> Params:
        """A copy with ``name`` set to ``value`` (replacing in place, else appended)."""
        key = name.lower()
        items = list(self.items)
        for i, (n, _) in enumerate(items):
            if n.lower() == key:
                items[i] = (n, value)
                return Params(tuple(items))
        items.append((name, value))
        return Params(tuple(items))

    def without(self, name: str) -> Params:
        """A copy without ``name``."""
        key = name.lower()
        return Params(tuple((n, v) for n, v in self.items if n.lower() != key))

    def __str__(self) -> str:
        return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


EMPTY_PARAMS = Params()


def parse_uri_params(text: str, where: str) -> Params:
    """Split already validated URI parameters (``;name[=value]``, names of paramchar, which
    is wider than token: ``:``, ``[``, ``/``…, §25.1); an empty name is an error."""
    items: list[tuple[str, str | None]] = []
    for piece in text[1:].split(";"):
        name, eq, value = piece.partition("=")
        if not name or (eq and not value):
            raise SipParseError(f"empty URI parameter name or value in {text[:40]!r}", where)
        items.append((name, value if eq else None))
    return Params(tuple(items))


def parse_params(text: str, where: str) -> Params:
    """Parse ``*( SEMI generic-param )`` — ``text`` is empty or starts with ``;`` (after LWS).

    LWS around ``;`` and ``=`` is allowed (§25.1 SEMI/EQUAL); an empty parameter name
    (``;;``) or an empty value after ``=`` is an error.
    """
    if _SIMPLE_PARAMS_FULL(text):
        # The usual case (no LWS, no quotes), checked in one match; a plain loop builds the
        # pairs a quarter faster than nested generator expressions.
        simple: list[tuple[str, str | None]] = []
        for piece in text[1:].split(";"):
            name, eq, value = piece.partition("=")
            simple.append((name, value if eq else None))
        return Params(tuple(simple))
    text = text.strip(_LWS)
    if not text:
        return EMPTY_PARAMS
    if text[0] != ";":
        raise SipParseError(f"expected ';' before parameters, found {text[:20]!r}", where)
    items: list[tuple[str, str | None]] = []
    pieces = text[1:].split(";") if '"' not in text else split_unquoted(text, ";", 1)
    for piece in pieces:
        name, eq, value = piece.partition("=")
        name = name.strip(_LWS)
        if not _TOKEN_FULL(name):
            shown = name or "(empty)"
            raise SipParseError(f"invalid parameter name {shown!r}", where)
        if not eq:
            items.append((name, None))
            continue
        value = value.strip(_LWS)
        if value.startswith('"'):
            _, end = read_quoted(value, 0, where)
            if end != len(value):
                raise SipParseError(f"text after quoted value of parameter {name!r}", where)
        elif not _PARAM_VALUE_FULL(value):
            shown = value or "(empty)"
            raise SipParseError(f"invalid value {shown!r} of parameter {name!r}", where)
        items.append((name, value))
    return Params(tuple(items))


def unquote_value(value: str | None) -> str | None:
    """A parameter value without its quotes (and escapes), when it is a quoted-string."""
    if value is None or not value.startswith('"'):
        return value
    return read_quoted(value, 0, "parameter value")[0]


def parse_uint(text: str, what: str, where: str, *, limit: int = 2**32 - 1) -> int:
    """A decimal number of at most ``limit`` (RFC 4475 §3.1.2.4: overlarge values are errors)."""
    if len(text) < 10 and text.isdigit() and text.isascii():
        number = int(text)
        if number <= limit:
            return number
    text = text.strip(_LWS)
    if not text.isdigit() or not text.isascii():
        raise SipParseError(f"{what} must be a decimal number, found {text[:30]!r}", where)
    if len(text) > 20 or int(text) > limit:
        raise SipParseError(f"{what} {text[:30]} is larger than {limit}", where)
    return int(text)
