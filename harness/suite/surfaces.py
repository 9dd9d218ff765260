"""The public surfaces the suite drives, bound when first used (one place for all of them).

The suite was written beside the modules it calls (harness.target.config / probe / embedded,
harness.flows.calls / evidence, ``PhoneFactory.for_target``); importing them here, late and
typed, keeps ``harness.suite`` importable on its own and lets tests inject fakes by patching
these functions. Each function is the contract's signature (docs/suite.md, contracts).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.guide.types import Guide
from harness.target.model import Target

if TYPE_CHECKING:
    from harness.flows.context import Evidence, FlowContext
    from harness.model import ModelParams, Scenario, Timeline
    from harness.sip.runtime import Runtime
    from harness.target.mail import MailReader
    from harness.target.phones import PhoneFactory
    from harness.target.provisioning import ProvisioningClient


class Embedded(Protocol):
    """What the suite uses of ``harness.target.embedded.EmbeddedTarget``."""

    target: Target
    provisioning: ProvisioningClient


def _attribute(module: str, name: str) -> object:
    attribute: object = getattr(importlib.import_module(module), name)
    return attribute


def load_target_file(path: Path) -> Target:
    """``harness.target.config.load_target_file``: InputError naming file › table › key."""
    load: Callable[[Path], Target] = _attribute("harness.target.config", "load_target_file")  # type: ignore[assignment]
    return load(path)


def require_reachable(target: Target) -> None:
    """``harness.target.probe.require_reachable``: TargetUnreachable (exit 3) naming where."""
    probe: Callable[[Target], None] = _attribute("harness.target.probe", "require_reachable")  # type: ignore[assignment]
    probe(target)


def start_embedded(
    tenant_dir: Path, *, time_scale: float, workdir: Path
) -> AbstractContextManager[Embedded]:
    """``harness.target.embedded.start_embedded``: ``serve`` as a process for the tenant."""
    start: Callable[..., AbstractContextManager[Embedded]] = _attribute(  # type: ignore[assignment]
        "harness.target.embedded", "start_embedded"
    )
    return start(tenant_dir, time_scale=time_scale, workdir=workdir, name=tenant_dir.name)


def phone_factory(
    runtime: Runtime, target: Target, guide: Guide, *, pcap: Path, ladder: Path
) -> PhoneFactory:
    """``PhoneFactory.for_target``: terminals to ``target.sip``, subscribers to the carrier,
    the clock at ``target.time_scale``."""
    from harness.target.phones import PhoneFactory

    make: Callable[..., PhoneFactory] = getattr(PhoneFactory, "for_target")  # noqa: B009
    return make(runtime, target, guide, pcap=pcap, ladder=ladder)


def folder_evidence(folder: Path, phones: PhoneFactory) -> Evidence:
    """``harness.flows.evidence.FolderEvidence``: a folder plus Allure attachments."""
    make: Callable[..., Evidence] = _attribute("harness.flows.evidence", "FolderEvidence")  # type: ignore[assignment]
    return make(folder, phones=phones)


def check_call(ctx: FlowContext, scenario: Scenario, *, params: ModelParams, name: str) -> Timeline:
    """``harness.flows.calls.check``: play, observe, compare; TimelineMismatch on a deviation."""
    check: Callable[..., Timeline] = _attribute("harness.flows.calls", "check")  # type: ignore[assignment]
    return check(ctx, scenario, params=params, name=name)


def mail_reader(target: Target) -> MailReader | None:
    """``harness.target.mail.MailReader`` over the target's ``[mail]`` access, if it has one."""
    if target.mail is None:
        return None
    make: Callable[..., MailReader] = _attribute("harness.target.mail", "MailReader")  # type: ignore[assignment]
    return make(target.mail)


def reset(api: ProvisioningClient) -> None:
    """``ProvisioningClient.reset``: back to the loaded documents (POST /api/reset)."""
    do: Callable[[], None] = getattr(api, "reset")  # noqa: B009
    do()
