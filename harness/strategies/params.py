"""Hypothesis strategy of the reference model's parameters (its (A) assumptions)."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from hypothesis import strategies as st

from harness.model import DEFAULT_PARAMS, ModelParams

__all__ = ["model_params"]


@st.composite
def model_params(draw: st.DrawFn) -> ModelParams:
    """Any combination of the model's parameters: each field its default or an alternative
    (enums: any value; booleans: either; numbers: a small range; prefixes: default or none)."""
    changes: dict[str, object] = {}
    for field in dataclasses.fields(ModelParams):
        default = getattr(DEFAULT_PARAMS, field.name)
        if isinstance(default, StrEnum):
            changes[field.name] = draw(st.sampled_from(list(type(default))))
        elif isinstance(default, bool):
            changes[field.name] = draw(st.booleans())
        elif field.name in (
            "sequential_rounds",
            "forward_hop_limit",
            "voicemail_password_attempts",
        ):
            changes[field.name] = draw(st.integers(1, default + 2))
        elif field.name == "unanswered_ring_limit":
            changes[field.name] = draw(st.none() | st.integers(5, 60).map(float))
        elif field.name in ("withhold_prefix", "present_prefix"):
            changes[field.name] = draw(st.sampled_from([default, None]))
        elif field.name == "pickup_code":
            changes[field.name] = draw(st.sampled_from(["*8", "*9"]))
        elif field.name == "voicemail_access_code":
            changes[field.name] = draw(st.sampled_from(["*98", "*97"]))
        else:  # seconds
            changes[field.name] = float(draw(st.integers(5, 150)))
    return dataclasses.replace(DEFAULT_PARAMS, **changes)  # type: ignore[arg-type]
