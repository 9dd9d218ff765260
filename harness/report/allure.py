"""Render pytest's Allure results into the single-file Allure Report 3 (npm ``allure``, no Java).

The project installs Allure 3 under ``node_modules/`` (``scripts/setup`` runs ``npm ci``);
``allurerc.mjs`` at the project root asks for one self-contained ``index.html``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from harness.errors import HarnessError


def find_allure(project: Path) -> Path:
    """The Allure 3 command: ``node_modules/.bin/allure`` of the project, else on PATH."""
    local = project / "node_modules" / ".bin" / "allure"
    if local.exists():
        return local
    found = shutil.which("allure")
    if found:
        return Path(found)
    raise HarnessError(
        f"Allure Report 3 is not installed (no {local} and no `allure` on PATH): "
        "run `make setup` (or `npm ci`) in the project folder"
    )


def generate_report(results: Path, output: Path, *, project: Path, timeout: float = 300) -> Path:
    """Write the single-file HTML report for ``results`` into ``output``; returns index.html."""
    allure = find_allure(project)
    config = project / "allurerc.mjs"
    command = [str(allure), "generate", str(results.resolve()), "-o", str(output.resolve())]
    if config.exists():
        command[2:2] = ["--config", str(config.resolve())]
    try:
        done = subprocess.run(
            command, cwd=project, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HarnessError(f"allure generate could not run: {error}") from error
    index = output / "index.html"
    if done.returncode != 0 or not index.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-10:]
        raise HarnessError(f"allure generate failed (exit {done.returncode}): " + " | ".join(tail))
    return index
