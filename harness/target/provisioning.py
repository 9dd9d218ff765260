"""Typed client of the embedded simulator's provisioning API (httpx). INTERIM SHELL: the
`target` helper branch replaces this with the full client (docs/api.md)."""

from __future__ import annotations


class ProvisioningClient:
    """Typed client of ``/api/*`` (bearer token); no ``Any`` in its signatures."""
