"""Fixtures of the conformance suite: targets, phones, evidence and the FlowContext.

Per xdist worker (session scope): one :class:`TenantSession` per tenant — on an embedded target
its own ``serve`` process, started on first use and stopped at the end; on a remote target the
target file's ``Target``. Per test (function scope): a fresh evidence folder and FlowContext.

- ``test_manual.py`` (flows) gets a fresh PhoneFactory per flow (a flow's wrong-password phones
  never leak into a later check). A flow may change the settings (初期設定, 不在時動作), so on a
  target with the provisioning API the tenant is marked *dirty*.
- ``test_behaviour.py`` (checks) shares one PhoneFactory per tenant, so each terminal registers
  once; before a check on a dirty tenant the embedded target is reset to the tenant's own
  documents (``POST /api/reset``: settings, lines 開通, MFA off) and the phones are made again
  (a reset forgets registrations). On a remote target the onboarding flows bring the settings
  (``changes_settings``) or they are assumed (verify-only): nothing is written.

Manual flows run before behaviour checks (collection order); every item carries the
``manual_step`` marker of the steps it verifies, so the compliance matrix lists it under them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from harness.flows.context import FlowContext
from harness.flows.step import Flow
from harness.suite import surfaces
from harness.suite.derive import BehaviourCheck
from harness.suite.plan import SUITE_PLAN, SuitePlan, SuiteTenant
from harness.target.model import Capability, Target
from harness.web.fixtures import (  # noqa: F401 (pytest-playwright on Debian Chromium)
    browser_context_args,
    chromium_launch_args,
    new_context,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from harness.model import ModelParams
    from harness.sip.runtime import Runtime
    from harness.target.phones import PhoneFactory
    from harness.target.provisioning import ProvisioningClient


def plan_of(config: pytest.Config) -> SuitePlan:
    plan = config.stash.get(SUITE_PLAN, None)
    if plan is None:
        raise pytest.UsageError(
            "the suite's plan is missing: run it as `pytest --pyargs harness.suite` or "
            "`smartpbx-harness run` (the smartpbx-harness plugin must be active)"
        )
    return plan


def flows_of() -> tuple[Flow, ...]:
    from harness.flows.step import flows

    return flows()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    plan = plan_of(metafunc.config)
    if "suite_flow" in metafunc.fixturenames:
        flow_params = [(t, f) for t in plan.tenants for f in flows_of()]
        metafunc.parametrize(
            ("suite_tenant", "suite_flow"),
            flow_params,
            ids=[f"{t.key}/{f.name}" for t, f in flow_params],
        )
    if "suite_check" in metafunc.fixturenames:
        check_params = [(t, c) for t in plan.tenants for c in t.checks]
        metafunc.parametrize(
            ("suite_tenant", "suite_check"),
            check_params,
            ids=[f"{t.key}/{c.id}" for t, c in check_params],
        )


def _subject(item: pytest.Item) -> tuple[SuiteTenant | None, Flow | BehaviourCheck | None]:
    callspec = getattr(item, "callspec", None)
    params: dict[str, object] = callspec.params if callspec is not None else {}
    tenant = params.get("suite_tenant")
    subject = params.get("suite_check") or params.get("suite_flow")
    return (
        tenant if isinstance(tenant, SuiteTenant) else None,
        subject if isinstance(subject, BehaviourCheck | Flow) else None,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Flows first (onboarding brings the settings), then checks; each item records what the
    reports read (docs/suite.md "Recorded properties"): tenant, target, flow or check, the
    manual steps it verifies and its requirement."""
    order = {"test_manual.py": 0, "test_behaviour.py": 1}
    items.sort(key=lambda item: order.get(Path(str(item.path)).name, 2))
    plan = config.stash.get(SUITE_PLAN, None)
    target = "embedded" if plan is None or plan.target is None else plan.target.name
    for item in items:
        tenant, subject = _subject(item)
        if tenant is None or subject is None:
            continue
        if plan is not None and plan.target is not None:
            # A remote target is one deployment: a tenant's onboarding flows must run before
            # its checks, so its items stay on one xdist worker in order (`--dist loadgroup`).
            # Embedded targets need no group: each worker has its own simulator per tenant.
            item.add_marker(pytest.mark.xdist_group(tenant.key))
        kind = "check" if isinstance(subject, BehaviourCheck) else "flow"
        name = subject.id if isinstance(subject, BehaviourCheck) else subject.name
        item.user_properties.extend(
            [
                ("tenant", tenant.key),
                ("target", target),
                (kind, name),
                ("steps", " ".join(subject.steps)),
                ("requirement", subject.requirement),
            ]
        )


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], pytestconfig: pytest.Config
) -> dict[str, Any]:
    """Debian Chromium for pytest-playwright; kept on loopback unless the target's web site is
    elsewhere (a real deployment)."""
    plan = plan_of(pytestconfig)
    web = None if plan.target is None else plan.target.web_base_url
    host = urlsplit(web).hostname if web else None
    loopback = host is None or host == "localhost" or host.startswith("127.") or host == "::1"
    return {
        **browser_type_launch_args,
        **chromium_launch_args(pytestconfig, loopback_only=loopback),
    }


# --- targets --------------------------------------------------------------------------------


