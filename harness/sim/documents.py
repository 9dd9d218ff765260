"""Reading a tenant folder (ご利用内容.yaml + 設定.yaml) for the simulator.

Loading and validating the documents belong to ``harness.guide.load_tenant``; this module only
guards the path itself (the provisioning API receives arbitrary strings), so the API and
``serve`` answer a bad folder the same way the rest of the harness does: an InputError naming
what is wrong.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import InputError, Problem
from harness.guide import load_tenant
from harness.guide.types import Tenant

GUIDE_FILE = "ご利用内容.yaml"


def read_tenant(path: str | Path) -> Tenant:
    """Load the tenant folder at ``path``; raises InputError naming what is wrong."""
    folder = Path(path)
    try:
        exists = folder.exists()
        is_tenant = (folder / GUIDE_FILE).is_file()
    except (OSError, ValueError) as error:
        raise InputError(
            [Problem(where=str(path)[:200], rule=f"cannot be read as a folder: {error}")],
            subject="tenant",
        ) from error
    if not exists:
        raise InputError(
            [
                Problem(
                    where=str(folder)[:200],
                    rule=f"does not exist: give a tenant folder holding {GUIDE_FILE} "
                    "(and optionally 設定.yaml)",
                )
            ],
            subject="tenant",
        )
    if not is_tenant:
        raise InputError(
            [
                Problem(
                    where=str(folder)[:200],
                    rule=f"must be a tenant folder holding {GUIDE_FILE} (and optionally 設定.yaml)",
                )
            ],
            subject="tenant",
        )
    return load_tenant(folder)
