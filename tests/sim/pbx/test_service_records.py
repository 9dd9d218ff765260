"""What the SIP side records for the provisioning API (issue 9 item 6), in process on a
ManualClock: a registration is listed as soon as its 200 OK is sent (the batch is flushed by
the list, not by its timer), and a call to voicemail says so, with its ring timeline in the
model's simulated seconds and its times on the wall clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from harness.clock import ManualClock
from harness.sim.pbx import service as service_module
from harness.sim.pbx.config import PbxParams
from harness.sim.pbx.service import StoreSipService
from harness.sim.server import ServiceContext
from harness.sim.store import RingTimeDefaults, Store
from tests.sim.pbx.fakes import tenant
from tests.sim.pbx.sip_phones import Lab, Phone, Recorder, Wire, close_all, run

Scenario = Callable[[StoreSipService, Lab, Store], Awaitable[None]]


def with_service(settings: dict[str, object], scenario: Scenario, **kw: object) -> None:
    store = Store()
    store.load_tenant(tenant(settings))

    async def main() -> None:
        service = StoreSipService(**kw)  # type: ignore[arg-type]
        context = ServiceContext(store=store, clock=ManualClock(), host="127.0.0.1", sip_port=0)
        await service.start(context)
        assert service.sip is not None
        wire = Wire()
        service.sip.endpoint.add_tap(wire)
        try:
            await scenario(service, Lab(service=service.sip, clock=context.clock, wire=wire), store)
        finally:
            await service.stop()

    try:
        run(main())
    finally:
        store.close()


def test_a_registration_is_listed_once_its_200_ok_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The batch timer would write an hour later: only the list's own flush can show it.
    monkeypatch.setattr(service_module, "FLUSH_DELAY", 3600.0)

    async def scenario(service: StoreSipService, lab: Lab, store: Store) -> None:
        first = await Phone.open(lab, "abcde20201")
        second = await Phone.open(lab, "abcde20202")
        try:
            assert (await first.register()).status == 200
            assert [r["terminal_id"] for r in store.list_rows("registrations")] == ["abcde20201"]
            # A list read off the loop's thread waits for the loop to write the batch.
            assert (await second.register()).status == 200
            listed = await asyncio.to_thread(store.list_rows, "registrations")
            assert sorted(r["terminal_id"] for r in listed) == ["abcde20201", "abcde20202"]
            assert (await first.register(expires=0)).status == 200
            assert [r["terminal_id"] for r in store.list_rows("registrations")] == ["abcde20202"]
        finally:
            await close_all(first, second)

    with_service({}, scenario)


def test_a_call_to_voicemail_is_recorded_as_voicemail_with_wall_clock_times() -> None:
    settings = {
        "不在時動作設定": {
            "20201": {"種別": "転送/留守番電話", "転送動作": {"無条件": "留守番電話"}}
        }
    }

    async def scenario(service: StoreSipService, lab: Lab, store: Store) -> None:
        caller = await Phone.open(lab, "abcde20205")
        try:
            assert (await caller.register()).status == 200
            before = time.time()
            client = await caller.call("20201")
            response = await client.wait_final()
            assert response.status == 200  # the voicemail answered; 20201 never rang
            caller.ack(client, response)
            await lab.advance_to(7, Recorder(lab.clock))
            assert (await caller.hang_up(client, response)).status == 200
            await lab.wire.settled()
            after = time.time()
            (call,) = store.list_rows("calls")
            assert call["outcome"] == "voicemail"
            assert call["detail"] == {
                "legs": [],
                "answered_by": None,
                "duration": 7.0,
                "voicemail": {"mailbox": "20201", "t": 0.0},
            }
            # Unix seconds of the wall clock: 7 simulated seconds at scale 1.0 between them
            assert before - 7.5 <= call["started_at"] <= call["ended_at"] <= after
            assert call["ended_at"] - call["started_at"] == pytest.approx(7.0, abs=0.1)
            (message,) = store.list_rows("voicemail_messages")
            assert message["received_at"] == pytest.approx(call["started_at"], abs=0.1)
        finally:
            await close_all(caller)

    with_service(settings, scenario)


def test_an_unanswered_sequential_group_records_its_ring_timeline() -> None:
    """DOMAIN.md's worked 順次着信 200→201→202, T=20, nobody answers: legs at t 0, 20, 40."""
    settings = {
        "着信グループ": [
            {"種別": "順次着信", "代表番号": "20200", "メンバー": ["20201", "20202", "20203"]}
        ]
    }

    async def scenario(service: StoreSipService, lab: Lab, store: Store) -> None:
        caller = await Phone.open(lab, "abcde20205")
        members = [await Phone.open(lab, f"abcde2020{n}") for n in (1, 2, 3)]
        try:
            for phone in (caller, *members):
                assert (await phone.register()).status == 200
            recorder = Recorder(lab.clock)
            recorder.start()
            client = await caller.call("20200")
            await lab.advance_to(61, recorder)
            assert (await client.wait_final()).status == 480
            await lab.wire.settled()
            (call,) = store.list_rows("calls")
            assert call["outcome"] == "released:no_answer"
            assert [(leg["target"], leg["state"], leg["t"]) for leg in call["detail"]["legs"]] == [
                ("20201", "stopped", 0.0),
                ("20202", "stopped", 20.0),
                ("20203", "stopped", 40.0),
            ]
            assert call["detail"]["answered_by"] is None and call["detail"]["duration"] == 60.0
        finally:
            await close_all(caller, *members)

    with_service(settings, scenario)


def test_the_sip_side_tells_the_store_its_default_ring_times() -> None:
    """The settings site shows 「既定（N秒）」 from these (serve --param group_ring_time=…)."""

    async def scenario(service: StoreSipService, lab: Lab, store: Store) -> None:
        assert store.ring_time_defaults == RingTimeDefaults(simultaneous=30.0, sequential=12.0)

    params = PbxParams(group_ring_time=30.0, member_ring_time=12.0)
    with_service({}, scenario, pbx_params=params)


def test_the_access_code_is_a_parameter() -> None:
    """voicemail_access_code=*55: that code reaches retrieval (which needs an answerable offer:
    this phone's SDP has no m= line, hence 488), and the default *98 no longer does (404)."""

    async def scenario(service: StoreSipService, lab: Lab, store: Store) -> None:
        caller = await Phone.open(lab, "abcde20205")
        try:
            assert (await caller.register()).status == 200
            assert (await caller.dial("*55")).status == 488
            assert (await caller.dial("*98")).status == 404
        finally:
            await close_all(caller)

    params = PbxParams().with_overrides({"voicemail_access_code": "*55"})
    with_service({}, scenario, pbx_params=params)
