"""Peer baseline: SIPp against Kamailio on loopback — REGISTER-with-digest/s and calls/s at zero
failures. Later benchmarks (virtual phones, the simulator) compare their rates to these.

.venv/bin/python benchmarks/bench_kamailio_register.py [--users 2000] [--seconds 2]
    [--register-rates 250,500,…] [--call-rates 50,100,…] [--children 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness.sip.sipp import SippUser
from harness.sip.sipp_load import (
    DEFAULT_CALL_RATES,
    DEFAULT_REGISTER_RATES,
    measure_kamailio_baseline,
)

DOMAIN = "01234abc.smart-pbx.jp"


def rates(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=2000, help="digest users (CSV rows)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per ramp step")
    parser.add_argument(
        "--register-rates", type=rates, default=list(DEFAULT_REGISTER_RATES), metavar="R,R,…"
    )
    parser.add_argument(
        "--call-rates", type=rates, default=list(DEFAULT_CALL_RATES), metavar="R,R,…"
    )
    parser.add_argument("--children", type=int, default=2, help="Kamailio workers per socket")
    args = parser.parse_args()

    users = [SippUser(user=f"u{i:05d}", password=f"pw{i:05d}") for i in range(args.users)]
    workdir = Path(tempfile.mkdtemp(prefix="bench-kamailio-"))
    baseline = measure_kamailio_baseline(
        domain=DOMAIN,
        users=users,
        callee=SippUser(user="callee", password="callee-pw"),
        children=args.children,
        workdir=workdir,
        register_rates=args.register_rates,
        call_rates=args.call_rates,
        seconds_per_step=args.seconds,
    )
    print(baseline.summary())
    print(
        f"Kamailio baseline ({args.users} users, {args.children} workers): "
        f"{baseline.register.best_rate:.0f} registrations/s, "
        f"{baseline.calls.best_rate:.0f} calls/s at 0 failures (evidence: {workdir})"
    )


if __name__ == "__main__":
    main()
