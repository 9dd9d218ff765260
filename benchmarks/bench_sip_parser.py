"""SIP parser throughput: messages/second for a typical INVITE with SDP, parse and serialize.

Run: ``.venv/bin/python benchmarks/bench_sip_parser.py [--seconds 2]``. Prints numbers; asserts
nothing (CONTRIBUTING: performance is measured, never asserted). As a weak in-process peer it
also times the stdlib ``email`` header parser on the same bytes (it only splits RFC 5322 header
lines: no URI, Via or name-addr parsing), to give the ratio a reference point.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import time
from collections.abc import Callable

from harness.sip.message import parse_message, serialize

SDP = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.10\r\n"
    b"t=0 0\r\n"
    b"m=audio 49170 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=sendrecv\r\n"
)

INVITE = (
    b"INVITE sip:20200@01234abc.smart-pbx.jp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:20201@01234abc.smart-pbx.jp>;tag=9fxced76sl\r\n'
    b"To: <sip:20200@01234abc.smart-pbx.jp>\r\n"
    b"Call-ID: 3848276298220188511@192.0.2.10\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:20201@192.0.2.10:5060;transport=udp>\r\n"
    b"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n"
    b"Supported: replaces, timer\r\n"
    b"User-Agent: smartpbx-harness\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n"
    b"\r\n" + SDP
)


def rate(label: str, fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds``; printed with ``label``."""
    fn()
    count = 0
    batch = 200
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            fn()
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            break
    per_second = count / (now - start)
    print(f"{label:<44} {per_second:>12,.0f} /s   ({1e6 / per_second:.1f} µs each)")
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    message = parse_message(INVITE)
    assert parse_message(serialize(message)) == message
    print(f"typical INVITE with SDP: {len(INVITE)} bytes, {len(message.headers)} header fields")
    parsed = rate("harness.sip parse_message", lambda: parse_message(INVITE), args.seconds)
    rate("harness.sip serialize", lambda: serialize(message), args.seconds)
    head = INVITE.split(b"\r\n", 1)[1]
    email_parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    peer = rate(
        "peer: stdlib email BytesHeaderParser", lambda: email_parser.parsebytes(head), args.seconds
    )
    print(f"ratio harness.sip parse / email header parse: {parsed / peer:.2f}")
    print("goal: parse >= 50,000 /s on one core")


if __name__ == "__main__":
    main()
