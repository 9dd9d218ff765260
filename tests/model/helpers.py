"""Helpers for the model's example tests: predict from plain dicts, compare by the JSON contract."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.model import DEFAULT_PARAMS, parse_scenario, predict
from tests.model.tenants import tenant


def timeline(
    settings: dict[str, Any] | None, scenario: dict[str, Any], **params: Any
) -> dict[str, Any]:
    """The JSON contract of predict() on the test tenant with ``settings``."""
    model_params = dataclasses.replace(DEFAULT_PARAMS, **params)
    return predict(tenant(settings), parse_scenario(scenario), model_params).to_json()


def ring(t: float, endpoint: str, caller_id: str) -> dict[str, Any]:
    return {"t": t, "kind": "ring", "endpoint": endpoint, "caller_id": caller_id}


def ev(t: float, kind: str, endpoint: str) -> dict[str, Any]:
    return {"t": t, "kind": kind, "endpoint": endpoint}


def call(caller: str, dialled: str, **extra: Any) -> dict[str, Any]:
    return {"call": {"from": caller, "to": dialled}, **extra}
