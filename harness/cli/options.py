"""Option parsing shared by sub-commands (not a sub-command itself: not in COMMANDS)."""

from __future__ import annotations

from harness.errors import InputError, Problem


def name_values(pairs: list[str], *, subject: str) -> dict[str, str]:
    """Repeated ``--param NAME=VALUE`` options as a mapping; every malformed one is reported."""
    overrides: dict[str, str] = {}
    problems: list[Problem] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            problems.append(Problem(where=f"--param {pair}", rule="must be NAME=VALUE"))
        else:
            overrides[name.strip()] = value.strip()
    if problems:
        raise InputError(problems, subject=subject)
    return overrides
