"""The simulator's PbxParams and the model's ModelParams name the same (A) assumptions with the
same values and defaults, so one ``--param NAME=VALUE`` means the same to ``predict`` and
``serve`` (differential tests draw one parameter set for both). The two packages never import
each other; only this test sees both."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from harness.model.params import ModelParams
from harness.sim.pbx.config import PbxParams

MODEL_ONLY = {"caller_gives_up_after"}  # the caller's behaviour in a scenario, not the PBX's
SIMULATOR_ONLY = {"external_prefix"}  # how the simulator recognises external digits


def _defaults(cls: type) -> dict[str, object]:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def test_same_behaviour_parameters_with_same_defaults() -> None:
    model, simulator = _defaults(ModelParams), _defaults(PbxParams)
    assert set(model) - MODEL_ONLY == set(simulator) - SIMULATOR_ONLY
    for name in set(model) - MODEL_ONLY:
        assert model[name] == simulator[name], name
        # (20 and 20.0 are one default; a bool is never a number here, nor an enum a string)
        for kind in (bool, StrEnum, str):
            assert isinstance(model[name], kind) == isinstance(simulator[name], kind), name


def test_enumerations_have_the_same_values() -> None:
    for name, default in _defaults(ModelParams).items():
        if isinstance(default, StrEnum):
            other = _defaults(PbxParams)[name]
            assert isinstance(other, StrEnum), name
            assert [m.value for m in type(default)] == [m.value for m in type(other)], name


def test_same_text_gives_the_same_value() -> None:
    """``--param`` text is read alike: every non-default value the model accepts."""
    for name, default in _defaults(ModelParams).items():
        if name in MODEL_ONLY:
            continue
        if isinstance(default, StrEnum):
            texts = [m.value for m in type(default)]
        elif isinstance(default, bool):
            texts = ["true", "false"]
        elif default is None or isinstance(default, float | int):
            texts = ["3", "none"] if default is None else ["3"]
        else:
            texts = ["#9", "none"] if "None" in str(_field(name).type) else ["#9"]
        for text in texts:
            model = getattr(ModelParams().with_overrides({name: text}), name)
            simulator = getattr(PbxParams().with_overrides({name: text}), name)
            assert model == simulator, (name, text)


def _field(name: str) -> dataclasses.Field[object]:
    (field,) = (f for f in dataclasses.fields(ModelParams) if f.name == name)
    return field
