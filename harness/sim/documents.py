"""Reading a tenant folder (ご利用内容.yaml + 設定.yaml) for the simulator.

The loading and validation of the documents belong to ``harness.guide`` (``load_tenant``); this
module only adapts its result and errors for the simulator, so the provisioning API and
``serve`` report a bad document the same way the rest of the harness does.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import InputError, Problem
from harness.guide.types import Guide, Settings, Tenant

GUIDE_FILE = "ご利用内容.yaml"
SETTINGS_FILE = "設定.yaml"


def read_tenant(path: str | Path) -> Tenant:
    """Load the tenant folder at ``path``; raises InputError naming what is wrong."""
    folder = Path(path)
    try:
        if not (folder / GUIDE_FILE).is_file():
            raise InputError(
                [
                    Problem(
                        where=str(folder),
                        rule=f"must be a tenant folder holding {GUIDE_FILE} (and optionally "
                        f"{SETTINGS_FILE})",
                    )
                ],
                subject="tenant",
            )
    except (OSError, ValueError) as error:
        raise InputError(
            [Problem(where=str(path)[:200], rule=f"cannot be read as a folder: {error}")],
            subject="tenant",
        ) from error
    loader: Any = getattr(importlib.import_module("harness.guide"), "load_tenant", None)
    if loader is not None:
        tenant: Tenant = loader(folder)
        return tenant
    return _read_tenant_minimal(folder)


def _read_tenant_minimal(folder: Path) -> Tenant:
    """Stand-in until ``harness.guide.load_tenant`` exists: YAML + the pydantic types only."""
    try:
        guide = Guide.model_validate(_yaml(folder / GUIDE_FILE))
    except ValidationError as error:
        raise InputError(validation_problems(error, where=GUIDE_FILE), subject="tenant") from error
    settings_path = folder / SETTINGS_FILE
    try:
        settings = (
            Settings.model_validate(_yaml(settings_path) or {})
            if settings_path.is_file()
            else Settings()
        )
    except ValidationError as error:
        raise InputError(
            validation_problems(error, where=SETTINGS_FILE), subject="tenant"
        ) from error
    return Tenant(name=folder.name, guide=guide, settings=settings)


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false (the document's key ``No`` must stay a string)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError(
            [Problem(where=str(path), rule=f"is not readable YAML: {error}")]
        ) from error


def validation_problems(error: ValidationError, *, where: str) -> list[Problem]:
    """pydantic errors → located Problems (``where › loc › …: msg``)."""
    problems = []
    for item in error.errors():
        loc = " › ".join(str(part) for part in item["loc"])
        problems.append(Problem(where=f"{where} › {loc}" if loc else where, rule=item["msg"]))
    return problems
