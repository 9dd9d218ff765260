"""Scenarios: one call and how every endpoint behaves during it.

Scenario file (YAML), the format of issue 2 plus optional pickups::

    description: 無応答で携帯に転送          # optional, free text
    call: {from: "09099998888", to: "0312345678"}  # from: extension or external number;
                                                   # to: the dialled digits (184/186 allowed)
    endpoints:            # per endpoint; default: registered, idle, never answers
      "20200": {state: unregistered}               # registered | unregistered | busy
      "09011112222": {answer_after: 4}             # seconds after it starts ringing
      "20201": {reject_after: 3}                   # rings, then rejects busy (486) after 3 s
    pickups:              # optional: a pickup-group member dials the pickup code at t
      - {by: "20202", at: 7}                       # code: optional, default the model's *8
    caller_gives_up_after: 120                     # optional, default the model's (120)

For an external endpoint, ``unregistered`` means unreachable (圏外 / not in service) and
``busy`` means the line is busy. ``reject_after`` (> 0): the endpoint rings, then rejects the
call busy (486) that many seconds after it started ringing, unless it answered first; its leg
stops then (docs/model.md says what that does under each rule). Numbers must be quoted
strings: YAML reads ``0312345678`` unquoted as an integer and drops the leading zero. Hyphens
are allowed and stripped.

:func:`load_scenario` is the only function of ``harness.model`` that does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from harness.errors import InputError, Problem
from harness.guide.source import read_yaml


class EndpointState(StrEnum):
    """An endpoint's state for the whole call (DOMAIN.md "Call routing semantics")."""

    REGISTERED = "registered"
    UNREGISTERED = "unregistered"
    BUSY = "busy"


@dataclass(frozen=True, kw_only=True)
class EndpointBehaviour:
    """How one endpoint behaves: its state, when it answers once it rings (None: never), and
    when it rejects busy once it rings (None: never)."""

    state: EndpointState = EndpointState.REGISTERED
    answer_after: float | None = None
    reject_after: float | None = None


IDLE = EndpointBehaviour()


@dataclass(frozen=True, kw_only=True)
class Pickup:
    """At ``at``, extension ``by`` dials ``code`` (None: the model's pickup code)."""

    by: str
    at: float
    code: str | None = None


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """One call: ``caller`` dials ``dialled``. Numbers are digits, hyphens already stripped
    (``dialled`` may start with ``*``)."""

    caller: str
    dialled: str
    endpoints: Mapping[str, EndpointBehaviour] = field(default_factory=dict)
    pickups: tuple[Pickup, ...] = ()
    caller_gives_up_after: float | None = None
    description: str = ""

    def behaviour(self, endpoint: str) -> EndpointBehaviour:
        return self.endpoints.get(endpoint, IDLE)

    @cached_property
    def rejects(self) -> bool:
        """Some endpoint rings and then rejects (``reject_after``)."""
        return any(b.reject_after is not None for b in self.endpoints.values())


_NUMBER = re.compile(r"[0-9*#][0-9-]*")
_ENDPOINT_KEYS = ("state", "answer_after", "reject_after")
_TOP_KEYS = ("description", "call", "endpoints", "pickups", "caller_gives_up_after")


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; InputError lists every problem (never a traceback).

    The file is read like the tenant documents (``harness.guide.source.read_yaml``): a regular
    UTF-8 file of at most 1 MiB, without YAML aliases.
    """
    source = read_yaml(path, label=path.name)
    if source.problems:
        raise InputError(source.problems, subject="scenario")
    return parse_scenario(source.data, source=path.name)


def parse_scenario(data: object, *, source: str = "scenario") -> Scenario:
    """Build a Scenario from parsed YAML/JSON data, collecting every problem."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise InputError(
            [Problem(where=source, rule="must be a mapping with a `call:` entry")],
            subject="scenario",
        )
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(
                Problem(
                    where=f"{source} › {key}", rule="unknown key; valid: " + ", ".join(_TOP_KEYS)
                )
            )
    caller, dialled = _call(data.get("call"), f"{source} › call", problems)
    endpoints = _endpoints(data.get("endpoints", {}), f"{source} › endpoints", problems)
    pickups = _pickups(data.get("pickups", []), f"{source} › pickups", problems)
    gives_up = data.get("caller_gives_up_after")
    if gives_up is not None:
        gives_up = _seconds(gives_up, f"{source} › caller_gives_up_after", problems, positive=True)
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(Problem(where=f"{source} › description", rule="must be text"))
        description = ""
    if problems:
        raise InputError(problems, subject="scenario")
    return Scenario(
        caller=caller,
        dialled=dialled,
        endpoints=endpoints,
        pickups=pickups,
        caller_gives_up_after=gives_up,
        description=description,
    )


def _call(value: object, where: str, problems: list[Problem]) -> tuple[str, str]:
    if not isinstance(value, dict):
        problems.append(Problem(where=where, rule='required: {from: "<number>", to: "<digits>"}'))
        return "", ""
    for key in value:
        if key not in ("from", "to"):
            problems.append(Problem(where=f"{where} › {key}", rule="unknown key; valid: from, to"))
    caller = _number(value.get("from"), f"{where} › from", problems)
    dialled = _number(value.get("to"), f"{where} › to", problems)
    return caller, dialled


