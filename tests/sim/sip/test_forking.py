"""Forking (RFC 3261 §16.7, done by the PBX's B2BUA) and legs over TCP, with virtual phones
against the simulator SUBPROCESS: a terminal registered from two devices (same 端末ID) rings
on both; the first answer wins and the other device is cancelled; the leg is busy only when
every device that could be reached said busy, unreachable when none could be reached."""

from __future__ import annotations

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import CallHandle, sdp_direction
from tests.sim.sip.kit import (
    FIXTURES,
    device,
    eventually,
    rows,
    tenant_phones,
    vanish,
    with_absence,
)

K = PhoneEventKind
SAMPLE_FOLDER = FIXTURES / "sample"


def _ring_both(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> tuple[CallHandle, tuple[CallHandle, CallHandle]]:
    """20200 calls 20201, registered from two devices; both ring (the phone, then the desk)."""
    phones = tenant_phones(phone_factory, sim, SAMPLE_FOLDER)
    desk = device(phone_factory, sim, "20201", "20201-desk")
    call = phones["20200"].call("20201")
    return call, (phones["20201"].incoming(), desk.incoming())


def test_both_devices_ring_the_first_answer_wins_and_the_other_is_cancelled(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    call, (mobile_ring, desk_ring) = _ring_both(sim, phone_factory)
    assert mobile_ring.peer == desk_ring.peer == "20200"
    desk_ring.answer()
    assert call.wait_for(K.CONNECTED).status == 200
    assert mobile_ring.wait_for(K.STOP).status == 487  # CANCELled by the PBX
    call.hangup()
    assert desk_ring.wait_for(K.HANGUP).detail == "remote"
    assert not [e for e in mobile_ring.events() if e.kind is K.ANSWER]
    recorded = eventually(lambda: rows(sim, "/api/calls"), "the call in /api/calls")
    assert [(c["callee"], c["outcome"]) for c in recorded] == [("20201", "answered")]
    # One leg for the engine, whatever the number of devices behind it, rung at t = 0.
    [leg] = recorded[0]["detail"]["legs"]
    assert (leg["target"], leg["state"]) == ("20201", "answered") and 0 <= leg["t"] < 1
    assert recorded[0]["detail"]["answered_by"] == "20201"


def test_the_caller_hanging_up_cancels_every_ringing_device(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    call, rings = _ring_both(sim, phone_factory)
    call.wait_for(K.RINGBACK)
    call.hangup()  # CANCEL before anyone answers
    assert call.wait_for(K.RELEASE).status == 487
    assert [ring.wait_for(K.STOP).status for ring in rings] == [487, 487]


def test_one_device_busy_and_the_other_answering_is_answered(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE_FOLDER)
    desk = device(phone_factory, sim, "20201", "20201-desk")
    phones["20201"].set_busy()
    desk.answer_after(1)
    call = phones["20200"].call("20201")
    assert phones["20201"].wait_for(K.REJECTED).status == 486
    assert call.wait_for(K.CONNECTED).status == 200
    assert desk.wait_for(K.ANSWER).status == 200
    assert not [e for e in call.events() if e.kind is K.BUSY]
    call.hangup()
    desk.wait_for(K.HANGUP)


def test_every_device_busy_makes_the_leg_busy(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE_FOLDER)
    desk = device(phone_factory, sim, "20201", "20201-desk")
    phones["20201"].set_busy()
    desk.set_busy()
    call = phones["20200"].call("20201")
    assert call.wait_for(K.BUSY).status == 486
    assert phones["20201"].wait_for(K.REJECTED).status == 486
    assert desk.wait_for(K.REJECTED).status == 486


def test_every_device_busy_follows_the_busy_forwarding_rule(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE_FOLDER)
    desk = device(phone_factory, sim, "20201", "20201-desk")
    with_absence(sim, "20201", {"種別": "転送/留守番電話", "転送動作": {"話中": "留守番電話"}})
    phones["20201"].set_busy()
    desk.set_busy()
    call = phones["20200"].call("20201")
    call.wait_for(K.CONNECTED)  # 話中 → the voicemail of 20201 answers
    assert phones["20201"].wait_for(K.REJECTED).status == desk.wait_for(K.REJECTED).status == 486
    call.hangup()
    messages = eventually(lambda: rows(sim, "/api/voicemail"), "the message in /api/voicemail")
    assert [(m["extension"], m["caller_id"]) for m in messages] == [("20201", "20200")]


def test_a_vanished_tcp_device_does_not_hide_that_the_other_is_busy(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE_FOLDER)
    gone = device(phone_factory, sim, "20201", "20201-gone", transport="TCP")
    vanish(phone_factory, gone)  # its binding stays; a TCP connect to it is refused
    phones["20201"].set_busy()
    call = phones["20200"].call("20201")
    assert call.wait_for(K.BUSY).status == 486


def test_no_device_reachable_is_unreachable_and_follows_the_out_of_area_rule(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE_FOLDER)
    phones["20201"].unregister()
    for name in ("20201-a", "20201-b"):
        vanish(phone_factory, device(phone_factory, sim, "20201", name, transport="TCP"))
    plain = phones["20200"].call("20201")
    assert plain.wait_for(K.RELEASE).status == 480
    with_absence(sim, "20201", {"種別": "転送/留守番電話", "転送動作": {"圏外": "留守番電話"}})
    forwarded = phones["20200"].call("20201")
    forwarded.wait_for(K.CONNECTED)  # 圏外 → voicemail
    forwarded.hangup()


def test_a_phone_registered_over_tcp_gets_its_calls_over_tcp(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE_FOLDER)
    phones["20201"].unregister()
    tcp = device(phone_factory, sim, "20201", "20201-tcp", transport="TCP")
    assert phone_factory.phones[-1] is tcp and tcp.virtual.endpoint.udp is None  # TCP only
    call = phones["20200"].call("20201")
    ring = tcp.incoming()
    assert ring.peer == "20200"
    ring.answer()
    call.wait_for(K.CONNECTED)
    ring.hangup()  # BYE from the TCP phone, relayed to the caller
    assert call.wait_for(K.HANGUP).detail == "remote"
    # And the other way: the PBX's BYE reaches the TCP phone.
    second = phones["20200"].call("20201")
    again = tcp.incoming()
    again.answer()
    second.wait_for(K.CONNECTED)
    second.hangup()
    assert again.wait_for(K.HANGUP).detail == "remote"
    # As a caller: the PBX's answer, a relayed hold and the BYE reach it over its connection.
    back = tcp.call("20200")
    answered = phones["20200"].incoming()
    answered.answer()
    back.wait_for(K.CONNECTED)
    assert answered.hold() == 200 and sdp_direction(back.remote_sdp) == "sendonly"
    answered.hangup()
    assert back.wait_for(K.HANGUP).detail == "remote"
