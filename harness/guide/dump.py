"""Writing a ``Tenant`` back as its two YAML documents, with the Japanese keys.

The inverse of ``load``: ``load_tenant_text(t.name, *documents(t)) == t`` for every valid
tenant (a property test holds this). Numbers stay quoted strings; hyphens of 転送先電話番号 /
接続先番号 are already gone (the loaded form), and シングルナンバーリッチ is written リーチ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from harness.guide.load import GUIDE_FILE, SETTINGS_FILE
from harness.guide.types import Tenant


def as_document(model: BaseModel) -> dict[str, Any]:
    """A document model as plain data keyed by its Japanese keys (``None`` fields left out)."""
    data: dict[str, Any] = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return data


def to_yaml(document: dict[str, Any]) -> str:
    """Block-style YAML, Japanese kept readable, keys in document order."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)


def documents(tenant: Tenant) -> tuple[str, str]:
    """The texts of ``ご利用内容.yaml`` and ``設定.yaml`` of ``tenant``."""
    return to_yaml(as_document(tenant.guide)), to_yaml(as_document(tenant.settings))


def write_tenant(tenant: Tenant, parent: Path) -> Path:
    """Write ``tenant`` as the folder ``parent/<tenant.name>``; returns the folder."""
    folder = parent / tenant.name
    folder.mkdir(parents=True, exist_ok=True)
    guide, settings = documents(tenant)
    (folder / GUIDE_FILE).write_text(guide, encoding="utf-8")
    (folder / SETTINGS_FILE).write_text(settings, encoding="utf-8")
    return folder
