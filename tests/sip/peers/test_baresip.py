"""The baresip driver: a real softphone registering to Kamailio, calling another baresip through
it, and answering SIPp; plus the ctrl_tcp netstring framing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import harness.sip.peers.baresip as baresip_module
from harness.errors import HarnessError
from harness.sip.peers._net import BoundSocket, bound_addresses
from harness.sip.peers.baresip import (
    CALL_CLOSED,
    CALL_ESTABLISHED,
    CALL_INCOMING,
    CALL_RINGING,
    Baresip,
    NetstringDecoder,
    netstring,
)
from harness.sip.peers.kamailio import Kamailio
from harness.sip.sipp import Sipp
from tests.sip.peers._squatter import first_port_taken

DOMAIN = "01234abc.smart-pbx.jp"
USERS = {"abcde20200": "Password1", "abcde20201": "Password2"}
BaresipFactory = Callable[..., Baresip]


@pytest.fixture
def server(kamailio: Callable[..., Kamailio]) -> Kamailio:
    return kamailio(sip_domain=DOMAIN, users=USERS)


def phone(baresip: BaresipFactory, server: Kamailio, user: str, **options: object) -> Baresip:
    options.setdefault("password", USERS.get(user, "x"))
    return baresip(user=user, domain=DOMAIN, registrar=(server.host, server.port), **options)


@pytest.mark.peers
def test_registers_with_the_right_password(baresip: BaresipFactory, server: Kamailio) -> None:
    alice = phone(baresip, server, "abcde20200")

    assert alice.wait_registered()
    info = alice.command("reginfo")
    assert alice.aor in info and "OK" in info


@pytest.mark.peers
def test_registration_fails_with_a_wrong_password(
    baresip: BaresipFactory, server: Kamailio
) -> None:
    alice = phone(baresip, server, "abcde20200", password="wrong")

    assert not alice.wait_registered()


@pytest.mark.peers
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_calls_another_baresip_through_kamailio(
    baresip: BaresipFactory, server: Kamailio, transport: str
) -> None:
    alice = phone(baresip, server, "abcde20200", transport=transport)
    bob = phone(baresip, server, "abcde20201", transport=transport)
    assert alice.wait_registered() and bob.wait_registered()
    [contact] = server.contacts("abcde20201")
    assert ("transport=tcp" in contact.address) == (transport == "tcp")

    alice.dial(bob.aor)
    incoming = bob.wait_event(CALL_INCOMING)
    alice.wait_event(CALL_RINGING)
    bob.accept()
    bob.wait_event(CALL_ESTABLISHED)
    alice.wait_event(CALL_ESTABLISHED)
    alice.hangup()
    bob.wait_event(CALL_CLOSED)
    alice.wait_event(CALL_CLOSED)

    # bob saw alice's address of record as the caller (From through the proxy).
    assert incoming.peer_uri == alice.aor
    assert incoming.direction == "incoming"


@pytest.mark.peers
def test_sipp_uac_calls_baresip_through_kamailio(
    baresip: BaresipFactory, server: Kamailio, sipp: Callable[..., Sipp]
) -> None:
    bob = phone(baresip, server, "abcde20201")
    assert bob.wait_registered()
    caller = sipp(
        "uac",
        remote=(server.host, server.port),
        domain=DOMAIN,
        service="abcde20201",
        calls=1,
        duration_ms=100,
    ).start()

    incoming = bob.wait_event(CALL_INCOMING)
    bob.accept()
    bob.wait_event(CALL_ESTABLISHED)
    bob.wait_event(CALL_CLOSED)  # SIPp hangs up after its pause
    result = caller.wait()

    assert incoming.peer_uri.startswith("sip:sipp@127.0.0.1")
    assert result.ok and result.successful_calls == 1


@pytest.mark.peers
def test_sipp_uac_calls_baresip_directly(
    baresip: BaresipFactory, sipp: Callable[..., Sipp]
) -> None:
    bob = baresip(user="bob", answer_mode="auto")

    result = sipp("uac", remote=(bob.host, bob.port), service="bob", calls=1).run()

    assert result.ok and result.successful_calls == 1
    assert bob.wait_event(CALL_CLOSED).type == CALL_CLOSED


@pytest.mark.peers
def test_sip_and_control_sockets_are_on_loopback(baresip: BaresipFactory) -> None:
    bob = baresip(user="bob")
    assert bob.pid is not None

    bound = bound_addresses(bob.pid)

    assert BoundSocket(protocol="udp", host="127.0.0.1", port=bob.port) in bound
    assert BoundSocket(protocol="tcp", host="127.0.0.1", port=bob.port) in bound
    assert BoundSocket(protocol="tcp", host="127.0.0.1", port=bob.ctrl_port) in bound
    assert {s.host for s in bound if s.protocol.startswith("tcp")} == {"127.0.0.1"}
    # Known exception (docs/peers.md): libre's DNS client keeps one unconnected UDP socket per
    # address family on the wildcard address; nothing else may be off loopback.
    off_loopback = [(s.protocol, s.host) for s in bound if s.host != "127.0.0.1"]
    assert sorted(off_loopback) in ([], [("udp", "0.0.0.0")], [("udp", "0.0.0.0"), ("udp6", "::")])


@pytest.mark.peers
def test_stop_reaps_baresip(baresip: BaresipFactory) -> None:
    bob = baresip(user="bob")
    bob.stop()
    bob.stop()  # idempotent

    with pytest.raises(HarnessError, match="not running"):
        bob.dial("sip:x@127.0.0.1")


def test_missing_binary_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="apt-get install baresip"):
        Baresip(workdir=tmp_path, binary="/nonexistent/baresip").start()


# --------------------------------------------------------------------------------------------
# ctrl_tcp framing: whole, byte by byte, with trailing data (STYLE.md §4)

MESSAGES = [
    {"event": True, "type": "CALL_INCOMING", "peeruri": "sip:日本@example.jp"},
    {"response": True, "ok": True, "data": "a,b:c", "token": "1"},
]
STREAM = b"".join(netstring(json.dumps(m).encode()) for m in MESSAGES)


def test_netstrings_decode_whole() -> None:
    assert [json.loads(p) for p in NetstringDecoder().feed(STREAM)] == MESSAGES


def test_netstrings_decode_byte_by_byte() -> None:
    decoder = NetstringDecoder()
    payloads = [p for i in range(len(STREAM)) for p in decoder.feed(STREAM[i : i + 1])]
    assert [json.loads(p) for p in payloads] == MESSAGES


def test_netstrings_keep_trailing_bytes_for_later() -> None:
    decoder = NetstringDecoder()
    first = decoder.feed(STREAM + b"11:{")
    rest = decoder.feed(b'"a": true},')
    assert [json.loads(p) for p in first] == MESSAGES
    assert rest == [b'{"a": true}']


@pytest.mark.parametrize(
    "bad", [b"x:{},", b"2:{}}", b"9" * 30], ids=["長さ不正", "終端不正", "長さなし"]
)
def test_netstring_errors_are_harness_errors(bad: bytes) -> None:
    with pytest.raises(HarnessError, match="ctrl_tcp"):
        NetstringDecoder().feed(bad)


@pytest.mark.peers
def test_start_retries_when_its_port_was_taken_meanwhile(
    baresip: BaresipFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with first_port_taken(monkeypatch, baresip_module, "_free_sip_port") as taken:
        bob = baresip(user="bob")

    assert bob.port != taken
    assert "Address already in use" in bob.log_path.read_text(encoding="utf-8")
    assert bob.command("reginfo")
