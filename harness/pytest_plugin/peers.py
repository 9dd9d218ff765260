"""Fixtures that start real SIP peers (Kamailio, SIPp, baresip) on loopback free ports.

Factory fixtures (STYLE.md §10): a test calls ``kamailio(users=...)`` and gets a started peer;
everything a factory opened is stopped and reaped at the end of the test, pass or fail. Work
directories (configs, logs, statistics) live under the test's ``tmp_path`` as evidence. Tests
that use them carry the ``peers`` marker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.sip.peers.kamailio import Kamailio
from harness.sip.sipp import Sipp


class _Opened:
    """Peers a factory started, stopped in reverse order at teardown."""

    def __init__(self, base: Path, prefix: str) -> None:
        self.base = base
        self.prefix = prefix
        self.stoppers: list[Callable[[], None]] = []

    def workdir(self) -> Path:
        path = self.base / f"{self.prefix}-{len(self.stoppers) + 1}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        errors: list[BaseException] = []
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception as exc:  # keep stopping the others, report the first
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[Callable[..., Kamailio]]:
    """Factory: ``kamailio(sip_domain=..., users={terminal_id: password})`` → started Kamailio."""
    opened = _Opened(tmp_path, "kamailio")

    def factory(**kwargs: Any) -> Kamailio:
        kwargs.setdefault("workdir", opened.workdir())
        server = Kamailio(**kwargs)
        opened.stoppers.append(server.stop)
        return server.start()

    yield factory
    opened.close()


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """Factory: ``sipp(scenario, **options)`` → a configured, not yet started ``Sipp``.

    Call ``.run()`` for a client scenario or ``.start()`` (or ``with``) for a UAS; whatever is
    still running at the end of the test is killed.
    """
    opened = _Opened(tmp_path, "sipp")

    def factory(scenario: str | Path, **kwargs: Any) -> Sipp:
        kwargs.setdefault("workdir", opened.workdir())
        runner = Sipp(scenario, **kwargs)
        opened.stoppers.append(runner.close)
        return runner

    yield factory
    opened.close()
