"""Every folder of fixtures/ご利用内容/broken/ is refused, and its message names file, table,
row and field as listed in the folder's expected.txt (one substring a line; # comments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.guide import load_tenant

BROKEN = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "broken"
CASES = sorted(p for p in BROKEN.iterdir() if p.is_dir())
MANY = "many-errors"
FILES = ("ご利用内容.yaml", "設定.yaml")


def _expected(case: Path) -> list[str]:
    lines = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_there_are_many_cases() -> None:
    assert len(CASES) >= 40
    assert MANY in {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_document_is_refused_with_location(case: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_tenant(case)
    message = str(caught.value)
    expected = _expected(case)
    assert expected, f"{case.name}/expected.txt lists nothing"
    missing = [text for text in expected if text not in message]
    assert not missing, f"{case.name}: {missing} not in\n{message}"
    # Every problem starts with the file it is in; a broken case breaks exactly one rule.
    assert all(p.where.startswith(FILES) for p in caught.value.problems), message
    if case.name != MANY:
        assert len(caught.value.problems) == 1, message


def test_many_errors_are_reported_at_once() -> None:
    with pytest.raises(InputError) as caught:
        load_tenant(BROKEN / MANY)
    wheres = [p.where for p in caught.value.problems]
    assert len(wheres) == 9
    assert any(w.startswith("ご利用内容.yaml") for w in wheres)
    assert any(w.startswith("設定.yaml") for w in wheres)
    # ご利用内容.yaml problems come first.
    files = [w.split(" ")[0] for w in wheres]
    assert files == sorted(files, key=lambda f: f != "ご利用内容.yaml")
