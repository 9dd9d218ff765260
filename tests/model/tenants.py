"""Tenants built in code for the model's tests (DOMAIN.md's own examples, made concrete)."""

from __future__ import annotations

from typing import Any

from harness.guide import Settings, Tenant
from harness.strategies.tenants import guide_of as guide

__all__ = ["EXTENSIONS", "LINES", "guide", "tenant"]

EXTENSIONS = ["20200", "20201", "20202", "20203", "20204", "21300", "21301"]
LINES = ("0312345678", "0312345679")


def tenant(settings: dict[str, Any] | None = None, *, name: str = "test") -> Tenant:
    """The test tenant: 拠点 20 (200–204) and 拠点 21 (300, 301), two external lines."""
    return Tenant(
        name=name,
        guide=guide(EXTENSIONS, lines=LINES),
        settings=Settings.model_validate(settings or {}),
    )
