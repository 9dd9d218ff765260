"""What every step function gets: the target, the tenant, the phones, the browser, evidence.

Flows use only the public surfaces listed here (DESIGN.md: flows never import ``harness.sim``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.flows.catalog import ManualStep
from harness.guide.types import Tenant
from harness.model import DEFAULT_PARAMS, ModelParams
from harness.target.model import Capability, Target

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from harness.target.mail import MailReader
    from harness.target.phones import PhoneFactory
    from harness.target.provisioning import ProvisioningClient
    from harness.web.guard import ReadOnlyGuard


class Evidence(Protocol):
    """Where a step's evidence goes (Allure attachments and/or a folder)."""

    def after_step(self, step: ManualStep) -> None:
        """Called after every step body, passed or not: attach what the step's surface shows."""

    def text(self, name: str, body: str) -> None:
        """Attach a text document (a ladder, a timeline, a diff)."""

    def file(self, name: str, path: Path, mime: str) -> None:
        """Attach a file (a pcap, a trace)."""

    def png(self, name: str, data: bytes) -> None:
        """Attach a screenshot."""

    def watch(self, page: Page) -> None:
        """Screenshot ``page`` after every web step from now on (until it closes)."""


@dataclass(kw_only=True)
class FlowContext:
    """The one argument every step function takes first (see harness.flows.step)."""

    target: Target
    tenant: Tenant
    tenant_dir: Path
    phones: PhoneFactory
    evidence: Evidence
    #: Opens a fresh browser page (its own context); None when the run has no browser.
    new_page: Callable[[], Page] | None = None
    api: ProvisioningClient | None = None
    mail: MailReader | None = None
    #: The model's parameters of the run (``--param``): what the flows' calls are compared
    #: with, and the (A)s they use (the pickup code, the voicemail access code).
    params: ModelParams = DEFAULT_PARAMS
    executed: list[str] = field(default_factory=list)
    #: The verify-only guards of the pages opened (harness.web.guard): one per page when the
    #: target lacks Capability.CHANGES_SETTINGS.
    guards: list[ReadOnlyGuard] = field(default_factory=list)

    def open_page(self) -> Page:
        """A fresh browser page, watched by the evidence recorder; MissingCapability (skipped)
        when the target has no web site, HarnessError when the run has no browser.

        Without Capability.CHANGES_SETTINGS (verify-only) the page is guarded: it can read the
        site, log in and out, and nothing else (harness.web.guard)."""
        self.require(Capability.WEB)
        if self.new_page is None:
            from harness.errors import HarnessError

            raise HarnessError("this run has no browser: the flow needs one for the web site")
        page = self.new_page()
        if not self.target.has(Capability.CHANGES_SETTINGS):
            from harness.web.guard import guard_read_only

            self.guards.append(guard_read_only(page))
        self.evidence.watch(page)
        return page

    def require(self, *needed: Capability) -> None:
        """Raise MissingCapability (verdict: skipped) when the target lacks one of ``needed``."""
        self.target.require(*needed)
