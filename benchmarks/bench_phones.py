"""Virtual phones against Kamailio: registrations per second beside SIPp's, and memory per phone.

Run: ``.venv/bin/python benchmarks/bench_phones.py [--phones 500] [--memory-phones 1000]``.
Prints numbers; asserts nothing (performance is measured, never asserted).

1. One Kamailio (Debian package, loopback free port) with every user in its htable.
2. ``--phones`` virtual phones in this process register concurrently (each REGISTER answers a
   401 digest challenge, so two transactions per registration): registrations/second.
3. SIPp's ``register`` scenario against the same Kamailio in the same run, by the peers
   branch's rate ramp (``harness.sip.sipp_load.measure_register_rate``): the best rate held
   with zero failures (SIPp's own clock). Ratio phones / SIPp.
4. ``--memory-phones`` phones opened and registered in this process: RSS growth per phone
   (goal: 1,000 phones under 200 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from harness.clock import ScaledClock
from harness.sip.app import AccountSettings, AppProfile, Platform, RegistrationState
from harness.sip.peers.kamailio import Kamailio
from harness.sip.phone import VirtualPhone
from harness.sip.resolver import Resolver
from harness.sip.sipp import SippUser
from harness.sip.sipp_load import RateMeasurement, measure_register_rate
from harness.sip.transport import Address

DOMAIN = "01234abc.smart-pbx.jp"


def rss_kib() -> int:
    """Resident set size of this process (Linux /proc), KiB."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def user(i: int) -> str:
    return f"bench{i:05d}"


async def open_phones(count: int, resolver: Resolver, *, offset: int = 0) -> list[VirtualPhone]:
    clock = ScaledClock(1.0)
    return [
        await VirtualPhone.open(
            name=user(offset + i),
            profile=AppProfile(
                platform=Platform.ANDROID,
                account=AccountSettings(
                    user_id=user(offset + i), password="Password1", sip_server=DOMAIN
                ),
            ),
            resolver=resolver,
            clock=clock,
        )
        for i in range(count)
    ]


async def register_all(phones: list[VirtualPhone], concurrency: int) -> float:
    """Register every phone, at most ``concurrency`` at a time; returns seconds taken."""
    gate = asyncio.Semaphore(concurrency)

    async def one(phone: VirtualPhone) -> RegistrationState:
        async with gate:
            return await phone.register()

    started = time.perf_counter()
    states = await asyncio.gather(*(one(p) for p in phones))
    elapsed = time.perf_counter() - started
    failed = [
        p.name for p, s in zip(phones, states, strict=True) if s is not RegistrationState.REGISTERED
    ]
    if failed:
        raise SystemExit(f"{len(failed)} phones did not register, e.g. {failed[:3]}")
    return elapsed


async def close_all(phones: list[VirtualPhone]) -> None:
    for phone in phones:
        await phone.close(unregister=False)


async def phone_rate(count: int, resolver: Resolver, concurrency: int) -> float:
    phones = await open_phones(count, resolver)
    try:
        elapsed = await register_all(phones, concurrency)
    finally:
        await close_all(phones)
    return count / elapsed


async def memory_per_phone(count: int, resolver: Resolver, concurrency: int) -> tuple[int, int]:
    """RSS before and after opening and registering ``count`` phones (KiB)."""
    # Warm up imports and allocator pools with one phone so the delta is per phone.
    warm = await open_phones(1, resolver, offset=count)
    await register_all(warm, 1)
    before = rss_kib()
    phones = await open_phones(count, resolver)
    try:
        await register_all(phones, concurrency)
        after = rss_kib()
    finally:
        await close_all(phones + warm)
    return before, after


def sipp_rate(server: Kamailio, count: int, workdir: Path, seconds: float) -> RateMeasurement:
    """SIPp's REGISTER-with-digest rate at zero failures against ``server`` (the peers
    branch's ramp, ``harness.sip.sipp_load.measure_register_rate``)."""
    return measure_register_rate(
        target=(server.host, server.port),
        domain=DOMAIN,
        users=[SippUser(user=user(i), password="Password1") for i in range(count)],
        seconds_per_step=seconds,
        workdir=workdir,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=500, help="phones for the rate (500)")
    parser.add_argument(
        "--memory-phones", type=int, default=1000, help="phones for the memory figure (1000)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=100, help="registrations in flight at once (100)"
    )
    parser.add_argument(
        "--sipp-seconds", type=float, default=2.0, help="seconds per SIPp ramp step (2)"
    )
    args = parser.parse_args(argv)
    total = max(args.phones, args.memory_phones) + 1
    users = {user(i): "Password1" for i in range(total)}
    with tempfile.TemporaryDirectory(prefix="bench-phones-") as tmp:
        work = Path(tmp)
        with Kamailio(sip_domain=DOMAIN, users=users, workdir=work / "kamailio") as server:
            resolver = Resolver(entries={DOMAIN: Address(host=server.host, port=server.port)})
            phones_per_s = asyncio.run(phone_rate(args.phones, resolver, args.concurrency))
            sipp = sipp_rate(server, total, work / "sipp", args.sipp_seconds)
            before, after = asyncio.run(
                memory_per_phone(args.memory_phones, resolver, args.concurrency)
            )
    print(f"Kamailio registrar, {args.phones} users, digest MD5 qop=auth (401 then 200)")
    print(
        f"  virtual phones: {phones_per_s:10.0f} registrations/s (concurrency {args.concurrency})"
    )
    sipp_per_s = sipp.best_rate
    print(f"  SIPp register : {sipp_per_s:10.0f} registrations/s (best ramp step, 0 failures)")
    if sipp_per_s:
        print(f"  ratio phones/SIPp: {phones_per_s / sipp_per_s:.2f}")
    print("  " + sipp.summary().replace("\n", "\n  "))
    delta = after - before
    print(
        f"memory: {args.memory_phones} registered phones: RSS {before / 1024:.1f} → "
        f"{after / 1024:.1f} MiB, +{delta / 1024:.1f} MiB, "
        f"{delta / args.memory_phones:.1f} KiB per phone"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
