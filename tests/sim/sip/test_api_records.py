"""Records a person can read (issue 9 item 6), over HTTP against the simulator subprocess:
every time in /api/* is ISO 8601 UTC, a call to voicemail says so, and a registration is
listed by the time its 200 OK reached the phone (read at once, not polled)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.observed import PhoneEventKind
from tests.sim.sip.kit import (
    FIXTURES,
    answered_call,
    eventually,
    rows,
    subscriber,
    tenant_phones,
    with_absence,
)

SAMPLE = FIXTURES / "sample"


def utc(text: str) -> datetime:
    """An ISO 8601 UTC time as the API writes it (``…T18:31:24.123Z``)."""
    assert text.endswith("Z") and "T" in text, text
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0), text
    return moment


def test_a_registration_is_listed_as_soon_as_the_phone_has_its_200_ok(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    tenant_phones(phone_factory, sim, SAMPLE)  # returns once every phone got its 200 OK
    listed = rows(sim, "/api/registrations")  # read at once: no polling, no sleep
    assert sorted(r["terminal_id"] for r in listed) == ["abcde20200", "abcde20201"]


def test_every_time_in_the_api_is_iso_8601_utc(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=5)
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    subscriber(phone_factory, sim, "09011112222")
    answered_call(phones["20200"], phones["20201"], "20201")
    with_absence(sim, "20201", {"種別": "転送/留守番電話", "転送動作": {"無条件": "留守番電話"}})
    voicemail = phones["20200"].call("20201")
    voicemail.wait_for(PhoneEventKind.CONNECTED)
    voicemail.hangup()

    def both_calls() -> list[dict[str, Any]] | None:
        found = rows(sim, "/api/calls")
        return found if len(found) == 2 else None

    calls = eventually(both_calls, "both calls in /api/calls")
    now = datetime.now(UTC) + timedelta(seconds=5)

    for registration in rows(sim, "/api/registrations") + rows(sim, "/api/pstn/registrations"):
        assert utc(registration["expires_at"]) > now  # a live binding expires in the future
    for call in calls:
        assert start <= utc(call["started_at"]) <= utc(call["ended_at"]) <= now
    (message,) = rows(sim, "/api/voicemail")
    assert start <= utc(message["received_at"]) <= now

    answered, to_voicemail = calls
    assert (answered["outcome"], answered["detail"]["answered_by"]) == ("answered", "20201")
    assert to_voicemail["outcome"] == "voicemail"
    answered_by_voicemail = to_voicemail["detail"]["voicemail"]
    assert answered_by_voicemail["mailbox"] == "20201"
    assert 0 <= answered_by_voicemail["t"] < 1  # at t = 0 (DOMAIN.md rule 4 (1)), scaled clock
    assert to_voicemail["detail"]["legs"] == []  # 無条件 留守番電話: 20201 never rang
