"""Endpoints that ring and then reject busy (``reject_after``), under every routing rule
(docs/model.md "Scenario file": what a rejection does by rule)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import InputError
from harness.model import EndpointBehaviour, load_scenario
from tests.model.helpers import call, ev, ring, timeline

C = "20204"
MOBILE = "09011112222"
LINE = "0312345678"


def group(kind: str, members: list[str]) -> dict[str, Any]:
    return {"着信グループ": [{"種別": kind, "代表番号": "20200", "メンバー": members}]}


def rejects(after: float) -> dict[str, Any]:
    return {"reject_after": after}


def test_a_rejecting_sequential_member_hands_on_to_the_next_at_once() -> None:
    result = timeline(
        group("順次着信", ["20201", "20202"]), call(C, "20200", endpoints={"20201": rejects(3)})
    )
    assert result["events"] == [
        ring(0, "20201", C),
        ev(3, "stop", "20201"),
        ring(3, "20202", C),
        ev(23, "stop", "20202"),
        ev(23, "release", C),
    ]


def test_a_rejecting_simultaneous_member_drops_only_its_leg() -> None:
    settings = group("一斉着信", ["20201", "20202"])
    result = timeline(settings, call(C, "20200", endpoints={"20201": rejects(3)}))
    assert result["events"] == [
        ring(0, "20201", C),
        ring(0, "20202", C),
        ev(3, "stop", "20201"),
        ev(20, "stop", "20202"),
        ev(20, "release", C),
    ]
    everyone = call(C, "20200", endpoints={"20201": rejects(3), "20202": rejects(5)})
    result = timeline(settings, everyone)
    assert result["events"][2:] == [
        ev(3, "stop", "20201"),
        ev(5, "stop", "20202"),
        ev(5, "release", C),
    ]
    assert result["outcome"] == "unavailable"
    waits = timeline(settings, everyone, simultaneous_empty_ends_at_once=False)
    assert waits["events"][-1] == ev(20, "release", C) and waits["outcome"] == "released"


def test_a_rejecting_plain_extension_gives_the_caller_busy() -> None:
    result = timeline(None, call(C, "20201", endpoints={"20201": rejects(4)}))
    assert result == {
        "events": [ring(0, "20201", C), ev(4, "stop", "20201"), ev(4, "busy", C)],
        "outcome": "busy",
        "answered_by": None,
    }


def test_a_rejecting_extension_with_話中_転送_is_forwarded_at_the_rejection() -> None:
    settings = {
        "不在時動作設定": {
            "20201": {
                "種別": "転送/留守番電話",
                "転送先電話番号": MOBILE,
                "転送動作": {"話中": "転送", "無応答": "留守番電話"},
                "呼出時間": 15,
            }
        },
        "外線発信設定": [{"内線番号": "20201", "発信者番号": LINE}],
    }
    scenario = call(C, "20201", endpoints={"20201": rejects(4), MOBILE: {"answer_after": 2}})
    assert timeline(settings, scenario)["events"] == [
        ring(0, "20201", C),
        ev(4, "stop", "20201"),
        ring(4, MOBILE, LINE),
        ev(6, "answer", MOBILE),
    ]


def test_a_rejecting_reach_leg_counts_as_failed() -> None:
    settings = {
        "不在時動作設定": {
            "20201": {
                "種別": "シングルナンバーリーチ",
                "接続先番号1": MOBILE,
                "呼出開始時間1": 5,
                "呼出終了時間": 30,
                "留守番電話": True,
            }
        },
        "外線発信設定": [{"内線番号": "20201", "発信者番号": LINE}],
    }
    scenario = call(C, "20201", endpoints={"20201": rejects(2), MOBILE: rejects(3)})
    assert timeline(settings, scenario)["events"] == [
        ring(0, "20201", C),
        ev(2, "stop", "20201"),
        ring(5, MOBILE, LINE),
        ev(8, "stop", MOBILE),
        ev(8, "voicemail", "20201"),
    ]
    # a leg still pending keeps the call going: only X rejected, the 接続先 rings at 5
    pending = call(C, "20201", endpoints={"20201": rejects(2)})
    assert timeline(settings, pending)["events"][-1] == ev(30, "voicemail", "20201")


def test_an_answer_at_the_same_instant_as_the_rejection_wins() -> None:
    both = {"answer_after": 4, "reject_after": 4}
    result = timeline(None, call(C, "20201", endpoints={"20201": both}))
    assert result["events"] == [ring(0, "20201", C), ev(4, "answer", "20201")]
    later = {"answer_after": 5, "reject_after": 4}
    assert timeline(None, call(C, "20201", endpoints={"20201": later}))["outcome"] == "busy"


def test_reject_after_loads_and_a_bad_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        'call: {from: "20204", to: "20201"}\nendpoints:\n  "20201": {reject_after: 3}\n',
        encoding="utf-8",
    )
    assert load_scenario(path).endpoints == {"20201": EndpointBehaviour(reject_after=3.0)}
    path.write_text(
        'call: {from: "20204", to: "20201"}\nendpoints:\n  "20201": {reject_after: 0}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert [str(p) for p in caught.value.problems] == [
        "scenario.yaml › endpoints › 20201 › reject_after: must be a number of seconds > 0 "
        "(found 0)"
    ]
