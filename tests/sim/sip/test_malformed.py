"""Malformed or unexpected SIP to the simulator's ports gets the RFC's answer (or none, for
bytes that are no request), and the simulator keeps serving registered phones afterwards."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.message import Response, parse_message
from tests.sim.sip.kit import FIXTURES, answered_call, tenant_phones

DOMAIN = "01234abc.smart-pbx.jp"


class RawUdp:
    """A bare UDP socket on loopback: send any bytes, read the answers."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5.0)
        self.target = ("127.0.0.1", port)
        self.port = self.sock.getsockname()[1]

    def request(
        self,
        method: str,
        *,
        branch: str,
        call_id: str | None = "malformed@test",
        content_length: str = "0",
        body: str = "",
    ) -> bytes:
        lines = [
            f"{method} sip:20200@{DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{branch}",
            "Max-Forwards: 70",
            f"From: <sip:tester@{DOMAIN}>;tag=t1",
            f"To: <sip:20200@{DOMAIN}>",
            *([f"Call-ID: {call_id}"] if call_id is not None else []),
            f"CSeq: 1 {method}",
            f"Content-Length: {content_length}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def status_line(self) -> str:
        data, _ = self.sock.recvfrom(65535)
        return data.split(b"\r\n", 1)[0].decode()

    def answer(self) -> Response:
        data, _ = self.sock.recvfrom(65535)
        message = parse_message(data)
        assert isinstance(message, Response), data
        return message

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=["sip", "pstn"], ids=["内線側", "キャリア側"])
def raw(request: pytest.FixtureRequest, sim: SimulatorHandle) -> Iterator[RawUdp]:
    port = sim.sip_port if request.param == "sip" else sim.pstn_port
    assert port is not None
    udp = RawUdp(port)
    yield udp
    udp.close()


def test_garbage_gets_no_answer(raw: RawUdp) -> None:
    raw.send(b"\x00\xff garbage \r\n\r\n")
    raw.send(b"SIP/2.0 200 OK\r\nbroken response\r\n\r\n")  # responses are never answered
    raw.send(raw.request("OPTIONS", branch="after-garbage"))
    answer = raw.answer()  # the first datagram back is the OPTIONS answer
    assert (answer.status, answer.headers.cseq.method) == (200, "OPTIONS")


def test_missing_call_id_is_400(raw: RawUdp) -> None:
    raw.send(raw.request("OPTIONS", branch="no-call-id", call_id=None))
    status = raw.status_line()  # it echoes what the request had: no Call-ID to copy
    assert status.startswith("SIP/2.0 400 ")
    assert "Call-ID" in status


@pytest.mark.parametrize("length", ["50", "abc"], ids=["longer than the body", "not a number"])
def test_bad_content_length_is_400(raw: RawUdp, length: str) -> None:
    raw.send(raw.request("OPTIONS", branch=f"bad-length-{length}", content_length=length))
    answer = raw.answer()
    assert answer.status == 400
    assert "Content-Length" in answer.reason
    assert answer.headers.call_id == "malformed@test"


def test_unknown_method_is_405_with_allow(raw: RawUdp) -> None:
    raw.send(raw.request("FROBNICATE", branch="unknown-method"))
    answer = raw.answer()
    assert answer.status == 405
    allowed = {m.strip() for v in answer.headers.get_all("Allow") for m in v.split(",")}
    assert {"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER"} <= allowed


def test_cancel_without_a_transaction_is_481(raw: RawUdp) -> None:
    raw.send(raw.request("CANCEL", branch="nothing-to-cancel"))
    assert raw.answer().status == 481


def test_bye_outside_a_dialog_is_481(raw: RawUdp) -> None:
    raw.send(raw.request("BYE", branch="no-dialog"))
    assert raw.answer().status == 481


def test_phones_are_served_after_malformed_traffic(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, FIXTURES / "sample")
    for port in (sim.sip_port, sim.pstn_port):
        assert port is not None
        udp = RawUdp(port)
        try:
            udp.send(b"\x00" * 300)
            udp.send(udp.request("OPTIONS", branch="x", call_id=None))
            udp.send(udp.request("FOO", branch="y"))
            udp.send(udp.request("CANCEL", branch="z"))
            assert sorted(udp.status_line()[8:11] for _ in range(3)) == ["400", "405", "481"]
        finally:
            udp.close()
    answered_call(phones["20200"], phones["20201"], "20201")
