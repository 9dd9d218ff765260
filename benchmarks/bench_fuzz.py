"""Live differential examples per second (``smartpbx-harness fuzz``) at the default time scale
(0.01), serial (one process) and with 2 processes (each its own simulator and phones).

Each process runs ``smartpbx-harness fuzz --examples N --seed S`` and prints its summary; the
figure is all examples over the wall time (process start-up and the simulator's start
included). Usage: ``python benchmarks/bench_fuzz.py [--examples N]``. The load average is
printed beside the numbers: on the shared machine they move with it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_RUN = re.compile(r"examples run: (\d+) in ([\d.]+) s")


def _fuzz(examples: int, seed: int, out: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "harness.cli", "fuzz", "--examples", str(examples)]
    command += ["--seed", str(seed), "--out", str(out)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def measure(processes: int, examples: int) -> tuple[int, float, float]:
    """(examples run, wall seconds, seconds inside the property) over ``processes``."""
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as scratch:
        started = time.monotonic()
        running = [_fuzz(examples, 100 + i, Path(scratch) / str(i)) for i in range(processes)]
        outputs = [p.communicate()[0] for p in running]
        wall = time.monotonic() - started
    total, inside = 0, 0.0
    for code, output in zip((p.returncode for p in running), outputs, strict=True):
        match = _RUN.search(output)
        if code not in (0, 1) or match is None:
            raise SystemExit(f"fuzz failed ({code}):\n{output}")
        total += int(match.group(1))
        inside = max(inside, float(match.group(2)))
    return total, wall, inside


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=30, help="examples per process")
    args = parser.parse_args()
    for processes in (1, 2):
        load = os.getloadavg()[0]
        total, wall, inside = measure(processes, args.examples)
        print(
            f"{processes} process(es): {total} examples in {wall:.1f} s wall = "
            f"{total / wall:.2f}/s ({total / inside:.2f}/s inside the property; "
            f"load average {load:.2f} at start)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
