"""Scenario files and --param overrides: good input loads, bad input names what/where/rule."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.model import (
    DEFAULT_PARAMS,
    EndpointBehaviour,
    EndpointState,
    ModelParams,
    Pickup,
    ReachEndFrom,
    load_scenario,
    scenario_problems,
)
from tests.model.tenants import tenant

GOOD = """\
description: 無応答で携帯に転送
call: {from: "090-9999-8888", to: "0312345678"}
endpoints:
  "20200": {state: unregistered}
  "09011112222": {answer_after: 4}
pickups:
  - {by: "20202", at: 7, code: "*8"}
caller_gives_up_after: 90
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_scenario_loads_every_field(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    assert scenario.caller == "09099998888" and scenario.dialled == "0312345678"
    assert scenario.endpoints == {
        "20200": EndpointBehaviour(state=EndpointState.UNREGISTERED),
        "09011112222": EndpointBehaviour(answer_after=4.0),
    }
    assert scenario.pickups == (Pickup(by="20202", at=7.0, code="*8"),)
    assert scenario.caller_gives_up_after == 90 and scenario.description == "無応答で携帯に転送"


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_scenario(write(tmp_path, text))
    return [str(p) for p in caught.value.problems]


def test_every_problem_is_reported_at_once_with_where_and_rule(tmp_path: Path) -> None:
    text = """\
call: {from: 20204, to: "03-x"}
endpoints:
  "20200": {state: asleep, answer_after: -1, ring: 3}
pickups: [{by: "20202"}]
caller_gives_up_after: 0
colour: red
"""
    problems = problems_of(tmp_path, text)
    expected = [
        "scenario.yaml › colour: unknown key",
        "scenario.yaml › call › from: must be a quoted string",
        "scenario.yaml › call › to: must be digits",
        "scenario.yaml › endpoints › 20200 › ring: unknown key",
        "scenario.yaml › endpoints › 20200 › state: must be one of registered, unregistered, busy",
        "scenario.yaml › endpoints › 20200 › answer_after: must be a number of seconds ≥ 0",
        "scenario.yaml › pickups › row 1 › at: must be a number of seconds ≥ 0",
        "scenario.yaml › caller_gives_up_after: must be a number of seconds > 0",
    ]
    for prefix in expected:
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)
    assert len(problems) == len(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "call: [1, 2",
            "scenario.yaml (line 2, column 1): is not valid YAML (while parsing a flow "
            "sequence did not find expected ',' or ']'; it started at line 1, column 7)",
        ),
        ("- 1\n", "scenario.yaml: must be a mapping with a `call:` entry"),
        ("endpoints: {}\n", "scenario.yaml › call: required"),
    ],
    ids=["YAML構文", "リスト", "callなし"],
)
def test_malformed_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    assert problems_of(tmp_path, text)[0].startswith(message)


def test_a_missing_file_is_refused_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.yaml: file not found: expected .*nope.yaml"):
        load_scenario(tmp_path / "nope.yaml")


def test_scenario_naming_unknown_extensions_is_reported(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(
            tmp_path,
            'call: {from: "29999", to: "20200"}\nendpoints: {"20299": {}}\n'
            'pickups: [{by: "777", at: 1}]\n',
        )
    )
    problems = [str(p) for p in scenario_problems(tenant(), scenario, source="s.yaml")]
    assert [p.split(":")[0] for p in problems] == [
        "s.yaml › call › from",
        "s.yaml › endpoints › 20299",
        "s.yaml › pickups › row 1 › by",
    ]
    assert "must be an extension of tenant test (20200, 20201" in problems[0]


def test_param_overrides_convert_each_type() -> None:
    params = DEFAULT_PARAMS.with_overrides(
        {
            "group_ring_time": "25",
            "skip_unavailable_costs_ring_time": "true",
            "forward_hop_limit": "3",
            "unanswered_ring_limit": "none",
            "reach_end_from": "last_leg_start",
            "pickup_code": "#7",
        }
    )
    assert params.group_ring_time == 25.0 and params.skip_unavailable_costs_ring_time is True
    assert params.forward_hop_limit == 3 and params.unanswered_ring_limit is None
    assert params.reach_end_from is ReachEndFrom.LAST_LEG_START and params.pickup_code == "#7"


def test_bad_param_overrides_name_the_valid_choices() -> None:
    with pytest.raises(InputError) as caught:
        DEFAULT_PARAMS.with_overrides(
            {
                "no_such": "1",
                "group_ring_time": "soon",
                "reach_end_from": "x",
                "forward_hop_limit": "0",
            }
        )
    problems = [str(p) for p in caught.value.problems]
    assert problems[0].startswith("--param no_such: unknown parameter; valid names: ")
    assert "group_ring_time" in problems[0] and "pickup_code" in problems[0]
    assert problems[1] == "--param group_ring_time: must be a number of seconds (found soon)"
    assert problems[2] == "--param reach_end_from: must be one of arrival, last_leg_start (found x)"
    assert problems[3] == "--param forward_hop_limit: must be a whole number ≥ 1 (found 0)"


def alternative_text(name: str, default: object) -> tuple[str, object]:
    """A ``--param`` text for a non-default value of the field, and the value it means."""
    if isinstance(default, StrEnum):
        other = [member for member in type(default) if member is not default][0]
        return other.value, other
    if isinstance(default, bool):
        return str(not default).lower(), not default
    if isinstance(default, int) and not isinstance(default, float):
        return ("5", 5) if default == 3 else ("3", 3)
    if default is None:
        return "30", 30.0
    if name in ("withhold_prefix", "present_prefix"):
        return "none", None
    if isinstance(default, str):
        return "*9", "*9"
    return "7.5", 7.5


def test_every_parameter_can_be_set_by_name_from_text() -> None:
    for field in dataclasses.fields(ModelParams):
        default = getattr(DEFAULT_PARAMS, field.name)
        text, value = alternative_text(field.name, default)
        changed = DEFAULT_PARAMS.with_overrides({field.name: text})
        assert getattr(changed, field.name) == value != default, field.name
        assert dataclasses.replace(changed, **{field.name: default}) == DEFAULT_PARAMS


def test_a_bad_enum_parameter_lists_its_values() -> None:
    with pytest.raises(InputError) as caught:
        DEFAULT_PARAMS.with_overrides({"forward_fallback": "mailbox"})
    assert [str(p) for p in caught.value.problems] == [
        "--param forward_fallback: must be one of none, voicemail (found mailbox)"
    ]
