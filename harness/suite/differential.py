"""The live differential property: a running target against the reference model, on settings
and calls Hypothesis draws (issue 12 item 2; docs/fuzz.md).

Theory of operation. One target runs for the whole property (the embedded simulator, or a
deployment with a provisioning API that lets the harness change settings); its tenant's guide
is fixed, its settings are replaced per example. For each drawn :class:`Example` (設定 +
scenario):

1. the settings go to the target through the typed provisioning client (``PUT
   /api/settings``: all or nothing, the same rules as the settings site);
2. :func:`harness.flows.calls.check` plays the scenario with virtual phones over real SIP at
   the target's time scale and compares what they saw with ``harness.model.predict`` (predict →
   phones → observe → compare: the one implementation of that, reused, never copied); the
   phones stay registered from one example to the next;
3. a ``ConformanceFailure`` (a ``TimelineMismatch``: the timelines differ) fails the example,
   and Hypothesis shrinks it to a minimal settings + scenario, replayed last.

:meth:`Differential.run` runs the property with the given Hypothesis settings and returns a
:class:`RunResult`; its counterexample prints both timelines side by side, the settings as
設定.yaml and the scenario as the YAML ``smartpbx-harness predict --scenario`` reads, and
:meth:`Counterexample.write` makes a tenant folder a person replays with ``predict`` and
``serve``. ``pytest`` (tests/suite/test_live_differential.py) and ``smartpbx-harness fuzz`` run
this same engine. The seed is printed: ``--hypothesis-seed`` (pytest) / ``--seed`` (fuzz)
replays the same examples; a derandomized run (profile ``ci``) replays by itself.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, reject, seed, settings
from hypothesis import core as hypothesis_core
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from harness.errors import ConformanceFailure
from harness.flows.calls import check
from harness.flows.catalog import ManualStep
from harness.flows.context import Evidence, FlowContext
from harness.flows.timeline import TimelineMismatch
from harness.guide.dump import as_document, to_yaml, write_tenant
from harness.guide.types import Guide, Settings, Tenant
from harness.model import DEFAULT_PARAMS, ModelParams, Scenario, Timeline, scenario_document
from harness.sip.runtime import Runtime
from harness.strategies.scenarios import scenarios
from harness.strategies.settings import dense_settings, settings_for
from harness.strategies.tenants import DENSE_LINES, guide_of
from harness.target.embedded import start_embedded
from harness.target.model import Capability, MissingCapability, Target
from harness.target.phones import PhoneFactory
from harness.target.provisioning import ProvisioningClient

#: The extensions of the default fuzz tenant: two 拠点 (20, 21), enough for groups of several
#: members, forwarding chains and pickups, few enough that a call's phones set up fast.
DEFAULT_EXTENSIONS = ("20200", "20201", "20202", "20203", "21300")
#: The file name of a counterexample's scenario in its folder (beside the two documents).
SCENARIO_FILE = "scenario.yaml"
#: Hypothesis phases of a live run: no ``explain`` (it replays many variants of the failing
#: example, each a live call, only to annotate the report).
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)


def default_tenant(name: str = "fuzz") -> Tenant:
    """The tenant the property runs on when no guide is given: :data:`DEFAULT_EXTENSIONS`
    (スマートフォン terminals) and two external lines, no settings (they are drawn)."""
    return Tenant(
        name=name, guide=guide_of(list(DEFAULT_EXTENSIONS), lines=DENSE_LINES), settings=Settings()
    )


@dataclass(frozen=True, kw_only=True)
class Example:
    """One drawn case: the tenant's settings and the call placed under them."""

    settings: Settings
    scenario: Scenario


@st.composite
def examples(draw: st.DrawFn, guide: Guide) -> Example:
    """Settings of ``guide`` (dense: forwarding among its own extensions and the carrier-side
    numbers; or any valid settings) and a scenario on the tenant they make."""
    drawn = draw(dense_settings(guide) | settings_for(guide))
    tenant = Tenant(name="example", guide=guide, settings=drawn)
    return Example(settings=drawn, scenario=draw(scenarios(tenant)))


@dataclass(frozen=True, kw_only=True)
class _Attachment:
    name: str
    body: bytes
    mime: str


