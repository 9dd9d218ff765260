"""SIPp load against any registrar/proxy: the highest rate it sustains with zero failures.

These functions only take the target's address and SIP domain, so the same measurement runs
against Kamailio (the peer baseline, ``benchmarks/bench_kamailio_register.py``), the embedded
simulator or a virtual-phone stack, and the rates can be compared as a ratio::

    users = [SippUser(user=f"u{i:05d}", password="pw") for i in range(2000)]
    kam = measure_register_rate(target=(kamailio.host, kamailio.port), domain=D, users=users)
    sim = measure_register_rate(target=(sim.host, sim.sip_port), domain=D, users=users)
    print(sim.best_rate / kam.best_rate)

Method: a ramp of target rates, each held for ``seconds_per_step`` (rate × seconds calls). A
step counts when every call succeeded; the ramp stops at the first step with a failure or whose
achieved rate falls below ``saturation`` × target (the target can no longer keep up). The
result is the best achieved rate (successful calls per second, SIPp's own clock) of a clean
step. SIPp itself is one process per side; on a small machine it can be the bottleneck, which
the per-step numbers show (achieved far below target with no failures).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.sip.peers.kamailio import Kamailio
from harness.sip.sipp import Sipp, SippResult, SippUser

DEFAULT_REGISTER_RATES = (250.0, 500.0, 1000.0, 1250.0, 1500.0, 2000.0, 3000.0, 4000.0)
DEFAULT_CALL_RATES = (50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 600.0, 800.0)


@dataclass(frozen=True, kw_only=True)
class LoadStep:
    """One held rate of a ramp."""

    target_rate: float
    result: SippResult
    cpu_seconds: float | None = None  # CPU time the target used during the step, if measured

    @property
    def cpu_share(self) -> float | None:
        """The target's CPU use over the step, as a share of one core (1.0 = one core busy)."""
        wall = self.result.wall_s
        return None if self.cpu_seconds is None or wall <= 0 else self.cpu_seconds / wall

    @property
    def achieved_rate(self) -> float:
        return self.result.stats.successful_per_second

    @property
    def clean(self) -> bool:
        """Every call of the step succeeded."""
        return self.result.failed_calls == 0 and self.result.successful_calls > 0


