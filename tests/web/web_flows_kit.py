"""What the web-flow tests need: the embedded simulator handle as a ``Target`` and a
``FlowContext`` with the package's own ProvisioningClient and MailReader, the browser
fixture's page factory and evidence that records what it was given.

The clients a context opens are closed by ``close_clients`` (an autouse fixture of
tests/web/conftest.py calls it after each test)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from playwright.sync_api import Page

from harness.flows.catalog import ManualStep
from harness.flows.context import FlowContext
from harness.guide import Tenant
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.runtime import Runtime
from harness.target.mail import MailReader
from harness.target.model import ApiAccess, MailAccess, SipEndpoint, Target
from harness.target.phones import PhoneFactory
from harness.target.provisioning import ProvisioningClient


class RecordingClient(ProvisioningClient):
    """The provisioning client, remembering each 開通 flag the flows set (a spy: the
    onboarding test checks the 開通前 path switched the line off, then on)."""

    def __init__(self, access: ApiAccess) -> None:
        super().__init__(access)
        self.lines: list[tuple[str, bool]] = []

    def set_line_live(self, number: str, live: bool) -> None:
        self.lines.append((number, live))
        super().set_line_live(number, live)


_OPEN: list[ProvisioningClient | MailReader | PhoneFactory] = []


def close_clients() -> None:
    """Close every client the contexts of this test opened."""
    while _OPEN:
        _OPEN.pop().close()


@dataclass
class RecordingEvidence:
    """Evidence that keeps what it was given (the tests check screenshots were taken)."""

    pages: list[Page] = field(default_factory=list)
    shots: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    def after_step(self, step: ManualStep) -> None:
        for page in self.pages:
            if not page.is_closed():
                page.screenshot()
                self.shots.append(step.id)

    def text(self, name: str, body: str) -> None:
        self.texts[name] = body

    def file(self, name: str, path: Path, mime: str) -> None:
        self.texts[name] = str(path)

    def png(self, name: str, data: bytes) -> None:
        self.shots.append(name)

    def watch(self, page: Page) -> None:
        self.pages.append(page)


class _NoPhones:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError("the web flows use no phones")


def target_of(
    sim: SimulatorHandle, *, changes: bool, api: bool = True, mail: bool = True
) -> Target:
    """The embedded simulator as a Target (every capability unless switched off)."""
    return Target(
        name="embedded-test",
        kind="embedded",
        time_scale=0.01,
        sip=SipEndpoint(host="127.0.0.1", port=sim.sip_port or 5060),
        carrier=SipEndpoint(host="127.0.0.1", port=sim.pstn_port) if sim.pstn_port else None,
        web_base_url=sim.base_url,
        mail=MailAccess(api=f"{sim.base_url}/api/mail", token=sim.api_token) if mail else None,
        api=ApiAccess(base_url=sim.base_url, token=sim.api_token) if api else None,
        changes_settings=changes,
    )


def flow_context(
    sim: SimulatorHandle,
    tenant: Tenant,
    tenant_dir: Path,
    new_page: Callable[[], Page],
    *,
    changes: bool,
    api: bool = True,
    mail: bool = True,
    runtime: Runtime | None = None,
) -> FlowContext:
    """A context on the simulator; with ``runtime``, real phones on it (the P.2 flow calls the
    line whose 着信先 it changed), else a stand-in that fails any use of a phone."""
    target = target_of(sim, changes=changes, api=api, mail=mail)
    phones = (
        cast(PhoneFactory, _NoPhones())
        if runtime is None
        else _opened(PhoneFactory.for_target(runtime, target, tenant.guide))
    )
    return FlowContext(
        target=target,
        tenant=tenant,
        tenant_dir=tenant_dir,
        phones=phones,
        evidence=RecordingEvidence(),
        new_page=new_page,
        api=_opened(RecordingClient(target.api)) if target.api else None,
        mail=_opened(MailReader(target.mail)) if target.mail else None,
    )


_Client = TypeVar("_Client", RecordingClient, MailReader, PhoneFactory)


def _opened(client: _Client) -> _Client:
    _OPEN.append(client)
    return client


def run_flow(name: str, ctx: FlowContext) -> float:
    """Run the registered flow ``name`` on ``ctx``; its wall time in seconds."""
    from harness.flows.step import flows

    chosen = next(f for f in flows() if f.name == name)
    started = time.perf_counter()
    try:
        chosen.run(ctx)
    finally:
        print(f"[flow {name} on {ctx.tenant.name}: {time.perf_counter() - started:.2f} s]")
    return time.perf_counter() - started