def _number(value: object, where: str, problems: list[Problem]) -> str:
    if value is None:
        problems.append(Problem(where=where, rule="required: a quoted number"))
        return ""
    if not isinstance(value, str):
        problems.append(
            Problem(
                where=where,
                rule='must be a quoted string such as "0312345678" (unquoted, YAML drops '
                "leading zeros)",
                value=repr(value),
            )
        )
        return ""
    if not _NUMBER.fullmatch(value.strip()):
        problems.append(
            Problem(where=where, rule="must be digits (hyphens allowed; * or # first)", value=value)
        )
        return ""
    return value.strip().replace("-", "")


def _seconds(value: object, where: str, problems: list[Problem], *, positive: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and (value > 0 if positive else value >= 0):  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    bound = "> 0" if positive else "≥ 0"
    problems.append(
        Problem(where=where, rule=f"must be a number of seconds {bound}", value=repr(value))
    )
    return 0.0


def _endpoints(value: object, where: str, problems: list[Problem]) -> dict[str, EndpointBehaviour]:
    if not isinstance(value, dict):
        problems.append(Problem(where=where, rule="must be a mapping: number → behaviour"))
        return {}
    states = ", ".join(state.value for state in EndpointState)
    result: dict[str, EndpointBehaviour] = {}
    for raw_key, spec in value.items():
        here = f"{where} › {raw_key}"
        key = _number(raw_key, f"{here} (key)", problems)
        if not isinstance(spec, dict):
            problems.append(
                Problem(where=here, rule="must be a mapping {state, answer_after, reject_after}")
            )
            continue
        for name in spec:
            if name not in _ENDPOINT_KEYS:
                problems.append(
                    Problem(
                        where=f"{here} › {name}",
                        rule="unknown key; valid: " + ", ".join(_ENDPOINT_KEYS),
                    )
                )
        state = EndpointState.REGISTERED
        if "state" in spec:
            try:
                state = EndpointState(spec["state"])
            except ValueError:
                problems.append(
                    Problem(
                        where=f"{here} › state",
                        rule=f"must be one of {states}",
                        value=repr(spec["state"]),
                    )
                )
        answer_after = spec.get("answer_after")
        if answer_after is not None:
            answer_after = _seconds(
                answer_after, f"{here} › answer_after", problems, positive=False
            )
        reject_after = spec.get("reject_after")
        if reject_after is not None:
            reject_after = _seconds(reject_after, f"{here} › reject_after", problems, positive=True)
        if key in result:
            problems.append(Problem(where=here, rule="the same endpoint is listed twice"))
        result[key] = EndpointBehaviour(
            state=state, answer_after=answer_after, reject_after=reject_after
        )
    return result


def _pickups(value: object, where: str, problems: list[Problem]) -> tuple[Pickup, ...]:
    if not isinstance(value, list):
        problems.append(Problem(where=where, rule="must be a list of {by, at, code?}"))
        return ()
    result: list[Pickup] = []
    for index, spec in enumerate(value, start=1):
        here = f"{where} › row {index}"
        if not isinstance(spec, dict):
            problems.append(
                Problem(where=here, rule='must be a mapping {by: "<extension>", at: <s>}')
            )
            continue
        for name in spec:
            if name not in ("by", "at", "code"):
                problems.append(
                    Problem(where=f"{here} › {name}", rule="unknown key; valid: by, at, code")
                )
        by = _number(spec.get("by"), f"{here} › by", problems)
        at = _seconds(spec.get("at"), f"{here} › at", problems, positive=False)
        code = spec.get("code")
        if code is not None and (not isinstance(code, str) or not code):
            problems.append(
                Problem(where=f"{here} › code", rule='must be a quoted code such as "*8"')
            )
            code = None
        result.append(Pickup(by=by, at=at, code=code))
    return tuple(result)


def scenario_document(scenario: Scenario) -> dict[str, object]:
    """``scenario`` as the data of a scenario file (the inverse of :func:`parse_scenario`:
    ``parse_scenario(scenario_document(s)) == s``), numbers as strings, defaults left out, so
    a generated call is written as a file ``smartpbx-harness predict --scenario`` reads."""
    document: dict[str, object] = {}
    if scenario.description:
        document["description"] = scenario.description
    document["call"] = {"from": scenario.caller, "to": scenario.dialled}
    endpoints: dict[str, dict[str, object]] = {}
    for number, behaviour in scenario.endpoints.items():
        spec: dict[str, object] = {}
        if behaviour.state is not EndpointState.REGISTERED:
            spec["state"] = behaviour.state.value
        if behaviour.answer_after is not None:
            spec["answer_after"] = behaviour.answer_after
        if behaviour.reject_after is not None:
            spec["reject_after"] = behaviour.reject_after
        endpoints[number] = spec
    if endpoints:
        document["endpoints"] = endpoints
    if scenario.pickups:
        document["pickups"] = [
            {"by": p.by, "at": p.at, **({"code": p.code} if p.code is not None else {})}
            for p in scenario.pickups
        ]
    if scenario.caller_gives_up_after is not None:
        document["caller_gives_up_after"] = scenario.caller_gives_up_after
    return document
