"""FolderEvidence (harness.flows.evidence), the phone factory made for a target
(harness.target.phones.PhoneFactory.for_target, target_resolver) and the phones' clock at the
run's scale (harness.pytest_plugin.phones)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.clock import ScaledClock
from harness.flows.catalog import ManualStep, manual_steps
from harness.flows.evidence import FolderEvidence
from harness.guide.load import load_tenant
from harness.sip.runtime import Runtime
from harness.sip.transport import Address
from harness.target.model import Capability, MissingCapability, SipEndpoint, Target
from harness.target.phones import PhoneFactory, target_resolver
from tests.sim.sip.kit import FIXTURES

pytest_plugins = ["pytester"]

MULTISITE = load_tenant(FIXTURES / "multisite")


def step_on(surface: str) -> ManualStep:
    return next(s for s in manual_steps() if s.surface == surface)


class FakePage:
    """What FolderEvidence uses of a Playwright page."""

    def __init__(self) -> None:
        self.closed = False
        self.shots = 0

    def is_closed(self) -> bool:
        return self.closed

    def screenshot(self, *, full_page: bool) -> bytes:
        assert full_page
        self.shots += 1
        return b"\x89PNG fake"


def test_names_are_made_safe_unique_and_keep_their_suffix(tmp_path: Path) -> None:
    evidence = FolderEvidence(tmp_path / "ev")
    evidence.text("P.3 ⑥ a/b: timeline.json", "{}")
    evidence.text("P.3 ⑥ a/b: timeline.json", "{}")
    evidence.text("ladder", "x")
    source = tmp_path / "phones.pcap"
    source.write_bytes(b"pcap")
    evidence.file("call — phones.pcap", source, "application/vnd.tcpdump.pcap")
    names = [p.name for p in evidence.written]
    assert names == [
        "P.3 ⑥ a_b_ timeline.json",
        "P.3 ⑥ a_b_ timeline-2.json",
        "ladder.txt",
        "call — phones.pcap",
    ]
    assert all(p.parent == tmp_path / "ev" and p.exists() for p in evidence.written)
    assert (tmp_path / "ev" / "call — phones.pcap").read_bytes() == b"pcap"


def test_a_web_step_screenshots_every_watched_open_page(tmp_path: Path) -> None:
    evidence = FolderEvidence(tmp_path)
    first, second = FakePage(), FakePage()
    evidence.watch(first)  # type: ignore[arg-type]
    evidence.watch(second)  # type: ignore[arg-type]
    evidence.watch(second)  # type: ignore[arg-type]  (watched once)
    web = step_on("web")
    evidence.after_step(web)
    assert (first.shots, second.shots) == (1, 1)
    second.closed = True
    evidence.after_step(web)
    evidence.after_step(step_on("android"))  # no phones given: nothing to attach
    assert (first.shots, second.shots) == (2, 1)
    pngs = [p.name for p in evidence.written]
    assert pngs == [
        f"{web.label} screenshot (1).png",
        f"{web.label} screenshot (2).png",
        f"{web.label} screenshot.png",
    ]


@pytest.fixture
def target() -> Target:
    return Target(
        name="t",
        kind="embedded",
        time_scale=0.04,
        sip=SipEndpoint(host="127.0.0.1", port=15060, transport="tcp"),
        carrier=SipEndpoint(host="127.0.0.1", port=15070),
    )


def test_the_resolver_leads_both_server_addresses_to_the_target(target: Target) -> None:
    resolver = target_resolver(target, MULTISITE.guide)
    sip = Address(host="127.0.0.1", port=15060)
    assert resolver.resolve("56789xyz.smart-pbx.jp") == sip
    assert resolver.resolve("192.0.2.10") == sip  # 内線サーバアドレス(UNO接続)
    assert resolver.resolve("127.0.0.1:15070") == Address(host="127.0.0.1", port=15070)


@pytest.fixture
def factory(sip_runtime: Runtime, target: Target, tmp_path: Path) -> Iterator[PhoneFactory]:
    made = PhoneFactory.for_target(sip_runtime, target, MULTISITE.guide, pcap=tmp_path / "p.pcap")
    yield made
    made.close()


def test_a_factory_for_a_target_runs_at_its_scale_and_transport(
    factory: PhoneFactory, target: Target, tmp_path: Path
) -> None:
    assert isinstance(factory.clock, ScaledClock) and factory.clock.scale == 0.04
    terminal = MULTISITE.guide.terminals[0]
    phone = factory.for_terminal(MULTISITE.guide, terminal)
    assert phone.virtual.transport_name == "TCP"  # [sip] transport = tcp
    assert phone.profile.account.sip_server == "56789xyz.smart-pbx.jp"  # as the manual says
    outside = factory.subscriber("09011112222")
    assert outside.virtual.transport_name == "UDP"  # [carrier] transport
    assert outside.profile.account.sip_server == "127.0.0.1:15070"
    assert factory.find("09011112222") is outside and factory.find("nobody") is None
    assert factory.find(terminal.extension) is phone


def test_a_subscriber_needs_the_carrier(
    sip_runtime: Runtime, target: Target, tmp_path: Path
) -> None:
    bare = Target(name="kamailio", kind="remote", time_scale=1.0, sip=target.sip)
    made = PhoneFactory.for_target(sip_runtime, bare, MULTISITE.guide)
    try:
        with pytest.raises(MissingCapability) as caught:
            made.subscriber("09011112222")
        assert caught.value.capabilities == (Capability.CARRIER,)
    finally:
        made.close()


def test_evidence_of_a_sip_step_is_its_ladder_and_the_pcap_and_nothing_when_no_sip(
    factory: PhoneFactory, tmp_path: Path
) -> None:
    evidence = FolderEvidence(tmp_path / "ev", phones=factory)
    android = step_on("android")
    phone = factory.subscriber("09011112222")
    phone.register(timeout=10)  # nobody listens on the carrier port: one REGISTER, refused
    evidence.after_step(android)
    evidence.after_step(android)
    ladders = [p for p in evidence.written if "SIP ladder" in p.name]
    # the second step sent and received nothing: no empty ladder, no second copy of the pcap
    assert len(ladders) == 1
    assert "REGISTER sip:" in ladders[0].read_text(encoding="utf-8")
    assert sum(p.suffix == ".pcap" for p in evidence.written) == 1


def test_the_phone_clock_follows_the_runs_simulator_scale(pytester: pytest.Pytester) -> None:
    """One time scale per run: ``--sim-time-scale`` drives the phones' answer delays too."""
    pytester.makepyfile(
        test_clock="""
def test_scale(phone_clock):
    assert phone_clock.scale == 0.07
"""
    )
    # In-process runs nest in this test: pytest-playwright's soft-assertion scope cannot.
    quiet = ("-p", "no:cacheprovider", "-p", "no:playwright")
    pytester.runpytest(*quiet, "--sim-time-scale=0.07").assert_outcomes(passed=1)
    pytester.runpytest(*quiet).assert_outcomes(failed=1)  # default 0.01
