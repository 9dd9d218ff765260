"""The SIP side as a ``harness.sim.server.Service``: the PBX glue over the web side's store.

Started by the ``Simulator`` on its loop (``serve`` attaches it): it binds UDP and TCP on
``context.host:context.sip_port`` and the carrier side (carrier.py) on its own port, serves
the loaded tenant (SIP domain and digest realm = 内線サーバアドレス), and before each request
checks the store's settings version (one small read), re-reading the routing snapshot only
when it changed — a setting saved on a page applies to the next call (DESIGN.md
"Concurrency"). It writes what the provisioning API shows: registrations and the carrier
side's subscribers (soft state, wall-clock expiry), one row per finished call, one per
voicemail message, all timed in wall-clock Unix seconds (the API shows them as ISO 8601 UTC;
simulated seconds since the call's arrival, the model's ``t``, only inside a call's detail).
Registrations are written in batches, but flushed before any list is read
(``Store.before_listing``), so a binding is listed once its 200 OK is sent. A reset or a new
tenant (``Store.on_reset``) drops the bindings and subscribers and ends every call in
progress, so nothing of one test reaches the next.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from harness.clock import wall_time
from harness.sim.faults import INBOUND_ROUTE_STALE, NO_FAULTS, SETTINGS_NEED_RESTART, Faults
from harness.sim.pbx.call import Call, CallState, target_number
from harness.sim.pbx.carrier import Carrier, Subscriber
from harness.sim.pbx.config import PbxConfig, PbxParams
from harness.sim.pbx.registrar import (
    Algorithm,
    Registrar,
    RegistrarParams,
    credentials_from_snapshot,
)
from harness.sim.pbx.routing import ExternalOrigin
from harness.sim.pbx.sip_glue import PbxSetup, PbxSipService, _CallSession
from harness.sim.server import ServiceContext
from harness.sim.store import PstnRegistrationRow, RegistrationRow, RingTimeDefaults, Store
from harness.sip import audio
from harness.sip.endpoint import Endpoint

log = logging.getLogger(__name__)

FLUSH_DELAY = 0.05  # seconds a registration may wait before the store has it (a list
# request flushes at once: ``flush_pending``)
FLUSH_WAIT = 2.0  # seconds a list read from another thread waits for the loop's flush


def run_on_loop(
    loop: asyncio.AbstractEventLoop, loop_thread: int, action: Callable[[], None]
) -> None:
    """Run ``action`` on ``loop`` and return once it ran: at once on the loop's own thread,
    else scheduled there and waited for (at most ``FLUSH_WAIT``; a closed loop runs nothing)."""
    if threading.get_ident() == loop_thread:
        action()
        return
    done = threading.Event()

    def run() -> None:
        try:
            action()
        finally:
            done.set()

    try:
        loop.call_soon_threadsafe(run)
    except RuntimeError:  # the loop is closed: nothing runs on it any more
        return
    done.wait(FLUSH_WAIT)


def _seconds(value: float) -> float:
    return round(value, 3)


def call_record(call: Call) -> dict[str, Any]:
    """What ``/api/calls`` tells of a finished call: its outcome in the model's words where
    they apply (answered, voicemail, cancelled, released:<reason>) and, in ``detail``, a ring
    timeline in simulated seconds since the call arrived (``t``, as in ``predict``)."""
    if call.recording_id is not None:
        outcome = "voicemail"
    elif call.state is CallState.ENDED:
        outcome = "answered"  # a leg answered, or a pickup bridged it
    else:
        outcome = call.state.value
        if call.release_reason is not None:
            outcome = f"{outcome}:{call.release_reason.value}"
    legs = [
        {
            "target": target_number(leg.target),
            "state": leg.state.value,
            "t": _seconds(leg.started_at - call.arrived_at),
        }
        for leg in call.legs.values()
    ]
    answered = call.answered_leg
    detail: dict[str, Any] = {
        "legs": legs,
        "answered_by": None if answered is None else target_number(answered.target),
        "duration": _seconds(call.clock.now() - call.arrived_at),
    }
    if call.recording_id is not None and call.voicemail is not None:
        message = call.voicemail.get(call.recording_id)
        detail["voicemail"] = {
            "mailbox": message.mailbox,
            "t": _seconds(message.started_at - call.arrived_at),
        }
    return {"outcome": outcome, "detail": detail}


class _StoreBacked(PbxSipService):
    def __init__(self, *, endpoint: Endpoint, setup: PbxSetup, store: Store) -> None:
        super().__init__(endpoint=endpoint, setup=setup)
        self.store = store
        self.version: int | None = None
        self._pending: dict[str, list[RegistrationRow]] = {}
        self._pending_pstn: dict[str, PstnRegistrationRow | None] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._pending_epoch = store.epoch  # the store's epoch when this batch began
        self._loop_thread = threading.get_ident()  # built on its loop (StoreSipService.start)
        # The store epoch the config was loaded in (a reset or tenant load is a fresh start)
        # and, for fault inbound-route-stale, the routes first seen in it.
        self._loaded_epoch: int | None = None
        self._route_cache: dict[str, str] = {}
        store.before_listing(self.flush_pending)
        self.refresh()

    def refresh(self) -> None:
        # One indexed read per request; the whole snapshot only when the version moved.
        stamp = self.store.settings_stamp()
        if stamp is None or stamp == self.version:
            return
        fresh_start = self.store.epoch != self._loaded_epoch
        if self.faults.on(SETTINGS_NEED_RESTART) and not fresh_start:
            return  # the settings read at start stay in force until the next one
        snapshot = self.store.routing_snapshot()
        self.version = snapshot.version
        config = PbxConfig.from_snapshot(snapshot)
        if fresh_start:
            self._loaded_epoch = self.store.epoch
            self._route_cache = {}
            self.pbx.voicemail.unlock_all()
        if self.faults.on(INBOUND_ROUTE_STALE):
            # A route cache filled on first use and never invalidated: a changed 着信先 is
            # not seen, a newly routed 外線番号 is.
            self._route_cache = {**config.inbound_routes, **self._route_cache}
            config = dataclasses.replace(config, inbound_routes=dict(self._route_cache))
        self.pbx.config = config
        for extension, password in snapshot.voicemail_passwords.items():
            if self.pbx.voicemail.password(extension) != password:
                self.pbx.voicemail.set_password(extension, password)
        credentials = credentials_from_snapshot(snapshot)
        if snapshot.sip_domain != self.sip_domain:  # a new tenant: new realm, no bindings
            self.sip_domain = snapshot.sip_domain
            self.registrar = Registrar(
                realm=snapshot.sip_domain,
                credentials=credentials,
                params=self.registrar.params,
                faults=self.faults,
            )
        else:
            self.registrar.credentials = credentials

    def registered(self, terminal_id: str, source: str) -> None:
        ext = self.pbx.config.by_terminal_id(terminal_id)
        if ext is None:
            return
        now, wall = self.now(), time.time()
        self._pending[terminal_id] = [
            RegistrationRow(
                extension=ext.extension,
                contact=b.contact,
                source=source,
                expires_at=wall + (b.expires_at - now),
            )
            for b in self.registrar.bindings(terminal_id, now)
        ]
        self._flush_soon()

    def subscriber_changed(self, number: str, subscriber: Subscriber | None) -> None:
        """The carrier side bound or dropped ``number``: write it with the next flush."""
        row = None
        if subscriber is not None:
            expires_at = time.time() + (subscriber.expires_at - self.now())
            source = f"{subscriber.source.host}:{subscriber.source.port}"
            contact = subscriber.contact
            row = PstnRegistrationRow(
                contact=str(contact.uri),
                transport=contact.transport,
                source=source,
                expires_at=expires_at,
            )
        self._pending_pstn[number] = row
        self._flush_soon()

    def _flush_soon(self) -> None:
        if self._flush_handle is None:
            self._pending_epoch = self.store.epoch
            # Written in batches: one SQLite transaction per REGISTER was a third of the
            # registrar's time under load; the API sees a binding within FLUSH_DELAY.
            self._flush_handle = self.loop.call_later(FLUSH_DELAY, self.flush)

    def flush_pending(self) -> None:
        """Write the batch now if one waits (``Store.before_listing``): the provisioning API
        lists every binding a 200 OK was sent for. From another thread than the loop's, the
        flush runs on the loop and this waits for it (bounded)."""
        if self._flush_handle is None:
            return

        def flush_now() -> None:
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self.flush()

        run_on_loop(self.loop, self._loop_thread, flush_now)

    def forget_registrations(self) -> None:
        """The store was reset or given a new tenant: its registration rows are gone, and so
        must be the bindings behind them (soft state), or a phone that vanished without
        unregistering before the reset would reappear at the next REGISTER of its 端末ID."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._pending.clear()
        self._pending_pstn.clear()
        old = self.registrar
        self.registrar = Registrar(
            realm=old.realm, credentials=old.credentials, params=old.params, faults=self.faults
        )

    def flush(self) -> None:
        """Write the registrations changed since the last flush (one transaction)."""
        self._flush_handle = None
        pending, self._pending = self._pending, {}
        epoch = self._pending_epoch
        if pending:
            self.store.replace_registrations(pending, epoch=epoch)
        pstn, self._pending_pstn = self._pending_pstn, {}
        if pstn:
            self.store.replace_pstn_registrations(pstn, epoch=epoch)

    def records_epoch(self) -> int:
        return self.store.epoch

    def finished(self, session: _CallSession) -> None:
        call = session.call
        if call is None:
            return
        origin = call.origin
        caller = (
            origin.number or "非通知" if isinstance(origin, ExternalOrigin) else origin.extension
        )
        record = call_record(call)
        self.store.record_call(
            call_id=call.id,
            started_at=wall_time(call.clock, call.arrived_at),
            ended_at=time.time(),
            caller=caller,
            callee=call.dialled,
            caller_id=call.caller_id.number,
            outcome=record["outcome"],
            detail=record["detail"],
            epoch=session.epoch,
        )
        if call.recording_id is not None:
            message = self.pbx.voicemail.get(call.recording_id)
            name, seconds = self._save_audio(session, message.id)
            saved = self.store.record_voicemail(
                extension=message.mailbox,
                caller_id=message.caller_id,
                received_at=wall_time(call.clock, message.started_at),
                duration=message.duration or 0.0,
                epoch=session.epoch,
                audio=name,
                audio_seconds=seconds,
            )
            if not saved and name is not None:  # the call began before a reset: not listed
                (self.store.voicemail_dir / name).unlink(missing_ok=True)

    def mailbox_recordings(self, mailbox: str) -> list[audio.Samples]:
        """The listed messages of ``mailbox`` that have audio, oldest first, read from their
        WAV files (each at most MAX_RECORDING_SECONDS); a missing or unreadable file is left
        out."""
        found: list[audio.Samples] = []
        for row in self.store.voicemail_messages(mailbox):
            try:
                data = (self.store.voicemail_dir / str(row["audio"])).read_bytes()
                found.append(audio.wav_samples(data))
            except (OSError, ValueError, EOFError):
                log.warning("voicemail %s: recording %s unreadable", mailbox, row["audio"])
        return found

    def _save_audio(self, session: _CallSession, message_id: int) -> tuple[str | None, float]:
        """Write what the voicemail recorded as ``<db>.voicemail/<id>-<random>.wav`` (16-bit
        mono 8 kHz, at most MAX_RECORDING_SECONDS); no file when the call had no media."""
        media = session.voicemail_media
        if media is None:
            return None, 0.0
        samples = media.close()
        folder = self.store.voicemail_dir
        folder.mkdir(mode=0o700, exist_ok=True)
        name = f"{message_id}-{secrets.token_hex(4)}.wav"
        (folder / name).write_bytes(audio.wav_bytes(samples))
        return name, len(samples) / audio.RATE


