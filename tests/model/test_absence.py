"""DOMAIN.md routing rules 4–6: 転送/留守番電話, シングルナンバーリーチ, voicemail."""

from __future__ import annotations

from typing import Any

import pytest

from harness.model import ForwardedCallerId, ReachEndFrom
from tests.model.helpers import call, ev, ring, timeline

C = "20204"
X = "20201"
OUTBOUND = [{"内線番号": X, "発信者番号": "0312345678"}]


def forwarding(
    ext: str = X, *, to: str | None = "09011112222", ring_time: int | None = 15, **actions: str
) -> dict[str, Any]:
    names = {
        "unconditional": "無条件",
        "busy": "話中",
        "unreachable": "圏外",
        "no_answer": "無応答",
    }
    row: dict[str, Any] = {
        "種別": "転送/留守番電話",
        "転送動作": {names[k]: v for k, v in actions.items()},
    }
    if to is not None:
        row["転送先電話番号"] = to
    if ring_time is not None:
        row["呼出時間"] = ring_time
    return {ext: row}


def settings(*absences: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for absence in absences:
        merged.update(absence)
    return {"外線発信設定": OUTBOUND, "不在時動作設定": merged}


# --- 転送/留守番電話, state by state ------------------------------------------------------------


def test_無条件_転送_acts_at_0_and_X_does_not_ring() -> None:
    result = timeline(settings(forwarding(unconditional="転送")), call(C, X))
    assert result["events"][0] == ring(0, "09011112222", "0312345678")
    assert all(e["endpoint"] != X for e in result["events"])


def test_無条件_留守番電話_goes_to_Xs_voicemail_at_0() -> None:
    result = timeline(settings(forwarding(unconditional="留守番電話")), call(C, X))
    assert result == {
        "events": [ev(0, "voicemail", X)],
        "outcome": "voicemail",
        "answered_by": None,
    }


@pytest.mark.parametrize(
    ("state", "setting", "outcome"),
    [
        ("unregistered", {"unreachable": "留守番電話"}, "voicemail"),
        ("busy", {"busy": "留守番電話"}, "voicemail"),
        ("unregistered", {"busy": "留守番電話"}, "unavailable"),
        ("busy", {"unreachable": "留守番電話"}, "busy"),
        ("unregistered", {}, "unavailable"),
        ("busy", {}, "busy"),
    ],
    ids=[
        "圏外→留守電",
        "話中→留守電",
        "圏外_設定しない",
        "話中_設定しない",
        "圏外_未設定",
        "話中_未設定",
    ],
)
def test_holding_state_acts_at_0_or_gives_busy_unavailable(
    state: str, setting: dict[str, str], outcome: str
) -> None:
    result = timeline(settings(forwarding(**setting)), call(C, X, endpoints={X: {"state": state}}))
    assert result["outcome"] == outcome
    assert len(result["events"]) == 1 and result["events"][0]["t"] == 0


def test_話中_転送_rings_the_転送先_at_0() -> None:
    scenario = call(C, X, endpoints={X: {"state": "busy"}})
    assert timeline(settings(forwarding(busy="転送")), scenario)["events"][0] == ring(
        0, "09011112222", "0312345678"
    )


def test_無応答_留守番電話_at_呼出時間() -> None:
    result = timeline(settings(forwarding(no_answer="留守番電話", ring_time=25)), call(C, X))
    assert result["events"] == [ring(0, X, C), ev(25, "stop", X), ev(25, "voicemail", X)]


def test_answer_at_呼出時間_wins_over_the_無応答_timer() -> None:
    scenario = call(C, X, endpoints={X: {"answer_after": 15}})
    result = timeline(settings(forwarding(no_answer="転送")), scenario)
    assert result["answered_by"] == X and result["events"][-1] == ev(15, "answer", X)


def test_without_無応答_X_rings_until_the_caller_gives_up() -> None:
    result = timeline(settings(forwarding(busy="転送")), call(C, X, caller_gives_up_after=50))
    assert result["events"] == [ring(0, X, C), ev(50, "stop", X), ev(50, "release", C)]
    limited = timeline(None, call(C, X), unanswered_ring_limit=30)
    assert limited["events"] == [ring(0, X, C), ev(30, "stop", X), ev(30, "release", C)]


def test_転送_to_an_extension_applies_its_settings() -> None:
    chain = settings(
        forwarding(to="20202", no_answer="転送"),
        forwarding("20202", to=None, ring_time=None, unconditional="留守番電話"),
    )
    result = timeline(chain, call(C, X))
    assert result["events"] == [ring(0, X, C), ev(15, "stop", X), ev(15, "voicemail", "20202")]


def test_転送先_as_bare_端末番号_within_Xs_拠点_shows_the_original_caller() -> None:
    result = timeline(settings(forwarding(to="202", unconditional="転送")), call(C, X))
    assert result["events"][0] == ring(0, "20202", C)


def test_転送_to_a_group_pilot_starts_the_group() -> None:
    base = settings(forwarding(to="20200", unconditional="転送"))
    base["着信グループ"] = [
        {"種別": "一斉着信", "代表番号": "20200", "メンバー": ["20202", "20203"]}
    ]
    result = timeline(base, call(C, X))
    assert [e["endpoint"] for e in result["events"] if e["kind"] == "ring"] == ["20202", "20203"]


def chain_of(extensions: list[str]) -> dict[str, Any]:
    """Each extension forwards unconditionally to the next."""
    rows = [
        forwarding(a, to=b, ring_time=None, unconditional="転送")
        for a, b in zip(extensions, extensions[1:], strict=False)
    ]
    return settings(*rows)


def test_five_hops_are_followed() -> None:
    chain = chain_of(["20200", "20201", "20202", "20203", "21300", "21301"])
    assert timeline(chain, call(C, "20200"))["events"][0] == ring(0, "21301", C)


def test_the_sixth_hop_makes_the_call_unavailable_and_the_limit_is_a_parameter() -> None:
    loop = chain_of(["20200", "20201", "20200"])
    assert timeline(loop, call(C, "20200"))["events"] == [ev(0, "release", C)]
    assert timeline(loop, call(C, "20200"))["outcome"] == "unavailable"
    chain = chain_of(["20200", "20201", "20202", "20203", "21300", "21301"])
    assert timeline(chain, call(C, "20200"), forward_hop_limit=4)["outcome"] == "unavailable"


@pytest.mark.parametrize(("state", "outcome"), [("busy", "busy"), ("unregistered", "unavailable")])
def test_転送先_external_busy_or_unreachable_has_no_fallback(state: str, outcome: str) -> None:
    scenario = call(C, X, endpoints={"09011112222": {"state": state}})
    result = timeline(settings(forwarding(no_answer="転送")), scenario)
    assert result["events"][:2] == [ring(0, X, C), ev(15, "stop", X)]
    assert result["outcome"] == outcome and result["events"][-1]["t"] == 15


def test_転送_to_external_without_外線発信_number_is_unavailable() -> None:
    no_outbound = {"不在時動作設定": forwarding(unconditional="転送")}
    assert timeline(no_outbound, call(C, X))["outcome"] == "unavailable"
    passed = timeline(
        no_outbound, call(C, X), forwarded_external_caller_id=ForwardedCallerId.ORIGINAL_CALLER
    )
    assert passed["events"][0] == ring(0, "09011112222", C)


def test_inbound_call_forwarded_outside_shows_Xs_外線発信_number() -> None:
    routed = settings(forwarding(unconditional="転送"))
    routed["外線着信設定"] = [{"外線番号": "0312345679", "着信先": X}]
    result = timeline(routed, call("09099998888", "1840312345679"))
    assert result["events"][0] == ring(0, "09011112222", "0312345678")


# --- シングルナンバーリーチ ----------------------------------------------------------------------


def reach(
    end: int = 30, voicemail: bool = True, start2: int = 10, number2: str = "0311112222"
) -> dict[str, Any]:
    return settings(
        {
            X: {
                "種別": "シングルナンバーリーチ",
                "接続先番号1": "09011112222",
                "呼出開始時間1": 5,
                "接続先番号2": number2,
                "呼出開始時間2": start2,
                "呼出終了時間": end,
                "留守番電話": voicemail,
            }
        }
    )


def test_reach_first_answer_wins() -> None:
    result = timeline(reach(), call(C, X, endpoints={"09011112222": {"answer_after": 2}}))
    assert result["events"] == [
        ring(0, X, C),
        ring(5, "09011112222", "0312345678"),
        ev(7, "stop", X),
        ev(7, "answer", "09011112222"),
    ]


def test_reach_leg_starting_at_or_after_the_end_never_rings() -> None:
    result = timeline(reach(end=10), call(C, X))
    assert [e["endpoint"] for e in result["events"] if e["kind"] == "ring"] == [X, "09011112222"]


def test_reach_without_voicemail_is_released_at_the_end() -> None:
    assert timeline(reach(voicemail=False), call(C, X))["events"][-1] == ev(30, "release", C)


def test_reach_ends_at_once_when_every_leg_failed() -> None:
    failed = {
        X: {"state": "unregistered"},
        "09011112222": {"state": "busy"},
        "0311112222": {"state": "unregistered"},
    }
    assert timeline(reach(), call(C, X, endpoints=failed))["events"] == [ev(10, "voicemail", X)]
    late = timeline(reach(), call(C, X, endpoints=failed), reach_early_end_when_all_failed=False)
    assert late["events"] == [ev(30, "voicemail", X)]
    silent = timeline(reach(voicemail=False), call(C, X, endpoints=failed))
    assert silent["outcome"] == "unavailable" and silent["events"][-1]["t"] == 10


def test_reach_extension_ringing_and_end_measure_are_parameters() -> None:
    no_x = timeline(reach(), call(C, X), reach_rings_extension=False)
    assert no_x["events"][0] == ring(5, "09011112222", "0312345678")
    last = timeline(reach(), call(C, X), reach_end_from=ReachEndFrom.LAST_LEG_START)
    assert last["events"][-1] == ev(40, "voicemail", X)


def test_reach_leg_to_an_extension_shows_the_original_caller() -> None:
    result = timeline(reach(number2="20203"), call(C, X))
    assert ring(10, "20203", C) in result["events"]
