"""``serve --param`` over SIP where the 設定 document leaves a value to the service: a 順次着信
group without 呼出時間 rings each member for ``member_ring_time`` (the store keeps "left out",
not the document default 20)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.clock import Clock, ScaledClock
from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import start_simulator
from harness.sip.observed import PhoneEventKind
from harness.sip.runtime import Runtime
from tests.sim.sip.kit import FIXTURES, subscriber, tenant_phones

SCALE = 0.1  # 1 simulated second = 100 ms
TOLERANCE = 2.0  # simulated seconds: loopback SIP on a loaded 2-core machine


@pytest.fixture
def phone_clock(sip_runtime: Runtime) -> Clock:
    return ScaledClock(SCALE, loop=sip_runtime.loop)


def _tenant(folder: Path) -> Path:
    """The sample tenant with one 順次着信 group (member 20201, 呼出時間 left out) that its
    external line reaches."""
    folder.mkdir()
    shutil.copy(FIXTURES / "sample" / "ご利用内容.yaml", folder / "ご利用内容.yaml")
    (folder / "設定.yaml").write_text(
        '着信グループ:\n  - {種別: 順次着信, 代表番号: "20200", メンバー: ["20201"]}\n'
        '外線着信設定:\n  - {外線番号: "0312345678", 着信先: "20200"}\n',
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(("param", "expected"), [((), 20.0), (("member_ring_time=4",), 4.0)])
def test_a_group_without_ring_time_rings_for_the_services_member_ring_time(
    phone_factory: PhoneFactory, tmp_path: Path, param: tuple[str, ...], expected: float
) -> None:
    extra = [arg for value in param for arg in ("--param", value)]
    with start_simulator(
        _tenant(tmp_path / "tenant"), time_scale=SCALE, extra_args=extra, workdir=tmp_path
    ) as sim:
        assert sim.settings()["着信グループ"][0].get("呼出時間") is None  # kept as left out
        member = tenant_phones(phone_factory, sim, tmp_path / "tenant")["20201"]
        outside = subscriber(phone_factory, sim, "09011112222")
        outside.call("0312345678")
        member.incoming()
        member.wait_for(PhoneEventKind.STOP, timeout=30)
        events = {e.kind: e.t for e in member.timeline()}
        rang = events[PhoneEventKind.STOP] - events[PhoneEventKind.RING]
        assert abs(rang - expected) <= TOLERANCE, f"rang {rang:.1f} s, expected {expected}"
