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

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.sip.peers.kamailio import Kamailio
from harness.sip.sipp import Sipp, SippResult, SippUser

DEFAULT_REGISTER_RATES = (250.0, 500.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0)
DEFAULT_CALL_RATES = (50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 600.0, 800.0)


@dataclass(frozen=True, kw_only=True)
class LoadStep:
    """One held rate of a ramp."""

    target_rate: float
    result: SippResult

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

    def summary(self) -> str:
        lines = [f"{self.what}: best {self.best_rate:.0f}/s at 0 failures"]
        for step in self.steps:
            r = step.result
            lines.append(
                f"  target {step.target_rate:6.0f}/s → {step.achieved_rate:7.1f}/s "
                f"({r.successful_calls} ok, {r.failed_calls} failed, "
                f"{r.stats.retransmissions} retransmissions)"
            )
        return "\n".join(lines)


def ramp(
    what: str,
    run_step: Callable[[float, int], SippResult],
    *,
    rates: Sequence[float],
    seconds_per_step: float,
    saturation: float = 0.9,
) -> RateMeasurement:
    """Run ``run_step(rate, calls)`` for each rate until a failure or saturation."""
    steps: list[LoadStep] = []
    for rate in rates:
        calls = max(1, round(rate * seconds_per_step))
        step = LoadStep(target_rate=rate, result=run_step(rate, calls))
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

    return ramp("REGISTER with digest", step, rates=rates, seconds_per_step=seconds_per_step)


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
