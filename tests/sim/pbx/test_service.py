"""The SIP side as a simulator Service over the web side's store: it binds the asked port,
serves the loaded tenant, applies a setting saved in the store to the next call, and writes
registrations, calls and voicemail messages for the provisioning API."""

from __future__ import annotations

from harness.clock import ManualClock
from harness.guide.types import Settings
from harness.sim.pbx.service import StoreSipService
from harness.sim.server import ServiceContext
from harness.sim.store import Store
from tests.sim.pbx.fakes import tenant
from tests.sim.pbx.sip_phones import Lab, Phone, Recorder, Wire, close_all, run


def test_store_backed_service_end_to_end() -> None:
    store = Store()
    store.load_tenant(tenant())
    clock = ManualClock()

    async def scenario() -> None:
        service = StoreSipService()
        context = ServiceContext(store=store, clock=clock, host="127.0.0.1", sip_port=0)
        await service.start(context)
        assert service.sip is not None
        assert context.ports["sip"] == service.sip.address.port > 0
        wire = Wire()
        service.sip.endpoint.add_tap(wire)
        lab = Lab(service=service.sip, clock=clock, wire=wire)
        caller = await Phone.open(lab, "abcde20205")
        callee = await Phone.open(lab, "abcde20201")
        try:
            for phone in (caller, callee):
                assert (await phone.register()).status == 200
            # Written in batches, but a list flushes first: every 200 OK sent is listed.
            rows = store.list_rows("registrations")
            assert sorted(r["extension"] for r in rows) == ["20201", "20205"]

            # A setting saved in the store (as the web page does) applies to the next call.
            store.replace_settings(
                Settings.model_validate(
                    {
                        "不在時動作設定": {
                            "20201": {
                                "種別": "転送/留守番電話",
                                "転送動作": {"無条件": "留守番電話"},
                            }
                        }
                    }
                )
            )
            client = await caller.call("20201")
            response = await client.wait_final()
            assert response.status == 200 and callee.incoming == []
            caller.ack(client, response)
            await lab.advance_to(7, Recorder(clock))
            assert (await caller.hang_up(client, response)).status == 200
            await wire.settled()
            (message,) = store.list_rows("voicemail_messages")
            assert (message["extension"], message["caller_id"], message["duration"]) == (
                "20201",
                "20205",
                7,
            )

            assert (await caller.dial("99999")).status == 404
            await wire.settled()
            calls = store.list_rows("calls")
            assert [(c["caller"], c["callee"], c["outcome"]) for c in calls] == [
                ("20205", "20201", "voicemail"),
                ("20205", "99999", "released:not_found"),
            ]
        finally:
            await close_all(caller, callee)
            await service.stop()

    try:
        run(scenario())
    finally:
        store.close()
