"""A flow or step that has nothing to do for this tenant (verdict "n/a", with the reason)."""

from __future__ import annotations


class NotApplicable(Exception):
    """Raised by a flow/step with nothing to do for this tenant (e.g. no 着信グループ, no
    端末ユーザ account): the suite reports "n/a" with :attr:`reason` — not *skipped*, which
    means the target lacks a capability (``MissingCapability``)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
