"""Loading a tenant folder: ``ご利用内容.yaml`` (required) and ``設定.yaml`` (optional).

Each table is checked row by row, so that every problem of both documents is reported at once:
first the shape of each row (``types``: keys, types, digit patterns, ranges), then the rules
across rows and documents (``rules``) on the rows that passed. Any problem raises one
``InputError`` listing them all, each located as ``file › table › row (No) › field (line)``.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from harness.errors import InputError, Problem
from harness.guide.problems import Place, describe_all, keys_of, show, unknown_key_rule
from harness.guide.rules import Draft, Row, check, identified
from harness.guide.source import Mapping, Source, parse_yaml, read_yaml
from harness.guide.types import (
    ABSENCE_CLASSES,
    Absence,
    AdminAccount,
    CustomerInfo,
    ExternalLine,
    ForwardAbsence,
    Guide,
    InboundRoute,
    OutboundCallerId,
    RingGroup,
    Settings,
    Tenant,
    Terminal,
    TerminalUser,
)

GUIDE_FILE = "ご利用内容.yaml"
SETTINGS_FILE = "設定.yaml"

M = TypeVar("M", bound=BaseModel)

_ABSENCE = TypeAdapter[Absence](Absence)
_EXTENSION = re.compile(r"[0-9]{2,22}")
_DIGITS = re.compile(r"[0-9]+")


def load_tenant(path: Path | str) -> Tenant:
    """Load and check the tenant folder ``path``; the folder's name is the tenant's name.

    Raises ``InputError`` listing every problem of both documents (never another exception
    for bad input).
    """
    folder = Path(path)
    if (problem := _folder_problem(folder)) is not None:
        raise InputError([problem], subject=_printable(folder))
    guide = read_yaml(folder / GUIDE_FILE, label=GUIDE_FILE)
    settings_path = folder / SETTINGS_FILE
    settings = read_yaml(settings_path, label=SETTINGS_FILE) if settings_path.exists() else None
    return build_tenant(folder.resolve().name, guide, settings, subject=str(folder))


def _printable(path: Path) -> str:
    """``path`` as text any output takes: bytes that are not UTF-8 as ``\\xff`` escapes, and
    at most 200 characters (a path from the API may be anything, of any length)."""
    text = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text[:200]


def _folder_problem(folder: Path) -> Problem | None:
    """What is wrong with ``folder`` as a tenant folder's path, if anything."""
    where = _printable(folder)
    expected = f"give a tenant folder holding {GUIDE_FILE} (and optionally {SETTINGS_FILE})"
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        return Problem(where=where, rule=f"does not exist: {expected}")
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        return Problem(where=where, rule=f"cannot be read ({reason}): {expected}")
    if not stat.S_ISDIR(mode):
        return Problem(where=where, rule=f"is a file, not a folder: {expected}")
    try:
        folder.resolve().name.encode("utf-8")  # the name is the tenant's: text
    except UnicodeEncodeError:
        return Problem(
            where=where, rule="the folder's name is not UTF-8 text: rename it (it names the tenant)"
        )
    return None


def load_tenant_text(name: str, guide_text: str, settings_text: str | None = None) -> Tenant:
    """Like ``load_tenant`` for documents held in memory (tests, tools generating tenants)."""
    guide = parse_yaml(guide_text, label=GUIDE_FILE)
    settings = None if settings_text is None else parse_yaml(settings_text, label=SETTINGS_FILE)
    return build_tenant(name, guide, settings, subject=name)


