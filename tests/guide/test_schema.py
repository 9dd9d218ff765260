"""The committed JSON Schemas are current and carry the per-field rules."""

from __future__ import annotations

import json
from pathlib import Path

from harness.guide.schema import document_schemas, main, render, stale_files

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schema"


def test_committed_schemas_are_current() -> None:
    stale = stale_files(SCHEMA_DIR)
    assert not stale, f"regenerate with: python -m harness.guide.schema docs/schema ({stale})"


def test_schema_uses_japanese_keys_and_field_rules() -> None:
    schemas = document_schemas()
    guide = schemas["ご利用内容.schema.json"]
    assert guide["required"] == ["お客様情報", "管理者アカウント", "内線番号情報1"]
    terminal = guide["$defs"]["Terminal"]
    assert terminal["additionalProperties"] is False
    assert terminal["properties"]["拠点番号"]["pattern"] == "^[0-9]{1,11}$"
    assert "IP-Phone" in terminal["properties"]["端末種別"]["enum"]
    settings = schemas["設定.schema.json"]
    reach = settings["$defs"]["SingleNumberReach"]["properties"]
    assert reach["呼出終了時間"]["minimum"] == 5 and reach["呼出終了時間"]["maximum"] == 60
    assert set(reach["種別"]["enum"]) == {"シングルナンバーリーチ", "シングルナンバーリッチ"}


def test_check_mode_reports_stale_and_write_fixes_it(tmp_path: Path) -> None:
    assert main(["--check", str(tmp_path)]) == 1
    assert main([str(tmp_path)]) == 0
    assert main(["--check", str(tmp_path)]) == 0
    written = tmp_path / "設定.schema.json"
    assert json.loads(written.read_text(encoding="utf-8"))["title"] == "設定.yaml"
    assert written.read_text(encoding="utf-8") == render(document_schemas()["設定.schema.json"])
