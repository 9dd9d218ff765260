"""The simulator subprocess serves SIP: registrations, calls and voicemail reach the
provisioning API; the carrier side carries external calls with a carrier's caller ID."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sim.documents import read_tenant
from harness.sip.app import FlexibleInterConnect, Network
from harness.sip.observed import WITHHELD, PhoneEventKind
from harness.sip.resolver import Resolver
from harness.sip.transport import Address
from tests.sim.sip.kit import (
    FIXTURES,
    answered_call,
    eventually,
    point_at,
    rows,
    subscriber,
    tenant_phones,
    with_absence,
)

UNO = "192.0.2.10"  # resolved to loopback only

SAMPLE = FIXTURES / "sample"


def test_health_and_ready_file_show_both_sip_ports(sim: SimulatorHandle) -> None:
    health = sim.health()
    assert health["sip"] == sim.sip_port and isinstance(sim.sip_port, int)
    assert health["pstn"] == sim.pstn_port and isinstance(sim.pstn_port, int)
    assert sim.sip_port != sim.pstn_port


def test_registrations_appear_in_the_api(sim: SimulatorHandle, phone_factory: PhoneFactory) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)

    def listed() -> dict[str, dict[str, Any]] | None:
        found = {r["terminal_id"]: r for r in rows(sim, "/api/registrations")}
        return found if set(found) == {"abcde20200", "abcde20201"} else None

    registered = eventually(listed, "both registrations listed")
    assert registered["abcde20200"]["extension"] == "20200"
    assert str(phones["20200"].local.port) in registered["abcde20200"]["contact"]
    phones["20200"].unregister()
    eventually(
        lambda: {r["terminal_id"] for r in rows(sim, "/api/registrations")} == {"abcde20201"},
        "the unregistered terminal gone from /api/registrations",
    )


def test_a_reset_forgets_the_bindings_of_phones_that_never_unregistered(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    guide = read_tenant(SAMPLE).guide
    assert sim.sip_port is not None
    # A Flexible InterConnect app registered through the UNO route, then moved to a Wi-Fi that
    # is not registered: its internet route is dead, so it can never unregister its binding.
    phone_factory.resolver = Resolver(
        entries={
            guide.customer.sip_domain: Address(host="127.0.0.1", port=1),
            UNO: Address(host="127.0.0.1", port=sim.sip_port),
        }
    )
    vanished = phone_factory.for_terminal(guide, guide.terminals[0], network=Network.wifi("office"))
    fic = FlexibleInterConnect(uno_server=UNO, wifi_names=("office",))
    vanished.reconfigure(replace(vanished.profile, flexible_interconnect=fic))
    assert vanished.register() == "通話可能"
    vanished.reconfigure(replace(vanished.profile, network=Network.wifi("cafe")))
    assert vanished.register() == "通話不可"

    sim.reset()
    point_at(phone_factory, sim, guide)
    again = phone_factory.for_terminal(guide, guide.terminals[0])
    assert again.register() == "通話可能"

    def contacts() -> list[str]:
        return [r["contact"] for r in rows(sim, "/api/registrations")]

    eventually(lambda: any(str(again.local.port) in c for c in contacts()), "the new binding")
    assert not any(str(vanished.local.port) in c for c in contacts()), contacts()
    again.unregister()

    def gone() -> bool:
        return "abcde20200" not in {r["terminal_id"] for r in rows(sim, "/api/registrations")}

    eventually(gone, "no binding of abcde20200 after the reset and the new phone's unregister")


def test_call_between_extensions_is_recorded(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    call = phones["20200"].call("20201")
    ring = phones["20201"].incoming()
    assert ring.peer == "20200"
    ring.answer()
    call.wait_for(PhoneEventKind.CONNECTED)
    call.hangup()
    ring.wait_ended()
    recorded = eventually(lambda: rows(sim, "/api/calls"), "the call in /api/calls")
    assert [(c["caller"], c["callee"], c["caller_id"]) for c in recorded] == [
        ("20200", "20201", "20200")
    ]
    assert recorded[0]["outcome"] == "answered"


def test_a_phone_gone_silent_past_its_expiry_no_longer_rings(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    """The embedded target's serve grants 1 s (``--min-expires 1``): a phone that registered
    for 1 s and went silent is unregistered once that second has passed — the call is
    released and the phone never rang."""
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    silent = phones["20201"]
    silent.register(expires=1)
    assert [a.status for a in silent.register_answers][-1] == 200  # no 423: 1 s is granted
    left = silent.go_silent()
    assert left is not None and left <= 1.0
    time.sleep(left + 1.0)  # past the granted expiry (a deadline)
    mark = silent.mark()
    call = phones["20200"].call("20201")
    assert call.wait_for(PhoneEventKind.RELEASE).status == 480
    assert PhoneEventKind.RING not in [e.kind for e in silent.timeline(mark)]


def test_external_call_presents_the_outbound_caller_id(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    outside = subscriber(phone_factory, sim, "09011112222")
    phones["20201"].call("09011112222")
    shown = outside.incoming()
    assert shown.peer == "0312345678"  # 外線発信設定 of 20201, asserted by the carrier side
    shown.hangup()  # declined (603) at the far end: the caller hears busy
    phones["20201"].wait_for(PhoneEventKind.BUSY)
    withheld = phones["20201"].call("18409011112222")
    assert outside.incoming().peer == WITHHELD
    withheld.hangup()  # CANCEL: the PBX ends the call (no busy extension left behind)
    outside.wait_for(PhoneEventKind.STOP)


def test_external_call_to_an_unregistered_number_is_released(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    call = phones["20200"].call("0399998888")
    assert call.wait_for(PhoneEventKind.RELEASE).status == 480


def test_inbound_call_from_a_subscriber_follows_the_inbound_route(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    outside = subscriber(phone_factory, sim, "09011112222")
    outside.call("0312345678")  # 外線着信設定 → 20200, the pilot of 一斉着信 {20200, 20201}
    assert phones["20200"].incoming().peer == "09011112222"
    second = phones["20201"].incoming()
    assert second.peer == "09011112222"
    second.answer()
    outside.wait_for(PhoneEventKind.CONNECTED)
    outside.hangup()
    second.wait_ended()
    withheld = outside.call("1840312345678")
    assert phones["20200"].incoming().peer == WITHHELD
    withheld.hangup()
    phones["20200"].wait_for(PhoneEventKind.STOP)


def test_the_carrier_refuses_unregistered_callers_and_foreign_numbers(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    tenant_phones(phone_factory, sim, SAMPLE)
    outside = subscriber(phone_factory, sim, "09011112222")
    assert outside.call("0399998888").wait_for(PhoneEventKind.REFUSED).status == 404
    outside.unregister()
    assert outside.call("0312345678").wait_for(PhoneEventKind.REFUSED).status == 403


def test_a_setting_saved_through_the_api_applies_to_the_next_call_and_voicemail_is_listed(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    first = phones["20200"].call("20201")
    phones["20201"].incoming()
    first.hangup()
    phones["20201"].wait_for(PhoneEventKind.STOP)
    with_absence(
        sim,
        "20201",
        {"種別": "転送/留守番電話", "転送動作": {"無条件": "留守番電話"}},
    )
    second = phones["20200"].call("20201")
    second.wait_for(PhoneEventKind.CONNECTED)  # the voicemail UAS answered; 20201 never rang
    second.hangup()
    messages = eventually(lambda: rows(sim, "/api/voicemail"), "a message in /api/voicemail")
    assert [(m["extension"], m["caller_id"]) for m in messages] == [("20201", "20200")]
    assert len([e for e in phones["20201"].timeline() if e.kind is PhoneEventKind.RING]) == 1


def test_the_standard_library_loop_serves_the_same_call(
    phone_factory: PhoneFactory, tmp_path: Path
) -> None:
    """``serve --loop asyncio`` (uvloop is the default): a call goes through the same way."""
    with start_simulator(SAMPLE, extra_args=("--loop", "asyncio"), workdir=tmp_path) as other:
        assert list(other.process.args)[-2:] == ["--loop", "asyncio"]
        phones = tenant_phones(phone_factory, other, SAMPLE)
        answered_call(phones["20200"], phones["20201"], "20201")
        recorded = eventually(lambda: rows(other, "/api/calls"), "the call in /api/calls")
        assert [(c["caller"], c["outcome"]) for c in recorded] == [("20200", "answered")]


def test_serve_param_takes_effect_over_sip(phone_factory: PhoneFactory, tmp_path: Path) -> None:
    """``serve --param internal_caller_id=terminal_number_within_site``: a caller of the same
    拠点 shows its bare 端末番号 (the default, 20200, is checked by
    test_call_between_extensions_is_recorded)."""
    flip = ("--param", "internal_caller_id=terminal_number_within_site")
    with start_simulator(SAMPLE, extra_args=flip, workdir=tmp_path) as other:
        assert "internal_caller_id=terminal_number_within_site" in other.log.read_text("utf-8")
        phones = tenant_phones(phone_factory, other, SAMPLE)
        call = phones["20200"].call("20201")
        ring = phones["20201"].incoming()
        assert ring.peer == "200"
        call.hangup()
        phones["20201"].wait_for(PhoneEventKind.STOP)
