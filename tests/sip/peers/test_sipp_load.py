"""Rate ramps: the stopping rule on recorded-shape results, and a short real ramp on Kamailio."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.sip.sipp import SippResult, SippStats, SippUser
from harness.sip.sipp_load import cpu_seconds, measure_kamailio_baseline, ramp


def fake_result(*, ok: int, failed: int, seconds: float) -> SippResult:
    stats = SippStats(
        total_calls=ok + failed,
        successful_calls=ok,
        failed_calls=failed,
        current_calls=0,
        retransmissions=0,
        elapsed_s=seconds,
        call_rate=(ok + failed) / seconds,
        response_time_1_ms=1.0,
        response_time_2_ms=None,
        call_length_ms=1.0,
    )
    path = Path("unused")
    return SippResult(
        scenario="register",
        exit_status=1 if failed else 0,
        stats=stats,
        wall_s=seconds,
        workdir=path,
        stat_file=path,
        error_file=path,
        log_file=path,
    )


def test_ramp_stops_at_the_first_failure_and_keeps_the_best_clean_rate() -> None:
    outcomes = {100.0: (100, 0), 200.0: (200, 0), 400.0: (390, 10), 800.0: (800, 0)}
    asked: list[tuple[float, int]] = []

    def step(rate: float, calls: int) -> SippResult:
        asked.append((rate, calls))
        ok, failed = outcomes[rate]
        return fake_result(ok=ok, failed=failed, seconds=1.0)

    measured = ramp("test", step, rates=list(outcomes), seconds_per_step=1.0)

    assert asked == [(100.0, 100), (200.0, 200), (400.0, 400)]
    assert measured.best_rate == 200.0
    assert [s.clean for s in measured.steps] == [True, True, False]


def test_ramp_reports_the_targets_cpu_share_and_the_rate_per_busy_core() -> None:
    used = iter([0.0, 0.25, 0.25, 0.75])  # CPU seconds read before and after each step

    def step(rate: float, calls: int) -> SippResult:
        return fake_result(ok=calls, failed=0, seconds=1.0)

    measured = ramp(
        "test", step, rates=[100.0, 200.0], seconds_per_step=1.0, cpu_of=lambda: next(used)
    )
    assert [s.cpu_share for s in measured.steps] == [0.25, 0.5]
    assert measured.per_core == 400.0  # 200/s at half a core
    assert "target CPU 50% of a core" in measured.summary()
    assert "≈ 400/s per busy core" in measured.summary()


def test_cpu_seconds_counts_the_busy_child_of_an_idle_parent() -> None:
    """A shell (idle) whose child spins: the parent's figure grows with the child's CPU."""
    spin = f"{sys.executable} -c 'while True: pass'"
    parent = subprocess.Popen(["/bin/sh", "-c", f"{spin}; exit 0"])
    try:
        deadline = time.monotonic() + 20
        while cpu_seconds(parent.pid) < 0.2:
            assert time.monotonic() < deadline, "the spinning child was never counted"
            time.sleep(0.05)  # a polling period, not a synchronisation
    finally:
        for child in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split():
            os.kill(int(child), signal.SIGKILL)
        parent.wait(timeout=10)


def test_ramp_stops_when_the_target_saturates() -> None:
    def step(rate: float, calls: int) -> SippResult:
        return fake_result(ok=calls, failed=0, seconds=max(1.0, rate / 300))

    measured = ramp("test", step, rates=[100.0, 300.0, 600.0, 1200.0], seconds_per_step=1.0)

    # 600 calls took 2 s: 300/s achieved < 90 % of 600/s, so 1200 is never tried.
    assert [s.target_rate for s in measured.steps] == [100.0, 300.0, 600.0]
    assert measured.best_rate == 300.0


@pytest.mark.peers
def test_short_real_ramps_against_kamailio(tmp_path: Path) -> None:
    users = [SippUser(user=f"u{i}", password=f"p{i}") for i in range(20)]

    baseline = measure_kamailio_baseline(
        domain="d.example",
        users=users,
        callee=SippUser(user="callee", password="pc"),
        workdir=tmp_path,
        register_rates=[20.0, 40.0],
        call_rates=[10.0],
        seconds_per_step=0.5,
    )

    # The second register step only runs when the first kept up with its rate, which a loaded
    # machine may not: check what ran, not how far the ramp went.
    first = baseline.register.steps[0]
    assert (first.target_rate, first.result.successful_calls, first.clean) == (20.0, 10, True)
    assert baseline.register.best_rate > 0
    [calls] = baseline.calls.steps
    assert (calls.result.successful_calls, calls.clean) == (5, True)
    assert baseline.calls.best_rate > 0