class StoreSipService:
    """``Service`` protocol of harness.sim.server: start with the loop, stop before it.

    Binds the tenant's port (``context.sip_port``, UDP and TCP on the same number) and the
    carrier side's (``pstn_port``, UDP and TCP); reports them as ``ports["sip"]`` and
    ``ports["pstn"]``.
    """

    def __init__(
        self,
        *,
        pstn_port: int = 0,
        algorithms: tuple[Algorithm, ...] = RegistrarParams().algorithms,
        min_expires: int = RegistrarParams().min_expires,
        pbx_params: PbxParams | None = None,
        faults: Faults = NO_FAULTS,
    ) -> None:
        self.pstn_port = pstn_port
        self.faults = faults
        self.algorithms = algorithms
        self.min_expires = min_expires
        self.pbx_params = pbx_params
        self.sip: PbxSipService | None = None
        self.carrier: Carrier | None = None

    async def start(self, context: ServiceContext) -> None:
        if Algorithm.MD5 not in self.algorithms:
            # A client that cannot answer any challenge just stops: the server never hears
            # why, so say it once, up front (issue 9 item 2).
            log.warning(
                "SIP digest offers %s without MD5: SIPp 3.6 and Debian's baresip 1.0 cannot "
                "register (add MD5 to --digest-algorithms for them)",
                ",".join(a.value for a in self.algorithms),
            )
        endpoint = await Endpoint.open(host=context.host, port=context.sip_port, tcp=True)
        try:
            trunk = await Endpoint.open(host=context.host, port=self.pstn_port, tcp=True)
        except BaseException:
            await endpoint.close()
            raise
        setup = PbxSetup(
            sip_domain="",
            config=PbxConfig(),
            credentials={},
            clock=context.clock,
            registrar_params=RegistrarParams(
                algorithms=self.algorithms, min_expires=self.min_expires
            ),
            pbx_params=self.pbx_params,
            faults=self.faults,
        )
        sip = self.sip = _StoreBacked(endpoint=endpoint, setup=setup, store=context.store)
        # The settings site shows a group's 「既定」 呼出時間 as the seconds this side applies.
        params = sip.pbx.params
        context.store.ring_time_defaults = RingTimeDefaults(
            simultaneous=params.group_ring_time, sequential=params.member_ring_time
        )
        carrier = self.carrier = Carrier(endpoint=trunk, pbx=sip)
        carrier.on_change = sip.subscriber_changed
        loop = asyncio.get_running_loop()

        def forget_soft_state() -> None:
            sip.end_all_calls()
            sip.forget_registrations()
            carrier.forget()
            if self.faults.on(SETTINGS_NEED_RESTART) or self.faults.on(INBOUND_ROUTE_STALE):
                # A reset or tenant load is these faults' restart: what is in force from now on
                # is read now, not at whichever request comes next (the faults stay
                # deterministic however the SIP traffic falls around a settings change).
                sip.refresh()

        loop_thread = threading.get_ident()

        def on_reset() -> None:
            # From the API handler (on this loop) or a worker thread (tenant loads); done
            # before the reset returns, so a REGISTER sent after its answer finds the old
            # bindings gone. (Scheduled with call_soon_threadsafe from the loop itself, uvloop
            # ran it in its poll phase — after a REGISTER read in the same phase, whose new
            # binding the late forget then dropped: a flaky test_serve_sip.py under load.)
            run_on_loop(loop, loop_thread, forget_soft_state)

        context.store.on_reset(on_reset)
        context.ports["sip"] = endpoint.transport().local.port
        context.ports["pstn"] = trunk.transport().local.port

    async def stop(self) -> None:
        if isinstance(self.sip, _StoreBacked):
            if self.sip._flush_handle is not None:
                self.sip._flush_handle.cancel()
            self.sip.flush()
        if self.carrier is not None:
            await self.carrier.endpoint.close()
        if self.sip is not None:
            await self.sip.close()
