"""The PBX over real SIP on loopback: REGISTER with digest, calls through the B2BUA with
CANCEL of losing legs, 486, 480, caller CANCEL, BYE relay, caller ID in From / PAI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from harness.clock import ScaledClock
from harness.sim.pbx.config import PbxConfig
from harness.sim.pbx.registrar import StoredCredential
from harness.sim.pbx.sip_glue import PbxSetup, PbxSipService
from harness.sip.digest import answer_challenge
from harness.sip.endpoint import ClientTransaction, Endpoint, ServerTransaction
from harness.sip.message import Request, Response, new_call_id, new_tag
from harness.sip.transport import Address
from harness.sip.uri import NameAddr, SipUri
from tests.sim.pbx.fakes import tenant

DOMAIN = "01234abc.smart-pbx.jp"
PASSWORD = "Password1"
SCALE = 0.01  # 1 simulated second = 10 ms
TIMEOUT = 10.0


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for ``condition`` without a fixed sleep (poll the loop, bounded by TIMEOUT)."""
    while not condition():
        await asyncio.sleep(0.005)


@dataclass(eq=False)
class Phone:
    """A minimal SIP UA: registers, calls, and answers per its mode."""

    endpoint: Endpoint
    terminal_id: str
    server: Address
    mode: str = "ring"  # ring | answer | busy
    answer_after: float = 0.0  # real seconds
    incoming: list[ServerTransaction] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, terminal_id: str, server: Address, **kw: Any) -> Phone:
        endpoint = await Endpoint.open()
        phone = cls(endpoint=endpoint, terminal_id=terminal_id, server=server, **kw)
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

    def call(self, dialled: str) -> ClientTransaction:
        invite = Request.build(
            "INVITE",
            f"sip:{dialled}@{DOMAIN}",
            from_=self.aor().with_tag(new_tag()),
            to=NameAddr(uri=SipUri(user=dialled, host=DOMAIN)),
            call_id=new_call_id(),
            cseq=1,
            via=self.endpoint.via(),
            contact=NameAddr(uri=self.uri),
            body=f"v=0\r\no={self.terminal_id} 1 1 IN IP4 127.0.0.1\r\n".encode(),
            content_type="application/sdp",
        )
        return self.endpoint.send_request(invite, self.server)

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
        self.endpoint.send_ack(self._in_dialog("ACK", client, response, 1), self.server)

    async def hang_up(self, client: ClientTransaction, response: Response) -> Response:
        bye = self._in_dialog("BYE", client, response, 2)
        return await self.endpoint.request(bye, self.server)

    def on_request(self, server: ServerTransaction) -> None:
        method = server.request.method
        self.log.append(method)
        if method != "INVITE":
            server.reply(200)
            return
        self.incoming.append(server)
        tag = new_tag()
        if self.mode == "busy":
            server.reply(486, to_tag=tag)
            return
        server.reply(180, to_tag=tag)
        loop = asyncio.get_running_loop()

        async def cancelled() -> None:
            await server.cancelled.wait()
            self.log.append("CANCELLED")
            if server.final_status is None:
                server.reply(487, to_tag=tag)

        loop.create_task(cancelled())
        if self.mode == "answer":

            def answer() -> None:
                if server.final_status is None:
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

            loop.call_later(self.answer_after, answer)


async def with_pbx(
    settings: dict[str, Any] | None,
    body: Callable[[PbxSipService], Awaitable[None]],
) -> None:
    documents = tenant(settings)
    credentials = {
        t.terminal_id: StoredCredential.from_password(
            terminal_id=t.terminal_id, realm=DOMAIN, password=t.password
        )
        for t in documents.guide.terminals
    }
    service = await PbxSipService.open(
        PbxSetup(
            sip_domain=DOMAIN,
            config=PbxConfig.from_tenant(documents),
            credentials=credentials,
            clock=ScaledClock(SCALE),
        )
    )
    try:
        await body(service)
    finally:
        await service.close()


async def phones(service: PbxSipService, *specs: tuple[str, str]) -> list[Phone]:
    """Open and register phones given as (terminal number, mode)."""
    opened = []
    for number, mode in specs:
        phone = await Phone.open(f"abcde20{number}", service.address, mode=mode)
        assert (await phone.register()).status == 200
        opened.append(phone)
    return opened


async def close_all(*items: Phone) -> None:
    for phone in items:
        await phone.endpoint.close()


