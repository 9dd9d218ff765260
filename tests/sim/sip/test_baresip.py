"""baresip, a real softphone, against the simulator subprocess: it registers with the
ご利用内容's 端末ID/パスワード at the 内線サーバアドレス, calls a virtual phone and is called by
one.

baresip 1.0 (Debian's) gives up ("Function not implemented") on any non-MD5 challenge, even
beside an MD5 one: the session's simulator is a ``serve`` with its default digest settings
(MD5 alone), which is what lets baresip register out of the box (issue 9 item 2).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sim.documents import read_tenant
from harness.sip.observed import PhoneEventKind
from harness.sip.peers.baresip import (
    CALL_CLOSED,
    CALL_ESTABLISHED,
    CALL_INCOMING,
    Baresip,
)
from tests.sim.sip.kit import FIXTURES, eventually, point_at, rows

SAMPLE = FIXTURES / "sample"
GUIDE = read_tenant(SAMPLE).guide
DOMAIN = GUIDE.customer.sip_domain
BaresipFactory = Callable[..., Baresip]


def softphone(baresip: BaresipFactory, sim: SimulatorHandle, password: str = "Password") -> Baresip:
    assert sim.sip_port is not None
    return baresip(
        user="abcde20200", domain=DOMAIN, password=password, registrar=("127.0.0.1", sim.sip_port)
    )


@pytest.mark.peers
def test_baresip_registers_with_the_documents_credentials(
    baresip: BaresipFactory, sim: SimulatorHandle
) -> None:
    assert not softphone(baresip, sim, password="wrong-one").wait_registered()
    phone = softphone(baresip, sim)
    assert phone.wait_registered()
    listed = eventually(lambda: rows(sim, "/api/registrations"), "baresip listed")
    assert [(r["terminal_id"], r["extension"]) for r in listed] == [("abcde20200", "20200")]


@pytest.mark.peers
def test_baresip_calls_a_virtual_phone_and_is_called_by_one(
    baresip: BaresipFactory, sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    bare = softphone(baresip, sim)
    assert bare.wait_registered()
    point_at(phone_factory, sim, GUIDE)
    virtual = phone_factory.for_terminal(GUIDE, GUIDE.terminals[1])  # 20201
    virtual.never_answer()
    virtual.register()

    bare.dial(f"sip:20201@{DOMAIN}")  # through the simulator (outbound proxy), digest on 407
    ring = virtual.incoming()
    assert ring.peer == "20200"
    ring.answer()
    bare.wait_event(CALL_ESTABLISHED)
    bare.hangup()
    ring.wait_ended()
    bare.wait_event(CALL_CLOSED)

    call = virtual.call("20200")  # the 一斉着信 pilot: its member 20200 (baresip) rings
    incoming = bare.wait_event(CALL_INCOMING)
    assert "20201" in incoming.peer_uri
    bare.accept()
    call.wait_for(PhoneEventKind.CONNECTED)
    call.hangup()
    bare.wait_event(CALL_CLOSED)