@dataclass(kw_only=True)
class TenantSession:
    """One tenant on this worker's target: the Target, its API, the behaviour checks' phones."""

    tenant: SuiteTenant
    target: Target
    api: ProvisioningClient | None
    folder: Path
    phones: PhoneFactory | None = None
    dirty: bool = False
    generation: int = 0

    def behaviour_phones(self, runtime: Runtime) -> PhoneFactory:
        """The shared phones; after a flow changed the settings, reset first (embedded)."""
        if self.dirty and self.api is not None:
            self.close_phones()
            surfaces.reset(self.api)
        self.dirty = False
        if self.phones is None:
            self.generation += 1
            name = f"behaviour-{self.generation}"
            self.phones = surfaces.phone_factory(
                runtime,
                self.target,
                self.tenant.tenant.guide,
                pcap=self.folder / f"{name}.pcap",
                ladder=self.folder / f"{name}-ladder.txt",
            )
        return self.phones

    def close_phones(self) -> None:
        if self.phones is not None:
            phones, self.phones = self.phones, None
            phones.close()


@dataclass(kw_only=True)
class Targets:
    """This worker's targets, one per tenant, started on first use, all stopped at the end."""

    plan: SuitePlan
    root: Path
    stack: ExitStack = field(default_factory=ExitStack)
    sessions: dict[str, TenantSession] = field(default_factory=dict)

    def session(self, tenant: SuiteTenant) -> TenantSession:
        if tenant.key not in self.sessions:
            folder = self.root / tenant.key
            folder.mkdir(parents=True, exist_ok=True)
            if self.plan.target is None:
                embedded = self.stack.enter_context(
                    surfaces.start_embedded(
                        tenant.folder,
                        time_scale=self.plan.time_scale,
                        workdir=folder,
                        extra_args=self.plan.serve_args,
                    )
                )
                target, api = embedded.target, embedded.provisioning
            else:
                target, api = self.plan.target, None
            session = TenantSession(tenant=tenant, target=target, api=api, folder=folder)
            self.stack.callback(session.close_phones)
            self.sessions[tenant.key] = session
        return self.sessions[tenant.key]


@pytest.fixture(scope="session")
def suite_plan(pytestconfig: pytest.Config) -> SuitePlan:
    return plan_of(pytestconfig)


@pytest.fixture(scope="session")
def suite_targets(
    suite_plan: SuitePlan, tmp_path_factory: pytest.TempPathFactory, sip_runtime: Runtime
) -> Iterator[Targets]:
    """This worker's targets; torn down before ``sip_runtime`` (the shared phones run on it)."""
    with ExitStack() as stack:
        targets = Targets(plan=suite_plan, root=tmp_path_factory.mktemp("suite"), stack=stack)
        yield targets


@pytest.fixture
def tenant_session(suite_targets: Targets, suite_tenant: SuiteTenant) -> TenantSession:
    return suite_targets.session(suite_tenant)


def _context(
    session: TenantSession,
    phones: PhoneFactory,
    folder: Path,
    new_page: Callable[[], Page] | None,
    params: ModelParams,
) -> FlowContext:
    return FlowContext(
        params=params,
        target=session.target,
        tenant=session.tenant.tenant,
        tenant_dir=session.tenant.folder,
        phones=phones,
        evidence=surfaces.folder_evidence(folder, phones),
        new_page=new_page,
        api=session.api,
        mail=surfaces.mail_reader(session.target),
    )


@pytest.fixture
def manual_context(
    suite_plan: SuitePlan,
    tenant_session: TenantSession,
    sip_runtime: Runtime,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[FlowContext]:
    """A FlowContext with its own phones and browser pages (opened on first use)."""
    phones = surfaces.phone_factory(
        sip_runtime,
        tenant_session.target,
        tenant_session.tenant.tenant.guide,
        pcap=tmp_path / "phones.pcap",
        ladder=tmp_path / "phones-ladder.txt",
    )

    def new_page() -> Page:
        contexts: Any = request.getfixturevalue("new_context")
        page: Page = contexts().new_page()
        return page

    has_web = tenant_session.target.has(Capability.WEB)
    page_opener = new_page if has_web else None
    ctx = _context(tenant_session, phones, tmp_path / "evidence", page_opener, suite_plan.params)
    try:
        yield ctx
    finally:
        if ctx.mail is not None:
            ctx.mail.close()
        phones.close()
        if tenant_session.target.has(Capability.PROVISIONING_API):
            tenant_session.dirty = True


@pytest.fixture
def behaviour_context(
    suite_plan: SuitePlan, tenant_session: TenantSession, sip_runtime: Runtime, tmp_path: Path
) -> Iterator[FlowContext]:
    """A FlowContext on the tenant's shared phones (reset first after a flow, embedded)."""
    phones = tenant_session.behaviour_phones(sip_runtime)
    ctx = _context(tenant_session, phones, tmp_path / "evidence", None, suite_plan.params)
    try:
        yield ctx
    finally:
        if ctx.mail is not None:
            ctx.mail.close()


def allure_labels(*, title: str, description: str) -> None:
    """Title and description of a suite test when allure-pytest is active (epic, feature and
    stories come from the compliance plugin, from the recorded properties)."""
    try:
        import allure
    except ImportError:
        return
    dynamic: Any = allure.dynamic  # allure-pytest ships no type hints
    dynamic.title(title)
    dynamic.description(description)
