"""Reading documents: odd files, YAML quirks and locations, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.guide import load_tenant, load_tenant_text
from harness.guide.source import parse_yaml

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "sample"
GUIDE_TEXT = (SAMPLE / "ご利用内容.yaml").read_text(encoding="utf-8")


def problems(guide: str, settings: str | None = None) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_tenant_text("t", guide, settings)
    return [str(p) for p in caught.value.problems]


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nowhere: does not exist: give a tenant folder"):
        load_tenant(tmp_path / "nowhere")


def test_file_given_for_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ご利用内容.yaml").write_text(GUIDE_TEXT, encoding="utf-8")
    with pytest.raises(InputError, match="ご利用内容.yaml: is a file, not a folder: give a"):
        load_tenant(tmp_path / "ご利用内容.yaml")


def test_a_yaml_error_in_the_guide_is_reported_without_its_echoes() -> None:
    # Issue 9 item 4: one syntax error in ご利用内容.yaml gave 21 problems, 20 of them 設定.yaml
    # naming extensions and lines "unknown" because the guide could not be read at all.
    settings = (SAMPLE / "設定.yaml").read_text(encoding="utf-8")
    broken = GUIDE_TEXT.replace("管理者アカウント: {", "管理者アカウント: {{", 1)
    found = problems(broken, settings)
    assert len(found) == 1, found
    assert found[0].startswith("ご利用内容.yaml (line 6, column 1): is not valid YAML")


def test_problems_of_the_settings_themselves_are_still_reported() -> None:
    settings = '着信グループ:\n  - {種別: 順番着信, 代表番号: "20200", メンバー: ["20201"]}\n'
    found = problems("内線番号情報1: [\n", settings)
    assert len(found) == 2, found
    assert found[0].startswith("ご利用内容.yaml (line 2, column 1): is not valid YAML")
    assert found[1].startswith("設定.yaml › 着信グループ › row 1 › 種別 (line 2): must be one of")


def test_guide_without_its_terminal_table_gives_no_echoes() -> None:
    guide = GUIDE_TEXT.split("内線番号情報1:")[0]
    found = problems(guide, (SAMPLE / "設定.yaml").read_text(encoding="utf-8"))
    assert found == [
        "ご利用内容.yaml › 内線番号情報1: the table '内線番号情報1' is required: add it "
        "(内線番号情報1: at least one terminal)"
    ]


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ご利用内容.yaml").write_bytes(GUIDE_TEXT.encode("shift_jis"))
    with pytest.raises(InputError, match="is not UTF-8 text.*save the file as UTF-8"):
        load_tenant(tmp_path)


def test_settings_file_is_optional_and_may_be_empty(tmp_path: Path) -> None:
    (tmp_path / "ご利用内容.yaml").write_text(GUIDE_TEXT, encoding="utf-8")
    assert load_tenant(tmp_path).settings.ring_groups == []
    (tmp_path / "設定.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert load_tenant(tmp_path).settings.absence == {}


def test_settings_of_wrong_type_is_refused() -> None:
    assert problems(GUIDE_TEXT, "- 着信グループ\n") == [
        "設定.yaml: must be a mapping of tables (着信グループ, 外線着信設定, 外線発信設定, "
        "不在時動作設定), not a list"
    ]


def test_tab_indentation_names_line_and_column() -> None:
    found = problems(GUIDE_TEXT.replace("  ご注文内容", "\tご注文内容"))
    assert len(found) == 1 and found[0].startswith("ご利用内容.yaml (line 3, column 1)")


def test_yes_and_no_keys_stay_text() -> None:
    # YAML 1.1 reads a plain No as false; keys are taken as written.
    source = parse_yaml("{No: 1, 20201: x, yes: 2}", label="x.yaml")
    assert dict(source.data) == {"No": 1, "20201": "x", "yes": 2}


def test_octal_looking_number_is_quoted_in_the_message() -> None:
    found = problems(
        GUIDE_TEXT.replace('拠点番号: "20", 端末番号: "201"', '拠点番号: "20", 端末番号: 0201')
    )
    assert any('write 端末番号: "0201"' in p and "number 129" in p for p in found), found


def test_row_that_is_not_a_mapping_is_refused() -> None:
    text = GUIDE_TEXT.replace("外線番号情報:\n", "外線番号情報:\n  - just text\n")
    assert any("外線番号情報 › row 1 (line" in p and "mapping" in p for p in problems(text))


def test_empty_optional_table_means_no_rows() -> None:
    text = GUIDE_TEXT.split("外線番号情報:")[0] + "外線番号情報:\n"
    assert load_tenant_text("t", text).external_numbers == []


def test_error_in_one_row_does_not_cascade_to_references() -> None:
    # 20201's row has a bad 端末ID, but its extension is still known to the other tables.
    text = GUIDE_TEXT.replace("端末ID: abcde20201", "端末ID: 'abc de'")
    found = problems(text, '外線発信設定:\n  - {内線番号: "20201", 発信者番号: "0312345678"}\n')
    assert len(found) == 1 and "› 端末ID" in found[0]


def test_subject_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "ご利用内容.yaml").write_text("", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_tenant(tmp_path)
    assert caught.value.subject == str(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}: 1 problem\n")


def test_yaml_tags_are_refused_without_running_anything() -> None:
    source = parse_yaml("お客様情報: !!python/object/apply:os.system [echo hi]\n", label="x.yaml")
    assert source.data is None
    assert "without tags" in source.problems[0].rule
    assert source.problems[0].where == "x.yaml (line 1, column 8)"


def test_merge_keys_with_an_alias_are_refused() -> None:
    # Aliases are refused outright (tests/guide/test_bounded_input.py): a merge key needs one.
    source = parse_yaml("base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n", label="x.yaml")
    assert source.data is None
    assert source.problems[0].where == "x.yaml (line 1)"
    assert "do not allow anchors and aliases" in source.problems[0].rule
