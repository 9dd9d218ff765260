"""Reading a YAML document so that every problem can be pointed at: file, path and line.

PyYAML's safe loader with three changes that matter for ご利用内容 documents:

- Plain (unquoted) mapping *keys* are kept as written: ``No:`` stays the key ``"No"`` (YAML 1.1
  reads it as ``False``) and ``20201:`` stays ``"20201"`` (keys are names, never numbers).
- Mappings and sequences remember the line of each key / item, and the source text of plain
  scalars that YAML turned into something other than a string (``拠点番号: 020`` is the octal
  number 16; the error message quotes ``020``).
- A key given twice in one mapping is reported instead of silently keeping the last one.

And bounds, because a document is input from anyone (issue 10 item 4: a 787-byte "billion
laughs" alias bomb took ``check`` past 60 s and 4.9 GiB; a FIFO hung it; a symlink to /dev/zero
read until MemoryError):

- Only a regular file is opened (checked with ``os.stat`` before opening, and again with
  ``os.fstat`` on the open descriptor, which is opened non-blocking so that a FIFO swapped in
  between cannot hang it), and at most ``MAX_DOCUMENT_BYTES`` are read.
- Aliases (``*name``, also inside a merge key ``<<: *name``) are refused before anything is
  constructed: the documents never need them, and an alias is what lets a few hundred bytes
  stand for gigabytes once the data is walked. Nesting deeper than ``MAX_DEPTH`` is refused
  too (Python would otherwise run out of stack while constructing it).

Every YAML file the harness reads goes through ``read_yaml`` / ``parse_yaml`` (tenant
documents, scenarios, the manual's step catalog).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import Problem

MAX_DOCUMENT_BYTES = 1024 * 1024
"""Largest YAML file read (1 MiB): a 1,000-extension tenant is about 250 KiB."""

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists accepted; the documents need 5 levels at most."""


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


def _refused(label: str, rule: str, *, line: int | None = None) -> Source:
    at = f" (line {line})" if line is not None else ""
    return Source(label=label, data=None, problems=[Problem(where=f"{label}{at}", rule=rule)])


def _shape_problem(root: Node, label: str) -> Source | None:
    """An alias or too deep a nesting in the composed ``root``, before any construction.

    The composer gives an alias the very node of its anchor, so a node reached twice is an
    alias (a self-referencing anchor too). The walk visits each node once: bounded by the
    file's size, whatever the aliases would expand to.
    """
    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            return _refused(
                label,
                "uses a YAML alias (*name) of the anchor (&name) on this line: these "
                "documents do not allow anchors and aliases (a few of them can stand for "
                "gigabytes of data); write each value out in full",
                line=node.start_mark.line + 1,
            )
        seen.add(id(node))
        if depth > MAX_DEPTH:
            return _refused(
                label,
                f"nests mappings and lists more than {MAX_DEPTH} levels deep: these "
                "documents need only a few levels; check the brackets and the indentation",
                line=node.start_mark.line + 1,
            )
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                stack += ((key_node, depth + 1), (value_node, depth + 1))
        elif isinstance(node, SequenceNode):
            stack += ((item, depth + 1) for item in node.value)
    return None


def parse_yaml(text: str, *, label: str) -> Source:
    """Parse ``text`` (the content of the file called ``label``) safely, never raising."""
    if len(text) > MAX_DOCUMENT_BYTES or len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        return _too_large(label)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is not None and (refused := _shape_problem(root, label)) is not None:
            return refused
        data = None if root is None else loader.construct_document(root)
    except RecursionError:
        # Only the pure-Python parser recurses this deep (libyaml stops at 1,000 levels).
        return _refused(
            label,
            f"nests mappings and lists more than {MAX_DEPTH} levels deep: these documents "
            "need only a few levels; check the brackets and the indentation",
        )
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
                "values, without tags (!!…)"
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


def _too_large(label: str) -> Source:
    return _refused(
        label,
        f"is larger than {MAX_DOCUMENT_BYTES // 1024} KiB, the most a document may be: "
        "a tenant of 1,000 extensions needs about a quarter of that; check it is the right file",
    )


def _kind_of_file(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _not_regular(label: str, path: Path, mode: int) -> Source:
    return _refused(
        label,
        f"must be a regular file, but {path} is {_kind_of_file(mode)} "
        "(after following symbolic links): give the YAML file itself",
    )


def read_yaml(path: Path, *, label: str) -> Source:
    """Read and parse the UTF-8 YAML file at ``path``; problems instead of exceptions.

    Only a regular file of at most ``MAX_DOCUMENT_BYTES`` is read (module docstring).
    """
    try:
        if not stat.S_ISREG(mode := os.stat(path).st_mode):
            return _not_regular(label, path, mode)
        # O_NONBLOCK: should a FIFO replace the file after the stat, opening it does not wait
        # for a writer; on a regular file the flag changes nothing (open(2)).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        return _refused(label, f"file not found: expected {path}")
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        return _refused(label, f"cannot be read: {reason}")
    try:
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                return _not_regular(label, path, info.st_mode)
            if info.st_size > MAX_DOCUMENT_BYTES:
                return _too_large(label)
            # Read one byte more than allowed: a file growing while read is still refused.
            data = file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        return _refused(label, f"cannot be read: {error.strerror}")
    if len(data) > MAX_DOCUMENT_BYTES:
        return _too_large(label)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _refused(label, f"is not UTF-8 text (byte {error.start}): save the file as UTF-8")
    return parse_yaml(text, label=label)