@dataclass(frozen=True, kw_only=True)
class RateMeasurement:
    """A ramp's steps and the best rate sustained with zero failures."""

    what: str
    steps: tuple[LoadStep, ...]

    @property
    def best_rate(self) -> float:
        """Highest achieved rate (per second) of a step without failures; 0.0 if none."""
        return max((s.achieved_rate for s in self.steps if s.clean), default=0.0)

    @property
    def per_core(self) -> float | None:
        """The best clean step's rate divided by the target's CPU share then: what one core
        fully busy would sustain (an extrapolation, when the load generator is the limit)."""
        clean = [s for s in self.steps if s.clean and s.cpu_share]
        if not clean:
            return None
        best = max(clean, key=lambda s: s.achieved_rate)
        assert best.cpu_share is not None
        return best.achieved_rate / best.cpu_share

    def summary(self) -> str:
        lines = [f"{self.what}: best {self.best_rate:.0f}/s at 0 failures"]
        if self.per_core is not None:
            lines[0] += f" (≈ {self.per_core:.0f}/s per busy core, from its CPU use)"
        for step in self.steps:
            r = step.result
            cpu = "" if step.cpu_share is None else f", target CPU {step.cpu_share:.0%} of a core"
            lines.append(
                f"  target {step.target_rate:6.0f}/s → {step.achieved_rate:7.1f}/s "
                f"({r.successful_calls} ok, {r.failed_calls} failed, "
                f"{r.stats.retransmissions} retransmissions{cpu})"
            )
        return "\n".join(lines)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its live descendants (Linux /proc;
    Kamailio's workers are children of its main process)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="utf-8")
        except OSError:
            continue  # the process ended meanwhile
        fields = text.rpartition(")")[2].split()  # after "pid (comm)": state ppid …
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    family = {pid}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    return sum(times.get(member, 0.0) for member in family)


def ramp(
    what: str,
    run_step: Callable[[float, int], SippResult],
    *,
    rates: Sequence[float],
    seconds_per_step: float,
    saturation: float = 0.9,
    cpu_of: Callable[[], float] | None = None,
) -> RateMeasurement:
    """Run ``run_step(rate, calls)`` for each rate until a failure or saturation;
    ``cpu_of`` (e.g. ``lambda: cpu_seconds(pid)``) measures the target's CPU per step."""
    steps: list[LoadStep] = []
    for rate in rates:
        calls = max(1, round(rate * seconds_per_step))
        before = None if cpu_of is None else cpu_of()
        result = run_step(rate, calls)
        used = None if cpu_of is None or before is None else cpu_of() - before
        step = LoadStep(target_rate=rate, result=result, cpu_seconds=used)
        steps.append(step)
        if not step.clean or step.achieved_rate < saturation * rate:
            break
    return RateMeasurement(what=what, steps=tuple(steps))


def _run_load(
    scenario: str, *, rate: float, calls: int, seconds_per_step: float, **options: Any
) -> SippResult:
    return Sipp(
        scenario,
        rate=rate,
        calls=calls,
        # Enough simultaneous calls for the rate, bounded so an overloaded target fails fast.
        limit=max(50, round(rate)),
        timeout_s=seconds_per_step * 4 + 10,
        **options,
    ).run()


def measure_register_rate(
    *,
    target: tuple[str, int],
    domain: str,
    users: Sequence[SippUser],
    rates: Sequence[float] = DEFAULT_REGISTER_RATES,
    seconds_per_step: float = 2.0,
    workdir: Path | None = None,
    cpu_of: Callable[[], float] | None = None,
) -> RateMeasurement:
    """REGISTER-with-digest per second at ``target``, cycling through ``users`` (-inf file)."""
    base = workdir or Path(tempfile.mkdtemp(prefix="sipp-load-"))

    def step(rate: float, calls: int) -> SippResult:
        return _run_load(
            "register",
            rate=rate,
            calls=calls,
            seconds_per_step=seconds_per_step,
            remote=target,
            domain=domain,
            users=users,
            workdir=base / f"register-{rate:g}",
        )

    return ramp(
        "REGISTER with digest",
        step,
        rates=rates,
        seconds_per_step=seconds_per_step,
        cpu_of=cpu_of,
    )


def measure_call_rate(
    *,
    target: tuple[str, int],
    domain: str,
    callee: SippUser,
    caller: SippUser | None = None,
    rates: Sequence[float] = DEFAULT_CALL_RATES,
    seconds_per_step: float = 2.0,
    workdir: Path | None = None,
) -> RateMeasurement:
    """Calls per second (INVITE→200→ACK→BYE) through ``target`` to a SIPp UAS.

    The UAS registers as ``callee`` at the target first. Calls come from an outside caller
    (``uac``), or from ``caller``, a user of the domain answering 407 (``uac_auth``).
    """
    base = workdir or Path(tempfile.mkdtemp(prefix="sipp-load-"))
    with Sipp("uas", workdir=base / "uas", timeout_s=None) as uas:
        registered = Sipp(
            "register",
            remote=target,
            domain=domain,
            users=[callee],
            contact=f"{uas.host}:{uas.port}",
            calls=1,
            workdir=base / "uas-register",
        ).run()
        if not registered.ok:
            return RateMeasurement(
                what=f"calls (callee registration failed: {registered.summary()})", steps=()
            )

        def step(rate: float, calls: int) -> SippResult:
            return _run_load(
                "uac" if caller is None else "uac_auth",
                rate=rate,
                calls=calls,
                seconds_per_step=seconds_per_step,
                remote=target,
                domain=domain,
                service=callee.user,
                users=[caller] if caller is not None else (),
                workdir=base / f"calls-{rate:g}",
            )

        return ramp(
            "calls INVITE→200→ACK→BYE",
            step,
            rates=rates,
            seconds_per_step=seconds_per_step,
        )


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """Registrations/s and calls/s of one target, measured in the same run."""

    register: RateMeasurement
    calls: RateMeasurement

    def summary(self) -> str:
        return f"{self.register.summary()}\n{self.calls.summary()}"


def measure_target(
    *,
    target: tuple[str, int],
    domain: str,
    users: Sequence[SippUser],
    callee: SippUser,
    register_rates: Sequence[float] = DEFAULT_REGISTER_RATES,
    call_rates: Sequence[float] = DEFAULT_CALL_RATES,
    seconds_per_step: float = 2.0,
    workdir: Path | None = None,
) -> Baseline:
    """Both ramps against one target (``users`` and ``callee`` must be provisioned there)."""
    base = workdir or Path(tempfile.mkdtemp(prefix="sipp-load-"))
    return Baseline(
        register=measure_register_rate(
            target=target,
            domain=domain,
            users=users,
            rates=register_rates,
            seconds_per_step=seconds_per_step,
            workdir=base,
        ),
        calls=measure_call_rate(
            target=target,
            domain=domain,
            callee=callee,
            rates=call_rates,
            seconds_per_step=seconds_per_step,
            workdir=base,
        ),
    )


def measure_kamailio_baseline(
    *,
    domain: str,
    users: Sequence[SippUser],
    callee: SippUser,
    children: int = 2,
    workdir: Path | None = None,
    **ramps: Any,
) -> Baseline:
    """Start Kamailio with ``users`` and ``callee``, run both ramps, stop it.

    What a benchmark of another target calls to report its rates as a ratio to Kamailio's in the
    same run; ``ramps`` are ``register_rates``, ``call_rates`` and ``seconds_per_step``.
    """
    base = workdir or Path(tempfile.mkdtemp(prefix="kamailio-baseline-"))
    secrets = {u.user: u.password for u in [*users, callee]}
    with Kamailio(
        sip_domain=domain, users=secrets, children=children, workdir=base / "kamailio"
    ) as kamailio:
        return measure_target(
            target=(kamailio.host, kamailio.port),
            domain=domain,
            users=users,
            callee=callee,
            workdir=base,
            **ramps,
        )
