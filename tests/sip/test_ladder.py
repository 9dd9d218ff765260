"""The text ladder: one line per message, names for addresses, drops marked."""

from __future__ import annotations

from pathlib import Path

from harness.pytest_plugin.phones import PhoneFactory
from harness.sip.ladder import LadderTap
from harness.sip.resolver import Resolver
from harness.sip.transport import Address, TapRecord

A = Address(host="127.0.0.1", port=5001)
B = Address(host="127.0.0.1", port=5002)
INVITE = b"INVITE sip:b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n"
OK = b"SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n"


def record(
    direction: str, local: Address, remote: Address, data: bytes, t: float, **kw: bool
) -> TapRecord:
    return TapRecord(
        direction=direction,  # type: ignore[arg-type]
        protocol="UDP",
        local=local,
        remote=remote,
        data=data,
        wall_time=t,
        **kw,
    )


def test_each_message_once_with_names_and_drops() -> None:
    ladder = LadderTap({A: "20200"})
    ladder(record("sent", A, B, INVITE, 100.0, dropped=True))
    ladder(record("sent", A, B, INVITE, 100.5))
    ladder(record("received", B, A, INVITE, 100.501))  # B's tap: same message, not repeated
    ladder(record("received", A, B, OK, 100.6))  # B not tapped as sender: shown
    lines = ladder.lines()
    assert len(lines) == 3
    assert "20200 →" in lines[0] and "127.0.0.1:5002" in lines[0]
    assert lines[0].endswith("✗ dropped") and "[1 INVITE]" in lines[0]
    assert lines[1].startswith("   0.500")
    assert "127.0.0.1:5002 → 20200" in " ".join(lines[2].split()) and "SIP/2.0 200 OK" in lines[2]


def test_phone_factory_writes_the_ladder(phone_factory: PhoneFactory, tmp_path: Path) -> None:
    callee = phone_factory.phone("20201", user_id="b", password="p", sip_server="b.invalid")
    phone_factory.resolver = Resolver(entries={"a.jp": callee.local})
    caller = phone_factory.phone("20200", user_id="a", password="p", sip_server="a.jp")
    callee.set_busy()
    caller.call("20201").wait_for("busy")
    phone_factory.close()
    text = (tmp_path / "phones-ladder.txt").read_text(encoding="utf-8")
    assert "20200" in text and "20201" in text
    assert "486 Busy Here" in text