def test_register_over_sip_and_no_enumeration() -> None:
    async def body(service: PbxSipService) -> None:
        phone = await Phone.open("abcde20200", service.address)
        stranger = await Phone.open("zzzzz99999", service.address)
        try:
            ok = await phone.register()
            assert ok.status == 200
            (contact,) = ok.headers.contacts
            assert contact.uri == phone.uri and contact.params.get("expires") == "600"
            wrong = await phone.register(password="WrongPass1")
            unknown = await stranger.register()
            assert wrong.status == unknown.status == 401
            assert wrong.headers.names() == unknown.headers.names()
            assert service.registrar.is_registered("abcde20200", service.now())
            gone = await phone.register(expires=0)
            assert (gone.status, gone.headers.contacts) == (200, ())
            assert not service.registrar.is_registered("abcde20200", service.now())
        finally:
            await close_all(phone, stranger)

    run(with_pbx(None, body))


def test_call_connects_relays_caller_id_and_bye() -> None:
    async def body(service: PbxSipService) -> None:
        caller, callee = await phones(service, ("205", "ring"), ("201", "answer"))
        try:
            client = caller.call("201")  # bare 端末番号 within 拠点 20
            response = await client.wait_final()
            assert response.status == 200
            assert response.body == b"v=0\r\no=abcde20201-answer\r\n"
            caller.ack(client, response)
            (invite,) = callee.incoming
            assert invite.request.headers.from_.uri.user == "20205"  # type: ignore[union-attr]
            (pai,) = invite.request.headers.p_asserted_identities
            assert str(pai.uri) == f"sip:20205@{DOMAIN}"
            assert (await caller.hang_up(client, response)).status == 200
            await until(lambda: "BYE" in callee.log, "BYE relayed to the callee")
        finally:
            await close_all(caller, callee)

    run(with_pbx(None, body))


def test_no_answer_forwarding_cancels_the_first_leg() -> None:
    settings = {
        "不在時動作設定": {
            "20201": {
                "種別": "転送/留守番電話",
                "転送先電話番号": "20202",
                "転送動作": {"無応答": "転送"},
                "呼出時間": 5,
            }
        }
    }

    async def body(service: PbxSipService) -> None:
        caller, first, second = await phones(
            service, ("205", "ring"), ("201", "ring"), ("202", "answer")
        )
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            response = await caller.call("20201").wait_final()
            elapsed = (loop.time() - started) / SCALE
            assert response.status == 200
            assert response.body == b"v=0\r\no=abcde20202-answer\r\n"
            assert 5 <= elapsed < 5 + 300  # forwarded at 呼出時間 5 (simulated s), not before
            await until(lambda: "CANCELLED" in first.log, "CANCEL of the first leg")
            (forwarded,) = second.incoming
            assert forwarded.request.headers.from_.uri.user == "20205"  # type: ignore[union-attr]
        finally:
            await close_all(caller, first, second)

    run(with_pbx(settings, body))


def test_busy_and_unregistered_callees() -> None:
    async def body(service: PbxSipService) -> None:
        caller, busy = await phones(service, ("205", "ring"), ("201", "busy"))
        try:
            assert (await caller.call("20201").wait_final()).status == 486
            assert (await caller.call("20203").wait_final()).status == 480
            assert (await caller.call("99999").wait_final()).status == 404
        finally:
            await close_all(caller, busy)

    run(with_pbx(None, body))


def test_caller_cancel_cancels_the_leg() -> None:
    async def body(service: PbxSipService) -> None:
        caller, callee = await phones(service, ("205", "ring"), ("201", "ring"))
        try:
            client = caller.call("20201")
            await until(lambda: bool(callee.incoming), "the callee rings")
            cancel = Request.build(
                "CANCEL",
                client.request.uri,
                from_=client.request.headers.from_,
                to=client.request.headers.to,
                call_id=client.request.headers.call_id,
                cseq=1,
                via=client.request.headers.via,
            )
            assert (await caller.endpoint.request(cancel, service.address)).status == 200
            assert (await client.wait_final()).status == 487
            await until(lambda: "CANCELLED" in callee.log, "CANCEL relayed to the callee")
            assert service.pbx.calls == {}
        finally:
            await close_all(caller, callee)

    run(with_pbx(None, body))


def test_unregistered_caller_is_refused() -> None:
    async def body(service: PbxSipService) -> None:
        stranger = await Phone.open("abcde20205", service.address)
        try:
            assert (await stranger.call("20201").wait_final()).status == 403
        finally:
            await close_all(stranger)

    run(with_pbx(None, body))
