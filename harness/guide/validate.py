"""Checking a 設定 document on its own, against a tenant's already valid ご利用内容.

``load_tenant`` checks both documents of a folder; a running simulator has the guide already
and receives only settings — a whole document (``PUT /api/settings``) or one change of the
settings site, which the site turns into the whole document it would produce. Both go through
``check_settings`` here: the same field checks (``types``) and the same rules (``rules``) as
``smartpbx-harness check``, the same problems (file › table › row › field: rule) with the same
``rule_id``\\s. That is the one set of settings rules (issue 9 item 1); nothing else decides
whether settings are valid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from harness.errors import Problem
from harness.guide.load import GUIDE_FILE, SETTINGS_FILE, _document, _read_settings
from harness.guide.problems import Place
from harness.guide.rules import STRUCTURE_RULE, Draft, Row, check, identified
from harness.guide.source import Mapping, Sequence, Source
from harness.guide.types import ExternalLine, Settings, Terminal

__all__ = [
    "GUIDE_FILE",
    "MAX_DEPTH",
    "SETTINGS_FILE",
    "SettingsCheck",
    "as_source",
    "bounds",
    "check_settings",
]


@dataclass(frozen=True, kw_only=True)
class SettingsCheck:
    """The verdict on a 設定 document: the typed settings when valid, else every problem."""

    settings: Settings | None
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


MAX_DEPTH = 16
"""Deepest nesting of a 設定 document taken in (the deepest real one has 4 levels:
不在時動作設定 › 内線番号 › 転送動作 › 無応答); deeper data is refused before it is walked, so no
check recurses without bound."""


def as_source(data: Any, *, label: str = SETTINGS_FILE) -> Source:
    """Data decoded from JSON (dicts, lists, scalars) as a document ``check_settings`` reads.

    The loader's places know YAML lines; decoded JSON has none, so every line is unknown (0)
    and problems name file › table › row › field without a line.
    """
    if _depth(data) > MAX_DEPTH:
        problem = Problem(
            where=label,
            rule=f"is nested more than {MAX_DEPTH} levels deep; a 設定 document has tables of "
            "rows of fields (at most 4 levels): send the document itself",
            rule_id=STRUCTURE_RULE,
        )
        return Source(label=label, data=None, problems=[problem])
    return Source(label=label, data=_wrap(data))


def _depth(data: Any) -> int:
    """How deeply ``data`` nests (a scalar: 0), found without recursion, stopping early."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, level = pending.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        if isinstance(value, dict):
            pending += [(item, level + 1) for item in value.values()]
        elif isinstance(value, list):
            pending += [(item, level + 1) for item in value]
    return deepest


def _wrap(value: Any) -> Any:
    if isinstance(value, Mapping | Sequence):
        return value  # already a parsed YAML document
    if isinstance(value, dict):
        mapping = Mapping(0)
        for key, item in value.items():
            mapping[key] = _wrap(item)
        return mapping
    if isinstance(value, list):
        sequence = Sequence(0)
        for item in value:
            sequence.append(_wrap(item))
            sequence.lines.append(0)
        return sequence
    return value


def check_settings(
    source: Source,
    *,
    terminals: Iterable[Terminal],
    external_lines: Iterable[ExternalLine],
) -> SettingsCheck:
    """Check the 設定 document ``source`` against a valid guide's terminals and lines.

    Never raises for bad input: every problem is in the result, located as ``check`` locates
    it (``設定.yaml › 外線着信設定 › row 2 › 外線番号``) and carrying its ``rule_id``.
    """
    draft = Draft()
    draft.terminals = [
        Row(t, Place((GUIDE_FILE, "内線番号情報1", f"row {i} (No: {t.no})")))
        for i, t in enumerate(terminals, start=1)
    ]
    draft.external_lines = [
        Row(line, Place((GUIDE_FILE, "外線番号情報", f"row {i} (No: {line.no})")))
        for i, line in enumerate(external_lines, start=1)
    ]
    problems = list(source.problems)
    place = _document(source, Settings, problems, required=False)
    if place is not None:
        _read_settings(place, draft, problems)
    problems = identified([*problems, *check(draft)])
    if problems:
        return SettingsCheck(settings=None, problems=tuple(problems))
    settings = Settings.model_validate(
        {
            "ring_groups": [r.item for r in draft.ring_groups],
            "inbound_routes": [r.item for r in draft.inbound_routes],
            "outbound_caller_ids": [r.item for r in draft.outbound_caller_ids],
            "absence": {ext: r.item for ext, r in draft.absence.items()},
        }
    )
    return SettingsCheck(settings=settings, problems=())


def bounds(model: type[BaseModel], name: str) -> tuple[int, int]:
    """The inclusive range (``ge``, ``le``) of the whole-number field ``name`` of ``model``,
    so a surface that words the rule itself (the settings site, in Japanese) quotes the
    guide's numbers instead of keeping its own copy."""
    low: int | None = None
    high: int | None = None
    for item in model.model_fields[name].metadata:  # pydantic's Ge / Le constraint objects
        if isinstance(getattr(item, "ge", None), int):
            low = item.ge
        if isinstance(getattr(item, "le", None), int):
            high = item.le
    if low is None or high is None:
        raise ValueError(f"{model.__name__}.{name} has no ge/le bounds")
    return low, high
