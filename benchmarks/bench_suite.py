"""Wall time of the conformance suite per tenant, serially and with ``-n 2`` (issue 11 item 7).

For each tenant folder (default: every bundled tenant; ``large`` is the richest) this runs
``smartpbx-harness run --guide DIR --reports TMP [-n 2]`` and prints the wall time and where it
went, read from the run's JUnit XML (per-test call durations, set-up excluded):

- **browser**: the web flows (P.2 administrator, P.6 端末ユーザ: tests ``test_flow[*/p2-*]`` and
  ``test_flow[*/p6-*]``);
- **SIP**: the app flows (P.3–P.5, P.7) and the behaviour checks minus their scaled waiting;
- **waiting on scaled timers**: the sum over the tenant's checks of the model's predicted
  horizon (its last event, simulated s) × the time scale — time no faster SIP could save.

Goal: under 60 s per tenant on 2 cores after set-up. Run from the project root after
``make setup``::

    .venv/bin/python benchmarks/bench_suite.py [--guide DIR]… [--workers 1 2] [--time-scale S]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.model import predict
from harness.suite.plan import DEFAULT_TIME_SCALE, bundled_guides, load_tenants

WEB_FLOWS = ("/p2-", "/p6-")


def waiting(guide: Path, scale: float) -> float:
    """Real seconds the tenant's checks must wait for the model's own timers."""
    (tenant,) = load_tenants([guide])
    total = 0.0
    for check in tenant.checks:
        events = predict(tenant.tenant, check.scenario).events
        total += max((e.t for e in events), default=0.0) * scale
    return total


def shares(junit: Path) -> tuple[float, float, int, int]:
    """(browser s, SIP-and-rest s, failures, tests) from the run's JUnit XML."""
    browser = other = 0.0
    failures = tests = 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        tests += 1
        seconds = float(case.get("time", "0"))
        name = case.get("name", "")
        if name.startswith("test_flow[") and any(m in name for m in WEB_FLOWS):
            browser += seconds
        else:
            other += seconds
        failures += sum(1 for _ in case.iter("failure")) + sum(1 for _ in case.iter("error"))
    return browser, other, failures, tests


def run(guide: Path, workers: int, scale: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        command = [
            str(Path(sys.executable).with_name("smartpbx-harness")),
            "run",
            "--guide",
            str(guide),
            "--reports",
            tmp,
            "--time-scale",
            str(scale),
        ]
        if workers > 1:
            command += ["-n", str(workers)]
        started = time.monotonic()
        code = subprocess.run(command, capture_output=True, check=False).returncode
        wall = time.monotonic() - started
        browser, other, failures, tests = shares(Path(tmp) / "junit.xml")
    wait = waiting(guide, scale)
    sip = max(other - wait, 0.0)
    busy = browser + other or 1.0
    print(
        f"{guide.name:16} -n {workers}  wall {wall:6.1f} s  exit {code}  tests {tests:4} "
        f"failed {failures:3}  browser {browser:6.1f} s ({100 * browser / busy:3.0f} %)  "
        f"SIP {sip:6.1f} s ({100 * sip / busy:3.0f} %)  timers {wait:6.1f} s "
        f"({100 * wait / busy:3.0f} %)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guide", type=Path, action="append", default=[])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE)
    args = parser.parse_args()
    for guide in args.guide or list(bundled_guides()):
        for workers in args.workers:
            run(guide, workers, args.time_scale)


if __name__ == "__main__":
    main()
