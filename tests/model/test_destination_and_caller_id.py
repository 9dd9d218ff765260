"""DOMAIN.md "Call routing semantics" rule 1 (destination) and rule 7 (caller ID)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.guide import Settings, Tenant
from harness.model import MissingCallerId, parse_scenario, predict
from tests.model.helpers import call, ev, ring, timeline
from tests.model.tenants import guide

OUTBOUND = {"外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345679"}]}
ROUTED = {
    **OUTBOUND,
    "外線着信設定": [{"外線番号": "0312345678", "着信先": "20200"}],
}


def first_ring(settings: dict[str, Any] | None, caller: str, dialled: str, **params: Any) -> Any:
    events = timeline(settings, call(caller, dialled), **params)["events"]
    return events[0]


def test_full_内線番号_rings_with_the_callers_full_内線番号() -> None:
    assert first_ring(None, "20204", "21300") == ring(0, "21300", "20204")


@pytest.mark.parametrize(
    ("caller", "dialled", "reached"),
    [("20204", "201", "20201"), ("21301", "300", "21300")],
    ids=["拠点20で201", "拠点21で300"],
)
def test_bare_端末番号_reaches_the_extension_of_the_callers_拠点(
    caller: str, dialled: str, reached: str
) -> None:
    assert first_ring(None, caller, dialled) == ring(0, reached, caller)


def test_bare_端末番号_of_another_拠点_is_refused() -> None:
    result = timeline(None, call("21300", "201"))
    assert result == {
        "events": [ev(0, "refused", "21300")],
        "outcome": "refused",
        "answered_by": None,
    }


def test_bare_端末番号_parameter_off_refuses_it() -> None:
    result = timeline(None, call("20204", "201"), bare_terminal_number_within_site=False)
    assert result["outcome"] == "refused"


def test_unknown_digits_are_refused() -> None:
    assert timeline(None, call("20204", "999"))["outcome"] == "refused"


def test_external_call_presents_the_外線発信_number() -> None:
    assert first_ring(OUTBOUND, "20201", "09011112222") == ring(0, "09011112222", "0312345679")


def test_hyphens_in_dialled_digits_are_stripped() -> None:
    assert first_ring(OUTBOUND, "20201", "090-1111-2222") == ring(0, "09011112222", "0312345679")


def test_external_call_without_外線発信設定_is_refused() -> None:
    result = timeline(OUTBOUND, call("20200", "09011112222"))
    assert result == {
        "events": [ev(0, "refused", "20200")],
        "outcome": "refused",
        "answered_by": None,
    }


def test_external_call_without_外線発信設定_goes_out_withheld_when_parameter_says() -> None:
    ringing = first_ring(
        OUTBOUND, "20200", "09011112222", external_call_without_caller_id=MissingCallerId.WITHHELD
    )
    assert ringing == ring(0, "09011112222", "非通知")


@pytest.mark.parametrize(
    ("dialled", "endpoint", "shown"),
    [
        ("18409011112222", "09011112222", "非通知"),
        ("18609011112222", "09011112222", "0312345679"),
        ("18420200", "20200", "非通知"),
        ("18620200", "20200", "20201"),
    ],
    ids=["184外線", "186外線", "184内線", "186内線"],
)
def test_184_withholds_and_186_presents(dialled: str, endpoint: str, shown: str) -> None:
    assert first_ring(OUTBOUND, "20201", dialled) == ring(0, endpoint, shown)


def test_inbound_call_routes_by_外線着信設定_and_shows_the_callers_number() -> None:
    assert first_ring(ROUTED, "090-9999-8888", "0312345678") == ring(0, "20200", "09099998888")


def test_inbound_call_with_184_shows_非通知() -> None:
    assert first_ring(ROUTED, "09099998888", "1840312345678") == ring(0, "20200", "非通知")


@pytest.mark.parametrize(
    "dialled", ["0312345679", "0399999999"], ids=["未設定の外線番号", "他社番号"]
)
def test_inbound_call_to_an_unrouted_number_is_refused(dialled: str) -> None:
    result = timeline(ROUTED, call("09099998888", dialled))
    assert result["events"] == [ev(0, "refused", "09099998888")]


def test_calling_an_own_外線番号_comes_back_in_with_the_外線発信_number() -> None:
    assert first_ring(ROUTED, "20201", "0312345678") == ring(0, "20200", "0312345679")


def test_calling_an_own_外線番号_without_外線着信設定_is_refused_as_from_outside() -> None:
    """The PSTN delivers the number to the tenant that owns it; an unrouted line refuses it at
    once, as it refuses a call from outside (found by the live differential fuzzer)."""
    result = timeline(ROUTED, call("20201", "0312345679"))
    assert result["events"] == [ev(0, "refused", "20201")]


def test_calling_an_own_外線番号_goes_out_when_loop_back_is_off() -> None:
    ringing = first_ring(ROUTED, "20201", "0312345678", own_number_loops_back=False)
    assert ringing == ring(0, "0312345678", "0312345679")


def test_calling_oneself_is_busy() -> None:
    result = timeline(None, call("20200", "20200"))
    assert result == {"events": [ev(0, "busy", "20200")], "outcome": "busy", "answered_by": None}


GROUP = {
    "着信グループ": [{"種別": "一斉着信", "代表番号": "20200", "メンバー": ["20201", "20202"]}]
}


def test_pilot_starts_its_group_and_its_own_terminal_rings_only_as_a_member() -> None:
    events = timeline(GROUP, call("20204", "20200"))["events"]
    assert [e for e in events if e["kind"] == "ring"] == [
        ring(0, "20201", "20204"),
        ring(0, "20202", "20204"),
    ]


def test_pilot_rings_its_own_extension_when_groups_are_not_started_internally() -> None:
    events = timeline(GROUP, call("20204", "20200"), internal_pilot_starts_group=False)["events"]
    assert events[0] == ring(0, "20200", "20204")


@pytest.mark.parametrize("internal_pilot_starts_group", [True, False])
def test_inbound_call_to_a_pilot_starts_the_group(internal_pilot_starts_group: bool) -> None:
    settings = {**GROUP, "外線着信設定": [{"外線番号": "0312345678", "着信先": "20200"}]}
    scenario = call("09099998888", "0312345678")
    events = timeline(settings, scenario, internal_pilot_starts_group=internal_pilot_starts_group)[
        "events"
    ]
    assert [e["endpoint"] for e in events if e["kind"] == "ring"] == ["20201", "20202"]


def test_caller_gives_up_stops_every_leg_and_releases() -> None:
    result = timeline(GROUP, call("20204", "20200", caller_gives_up_after=7))
    assert result["events"][-3:] == [
        ev(7, "stop", "20201"),
        ev(7, "stop", "20202"),
        ev(7, "release", "20204"),
    ]
    assert result["outcome"] == "released"


def test_an_extension_that_starts_like_a_prefix_is_dialled_as_is() -> None:
    odd = Tenant(name="odd", guide=guide(["1840", "1841"], site_digits=1), settings=Settings())
    result = predict(odd, parse_scenario(call("1841", "1840"))).to_json()
    assert result["events"][0] == ring(0, "1840", "1841")
    withheld = predict(odd, parse_scenario(call("1841", "1841840"))).to_json()
    assert withheld["events"][0] == ring(0, "1840", "非通知")
