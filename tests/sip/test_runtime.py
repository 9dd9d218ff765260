"""The background runtime: results and exceptions cross threads unchanged; timeouts cancel."""

from __future__ import annotations

import asyncio
import threading

import pytest

from harness.errors import HarnessError
from harness.sip.runtime import Runtime


class Boom(Exception):
    pass


def test_run_returns_the_coroutine_value_computed_on_the_loop_thread() -> None:
    with Runtime() as runtime:

        async def where() -> str:
            return threading.current_thread().name

        assert runtime.run(where()) == "sip-runtime"


def test_exceptions_propagate_as_raised() -> None:
    with Runtime() as runtime:

        async def fail() -> None:
            raise Boom("x")

        with pytest.raises(Boom, match="x"):
            runtime.run(fail())

        async def own_timeout() -> None:
            raise TimeoutError("mine")

        with pytest.raises(TimeoutError, match="mine"):
            runtime.run(own_timeout(), timeout=5)


def test_timeout_cancels_the_coroutine() -> None:
    with Runtime() as runtime:
        cancelled = threading.Event()

        async def forever() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        with pytest.raises(TimeoutError, match="within 0.05 s"):
            runtime.run(forever(), timeout=0.05)
        assert cancelled.wait(5)


def test_run_from_the_loop_thread_is_refused_not_deadlocked() -> None:
    with Runtime() as runtime:

        async def inner() -> int:
            return 1

        async def outer() -> None:
            runtime.run(inner())

        with pytest.raises(HarnessError, match="deadlock"):
            runtime.run(outer(), timeout=5)


def test_stop_cancels_pending_tasks_and_joins_the_thread() -> None:
    runtime = Runtime().start()
    cancelled = threading.Event()

    async def background() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    # The loop keeps only weak references to tasks: hold this one, or the collector may
    # destroy it while it waits (and it is then never cancelled).
    tasks: list[asyncio.Task[None]] = []
    runtime.call_soon(lambda: tasks.append(runtime.loop.create_task(background())))
    runtime.run(asyncio.sleep(0))
    runtime.stop()
    assert cancelled.is_set()
    assert not runtime.running
    with pytest.raises(HarnessError, match="not started"):
        runtime.run(asyncio.sleep(0))
    runtime.stop()  # idempotent
