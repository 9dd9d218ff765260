"""The suite N times in a row per tenant at the default time scale (issue 11 item 7: 20 runs
without a failure); prints each run's exit code and wall time, and the failing checks of a
run that did not pass (a flake is a bug). Exit 1 when any run failed::

    .venv/bin/python benchmarks/repeat_suite.py [--runs 20] [--guide DIR]… [-n N] [--keep DIR]

``--keep DIR``: the reports of each run that did not pass are copied to DIR/<tenant>-<run>
(its compliance matrix names each failing check; results.json and the Allure results hold
both timelines side by side), with the load average when it ended in ``load.txt``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUNDLED = Path(__file__).resolve().parents[1] / "fixtures" / "ご利用内容"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--guide", type=Path, action="append", default=[])
    parser.add_argument("-n", dest="workers", default=None)
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()
    guides = args.guide or [BUNDLED / "sample", BUNDLED / "multisite"]
    harness = str(Path(sys.executable).with_name("smartpbx-harness"))
    bad = 0
    for guide in guides:
        for number in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory(prefix="repeat-suite-") as tmp:
                command = [harness, "run", "--guide", str(guide), "--reports", tmp]
                if args.workers:
                    command += ["-n", args.workers]
                started = time.monotonic()
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                wall = time.monotonic() - started
                if done.returncode != 0 and args.keep is not None:
                    kept = args.keep / f"{guide.name}-{number}"
                    shutil.copytree(tmp, kept, dirs_exist_ok=True)
                    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
                    (kept / "load.txt").write_text(f"{load}\n{done.stdout}", encoding="utf-8")
            failing = [line for line in done.stdout.splitlines() if line.startswith("  failed")]
            print(f"{guide.name} run {number:2}: exit {done.returncode} {wall:6.1f} s", flush=True)
            for line in failing:
                print("   ", line, flush=True)
            bad += done.returncode != 0
    print(f"{bad} of {args.runs * len(guides)} runs did not pass")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
