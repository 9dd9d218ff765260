"""Timing precision of the behaviour checks: how late the observed events are, and how much
the events of one call differ in lateness once the call's own set-up (the anchor: its first
paired event) is taken off (docs/suite-timelines.md "Timer faults").

Reads every "timeline diff.txt" attachment of a run's Allure results (written by
``harness.flows.calls.check``: one per call, each row's Δ = observed − model, simulated
seconds) and prints, in real seconds (Δ × time scale): the lateness of every paired event and
the drift of every event after a call's first from that call's anchor — median, p95, max —
with the load average. Either runs the suite first or reads a finished run:

    .venv/bin/python benchmarks/bench_timing.py --guide fixtures/ご利用内容/sample --time-scale 0.1
    .venv/bin/python benchmarks/bench_timing.py --results reports/allure-results --time-scale 0.01
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

#: A diff row's Δ column and verdict: "… +0.34  ok" / "… -23.76  ✗ …".
_ROW = re.compile(r"\s(?P<delta>[+-]\d+\.\d\d)\s+(?:ok|✗)")


def call_deltas(results: Path) -> list[list[float]]:
    """Per call (one diff attachment), the Δ of each paired row in the diff's order (the
    model's order: the first is the anchor)."""
    calls: list[list[float]] = []
    for path in sorted(results.glob("*-attachment.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if not text.startswith("timelines "):
            continue
        deltas = [float(m["delta"]) for line in text.splitlines() if (m := _ROW.search(line))]
        if deltas:
            calls.append(deltas)
    return calls


def quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"n={len(values)} median {statistics.median(ordered) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms, "
        f"min {ordered[0] * 1000:.0f} ms"
    )


def report(results: Path, scale: float) -> None:
    calls = call_deltas(results)
    lateness = [d * scale for deltas in calls for d in deltas]
    anchors = [deltas[0] * scale for deltas in calls]
    drift = [(d - deltas[0]) * scale for deltas in calls for d in deltas[1:]]
    print(f"{len(calls)} calls at time scale {scale:g} ({results})")
    print(f"  lateness of every event (real):        {quantiles(lateness)}")
    print(f"  anchor (first event's lateness, real): {quantiles(anchors)}")
    print(f"  |drift| from the anchor (real):        {quantiles([abs(d) for d in drift])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guide", action="append", default=[], help="tenant folder to run")
    parser.add_argument("--results", help="an allure-results folder of a finished run instead")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("-n", dest="workers", default=None, help="pytest-xdist workers")
    args = parser.parse_args()
    print("load average before:", Path("/proc/loadavg").read_text().strip())
    if args.results:
        report(Path(args.results), args.time_scale)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-timing-") as scratch:
        command = [sys.executable, "-m", "harness.cli", "run", "--reports", scratch]
        command += [a for g in args.guide for a in ("--guide", g)]
        command += ["--time-scale", str(args.time_scale)]
        if args.workers:
            command += ["-n", args.workers]
        command += ["--", "-k", "test_check"]
        code = subprocess.run(command, stdout=subprocess.DEVNULL, check=False).returncode
        print("load average after:", Path("/proc/loadavg").read_text().strip())
        print(f"suite exit {code}")
        report(Path(scratch) / "allure-results", args.time_scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
