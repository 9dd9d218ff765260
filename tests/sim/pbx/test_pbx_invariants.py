"""Property test of the PBX across concurrent calls: whatever calls, answers, failures,
pickups, cancels and hang-ups happen, a busy extension (placing a call or in one) is never
rung, every call has exactly one ending, and once everyone hangs up no call is left."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from harness.clock import ManualClock
from harness.sim.pbx.call import Call, LegFailure, LegTarget, target_number
from harness.sim.pbx.config import PbxConfig
from harness.sim.pbx.pbx import Pbx
from harness.sim.pbx.routing import CallerId, InternalOrigin, ReleaseReason, ToExtension
from tests.sim.pbx.fakes import tenant

EXTENSIONS = ["20200", "20201", "20202", "20203", "20204"]
SETTINGS: dict[str, Any] = {
    "着信グループ": [
        {"種別": "一斉着信", "代表番号": "20209", "メンバー": ["20201", "20202"]},
        {"種別": "順次着信", "代表番号": "20208", "メンバー": ["20203", "20204"], "呼出時間": 5},
        {"種別": "コールピックアップ", "メンバー": ["20200", "20201", "20202"]},
    ],
    "不在時動作設定": {
        "20203": {
            "種別": "転送/留守番電話",
            "転送先電話番号": "20204",
            "転送動作": {"話中": "転送", "無応答": "留守番電話"},
            "呼出時間": 7,
        }
    },
}


@dataclass
class World:
    clock: ManualClock = field(default_factory=ManualClock)
    calls: list[tuple[Call, Driver]] = field(default_factory=list)

    def engaged(self) -> set[str]:
        """Extensions that are placing a call or talking, as the drivers saw it."""
        out: set[str] = set()
        for call, driver in self.calls:
            if driver.ended:
                continue
            out.add(call.origin.extension)  # type: ignore[union-attr]
            if driver.connected is not None:
                out.add(driver.connected)
        return out


@dataclass
class Driver:
    world: World
    legs: dict[str, str] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)
    connected: str | None = None
    ended: bool = False

    def start_leg(self, target: LegTarget, caller_id: CallerId) -> str:
        if isinstance(target, ToExtension):
            assert target.extension not in self.world.engaged(), f"rang busy {target}"
        leg_id = f"{id(self)}-{len(self.legs)}"
        self.legs[leg_id] = target_number(target)
        return leg_id

    def stop_leg(self, leg: str) -> None:
        pass

    def connect(self, leg: str) -> None:
        self.outcomes.append("connect")
        self.connected = self.legs[leg]

    def to_voicemail(self, mailbox: str) -> None:
        self.outcomes.append("voicemail")

    def bridge(self, other_call: str) -> None:
        self.outcomes.append("bridge")

    def release(self, reason: ReleaseReason) -> None:
        self.outcomes.append("release")
        self.ended = True


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("call"),
            st.sampled_from(EXTENSIONS),
            st.sampled_from([*EXTENSIONS, "20209", "20208", "*8", "99999"]),
        ),
        st.tuples(
            st.sampled_from(["answer", "busy", "error"]), st.integers(0, 9), st.integers(0, 3)
        ),
        st.tuples(st.sampled_from(["hangup", "cancel"]), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("wait"), st.integers(1, 10), st.just(0)),
    ),
    max_size=25,
)


@given(script=steps)
def test_concurrent_calls(script: list[tuple[str, Any, Any]]) -> None:
    world = World()
    pbx = Pbx(
        config=PbxConfig.from_tenant(tenant(SETTINGS)),
        clock=world.clock,
        is_registered=lambda ext: True,
    )
    for kind, a, b in script:
        if kind == "call":
            driver = Driver(world)
            call = pbx.incoming(origin=InternalOrigin(extension=a), dialled=b, driver=driver)
            world.calls.append((call, driver))
        elif kind == "wait":
            world.clock.advance(a)
        elif world.calls:
            call, driver = world.calls[a % len(world.calls)]
            legs = list(driver.legs)
            if kind == "answer" and legs:
                call.leg_answered(legs[b % len(legs)])
            elif kind in ("busy", "error") and legs:
                call.leg_failed(legs[b % len(legs)], LegFailure(kind))
            elif kind == "cancel":
                call.caller_cancelled()
                driver.ended = driver.ended or not driver.outcomes
            elif kind == "hangup":
                call.hung_up()
                driver.ended = True
                if call.bridged_with is not None:  # the glue ends both sides of a pickup
                    pbx_call = next(c for c, _ in world.calls if c.id == call.bridged_with)
                    pbx_call.hung_up()
                    next(d for c, d in world.calls if c is pbx_call).ended = True
    for _, driver in world.calls:
        assert len(driver.outcomes) <= 1, driver.outcomes
    # Everyone hangs up (or gives up): nothing may be left behind.
    for call, driver in world.calls:
        call.hung_up()
        driver.ended = True
    world.clock.advance(1000)
    assert pbx.calls == {}, pbx.calls
