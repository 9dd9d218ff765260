"""The SIP side as a ``harness.sim.server.Service``: the PBX glue over the web side's store.

Started by the ``Simulator`` on its loop (add ``StoreSipService`` to ``SERVICE_FACTORIES``):
it binds UDP on ``context.host:context.sip_port``, serves the loaded tenant (SIP domain and
digest realm = 内線サーバアドレス), and before each request re-reads the store's routing
snapshot when its ``version`` changed — a setting saved on a page applies to the next call
(DESIGN.md "Concurrency"). It writes what the provisioning API shows: registrations (soft
state, wall-clock expiry), one row per finished call, one per voicemail message.
"""

from __future__ import annotations

import time

from harness.sim.pbx.call import target_number
from harness.sim.pbx.config import PbxConfig
from harness.sim.pbx.registrar import Registrar, credentials_from_snapshot
from harness.sim.pbx.routing import ExternalOrigin
from harness.sim.pbx.sip_glue import PbxSetup, PbxSipService, _CallSession
from harness.sim.server import ServiceContext
from harness.sim.store import Store
from harness.sip.endpoint import Endpoint
from harness.sip.transport import UdpTransport


class _StoreBacked(PbxSipService):
    def __init__(self, *, endpoint: Endpoint, setup: PbxSetup, store: Store) -> None:
        super().__init__(endpoint=endpoint, setup=setup)
        self.store = store
        self.version: int | None = None
        self.refresh()

    def refresh(self) -> None:
        if not self.store.has_tenant():
            return
        snapshot = self.store.routing_snapshot()
        if snapshot.version == self.version and snapshot.sip_domain == self.sip_domain:
            return
        self.version = snapshot.version
        self.pbx.config = PbxConfig.from_snapshot(snapshot)
        credentials = credentials_from_snapshot(snapshot)
        if snapshot.sip_domain != self.sip_domain:  # a new tenant: new realm, no bindings
            self.sip_domain = snapshot.sip_domain
            self.registrar = Registrar(
                realm=snapshot.sip_domain, credentials=credentials, params=self.registrar.params
            )
        else:
            self.registrar.credentials = credentials

    def registered(self, terminal_id: str, source: str) -> None:
        ext = self.pbx.config.by_terminal_id(terminal_id)
        if ext is None:
            return
        now, wall = self.now(), time.time()
        self.store.remove_registration(terminal_id=terminal_id)
        for binding in self.registrar.bindings(terminal_id, now):
            self.store.add_registration(
                terminal_id=terminal_id,
                extension=ext.extension,
                contact=binding.contact,
                source=source,
                expires_at=wall + (binding.expires_at - now),
            )

    def finished(self, session: _CallSession) -> None:
        call = session.call
        if call is None:
            return
        origin = call.origin
        caller = (
            origin.number or "非通知" if isinstance(origin, ExternalOrigin) else origin.extension
        )
        outcome = call.state.value
        if call.release_reason is not None:
            outcome = f"{outcome}:{call.release_reason.value}"
        legs = [
            {"target": target_number(leg.target), "state": leg.state.value}
            for leg in call.legs.values()
        ]
        self.store.record_call(
            call_id=call.id,
            started_at=call.arrived_at,
            caller=caller,
            callee=call.dialled,
            caller_id=call.caller_id.number,
            outcome=outcome,
            detail={"legs": legs},
        )
        if call.recording_id is not None:
            message = self.pbx.voicemail.get(call.recording_id)
            self.store.record_voicemail(
                extension=message.mailbox,
                caller_id=message.caller_id,
                received_at=message.started_at,
                duration=message.duration or 0.0,
            )


class StoreSipService:
    """``Service`` protocol of harness.sim.server: start with the loop, stop before it."""

    def __init__(self) -> None:
        self.sip: PbxSipService | None = None

    async def start(self, context: ServiceContext) -> None:
        endpoint = Endpoint()
        # Endpoint.open binds port 0 only; the simulator must honour --sip-port.
        endpoint.udp = await UdpTransport.open(
            on_receive=endpoint._receive,
            on_error=endpoint._transport_error,
            host=context.host,
            port=context.sip_port,
        )
        setup = PbxSetup(sip_domain="", config=PbxConfig(), credentials={}, clock=context.clock)
        self.sip = _StoreBacked(endpoint=endpoint, setup=setup, store=context.store)
        context.ports["sip"] = endpoint.transport().local.port

    async def stop(self) -> None:
        if self.sip is not None:
            await self.sip.close()
