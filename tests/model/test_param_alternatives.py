"""Every (A) parameter of ModelParams: the default reading and the alternative one differ as
docs/model.md's parameter table says (DOMAIN.md "Call routing semantics").

The parameters that already had such a pair of tests elsewhere are listed in ``ELSEWHERE``;
``test_every_parameter_has_a_default_and_alternative_test`` keeps the two lists complete.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness.model import (
    ForwardFallback,
    InboundCallerId,
    InternalCallerId,
    ModelParams,
    UnsetStateAction,
)
from tests.model.helpers import call, ev, ring, timeline

C = "20203"  # the caller of internal calls
OUT = "09099998888"  # a caller from outside
MOBILE = "09011112222"
LINE = "0312345678"
TESTS = Path(__file__).parent


def forward(to: str, **actions: str) -> dict[str, Any]:
    """A 転送/留守番電話 setting; ``actions`` by state (無条件=…), the rest 設定しない."""
    row: dict[str, Any] = {"種別": "転送/留守番電話", "転送先電話番号": to, "転送動作": actions}
    if actions.get("無応答", "設定しない") != "設定しない":
        row["呼出時間"] = 15
    return row


def ring_group(kind: str, members: list[str], pilot: str = "20200") -> dict[str, Any]:
    return {"種別": kind, "代表番号": pilot, "メンバー": members}


def released(events: list[dict[str, Any]], outcome: str = "released") -> dict[str, Any]:
    return {"events": events, "outcome": outcome, "answered_by": None}


# --- rule 2: groups -------------------------------------------------------------------------


def test_group_members_apply_absence() -> None:
    """Default: a member's 無条件 転送 is ignored inside the group, it rings. Alternative: its
    転送先 rings in its place (showing the member's 外線発信 number), and a member with
    無条件 留守番電話 is left out."""
    settings = {
        "着信グループ": [ring_group("一斉着信", ["20201", "20202", "20204"])],
        "不在時動作設定": {
            "20201": forward(MOBILE, 無条件="転送"),
            "20202": forward(MOBILE, 無条件="留守番電話"),
        },
        "外線発信設定": [{"内線番号": "20201", "発信者番号": LINE}],
    }
    scenario = call(C, "20200")
    assert timeline(settings, scenario) == released(
        [ring(0, "20201", C), ring(0, "20202", C), ring(0, "20204", C)]
        + [ev(20, "stop", e) for e in ("20201", "20202", "20204")]
        + [ev(20, "release", C)]
    )
    assert timeline(settings, scenario, group_members_apply_absence=True) == released(
        [ring(0, MOBILE, LINE), ring(0, "20204", C)]
        + [ev(20, "stop", e) for e in (MOBILE, "20204")]
        + [ev(20, "release", C)]
    )


def test_pilot_rings_as_member() -> None:
    """Default: the 代表番号's terminal rings only as a member. Alternative: it rings as the
    group's first member."""
    settings = {"着信グループ": [ring_group("順次着信", ["20201"])]}
    scenario = call(C, "20200")
    assert timeline(settings, scenario) == released(
        [ring(0, "20201", C), ev(20, "stop", "20201"), ev(20, "release", C)]
    )
    assert timeline(settings, scenario, pilot_rings_as_member=True) == released(
        [
            ring(0, "20200", C),
            ev(20, "stop", "20200"),
            ring(20, "20201", C),
            ev(40, "stop", "20201"),
            ev(40, "release", C),
        ]
    )


def test_simultaneous_empty_ends_at_once() -> None:
    """Default: a 一斉着信 group with no member available ends at t=0. Alternative: at G."""
    settings = {"着信グループ": [ring_group("一斉着信", ["20201", "20202"])]}
    gone = {"state": "unregistered"}
    scenario = call(C, "20200", endpoints={"20201": gone, "20202": {"state": "busy"}})
    assert timeline(settings, scenario) == released([ev(0, "release", C)], "unavailable")
    alternative = timeline(settings, scenario, simultaneous_empty_ends_at_once=False)
    assert alternative == released([ev(20, "release", C)], "unavailable")


# --- rule 4: 転送/留守番電話 -----------------------------------------------------------------


def test_forward_applies_target_settings() -> None:
    """Default: a 転送先 extension applies its own settings. Alternative: it rings plainly."""
    settings = {
        "不在時動作設定": {
            "20201": forward("20202", 無条件="転送"),
            "20202": forward("20204", 無条件="留守番電話"),
        }
    }
    scenario = call(C, "20201", caller_gives_up_after=30)
    assert timeline(settings, scenario) == {
        "events": [ev(0, "voicemail", "20202")],
        "outcome": "voicemail",
        "answered_by": None,
    }
    assert timeline(settings, scenario, forward_applies_target_settings=False) == released(
        [ring(0, "20202", C), ev(30, "stop", "20202"), ev(30, "release", C)]
    )


def test_forward_fallback() -> None:
    """Default: a busy 転送先 gives the caller busy, no further fallback. Alternative
    ``voicemail``: the forwarding extension's voicemail instead."""
    settings = {
        "不在時動作設定": {"20201": forward(MOBILE, 無条件="転送")},
        "外線発信設定": [{"内線番号": "20201", "発信者番号": LINE}],
    }
    busy = call(C, "20201", endpoints={MOBILE: {"state": "busy"}})
    assert timeline(settings, busy) == released([ev(0, "busy", C)], "busy")
    mailbox = {"events": [ev(0, "voicemail", "20201")], "outcome": "voicemail", "answered_by": None}
    assert timeline(settings, busy, forward_fallback=ForwardFallback.VOICEMAIL) == mailbox
    # a 転送先 that rings and then rejects: busy at the rejection, or the voicemail then
    rejecting = call(C, "20201", endpoints={MOBILE: {"reject_after": 5}})
    rang = [ring(0, MOBILE, LINE), ev(5, "stop", MOBILE)]
    assert timeline(settings, rejecting) == released([*rang, ev(5, "busy", C)], "busy")
    alternative = timeline(settings, rejecting, forward_fallback=ForwardFallback.VOICEMAIL)
    assert alternative["events"] == [*rang, ev(5, "voicemail", "20201")]


def test_unset_state_action() -> None:
    """Default: X busy with 話中 = 設定しない gives busy at 0. Alternative ``no_answer_action``:
    nothing rings for 呼出時間, then 無応答's action (here 留守番電話)."""
    settings = {"不在時動作設定": {"20201": forward(MOBILE, 無応答="留守番電話")}}
    scenario = call(C, "20201", endpoints={"20201": {"state": "busy"}})
    assert timeline(settings, scenario) == released([ev(0, "busy", C)], "busy")
    alternative = timeline(settings, scenario, unset_state_action=UnsetStateAction.NO_ANSWER_ACTION)
    assert alternative == {
        "events": [ev(15, "voicemail", "20201")],
        "outcome": "voicemail",
        "answered_by": None,
    }
    # with 無応答 設定しない as well, the alternative has nothing to fall to: busy as by default
    plain = {"不在時動作設定": {"20201": forward(MOBILE, 無条件="設定しない")}}
    assert timeline(plain, scenario, unset_state_action=UnsetStateAction.NO_ANSWER_ACTION) == (
        released([ev(0, "busy", C)], "busy")
    )


def test_caller_gives_up_after_is_the_scenario_default() -> None:
    """Not an (A): when a scenario does not say, the caller gives up at 120 s (parameter)."""
    plain = call(C, "20201")
    end = [ev(120, "stop", "20201"), ev(120, "release", C)]
    assert timeline(None, plain) == released([ring(0, "20201", C), *end])
    assert timeline(None, plain, caller_gives_up_after=45)["events"][-1] == ev(45, "release", C)
    said = call(C, "20201", caller_gives_up_after=30)  # the scenario's own value wins
    assert timeline(None, said, caller_gives_up_after=45)["events"][-1] == ev(30, "release", C)


# --- rule 7: caller ID ------------------------------------------------------------------------


def test_internal_caller_id() -> None:
    """Default: the caller's full 内線番号. Alternative: the bare 端末番号 within one 拠点 (the
    full 内線番号 still across 拠点)."""
    same_site = call(C, "20201")
    other_site = call("21300", "20201")
    assert timeline(None, same_site)["events"][0] == ring(0, "20201", C)
    short = InternalCallerId.TERMINAL_NUMBER_WITHIN_SITE
    assert timeline(None, same_site, internal_caller_id=short)["events"][0] == (
        ring(0, "20201", "203")
    )
    assert timeline(None, other_site, internal_caller_id=short)["events"][0] == (
        ring(0, "20201", "21300")
    )


def test_inbound_caller_id() -> None:
    """Default: a call from outside shows the caller's number (非通知 when withheld).
    Alternative ``dialled_line``: the 外線番号 the call came in on."""
    settings = {"外線着信設定": [{"外線番号": LINE, "着信先": "20201"}]}
    assert timeline(settings, call(OUT, LINE))["events"][0] == ring(0, "20201", OUT)
    assert timeline(settings, call(OUT, "184" + LINE))["events"][0] == ring(0, "20201", "非通知")
    line = InboundCallerId.DIALLED_LINE
    for dialled in (LINE, "184" + LINE):
        first = timeline(settings, call(OUT, dialled), inbound_caller_id=line)["events"][0]
        assert first == ring(0, "20201", LINE)


def test_withhold_and_present_prefixes() -> None:
    """Default: 184 withholds, 186 presents. Alternative: another prefix, or none (the digits
    are dialled as they are; here they then reach nothing and the call is refused)."""
    settings = {"外線発信設定": [{"内線番号": C, "発信者番号": LINE}]}
    refused = released([ev(0, "refused", C)], "refused")
    assert timeline(settings, call(C, "184" + MOBILE))["events"][0] == ring(0, MOBILE, "非通知")
    assert timeline(settings, call(C, "186" + MOBILE))["events"][0] == ring(0, MOBILE, LINE)
    assert timeline(settings, call(C, "184" + MOBILE), withhold_prefix=None) == refused
    assert timeline(settings, call(C, "186" + MOBILE), present_prefix=None) == refused
    moved = timeline(settings, call(C, "1234" + MOBILE), withhold_prefix="1234")
    assert moved["events"][0] == ring(0, MOBILE, "非通知")


# --- completeness -----------------------------------------------------------------------------

#: Parameters whose default-versus-alternative tests live in another module.
ELSEWHERE = {
    "internal_pilot_starts_group": "test_destination_and_caller_id.py",
    "bare_terminal_number_within_site": "test_destination_and_caller_id.py",
    "own_number_loops_back": "test_destination_and_caller_id.py",
    "group_ring_time": "test_groups.py",
    "member_ring_time": "test_groups.py",
    "skip_unavailable_costs_ring_time": "test_groups.py",
    "sequential_rounds": "test_groups.py",
    "unanswered_ring_limit": "test_absence.py",
    "forward_hop_limit": "test_absence.py",
    "reach_rings_extension": "test_absence.py",
    "reach_end_from": "test_absence.py",
    "reach_early_end_when_all_failed": "test_absence.py",
    "external_call_without_caller_id": "test_destination_and_caller_id.py",
    "forwarded_external_caller_id": "test_absence.py",
    "pickup_code": "test_groups.py",
    # mailbox retrieval: the model does not follow such calls; the simulator's tests do
    "voicemail_access_code": "../sim/pbx/test_service_records.py",
    "voicemail_password_attempts": "../sim/pbx/test_retrieval.py",
    # not an (A): only keeps the model total for documents validation refuses
    "default_no_answer_ring_time": "",
}


def test_every_parameter_has_a_default_and_alternative_test() -> None:
    here = (TESTS / "test_param_alternatives.py").read_text(encoding="utf-8")
    for field in dataclasses.fields(ModelParams):
        module = ELSEWHERE.get(field.name)
        if module is None:
            assert f"{field.name}=" in here, f"{field.name}: no alternative tested here"
        elif module:
            text = (TESTS / module).read_text(encoding="utf-8")
            assert f"{field.name}=" in text, f"{field.name}: not exercised in {module}"


def test_every_parameter_has_a_row_in_docs_model_md() -> None:
    docs = (TESTS.parents[1] / "docs" / "model.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in docs.splitlines()
        if line.startswith("| `")
    }
    assert {field.name for field in dataclasses.fields(ModelParams)} <= rows