class LastExampleEvidence:
    """The ``Evidence`` of one example at a time: ``check`` attaches its timelines, diff, SIP
    ladder and pcap here; :meth:`begin` forgets the previous example's. Shrinking plays
    hundreds of calls: only the last one (the minimal counterexample, replayed last) is kept,
    and :meth:`forward` hands it to a real recorder (a folder, Allure)."""

    def __init__(self) -> None:
        self.items: list[_Attachment] = []

    def begin(self) -> None:
        self.items = []

    # -- the Evidence protocol ---------------------------------------------------------------

    def after_step(self, step: ManualStep) -> None:
        """No manual steps run here: a check is not a step."""

    def text(self, name: str, body: str) -> None:
        self.items.append(_Attachment(name=name, body=body.encode("utf-8"), mime="text/plain"))

    def file(self, name: str, path: Path, mime: str) -> None:
        self.items.append(_Attachment(name=name, body=path.read_bytes(), mime=mime))

    def png(self, name: str, data: bytes) -> None:
        self.items.append(_Attachment(name=name, body=data, mime="image/png"))

    def watch(self, page: object) -> None:
        """No browser here."""


@dataclass(frozen=True, kw_only=True)
class Counterexample:
    """The minimal failing example, with what the target did and what the model said."""

    tenant: Tenant
    scenario: Scenario
    error: ConformanceFailure
    #: The final replay passed: the target answered differently each time (its verdict is
    #: still a failure: it deviated at least once; the timelines are those of the last failure).
    flaky: bool = False
    evidence: tuple[_Attachment, ...] = ()

    def settings_yaml(self) -> str:
        return to_yaml(as_document(self.tenant.settings))

    def scenario_yaml(self) -> str:
        return yaml.safe_dump(
            scenario_document(self.scenario), allow_unicode=True, sort_keys=False, width=120
        )

    def report(self) -> str:
        """What a person reads first: the failure, both timelines side by side, 設定.yaml and
        the scenario file."""
        if isinstance(self.error, TimelineMismatch):
            failure = self.error.diff.text()
        else:
            failure = str(self.error)
        note = (
            "\n(flaky: the final replay of this example agreed with the model; the diff is from "
            "its last failing run)"
            if self.flaky
            else ""
        )
        return (
            f"counterexample (minimal after shrinking){note}\n{failure}\n\n"
            f"--- 設定.yaml ---\n{self.settings_yaml()}\n"
            f"--- {SCENARIO_FILE} ---\n{self.scenario_yaml()}"
        )

    def attach(self, evidence: Evidence, scratch: Path) -> None:
        """Hand the report and the final replay's evidence (timelines, diff, SIP ladder, pcap)
        to a recorder (a folder, Allure); ``scratch`` stages the pcap, which recorders take by
        path."""
        evidence.text("counterexample.txt", self.report())
        evidence.text("設定.yaml", self.settings_yaml())
        evidence.text(SCENARIO_FILE, self.scenario_yaml())
        for item in self.evidence:
            if item.mime.startswith("text/"):
                evidence.text(item.name, item.body.decode("utf-8"))
            else:
                staged = scratch / "counterexample.pcap"
                staged.write_bytes(item.body)
                evidence.file(item.name, staged, item.mime)

    def write(self, parent: Path, name: str) -> Path:
        """A ready tenant folder ``parent/name``: ご利用内容.yaml, 設定.yaml, scenario.yaml and
        the diff; replay with ``smartpbx-harness predict --guide DIR --scenario
        DIR/scenario.yaml`` and ``smartpbx-harness serve --guide DIR``."""
        folder = write_tenant(self.tenant.model_copy(update={"name": name}), parent)
        (folder / SCENARIO_FILE).write_text(self.scenario_yaml(), encoding="utf-8")
        (folder / "counterexample.txt").write_text(self.report(), encoding="utf-8")
        for item in self.evidence:
            if item.name.endswith(".pcap"):
                (folder / "phones.pcap").write_bytes(item.body)
        return folder


