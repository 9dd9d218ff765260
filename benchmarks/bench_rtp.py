"""Concurrent two-way RTP calls one process sustains (``harness.sip.media``) at < 1 % loss and
< 20 ms jitter: N calls = 2N ``MediaSession``s on one asyncio loop, each sending 20 ms G.711
of its tone to its partner, for ``--seconds`` real seconds per step; N grows until a step
breaks a bound (or ``--max`` is reached). Steps double: the figure is a lower bound within a
factor of two.

Only the media engine is measured (no SIP: offer/answer is done in memory with the same
``sdp.offer`` / ``answer`` / ``negotiate`` the phones use). Per step: the worst and the mean
loss and jitter over the 2N received streams, packets per second in all, and how many streams
heard their partner at the end. The load average is printed: on the shared machine the numbers
move with it. Usage:
``.venv/bin/python benchmarks/bench_rtp.py [--seconds 3] [--start 25] [--max 800] [--loop uvloop]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

from harness.sip import sdp
from harness.sip.media import PTIME, MediaReport, MediaSession

LOSS_BOUND = 0.01
JITTER_BOUND_MS = 20.0
#: A loop that cannot keep up skips ticks rather than sending late (no sequence gap, so no
#: "loss"): every sender must also have sent this share of its 20 ms ticks.
RATE_BOUND = 0.95


@dataclass(frozen=True, kw_only=True)
class Step:
    calls: int
    worst_loss: float
    mean_loss: float
    worst_jitter_ms: float
    mean_jitter_ms: float
    packets_per_second: float
    worst_rate: float  # the slowest sender's packets over the 20 ms ticks it was running
    heard: int
    streams: int

    @property
    def sustained(self) -> bool:
        return (
            self.worst_loss < LOSS_BOUND
            and self.worst_jitter_ms < JITTER_BOUND_MS
            and self.heard == self.streams
            and self.worst_rate >= RATE_BOUND
        )

    def __str__(self) -> str:
        verdict = "sustained" if self.sustained else "NOT sustained"
        return (
            f"{self.calls:5d} calls: loss worst {100 * self.worst_loss:.2f} % mean "
            f"{100 * self.mean_loss:.3f} %, jitter worst {self.worst_jitter_ms:.1f} ms mean "
            f"{self.mean_jitter_ms:.2f} ms, {self.packets_per_second:,.0f} packets/s received "
            f"slowest sender at {100 * self.worst_rate:.0f} % of the paced rate, "
            f"{self.heard}/{self.streams} streams hear their partner — {verdict}"
        )


async def _pair(
    index: int,
) -> tuple[MediaSession, MediaSession, sdp.Negotiated | None, sdp.Negotiated | None]:
    a = await MediaSession.open(name=f"bench-a{index}")
    b = await MediaSession.open(name=f"bench-b{index}")
    # As the phones do: rtcp-mux, so each session also sends a receiver report every 0.5 s.
    offer = sdp.offer(session_id=index, version=1, address="127.0.0.1", port=a.port, rtcp_mux=True)
    answer = sdp.answer(
        offer, session_id=index, version=1, address="127.0.0.1", port=b.port, rtcp_mux=True
    )
    return a, b, sdp.negotiate(offer, answer), sdp.negotiate(answer, offer)


async def step(calls: int, seconds: float) -> tuple[Step, float]:
    """One step: every socket bound first, then all calls started at once and run for
    ``seconds``; returns the step and the process CPU seconds per real second meanwhile."""
    pairs = [await _pair(i) for i in range(calls)]
    try:
        started, cpu = time.monotonic(), time.process_time()
        for a, b, a_agreed, b_agreed in pairs:
            a.start(a_agreed)
            b.start(b_agreed)
        await asyncio.sleep(seconds)
        # The reports below run without yielding: no tick runs meanwhile, so every sender's
        # count is the one at this instant (the first tick is at +20 ms).
        ticks = (time.monotonic() - started) / PTIME - 1
        reports: list[tuple[MediaReport, str]] = []
        rates: list[float] = []
        for a, b, _, _ in pairs:
            for mine, partner in ((a, b), (b, a)):
                report = mine.report()
                reports.append((report, partner.name))
                rates.append(report.sent_packets / ticks)
        wall = time.monotonic() - started
        cpu = (time.process_time() - cpu) / wall
    finally:
        for a, b, _, _ in pairs:
            await a.close()
            await b.close()
    received = [r.received for r, _ in reports]
    packets = sum(r.packets for r in received)
    return Step(
        calls=calls,
        worst_loss=max(r.loss for r in received),
        mean_loss=sum(r.loss for r in received) / len(received),
        worst_jitter_ms=max(r.jitter_ms for r in received),
        mean_jitter_ms=sum(r.jitter_ms for r in received) / len(received),
        packets_per_second=packets / wall,
        worst_rate=min(rates),
        # By frequency (``hears``): 2N bench names share the ~56 tones, so ``heard`` names
        # several phones; the partner's tone is what matters here.
        heard=sum(1 for r, partner in reports if r.hears(partner)),
        streams=len(reports),
    ), cpu


async def ramp(start: int, most: int, seconds: float) -> int:
    best = 0
    calls = start
    while calls <= most:
        load = os.getloadavg()[0]
        result, cpu = await step(calls, seconds)
        print(f"{result} (CPU {cpu:.2f} s/s, load average {load:.2f})", flush=True)
        if not result.sustained:
            break
        best = calls
        calls *= 2
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="real seconds per step")
    parser.add_argument("--start", type=int, default=25, help="calls in the first step")
    parser.add_argument("--max", type=int, default=800, help="calls in the last step at most")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="uvloop")
    args = parser.parse_args()
    coroutine = ramp(args.start, args.max, args.seconds)
    if args.loop == "uvloop":
        import uvloop

        best = uvloop.run(coroutine)
    else:
        best = asyncio.run(coroutine)
    print(
        f"sustained: {best} concurrent two-way calls at < {100 * LOSS_BOUND:.0f} % loss and "
        f"< {JITTER_BOUND_MS:.0f} ms jitter, >= {100 * RATE_BOUND:.0f} % of the paced rate "
        f"({args.loop} loop, {args.seconds:g} s per step)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
