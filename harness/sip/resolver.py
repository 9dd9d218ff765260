"""Name resolution for phones, pure: the harness's stand-in for DNS.

Theory of operation: a phone is configured exactly as the manual says — SIPサーバ
``01234abc.smart-pbx.jp`` (the 内線サーバアドレス) and, with Flexible InterConnect, the
内線サーバアドレス(UNO接続) such as ``192.0.2.10`` — but the target it must reach (the embedded
simulator, or Kamailio in the peer tests) listens on a free loopback port. A ``Resolver`` is the
table that bridges the two, as DNS (and SRV, for the port) would for a real app:

1. ``host:port`` or ``host`` found in the table (names case-insensitive, trailing dot ignored)
   → the table's address;
2. a loopback IP literal not in the table → itself, port as given or 5060 (RFC 3261 §19.1.2);
3. anything else → ``ResolveError`` (the NXDOMAIN of this world: the phone shows 通話不可).
   With ``allow_remote=True`` (a real deployment) IP literals pass through unchanged.

No I/O, no clock: the resolver is a value, built by the fixture that knows where the target is.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.sip.transport import Address

SIP_DEFAULT_PORT = 5060


class ResolveError(LookupError):
    """The server name does not resolve (the phone cannot reach any server)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerName:
    """A server as a user types it in the app: host name or IP literal, optional port."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


@functools.lru_cache(maxsize=1024)
def parse_server(text: str) -> ServerName:
    """Parse ``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (an optional ``sip:`` prefix
    is tolerated). ``ResolveError`` with the reason for anything else."""
    value = text.strip()
    if value.lower().startswith("sip:"):
        value = value[4:]
    if not value:
        raise ResolveError("SIPサーバ is empty: enter the 内線サーバアドレス of ご利用内容のご案内")
    port_text: str | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ResolveError(f"SIPサーバ {text!r}: unclosed '[' in an IPv6 address")
        host, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ResolveError(f"SIPサーバ {text!r}: expected ':port' after ']'")
            port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    elif ":" in value:
        host = value  # a bare IPv6 literal
    else:
        host = value
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ResolveError(f"SIPサーバ {text!r}: port must be a number 1–65535")
        port = int(port_text)
    if not host or any(c.isspace() for c in host) or "/" in host or "@" in host:
        raise ResolveError(f"SIPサーバ {text!r}: not a host name or IP address")
    return ServerName(host=_normalise(host), port=port)


def _normalise(host: str) -> str:
    return host.rstrip(".").lower()


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class Resolver:
    """A static table from server names (``host`` or ``host:port``) to transport addresses."""

    entries: Mapping[str, Address] = field(default_factory=dict)
    allow_remote: bool = False

    def __post_init__(self) -> None:
        table = {str(parse_server(name)): address for name, address in self.entries.items()}
        object.__setattr__(self, "entries", table)

    def with_entry(self, name: str, address: Address) -> Resolver:
        """A new resolver that also maps ``name`` (``host`` or ``host:port``) to ``address``."""
        return Resolver(entries={**self.entries, name: address}, allow_remote=self.allow_remote)

    def resolve(self, server: str | ServerName) -> Address:
        """Where a phone configured with ``server`` actually sends its SIP."""
        name = parse_server(server) if isinstance(server, str) else server
        if name.port is not None and (hit := self.entries.get(str(name))) is not None:
            return hit
        if (hit := self.entries.get(name.host)) is not None:
            return hit
        ip = _ip(name.host)
        if ip is not None and (ip.is_loopback or self.allow_remote):
            return Address(host=str(ip), port=name.port or SIP_DEFAULT_PORT)
        if ip is not None:
            raise ResolveError(
                f"{name} is not a server of this test target (the harness only talks to "
                "loopback; map it in the Resolver)"
            )
        raise ResolveError(f"{name}: no such host (not in the resolver's table)")
