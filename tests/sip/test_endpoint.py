"""The endpoint on loopback: transactions matched and driven with real timers, retransmission
recovery, CANCEL without INVITE, 2xx retransmitted until ACK, garbage dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from harness.sip.endpoint import Endpoint, ServerTransaction
from harness.sip.message import Request, new_call_id
from harness.sip.transport import Faults, Impairment, Inbound, TapRecord, UdpTransport


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 20))


def options(client: Endpoint, to: str, transport: str = "UDP", method: str = "OPTIONS") -> Request:
    return Request.build(
        method,
        f"sip:x@{to}",
        from_="<sip:a@example.invalid>;tag=1",
        to="<sip:x@example.invalid>",
        call_id=new_call_id(),
        cseq=1,
        via=client.via(transport),  # type: ignore[arg-type]
        contact=f"<sip:a@{client.transport(transport).local}>",  # type: ignore[arg-type]
    )


def answer_200(server: ServerTransaction) -> None:
    server.reply(200, to_tag="srv")


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_request_gets_the_final_response_through_the_transaction(transport: str) -> None:
    async def scenario() -> None:
        tcp = transport == "TCP"
        server = await Endpoint.open(on_request=answer_200, udp=not tcp, tcp=tcp)
        client = await Endpoint.open(udp=not tcp, tcp=tcp)
        try:
            to = server.transport(transport).local  # type: ignore[arg-type]
            response = await client.request(
                options(client, str(to), transport),
                to,
                transport=transport,  # type: ignore[arg-type]
            )
            assert response.status == 200
            assert response.headers.to.tag == "srv"
        finally:
            await client.close()
            await server.close()

    run(scenario())


def first_dropping_seed() -> int:
    """A seed whose first outbound decision at 50 % loss drops the datagram."""
    return next(
        s
        for s in range(100)
        if Faults(outbound=Impairment(loss=0.5), seed=s).decide("sent") is None
    )


def test_a_lost_request_is_retransmitted_by_timer_e() -> None:
    async def scenario() -> None:
        sent: list[TapRecord] = []
        server = await Endpoint.open(on_request=answer_200)
        faults = Faults(outbound=Impairment(loss=0.5), seed=first_dropping_seed())
        client = await Endpoint.open(faults=faults, taps=[sent.append])
        try:
            to = server.transport().local
            response = await client.request(options(client, str(to)), to)
            assert response.status == 200
            requests = [r for r in sent if r.direction == "sent"]
            assert requests[0].dropped and not requests[-1].dropped
            assert requests[-1].wall_time - requests[0].wall_time >= 0.45  # Timer E = T1
        finally:
            await client.close()
            await server.close()

    run(scenario())


def test_cancel_without_its_invite_gets_481() -> None:
    async def scenario() -> None:
        server = await Endpoint.open(on_request=answer_200)
        client = await Endpoint.open()
        try:
            to = server.transport().local
            response = await client.request(options(client, str(to), method="CANCEL"), to)
            assert response.status == 481
        finally:
            await client.close()
            await server.close()

    run(scenario())


def test_2xx_to_invite_is_retransmitted_until_the_ack() -> None:
    """§13.3.1.4: a raw UDP socket sends an INVITE and never ACKs; the 200 comes again."""

    async def scenario() -> None:
        server = await Endpoint.open(on_request=answer_200)
        got: list[bytes] = []
        twice = asyncio.Event()

        def collect(inbound: Inbound) -> None:
            if inbound.data.startswith(b"SIP/2.0 200"):
                got.append(inbound.data)
                if len(got) >= 2:
                    twice.set()

        raw = await UdpTransport.open(on_receive=collect)
        try:
            to = server.transport().local
            via = f"SIP/2.0/UDP {raw.local};branch=z9hG4bKraw1"
            invite = Request.build(
                "INVITE",
                f"sip:x@{to}",
                from_="<sip:a@example.invalid>;tag=1",
                to="<sip:x@example.invalid>",
                call_id="raw-invite",
                cseq=1,
                via=via,
                contact=f"<sip:a@{raw.local}>",
            )
            raw.send(bytes(invite), to)
            await asyncio.wait_for(twice.wait(), 5)
            assert got[0] == got[1]
            assert server.awaiting_ack(invite)
        finally:
            await raw.close()
            await server.close()

    run(scenario())


def test_unparseable_datagrams_are_dropped_and_counted() -> None:
    async def scenario() -> None:
        calls: list[ServerTransaction] = []
        server = await Endpoint.open(on_request=calls.append)
        raw = await UdpTransport.open(on_receive=lambda _: None)
        client = await Endpoint.open()
        try:
            to = server.transport().local
            raw.send(b"\x00\x01 not sip", to)
            # a valid request afterwards proves the endpoint still serves
            server.on_request = answer_200
            assert (await client.request(options(client, str(to)), to)).status == 200
            assert server.parse_errors == 1
            assert calls == []
        finally:
            for closable in (raw, client, server):
                await closable.close()

    run(scenario())


def test_udp_and_tcp_share_one_port_number() -> None:
    async def scenario() -> None:
        endpoint = await Endpoint.open(udp=True, tcp=True)
        try:
            assert endpoint.transport("UDP").local == endpoint.transport("TCP").local
        finally:
            await endpoint.close()

    run(scenario())


def test_cancel_waits_for_a_provisional_then_the_invite_ends_487() -> None:
    """§9.1: no CANCEL before a provisional response; the UAS answers 487 to the INVITE."""

    async def scenario() -> None:
        ringing: list[ServerTransaction] = []

        def ring_then_wait(server: ServerTransaction) -> None:
            ringing.append(server)

            async def on_cancel() -> None:
                await server.cancelled.wait()
                server.reply(487, to_tag="uas")

            asyncio.get_running_loop().create_task(on_cancel())

        server = await Endpoint.open(on_request=ring_then_wait)
        sent: list[TapRecord] = []
        client = await Endpoint.open(taps=[sent.append])
        try:
            to = server.transport().local
            invite = client.send_request(options(client, str(to), method="INVITE"), to)
            invite.cancel()  # nothing received yet: held back
            assert [r for r in sent if b"CANCEL" in r.data.split(b"\r\n", 1)[0]] == []
            final = await invite.wait_final()  # the 100 Trying released the CANCEL
            assert final.status == 487
            assert invite.cancel_sent
            assert ringing[0].cancelled.is_set()
        finally:
            await client.close()
            await server.close()

    run(scenario())
