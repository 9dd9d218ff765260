"""Guide loads per second: read + check every sample tenant repeatedly, print the rate.

.venv/bin/python benchmarks/guide_load.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harness.guide import load_tenant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ご利用内容"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per tenant")
    args = parser.parse_args()
    tenants = sorted(p for p in FIXTURES.iterdir() if (p / "ご利用内容.yaml").exists())
    for folder in tenants:
        tenant = load_tenant(folder)
        count = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < args.seconds:
            load_tenant(folder)
            count += 1
        print(
            f"{folder.name:>10}: {len(tenant.extensions):3d} extensions, "
            f"{count / elapsed:8.1f} loads/s ({1000 * elapsed / count:.2f} ms/load)"
        )


if __name__ == "__main__":
    main()