def build_tenant(name: str, guide: Source, settings: Source | None, *, subject: str) -> Tenant:
    """Check both parsed documents and build the ``Tenant``, or raise ``InputError``."""
    draft = Draft()
    problems = [*guide.problems, *(settings.problems if settings else [])]
    guide_place = _document(guide, Guide, problems, required=True)
    if guide_place is not None:
        _read_guide(guide_place, draft, problems)
    if settings is not None:
        settings_place = _document(settings, Settings, problems, required=False)
        if settings_place is not None:
            _read_settings(settings_place, draft, problems)
    if _has_terminal_table(guide_place):
        problems += check(draft)
    # Else the rules across rows and files are not run: without a readable 内線番号情報1 every
    # extension named anywhere would be reported unknown, twenty echoes of the one cause
    # already reported (issue 9 item 4). They run once that cause is fixed.
    problems = identified(problems)
    # Report ご利用内容.yaml before 設定.yaml (stable: each file keeps its own order).
    problems.sort(key=lambda p: p.where.startswith(SETTINGS_FILE))
    if problems or draft.customer is None or draft.admin_account is None:
        raise InputError(problems, subject=subject)
    return Tenant(
        name=name,
        guide=Guide.model_validate(
            {
                "customer": draft.customer.item,
                "admin_account": draft.admin_account.item,
                "terminals": [r.item for r in draft.terminals],
                "terminal_users": [r.item for r in draft.terminal_users],
                "external_lines": [r.item for r in draft.external_lines],
            }
        ),
        settings=Settings.model_validate(
            {
                "ring_groups": [r.item for r in draft.ring_groups],
                "inbound_routes": [r.item for r in draft.inbound_routes],
                "outbound_caller_ids": [r.item for r in draft.outbound_caller_ids],
                "absence": {ext: r.item for ext, r in draft.absence.items()},
            }
        ),
    )


# --- documents and tables ---------------------------------------------------------------------


def _has_terminal_table(guide: Place | None) -> bool:
    """Whether ご利用内容.yaml was read as a mapping holding 内線番号情報1 as a list."""
    if guide is None or not isinstance(guide.node, Mapping):
        return False
    return isinstance(guide.node.get("内線番号情報1"), list)


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return f"the value {show(value)}"


def _document(
    source: Source, model: type[BaseModel], problems: list[Problem], *, required: bool
) -> Place | None:
    """The place of a document's top level, after checking its top-level keys."""
    if source.problems and source.data is None:
        return None
    place = Place((source.label,), source.data, None)
    data = source.data
    if data is None:
        if required:
            problems.append(Problem(where=source.label, rule="is empty: fill in the document"))
        return None if required else place
    if not isinstance(data, Mapping):
        problems.append(
            Problem(
                where=source.label,
                rule=f"must be a mapping of tables ({', '.join(keys_of(model))}), "
                f"not {_kind_of(data)}",
            )
        )
        return None
    valid = keys_of(model)
    for key in data:
        if key not in valid:
            problems.append(Problem(where=place.where(key), rule=unknown_key_rule(str(key), valid)))
    for key, info in zip(valid, model.model_fields.values(), strict=True):
        if key not in data and info.is_required():
            problems.append(
                Problem(
                    where=f"{source.label} › {key}",
                    rule=f"the table '{key}' is required: add it "
                    f"({(info.description or key).rstrip('.')})",
                )
            )
    return place


def _validate(model: type[M], raw: Any, place: Place, problems: list[Problem]) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems += describe_all(error.errors(), model, place)
        return None


def _block(parent: Place, key: str, model: type[M], problems: list[Problem]) -> Row[M] | None:
    """A single mapping such as お客様情報."""
    if not isinstance(parent.node, Mapping) or key not in parent.node:
        return None
    place = parent.child(key)
    item = _validate(model, place.node, place, problems)
    return None if item is None else Row(item, place)


def _row_label(index: int, raw: Any) -> str:
    if isinstance(raw, Mapping) and "No" in raw:
        return f"row {index + 1} (No: {raw.texts.get('No', show(raw['No']))})"
    return f"row {index + 1}"


