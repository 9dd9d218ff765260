"""DESIGN.md "Packages and what each may import": harness.model imports only the stdlib,
harness.guide (and the shared harness.errors); only the scenario loader reads files, through
the harness's one YAML reader (``harness.guide.source.read_yaml``)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import harness.model

MODEL = Path(harness.model.__file__).parent
ALLOWED = ("harness.guide", "harness.errors", "harness.model")


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_model_imports_only_stdlib_and_guide() -> None:
    for path in sorted(MODEL.glob("*.py")):
        for module in imports_of(path):
            if module.split(".")[0] in sys.stdlib_module_names or module.startswith(ALLOWED):
                continue
            raise AssertionError(f"{path.name} imports {module}")


def test_only_the_scenario_loader_does_io() -> None:
    for path in sorted(MODEL.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        touches_io = any(
            call in text for call in ("open(", "read_text(", "read_yaml(", "print(", "write_")
        )
        assert touches_io == (path.name == "scenario.py"), path.name
