"""The reference PBX model (the oracle): pure, deterministic, in simulated seconds.

``predict(tenant, scenario, params) -> Timeline`` implements ../shared/DOMAIN.md "Call routing
semantics"; every (A) assumption is a field of :class:`ModelParams`. See docs/model.md.
"""

from harness.model.numbering import scenario_problems
from harness.model.params import (
    DEFAULT_PARAMS,
    ForwardedCallerId,
    ForwardFallback,
    InboundCallerId,
    InternalCallerId,
    MissingCallerId,
    ModelParams,
    ReachEndFrom,
    UnsetStateAction,
)
from harness.model.predict import predict
from harness.model.scenario import (
    EndpointBehaviour,
    EndpointState,
    Pickup,
    Scenario,
    load_scenario,
    parse_scenario,
    scenario_document,
)
from harness.model.timeline import WITHHELD, Event, EventKind, Outcome, Timeline

__all__ = [
    "DEFAULT_PARAMS",
    "WITHHELD",
    "EndpointBehaviour",
    "EndpointState",
    "Event",
    "EventKind",
    "ForwardFallback",
    "ForwardedCallerId",
    "InboundCallerId",
    "InternalCallerId",
    "MissingCallerId",
    "ModelParams",
    "Outcome",
    "Pickup",
    "ReachEndFrom",
    "Scenario",
    "Timeline",
    "UnsetStateAction",
    "load_scenario",
    "parse_scenario",
    "predict",
    "scenario_document",
    "scenario_problems",
]
