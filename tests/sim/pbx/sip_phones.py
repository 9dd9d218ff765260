"""Loopback SIP test kit for the PBX glue: minimal phones (UAs) that register, call, answer
per their mode and log what they saw in simulated seconds, and a PBX service factory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from harness.clock import Clock, ManualClock, ScaledClock
from harness.sim.pbx.config import PbxConfig
from harness.sim.pbx.registrar import StoredCredential
from harness.sim.pbx.sip_glue import Contact, PbxSetup, PbxSipService
from harness.sip.digest import answer_challenge
from harness.sip.endpoint import ClientTransaction, Endpoint, ServerTransaction
from harness.sip.message import Request, Response, new_call_id, new_tag
from harness.sip.transport import Address, TapRecord
from harness.sip.uri import NameAddr, SipUri
from tests.sim.pbx.fakes import tenant

DOMAIN = "01234abc.smart-pbx.jp"
PASSWORD = "Password1"
SCALE = 0.1  # ScaledClock tests: 1 simulated second = 100 ms
TIMEOUT = 10.0


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for ``condition`` without a fixed sleep (poll the loop, bounded by TIMEOUT)."""
    while not condition():
        await asyncio.sleep(0.005)


class Wire:
    """A tap on every endpoint of a test: datagrams sent vs received. Equal = nothing in
    flight, which is how a test driving a ManualClock knows the SIP side has settled."""

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0

    def __call__(self, record: TapRecord) -> None:
        if record.direction == "sent":
            self.sent += 1
        else:
            self.received += 1

    async def settled(self) -> None:
        """Nothing in flight and every handler that was woken has run."""
        while True:
            for _ in range(10):
                await asyncio.sleep(0)
            if self.sent == self.received:
                return
            await asyncio.sleep(0.001)


@dataclass(eq=False)
class Lab:
    """One test's PBX service, its clock and the wire tap of all its endpoints."""

    service: PbxSipService
    clock: Clock
    wire: Wire

    async def advance_to(self, t: float, recorder: Recorder) -> None:
        """ManualClock only: move simulated time to ``t`` (since ``recorder.start``) second
        by second, letting SIP settle before and after each step."""
        assert isinstance(self.clock, ManualClock)
        while self.clock.now() - recorder.t0 < t:
            await self.wire.settled()
            self.clock.advance(1)
        await self.wire.settled()


@dataclass(eq=False)
class Recorder:
    """What the phones saw, as (simulated seconds since ``start``, "<who> <what>")."""

    clock: Clock
    t0: float = 0.0
    entries: list[tuple[float, str]] = field(default_factory=list)

    def start(self) -> None:
        self.t0 = self.clock.now()

    def note(self, what: str) -> None:
        self.entries.append((self.clock.now() - self.t0, what))

    def times(self) -> dict[str, float]:
        """Each observation's time; an observation seen twice would be a bug, so it fails."""
        labels = [what for _, what in self.entries]
        assert len(set(labels)) == len(labels), f"an observation repeated: {self.entries}"
        return {what: at for at, what in self.entries}