def _rows(
    parent: Place,
    key: str,
    model: type[M],
    problems: list[Problem],
    draft: Draft,
    *,
    required: bool = False,
) -> tuple[list[Row[M]], list[Mapping]]:
    """The rows of a table that pass their field checks, and the raw rows that fail them."""
    if not isinstance(parent.node, Mapping) or key not in parent.node:
        return [], []
    table = parent.child(key)
    raw = table.node
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        problems.append(
            Problem(
                where=table.where(),
                rule=f"'{key}' must be a list of rows, each starting with '- '",
                value=show(raw),
            )
        )
        return [], []
    if required and not raw:
        problems.append(Problem(where=table.where(), rule=f"'{key}' needs at least one row"))
    rows: list[Row[M]] = []
    failed: list[Mapping] = []
    numbers: list[tuple[object, Place]] = []
    for index, raw_row in enumerate(raw):
        place = table.child(index, _row_label(index, raw_row))
        if not isinstance(raw_row, Mapping):
            problems.append(
                Problem(
                    where=place.where(),
                    rule="each row must be a mapping of keys to values, e.g. {No: 1, …}",
                    value=show(raw_row),
                )
            )
            continue
        if "No" in raw_row:
            numbers.append((raw_row.texts.get("No", raw_row["No"]), place))
        item = _validate(model, raw_row, place, problems)
        if item is None:
            failed.append(raw_row)
        else:
            rows.append(Row(item, place))
    if numbers:
        draft.row_numbers[key] = numbers
    return rows, failed


def _digits(raw: Mapping, *keys: str) -> str | None:
    """The digits written under ``keys`` of a raw row, concatenated, when all are digit text."""
    values = [raw.get(k) for k in keys]
    if all(isinstance(v, str) and _DIGITS.fullmatch(v.strip()) for v in values):
        return "".join(str(v).strip() for v in values)
    return None


def _read_guide(place: Place, draft: Draft, problems: list[Problem]) -> None:
    draft.customer = _block(place, "お客様情報", CustomerInfo, problems)
    draft.admin_account = _block(place, "管理者アカウント", AdminAccount, problems)
    draft.terminals, failed = _rows(
        place, "内線番号情報1", Terminal, problems, draft, required=True
    )
    draft.unchecked_extensions = {
        ext for raw in failed if (ext := _digits(raw, "拠点番号", "端末番号")) is not None
    }
    draft.terminal_users, _ = _rows(place, "内線番号情報2", TerminalUser, problems, draft)
    draft.external_lines, failed = _rows(place, "外線番号情報", ExternalLine, problems, draft)
    draft.unchecked_external_numbers = {
        number for raw in failed if (number := _digits(raw, "外線番号")) is not None
    }


def _read_settings(place: Place, draft: Draft, problems: list[Problem]) -> None:
    draft.ring_groups, _ = _rows(place, "着信グループ", RingGroup, problems, draft)
    draft.inbound_routes, _ = _rows(place, "外線着信設定", InboundRoute, problems, draft)
    draft.outbound_caller_ids, _ = _rows(place, "外線発信設定", OutboundCallerId, problems, draft)
    draft.absence = _absence(place, problems)


def _absence(parent: Place, problems: list[Problem]) -> dict[str, Row[Absence]]:
    key = "不在時動作設定"
    if not isinstance(parent.node, Mapping) or parent.node.get(key) is None:
        return {}
    table = parent.child(key)
    if not isinstance(table.node, Mapping):
        problems.append(
            Problem(
                where=table.where(),
                rule=f"'{key}' must be a mapping from quoted 内線番号 to settings, "
                'e.g. "20201": {種別: 転送/留守番電話, …}',
                value=show(table.node),
            )
        )
        return {}
    entries: dict[str, Row[Absence]] = {}
    for ext, raw in table.node.items():
        place = table.child(ext)
        if not isinstance(ext, str) or not _EXTENSION.fullmatch(ext):
            problems.append(
                Problem(
                    where=place.where(),
                    rule="each key of 不在時動作設定 must be a 内線番号 (2–22 digits)",
                    value=show(ext),
                )
            )
            continue
        try:
            entries[ext] = Row(_ABSENCE.validate_python(raw), place)
        except ValidationError as error:
            errors = error.errors()
            # A tagged union's errors start with the tag of the class that was tried.
            tag = str(errors[0]["loc"][0]) if errors[0]["loc"] else ""
            model = ABSENCE_CLASSES.get(tag, ForwardAbsence)
            if tag in ABSENCE_CLASSES:
                for e in errors:
                    e["loc"] = tuple(e["loc"])[1:]
            problems += describe_all(errors, model, place)
    return entries
