"""The virtual phone's user agent: the Smart PBX app of the manual on the asyncio loop.

Theory of operation. A ``VirtualPhone`` is a transaction user on its own ``Endpoint`` (one
UDP or TCP socket on a free loopback port). It is configured exactly as a person configures
the app (``AppProfile``: アカウント設定 and Flexible InterConnect; ``harness.sip.app``), finds its
server through a ``Resolver`` (the stand-in for DNS) and behaves like the app:

- **registration** (RFC 3261 §10): REGISTER to the SIPサーバ (or the UNO address, by the
  Flexible InterConnect rule), answering the 401/407 digest challenge (MD5 or SHA-256 with
  qop=auth, via ``harness.sip.digest``; a re-challenge only when its nonce is fresh, at most
  ``AUTH_ROUNDS``); refreshed at half the granted expiry; ``unregister`` sends Expires 0.
  The outcome sets ``state`` and hence the app's ``status_text``: a challenge to the nonce
  already answered, 403 or 404 → 認証に失敗しました (per platform); no answer (408), a transport
  error (503: ICMP port unreachable, TCP refused), a name that does not resolve, or any
  other failure → 通話不可.
- **incoming calls**: 180 Ringing at once (``ring``, with the caller ID shown: P-Asserted-
  Identity, else From; 非通知 for anonymous); then, by the phone's behaviour, 200 OK after
  ``answer_after`` *simulated* seconds (a service timer, through the ``Clock``: scaled on the
  embedded target), never, or 486 Busy Here at once when set busy. CANCEL → 487 (``stop``);
  BYE → 200 (``hangup``).
- **outgoing calls**: INVITE with an SDP offer; a 401/407 challenge is answered (as above); 18x →
  ``ringback``; 2xx → ACK (``connected``); 486/600 → ``busy``; 403/404/484/603 → ``refused``;
  others → ``release``. ``hangup`` sends BYE, or CANCEL while the call is not answered yet
  (after the first provisional response, §9.1).
- **in a call**: ``hold`` / ``resume`` send a re-INVITE with ``a=sendonly`` / ``a=sendrecv``
  (RFC 3264 §8.4); a re-INVITE received is answered 200 with the mirrored direction
  (sendonly → recvonly). Every SDP received (offer or answer) is kept as the call's
  ``remote_sdp``.
- **media** (``media=True``; docs/media.md): each call gets a ``harness.sip.media`` session
  whose socket is bound before the phone writes its offer or answer, so the SDP advertises
  the port that listens (``sdp.offer``/``sdp.answer``: PCMU, PCMA, telephone-event); every
  completed offer/answer (INVITE/200, 200/ACK for a late offer, re-INVITE) is applied to it,
  and the call's end stops it. An offer the phone cannot take is answered 400 (malformed) or
  488 with ``Warning: 305`` (no common codec). With media off the phone sends the fixed
  port-9 body it always sent and takes any body.

Every observation goes to the phone's timeline (``harness.sip.observed``) with
``clock.now()``. Registration refresh and transaction timers run in real seconds (protocol
timers), and so does RTP packet pacing (media, not a service timer); only the answer delay is
a service timer. The session descriptions come from
``harness.sip.sdp``; tests and flows drive a phone through the synchronous facade
(``harness.sip.phone.facade``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from harness.clock import Clock, TimerHandle
from harness.errors import HarnessError, InputError, Problem
from harness.sip import sdp
from harness.sip.app import AppProfile, RegistrationState
from harness.sip.dialog import Dialog
from harness.sip.digest import (
    DigestChallenge,
    DigestCredentials,
    answer_challenge,
    choose_challenge,
)
from harness.sip.endpoint import ClientTransaction, Endpoint, ServerTransaction
from harness.sip.headers import Via
from harness.sip.media import VOICES, MediaSession
from harness.sip.message import Request, Response, new_call_id, new_tag
from harness.sip.observed import PhoneEvent, PhoneEventKind, shown_caller_id
from harness.sip.resolver import ResolveError, Resolver, parse_server
from harness.sip.sdp import CONTENT_TYPE as SDP
from harness.sip.sdp import Direction, answer_direction, session_description
from harness.sip.syntax import SipParseError
from harness.sip.transport import LOOPBACK, Address, Faults, Tap
from harness.sip.uri import NameAddr, SipUri

TransportName = Literal["UDP", "TCP"]
K = PhoneEventKind

#: Expiry asked for in REGISTER (seconds, real: the registrar's protocol timer).
DEFAULT_EXPIRES = 3600
#: (A) The app sends its サービスコード in this header when one is configured; the manual only
#: says to enter it "when the carrier says so", not how it travels.
SERVICE_CODE_HEADER = "X-Service-Code"
USER_AGENT = "smartpbx-harness virtual phone"
#: The agent token of the phones' Warning headers (RFC 3261 §20.43: a host name or pseudonym).
USER_AGENT_HOST = "virtual-phone.invalid"
#: Challenges answered per request at most: one, plus re-challenges with a fresh nonce (stale,
#: or a nonce-count server answering a retransmission it already counted).
AUTH_ROUNDS = 3
#: What a virtual phone answers (its 405 lists these: RFC 3261 §8.2.1, §20.5).
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, NOTIFY"

_DIALLABLE = re.compile(r"[0-9A-Za-z*#+._~-]+").fullmatch
_AUTH_FAILED = frozenset({401, 403, 404, 407})
_BUSY = frozenset({486, 600})
_REFUSED = frozenset({403, 404, 484, 603, 604})


@dataclass(frozen=True, kw_only=True)
class RegisterAnswer:
    """One answer to a REGISTER as far as it can tell 端末IDs apart (what sipvicious ``svwar``
    compares, docs/security.md): the status and reason, the header names, and each digest
    challenge's shape (realm, algorithm, qop, stale, whether it has an opaque) — never the
    nonce or opaque values, which are fresh in every challenge."""

    status: int
    reason: str
    headers: tuple[str, ...]  # lower-case names, sorted
    challenges: tuple[str, ...]  # one shape per WWW-Authenticate, in order

    @classmethod
    def of(cls, response: Response) -> RegisterAnswer:
        names = sorted({name.lower() for name in response.headers.names()})
        return cls(
            status=response.status,
            reason=response.reason,
            headers=tuple(names),
            challenges=tuple(
                _challenge_shape(value) for value in response.headers.get_all("WWW-Authenticate")
            ),
        )

    def __str__(self) -> str:
        challenges = "; ".join(self.challenges) or "no challenge"
        return f"{self.status} {self.reason} [{challenges}] headers {', '.join(self.headers)}"


def _challenge_shape(value: str) -> str:
    try:
        c = DigestChallenge.parse(value)
    except SipParseError:
        return f"unreadable: {value.split(' ', 1)[0]}"
    opaque = " opaque" if c.opaque is not None else ""
    return (
        f"Digest realm={c.realm} algorithm={c.algorithm} qop={','.join(c.qop)} "
        f"stale={str(c.stale).lower()}{opaque}"
    )


class CallState(StrEnum):
    DIALING = "dialing"
    RINGING = "ringing"  # incoming: this phone rings; outgoing: the far end rings
    CONNECTED = "connected"
    ENDED = "ended"


@dataclass
class Behaviour:
    """How the phone treats incoming calls.

    ``answer_after``: simulated seconds from ring to answer, ``None`` = never answer.
    ``reject_after``: simulated seconds from ring to refusing the ringing call with 486 Busy
    Here (a person pressing 拒否; the scenario's ``reject_after``), ``None`` = never; an answer
    due at the same instant wins. ``busy``: refuse every call with 486 Busy Here at once.
    ``busy_when_in_call``: refuse a second call while one is connected (the phone's 話中).
    """

    answer_after: float | None = None
    reject_after: float | None = None
    busy: bool = False
    busy_when_in_call: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntry:
    """An event of a phone's timeline and its index there (what ``wait_for`` found)."""

    index: int
    event: PhoneEvent


class Call:
    """One call of a ``VirtualPhone`` (loop-side state; read through ``CallHandle``)."""

    def __init__(self, phone: VirtualPhone, *, call_id: str, direction: str, peer: str) -> None:
        self.phone = phone
        self.call_id = call_id
        self.direction = direction  # "incoming" | "outgoing"
        self.peer = peer  # caller ID shown (incoming) or digits dialled (outgoing)
        self.state = CallState.DIALING if direction == "outgoing" else CallState.RINGING
        self.final_status: int | None = None
        self.ended = asyncio.Event()
        # dialog (RFC 3261 §12)
        self.local_tag = new_tag()
        self.dialog: Dialog | None = None  # the core's §12 dialog, once there is one
        # transactions in flight
        self.invite_server: ServerTransaction | None = None
        self.invite: ClientTransaction | None = None
        self.answer_timer: TimerHandle | None = None
        self.reject_timer: TimerHandle | None = None
        self.give_up_timer: TimerHandle | None = None
        self.cancel_requested = False
        self.remote_sdp = b""  # the last SDP the far end sent (offer or answer)
        # media (phones with media on: harness.sip.media, docs/media.md)
        self.media: MediaSession | None = None
        self.media_ready: asyncio.Task[MediaSession] | None = None
        self.local_sdp: sdp.SessionDescription | None = None  # our last offer or answer
        self.offer_pending = False  # we offered in a 2xx: the answer comes in the ACK
        self.wish = Direction.SENDRECV  # what this side wants (hold: sendonly)
        self.answering = False  # an answer is being prepared (the media socket is bound)
        self.sdp_id = secrets.randbelow(10**9)
        self.sdp_version = 0

    def end(self) -> None:
        self.state = CallState.ENDED
        for timer in (self.answer_timer, self.reject_timer, self.give_up_timer):
            if timer is not None:
                timer.cancel()
        if self.media is not None:
            self.media.stop()  # the socket is closed by the phone (``_close_media``)
            self.phone._spawn(self.phone._close_media(self.media))
        self.ended.set()


class VirtualPhone:
    """A virtual Smart PBX app on the asyncio loop. Create with ``await VirtualPhone.open``."""

    def __init__(
        self,
        *,
        name: str,
        profile: AppProfile,
        resolver: Resolver,
        clock: Clock,
        endpoint: Endpoint,
        transport: TransportName = "UDP",
        expires: int = DEFAULT_EXPIRES,
        media: bool = False,
    ) -> None:
        self.name = name
        self.profile = profile
        self.resolver = resolver
        self.clock = clock
        self.endpoint = endpoint
        self.transport_name: TransportName = transport
        self.expires = expires
        self.behaviour = Behaviour()
        #: RTP on: calls offer and answer a real port and exchange the phone's tone
        #: (harness.sip.media); off: the fixed port-9 body and no media (docs/media.md).
        self.media = media
        #: Loss/delay injection of the media sockets of the calls placed from now on.
        self.media_faults: Faults | None = None
        self._media_sessions: set[MediaSession] = set()
        self._voice_held = False
        self.state = RegistrationState.UNREGISTERED
        self.last_register_status: int | None = None
        self.registrations = 0  # successful REGISTERs (first and refreshes)
        self.last_error: str | None = None
        self.calls: dict[str, Call] = {}
        self.events: list[PhoneEvent] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._register_call_id = new_call_id("phone.invalid")
        self._register_cseq = 0  # last CSeq sent with the registration's Call-ID
        self._refresh: asyncio.TimerHandle | None = None
        #: Loop time (``loop.time()``, real seconds) at which the registrar's granted expiry
        #: of the last successful REGISTER runs out, counted from its answer's arrival.
        self.registered_until: float | None = None
        #: Every answer to a REGISTER, in order (``RegisterAnswer``).
        self.register_answers: list[RegisterAnswer] = []
        self._registrar: Address | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._session = itertools.count(secrets.randbelow(10**6))
        endpoint.on_request = self._on_request
        endpoint.on_ack = self._on_ack

    @classmethod
    async def open(
        cls,
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
    ) -> VirtualPhone:
        """Open the phone's endpoint on a free loopback port (not yet registered)."""
        endpoint = await Endpoint.open(
            udp=transport == "UDP", tcp=transport == "TCP", faults=faults, taps=taps
        )
        return cls(
            name=name,
            profile=profile,
            resolver=resolver,
            clock=clock,
            endpoint=endpoint,
            transport=transport,
            expires=expires,
            media=media,
        )

    # -- identity ------------------------------------------------------------------------------

    @property
    def status_text(self) -> str:
        return self.profile.status_text(self.state)

    @property
    def local(self) -> Address:
        return self.endpoint.transport(self.transport_name).local

    @property
    def domain(self) -> str:
        """The AOR's domain: the 内線サーバアドレス (also over the UNO route)."""
        return parse_server(self.profile.account.sip_server).host

    @property
    def aor(self) -> str:
        return f"sip:{self.profile.account.user_id}@{self.domain}"

    def contact(self) -> str:
        param = ";transport=tcp" if self.transport_name == "TCP" else ""
        return f"<sip:{self.profile.account.user_id}@{self.local}{param}>"

    def _extra_headers(self) -> tuple[tuple[str, str], ...]:
        headers: tuple[tuple[str, str], ...] = (("User-Agent", USER_AGENT),)
        code = self.profile.account.service_code
        if code:
            headers += ((SERVICE_CODE_HEADER, code),)
        return headers

    # -- timeline ------------------------------------------------------------------------------

    def _record(self, kind: PhoneEventKind, call: Call, **fields: object) -> PhoneEvent:
        event = PhoneEvent(
            t=self.clock.now(),
            kind=kind,
            phone=self.name,
            call_id=call.call_id,
            **fields,  # type: ignore[arg-type]
        )
        self.events.append(event)
        self._wake()
        return event

    def _wake(self) -> None:
        """Wake every coroutine waiting in ``wait_for`` / ``wait_until`` to re-check."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _changed(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    async def wait_for(
        self,
        kind: PhoneEventKind,
        *,
        start: int = 0,
        call_id: str | None = None,
    ) -> TimelineEntry:
        """The first event of ``kind`` at index ≥ ``start`` (of ``call_id`` if given), waiting
        for it, with its index. Bound it with ``asyncio.wait_for``."""
        while True:
            for index in range(start, len(self.events)):
                event = self.events[index]
                if event.kind is kind and call_id in (None, event.call_id):
                    return TimelineEntry(index=index, event=event)
            await self._changed()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; it is re-checked after every event and every
        registration outcome. Bound it with ``asyncio.wait_for``."""
        while not predicate():
            await self._changed()

    def _set_state(self, state: RegistrationState) -> None:
        self.state = state
        self._wake()

    def _spawn(self, coro: object) -> None:
        assert asyncio.iscoroutine(coro)
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- registration --------------------------------------------------------------------------

    def _server_address(self) -> Address:
        return self.resolver.resolve(self.profile.server())

    async def register(
        self, *, expires: int | None = None, auth_rounds: int = AUTH_ROUNDS
    ) -> RegistrationState:
        """REGISTER now (answering the digest challenge, at most ``auth_rounds`` times);
        returns the new state. ``expires`` (seconds) asks for this registration only; its
        refreshes ask for the phone's ``expires`` again."""
        return await self._register(
            self.expires if expires is None else expires, auth_rounds=auth_rounds
        )

    def go_silent(self) -> float | None:
        """Stop refreshing without a word (no REGISTER, no Expires 0), as an app that lost its
        network; the app shows 通話不可. Returns the real seconds until the registrar's granted
        expiry runs out (None when the phone was not registered)."""
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None
        left = None
        if self.state is RegistrationState.REGISTERED and self.registered_until is not None:
            left = max(0.0, self.registered_until - asyncio.get_running_loop().time())
        self._set_state(RegistrationState.UNREGISTERED)
        return left

    async def unregister(self) -> RegistrationState:
        """REGISTER with Expires 0; the phone is then UNREGISTERED (通話不可)."""
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None
        if self.state is RegistrationState.REGISTERED:
            await self._register(0)
        self._set_state(RegistrationState.UNREGISTERED)
        return self.state

    async def _register(self, expires: int, *, auth_rounds: int = AUTH_ROUNDS) -> RegistrationState:
        if expires and self.state is not RegistrationState.REGISTERED:
            # A refresh keeps showing 通話可能 while it is in flight.
            self._set_state(RegistrationState.REGISTERING)
        try:
            server = self._server_address()
        except ResolveError as exc:
            self.last_error = str(exc)
            self._set_state(RegistrationState.UNREACHABLE)
            return self.state
        self._registrar = server
        request = self._register_request(expires)
        response = await self._send_with_auth(request, server, rounds=auth_rounds)
        # Authorised retries raised the CSeq; the next REGISTER of this Call-ID must go
        # higher still (§10.2: the registrar drops out-of-order CSeqs).
        self._register_cseq = max(self._register_cseq + 1, response.headers.cseq.number)
        least = _min_expires(response)
        if expires and least is not None and least > expires:
            # 423 Interval Too Brief: ask again at the registrar's minimum (§10.2.8).
            expires = least
            response = await self._send_with_auth(
                self._register_request(expires), server, rounds=auth_rounds
            )
            self._register_cseq = max(self._register_cseq + 1, response.headers.cseq.number)
        self.last_register_status = response.status
        if not expires:
            return self.state
        if 200 <= response.status < 300:
            granted = _granted_expires(response, self.contact(), expires)
            self.registered_until = asyncio.get_running_loop().time() + granted
            self._schedule_refresh(granted)
            self.registrations += 1
            self._set_state(RegistrationState.REGISTERED)
        elif response.status in _AUTH_FAILED:
            self.last_error = f"{response.status} {response.reason}"
            self._set_state(RegistrationState.AUTH_FAILED)
        else:
            self.last_error = f"{response.status} {response.reason}"
            self._set_state(RegistrationState.UNREACHABLE)
        return self.state

    def _register_request(self, expires: int) -> Request:
        return Request.build(
            "REGISTER",
            f"sip:{self.domain}",
            from_=f"<{self.aor}>;tag={new_tag()}",
            to=f"<{self.aor}>",
            call_id=self._register_call_id,
            cseq=self._register_cseq + 1,
            via=self.endpoint.via(self.transport_name),
            contact=f"{self.contact()};expires={expires}",
            headers=(("Expires", str(expires)), *self._extra_headers()),
        )

    def _schedule_refresh(self, granted: int) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
        # Refresh at half the granted time (and at least a second before expiry).
        delay = max(1.0, min(granted / 2, granted - 1))
        loop = asyncio.get_running_loop()
        self._refresh = loop.call_later(delay, lambda: self._spawn(self._register(self.expires)))

    async def _send_with_auth(
        self, request: Request, to: Address, *, rounds: int = AUTH_ROUNDS
    ) -> Response:
        """Send a non-INVITE request, answering 401/407 challenges: at most ``rounds`` times,
        and never twice the same nonce (``_authorise``). REGISTER answers are kept."""
        response = await self._request(request, to)
        for _ in range(rounds):
            authorised = self._authorise(request, response)
            if authorised is None:
                return response
            request = authorised
            response = await self._request(request, to)
        return response

    async def _request(self, request: Request, to: Address) -> Response:
        response = await self.endpoint.request(request, to, transport=self.transport_name)
        if request.method == "REGISTER":
            self.register_answers.append(RegisterAnswer.of(response))
        return response

    def _authorise(self, request: Request, response: Response) -> Request | None:
        """The request again with credentials for ``response``'s challenge, or None when
        there is nothing (more) to answer: not a challenge, or a challenge repeating the very
        nonce already answered (a wrong password). A challenge with a *new* nonce is answered
        again: a server that checks nonce counts (Kamailio ``nonce_count``) re-challenges a
        retransmitted request it already saw, and callers bound the number of rounds."""
        if response.status not in (401, 407):
            return None
        challenge_name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        answer_name = "Authorization" if response.status == 401 else "Proxy-Authorization"
        try:
            challenge = choose_challenge(response.headers.get_all(challenge_name))
        except SipParseError:
            return None
        sent = request.headers.get(answer_name)
        if sent is not None and not challenge.stale:
            try:
                if DigestCredentials.parse(sent).nonce == challenge.nonce:
                    return None
            except SipParseError:
                return None
        value = answer_challenge(
            challenge,
            method=request.method,
            uri=str(request.uri),
            username=self.profile.account.user_id,
            password=self.profile.account.password,
            nc=1,  # every answer is to a fresh nonce
            body=request.body,
        )
        headers = request.headers.set(answer_name, value)
        headers = headers.set("CSeq", f"{request.headers.cseq.number + 1} {request.method}")
        headers = headers.set("Via", self.endpoint.via(self.transport_name))
        return request.with_headers(headers)

    # -- media (docs/media.md) -------------------------------------------------------------------

    async def _media_for(self, call: Call) -> MediaSession:
        """The call's RTP session, its socket bound on a free loopback port (once per call:
        every caller awaits the same binding)."""
        if call.media_ready is None:
            call.media_ready = asyncio.get_running_loop().create_task(self._open_media(call))
        return await call.media_ready

    async def _open_media(self, call: Call) -> MediaSession:
        media = await MediaSession.open(name=self.name, faults=self.media_faults)
        if not self._voice_held:  # heard by name until the phone closes (media.VOICES)
            self._voice_held = True
            VOICES.add(self.name)
        self._media_sessions.add(media)
        call.media = media
        if call.state is CallState.ENDED:  # ended while the socket was being bound
            media.stop()
            self._spawn(self._close_media(media))
        return media

    async def _close_media(self, media: MediaSession) -> None:
        self._media_sessions.discard(media)
        await media.close()

    def _media_offer(self, call: Call) -> bytes:
        """Our offer (INVITE, re-INVITE, or a 2xx to an INVITE without one): the call's own
        RTP port, PCMU and PCMA, telephone-event, the direction this side wants."""
        assert call.media is not None
        call.sdp_version += 1
        call.local_sdp = sdp.offer(
            session_id=call.sdp_id,
            version=call.sdp_version,
            address=call.media.local.host,
            port=call.media.port,
            direction=call.wish,
            rtcp_mux=True,
        )
        return sdp.build(call.local_sdp)

    def _media_answer(self, call: Call, offer: sdp.SessionDescription) -> bytes:
        """Our answer to ``offer`` (RFC 3264 §6), applied to the call's media at once.
        Raises ``IncompatibleMedia`` when no stream can be taken."""
        assert call.media is not None
        description = sdp.answer(
            offer,
            session_id=call.sdp_id,
            version=call.sdp_version + 1,
            address=call.media.local.host,
            port=call.media.port,
            direction=call.wish,
            rtcp_mux=True,
        )
        call.sdp_version += 1
        call.local_sdp = description
        call.media.start(sdp.negotiate(description, offer))
        return sdp.build(description)

    def _media_answered(self, call: Call, body: bytes) -> None:
        """Our offer was answered with ``body`` (in a 2xx, or in the ACK of a late offer):
        start or change the call's media; an unreadable answer stops sending."""
        if call.media is None or call.local_sdp is None:
            return
        try:
            remote = sdp.parse(body)
        except sdp.SdpError:
            call.media.start(None)
            return
        call.media.start(sdp.negotiate(call.local_sdp, remote))

    def _refuse_offer(self, server: ServerTransaction, body: bytes, *, to_tag: str | None) -> bool:
        """Answer an offer we cannot take: 400 for a malformed body (RFC 3261 §21.4.1), 488
        with ``Warning: 305`` when no stream has a codec of ours (RFC 3264 §6, RFC 3261
        §21.4.26). True when refused. Media on only: phones without media take any body."""
        if not body:
            return False
        try:
            sdp.answer(sdp.parse(body), session_id=0, version=0, address=LOOPBACK, port=9)
        except sdp.SdpError as exc:
            status, code, text = 400, sdp.WARN_MISC, str(exc)
        except sdp.IncompatibleMedia as exc:
            status, code, text = (
                488,
                sdp.WARN_INCOMPATIBLE_MEDIA,
                f"Incompatible media format: {exc}",
            )
        else:
            return False
        response = Response.for_request(server.request, status, to_tag=to_tag)
        value = sdp.warning(code, USER_AGENT_HOST, text)
        server.respond(response.with_headers(response.headers.set("Warning", value)))
        return True

    # -- incoming requests ---------------------------------------------------------------------

    def _on_request(self, server: ServerTransaction) -> None:
        request = server.request
        method = request.method
        if method == "INVITE" and request.headers.to.tag is None:
            self._incoming_invite(server)
        elif method == "INVITE":
            self._reinvite(server)
        elif method == "BYE":
            self._incoming_bye(server)
        elif method == "OPTIONS":
            server.reply(200)
        elif method in ("INFO", "UPDATE"):
            # Both exist only inside a dialog: outside one, 481 (RFC 6086 §4.2.2, RFC 3311 §5.2).
            call = self.calls.get(request.headers.call_id)
            live = call is not None and call.state is not CallState.ENDED and call.dialog
            server.reply(200 if live else 481)
        elif method == "NOTIFY":
            server.reply(200)  # unsolicited NOTIFY (e.g. message-waiting): accepted, ignored
        else:
            # RFC 3261 §8.2.1: a 405 MUST carry an Allow header listing what is supported.
            response = Response.for_request(request, 405)
            server.respond(response.with_headers(response.headers.set("Allow", ALLOW)))

    def _incoming_invite(self, server: ServerTransaction) -> None:
        request = server.request
        headers = request.headers
        call = Call(self, call_id=headers.call_id, direction="incoming", peer=_caller_id(request))
        call.invite_server = server
        call.remote_sdp = request.body
        behaviour = self.behaviour
        if self.media and self._refuse_offer(server, request.body, to_tag=call.local_tag):
            status = server.final_status
            self._record(K.REJECTED, call, caller_id=call.peer, status=status, detail="offer")
            call.final_status = status
            call.end()
            return
        in_call = any(c.state is CallState.CONNECTED for c in self.calls.values())
        if behaviour.busy or (behaviour.busy_when_in_call and in_call):
            server.reply(486, to_tag=call.local_tag)
            self._record(K.REJECTED, call, caller_id=call.peer, status=486)
            call.final_status = 486
            call.end()
            return
        self.calls[call.call_id] = call
        if self.media:
            self._spawn(self._media_for(call))  # bound while it rings: the answer has its port
        ringing = Response.for_request(request, 180, to_tag=call.local_tag, contact=self.contact())
        call.dialog = Dialog.from_uas(request, ringing)
        server.respond(ringing)
        self._record(K.RING, call, caller_id=call.peer)
        if behaviour.answer_after is not None:
            call.answer_timer = self.clock.call_later(
                behaviour.answer_after, lambda: self._answer(call)
            )
        if behaviour.reject_after is not None:
            # Scheduled after the answer timer: at the same instant the answer fires first.
            call.reject_timer = self.clock.call_later(
                behaviour.reject_after, lambda: self._reject(call)
            )
        self._spawn(self._watch_cancel(call, server))

    async def _watch_cancel(self, call: Call, server: ServerTransaction) -> None:
        cancelled = asyncio.create_task(server.cancelled.wait())
        ended = asyncio.create_task(call.ended.wait())
        try:
            await asyncio.wait({cancelled, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
            ended.cancel()
        if server.cancelled.is_set() and call.state is CallState.RINGING:
            server.reply(487, to_tag=call.local_tag)
            call.final_status = 487
            self._record(K.STOP, call, status=487)
            call.end()

    def _answer(self, call: Call) -> None:
        server = call.invite_server
        if server is None or call.state is not CallState.RINGING or server.final_status:
            return
        if self.media:
            if not call.answering:
                call.answering = True
                self._spawn(self._answer_with_media(call, server))
            return
        self._send_answer(call, server, session_description(next(self._session)))

    async def _answer_with_media(self, call: Call, server: ServerTransaction) -> None:
        await self._media_for(call)
        if call.state is not CallState.RINGING or server.final_status:
            return
        if call.remote_sdp:
            body = self._media_answer(call, sdp.parse(call.remote_sdp))  # checked at INVITE
        else:
            body = self._media_offer(call)  # late offer: the answer comes in the ACK
            call.offer_pending = True
        self._send_answer(call, server, body)

    def _send_answer(self, call: Call, server: ServerTransaction, body: bytes) -> None:
        server.respond(
            Response.for_request(
                server.request,
                200,
                to_tag=call.local_tag,
                contact=self.contact(),
                body=body,
                content_type=SDP,
            )
        )
        call.final_status = 200
        call.state = CallState.CONNECTED
        if call.dialog is not None:
            call.dialog.confirm()
        self._record(K.ANSWER, call, caller_id=call.peer, status=200)

    def _reject(self, call: Call) -> None:
        """Refuse a call that is ringing here with 486 Busy Here (``reject_after``)."""
        server = call.invite_server
        if server is None or call.state is not CallState.RINGING or server.final_status:
            return
        server.reply(486, to_tag=call.local_tag)
        call.final_status = 486
        self._record(K.REJECTED, call, caller_id=call.peer, status=486, detail="after ringing")
        call.end()

    def answer(self, call_id: str | None = None) -> Call:
        """Answer a ringing call now (the oldest when ``call_id`` is None)."""
        call = self._find(call_id, CallState.RINGING, "incoming")
        self._answer(call)
        return call

    def _reinvite(self, server: ServerTransaction) -> None:
        call = self.calls.get(server.request.headers.call_id)
        if call is None or call.state is not CallState.CONNECTED or call.dialog is None:
            server.reply(481)
            return
        if not call.dialog.receive_request(server.request):
            server.reply(500)  # out of order (§12.2.2)
            return
        offer = server.request.body
        if call.media is not None:
            if self._refuse_offer(server, offer, to_tag=None):
                return  # the call goes on as agreed before (RFC 3264 §8)
            if offer:
                call.remote_sdp = offer
                body = self._media_answer(call, sdp.parse(offer))
            else:
                body = self._media_offer(call)
                call.offer_pending = True
        else:
            if offer:
                call.remote_sdp = offer
            body = session_description(next(self._session), answer_direction(offer))
        server.respond(
            Response.for_request(
                server.request, 200, contact=self.contact(), body=body, content_type=SDP
            )
        )

    async def reinvite(self, call_id: str | None = None, *, direction: str = "sendrecv") -> int:
        """Send a re-INVITE offering ``direction`` on a connected call (``hold``: sendonly,
        ``resume``: sendrecv; RFC 3264 §8.4) and ACK its 2xx; returns the final status. The
        answer's SDP becomes the call's ``remote_sdp``."""
        call = self._find(call_id, CallState.CONNECTED, "")
        dialog = call.dialog
        assert dialog is not None
        agreed, wished = call.local_sdp, call.wish
        if call.media is not None:
            call.wish = Direction(direction)
            body = self._media_offer(call)
        else:
            body = session_description(next(self._session), direction)
        request = dialog.create_request("INVITE", via=self._via(), body=body, content_type=SDP)
        server = self._registrar or self._server_address()
        hop = self._next_hop(dialog, server)
        response = await self.endpoint.request(request, hop, transport=self.transport_name)
        dialog.receive_response(request, response)
        if 200 <= response.status < 300:
            if response.body:
                call.remote_sdp = response.body
                self._media_answered(call, response.body)
            ack = dialog.ack(request, via=self._via())
            self.endpoint.send_ack(ack, hop, transport=self.transport_name)
        else:
            call.local_sdp, call.wish = agreed, wished  # refused: the old agreement stands
        return response.status

    def _incoming_bye(self, server: ServerTransaction) -> None:
        call = self.calls.get(server.request.headers.call_id)
        if call is None or call.state is CallState.ENDED or call.dialog is None:
            server.reply(481)
            return
        if not call.dialog.receive_request(server.request):
            server.reply(500)  # out of order (§12.2.2)
            return
        server.reply(200)
        call.dialog.terminate()
        self._record(K.HANGUP, call, detail="remote")
        call.end()

    def _on_ack(self, ack: Request, remote: Address) -> None:
        """ACK for our 2xx: the endpoint stops retransmitting; an ACK answering the offer
        of our 2xx (late offer, RFC 3264 §4) starts the media."""
        call = self.calls.get(ack.headers.call_id)
        if call is not None and call.offer_pending and ack.body:
            call.offer_pending = False
            call.remote_sdp = ack.body
            self._media_answered(call, ack.body)

    # -- outgoing calls ------------------------------------------------------------------------

    async def call(self, number: str, *, give_up_after: float | None = None) -> Call:
        """Dial ``number`` (digits as typed); returns the call once the INVITE is sent.

        ``give_up_after``: simulated seconds after which the caller gives up (CANCEL) if the
        call is not answered by then — the model's ``caller_gives_up_after``."""
        if not _DIALLABLE(number):
            raise InputError(
                [
                    Problem(
                        where=f"{self.name} › 発信先番号",
                        rule="digits (0-9, *, #, +) or a SIP user name, without spaces",
                        value=repr(number),
                    )
                ],
                subject="call",
            )
        try:
            server = self._server_address()
        except ResolveError as exc:
            raise HarnessError(f"{self.name}: cannot place a call: {exc}") from exc
        call = Call(self, call_id=new_call_id("phone.invalid"), direction="outgoing", peer=number)
        self.calls[call.call_id] = call
        body = session_description(next(self._session))
        if self.media:
            await self._media_for(call)
            body = self._media_offer(call)
        request = Request.build(
            "INVITE",
            f"sip:{number}@{self.domain}",
            from_=f"<{self.aor}>;tag={call.local_tag}",
            to=f"<sip:{number}@{self.domain}>",
            call_id=call.call_id,
            cseq=1,
            via=self.endpoint.via(self.transport_name),
            contact=self.contact(),
            headers=self._extra_headers(),
            body=body,
            content_type=SDP,
        )
        self._record(K.DIAL, call, peer=number)
        self._spawn(self._run_invite(call, request, server))
        if give_up_after is not None:
            call.give_up_timer = self.clock.call_later(give_up_after, lambda: self._give_up(call))
        return call

    async def _run_invite(self, call: Call, request: Request, server: Address) -> None:
        for _ in range(AUTH_ROUNDS + 1):
            client = self.endpoint.send_request(request, server, transport=self.transport_name)
            call.invite = client
            client.on_provisional = lambda r: self._provisional(call, r)
            if call.cancel_requested:  # hung up before this INVITE went out
                client.cancel()
            response = await client.wait_final()
            authorised = None
            if not call.cancel_requested:
                authorised = self._authorise(request, response)
            if authorised is None:
                break
            request = authorised
        self._final(call, request, response, server)

    def _give_up(self, call: Call) -> None:
        if call.state in (CallState.DIALING, CallState.RINGING):
            self._spawn(self.hangup(call.call_id))

    def _provisional(self, call: Call, response: Response) -> None:
        if response.status > 100 and call.state is CallState.DIALING:
            call.state = CallState.RINGING
            self._record(K.RINGBACK, call, status=response.status)

    def _final(self, call: Call, request: Request, response: Response, server: Address) -> None:
        call.final_status = response.status
        if 200 <= response.status < 300:
            call.remote_sdp = response.body
            self._media_answered(call, response.body)
            dialog = call.dialog = Dialog.from_uac(request, response)
            ack = dialog.ack(request, via=self._via())
            self.endpoint.send_ack(
                ack, self._next_hop(dialog, server), transport=self.transport_name
            )
            call.state = CallState.CONNECTED
            self._record(K.CONNECTED, call, status=response.status)
            if call.cancel_requested:  # answered while our CANCEL crossed it: hang up
                self._spawn(self._bye(call, server))
            return
        if response.status in _BUSY:
            kind = K.BUSY
        elif response.status in _REFUSED:
            kind = K.REFUSED
        else:
            kind = K.RELEASE
        self._record(kind, call, status=response.status, detail=response.reason)
        call.end()

    def _via(self) -> Via:
        return Via.parse(self.endpoint.via(self.transport_name))

    def _next_hop(self, dialog: Dialog, fallback: Address) -> Address:
        """Where an in-dialog request goes: the first Route, else the remote target (§12.2)."""
        uri = dialog.route_set[0].uri if dialog.route_set else dialog.remote_target
        if not isinstance(uri, SipUri):
            return fallback
        try:
            port = f":{uri.port}" if uri.port else ""
            return self.resolver.resolve(f"{uri.host}{port}")
        except ResolveError:
            return fallback

    async def hangup(self, call_id: str | None = None) -> Call | None:
        """End a call: BYE when connected, CANCEL when dialling, 603 when ringing here.
        ``None`` picks the newest live call; returns it (None when there is none)."""
        live = [c for c in self.calls.values() if c.state is not CallState.ENDED]
        if call_id is not None:
            live = [c for c in live if c.call_id == call_id]
        if not live:
            return None
        call = live[-1]
        if call.state is CallState.CONNECTED:
            server = self._registrar or self._server_address()
            await self._bye(call, server)
        elif call.direction == "outgoing":
            # §9.1: CANCEL only once a provisional response came; until then the CANCEL is
            # sent when one comes (or the INVITE fails by itself). Wait only for a CANCEL sent.
            call.cancel_requested = True
            if call.invite is not None:
                call.invite.cancel()
                if call.invite.cancel_sent:
                    await call.ended.wait()
        else:
            assert call.invite_server is not None
            call.invite_server.reply(603, to_tag=call.local_tag)
            call.final_status = 603
            self._record(K.STOP, call, status=603, detail="declined")
            call.end()
        return call

    async def _bye(self, call: Call, server: Address) -> None:
        dialog = call.dialog
        if call.state is CallState.ENDED or dialog is None:
            return
        bye = dialog.create_request("BYE", via=self._via())
        dialog.terminate()
        self._record(K.HANGUP, call, detail="local")
        call.end()
        await self._request(bye, self._next_hop(dialog, server))

    def _find(self, call_id: str | None, state: CallState, direction: str) -> Call:
        """The oldest call in ``state`` (of ``direction`` unless empty; ``call_id`` if given)."""
        for call in self.calls.values():
            if call.state is state and direction in ("", call.direction):
                if call_id is None or call.call_id == call_id:
                    return call
        raise HarnessError(f"{self.name}: no {direction} call in state {state.value}")

    # -- life cycle ----------------------------------------------------------------------------

    async def close(self, *, unregister: bool = True) -> None:
        """Hang up, unregister (best effort, bounded) and close the socket."""
        if self._refresh is not None:
            self._refresh.cancel()
        for call in list(self.calls.values()):
            if call.answer_timer is not None:
                call.answer_timer.cancel()
        if unregister and self.state is RegistrationState.REGISTERED:
            with contextlib.suppress(TimeoutError, HarnessError, OSError):
                await asyncio.wait_for(self.unregister(), 2.0)
        binding = [c.media_ready for c in self.calls.values() if c.media_ready is not None]
        if binding:
            await asyncio.wait(binding)  # every socket bound is then closed below
        for media in list(self._media_sessions):
            await self._close_media(media)
        if self._voice_held:
            self._voice_held = False
            VOICES.remove(self.name)
        for task in list(self._tasks):
            task.cancel()
        await self.endpoint.close()


def _caller_id(invite: Request) -> str:
    headers = invite.headers
    from_ = headers.from_
    from_uri = from_.uri
    asserted: str | None = None
    try:
        identities = headers.p_asserted_identities
    except SipParseError:
        identities = ()
    for identity in identities:
        uri = identity.uri
        if isinstance(uri, SipUri) and uri.user_text:
            asserted = uri.user_text
            break
        text = str(uri)
        if text.startswith("tel:"):
            asserted = text[4:].split(";")[0]
            break
    return shown_caller_id(
        from_display=from_.display_name,
        from_user=from_uri.user_text if isinstance(from_uri, SipUri) else None,
        from_host=from_uri.host if isinstance(from_uri, SipUri) else "",
        asserted_user=asserted,
        privacy=headers.get("Privacy"),
    )


def _min_expires(response: Response) -> int | None:
    """A 423's Min-Expires (§20.23), when it is one and says a number."""
    value = response.headers.get("Min-Expires") if response.status == 423 else None
    return int(value) if value is not None and value.strip().isdigit() else None


def _granted_expires(response: Response, contact: str, asked: int) -> int:
    """The expiry the registrar granted our contact (§10.2.4): its Contact's ``expires``
    parameter, else the Expires header, else what we asked."""
    ours = NameAddr.parse(contact).uri
    for bound in response.headers.contacts:
        if isinstance(ours, SipUri) and isinstance(bound.uri, SipUri):
            same = bound.uri.host == ours.host and bound.uri.port == ours.port
            value = bound.params.get("expires")
            if same and value and value.isdigit():
                return int(value)
    header = response.headers.expires
    return header if header is not None else asked
