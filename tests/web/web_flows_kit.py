"""What the web-flow tests need until the `target` helper's ProvisioningClient and MailReader
land: stand-ins with the contracts.md signatures over the simulator handle, a Target built
from the handle, and a FlowContext with the browser fixture's page factory.

Replace ``ApiStandIn``/``MailStandIn`` with ``harness.target.provisioning.ProvisioningClient``
and ``harness.target.mail.MailReader`` once they exist (same methods)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from playwright.sync_api import Page

from harness.errors import HarnessError
from harness.flows.catalog import ManualStep
from harness.flows.context import FlowContext
from harness.guide import Tenant
from harness.pytest_plugin.sim import SimulatorHandle
from harness.target.model import ApiAccess, MailAccess, SipEndpoint, Target
from harness.target.phones import PhoneFactory

OTP = re.compile(r"ワンタイムパスワード[:：]\s*(\d{6})")


class ApiStandIn:
    """ProvisioningClient's methods the web flows and their tests use."""

    def __init__(self, sim: SimulatorHandle) -> None:
        self.sim = sim
        self.lines: list[tuple[str, bool]] = []

    def set_line_live(self, number: str, live: bool) -> None:
        self.lines.append((number, live))
        self.sim.set_line_live(number, live)

    def settings(self) -> dict[str, object]:
        return self.sim.settings()

    def put_settings(self, document: dict[str, Any]) -> None:
        self.sim.put_settings(document)

    def mfa(self) -> bool:
        return bool(self.sim.api("GET", "/api/mfa")["enabled"])

    def set_mfa(self, enabled: bool) -> None:
        self.sim.set_mfa(enabled)


@dataclass(frozen=True)
class MailMark:
    seen: int


class MailStandIn:
    """MailReader (contracts.md): mark, messages, wait_for_code."""

    def __init__(self, sim: SimulatorHandle) -> None:
        self.sim = sim

    def mark(self) -> MailMark:
        return MailMark(len(self.sim.mail()))

    def messages(self, *, to: str | None = None, after: MailMark | None = None) -> list[Any]:
        mails = self.sim.mail()[after.seen if after else 0 :]
        return [m for m in mails if to is None or to in m["to"]]

    def wait_for_code(self, to: str, *, after: MailMark, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for mail in reversed(self.messages(to=to, after=after)):
                found = OTP.search(mail["body"])
                if found:
                    return found.group(1)
            time.sleep(0.05)
        raise HarnessError(f"no one-time code mailed to {to} within {timeout} s")


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
) -> FlowContext:
    target = target_of(sim, changes=changes, api=api, mail=mail)
    return FlowContext(
        target=target,
        tenant=tenant,
        tenant_dir=tenant_dir,
        phones=cast(PhoneFactory, _NoPhones()),
        evidence=RecordingEvidence(),
        new_page=new_page,
        api=cast(Any, ApiStandIn(sim)) if api else None,
        mail=cast(Any, MailStandIn(sim)) if mail else None,
    )


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
