"""Reading a YAML document so that every problem can be pointed at: file, path and line.

PyYAML's safe loader with three changes that matter for ご利用内容 documents:

- Plain (unquoted) mapping *keys* are kept as written: ``No:`` stays the key ``"No"`` (YAML 1.1
  reads it as ``False``) and ``20201:`` stays ``"20201"`` (keys are names, never numbers).
- Mappings and sequences remember the line of each key / item, and the source text of plain
  scalars that YAML turned into something other than a string (``拠点番号: 020`` is the octal
  number 16; the error message quotes ``020``).
- A key given twice in one mapping is reported instead of silently keeping the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from harness.errors import Problem


class Mapping(dict[Any, Any]):
    """A YAML mapping remembering the line of each key and the text of non-string scalars."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[Any, int] = {}
        self.texts: dict[Any, str] = {}


class Sequence(list[Any]):
    """A YAML sequence remembering the line of each item and the text of non-string scalars."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []
        self.texts: dict[int, str] = {}


def _is_plain(node: Any) -> bool:
    # The Python parser marks plain scalars with style None, libyaml's with "".
    return isinstance(node, ScalarNode) and not node.style


def _plain_text(node: Any, value: Any) -> str | None:
    if _is_plain(node) and not isinstance(value, str):
        return str(node.value)
    return None


# libyaml's parser when PyYAML was built with it (about 10x faster); the constructors below
# are Python either way and see the same nodes and marks.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type, misc]
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []


def _construct_mapping(loader: _Loader, node: MappingNode) -> Mapping:
    loader.flatten_mapping(node)
    mapping = Mapping(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        if _is_plain(key_node):
            key: Any = key_node.value
        else:
            key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):
            key = repr(key)
        line = key_node.start_mark.line + 1
        if key in mapping:
            loader.duplicates.append((str(key), line))
        value = loader.construct_object(value_node, deep=True)
        mapping[key] = value
        mapping.lines[key] = line
        text = _plain_text(value_node, value)
        if text is not None:
            mapping.texts[key] = text
    return mapping


def _construct_sequence(loader: _Loader, node: SequenceNode) -> Sequence:
    sequence = Sequence(node.start_mark.line + 1)
    for index, item_node in enumerate(node.value):
        item = loader.construct_object(item_node, deep=True)
        sequence.append(item)
        sequence.lines.append(item_node.start_mark.line + 1)
        text = _plain_text(item_node, item)
        if text is not None:
            sequence.texts[index] = text
    return sequence


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


@dataclass(frozen=True, kw_only=True)
class Source:
    """A parsed YAML file: its data (None when unreadable or empty) and the problems found."""

    label: str
    data: Any
    problems: list[Problem] = field(default_factory=list)


def parse_yaml(text: str, *, label: str) -> Source:
    """Parse ``text`` (the content of the file called ``label``) safely, never raising."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        what = " ".join(str(part) for part in (error.context, error.problem) if part)
        start = error.context_mark
        if start is not None and mark is not None and start.line != mark.line:
            # e.g. an unclosed "{": the problem shows on a later line than its cause.
            what += f"; it started at line {start.line + 1}, column {start.column + 1}"
        if isinstance(error, yaml.constructor.ConstructorError):
            rule = (
                f"uses a YAML feature these documents do not allow ({what}): write plain "
                "values, without tags (!!…) or self-referencing anchors"
            )
        else:
            rule = (
                f"is not valid YAML ({what}); check the indentation, that every key is "
                "followed by ': ', and that quotes and brackets are closed"
            )
        return Source(label=label, data=None, problems=[Problem(where=f"{label}{at}", rule=rule)])
    except yaml.YAMLError as error:
        return Source(
            label=label,
            data=None,
            problems=[Problem(where=label, rule=f"is not valid YAML ({error})")],
        )
    finally:
        loader.dispose()
    problems = [
        Problem(
            where=f"{label} (line {line})",
            rule=f"the key '{key}' is given twice in the same mapping; YAML would silently "
            "keep only the last one: remove or merge the duplicate",
        )
        for key, line in loader.duplicates
    ]
    return Source(label=label, data=data, problems=problems)


def read_yaml(path: Path, *, label: str) -> Source:
    """Read and parse the UTF-8 YAML file at ``path``; problems instead of exceptions."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Source(
            label=label,
            data=None,
            problems=[Problem(where=label, rule=f"file not found: expected {path}")],
        )
    except UnicodeDecodeError as error:
        return Source(
            label=label,
            data=None,
            problems=[
                Problem(
                    where=label,
                    rule=f"is not UTF-8 text (byte {error.start}): save the file as UTF-8",
                )
            ],
        )
    except OSError as error:
        return Source(
            label=label,
            data=None,
            problems=[Problem(where=label, rule=f"cannot be read: {error.strerror}")],
        )
    return parse_yaml(text, label=label)
