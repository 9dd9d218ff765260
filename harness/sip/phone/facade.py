"""The virtual phone's synchronous facade: what tests and flows hold.

Theory of operation (../shared/DESIGN.md "Concurrency"). Tests are synchronous; the phones'
SIP runs on an asyncio loop in the ``Runtime``'s background thread. ``Phone`` wraps one
``VirtualPhone`` (``harness.sip.phone.agent``) and ``CallHandle`` one of its calls: every
method submits a coroutine to the runtime loop and waits for it (``timeout`` real seconds), so
the facade is thread-safe and the user agent's state is only ever changed on its loop. Reads
of plain attributes (state, status text, SDP) need no hop: they are single references.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from harness.clock import Clock
from harness.errors import HarnessError
from harness.sip.app import AppProfile, RegistrationState
from harness.sip.media import MediaReport
from harness.sip.observed import PhoneEvent, PhoneEventKind
from harness.sip.phone.agent import (
    AUTH_ROUNDS,
    DEFAULT_EXPIRES,
    Call,
    CallState,
    RegisterAnswer,
    TimelineEntry,
    TransportName,
    VirtualPhone,
)
from harness.sip.resolver import Resolver
from harness.sip.runtime import Runtime
from harness.sip.transport import Address, Faults, Tap

#: Real seconds a facade call waits by default (loopback is fast; scaled service timers too).
DEFAULT_TIMEOUT = 10.0


class CallHandle:
    """One call seen from a test: wait for its events, hang it up. Thread-safe."""

    def __init__(self, phone: Phone, call: Call) -> None:
        self._phone = phone
        self._call = call

    @property
    def phone(self) -> Phone:
        """The phone this call is on."""
        return self._phone

    @property
    def has_media(self) -> bool:
        """The call has an RTP session (the phone's media was on when it offered or answered)."""
        return self._call.media is not None

    @property
    def call_id(self) -> str:
        return self._call.call_id

    @property
    def state(self) -> CallState:
        return self._call.state

    @property
    def final_status(self) -> int | None:
        """The final SIP status of the INVITE (sent or received), once there is one."""
        return self._call.final_status

    @property
    def peer(self) -> str:
        """The caller ID shown (incoming) or the digits dialled (outgoing)."""
        return self._call.peer

    def events(self) -> list[PhoneEvent]:
        return [e for e in self._phone.timeline() if e.call_id == self.call_id]

    def wait_for(self, kind: PhoneEventKind | str, timeout: float = DEFAULT_TIMEOUT) -> PhoneEvent:
        """The first event of ``kind`` of this call (waiting up to ``timeout`` real seconds)."""
        return self._phone._wait(PhoneEventKind(kind), timeout, call_id=self.call_id, start=0)

    def wait_ended(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._phone._run(self._call.ended.wait(), timeout)

    def hangup(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """BYE when connected, CANCEL when still ringing out, 603 when ringing here."""
        self._phone._run(self._phone.virtual.hangup(self.call_id), timeout)

    def answer(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Answer this (incoming, ringing) call now."""

        async def answer() -> None:
            self._phone.virtual.answer(self.call_id)

        self._phone._run(answer(), timeout)

    @property
    def remote_sdp(self) -> bytes:
        """The last SDP the far end sent on this call (its offer, answer or re-INVITE)."""
        return self._call.remote_sdp

    def hold(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Put the far end on hold (re-INVITE with ``a=sendonly``); returns the final status."""
        return self.reinvite("sendonly", timeout)

    def resume(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Take the call off hold (re-INVITE with ``a=sendrecv``); returns the final status."""
        return self.reinvite("sendrecv", timeout)

    # -- media (phones opened with media=True; docs/media.md) --------------------------------

    def media_report(self, timeout: float = DEFAULT_TIMEOUT) -> MediaReport:
        """What this call's media did so far (frozen once the call ended): packets, loss,
        jitter, gaps, late start and MOS of what was received, who is heard now, the DTMF
        digits received. ``HarnessError`` when the phone's media is off."""

        async def report() -> MediaReport:
            return self._media_report()

        result = self._phone._run(report(), timeout)
        assert isinstance(result, MediaReport)
        return result

    def _media_report(self) -> MediaReport:
        media = self._call.media
        if media is None:
            raise HarnessError(
                f"phone {self._phone.name}: call {self.call_id} has no media (open the phone "
                "with media=True, or set Phone.media before the call)"
            )
        return media.report()

    def wait_media(
        self,
        condition: Callable[[MediaReport], bool],
        what: str,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> MediaReport:
        """The first report (polled every packet time) for which ``condition`` holds;
        ``TimeoutError`` naming ``what`` and the last report past ``timeout`` real seconds."""

        async def wait() -> MediaReport:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                report = self._media_report()
                if condition(report):
                    return report
                if loop.time() > deadline:
                    raise TimeoutError(f"not within {timeout} s: {what}; last report: {report}")
                await asyncio.sleep(0.02)

        result = self._phone._run(wait(), timeout + 5.0)
        assert isinstance(result, MediaReport)
        return result

    def send_dtmf(self, digits: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Send ``digits`` as RFC 4733 events on this call's media (about 0.2 s a digit,
        real time); returns once the last one has been sent."""

        async def send() -> None:
            media = self._call.media
            if media is None:
                self._media_report()  # raises, naming the fix
                return
            await media.send_dtmf(digits)

        self._phone._run(send(), timeout)

    def mute(self, on: bool = True, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Stop (or resume) sending audio without telling the far end: the SDP still says
        sendrecv — a phone whose microphone is off, or a one-way-audio fault."""

        async def mute() -> None:
            media = self._call.media
            if media is None:
                self._media_report()  # raises, naming the fix
                return
            media.muted = on

        self._phone._run(mute(), timeout)

    def reinvite(self, direction: str, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Send a re-INVITE offering ``direction`` (``sendrecv``, ``sendonly``, ``recvonly``,
        ``inactive``: RFC 3264 §8.4); returns the final status."""
        status = self._phone._run(
            self._phone.virtual.reinvite(self.call_id, direction=direction), timeout
        )
        assert isinstance(status, int)
        return status


class Phone:
    """Synchronous, thread-safe facade of a ``VirtualPhone`` running on a ``Runtime``.

    Every method runs a coroutine on the runtime loop and waits (``timeout`` real seconds).
    ``wait_for(kind)`` consumes events: successive calls with the same kind return successive
    events of that kind (pass ``since=0`` to search from the start of the timeline).
    """

    def __init__(self, virtual: VirtualPhone, runtime: Runtime) -> None:
        self.virtual = virtual
        self.runtime = runtime
        self._cursor: dict[PhoneEventKind, int] = {}
        self._registering: asyncio.Task[RegistrationState] | None = None

    @classmethod
    def open(
        cls,
        runtime: Runtime,
        *,
        name: str,
        profile: AppProfile,
        resolver: Resolver,
        clock: Clock,
        transport: TransportName = "UDP",
        expires: int = DEFAULT_EXPIRES,
        faults: Faults | None = None,
        taps: Iterable[Tap] = (),
        media: bool = False,
    ) -> Phone:
        virtual = runtime.run(
            VirtualPhone.open(
                name=name,
                profile=profile,
                resolver=resolver,
                clock=clock,
                transport=transport,
                expires=expires,
                faults=faults,
                taps=taps,
                media=media,
            )
        )
        return cls(virtual, runtime)

    def _run(self, coro: object, timeout: float | None) -> object:
        assert asyncio.iscoroutine(coro)
        return self.runtime.run(coro, timeout=timeout)

    # -- identity and status ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.virtual.name

    @property
    def profile(self) -> AppProfile:
        return self.virtual.profile

    @property
    def local(self) -> Address:
        return self.virtual.local

    @property
    def registration_state(self) -> RegistrationState:
        return self.virtual.state

    @property
    def status_text(self) -> str:
        """What the app shows now (通話可能, 認証に失敗しました, 通話不可, …)."""
        return self.virtual.status_text

    @property
    def media(self) -> bool:
        """RTP on for the calls from now on (docs/media.md); off: SDP to port 9, no RTP."""
        return self.virtual.media

    @media.setter
    def media(self, on: bool) -> None:
        self.virtual.media = on

    def media_faults(self, faults: Faults | None) -> None:
        """Loss/delay injection on the media sockets of the calls from now on."""
        self.virtual.media_faults = faults

    @property
    def status_icon(self) -> str | None:
        return self.profile.status_icon(self.virtual.state)

    # -- registration ----------------------------------------------------------------------------

    def register(
        self,
        timeout: float = 40.0,
        *,
        expires: int | None = None,
        auth_rounds: int = AUTH_ROUNDS,
    ) -> str:
        """REGISTER (answering the digest challenge at most ``auth_rounds`` times); returns
        the status text shown. ``expires`` asks for this registration only (a 423 is asked
        again at its Min-Expires).

        The default timeout covers Timer F (32 s) for a server that never answers."""
        self._run(self.virtual.register(expires=expires, auth_rounds=auth_rounds), timeout)
        return self.status_text

    def go_silent(self, timeout: float = DEFAULT_TIMEOUT) -> float | None:
        """Stop refreshing the registration without a word (no REGISTER, no Expires 0), as an
        app that lost its network. Returns the real seconds until the registrar's granted
        expiry runs out (None when the phone was not registered): from then on the target
        must treat the terminal as unregistered (圏外)."""

        async def silence() -> float | None:
            return self.virtual.go_silent()

        left = self._run(silence(), timeout)
        assert left is None or isinstance(left, float)
        return left

    @property
    def register_answers(self) -> tuple[RegisterAnswer, ...]:
        """Every answer to a REGISTER of this phone so far, in order."""
        return tuple(self.virtual.register_answers)

    def start_register(self, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Begin a REGISTER without waiting for its outcome; returns the status text the app
        shows while it is in flight (通話不可 until the server accepts; a refresh of a
        registered phone keeps 通話可能). The text is read on the phone's loop right after the
        request left, so it is what the app showed then even if the answer arrives at once.

        ``wait_settled`` waits for the outcome; a second ``start_register`` before it has
        settled waits for the first. P.3 ⑨: the キーボード画面 while the app registers."""

        async def start() -> str:
            pending = self._registering
            if pending is not None and not pending.done():
                await asyncio.shield(pending)
            task = asyncio.get_running_loop().create_task(self.virtual.register())
            self._registering = task
            await asyncio.sleep(0)  # let the REGISTER leave: the state is now REGISTERING
            return self.virtual.status_text

        shown = self._run(start(), timeout)
        assert isinstance(shown, str)
        return shown

    def wait_settled(self, timeout: float = 40.0) -> str:
        """Wait for the registration ``start_register`` began to have an outcome (registered,
        refused, unreachable); returns the status text then shown. The default timeout covers
        Timer F (32 s) for a server that never answers; ``TimeoutError`` past it."""

        async def settle() -> str:
            task = self._registering
            if task is not None:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            return self.virtual.status_text

        shown = self._run(settle(), timeout + 5.0)
        assert isinstance(shown, str)
        return shown

    @property
    def settled(self) -> bool:
        """No registration begun by ``start_register`` is still in flight."""
        task = self._registering
        return task is None or task.done()

    def unregister(self, timeout: float = DEFAULT_TIMEOUT) -> str:
        self._run(self.virtual.unregister(), timeout)
        return self.status_text

    def reconfigure(self, profile: AppProfile) -> None:
        """Change the app's settings (アカウント設定 / Flexible InterConnect / network), as a
        person does in the app; takes effect at the next ``register``."""
        self.virtual.profile = profile

    # -- behaviour -------------------------------------------------------------------------------

    def answer_after(self, seconds: float) -> None:
        """Answer incoming calls after ``seconds`` simulated seconds of ringing."""
        if seconds < 0:
            raise ValueError(f"answer_after needs seconds >= 0, got {seconds!r}")
        self.virtual.behaviour.answer_after = seconds
        self.virtual.behaviour.busy = False

    def reject_after(self, seconds: float | None) -> None:
        """Refuse incoming calls with 486 Busy Here ``seconds`` simulated seconds after they
        start ringing (unless answered first); ``None``: never."""
        if seconds is not None and seconds <= 0:
            raise ValueError(f"reject_after needs seconds > 0, got {seconds!r}")
        self.virtual.behaviour.reject_after = seconds

    def never_answer(self) -> None:
        self.virtual.behaviour.answer_after = None
        self.virtual.behaviour.busy = False

    def set_busy(self, busy: bool = True) -> None:
        """Refuse incoming calls with 486 Busy Here (True) or ring again (False)."""
        self.virtual.behaviour.busy = busy

    # -- calls -----------------------------------------------------------------------------------

    def call(
        self,
        number: str,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        give_up_after: float | None = None,
    ) -> CallHandle:
        """Dial ``number``; returns at once with the call (see its events). The caller gives
        up (CANCEL) after ``give_up_after`` simulated seconds without an answer."""
        call = self._run(self.virtual.call(number, give_up_after=give_up_after), timeout)
        assert isinstance(call, Call)
        return CallHandle(self, call)

    def hangup(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Hang up the newest live call (BYE, CANCEL or 603 by its state)."""
        self._run(self.virtual.hangup(), timeout)

    def incoming(self, timeout: float = DEFAULT_TIMEOUT) -> CallHandle:
        """Wait for the next ``ring`` and return that call."""
        event = self.wait_for(PhoneEventKind.RING, timeout)
        return CallHandle(self, self.virtual.calls[event.call_id])

    # -- observations ----------------------------------------------------------------------------

    def timeline(self, since: int = 0) -> list[PhoneEvent]:
        """A copy of the events so far, in order, from index ``since`` (see ``mark``)."""

        async def copy() -> list[PhoneEvent]:
            return self.virtual.events[since:]

        result = self._run(copy(), DEFAULT_TIMEOUT)
        assert isinstance(result, list)
        return result

    def mark(self) -> int:
        """The timeline's current length: pass it as ``since`` to ``timeline`` / ``wait_for``
        to look only at what happens from now on (one scenario of several in a test)."""
        return len(self.virtual.events)

    def wait_for(
        self,
        kind: PhoneEventKind | str,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        since: int | None = None,
    ) -> PhoneEvent:
        """The next not yet returned event of ``kind`` (``since``: a timeline index to search
        from instead), waiting up to ``timeout`` real seconds; ``TimeoutError`` otherwise."""
        kind = PhoneEventKind(kind)
        start = self._cursor.get(kind, 0) if since is None else since
        return self._wait(kind, timeout, call_id=None, start=start)

    def _wait(
        self, kind: PhoneEventKind, timeout: float, *, call_id: str | None, start: int
    ) -> PhoneEvent:
        async def wait() -> TimelineEntry:
            return await asyncio.wait_for(
                self.virtual.wait_for(kind, start=start, call_id=call_id), timeout
            )

        try:
            result = self._run(wait(), timeout + 5.0)
        except TimeoutError:
            seen = ", ".join(f"{e.t:.2f} {e.kind}" for e in self.virtual.events) or "nothing"
            raise TimeoutError(
                f"phone {self.name}: no {kind.value!r} event within {timeout} s (timeline: {seen})"
            ) from None
        assert isinstance(result, TimelineEntry)
        if call_id is None:
            self._cursor[kind] = result.index + 1
        return result.event

    def close(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Unregister (best effort) and close the phone's socket."""
        if self.runtime.running:
            self._run(self.virtual.close(), timeout)
