"""Helpers of the SIP-side tests against the simulator SUBPROCESS (``sim`` fixture): phones
set up as the manual says, external subscribers on the carrier side, polling the API."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from harness.flows.context import FlowContext
from harness.flows.evidence import FolderEvidence
from harness.guide.load import load_tenant
from harness.guide.types import Guide
from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sim.documents import read_tenant
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import Phone, RegistrationState, TransportName
from harness.sip.resolver import Resolver
from harness.sip.runtime import Runtime
from harness.sip.transport import Address
from harness.target.model import SipEndpoint, Target

T = TypeVar("T")
TIMEOUT = 10.0
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "ご利用内容"


def eventually(probe: Callable[[], T | None], what: str, timeout: float = TIMEOUT) -> T:
    """Poll ``probe`` until it returns something truthy (bounded; no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


def point_at(factory: PhoneFactory, sim: SimulatorHandle, guide: Guide) -> None:
    """The resolver a person's DNS would be: 内線サーバアドレス → the simulator's SIP port."""
    assert sim.sip_port is not None
    factory.resolver = Resolver(
        entries={guide.customer.sip_domain: Address(host="127.0.0.1", port=sim.sip_port)}
    )


def tenant_phones(factory: PhoneFactory, sim: SimulatorHandle, folder: Path) -> dict[str, Phone]:
    """One registered phone per 内線番号情報1 row of ``folder``, none answering by default."""
    guide = read_tenant(folder).guide
    point_at(factory, sim, guide)
    phones = factory.for_guide(guide)
    for phone in phones.values():
        phone.never_answer()
        phone.register()
        assert phone.registration_state is RegistrationState.REGISTERED, phone.status_text
    return phones


def subscriber(factory: PhoneFactory, sim: SimulatorHandle, number: str) -> Phone:
    """An external phone registered on the carrier side with its number (no password)."""
    assert sim.pstn_port is not None
    phone = factory.phone(
        number, user_id=number, password="unused", sip_server=f"127.0.0.1:{sim.pstn_port}"
    )
    phone.never_answer()
    phone.register()
    assert phone.registration_state is RegistrationState.REGISTERED, phone.status_text
    return phone


def rows(sim: SimulatorHandle, path: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = sim.api("GET", path)
    return result


def device(
    factory: PhoneFactory,
    sim: SimulatorHandle,
    extension: str,
    name: str,
    *,
    transport: TransportName = "UDP",
) -> Phone:
    """One more phone of ``extension``'s terminal (same 端末ID and パスワード, its own contact),
    registered — the registrar keeps every contact and calls ring them all."""
    guide = read_tenant(Path(sim.guide)).guide
    point_at(factory, sim, guide)
    terminal = next(t for t in guide.terminals if t.extension == extension)
    phone = factory.phone(
        name,
        user_id=terminal.terminal_id,
        password=terminal.password,
        sip_server=guide.customer.sip_domain,
        transport=transport,
    )
    phone.never_answer()
    phone.register()
    assert phone.registration_state is RegistrationState.REGISTERED, (
        f"{phone.status_text}: {phone.virtual.last_error}"
    )
    return phone


def vanish(factory: PhoneFactory, phone: Phone) -> None:
    """Close ``phone`` without unregistering (a crashed app): its binding stays behind."""
    phone.runtime.run(phone.virtual.close(unregister=False), timeout=TIMEOUT)
    factory.phones.remove(phone)


def with_absence(sim: SimulatorHandle, extension: str, absence: dict[str, Any]) -> None:
    """Set one extension's 不在時動作設定 through the provisioning API (PUT /api/settings)."""
    document = sim.settings()
    document.setdefault("不在時動作設定", {})[extension] = absence
    sim.put_settings(document)


def answered_call(caller: Phone, callee: Phone, number: str) -> None:
    """``caller`` dials ``number``; ``callee`` rings and answers; the caller hangs up; both
    ends see the call end."""
    call = caller.call(number)
    ring = callee.incoming()
    ring.answer()
    call.wait_for(PhoneEventKind.CONNECTED)
    call.hangup()
    ring.wait_ended()


def sim_target(
    sim: SimulatorHandle, *, scale: float, tolerance: float | None = None, carrier: bool = True
) -> Target:
    """The simulator subprocess as a ``Target``, built by hand from its ports (SIP, carrier
    side, web), as the embedded target of harness.target does."""
    assert sim.sip_port is not None and sim.pstn_port is not None
    return Target(
        name="embedded-test",
        kind="embedded",
        time_scale=scale,
        sip=SipEndpoint(host="127.0.0.1", port=sim.sip_port),
        carrier=SipEndpoint(host="127.0.0.1", port=sim.pstn_port) if carrier else None,
        web_base_url=sim.base_url,
        changes_settings=True,
        tolerance=tolerance,
    )


def flow_context(target: Target, folder: Path, runtime: Runtime, scratch: Path) -> FlowContext:
    """A FlowContext for the tenant ``folder`` on ``target``: phones made for the target (their
    pcap and ladder in ``scratch``), evidence in ``scratch/evidence``. Close ``ctx.phones``."""
    tenant = load_tenant(folder)
    phones = PhoneFactory.for_target(
        runtime, target, tenant.guide, pcap=scratch / "phones.pcap", ladder=scratch / "ladder.txt"
    )
    return FlowContext(
        target=target,
        tenant=tenant,
        tenant_dir=folder,
        phones=phones,
        evidence=FolderEvidence(scratch / "evidence", phones=phones),
    )
