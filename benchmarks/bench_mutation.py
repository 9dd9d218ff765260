"""Wall time of ``smartpbx-harness mutation`` for every fault (or those named), serially
(``-j 1``) and with ``-j 2``, with the load average before and after each, and the kill table
of the last run (docs/mutation.md).

    .venv/bin/python benchmarks/bench_mutation.py [--jobs 1 2] [--fault NAME]… [--guide DIR]…
        [--time-scale 0.2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])


def run(jobs: int, args: argparse.Namespace, reports: Path) -> tuple[float, dict[str, object]]:
    command = [sys.executable, "-m", "harness.cli", "mutation", "--json", "-j", str(jobs)]
    command += ["--reports", str(reports), "--time-scale", str(args.time_scale)]
    command += [a for f in args.fault for a in ("--fault", f)]
    command += [a for g in args.guide for a in ("--guide", g)]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    try:
        report: dict[str, object] = json.loads(done.stdout)
    except ValueError:
        print(done.stderr[-3000:], file=sys.stderr)
        report = {}
    print(f"  exit {done.returncode}")
    return seconds, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--guide", action="append", default=[])
    parser.add_argument("--time-scale", type=float, default=0.2)
    args = parser.parse_args()
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mutation-") as scratch:
        for jobs in args.jobs:
            before = loadavg()
            seconds, report = run(jobs, args, Path(scratch) / f"j{jobs}")
            print(
                f"mutation -j {jobs}: {seconds:.0f} s wall for {report.get('total', '?')} "
                f"faults, {report.get('caught', '?')} caught (load average before {before}, "
                f"after {loadavg()})",
                flush=True,
            )
    faults = report.get("faults")
    if isinstance(faults, list):
        print("\n| fault | caught | by (first) | s |\n|---|---|---|---|")
        for f in faults:
            by = f["by"][:1] + ([f"+{len(f['by']) - 1}"] if len(f["by"]) > 1 else [])
            print(f"| `{f['name']}` | {'yes' if f['caught'] else '**no**'} | "
                  f"{', '.join(by) or '—'} | {f['seconds']:.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
