"""Hostile documents are refused quickly, in bounded memory, with the file and line named
(issue 10 item 4 (b) and (c)): alias bombs, deep nesting, oversized files, FIFOs, devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.guide import load_tenant, load_tenant_text
from harness.guide.source import MAX_DEPTH, MAX_DOCUMENT_BYTES, parse_yaml, read_yaml
from harness.model import load_scenario

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "sample"


def alias_bomb(levels: int = 8) -> str:
    """A "billion laughs": each level is 9 aliases of the one above, and the table 内線番号情報1
    9 of the last: 9**(levels + 1) strings (387 million) in well under 1 KiB of YAML. Before
    the fix, wording the rows' problems walked (repr) the expanded rows: gigabytes."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    lines.append("内線番号情報1: [" + ", ".join([f"*a{levels - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_tenant_text("t", text)
    return [str(p) for p in caught.value.problems]


def test_the_bomb_is_small() -> None:
    assert len(alias_bomb().encode("utf-8")) < 800


def test_an_alias_bomb_is_refused_naming_the_file_and_line() -> None:
    assert problems_of(alias_bomb()) == [
        "ご利用内容.yaml (line 1): uses a YAML alias (*name) of the anchor (&name) on this "
        "line: these documents do not allow anchors and aliases (a few of them can stand for "
        "gigabytes of data); write each value out in full"
    ]


def test_an_alias_bomb_in_the_settings_is_refused_too() -> None:
    guide = (SAMPLE / "ご利用内容.yaml").read_text(encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_tenant_text("t", guide, "着信グループ: []\n" + alias_bomb())
    assert [p.where for p in caught.value.problems] == ["設定.yaml (line 2)"]


@pytest.mark.parametrize(
    "text",
    [
        "x: &self [*self]\n",  # an anchor that contains itself
        "base: &b {a: 1}\nx: *b\n",  # one plain alias
        '内線番号情報1:\n  - &row {No: 1, 拠点番号: "20"}\n  - *row\n',
    ],
    ids=["self-reference", "one alias", "a row twice"],
)
def test_every_alias_is_refused(text: str) -> None:
    source = parse_yaml(text, label="x.yaml")
    assert source.data is None
    assert len(source.problems) == 1
    assert "do not allow anchors and aliases" in source.problems[0].rule


def test_an_unused_anchor_is_harmless() -> None:
    assert parse_yaml("x: &a 1\n", label="x.yaml").data == {"x": 1}


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    # 990 levels was a RecursionError traceback (libyaml allows 1,000).
    text = "内線番号情報1: " + "[" * 990 + "]" * 990 + "\n"
    found = problems_of(text)
    assert len(found) == 1
    assert found[0].startswith("ご利用内容.yaml (line 1): nests mappings and lists more than 32")


def test_nesting_up_to_the_limit_is_read() -> None:
    depth = MAX_DEPTH - 1  # the top-level mapping is a level too
    source = parse_yaml("x: " + "[" * depth + "]" * depth + "\n", label="x.yaml")
    assert source.problems == [] and source.data is not None


def test_an_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    (tmp_path / "ご利用内容.yaml").write_bytes(b"# " + b"x" * MAX_DOCUMENT_BYTES + b"\n")
    with pytest.raises(InputError) as caught:
        load_tenant(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "ご利用内容.yaml: is larger than 1024 KiB, the most a document may be: a tenant of "
        "1,000 extensions needs about a quarter of that; check it is the right file"
    ]


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: 1\n# " + b"x" * (MAX_DOCUMENT_BYTES - 8) + b"\n")
    assert path.stat().st_size == MAX_DOCUMENT_BYTES
    assert read_yaml(path, label="x.yaml").data == {"a": 1}


def test_oversized_text_is_refused() -> None:
    # Counted in UTF-8 bytes: 350,000 three-byte characters are over 1 MiB.
    source = parse_yaml("# " + "あ" * 350_000, label="x.yaml")
    assert source.data is None and "is larger than 1024 KiB" in source.problems[0].rule


@pytest.mark.timeout(30)  # before the fix, opening the FIFO waited for a writer forever
def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ご利用内容.yaml")
    with pytest.raises(InputError) as caught:
        load_tenant(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"ご利用内容.yaml: must be a regular file, but {tmp_path / 'ご利用内容.yaml'} is a "
        "named pipe (FIFO) (after following symbolic links): give the YAML file itself"
    ]


@pytest.mark.timeout(30)  # before the fix, it read /dev/zero until MemoryError
def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "設定.yaml").symlink_to("/dev/zero")
    (tmp_path / "ご利用内容.yaml").write_text(
        (SAMPLE / "ご利用内容.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        load_tenant(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"設定.yaml: must be a regular file, but {tmp_path / '設定.yaml'} is a device "
        "(after following symbolic links): give the YAML file itself"
    ]


def test_a_folder_where_the_file_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ご利用内容.yaml").mkdir()
    with pytest.raises(InputError, match="ご利用内容.yaml: must be a regular file, but .* folder"):
        load_tenant(tmp_path)


@pytest.mark.timeout(30)
def test_scenarios_are_read_the_same_way(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.yaml")
    with pytest.raises(InputError, match="fifo.yaml: must be a regular file"):
        load_scenario(tmp_path / "fifo.yaml")
    (tmp_path / "bomb.yaml").write_text(alias_bomb(), encoding="utf-8")
    with pytest.raises(InputError, match=r"bomb.yaml \(line 1\): uses a YAML alias"):
        load_scenario(tmp_path / "bomb.yaml")


# Loads the bomb in a fresh interpreter and prints its peak RSS before and after (KiB, from
# getrusage: the peak, so a short-lived expansion cannot hide between two samples).
_MEASURE = """
import json, resource, sys
from pathlib import Path
from harness.errors import InputError
from harness.guide import load_tenant
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_tenant(Path(sys.argv[1]))
    problems = []
except InputError as error:
    problems = [str(p) for p in error.problems]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_kib": after - before, "problems": problems}))
"""


@pytest.mark.timeout(60)  # before the fix: > 60 s and 4.9 GiB
def test_the_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "ご利用内容.yaml").write_text(alias_bomb(), encoding="utf-8")
    (tmp_path / "設定.yaml").write_text(alias_bomb(), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    measured = json.loads(result.stdout)
    assert [p.split(":")[0] for p in measured["problems"]] == [
        "ご利用内容.yaml (line 1)",
        "設定.yaml (line 1)",
    ]
    assert measured["growth_kib"] < 50 * 1024, measured
