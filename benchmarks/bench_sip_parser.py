"""SIP parser throughput: messages/second for a typical INVITE with SDP, parse and serialize.

Run: ``.venv/bin/python benchmarks/bench_sip_parser.py [--seconds 2]``. Prints numbers; asserts
nothing (performance is measured, never asserted). The headline is ``parse_message`` on
distinct calls (new branch, tag, Call-ID and CSeq each time, so memo caches do not help for
those; the Allow/Supported lines, To, Contact and Request-URI recur, as between one phone's calls),
against the goal of 50,000/s on one core (issue 3, part 7). ``parse_message`` validates every
header later layers rely on but builds the typed values (``Via``, ``NameAddr``, ``CSeq``) on
first access, so a second line times parsing plus reading what a transaction and dialog layer
read from every message. As a weak in-process peer it also times the stdlib ``email`` header
parser on the same bytes (it only splits RFC 5322 header lines: no URI, Via or name-addr
parsing), to give the ratio a reference point.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import itertools
import time
from collections.abc import Callable

from harness.sip.message import Message, parse_message, serialize

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


def distinct_invites(count: int) -> list[bytes]:
    """``count`` INVITEs differing in branch, From tag, Call-ID and CSeq, as new calls do:
    they defeat the parser's memo of Via and From values (To, Contact, URI and the
    Allow/Supported lines, memoised when split, still recur)."""
    out = []
    for n in range(count):
        data = INVITE.replace(b"z9hG4bK74bf9", b"z9hG4bK%08x" % n)
        data = data.replace(b"tag=9fxced76sl", b"tag=%010x" % (n * 7919))
        data = data.replace(b"3848276298220188511@", b"%019d@" % (n * 104729))
        out.append(data.replace(b"CSeq: 1 INVITE", b"CSeq: %d INVITE" % (n + 1)))
    return out


def rate(label: str, fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn``, printed with ``label``.

    The machine is shared, so wall time measures the neighbours as much as the code: each
    batch is timed in CPU time of this process (``time.process_time``) and the best batch is
    reported (as ``timeit`` does), beside the median batch and the wall-clock rate.
    """
    fn()
    batch = 500
    per_batch: list[float] = []
    calls = 0
    wall_start = time.perf_counter()
    deadline = wall_start + seconds
    while time.perf_counter() < deadline or len(per_batch) < 5:
        cpu_start = time.process_time()
        for _ in range(batch):
            fn()
        per_batch.append(time.process_time() - cpu_start)
        calls += batch
    wall = time.perf_counter() - wall_start
    per_batch.sort()
    best = batch / max(per_batch[0], 1e-9)
    median = batch / max(per_batch[len(per_batch) // 2], 1e-9)
    print(
        f"{label:<40} best {best:>9,.0f}/s ({1e6 / best:5.1f} µs)  "
        f"median {median:>9,.0f}/s  wall {calls / wall:>9,.0f}/s"
    )
    return best


def read_routing_values(message: Message) -> object:
    """What the transaction and dialog layers read from every message."""
    h = message.headers
    return h.via.branch, h.from_.tag, h.to.tag, h.cseq.number, h.call_id, h.contact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    message = parse_message(INVITE)
    assert parse_message(serialize(message)) == message
    print(f"typical INVITE with SDP: {len(INVITE)} bytes, {len(message.headers)} header fields")
    fresh = itertools.cycle(distinct_invites(20_000))
    distinct = rate(
        "harness.sip parse_message (distinct calls)",
        lambda: parse_message(next(fresh)),
        args.seconds,
    )
    fresh_read = itertools.cycle(distinct_invites(20_000))
    read = rate(
        "  + read Via/From/To/CSeq/Call-ID/Contact",
        lambda: read_routing_values(parse_message(next(fresh_read))),
        args.seconds,
    )
    parsed = rate(
        "harness.sip parse_message (same INVITE)", lambda: parse_message(INVITE), args.seconds
    )
    rate("harness.sip serialize", lambda: serialize(message), args.seconds)
    head = INVITE.split(b"\r\n", 1)[1]
    email_parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    peer = rate(
        "peer: stdlib email BytesHeaderParser", lambda: email_parser.parsebytes(head), args.seconds
    )
    print(f"ratio harness.sip parse / email header parse: {parsed / peer:.2f}")
    print()
    print(f"PARSE RATE, DISTINCT CALLS: {distinct:,.0f} messages/s on one core (CPU time)")
    print(f"  with the routing values read: {read:,.0f} /s; same INVITE repeated: {parsed:,.0f} /s")
    verdict = "reached" if distinct >= 50_000 else "NOT reached"
    print(f"  goal >= 50,000 /s for distinct calls: {verdict}")


if __name__ == "__main__":
    main()