@dataclass(frozen=True, kw_only=True)
class Unconfirmed:
    """A failure its immediate replay did not repeat: reported, not a counterexample."""

    example: Example
    error: ConformanceFailure

    def text(self) -> str:
        scenario = self.example.scenario
        return f"{scenario.caller} → {scenario.dialled}: {str(self.error).splitlines()[0]}"


@dataclass(kw_only=True)
class RunResult:
    """What a run of the property did."""

    examples: int = 0
    failures: int = 0
    seconds: float = 0.0
    #: How to replay the run: ``derandomized`` or the seed.
    seed: int | None = None
    derandomized: bool = False
    counterexample: Counterexample | None = None
    #: Examples that failed once and agreed on their replay (see ``Differential.confirmed``).
    unconfirmed: list[Unconfirmed] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else 0.0

    def seed_text(self, option: str) -> str:
        """How to reproduce: ``option=SEED``, or that the derandomized run repeats itself."""
        if self.seed is not None:
            return f"{option}={self.seed}"
        return "derandomized: the same settings replay the same examples"


#: ``progress(examples so far, the example, passed)`` after each example.
Progress = Callable[[int, Example, bool], None]


@dataclass(kw_only=True)
class Differential:
    """A target whose settings the property may replace, its tenant, and the phones."""

    target: Target
    provisioning: ProvisioningClient
    tenant: Tenant
    tenant_dir: Path
    phones: PhoneFactory
    params: ModelParams = DEFAULT_PARAMS
    evidence: LastExampleEvidence = field(default_factory=LastExampleEvidence)

    def __post_init__(self) -> None:
        needed = (Capability.PROVISIONING_API, Capability.CHANGES_SETTINGS)
        missing = tuple(c for c in needed if not self.target.has(c))
        if missing:
            raise MissingCapability(self.target.name, missing)

    def play(self, example: Example) -> Timeline:
        """Put ``example``'s settings on the target, play its call, compare with the model;
        ``ConformanceFailure`` when they differ. Returns the observed timeline."""
        self.evidence.begin()
        self.provisioning.put_settings(as_document(example.settings))
        tenant = self.tenant.model_copy(update={"settings": example.settings})
        ctx = FlowContext(
            target=self.target,
            tenant=tenant,
            tenant_dir=self.tenant_dir,
            phones=self.phones,
            evidence=self.evidence,
        )
        return check(ctx, example.scenario, params=self.params, name="example")

    def confirmed(self, example: Example, result: RunResult) -> Timeline:
        """:meth:`play`, and once more when it fails: a failure counts only when the replay
        fails too. A deviation of the target is deterministic (same settings, same call, same
        timers); a delivery latency beyond the jitter budget on a loaded machine (seen: one
        0.9 s outlier at load average 10) is not, and would otherwise make Hypothesis shrink
        noise and end in ``Flaky``. The unconfirmed failures are kept in ``result``.

        Once one failure is confirmed the target is known to deviate, and Hypothesis is
        shrinking: a smaller example that fails with an event early, missing, extra or wrong is
        not replayed (halving the shrink's calls); one whose every problem is lateness is (that
        is what load looks like: seen 0.54 s at load average 16 misleading the shrink)."""
        try:
            return self.play(example)
        except ConformanceFailure as error:
            if result.failures and not only_late(error):
                raise  # shrinking a known deviation: an early or wrong event is no latency
            first = error
        # Replayed outside the handler: the failure it raises is then the same failure (type,
        # place, no chained context) as a single play's, which is what Hypothesis compares
        # when it replays the shrunk example.
        observed = self.play(example)  # raises again when the deviation is real
        result.unconfirmed.append(Unconfirmed(example=example, error=first))
        return observed

    def run(
        self,
        hypothesis_settings: settings,
        *,
        seed_value: int | None = None,
        progress: Progress | None = None,
    ) -> RunResult:
        """Run the property under ``hypothesis_settings`` (max_examples, derandomize…).

        The seed: ``seed_value``, else pytest's ``--hypothesis-seed``, else a fresh one unless
        the settings derandomize; it is in the result, so every run can be replayed.
        """
        chosen = seed_value if seed_value is not None else hypothesis_core.global_force_seed
        if chosen is None and not hypothesis_settings.derandomize:
            chosen = random.SystemRandom().getrandbits(64)
        result = RunResult(
            seed=chosen, derandomized=chosen is None and hypothesis_settings.derandomize
        )
        failed: list[tuple[Example, ConformanceFailure, tuple[_Attachment, ...]]] = []

        @settings(
            parent=hypothesis_settings,
            database=None,
            deadline=None,
            phases=PHASES,
            report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(examples(self.tenant.guide))
        def differential(example: Example) -> None:
            result.examples += 1
            try:
                self.confirmed(example, result)
            except MissingCapability:
                reject()  # the call needs what the target lacks (a carrier side): not a case
            except ConformanceFailure as error:
                result.failures += 1
                failed.append((example, error, tuple(self.evidence.items)))
                if progress is not None:
                    progress(result.examples, example, False)
                raise
            if progress is not None:
                progress(result.examples, example, True)

        if chosen is not None:
            differential = seed(chosen)(differential)
        started = time.monotonic()
        try:
            differential()
        except ConformanceFailure:
            result.counterexample = self._counterexample(failed[-1], flaky=False)
        except Flaky:
            if not failed:
                raise
            result.counterexample = self._counterexample(failed[-1], flaky=True)
        finally:
            result.seconds = time.monotonic() - started
        return result

    def _counterexample(
        self,
        failure: tuple[Example, ConformanceFailure, tuple[_Attachment, ...]],
        *,
        flaky: bool,
    ) -> Counterexample:
        example, error, evidence = failure
        return Counterexample(
            tenant=self.tenant.model_copy(update={"settings": example.settings}),
            scenario=example.scenario,
            error=error,
            flaky=flaky,
            evidence=evidence,
        )


def only_late(error: ConformanceFailure) -> bool:
    """Every problem of the mismatch is an event observed late (the signature of latency)."""
    if not isinstance(error, TimelineMismatch):
        return False
    problems = error.diff.problems()
    return bool(problems) and all(" late (" in p for p in problems)


@contextmanager
def differential_on(
    target: Target,
    tenant: Tenant,
    tenant_dir: Path,
    runtime: Runtime,
    scratch: Path,
    *,
    provisioning: ProvisioningClient | None = None,
    params: ModelParams = DEFAULT_PARAMS,
) -> Iterator[Differential]:
    """The property on a running ``target`` serving ``tenant`` (its provisioning client made
    from ``target.api`` unless given); the phones' pcap and ladder go to ``scratch``; every
    phone is closed (unregistered) at the end. ``MissingCapability`` when the target cannot
    have its settings changed."""
    scratch.mkdir(parents=True, exist_ok=True)
    owned = provisioning is None
    if provisioning is None:
        if target.api is None:
            raise MissingCapability(target.name, (Capability.PROVISIONING_API,))
        provisioning = ProvisioningClient(target.api)
    phones = PhoneFactory.for_target(
        runtime, target, tenant.guide, pcap=scratch / "phones.pcap", ladder=scratch / "ladder.txt"
    )
    try:
        yield Differential(
            target=target,
            provisioning=provisioning,
            tenant=tenant,
            tenant_dir=tenant_dir,
            phones=phones,
            params=params,
        )
    finally:
        try:
            phones.close()
        finally:
            if owned:
                provisioning.close()


@contextmanager
def embedded_differential(
    tenant: Tenant,
    workdir: Path,
    runtime: Runtime,
    *,
    time_scale: float = 0.01,
    serve_args: Sequence[str] = (),
    params: ModelParams = DEFAULT_PARAMS,
) -> Iterator[Differential]:
    """One embedded simulator (``serve`` as a process, loopback) for the whole property:
    ``tenant`` written to ``workdir/<name>``, ``serve_args`` passed on (``--param NAME=VALUE``
    starts a simulator that deviates on purpose), stopped at the end."""
    folder = write_tenant(tenant, workdir)
    with start_embedded(
        folder,
        time_scale=time_scale,
        workdir=workdir,
        extra_args=serve_args,
        name="embedded",
    ) as embedded:
        with differential_on(
            embedded.target,
            tenant,
            folder,
            runtime,
            workdir / "phones",
            provisioning=embedded.provisioning,
            params=params,
        ) as differential:
            yield differential
