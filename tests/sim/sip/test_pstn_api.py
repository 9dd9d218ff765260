"""External subscribers registered on the carrier-side (PSTN) listener are listed by the
provisioning API (``GET /api/pstn/registrations``), and go with a reset like the tenant's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import RegistrationState
from tests.sim.sip.kit import FIXTURES, eventually, rows, subscriber, tenant_phones

PATH = "/api/pstn/registrations"


def _listed(sim: SimulatorHandle) -> dict[str, dict[str, Any]]:
    return {row["number"]: row for row in rows(sim, PATH)}


def test_carrier_subscribers_are_listed_until_they_unregister_or_a_reset(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    assert rows(sim, PATH) == []
    mobile = subscriber(phone_factory, sim, "09011112222")
    assert sim.pstn_port is not None
    office = phone_factory.phone(
        "0355556666",
        user_id="0355556666",
        password="unused",
        sip_server=f"127.0.0.1:{sim.pstn_port}",
        transport="TCP",
    )
    office.register()
    assert office.registration_state is RegistrationState.REGISTERED

    listed = eventually(lambda: _listed(sim) if len(_listed(sim)) == 2 else None, "both listed")
    assert listed["09011112222"]["transport"] == "UDP"
    assert listed["09011112222"]["contact"].endswith(f":{mobile.local.port}")
    assert listed["0355556666"]["transport"] == "TCP"
    assert f":{office.local.port}" in listed["0355556666"]["contact"]
    expires = datetime.fromisoformat(listed["0355556666"]["expires_at"])
    assert expires.tzinfo is not None and expires > datetime.now(UTC)  # ISO 8601 UTC

    mobile.unregister()
    eventually(lambda: set(_listed(sim)) == {"0355556666"}, "the unregistered number gone")
    sim.reset()
    assert rows(sim, PATH) == []
    # …and the carrier side forgot it too: calls to it fail until it registers again.
    caller = tenant_phones(phone_factory, sim, FIXTURES / "sample")["20200"]
    assert caller.call("0355556666").wait_for(PhoneEventKind.RELEASE).status == 480
    office.register()
    eventually(lambda: set(_listed(sim)) == {"0355556666"}, "registered again after the reset")
    assert caller.call("0355556666").wait_for(PhoneEventKind.RINGBACK).status == 180
