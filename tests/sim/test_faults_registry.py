"""The fault registry and its command line: names unique and kebab-case, every area covered,
``serve --list-faults`` prints them all (exit 0), an unknown ``--fault`` is refused with the
closest names (exit 2), and ``--fault`` reaches a real ``serve`` through
``start_embedded(extra_args=…)``: its ready file lists the active faults."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.cli import EXIT_BAD_INPUT, main
from harness.errors import InputError
from harness.sim.faults import (
    BY_NAME,
    FAULTS,
    NO_FAULTS,
    PICKUP_WRONG_CALL,
    SEQUENTIAL_OUT_OF_ORDER,
    Area,
    Faults,
    listing,
)
from harness.target import start_embedded

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "sample"
_KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)+")


def test_names_are_unique_kebab_case_and_described() -> None:
    names = [fault.name for fault in FAULTS]
    assert len(names) == len(set(names)) == len(BY_NAME)
    assert [n for n in names if not _KEBAB.fullmatch(n)] == []
    assert [f.name for f in FAULTS if not f.description.strip() or "\n" in f.description] == []
    assert [f.name for f in FAULTS if not (Path(__file__).parents[2] / f.where).is_file()] == []


def test_at_least_28_faults_over_every_area() -> None:
    assert len(FAULTS) >= 28
    assert {fault.area for fault in FAULTS} == set(Area)


def test_no_faults_switches_nothing_on() -> None:
    assert [fault.name for fault in FAULTS if NO_FAULTS.on(fault)] == []
    assert NO_FAULTS.names == []


def test_named_switches_on_exactly_the_named_ones_in_registry_order() -> None:
    faults = Faults.named([PICKUP_WRONG_CALL.name, SEQUENTIAL_OUT_OF_ORDER.name])
    assert [f.name for f in FAULTS if faults.on(f)] == faults.names
    assert faults.names == [SEQUENTIAL_OUT_OF_ORDER.name, PICKUP_WRONG_CALL.name]


def test_an_unknown_name_is_refused_with_the_closest_ones() -> None:
    with pytest.raises(InputError) as caught:
        Faults.named(["sequential-out-of-ordr", "no-such-thing-at-all"])
    text = str(caught.value)
    assert "--fault sequential-out-of-ordr" in text
    assert "did you mean sequential-out-of-order" in text
    assert "--fault no-such-thing-at-all" in text
    assert text.count("serve --list-faults") == 2


def test_list_faults_prints_every_fault_with_area_and_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--list-faults"]) == 0
    out = capsys.readouterr().out
    printed: dict[str, tuple[str, str]] = {}  # name → (area heading above it, description)
    area = ""
    for line in out.splitlines():
        if not line.startswith(" "):
            area = line.removesuffix(":")
        else:
            name, description = line.split(maxsplit=1)
            printed[name] = (area, description)
    assert printed == {f.name: (f.area.value, f.description) for f in FAULTS}
    assert out.strip() == listing()


def test_serve_with_an_unknown_fault_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--guide", str(SAMPLE), "--fault", "pickup-wrong-cal"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--fault pickup-wrong-cal" in err and "pickup-wrong-call" in err
    assert "--list-faults" in err


def test_serve_without_guide_exits_2_saying_what_to_give(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve"]) == EXIT_BAD_INPUT
    assert "--guide: required" in capsys.readouterr().err


def test_serve_help_mentions_fault_and_list_faults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--fault NAME" in out and "--list-faults" in out


def test_extra_args_fault_reaches_serve_and_its_ready_file(tmp_path: Path) -> None:
    extra = ["--fault", PICKUP_WRONG_CALL.name, "--fault", SEQUENTIAL_OUT_OF_ORDER.name]
    with start_embedded(SAMPLE, workdir=tmp_path, extra_args=extra) as embedded:
        assert embedded.ready["faults"] == [SEQUENTIAL_OUT_OF_ORDER.name, PICKUP_WRONG_CALL.name]
    ready = json.loads((tmp_path / "ready.json").read_text(encoding="utf-8"))
    assert ready["faults"] == embedded.ready["faults"]
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert (
        f"faults                  {SEQUENTIAL_OUT_OF_ORDER.name}, {PICKUP_WRONG_CALL.name}" in log
    )


def test_serve_without_fault_lists_none(tmp_path: Path) -> None:
    with start_embedded(SAMPLE, workdir=tmp_path) as embedded:
        assert embedded.ready["faults"] == []
