"""Fixtures for virtual phones: a runtime thread, a scaled clock and a phone factory.

- ``sip_runtime`` (session): the background asyncio loop every phone of the session runs on.
- ``phone_clock`` (function): the ``Clock`` of the phones' service timers (answer delays),
  at the run's simulator scale (``--sim-time-scale``, default 0.01) so that one time scale
  drives the simulator's timers and the phones' answer delays; override the fixture for a
  simulator started at another scale.
- ``phone_factory`` (function): a ``PhoneFactory`` that makes phones, from explicit settings or
  from a tenant's 端末 rows (内線番号情報1), and closes all of them at the end of the test.
  It records every phone's SIP into ``<tmp_path>/phones.pcap`` and a text ladder
  ``<tmp_path>/phones-ladder.txt`` (evidence, STYLE.md §12).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.clock import Clock, ScaledClock
from harness.sip.runtime import Runtime
from harness.target.phones import DEFAULT_PHONE_SCALE, PhoneFactory, platform_for

__all__ = ["DEFAULT_PHONE_SCALE", "PhoneFactory", "phone_clock", "phone_factory", "platform_for"]


@pytest.fixture(scope="session")
def sip_runtime() -> Iterator[Runtime]:
    """The asyncio loop thread the session's phones run on."""
    runtime = Runtime(name="sip-runtime").start()
    yield runtime
    runtime.stop()


@pytest.fixture
def phone_clock(request: pytest.FixtureRequest, sip_runtime: Runtime) -> Clock:
    """Clock of the phones' service timers, at the run's ``--sim-time-scale``."""
    scale = request.config.getoption("--sim-time-scale", default=DEFAULT_PHONE_SCALE)
    return ScaledClock(float(scale), loop=sip_runtime.loop)


@pytest.fixture
def phone_factory(
    sip_runtime: Runtime, phone_clock: Clock, tmp_path: Path
) -> Iterator[PhoneFactory]:
    """Factory of virtual phones, all closed at the end of the test; their SIP is kept in
    ``tmp_path`` as ``phones.pcap`` and ``phones-ladder.txt``."""
    factory = PhoneFactory(
        sip_runtime,
        clock=phone_clock,
        pcap=tmp_path / "phones.pcap",
        ladder=tmp_path / "phones-ladder.txt",
    )
    yield factory
    factory.close()
