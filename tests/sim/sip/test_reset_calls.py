"""A reset (and a new tenant) ends every call in progress on the SIP side, with virtual phones
against the simulator SUBPROCESS: BYE to the parties of answered calls, CANCEL to ringing
phones and 487 to their callers — and none of those calls is recorded for the next test."""

from __future__ import annotations

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.observed import PhoneEventKind
from tests.sim.sip.kit import FIXTURES, rows, subscriber, tenant_phones

K = PhoneEventKind
SAMPLE = FIXTURES / "sample"


def test_a_reset_hangs_up_answered_calls_and_cancels_ringing_ones(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    outside, far = (subscriber(phone_factory, sim, n) for n in ("09011112222", "09033334444"))
    # Answered: an external caller on the carrier side → 0312345678 → 20200.
    inbound = outside.call("0312345678")
    answered = phones["20200"].incoming()
    answered.answer()
    inbound.wait_for(K.CONNECTED)
    # Ringing: 20201 → an external number that never answers.
    outbound = phones["20201"].call("09033334444")
    ringing = far.incoming()
    outbound.wait_for(K.RINGBACK)

    sim.reset()

    assert inbound.wait_for(K.HANGUP).detail == "remote"  # BYE over the carrier side
    assert answered.wait_for(K.HANGUP).detail == "remote"  # BYE over the tenant port
    assert ringing.wait_for(K.STOP).status == 487  # CANCEL
    assert outbound.wait_for(K.RELEASE).status == 487
    assert rows(sim, "/api/calls") == []  # ended by the reset: not a call of the next test


def test_loading_a_tenant_cancels_a_ringing_call(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    call = phones["20200"].call("20201")
    ring = phones["20201"].incoming()
    call.wait_for(K.RINGBACK)
    sim.load_tenant(sim.guide)
    assert ring.wait_for(K.STOP).status == 487
    assert call.wait_for(K.RELEASE).status == 487
    assert rows(sim, "/api/calls") == []
