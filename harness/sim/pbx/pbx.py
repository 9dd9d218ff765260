"""The PBX: all calls of one tenant, who is busy, pickup, and the settings snapshot in force.

``Pbx.incoming`` is what the SIP glue calls for each new INVITE; it hands back the ``Call``
whose event methods the glue then feeds. Presence (DOMAIN.md: *available* = registered and
idle) combines the registrar's view (``is_registered``) with the calls in progress here: an
extension is busy while it is placing a call or has answered one (no call waiting).
"""

from __future__ import annotations

from collections.abc import Callable

from harness.clock import Clock
from harness.sim.faults import NO_FAULTS, PICKUP_WRONG_CALL, Faults
from harness.sim.pbx.call import Call, LegDriver
from harness.sim.pbx.config import GroupConfig, PbxConfig, PbxParams, Presence
from harness.sim.pbx.routing import Origin
from harness.sim.pbx.voicemail import VoicemailStore


class Pbx:
    def __init__(
        self,
        *,
        config: PbxConfig,
        clock: Clock,
        is_registered: Callable[[str], bool],
        params: PbxParams | None = None,
        voicemail: VoicemailStore | None = None,
        faults: Faults = NO_FAULTS,
    ) -> None:
        # Replace ``config`` to apply new settings: calls already running keep their snapshot.
        self.config = config
        self.clock = clock
        self.is_registered = is_registered
        self.params = params or PbxParams()
        self.voicemail = voicemail if voicemail is not None else VoicemailStore()
        self.calls: dict[str, Call] = {}
        self.faults = faults

    def incoming(
        self, *, origin: Origin, dialled: str, driver: LegDriver, call_id: str | None = None
    ) -> Call:
        """A new call: route it and start ringing (t = 0). The call runs until its events end it."""
        call = Call(
            origin=origin,
            dialled=dialled,
            driver=driver,
            clock=self.clock,
            config=self.config,
            presence=self.presence,
            params=self.params,
            voicemail=self.voicemail,
            pickup_lookup=self._pickup_target,
            on_end=self._ended,
            call_id=call_id,
            faults=self.faults,
        )
        self.calls[call.id] = call
        call.start()
        return call

    def presence(self, extension: str) -> Presence:
        if not self.is_registered(extension):
            return Presence.UNREGISTERED
        for call in self.calls.values():
            if extension in call.busy_extensions():
                return Presence.BUSY
        return Presence.AVAILABLE

    def _pickup_target(self, picker: Call, group: GroupConfig) -> Call | None:
        """Rule 8: the oldest call ringing another member of the picker's pickup group."""
        me = picker.caller_extension
        candidates = [
            call
            for call in self.calls.values()
            if call is not picker
            and any(ext != me and ext in group.members for ext in call.ringing_extensions())
        ]
        if self.faults.on(PICKUP_WRONG_CALL):
            return max(candidates, key=lambda c: c.arrived_at, default=None)
        return min(candidates, key=lambda c: c.arrived_at, default=None)

    def _ended(self, call: Call) -> None:
        self.calls.pop(call.id, None)
