"""DOMAIN.md "Call routing semantics" rule 2 (一斉着信), 3 (順次着信) and 8 (コールピックアップ)."""

from __future__ import annotations

from typing import Any

from tests.model.helpers import call, ev, ring, timeline

C = "20204"


def group(kind: str, members: list[str], **extra: Any) -> dict[str, Any]:
    return {"着信グループ": [{"種別": kind, "代表番号": "20200", "メンバー": members, **extra}]}


SIMULTANEOUS = group("一斉着信", ["20201", "20202", "20203"])
SEQUENTIAL = group("順次着信", ["20201", "20202", "20203"])


def rings(result: dict[str, Any]) -> list[tuple[float, str]]:
    return [(e["t"], e["endpoint"]) for e in result["events"] if e["kind"] == "ring"]


# --- 一斉着信 ---------------------------------------------------------------------------------


def test_一斉着信_first_answer_wins_and_the_other_legs_stop() -> None:
    result = timeline(SIMULTANEOUS, call(C, "20200", endpoints={"20202": {"answer_after": 6}}))
    assert result == {
        "events": [
            ring(0, "20201", C),
            ring(0, "20202", C),
            ring(0, "20203", C),
            ev(6, "stop", "20201"),
            ev(6, "stop", "20203"),
            ev(6, "answer", "20202"),
        ],
        "outcome": "answered",
        "answered_by": "20202",
    }


def test_一斉着信_unanswered_ends_at_G() -> None:
    result = timeline(SIMULTANEOUS, call(C, "20200"))
    assert result["events"][-1] == ev(20, "release", C)
    assert result["outcome"] == "released"


def test_一斉着信_G_is_a_parameter_and_the_groups_呼出時間_wins() -> None:
    assert timeline(SIMULTANEOUS, call(C, "20200"), group_ring_time=25)["events"][-1]["t"] == 25
    explicit = group("一斉着信", ["20201"], 呼出時間=12)
    assert timeline(explicit, call(C, "20200"), group_ring_time=25)["events"][-1]["t"] == 12


def test_一斉着信_rings_only_available_members() -> None:
    scenario = call(
        C, "20200", endpoints={"20201": {"state": "busy"}, "20203": {"state": "unregistered"}}
    )
    assert rings(timeline(SIMULTANEOUS, scenario)) == [(0, "20202")]


def test_一斉着信_with_no_member_available_ends_at_0_unavailable() -> None:
    scenario = call(
        C, "20200", endpoints={m: {"state": "unregistered"} for m in ["20201", "20202", "20203"]}
    )
    assert timeline(SIMULTANEOUS, scenario) == {
        "events": [ev(0, "release", C)],
        "outcome": "unavailable",
        "answered_by": None,
    }


def test_members_own_不在時動作_is_not_applied_inside_a_group() -> None:
    settings = {
        **SIMULTANEOUS,
        "不在時動作設定": {
            "20201": {"種別": "転送/留守番電話", "転送動作": {"無条件": "留守番電話"}}
        },
    }
    assert rings(timeline(settings, call(C, "20200")))[0] == (0, "20201")


# --- 順次着信 ---------------------------------------------------------------------------------


def test_順次着信_second_member_answers() -> None:
    result = timeline(SEQUENTIAL, call(C, "20200", endpoints={"20202": {"answer_after": 3}}))
    assert result["events"] == [
        ring(0, "20201", C),
        ev(20, "stop", "20201"),
        ring(20, "20202", C),
        ev(23, "answer", "20202"),
    ]


def test_順次着信_skips_an_unavailable_member_at_once() -> None:
    scenario = call(C, "20200", endpoints={"20202": {"state": "busy"}})
    assert rings(timeline(SEQUENTIAL, scenario)) == [(0, "20201"), (20, "20203")]


def test_順次着信_skip_can_cost_T() -> None:
    scenario = call(C, "20200", endpoints={"20202": {"state": "unregistered"}})
    result = timeline(SEQUENTIAL, scenario, skip_unavailable_costs_ring_time=True)
    assert rings(result) == [(0, "20201"), (40, "20203")]
    assert result["events"][-1] == ev(60, "release", C)


def test_順次着信_T_is_a_parameter_and_the_groups_呼出時間_wins() -> None:
    assert rings(timeline(SEQUENTIAL, call(C, "20200"), member_ring_time=10)) == [
        (0, "20201"),
        (10, "20202"),
        (20, "20203"),
    ]
    explicit = group("順次着信", ["20201", "20202"], 呼出時間=7)
    assert rings(timeline(explicit, call(C, "20200"), member_ring_time=10)) == [
        (0, "20201"),
        (7, "20202"),
    ]


def test_順次着信_does_not_loop_unless_rounds_say_so() -> None:
    two = group("順次着信", ["20201", "20202"])
    assert len(rings(timeline(two, call(C, "20200")))) == 2
    assert rings(timeline(two, call(C, "20200"), sequential_rounds=2)) == [
        (0, "20201"),
        (20, "20202"),
        (40, "20201"),
        (60, "20202"),
    ]


def test_順次着信_with_no_member_available_is_unavailable_at_0() -> None:
    scenario = call(
        C, "20200", endpoints={m: {"state": "busy"} for m in ["20201", "20202", "20203"]}
    )
    assert timeline(SEQUENTIAL, scenario)["events"] == [ev(0, "release", C)]


# --- コールピックアップ -------------------------------------------------------------------------

PICKUP = {"着信グループ": [{"種別": "コールピックアップ", "メンバー": ["20201", "20202"]}]}


def test_pickup_member_answers_another_members_ringing_call() -> None:
    result = timeline(PICKUP, call(C, "20201", pickups=[{"by": "20202", "at": 7}]))
    assert result == {
        "events": [ring(0, "20201", C), ev(7, "stop", "20201"), ev(7, "answer", "20202")],
        "outcome": "answered",
        "answered_by": "20202",
    }


def test_pickup_by_a_non_member_or_with_a_wrong_code_does_nothing() -> None:
    outsider = timeline(PICKUP, call(C, "20201", pickups=[{"by": "20203", "at": 7}]))
    wrong_code = timeline(
        PICKUP, call(C, "20201", pickups=[{"by": "20202", "at": 7, "code": "*9"}])
    )
    for result in (outsider, wrong_code):
        assert result["outcome"] == "released"
        assert result["events"][-1] == ev(120, "release", C)


def test_pickup_code_is_a_parameter() -> None:
    scenario = call(C, "20201", pickups=[{"by": "20202", "at": 7, "code": "#7"}])
    assert timeline(PICKUP, scenario, pickup_code="#7")["answered_by"] == "20202"
    assert timeline(PICKUP, scenario)["answered_by"] is None


def test_pickup_when_nothing_of_the_group_rings_does_nothing() -> None:
    result = timeline(PICKUP, call(C, "20203", pickups=[{"by": "20202", "at": 3}]))
    assert result["answered_by"] is None
