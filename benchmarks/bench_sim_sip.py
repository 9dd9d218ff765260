"""The simulator's SIP side under SIPp load, against Kamailio in the same run (issue 4 part 8).

Measures, at zero failures (``harness.sip.sipp_load`` ramps):

- REGISTER-with-digest per second (SIPp ``register``: 401 → REGISTER with digest → 200),
- calls per second, INVITE→(407 digest)→200→ACK→BYE from a tenant terminal through the PBX to
  a SIPp UAS registered as the extensions of a 順次着信 group (the PBX hands each call to the
  first idle member: one terminal is busy while it is in a call, DOMAIN.md), dialled by its
  代表番号,

against the simulator subprocess (``smartpbx-harness serve`` on a generated tenant) and against
Kamailio (2 workers, same users; its configuration asks no proxy digest of callers, so its
calls come from an outside caller to a SIPp UAS registered as one user), and prints both
numbers and the ratio. ``--soak SECONDS`` then keeps ``--phones`` terminals registered
(refreshing each once a minute) with steady calls and samples the simulator's RSS every
``--sample`` seconds, printing whether it grows.

    .venv/bin/python benchmarks/bench_sim_sip.py [--seconds 5] [--soak 20] [--phones 1000]
        [--soak-calls 20] [--skip-kamailio]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sim.pbx.registrar import RegistrarParams
from harness.sip.peers.kamailio import Kamailio
from harness.sip.sipp import Sipp, SippResult, SippStats, SippUser
from harness.sip.sipp_load import (
    DEFAULT_CALL_RATES,
    DEFAULT_REGISTER_RATES,
    RateMeasurement,
    cpu_seconds,
    measure_register_rate,
    ramp,
)

DOMAIN = "07777sip.smart-pbx.jp"
SITE = "2"
PILOT = "20000"
CALLER = "29999"
NONCE_LIFETIME = RegistrarParams().nonce_lifetime  # the nonce table fills this long
MEMBERS = 60  # ≥ simultaneous calls at the highest call rate (each lasts a few ms)


def terminal_id(extension: str) -> str:
    return f"t{extension}"


def password(extension: str) -> str:
    return f"Pw{extension}x"


def user(extension: str) -> SippUser:
    return SippUser(user=terminal_id(extension), password=password(extension))


def write_tenant(folder: Path, *, phones: int) -> tuple[list[str], list[str]]:
    """A tenant with the pilot, the caller, the group's members and ``phones`` load terminals;
    returns (member extensions, load extensions)."""
    members = [f"{SITE}{n:04d}" for n in range(1, MEMBERS + 1)]
    load = [f"{SITE}{n:04d}" for n in range(1000, 1000 + phones)]
    if len(load) > 8999:
        raise SystemExit("--phones: at most 8999 (4-digit 端末番号 from 1000)")
    rows = []
    for no, extension in enumerate([PILOT, CALLER, *members, *load], start=1):
        rows.append(
            f'  - {{No: {no}, 拠点番号: "{SITE}", 端末番号: "{extension[1:]}", '
            f"端末ID: {terminal_id(extension)}, パスワード: {password(extension)}, "
            "端末種別: ソフトフォン}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ご利用内容.yaml").write_text(
        "お客様情報:\n  ご注文内容: 新設\n"
        f"  内線サーバアドレス: {DOMAIN}\n"
        "管理者アカウント: {ログインID: adm07777sip, パスワード: Adm1nPass77}\n"
        "内線番号情報1:\n" + "\n".join(rows) + "\n"
        "内線番号情報2:\n"
        f'  - {{No: 1, 拠点番号: "{SITE}", 端末番号: "{CALLER[1:]}", '
        "ログインID: user29999, パスワード: userpass999}\n"
        "外線番号情報:\n"
        '  - {No: 1, 外線番号: "0377770000", 種別: IP Voice for SmartPBX}\n',
        encoding="utf-8",
    )
    quoted = ", ".join(f'"{m}"' for m in members)
    (folder / "設定.yaml").write_text(
        f'着信グループ:\n  - {{種別: 順次着信, 代表番号: "{PILOT}", メンバー: [{quoted}]}}\n',
        encoding="utf-8",
    )
    return members, load


def register_all(
    sim: SimulatorHandle, users: Sequence[SippUser], *, contact: str | None, workdir: Path
) -> SippResult:
    assert sim.sip_port is not None
    return Sipp(
        "register",
        remote=("127.0.0.1", sim.sip_port),
        domain=DOMAIN,
        users=users,
        contact=contact,
        calls=len(users),
        rate=200.0,
        limit=50,
        timeout_s=len(users) / 100 + 30,
        workdir=workdir,
    ).run()


def calls_step(
    target: tuple[str, int],
    *,
    rate: float,
    calls: int,
    seconds: float,
    workdir: Path,
    service: str = PILOT,
    caller: SippUser | None = None,
) -> Sipp:
    """One SIPp UAC run: ``uac_auth`` as ``caller`` (a tenant terminal), or plain ``uac``."""
    return Sipp(
        "uac" if caller is None else "uac_auth",
        remote=target,
        domain=DOMAIN,
        service=service,
        users=[caller] if caller is not None else (),
        rate=rate,
        calls=calls,
        limit=max(50, round(rate)),
        timeout_s=seconds * 4 + 10,
        workdir=workdir,
    )


def measure_calls(
    target: tuple[str, int],
    callees: Sequence[SippUser],
    *,
    service: str,
    caller: SippUser | None,
    rates: Sequence[float],
    seconds: float,
    base: Path,
    cpu_of: Callable[[], float],
) -> tuple[RateMeasurement, Sipp]:
    """The call ramp to a SIPp UAS registered as ``callees``; returns it and the UAS (still
    running, for the soak; the caller closes it)."""
    uas = Sipp("uas", workdir=base / "uas", timeout_s=None).start()
    registered = Sipp(
        "register",
        remote=target,
        domain=DOMAIN,
        users=callees,
        contact=f"{uas.host}:{uas.port}",
        calls=len(callees),
        rate=200.0,
        limit=50,
        timeout_s=60,
        workdir=base / "uas-register",
    ).run()
    if not registered.ok:
        uas.close()
        raise SystemExit(f"the UAS could not register: {registered.summary()}")

    def step(rate: float, calls: int) -> SippResult:
        return calls_step(
            target,
            rate=rate,
            calls=calls,
            seconds=seconds,
            workdir=base / f"calls-{rate:g}",
            service=service,
            caller=caller,
        ).run()

    what = "calls INVITE→200→ACK→BYE" + (" (with 407 digest)" if caller else "")
    measured = ramp(what, overload_ends(step), rates=rates, seconds_per_step=seconds, cpu_of=cpu_of)
    return measured, uas


def overload_ends(step: Callable[[float, int], SippResult]) -> Callable[[float, int], SippResult]:
    """A step whose SIPp run does not finish in time (an overloaded target leaves calls
    hanging) ends the ramp as a failed step instead of aborting the benchmark."""

    def guarded(rate: float, calls: int) -> SippResult:
        try:
            return step(rate, calls)
        except HarnessError as error:
            print(f"  target {rate:6.0f}/s: SIPp did not finish ({str(error)[:80]}…)")
            nowhere = Path("/dev/null")
            stats = SippStats(
                total_calls=calls,
                successful_calls=0,
                failed_calls=calls,
                current_calls=0,
                retransmissions=0,
                elapsed_s=0.0,
                call_rate=0.0,
                response_time_1_ms=None,
                response_time_2_ms=None,
                call_length_ms=0.0,
            )
            return SippResult(
                scenario="overloaded",
                exit_status=1,
                stats=stats,
                wall_s=0.0,
                workdir=nowhere,
                stat_file=nowhere,
                error_file=nowhere,
                log_file=nowhere,
            )

    return guarded


def measure_kamailio(
    users: Sequence[SippUser],
    *,
    register_rates: Sequence[float],
    call_rates: Sequence[float],
    seconds: float,
    base: Path,
) -> tuple[RateMeasurement, RateMeasurement]:
    """Kamailio (2 workers) with the same users: registrations/s, and calls/s from an outside
    caller (no proxy digest in its configuration) to a SIPp UAS registered as ``callee``."""
    callee = SippUser(user="callee", password="callee-pw")
    secrets = {u.user: u.password for u in [*users, callee]}
    with Kamailio(sip_domain=DOMAIN, users=secrets, workdir=base / "kamailio") as kamailio:
        target = (kamailio.host, kamailio.port)
        pid = kamailio.pid
        assert pid is not None

        def cpu() -> float:
            return cpu_seconds(pid)

        registers = measure_register_rate(
            target=target,
            domain=DOMAIN,
            users=users,
            rates=register_rates,
            seconds_per_step=seconds,
            workdir=base,
            cpu_of=cpu,
        )
        calls, uas = measure_calls(
            target,
            [callee],
            service=callee.user,
            caller=None,
            rates=call_rates,
            seconds=seconds,
            base=base / "calls",
            cpu_of=cpu,
        )
        uas.close()  # killed, not asked: SIPp's UAS may ignore SIGUSR1 with calls pending
    return registers, calls


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def soak(
    sim: SimulatorHandle,
    load: list[str],
    *,
    seconds: float,
    call_rate: float,
    sample_every: float,
    base: Path,
) -> None:
    """``load`` terminals registered and refreshed once a minute, steady calls; RSS sampled."""
    users = [user(e) for e in load]
    print(f"soak: registering {len(users)} phones …", flush=True)
    first = register_all(sim, users, contact=None, workdir=base / "soak-register")
    print(f"  {first.successful_calls} registered, {first.failed_calls} failed", flush=True)
    refresh_rate = len(users) / 60.0
    assert sim.sip_port is not None
    refresh = Sipp(
        "register",
        remote=("127.0.0.1", sim.sip_port),
        domain=DOMAIN,
        users=users,
        rate=refresh_rate,
        calls=max(1, round(refresh_rate * seconds)),
        limit=50,
        timeout_s=seconds + 30,
        workdir=base / "soak-refresh",
    ).start()
    calls = calls_step(
        ("127.0.0.1", sim.sip_port),
        rate=call_rate,
        calls=max(1, round(call_rate * seconds)),
        seconds=seconds,
        workdir=base / "soak-calls",
        caller=user(CALLER),
    ).start()
    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    done = threading.Event()
    while not done.is_set():
        samples.append((time.monotonic() - started, rss_kib(sim.process.pid)))
        if not (refresh.running() or calls.running()):
            break
        done.wait(sample_every)  # the sampling period (an interval, not a synchronisation)
    refreshed, called = refresh.wait(), calls.wait()
    print(
        f"soak {seconds:g} s: {len(users)} phones refreshing at {refresh_rate:.1f}/s "
        f"({refreshed.successful_calls} ok, {refreshed.failed_calls} failed); calls at "
        f"{call_rate:g}/s ({called.successful_calls} ok, {called.failed_calls} failed)"
    )
    print("RSS samples (s, MiB): " + ", ".join(f"{t:.0f}:{kib / 1024:.1f}" for t, kib in samples))
    third = max(1, len(samples) // 3)
    early = sum(k for _, k in samples[:third]) / third
    late = sum(k for _, k in samples[-third:]) / third
    growth = (late - early) / early
    verdict = "GROWS" if growth > 0.05 else "flat"
    print(
        f"RSS first third {early / 1024:.1f} MiB → last third {late / 1024:.1f} MiB "
        f"({growth:+.1%}): {verdict}"
    )
    tail = samples[-third:]
    if len(tail) >= 2 and tail[-1][0] > tail[0][0]:
        slope = (tail[-1][1] - tail[0][1]) / 1024 / ((tail[-1][0] - tail[0][0]) / 60)
        print(
            f"RSS over the last third ({tail[0][0]:.0f}–{tail[-1][0]:.0f} s): "
            f"{slope:+.2f} MiB/min (nonce counts live {NONCE_LIFETIME:.0f} s: soak longer "
            "than that to see the level)"
        )


def rates(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per ramp step")
    parser.add_argument(
        "--register-rates", type=rates, default=list(DEFAULT_REGISTER_RATES), metavar="R,R,…"
    )
    parser.add_argument(
        "--call-rates", type=rates, default=list(DEFAULT_CALL_RATES), metavar="R,R,…"
    )
    parser.add_argument("--phones", type=int, default=1000, help="registered phones (soak)")
    parser.add_argument("--soak", type=float, default=20.0, help="soak seconds (300 = 5 min)")
    parser.add_argument("--soak-calls", type=float, default=20.0, help="calls/s in the soak")
    parser.add_argument("--sample", type=float, default=5.0, help="RSS sampling period (s)")
    parser.add_argument("--skip-kamailio", action="store_true", help="simulator only")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-sim-sip-"))
    members, load = write_tenant(base / "tenant", phones=args.phones)
    load_users = [user(e) for e in load]

    kamailio = None
    if not args.skip_kamailio:
        kamailio = measure_kamailio(
            load_users,
            register_rates=args.register_rates,
            call_rates=args.call_rates,
            seconds=args.seconds,
            base=base / "kamailio",
        )
        print("Kamailio (2 workers)\n" + "\n".join(m.summary() for m in kamailio), flush=True)

    # SIPp (like Kamailio's challenge) speaks MD5 digest only: it gives up on a SHA-256 one.
    with start_simulator(
        base / "tenant", time_scale=1.0, workdir=base, extra_args=("--digest-algorithms", "MD5")
    ) as sim:
        assert sim.sip_port is not None
        sim_pid = sim.process.pid

        def sim_cpu() -> float:
            return cpu_seconds(sim_pid)

        registers = measure_register_rate(
            target=("127.0.0.1", sim.sip_port),
            domain=DOMAIN,
            users=load_users,
            rates=args.register_rates,
            seconds_per_step=args.seconds,
            workdir=base / "sim",
            cpu_of=sim_cpu,
        )
        print("Simulator\n" + registers.summary(), flush=True)
        calls, uas = measure_calls(
            ("127.0.0.1", sim.sip_port),
            [user(m) for m in members],
            service=PILOT,
            caller=user(CALLER),
            rates=args.call_rates,
            seconds=args.seconds,
            base=base / "sim" / "calls",
            cpu_of=sim_cpu,
        )
        try:
            print(calls.summary(), flush=True)
            print(
                f"simulator: {registers.best_rate:.0f} registrations/s, "
                f"{calls.best_rate:.0f} calls/s at 0 failures"
            )
            if kamailio is not None:
                print(
                    f"Kamailio:  {kamailio[0].best_rate:.0f} registrations/s, "
                    f"{kamailio[1].best_rate:.0f} calls/s at 0 failures"
                )
                print(
                    "ratio simulator/Kamailio: "
                    f"registrations {_ratio(registers.best_rate, kamailio[0].best_rate)}, "
                    f"calls {_ratio(calls.best_rate, kamailio[1].best_rate)}"
                )
            if args.soak > 0:
                soak(
                    sim,
                    load,
                    seconds=args.soak,
                    call_rate=args.soak_calls,
                    sample_every=args.sample,
                    base=base / "soak",
                )
        finally:
            uas.close()
    print(f"evidence: {base}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


if __name__ == "__main__":
    main()
