"""The typed client reads real records: registrations, carrier registrations, calls (answered,
and one to voicemail) and voicemail messages made by virtual phones against the session's
simulator, each validated into its model (a field the server stopped sending would fail)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.observed import PhoneEventKind
from harness.target import ApiAccess, CallRecord, ProvisioningClient
from tests.sim.sip.kit import (
    FIXTURES,
    answered_call,
    eventually,
    subscriber,
    tenant_phones,
    with_absence,
)


@pytest.fixture
def client(sim: SimulatorHandle) -> Iterator[ProvisioningClient]:
    """The client of the session simulator's embedded target (``SimulatorHandle.target``)."""
    assert sim.target is not None and sim.target.api is not None
    assert sim.target.api == ApiAccess(base_url=sim.base_url, token=sim.api_token)
    with ProvisioningClient(sim.target.api) as typed:
        yield typed


def test_records_of_real_calls_parse_into_their_models(
    sim: SimulatorHandle, phone_factory: PhoneFactory, client: ProvisioningClient
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=5)
    phones = tenant_phones(phone_factory, sim, FIXTURES / "sample")
    caller, callee = sorted(phones)
    subscriber(phone_factory, sim, "09011112222")
    answered_call(phones[caller], phones[callee], callee)
    with_absence(sim, callee, {"種別": "転送/留守番電話", "転送動作": {"無条件": "留守番電話"}})
    voicemail = phones[caller].call(callee)
    voicemail.wait_for(PhoneEventKind.CONNECTED)
    voicemail.hangup()

    def both_calls() -> list[CallRecord] | None:
        found = client.calls()
        return found if len(found) == 2 else None

    answered, to_voicemail = eventually(both_calls, "both calls in /api/calls")
    assert {r.extension for r in client.registrations()} == set(phones)
    (carrier,) = client.pstn_registrations()
    assert (carrier.number, carrier.transport) == ("09011112222", "UDP")
    assert carrier.expires_at > datetime.now(UTC)
    assert (answered.outcome, answered.detail.answered_by) == ("answered", callee)
    assert answered.caller == caller and start <= answered.started_at <= answered.ended_at
    assert [leg.target for leg in answered.detail.legs] == [callee]
    assert to_voicemail.outcome == "voicemail" and to_voicemail.detail.voicemail is not None
    assert to_voicemail.detail.voicemail.mailbox == callee
    (message,) = eventually(client.voicemail, "the voicemail message")
    assert message.extension == callee and message.received_at >= start
