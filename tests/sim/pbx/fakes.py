"""Test doubles for the call controller: a LegDriver that records what it is told, and a
tenant builder. Timeline entries read like DOMAIN.md's worked timelines: ``"15 ring 20201"``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.clock import ManualClock
from harness.guide.types import Guide, Settings, Tenant
from harness.sim.pbx.call import LegTarget
from harness.sim.pbx.call import target_number as label
from harness.sim.pbx.routing import CallerId, ReleaseReason

WITHHELD_LABEL = "非通知"

# DOMAIN.md's worked シングルナンバーリーチ: S1=5, S2=10, E=30, 留守番電話 on.
WORKED_REACH: dict[str, Any] = {
    "種別": "シングルナンバーリーチ",
    "接続先番号1": "09011112222",
    "呼出開始時間1": 5,
    "接続先番号2": "0311112222",
    "呼出開始時間2": 10,
    "呼出終了時間": 30,
    "留守番電話": True,
}


@dataclass
class FakeDriver:
    """Records every action as ``"<t> <verb> <object>"`` at the clock's simulated time."""

    clock: ManualClock
    name: str = ""
    timeline: list[str] = field(default_factory=list)
    legs: dict[str, str] = field(default_factory=dict)  # leg id → target label
    caller_ids: dict[str, str] = field(default_factory=dict)  # target label → presented
    stopped: list[str] = field(default_factory=list)
    connected: list[str] = field(default_factory=list)

    def _say(self, text: str) -> None:
        self.timeline.append(f"{self.clock.now():g} {text}")

    def start_leg(self, target: LegTarget, caller_id: CallerId) -> str:
        leg_id = f"{self.name}leg{len(self.legs) + 1}"
        self.legs[leg_id] = label(target)
        self.caller_ids[label(target)] = caller_id.number or WITHHELD_LABEL
        self._say(f"ring {label(target)}")
        return leg_id

    def stop_leg(self, leg: str) -> None:
        self.stopped.append(leg)
        self._say(f"stop {self.legs[leg]}")

    def connect(self, leg: str) -> None:
        self.connected.append(leg)
        self._say(f"connect {self.legs[leg]}")

    def to_voicemail(self, mailbox: str) -> None:
        self._say(f"voicemail {mailbox}")

    def bridge(self, other_call: str) -> None:
        self._say(f"bridge {other_call}")

    def release(self, reason: ReleaseReason) -> None:
        self._say(f"release {reason.value}")

    def leg_to(self, target: str) -> str:
        """The most recent leg started towards ``target``."""
        matches = [leg for leg, t in self.legs.items() if t == target]
        assert matches, f"no leg was started to {target}; timeline: {self.timeline}"
        return matches[-1]


def tenant(settings: dict[str, Any] | None = None) -> Tenant:
    """Site 20 with extensions 20200–20209, site 21 with 21300; two external lines."""
    terminals = [
        {
            "No": i + 1,
            "拠点番号": "20",
            "端末番号": f"{200 + i}",
            "端末ID": f"abcde20{200 + i}",
            "パスワード": "Password1",
            "端末種別": "スマートフォン",
        }
        for i in range(10)
    ]
    terminals.append(
        {
            "No": 11,
            "拠点番号": "21",
            "端末番号": "300",
            "端末ID": "abcde21300",
            "パスワード": "Password1",
            "端末種別": "IP Phone",
        }
    )
    guide = Guide.model_validate(
        {
            "お客様情報": {"ご注文内容": "新設", "内線サーバアドレス": "01234abc.smart-pbx.jp"},
            "管理者アカウント": {"ログインID": "adm01234abc", "パスワード": "Adm1nPass01"},
            "内線番号情報1": terminals,
            "外線番号情報": [
                {"No": 1, "外線番号": "0312345678", "種別": "IP Voice for SmartPBX"},
                {"No": 2, "外線番号": "0312345679", "種別": "IP Voice for SmartPBX"},
            ],
        }
    )
    return Tenant(name="test", guide=guide, settings=Settings.model_validate(settings or {}))
