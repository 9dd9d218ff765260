"""JSON Schema of the two tenant documents, keyed by their Japanese keys (aliases).

The schema carries every per-field rule (types, digit patterns, lengths, ranges, choices);
the rules across rows and documents (unique 端末ID, a pilot that exists…) cannot be said in
JSON Schema and are checked by ``load_tenant`` / ``smartpbx-harness check`` (see
docs/guide-format.md). Editors use the schema for completion and early feedback.

Regenerate the committed copies with ``python -m harness.guide.schema docs/schema``;
``--check`` exits 1 when they are out of date.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.guide.load import GUIDE_FILE, SETTINGS_FILE
from harness.guide.types import Guide, Settings

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_CROSS_ROW = (
    " Rules across rows and documents (uniqueness, references between tables and to "
    "ご利用内容.yaml) are checked by `smartpbx-harness check`; see docs/guide-format.md."
)


def _schema(model: type[BaseModel], file: str, what: str) -> dict[str, Any]:
    body = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": DRAFT,
        "$id": f"https://smartpbx-harness.invalid/schema/{Path(file).stem}.schema.json",
        **body,
        "title": file,
        "description": what + _CROSS_ROW,
    }


def document_schemas() -> dict[str, dict[str, Any]]:
    """File name of each schema (``ご利用内容.schema.json``, ``設定.schema.json``) → schema."""
    return {
        f"{Path(GUIDE_FILE).stem}.schema.json": _schema(
            Guide, GUIDE_FILE, "ご利用内容のご案内: what the carrier hands over."
        ),
        f"{Path(SETTINGS_FILE).stem}.schema.json": _schema(
            Settings, SETTINGS_FILE, "The tenant's settings, named as on the settings site."
        ),
    }


def render(schema: dict[str, Any]) -> str:
    """The committed text of a schema: UTF-8 JSON, Japanese kept readable, 2-space indent."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def stale_files(folder: Path) -> list[Path]:
    """Schema files under ``folder`` that are missing or differ from the types."""
    return [
        folder / name
        for name, schema in document_schemas().items()
        if not (folder / name).exists()
        or (folder / name).read_text(encoding="utf-8") != render(schema)
    ]


def write_schemas(folder: Path) -> list[Path]:
    """Write both schemas into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in document_schemas().items():
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.guide.schema",
        description="Write (or --check) the JSON Schemas of ご利用内容.yaml and 設定.yaml.",
    )
    parser.add_argument("folder", type=Path, nargs="?", default=Path("docs/schema"))
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.folder)
        for path in stale:
            print(f"{path} is out of date: run python -m harness.guide.schema {args.folder}")
        return 1 if stale else 0
    for path in write_schemas(args.folder):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
