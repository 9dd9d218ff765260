"""DESIGN.md's import rules as import-linter contracts (pyproject.toml ``[tool.importlinter]``).

The real tree keeps every contract; a copy of it with one forbidden import breaks exactly the
contracts that rule belongs to, and ``lint-imports`` names the import chain (importer → imported,
with line numbers), which is what a developer reads in CI. The SIP core's module list in the
contract, the modules of ``harness/sip/`` and docs/architecture.md's table say the same thing.
"""

from __future__ import annotations

import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import harness.sip

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _contract(contract_id: str) -> dict[str, Any]:
    [contract] = [c for c in _contracts() if c["id"] == contract_id]
    return contract


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``harness`` package and pyproject.toml found in ``tree``."""
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: install the test extras: pip install -e '.[test]'")
    # The package is resolved by import: put the tree first so a copy is analysed, not the
    # installed (editable) original.
    path = os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _broken(output: str) -> set[str]:
    """The ids of the contracts ``lint-imports`` reports BROKEN."""
    names = {c["name"]: c["id"] for c in _contracts()}
    found = re.findall(r"^(.+?) BROKEN(?: \(.*\))?$", output, flags=re.MULTILINE)
    return {names[name] for name in found}


def test_the_tree_keeps_every_contract() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in done.stdout


@dataclass(frozen=True, kw_only=True)
class Violation:
    """Files written into a copy of the tree, and what lint-imports must then say."""

    id: str
    files: dict[str, str]  # path under the copy → text (appended when the file exists)
    broken: frozenset[str]  # contract ids
    chain: tuple[str, ...]  # lines of the reported chain, in order


VIOLATIONS = [
    Violation(
        id="core-reads-the-clock-through-a-helper",
        files={
            "harness/sip/_stamp.py": "import time\n\nNOW = time.monotonic\n",
            "harness/sip/uri.py": "\nfrom harness.sip import _stamp  # noqa\n",
        },
        broken=frozenset({"sip-core-sans-io"}),
        chain=("harness.sip.uri -> harness.sip._stamp", "harness.sip._stamp -> time (l.1)"),
    ),
    Violation(
        id="core-imports-the-transport",
        files={"harness/sip/dialog.py": "\nfrom harness.sip.transport import Address  # noqa\n"},
        broken=frozenset({"sip-core-sans-io"}),
        chain=("harness.sip.dialog -> harness.sip.transport",),
    ),
    Violation(
        id="simulator-imports-the-model",
        files={"harness/sim/_shortcut.py": "from harness.model import predict\n"},
        # (The layers allow it: sim sits above model; the hard rule is its own contract.)
        broken=frozenset({"sim-model-independent", "sim-imports"}),
        chain=("harness.sim._shortcut -> harness.model",),
    ),
    Violation(
        id="model-imports-the-simulator",
        files={"harness/model/_shortcut.py": "import harness.sim.store\n"},
        broken=frozenset({"package-table", "sim-model-independent", "model-pure"}),
        chain=("harness.model._shortcut -> harness.sim.store (l.1)",),
    ),
    Violation(
        id="model-imports-sip-io",
        files={"harness/model/_wire.py": "from harness.sip.transport import Address\n"},
        broken=frozenset({"package-table", "model-pure"}),
        chain=("harness.model._wire -> harness.sip.transport (l.1)",),
    ),
    Violation(
        id="flows-import-the-simulator",
        files={"harness/flows/_peek.py": "from harness.sim.store import Store\n"},
        broken=frozenset({"package-table", "public-surfaces-only"}),
        chain=("harness.flows._peek -> harness.sim.store (l.1)",),
    ),
    Violation(
        id="page-objects-import-the-simulator",
        files={"harness/web/pages/_peek.py": "import harness.sim\n"},
        broken=frozenset({"package-table", "public-surfaces-only", "web-report-leaves"}),
        chain=("harness.web.pages._peek -> harness.sim (l.1)",),
    ),
    Violation(
        id="reports-import-the-simulator",
        files={"harness/report/_peek.py": "import harness.sim.api\n"},
        broken=frozenset({"package-table", "public-surfaces-only", "web-report-leaves"}),
        chain=("harness.report._peek -> harness.sim.api (l.1)",),
    ),
    Violation(
        id="guide-imports-the-model",
        files={"harness/guide/_peek.py": "import harness.model\n"},
        broken=frozenset({"package-table", "guide-leaf"}),
        chain=("harness.guide._peek -> harness.model (l.1)",),
    ),
    Violation(
        id="guide-imports-a-web-library",
        files={"harness/guide/_peek.py": "import starlette\n"},
        broken=frozenset({"guide-leaf"}),
        chain=("harness.guide._peek -> starlette (l.1)",),
    ),
    Violation(
        # A module of its own: appending to embedded.py (which exists now) moves the line.
        id="the-target-imports-the-simulator",
        files={"harness/target/_leak.py": "from harness.sim.server import Simulator\n"},
        broken=frozenset({"package-table", "public-surfaces-only", "sim-target-independent"}),
        chain=("harness.target._leak -> harness.sim.server (l.1)",),
    ),
    Violation(
        id="a-future-suite-imports-the-simulator",
        files={
            "harness/suite/__init__.py": "",
            "harness/suite/checks.py": "import harness.sim\n",
        },
        broken=frozenset({"package-table", "public-surfaces-only"}),
        chain=("harness.suite.checks -> harness.sim (l.1)",),
    ),
    Violation(
        id="a-new-package-not-in-the-table",
        files={"harness/extra/__init__.py": ""},
        broken=frozenset({"package-table"}),
        chain=("- harness.extra",),
    ),
    Violation(
        id="a-leaf-imports-a-package",
        files={"harness/errors.py": "\nfrom harness.guide import types  # noqa\n"},
        # Every package imports the leaf, so through it sip and web now reach the guide.
        broken=frozenset({"leaves", "sip-protocol-only", "web-report-leaves"}),
        chain=("harness.errors -> harness.guide",),
    ),
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and pyproject.toml to break."""
    shutil.copytree(
        ROOT / "harness", tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(PYPROJECT, tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize("violation", VIOLATIONS, ids=lambda v: v.id)
def test_a_forbidden_import_breaks_its_contracts_naming_the_chain(
    tree: Path, violation: Violation
) -> None:
    for relative, text in violation.files.items():
        path = tree / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        before = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(before + text, encoding="utf-8")
    done = _lint(tree)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert _broken(output) == violation.broken, output
    position = 0
    for line in violation.chain:
        found = output.find(line, position)
        assert found >= 0, f"{line!r} not in the report (after position {position}):\n{output}"
        position = found


#: Packages of harness/sip/ that hold data, not code (SIPp's scenario XML files).
DATA_PACKAGES = {"harness.sip.sipp_scenarios"}


def _sip_modules() -> set[str]:
    found = {f"harness.sip.{m.name}" for m in pkgutil.iter_modules(harness.sip.__path__)}
    return found - DATA_PACKAGES


def _sip_core() -> set[str]:
    return set(_contract("sip-core-sans-io")["source_modules"])


def _sip_io() -> set[str]:
    forbidden = _contract("sip-core-sans-io")["forbidden_modules"]
    return {m for m in forbidden if m.startswith("harness.sip.")}


def test_every_sip_module_is_core_or_io() -> None:
    # A new module of harness/sip/ must be placed on one side of the sans-IO rule: in the
    # contract's source_modules (core) or its forbidden_modules (I/O).
    assert _sip_core().isdisjoint(_sip_io())
    assert _sip_core() | _sip_io() == _sip_modules()


def _table_modules(row: str) -> set[str]:
    """The modules named in the row of docs/architecture.md's package table titled ``row``."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    [line] = [t for t in text.splitlines() if t.startswith(f"| {row} |")]
    cell = re.sub(r"\([^)]*\)", "", line.split("|")[2])  # the module names, not the notes
    return {f"harness.sip.{name}" for name in re.findall(r"`(\w+)/?`", cell)}


def test_the_architecture_doc_lists_the_contract_modules() -> None:
    assert _table_modules("`harness.sip` — pure core") == _sip_core()
    assert _table_modules("`harness.sip` — I/O") == _sip_io()
