"""The public surfaces the suite drives, in one place (DESIGN.md: the suite talks to a target
only through them): target files and reachability, the embedded target, the phones, evidence,
calls and the mail reader. ``tests/suite`` replaces these functions with fakes to test the
suite's own logic (ordering, verdicts, pre-flight) without a target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from harness.flows import calls
from harness.flows.evidence import FolderEvidence
from harness.guide.types import Guide
from harness.target import config, embedded, probe
from harness.target.mail import MailReader
from harness.target.model import Target
from harness.target.phones import PhoneFactory

if TYPE_CHECKING:
    from harness.flows.context import Evidence, FlowContext
    from harness.model import ModelParams, Scenario, Timeline
    from harness.sip.app import Platform
    from harness.sip.runtime import Runtime
    from harness.target.embedded import EmbeddedTarget
    from harness.target.provisioning import ProvisioningClient


def load_target_file(path: Path) -> Target:
    """``harness.target.config.load_target_file``: InputError naming file › table › key."""
    return config.load_target_file(path)


def require_reachable(target: Target) -> None:
    """``harness.target.probe.require_reachable``: TargetUnreachable (exit 3) naming where."""
    probe.require_reachable(target)


def start_embedded(
    tenant_dir: Path, *, time_scale: float, workdir: Path, extra_args: Sequence[str] = ()
) -> AbstractContextManager[EmbeddedTarget]:
    """``harness.target.embedded.start_embedded``: ``serve`` as a process for the tenant,
    with ``extra_args`` (``--suite-serve-arg``) on its command line."""
    return embedded.start_embedded(
        tenant_dir,
        time_scale=time_scale,
        workdir=workdir,
        name=tenant_dir.name,
        extra_args=extra_args,
    )


def phone_factory(
    runtime: Runtime, target: Target, guide: Guide, *, pcap: Path, ladder: Path
) -> PhoneFactory:
    """``PhoneFactory.for_target``: terminals to ``target.sip``, subscribers to the carrier,
    the clock at ``target.time_scale``."""
    return PhoneFactory.for_target(runtime, target, guide, pcap=pcap, ladder=ladder)


def folder_evidence(folder: Path, phones: PhoneFactory) -> Evidence:
    """``harness.flows.evidence.FolderEvidence``: a folder plus Allure attachments."""
    return FolderEvidence(folder, phones=phones)


def check_call(
    ctx: FlowContext,
    scenario: Scenario,
    *,
    params: ModelParams,
    name: str,
    platforms: Mapping[str, Platform],
    background: Sequence[calls.Background] = (),
    lapsed: Sequence[str] = (),
) -> Timeline:
    """``harness.flows.calls.check``: play with each terminal on its ``platforms`` app (the
    ``lapsed`` ones gone silent past their Expires; the ``background`` calls beside it),
    observe, compare; TimelineMismatch on a deviation."""
    return calls.check(
        ctx,
        scenario,
        params=params,
        name=name,
        platforms=platforms,
        background=background,
        lapsed=lapsed,
    )


def mail_reader(target: Target) -> MailReader | None:
    """``harness.target.mail.MailReader`` over the target's ``[mail]`` access, if it has one."""
    return None if target.mail is None else MailReader(target.mail)


def reset(api: ProvisioningClient) -> None:
    """``ProvisioningClient.reset``: back to the loaded documents (POST /api/reset)."""
    api.reset()
