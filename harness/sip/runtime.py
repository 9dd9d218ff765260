"""A background asyncio loop in its own thread, for synchronous callers (pytest, flows).

Theory of operation (../shared/DESIGN.md "Concurrency"): tests are synchronous; SIP endpoints
run on one asyncio loop in a daemon thread. ``Runtime.run(coro, timeout=…)`` submits a coroutine
to that loop and blocks the calling thread until it finishes, returning its value or raising
its exception unchanged (so a ``HarnessError`` raised by a phone reaches the test as a
``HarnessError``). On timeout the coroutine is cancelled and ``TimeoutError`` is raised.

Calling ``run`` from the loop's own thread would deadlock; it raises ``HarnessError`` instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


class Runtime:
    """One asyncio loop on one daemon thread. Use as a context manager or start()/stop()."""

    def __init__(self, *, name: str = "sip-runtime") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop; ``HarnessError`` when the runtime is not started."""
        if self._loop is None:
            raise HarnessError(f"runtime {self._name!r} is not started; call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None

    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def start(self) -> Runtime:
        """Start the loop thread (idempotent); returns self."""
        with self._lock:
            if self._loop is not None:
                return self
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=main, name=self._name, daemon=True)
            thread.start()
            ready.wait()
            self._loop, self._thread = loop, thread
            return self

    def stop(self, *, timeout: float = 10.0) -> None:
        """Cancel what still runs on the loop, stop it and join the thread (idempotent)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            if threading.current_thread() is thread:
                raise HarnessError("Runtime.stop() called from its own loop thread")

            async def shutdown() -> None:
                current = asyncio.current_task()
                tasks = [t for t in asyncio.all_tasks() if t is not current]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await loop.shutdown_asyncgens()

            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout)
                loop.close()
                self._loop, self._thread = None, None

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = 30.0) -> T:
        """Run ``coro`` on the loop and wait for its result (exceptions propagate as raised).

        ``timeout`` in real seconds; on expiry the coroutine is cancelled and ``TimeoutError``
        raised. ``None`` waits forever.
        """
        if self.in_loop_thread():
            coro.close()
            raise HarnessError(
                "Runtime.run() called from the runtime's own thread would deadlock; "
                "await the coroutine instead"
            )
        try:
            loop = self.loop
        except HarnessError:
            coro.close()
            raise
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            if future.done():  # the coroutine itself raised TimeoutError: propagate it
                raise
            future.cancel()
            raise TimeoutError(f"coroutine did not finish within {timeout} s") from None
        except concurrent.futures.CancelledError:
            raise HarnessError("the coroutine was cancelled (runtime stopping?)") from None

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Schedule a plain callback on the loop from any thread."""
        self.loop.call_soon_threadsafe(callback)

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
