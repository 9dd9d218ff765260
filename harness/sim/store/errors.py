"""The store's typed failures: a refused change (nothing saved) and a missing tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.errors import HarnessError, InputError, Problem


class SettingsError(InputError):
    """A change broke a rule: nothing was saved.

    From a page, ``fields`` maps field name → Japanese message (a ``rules.FieldErrors``, whose
    ``rule_ids`` name the rules). From a 設定 document, ``problems`` are the guide's, worded
    and located as ``smartpbx-harness check`` prints them, and ``fields`` maps each location
    to its rule.
    """

    def __init__(
        self,
        fields: Mapping[str, str] | None = None,
        *,
        subject: str = "settings",
        problems: Sequence[Problem] | None = None,
    ) -> None:
        if problems is None:
            ids = getattr(fields, "rule_ids", {})
            problems = [
                Problem(where=name, rule=message, rule_id=" ".join(ids.get(name, [])) or None)
                for name, message in (fields or {}).items()
            ]
        self.fields: Mapping[str, str] = (
            fields if fields is not None else {p.where: p.rule for p in problems}
        )
        super().__init__(list(problems), subject=subject)


class NoTenantError(HarnessError):
    """No tenant has been loaded yet (POST /api/tenant or ``serve --guide``)."""
