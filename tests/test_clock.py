from __future__ import annotations

import asyncio

import pytest

from harness.clock import ManualClock, ScaledClock, to_real, to_sim


def test_manual_clock_fires_timers_in_deadline_order_and_sets_now() -> None:
    clock = ManualClock()
    fired: list[tuple[str, float]] = []
    clock.call_later(20, lambda: fired.append(("b", clock.now())))
    clock.call_later(5, lambda: fired.append(("a", clock.now())))
    cancelled = clock.call_later(10, lambda: fired.append(("x", clock.now())))
    cancelled.cancel()
    clock.advance(15)
    assert fired == [("a", 5.0)]
    assert clock.now() == 15
    clock.advance(5)
    assert fired == [("a", 5.0), ("b", 20.0)]


def test_manual_clock_runs_timers_scheduled_by_callbacks_within_the_window() -> None:
    clock = ManualClock()
    fired: list[float] = []
    clock.call_later(1, lambda: clock.call_later(2, lambda: fired.append(clock.now())))
    clock.advance(3)
    assert fired == [3.0]
    assert clock.next_deadline() is None


def test_manual_clock_refuses_to_go_back() -> None:
    with pytest.raises(ValueError, match="forward"):
        ManualClock().advance(-1)


def test_manual_clock_sleep_wakes_on_advance() -> None:
    async def main() -> list[str]:
        clock = ManualClock()
        seen: list[str] = []

        async def sleeper() -> None:
            await clock.sleep(30)
            seen.append(f"woke at {clock.now():g}")

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)
        clock.advance(29)
        await asyncio.sleep(0)
        assert seen == []
        clock.advance(1)
        await task
        return seen

    assert asyncio.run(main()) == ["woke at 30"]


def test_scaled_clock_converts_and_rejects_bad_scale() -> None:
    clock = ScaledClock(0.01)
    assert to_real(clock, 20) == pytest.approx(0.2)
    assert to_sim(clock, 0.2) == pytest.approx(20)
    with pytest.raises(ValueError, match="time scale must be > 0"):
        ScaledClock(0)


def test_scaled_clock_timer_fires_on_the_running_loop() -> None:
    async def main() -> float:
        clock = ScaledClock(0.001)
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        clock.call_later(5, lambda: done.set_result(clock.now()))
        return await asyncio.wait_for(done, timeout=5)

    assert asyncio.run(main()) >= 5
