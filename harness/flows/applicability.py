"""``NotApplicable``: a flow or step that has nothing to do for this tenant.

Raised, for instance, by the iPhone flow of a tenant without a スマートフォン terminal, by the
Flexible InterConnect flows of a tenant whose お客様情報 has no 内線サーバアドレス(UNO接続), or
by a web flow for a tenant without 着信グループ or 端末ユーザ accounts. The suite reports the
verdict *n/a* with :attr:`NotApplicable.reason` — distinct from *skipped*, which means the
target lacks a capability (``harness.target.model.MissingCapability``).
"""

from __future__ import annotations


class NotApplicable(Exception):
    """Nothing to do for this tenant; ``reason`` says why, in the documents' words."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
