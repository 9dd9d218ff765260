"""The resolver maps the manual's server names to the target's loopback address, like DNS."""

from __future__ import annotations

import pytest

from harness.sip.resolver import ResolveError, Resolver, ServerName, parse_server
from harness.sip.transport import Address

TARGET = Address(host="127.0.0.1", port=40123)
UNO = Address(host="127.0.0.1", port=40124)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01234abc.smart-pbx.jp", ServerName(host="01234abc.smart-pbx.jp")),
        ("01234ABC.Smart-PBX.jp.", ServerName(host="01234abc.smart-pbx.jp")),
        ("sip:01234abc.smart-pbx.jp:5070", ServerName(host="01234abc.smart-pbx.jp", port=5070)),
        ("192.0.2.10", ServerName(host="192.0.2.10")),
        ("[::1]:5062", ServerName(host="::1", port=5062)),
        ("::1", ServerName(host="::1")),
    ],
)
def test_parse_server(text: str, expected: ServerName) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("host:0", "port"),
        ("host:x", "port"),
        ("[::1", "unclosed"),
        ("a b", "not a host"),
        ("user@host", "not a host"),
    ],
)
def test_parse_server_refuses_with_reason(text: str, reason: str) -> None:
    with pytest.raises(ResolveError, match=reason):
        parse_server(text)


def test_manual_names_resolve_to_the_target() -> None:
    resolver = Resolver(entries={"01234abc.smart-pbx.jp": TARGET, "192.0.2.10": UNO})
    assert resolver.resolve("01234abc.smart-pbx.jp") == TARGET
    assert resolver.resolve("01234ABC.smart-pbx.jp.") == TARGET
    assert resolver.resolve("192.0.2.10") == UNO
    # a port-specific entry wins over the host entry
    other = Address(host="127.0.0.1", port=1)
    specific = resolver.with_entry("01234abc.smart-pbx.jp:5080", other)
    assert specific.resolve("01234abc.smart-pbx.jp:5080") == other
    assert specific.resolve("01234abc.smart-pbx.jp") == TARGET


def test_loopback_literals_pass_through_with_default_port() -> None:
    resolver = Resolver()
    assert resolver.resolve("127.0.0.1") == Address(host="127.0.0.1", port=5060)
    assert resolver.resolve("127.0.0.1:5099") == Address(host="127.0.0.1", port=5099)


def test_unknown_names_and_remote_addresses_do_not_resolve() -> None:
    resolver = Resolver(entries={"01234abc.smart-pbx.jp": TARGET})
    with pytest.raises(ResolveError, match="no such host"):
        resolver.resolve("99999zzz.smart-pbx.jp")
    with pytest.raises(ResolveError, match="loopback"):
        resolver.resolve("192.0.2.99")
    remote = Resolver(allow_remote=True)
    assert remote.resolve("192.0.2.99:5070") == Address(host="192.0.2.99", port=5070)
