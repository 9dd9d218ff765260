"""Simulated time: every service timer of the harness and the simulator goes through a ``Clock``.

Theory of operation (../shared/DESIGN.md "Time"): the reference model speaks *simulated seconds*.
A target runs its service timers (ring times, forwarding, single-number reach, answer delays of
virtual phones) at ``scale`` real seconds per simulated second — 1.0 against a real deployment,
e.g. 0.01 on the embedded simulator so a 20 s ring timer takes 0.2 s. Observations are converted
back with ``to_sim`` before comparison. SIP transaction timers (T1, Timer B/F…) are *not* scaled:
they keep their RFC 3261 values in real seconds and never go through a Clock.

Two implementations:

- ``ScaledClock``: monotonic wall time, timers on the running asyncio loop.
- ``ManualClock``: virtual time that only moves when a test calls ``advance``; timers fire in
  deadline order, deterministically. For unit tests of reactive code without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class TimerHandle(Protocol):
    """What ``Clock.call_later`` returns; ``cancel`` is idempotent."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Simulated seconds in, timers out. Implementations: ``ScaledClock``, ``ManualClock``."""

    @property
    def scale(self) -> float:
        """Real seconds per simulated second (1.0 = real time)."""
        ...

    def now(self) -> float:
        """Simulated seconds since an arbitrary, fixed origin (monotonic)."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` after ``delay`` simulated seconds (on the clock's event loop)."""
        ...

    async def sleep(self, delay: float) -> None:
        """Suspend the calling coroutine for ``delay`` simulated seconds."""
        ...


def to_real(clock: Clock, simulated: float) -> float:
    """Simulated seconds → real seconds on ``clock``."""
    return simulated * clock.scale


def to_sim(clock: Clock, real: float) -> float:
    """Real seconds → simulated seconds on ``clock``."""
    return real / clock.scale


def wall_time(clock: Clock, simulated: float) -> float:
    """Unix seconds (wall clock) of the moment ``clock`` read ``simulated``: the simulated
    seconds since then, turned into real ones by the clock's scale, before ``time.time()``.
    For records a person reads (the simulator's provisioning API), never for timers."""
    return time.time() - (clock.now() - simulated) * clock.scale


class ScaledClock:
    """Wall-clock time scaled by ``scale`` real seconds per simulated second.

    Timers are scheduled on the asyncio loop running when ``call_later`` is called (or on
    ``loop`` when given), so the clock can be shared by code on one runtime loop.
    """

    def __init__(self, scale: float = 1.0, *, loop: asyncio.AbstractEventLoop | None = None):
        if not scale > 0:
            raise ValueError(
                f"time scale must be > 0 (real seconds per simulated second), got {scale!r}"
            )
        self._scale = float(scale)
        self._origin = time.monotonic()
        self._loop = loop

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        return (time.monotonic() - self._origin) / self._scale

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        loop = self._loop or asyncio.get_running_loop()
        return loop.call_later(max(0.0, delay) * self._scale, callback)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay) * self._scale)


@dataclass(order=True)
class _ManualTimer:
    deadline: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """Virtual time for deterministic tests: nothing happens until ``advance`` is called.

    ``advance(dt)`` fires every timer due within ``dt`` in deadline order (ties in scheduling
    order), setting ``now()`` to each timer's deadline while its callback runs. Callbacks may
    schedule further timers; those fire too if they fall within the window.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[_ManualTimer] = []
        self._seq = itertools.count()

    @property
    def scale(self) -> float:
        return 1.0

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _ManualTimer(self._now + max(0.0, delay), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        self.call_later(delay, wake)
        await future

    def next_deadline(self) -> float | None:
        """The deadline of the earliest pending timer, or None."""
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].deadline if self._timers else None

    def advance(self, delta: float) -> None:
        """Move time forward by ``delta`` simulated seconds, firing due timers in order."""
        if delta < 0:
            raise ValueError(f"time only moves forward; advance({delta!r})")
        until = self._now + delta
        while (deadline := self.next_deadline()) is not None and deadline <= until:
            timer = heapq.heappop(self._timers)
            self._now = timer.deadline
            timer.callback()
        self._now = until
