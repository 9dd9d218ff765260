"""Hypothesis strategies for the model's property tests: small valid tenants and scenarios.

Tenants are built directly (every group kind, every 不在時動作 option, forwarding chains that
may loop); scenarios pick callers and dialled digits that hit every destination rule.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Any

from hypothesis import strategies as st

from harness.guide import ForwardAbsence, Settings, Tenant
from harness.guide.strategies import tenants as guide_tenants
from harness.model import (
    DEFAULT_PARAMS,
    EndpointBehaviour,
    EndpointState,
    ModelParams,
    Pickup,
    Scenario,
)
from tests.model.tenants import guide

LINES = ("0312345678", "0312345679")
OUTSIDE = ("09011112222", "0311112222", "08033334444", "09099998888")
ACTIONS = ("転送", "留守番電話", "設定しない")


@st.composite
def tenants(draw: st.DrawFn) -> Tenant:
    sites = draw(st.lists(st.sampled_from(["20", "21"]), min_size=1, max_size=2, unique=True))
    terminals = draw(
        st.lists(st.sampled_from(["200", "201", "202", "203", "300"]), min_size=2, unique=True)
    )
    extensions = sorted({site + t for site in sites for t in terminals})
    ext = st.sampled_from(extensions)
    settings: dict[str, Any] = {}
    groups: list[dict[str, Any]] = []
    pilots = draw(st.lists(ext, max_size=2, unique=True))
    for pilot in pilots:
        kind = draw(st.sampled_from(["順次着信", "一斉着信"]))
        members = draw(st.lists(ext, min_size=1, max_size=4, unique=True))
        group: dict[str, Any] = {"種別": kind, "代表番号": pilot, "メンバー": members}
        if draw(st.booleans()):
            group["呼出時間"] = draw(st.integers(5, 60))
        groups.append(group)
    pickup = draw(st.lists(ext, max_size=3, unique=True))
    if len(pickup) >= 2:
        groups.append({"種別": "コールピックアップ", "メンバー": pickup})
    settings["着信グループ"] = groups
    outbound = draw(st.lists(ext, unique=True))
    settings["外線発信設定"] = [
        {"内線番号": e, "発信者番号": draw(st.sampled_from(LINES))} for e in outbound
    ]
    targets = extensions + pilots
    settings["外線着信設定"] = [
        {"外線番号": line, "着信先": draw(st.sampled_from(targets))}
        for line in LINES
        if draw(st.booleans())
    ]
    absence: dict[str, Any] = {}
    for extension in draw(st.lists(ext, unique=True)):
        others = [e for e in extensions if e != extension] + list(OUTSIDE[:3])
        if draw(st.booleans()):
            actions = {
                state: draw(st.sampled_from(ACTIONS))
                for state in ("無条件", "話中", "圏外", "無応答")
            }
            row: dict[str, Any] = {"種別": "転送/留守番電話", "転送動作": actions}
            if "転送" in actions.values():
                row["転送先電話番号"] = draw(st.sampled_from(others))
            if actions["無応答"] != "設定しない":
                row["呼出時間"] = draw(st.integers(5, 30))
        else:
            row = {
                "種別": "シングルナンバーリーチ",
                "接続先番号1": draw(st.sampled_from(others)),
                "呼出開始時間1": draw(st.integers(1, 30)),
                "呼出終了時間": draw(st.integers(5, 60)),
                "留守番電話": draw(st.booleans()),
            }
            if draw(st.booleans()):
                row["接続先番号2"] = draw(st.sampled_from(others))
                row["呼出開始時間2"] = draw(st.integers(1, 30))
        absence[extension] = row
    settings["不在時動作設定"] = absence
    return Tenant(
        name="generated",
        guide=guide(extensions, lines=LINES),
        settings=Settings.model_validate(settings),
    )


def numbers_in_settings(tenant: Tenant) -> list[str]:
    """Every 転送先 and 接続先 of the tenant's 不在時動作 (so scenarios give them behaviours)."""
    found: list[str] = []
    for absence in tenant.settings.absence.values():
        if isinstance(absence, ForwardAbsence):
            found.append(absence.forward_to or "")
        else:
            found += [absence.reach_number_1, absence.reach_number_2 or ""]
    return sorted({n.replace("-", "") for n in found if n})


def lines_of(tenant: Tenant) -> list[str]:
    return [line.external_number for line in tenant.guide.external_lines]


@st.composite
def scenarios(draw: st.DrawFn, tenant: Tenant) -> Scenario:
    """A call on ``tenant``: any caller (inside or out), digits that hit every rule of
    destination resolution, behaviours for most endpoints, maybe pickups and a give-up time."""
    extensions = [t.extension for t in tenant.guide.terminals]
    outside = sorted(set(OUTSIDE) | set(numbers_in_settings(tenant)))
    caller = draw(st.sampled_from(extensions + list(OUTSIDE)))
    bare = [t.terminal_number for t in tenant.guide.terminals]
    dialled = draw(st.sampled_from(extensions + bare + lines_of(tenant) + outside + ["999"]))
    prefix = draw(st.sampled_from(["", "", "", "184", "186"]))
    endpoints: dict[str, EndpointBehaviour] = {}
    for number in sorted(set(extensions + outside)):
        if draw(st.integers(0, 3)) == 0:
            continue  # default: registered, never answers
        endpoints[number] = EndpointBehaviour(
            state=draw(st.sampled_from([EndpointState.REGISTERED] * 2 + list(EndpointState))),
            answer_after=draw(st.none() | st.integers(0, 40).map(float) | st.just(7.5)),
            reject_after=draw(st.none() | st.none() | st.integers(1, 30).map(float)),
        )
    pickups = tuple(
        Pickup(by=by, at=float(at))
        for by, at in draw(
            st.lists(st.tuples(st.sampled_from(extensions), st.integers(0, 60)), max_size=2)
        )
    )
    gives_up = draw(st.none() | st.integers(10, 150).map(float))
    return Scenario(
        caller=caller,
        dialled=prefix + dialled,
        endpoints=endpoints,
        pickups=pickups,
        caller_gives_up_after=gives_up,
    )


@st.composite
def tenants_and_scenarios(draw: st.DrawFn) -> tuple[Tenant, Scenario]:
    """Our small dense tenants, or the guide helper's valid tenants of any numbering."""
    tenant = draw(tenants() | guide_tenants(max_extensions=8))
    return tenant, draw(scenarios(tenant))


@st.composite
def model_params(draw: st.DrawFn) -> ModelParams:
    """Any combination of the model's parameters: each field its default or an alternative
    (enums: any value; booleans: either; numbers: a small range; prefixes: default or none)."""
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(ModelParams):
        default = getattr(DEFAULT_PARAMS, field.name)
        if isinstance(default, StrEnum):
            changes[field.name] = draw(st.sampled_from(list(type(default))))
        elif isinstance(default, bool):
            changes[field.name] = draw(st.booleans())
        elif field.name in ("sequential_rounds", "forward_hop_limit"):
            changes[field.name] = draw(st.integers(1, default + 2))
        elif field.name == "unanswered_ring_limit":
            changes[field.name] = draw(st.none() | st.integers(5, 60).map(float))
        elif field.name in ("withhold_prefix", "present_prefix"):
            changes[field.name] = draw(st.sampled_from([default, None]))
        elif field.name == "pickup_code":
            changes[field.name] = draw(st.sampled_from(["*8", "*9"]))
        else:  # seconds
            changes[field.name] = float(draw(st.integers(5, 150)))
    return dataclasses.replace(DEFAULT_PARAMS, **changes)