@dataclass(eq=False)
class Phone:
    """A minimal SIP UA: registers, calls, and answers per its mode."""

    endpoint: Endpoint
    terminal_id: str
    server: Address
    clock: Clock
    mode: str = "ring"  # ring | answer | busy
    answer_after: float = 0.0  # simulated seconds, on ``clock``
    incoming: list[ServerTransaction] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)  # every other request received
    log: list[str] = field(default_factory=list)
    recorder: Recorder | None = None
    name: str = ""  # label in the recorder (default: the 端末ID or external number)

    def note(self, what: str) -> None:
        self.log.append(what)
        if self.recorder is not None:
            self.recorder.note(f"{self.name or self.terminal_id} {what}")

    @classmethod
    async def open(cls, lab: Lab, terminal_id: str, **kw: Any) -> Phone:
        endpoint = await Endpoint.open(taps=[lab.wire])
        phone = cls(
            endpoint=endpoint,
            terminal_id=terminal_id,
            server=lab.service.address,
            clock=lab.clock,
            **kw,
        )
        endpoint.on_request = phone.on_request
        return phone

    @property
    def uri(self) -> SipUri:
        local = self.endpoint.transport().local
        return SipUri(user=self.terminal_id, host=local.host, port=local.port)

    def aor(self) -> NameAddr:
        return NameAddr(uri=SipUri(user=self.terminal_id, host=DOMAIN))

    async def register(self, password: str = PASSWORD, expires: int = 600) -> Response:
        call_id = new_call_id()
        tag = new_tag()

        def build(cseq: int, auth: tuple[tuple[str, str], ...] = ()) -> Request:
            return Request.build(
                "REGISTER",
                f"sip:{DOMAIN}",
                from_=self.aor().with_tag(tag),
                to=self.aor(),
                call_id=call_id,
                cseq=cseq,
                via=self.endpoint.via(),
                contact=NameAddr(uri=self.uri),
                headers=(("Expires", str(expires)), *auth),
            )

        first = await self.endpoint.request(build(1), self.server)
        if first.status != 401:
            return first
        challenge = first.headers.get_all("WWW-Authenticate")[0]
        authorization = answer_challenge(
            challenge,
            method="REGISTER",
            uri=f"sip:{DOMAIN}",
            username=self.terminal_id,
            password=password,
        )
        return await self.endpoint.request(
            build(2, (("Authorization", authorization),)), self.server
        )

    async def call(
        self, dialled: str, *, password: str = PASSWORD, authenticate: bool = True
    ) -> ClientTransaction:
        """Send an INVITE; a terminal answers the PBX's 407 challenge (RFC 3261 §22.3) and
        returns the authenticated INVITE's transaction. ``authenticate=False``: a caller from
        outside, whose first INVITE is the call."""
        tag, call_id = new_tag(), new_call_id()

        def invite(cseq: int, auth: tuple[tuple[str, str], ...] = ()) -> Request:
            return Request.build(
                "INVITE",
                f"sip:{dialled}@{DOMAIN}",
                from_=self.aor().with_tag(tag),
                to=NameAddr(uri=SipUri(user=dialled, host=DOMAIN)),
                call_id=call_id,
                cseq=cseq,
                via=self.endpoint.via(),
                contact=NameAddr(uri=self.uri),
                headers=auth,
                body=f"v=0\r\no={self.terminal_id} 1 1 IN IP4 127.0.0.1\r\n".encode(),
                content_type="application/sdp",
            )

        first = self.endpoint.send_request(invite(1), self.server)
        if not authenticate:
            return first
        challenge = await first.wait_final()
        if challenge.status != 407:
            return first
        authorization = answer_challenge(
            challenge.headers.get_all("Proxy-Authenticate")[0],
            method="INVITE",
            uri=f"sip:{dialled}@{DOMAIN}",
            username=self.terminal_id,
            password=password,
        )
        return self.endpoint.send_request(
            invite(2, (("Proxy-Authorization", authorization),)), self.server
        )

    async def dial(self, dialled: str, **kw: Any) -> Response:
        """``call`` and wait for the final response."""
        return await (await self.call(dialled, **kw)).wait_final()

    def _in_dialog(
        self, method: str, client: ClientTransaction, response: Response, cseq: int
    ) -> Request:
        contact = response.headers.contact
        assert contact is not None
        return Request.build(
            method,
            contact.uri,
            from_=client.request.headers.from_,
            to=response.headers.to,
            call_id=client.request.headers.call_id,
            cseq=cseq,
            via=self.endpoint.via(),
        )

    def ack(self, client: ClientTransaction, response: Response) -> None:
        cseq = client.request.headers.cseq.number
        self.endpoint.send_ack(self._in_dialog("ACK", client, response, cseq), self.server)

    async def in_dialog(
        self,
        method: str,
        client: ClientTransaction,
        response: Response,
        cseq: int,
        *,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """Send ``method`` inside the dialog ``client`` / ``response`` created (as its UAC)."""
        request = self._in_dialog(method, client, response, cseq)
        if body:
            request = request.with_body(body, content_type)
        return await self.endpoint.request(request, self.server)

    async def hang_up(self, client: ClientTransaction, response: Response) -> Response:
        bye = self._in_dialog("BYE", client, response, client.request.headers.cseq.number + 1)
        return await self.endpoint.request(bye, self.server)

    def on_request(self, server: ServerTransaction) -> None:
        method = server.request.method
        if method != "INVITE":
            self.note(method.lower())
            self.requests.append(server.request)
            server.reply(200)
            return
        self.note("ring")
        self.incoming.append(server)
        tag = new_tag()
        if self.mode == "busy":
            server.reply(486, to_tag=tag)
            return
        server.reply(180, to_tag=tag)
        loop = asyncio.get_running_loop()

        async def cancelled() -> None:
            await server.cancelled.wait()
            self.note("cancel")
            if server.final_status is None:
                server.reply(487, to_tag=tag)

        loop.create_task(cancelled())
        if self.mode == "answer":

            def answer() -> None:
                if server.final_status is None:
                    self.note("answer")
                    server.respond(
                        Response.for_request(
                            server.request,
                            200,
                            to_tag=tag,
                            contact=NameAddr(uri=self.uri),
                            body=f"v=0\r\no={self.terminal_id}-answer\r\n".encode(),
                            content_type="application/sdp",
                        )
                    )

            self.clock.call_later(self.answer_after, answer)


async def with_pbx(
    settings: dict[str, Any] | None,
    body: Callable[[Lab], Awaitable[None]],
    *,
    clock: Clock | None = None,
) -> None:
    """Run ``body`` against a PBX service for the test tenant (ScaledClock by default)."""
    documents = tenant(settings)
    credentials = {
        t.terminal_id: StoredCredential.from_password(
            terminal_id=t.terminal_id, realm=DOMAIN, password=t.password
        )
        for t in documents.guide.terminals
    }
    clock = clock or ScaledClock(SCALE)
    service = await PbxSipService.open(
        PbxSetup(
            sip_domain=DOMAIN,
            config=PbxConfig.from_tenant(documents),
            credentials=credentials,
            clock=clock,
        )
    )
    wire = Wire()
    service.endpoint.add_tap(wire)
    try:
        await body(Lab(service=service, clock=clock, wire=wire))
    finally:
        await service.close()


async def phones(
    lab: Lab, *specs: tuple[str, str], recorder: Recorder | None = None
) -> list[Phone]:
    """Open and register phones of 拠点 20 given as (terminal number, mode)."""
    opened = []
    for number, mode in specs:
        phone = await Phone.open(
            lab, f"abcde20{number}", mode=mode, recorder=recorder, name=f"20{number}"
        )
        assert (await phone.register()).status == 200
        opened.append(phone)
    return opened


async def pstn_phones(lab: Lab, *specs: tuple[str, str, float], recorder: Recorder) -> list[Phone]:
    """External subscribers given as (number, mode, answer delay in simulated seconds); the
    service's PSTN resolver routes those numbers to them."""
    opened = [
        await Phone.open(lab, number, mode=mode, answer_after=delay, recorder=recorder, name=number)
        for number, mode, delay in specs
    ]
    book = {phone.terminal_id: Contact.of(phone.uri) for phone in opened}
    lab.service.pstn = book.get
    return opened


async def close_all(*items: Phone) -> None:
    for phone in items:
        await phone.endpoint.close()
