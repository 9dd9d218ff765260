"""The pcap tap writes what tshark decodes as SIP, with the real loopback addresses."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.sip.pcap import PcapTap
from harness.sip.transport import (
    Address,
    Faults,
    Impairment,
    Inbound,
    TapRecord,
    TcpTransport,
    UdpTransport,
)

TSHARK = shutil.which("tshark") or "/usr/bin/tshark"

pytestmark = pytest.mark.peers


def options(local: Address, remote: Address) -> bytes:
    return (
        f"OPTIONS sip:{remote} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local};branch=z9hG4bKpcap1\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:a@{local}>;tag=1\r\n"
        f"To: <sip:b@{remote}>\r\n"
        "Call-ID: pcap-test\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def ok(request: bytes) -> bytes:
    headers = [
        line
        for line in request.decode().split("\r\n")[1:]
        if line.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")
    ]
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(headers) + "\r\nContent-Length: 0\r\n\r\n").encode()


def tshark_fields(path: Path, *fields: str) -> list[list[str]]:
    args = [TSHARK, "-r", str(path), "-Y", "sip", "-T", "fields"]
    for name in fields:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_udp_exchange_decodes_as_sip_with_addresses(tmp_path: Path) -> None:
    path = tmp_path / "udp.pcap"

    async def scenario() -> tuple[Address, Address]:
        done = asyncio.Event()

        def answer(inbound: Inbound) -> None:
            inbound.transport.send(ok(inbound.data), inbound.remote)

        a = await UdpTransport.open(on_receive=lambda _: done.set())
        # the datagram dropped on the way out must not appear in the capture
        b = await UdpTransport.open(on_receive=answer)
        lossy = await UdpTransport.open(
            on_receive=lambda _: None, faults=Faults(outbound=Impairment(loss=1.0))
        )
        with PcapTap(path) as tap:
            a.add_tap(tap)
            lossy.add_tap(tap)
            lossy.send(options(lossy.local, b.local), b.local)
            a.send(options(a.local, b.local), b.local)
            await asyncio.wait_for(done.wait(), 5)
            assert tap.count == 2
        for t in (a, b, lossy):
            await t.close()
        return a.local, b.local

    a, b = asyncio.run(scenario())
    rows = tshark_fields(
        path, "ip.src", "udp.srcport", "ip.dst", "udp.dstport", "sip.Method", "sip.Status-Code"
    )
    assert rows == [
        ["127.0.0.1", str(a.port), "127.0.0.1", str(b.port), "OPTIONS", ""],
        ["127.0.0.1", str(b.port), "127.0.0.1", str(a.port), "", "200"],
    ]


def test_tcp_exchange_decodes_as_sip_with_both_directions(tmp_path: Path) -> None:
    path = tmp_path / "tcp.pcap"

    async def scenario() -> tuple[Address, Address]:
        done = asyncio.Event()

        def answer(inbound: Inbound) -> None:
            inbound.transport.send(ok(inbound.data), inbound.remote)

        a = await TcpTransport.open(on_receive=lambda _: done.set())
        b = await TcpTransport.open(on_receive=answer)
        with PcapTap(path) as tap:
            b.add_tap(tap)
            a.send(options(a.local, b.local), b.local)
            await asyncio.wait_for(done.wait(), 5)
        await a.close()
        await b.close()
        return a.local, b.local

    _, b = asyncio.run(scenario())
    rows = tshark_fields(path, "tcp.dstport", "sip.Method", "sip.Status-Code")
    assert rows == [[str(b.port), "OPTIONS", ""], [rows[1][0], "", "200"]]
    assert rows[1][0] != str(b.port)  # the reply goes to a's ephemeral connection port


def test_write_since_keeps_only_the_packets_after_the_mark(tmp_path: Path) -> None:
    """A check's pcap evidence is its own packets (header + records from the mark), a valid
    capture tshark reads, not a copy of the whole run's growing file."""
    a, b = Address(host="127.0.0.1", port=5001), Address(host="127.0.0.1", port=5002)

    def record(call: int) -> TapRecord:
        data = options(a, b).replace(b"pcap-test", f"call-{call}".encode())
        return TapRecord(
            direction="sent", protocol="UDP", local=a, remote=b, data=data, wall_time=1.0 + call
        )

    with PcapTap(tmp_path / "run.pcap") as tap:
        assert tap.write_since(tap.mark(), tmp_path / "empty.pcap") is None  # no header yet
        tap(record(1))
        mark = tap.mark()
        tap(record(2))
        tap(record(3))
        part = tap.write_since(mark, tmp_path / "part.pcap")
    assert part is not None
    assert tshark_fields(part, "sip.Call-ID") == [["call-2"], ["call-3"]]
    assert tshark_fields(tmp_path / "run.pcap", "sip.Call-ID") == [
        ["call-1"],
        ["call-2"],
        ["call-3"],
    ]
