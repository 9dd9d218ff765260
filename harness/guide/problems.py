"""Locating problems (file › table › row › field, line) and wording pydantic's errors as rules.

A ``Place`` is a position in a parsed document: the human path to it and the raw YAML there
(``source.Mapping`` / ``source.Sequence``, which know their lines). ``describe`` turns one
pydantic error into a ``Problem`` whose rule is the field's documented rule (its
``description`` in ``types``) or a plain instruction (quote it, add it, remove it).
"""

from __future__ import annotations

import difflib
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from harness.errors import Problem
from harness.guide.source import Mapping, Sequence

SEP = " › "


def _label(part: str | int) -> str:
    return f"item {part + 1}" if isinstance(part, int) else str(part)


def show(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of a found value for a message."""
    if value == "":
        return '"" (empty)'
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Place:
    """A position in a document: labels from the file down, and the raw YAML found there."""

    parts: tuple[str, ...]
    node: Any = None
    line: int | None = None

    def child(self, key: str | int, label: str | None = None) -> Place:
        """The place of ``key`` (a mapping key or a list index) below this one."""
        node, line = self._step(self.node, key)
        return Place((*self.parts, label or _label(key)), node, line or self.line)

    @staticmethod
    def _step(node: Any, key: str | int) -> tuple[Any, int | None]:
        if isinstance(node, Mapping) and key in node:
            return node[key], node.lines.get(key)
        if isinstance(node, Sequence) and isinstance(key, int) and 0 <= key < len(node):
            return node[key], node.lines[key]
        return None, None

    def where(self, *path: str | int) -> str:
        """The human location of ``path`` below this place, with the deepest known line."""
        node, line = self.node, self.line
        for key in path:
            node, found = self._step(node, key)
            if found is None:
                break
            line = found
        text = SEP.join((*self.parts, *(_label(p) for p in path)))
        return f"{text} (line {line})" if line else text

    def text(self, *path: str | int) -> str | None:
        """The source text of the plain scalar at ``path`` when YAML made it a non-string."""
        node: Any = self.node
        for key in path[:-1]:
            node, _ = self._step(node, key)
        if path and isinstance(node, Mapping):
            return node.texts.get(path[-1])
        if path and isinstance(node, Sequence) and isinstance(path[-1], int):
            return node.texts.get(path[-1])
        return None


# --- pydantic error → Problem -----------------------------------------------------------------


def _strip(annotation: Any) -> Any:
    """Drop Annotated and ``None`` from an annotation."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _model_class(annotation: Any) -> type[BaseModel] | None:
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _item(annotation: Any) -> Any:
    annotation = _strip(annotation)
    args = get_args(annotation)
    if get_origin(annotation) is list and args:
        return args[0]
    if get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    return None


def keys_of(model: type[BaseModel]) -> list[str]:
    """The document keys (aliases) of ``model``, in declaration order."""
    return [info.alias or name for name, info in model.model_fields.items()]


def resolve(
    model: type[BaseModel], loc: tuple[str | int, ...]
) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model owning the last key of ``loc`` and that key's field (None when unknown)."""
    current: Any = model
    owner: type[BaseModel] | None = None
    info: FieldInfo | None = None
    for part in loc:
        cls = _model_class(current)
        if isinstance(part, int) or cls is None:
            current = _item(current)
            continue
        fields = {f.alias or name: f for name, f in cls.model_fields.items()}
        if part not in fields:
            return cls, None
        owner, info = cls, fields[part]
        current = info.annotation
    return owner, info


def closest_key(key: str, valid: list[str]) -> str | None:
    """The valid key most like ``key`` (a likely typo), if any is close enough."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    return close[0] if close else None


def unknown_key_rule(key: str, valid: list[str]) -> str:
    """The rule for an unknown key: the closest valid key, and all valid ones."""
    close = closest_key(key, valid)
    hint = f"did you mean '{close}'? " if close else ""
    return f"unknown key '{key}': {hint}valid keys here are {', '.join(valid)}"


def _choices(error: ErrorDetails) -> str:
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return expected.replace("'", "") or "one of the listed values"


def _constraint(kind: str, ctx: dict[str, Any]) -> str | None:
    """What a constraint error means, in words (None for kinds not worded here)."""
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "string_pattern_mismatch":
        return "is not written in the required form"
    if kind == "string_too_long":
        return f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else f"is too short: at least {ctx.get('min_length')} characters"
        )
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    return None


_CHECKS = {
    "missing": "missing",
    "less_than_equal": "range",
    "greater_than_equal": "range",
    "string_too_long": "length",
    "string_too_short": "length",
    "too_short": "length",
    "string_pattern_mismatch": "pattern",
    "enum": "choice",
    "literal_error": "choice",
    "absence_kind": "choice",
    "extra_forbidden": "unknown_key",
}


def field_rule_id(owner: type[BaseModel] | None, key: str, kind: str) -> str:
    """The stable id of a field's own rule: ``field.<Model>.<field>.<check>`` in English
    (``field.ForwardAbsence.ring_time.range``); docs/guide-format.md lists the checks."""
    if kind == "absence_kind":  # the tagged union itself, before either variant is known
        return "field.Absence.kind.choice"
    if kind == "extra_forbidden":
        return f"field.{owner.__name__ if owner is not None else 'Document'}.unknown_key"
    names = {
        info.alias or name: name for name, info in (owner.model_fields if owner else {}).items()
    }
    model = owner.__name__ if owner is not None else "Document"
    return f"field.{model}.{names.get(key, 'entry')}.{_CHECKS.get(kind, 'type')}"


def describe(error: ErrorDetails, model: type[BaseModel], place: Place) -> Problem:
    """One pydantic error of a row or block validated as ``model`` at ``place``."""
    loc = tuple(error["loc"])
    owner, info = resolve(model, loc)
    kind = error["type"]
    found: Any = error.get("input")
    name = next((str(p) for p in reversed(loc) if isinstance(p, str)), place.parts[-1])
    field_rule = info.description.rstrip(".") if info is not None and info.description else None
    value: str | None = place.text(*loc) or show(found)
    if kind == "missing":
        rule = f"'{name}' is required: add it" + (f" ({field_rule})" if field_rule else "")
        value = None
    elif kind == "extra_forbidden":
        rule = unknown_key_rule(name, keys_of(owner or model))
        value = None
    elif kind == "string_type" and isinstance(found, int | float) and not isinstance(found, bool):
        written = place.text(*loc) or str(found)
        rule = (
            f'must be a quoted string: write {name}: "{written}". Unquoted, YAML reads it as '
            f"the number {found!r}, and leading zeros matter"
        )
        value = written
    elif kind == "string_type":
        rule = "must be text (a quoted string)" + (f": {field_rule}" if field_rule else "")
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        rule = "must be a whole number written without quotes"
        if isinstance(found, str) and found.strip().isdigit():
            rule += f": write {name}: {found.strip()}"
            value = f'"{found}"'
        elif field_rule:
            rule += f": {field_rule}"
    elif kind == "bool_type":
        rule = "must be true or false (without quotes)"
    elif kind in ("enum", "literal_error"):
        rule = f"must be one of: {_choices(error)}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        rule = "must be a mapping of keys to values (key: value lines or {key: value, …})"
    elif kind == "list_type":
        rule = "must be a list (lines starting with '- ' or [a, b, …])"
    elif kind == "absence_kind":
        rule = (
            "種別 must be 転送/留守番電話 or シングルナンバーリーチ: add 種別 with one of these "
            "(the manual's spelling シングルナンバーリッチ is accepted too)"
        )
        value = show(found.get("種別")) if isinstance(found, dict) and "種別" in found else None
    else:
        reason = _constraint(kind, error.get("ctx") or {}) or str(error["msg"])
        rule = f"{reason}. Rule: {field_rule}" if field_rule else reason
    rule_id = field_rule_id(owner or model, name, kind)
    return Problem(where=place.where(*loc), rule=rule, value=value, rule_id=rule_id)


def describe_all(errors: list[ErrorDetails], model: type[BaseModel], place: Place) -> list[Problem]:
    """Every pydantic error of one row as problems, a misspelt key reported once.

    A typo such as ``端末種類`` for ``端末種別`` gives pydantic two errors (an unknown key and a
    missing one); the unknown key's message already names the right key, so the "missing"
    error of that key is dropped.
    """
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    explained: set[tuple[str | int, ...]] = set()
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
            owner, _ = resolve(model, loc)
            close = closest_key(loc[-1], keys_of(owner or model))
            if close is not None and (*loc[:-1], close) in missing:
                explained.add((*loc[:-1], close))
    return [
        describe(e, model, place)
        for e in errors
        if not (e["type"] == "missing" and tuple(e["loc"]) in explained)
    ]
