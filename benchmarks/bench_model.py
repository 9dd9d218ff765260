"""Reference-model throughput: predictions per second, and guide loads per second.

    .venv/bin/python benchmarks/bench_model.py [--seconds 2] [--tenant DIR]

Uses the richest sample tenant (most extensions, then most settings) under fixtures/ご利用内容/
unless --tenant is given, and a mix of scenarios over it: every extension called internally and
by bare 端末番号, every 外線番号 called from outside, every pilot, outbound and 184 calls, with
answering, busy and unregistered endpoints and a pickup — plus the tenant's scenarios/*.yaml.
Goal (issue 2): ≥ 20,000 predictions/s. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from harness.guide import Tenant, load_tenant
from harness.model import EndpointBehaviour, EndpointState, Pickup, Scenario, load_scenario, predict

T = TypeVar("T")
FIXTURES = Path(__file__).parents[1] / "fixtures" / "ご利用内容"
OUTSIDE = "09099998888"


def richest_tenant() -> Path:
    def size(folder: Path) -> tuple[int, int]:
        tenant = load_tenant(folder)
        settings = tenant.settings
        richness = len(settings.ring_groups) + len(settings.absence) + len(settings.inbound_routes)
        return len(tenant.guide.terminals), richness

    folders = [p for p in FIXTURES.iterdir() if p.is_dir() and p.name != "broken"]
    return max(sorted(folders), key=size)


def scenario_mix(tenant: Tenant, folder: Path) -> list[Scenario]:
    terminals = tenant.guide.terminals
    extensions = [t.extension for t in terminals]
    lines = [line.external_number for line in tenant.guide.external_lines]
    behaviours = [
        {},
        {"answer": EndpointBehaviour(answer_after=7)},
        {"busy": EndpointBehaviour(state=EndpointState.BUSY)},
        {"gone": EndpointBehaviour(state=EndpointState.UNREGISTERED)},
    ]
    mix: list[Scenario] = []
    for index, (terminal, kind) in enumerate(zip(terminals, itertools.cycle(behaviours))):
        caller = extensions[(index + 1) % len(extensions)]
        label, behaviour = next(iter(kind.items()), ("", EndpointBehaviour()))
        endpoints = {terminal.extension: behaviour} if label else {}
        mix.append(Scenario(caller=caller, dialled=terminal.extension, endpoints=endpoints))
        mix.append(Scenario(caller=caller, dialled=terminal.terminal_number))
        mix.append(Scenario(caller=terminal.extension, dialled="09011112222"))
        mix.append(Scenario(caller=terminal.extension, dialled="18409011112222"))
    for group in tenant.settings.ring_groups:
        if group.pilot is not None:
            mix.append(Scenario(caller=OUTSIDE, dialled=group.pilot))
            mix.append(
                Scenario(
                    caller=extensions[0],
                    dialled=group.pilot,
                    endpoints={group.members[-1]: EndpointBehaviour(answer_after=12)},
                )
            )
        else:
            mix.append(
                Scenario(
                    caller=OUTSIDE,
                    dialled=lines[0] if lines else group.members[0],
                    pickups=(Pickup(by=group.members[0], at=3),),
                )
            )
    for line in lines:
        mix.append(Scenario(caller=OUTSIDE, dialled=line))
        mix.append(Scenario(caller=OUTSIDE, dialled="184" + line))
    mix.extend(load_scenario(p) for p in sorted((folder / "scenarios").glob("*.yaml")))
    return mix


def rate(seconds: float, work: Sequence[T], step: Callable[[T], object]) -> tuple[int, float]:
    """Run ``step`` over ``work`` repeatedly for ``seconds``: (calls, elapsed)."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for item in work:
            step(item)
        count += len(work)
    return count, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--tenant", type=Path, help="tenant folder (default: the richest)")
    args = parser.parse_args()
    folder = args.tenant or richest_tenant()
    tenant = load_tenant(folder)
    mix = scenario_mix(tenant, folder)
    print(
        f"tenant {tenant.name}: {len(tenant.guide.terminals)} extensions, "
        f"{len(tenant.settings.ring_groups)} groups, {len(tenant.settings.absence)} absence "
        f"settings; {len(mix)} scenarios in the mix"
    )
    count, elapsed = rate(args.seconds, mix, lambda s: predict(tenant, s))
    print(f"predict: {count / elapsed:,.0f} predictions/s ({count:,} in {elapsed:.2f} s)")
    print("  goal (issue 2): ≥ 20,000 predictions/s")
    count, elapsed = rate(args.seconds, [folder], load_tenant)
    print(f"load_tenant: {count / elapsed:,.0f} guide loads/s ({count:,} in {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
