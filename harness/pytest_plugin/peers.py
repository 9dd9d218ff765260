"""Fixtures that start real SIP peers (Kamailio, SIPp, baresip) on loopback free ports.

Factory fixtures (STYLE.md §10): a test calls ``kamailio(users=...)`` and gets a started peer;
everything a factory opened is stopped and reaped at the end of the test, pass or fail. Work
directories (configs, logs, statistics) live under the test's ``tmp_path`` as evidence. Tests
that use them carry the ``peers`` marker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harness.sip.peers._process import Peer
from harness.sip.peers.baresip import Baresip
from harness.sip.peers.kamailio import Kamailio
from harness.sip.sipp import Sipp

P = TypeVar("P", bound=Peer)


def _peer_factory(
    base: Path, prefix: str, make: Callable[..., P], *, start: bool
) -> Iterator[Callable[..., P]]:
    """Yield a factory making peers in ``base/<prefix>-N``; close them all, newest first."""
    opened: list[P] = []

    def factory(*args: Any, **kwargs: Any) -> P:
        workdir = base / f"{prefix}-{len(opened) + 1}"
        workdir.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("workdir", workdir)
        peer = make(*args, **kwargs)
        opened.append(peer)
        return peer.start() if start else peer

    yield factory
    errors: list[Exception] = []
    for peer in reversed(opened):
        try:
            peer.close()
        except Exception as exc:  # keep closing the others, report the first
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[Callable[..., Kamailio]]:
    """Factory: ``kamailio(sip_domain=..., users={terminal_id: password})`` → started Kamailio."""
    yield from _peer_factory(tmp_path, "kamailio", Kamailio, start=True)


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """Factory: ``sipp(scenario, **options)`` → a configured, not yet started ``Sipp``.

    Call ``.run()`` for a client scenario or ``.start()`` (or ``with``) for a UAS; whatever is
    still running at the end of the test is killed.
    """
    yield from _peer_factory(tmp_path, "sipp", Sipp, start=False)


@pytest.fixture
def baresip(tmp_path: Path, kamailio: Callable[..., Kamailio]) -> Iterator[Callable[..., Baresip]]:
    """Factory: ``baresip(user=..., password=..., registrar=(host, port))`` → started Baresip.

    Depends on the ``kamailio`` factory only so that phones are stopped before any Kamailio
    of the test: a phone quitting unregisters first, which would wait on a stopped registrar.
    """
    yield from _peer_factory(tmp_path, "baresip", Baresip, start=True)
