"""Issue 10 against the simulator subprocess: the tenant's SIP port takes calls only from
authenticated terminals; calls from outside come through the carrier side, which takes a
subscriber's number only from the address it registered from."""

from __future__ import annotations

import socket

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.message import Response, parse_message
from tests.sim.sip.kit import (
    FIXTURES,
    answered_call,
    eventually,
    rows,
    subscriber,
    tenant_phones,
)

SAMPLE = FIXTURES / "sample"
DOMAIN = "01234abc.smart-pbx.jp"
FORGED = "09099998888"  # the caller ID the sender writes


def forged_invite(
    port: int, dialled: str, *, host: str = "127.0.0.1", caller: str = FORGED
) -> bytes:
    """An INVITE as an outsider writes it: no credentials, any caller ID it likes."""
    sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    lines = [
        f"INVITE sip:{dialled}@{DOMAIN} SIP/2.0",
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bKforged{dialled};rport",
        "Max-Forwards: 70",
        f'From: "{caller}" <sip:{caller}@carrier.invalid>;tag=forged',
        f"To: <sip:{dialled}@{DOMAIN}>",
        f"P-Asserted-Identity: <sip:{caller}@carrier.invalid>",
        f"Call-ID: forged-{dialled}@test",
        "CSeq: 1 INVITE",
        f"Contact: <sip:{caller}@{host}:{port}>",
        "Content-Type: application/sdp",
        f"Content-Length: {len(sdp)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + sdp).encode()


def answers_until_final(sock: socket.socket) -> list[Response]:
    answers: list[Response] = []
    while not answers or answers[-1].status < 200:
        data, _ = sock.recvfrom(65535)
        message = parse_message(data)
        assert isinstance(message, Response), data
        answers.append(message)
    return answers


def test_an_unauthenticated_invite_to_an_external_number_on_the_tenant_port_is_challenged(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    """Issue 10 item 1: it once rang 20200 (外線着信設定 of 0312345678) showing the forged
    caller ID; now it gets 407 and nothing else — no 18x/2xx, no ring, no call record."""
    assert sim.sip_port is not None
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5.0)
        port = sock.getsockname()[1]
        sock.sendto(forged_invite(port, "0312345678"), ("127.0.0.1", sim.sip_port))
        answers = answers_until_final(sock)
    assert [a.status for a in answers if a.status != 100] == [407]
    assert answers[-1].headers.get_all("Proxy-Authenticate")
    # A barrier, not a sleep: the next call 20200 answers must be a real one from 20201.
    answered_call(phones["20201"], phones["20200"], "20200")
    recorded = eventually(lambda: rows(sim, "/api/calls"), "the real call in /api/calls")
    assert [(c["caller"], c["callee"]) for c in recorded] == [("20201", "20200")]


def test_the_carrier_side_takes_a_subscribers_number_only_from_its_own_address(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    """The carrier side asserts the line a call comes in on: an INVITE naming a registered
    subscriber's number from another address (here 127.0.0.2) is a spoofed caller ID: 403."""
    assert sim.pstn_port is not None
    subscriber(phone_factory, sim, "09011112222")  # registered from 127.0.0.1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.2", 0))
        sock.settimeout(5.0)
        port = sock.getsockname()[1]
        invite = forged_invite(port, "0312345678", host="127.0.0.2", caller="09011112222")
        sock.sendto(invite, ("127.0.0.1", sim.pstn_port))
        answers = answers_until_final(sock)
    assert [a.status for a in answers if a.status != 100] == [403]
    assert "not the address this number registered from" in answers[-1].reason
