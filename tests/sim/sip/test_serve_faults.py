"""``serve --fault NAME`` end to end: the faults named on the command line of a real ``serve``
process reach each part that consults them — the call engine (over SIP, between virtual
phones and the carrier side), the registrar (a real digest REGISTER) and the web site (a
login over HTTP) — and the same checks without ``--fault`` see DOMAIN.md's behaviour."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sim.documents import read_tenant
from harness.sim.faults import (
    EXTERNAL_SHOWS_EXTENSION,
    MFA_NOT_ENFORCED,
    ONE_WAY_AUDIO,
    WRONG_PASSWORD_ACCEPTED,
)
from harness.sip.phone import RegistrationState
from tests.sim.sip.kit import FIXTURES, point_at, subscriber, tenant_phones

SAMPLE = FIXTURES / "sample"
FAULTS = (EXTERNAL_SHOWS_EXTENSION, WRONG_PASSWORD_ACCEPTED, MFA_NOT_ENFORCED, ONE_WAY_AUDIO)
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture(params=[False, True], ids=["no-fault", "with-faults"], scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SimulatorHandle, bool]]:
    faulty: bool = request.param
    extra = [arg for fault in FAULTS for arg in ("--fault", fault.name)] if faulty else []
    workdir = tmp_path_factory.mktemp("serve-faults")
    with start_simulator(SAMPLE, time_scale=0.1, extra_args=extra, workdir=workdir) as sim:
        yield sim, faulty


@pytest.fixture
def sim(served: tuple[SimulatorHandle, bool]) -> SimulatorHandle:
    served[0].reset()
    return served[0]


def test_the_call_engine_sees_the_fault(
    served: tuple[SimulatorHandle, bool], sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    outside = subscriber(phone_factory, sim, "09011112222")
    phones["20201"].call("09011112222")
    shown = outside.incoming()
    # 外線発信設定 of 20201 is 0312345678; the fault presents its 内線番号
    assert shown.peer == ("20201" if served[1] else "0312345678")
    shown.hangup()


def test_the_media_path_sees_the_fault(
    served: tuple[SimulatorHandle, bool], sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phone_factory.media = True
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    call = phones["20200"].call("20201")
    ring = phones["20201"].incoming()
    ring.answer()
    call.wait_for("connected")
    # The callee's audio reaches the caller either way.
    call.wait_media(lambda r: r.hears("20201"), "20200 hears 20201", timeout=5)
    if served[1]:  # the caller's RTP goes to a port nobody listens on: the callee hears nothing
        assert call.media_report().remote == "127.0.0.1:9"
        with pytest.raises(TimeoutError, match="20201 hears 20200"):
            ring.wait_media(lambda r: r.hears("20200"), "20201 hears 20200", timeout=1)
        assert ring.media_report().received.packets == 0
    else:
        ring.wait_media(lambda r: r.hears("20200"), "20201 hears 20200", timeout=5)
    call.hangup()


def test_the_registrar_sees_the_fault(
    served: tuple[SimulatorHandle, bool], sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    guide = read_tenant(SAMPLE).guide
    point_at(phone_factory, sim, guide)
    terminal = guide.terminals[0]
    phone = phone_factory.phone(
        terminal.extension,
        user_id=terminal.terminal_id,
        password=terminal.password + "x",
        sip_server=guide.customer.sip_domain,
    )
    phone.register()
    registered = phone.registration_state is RegistrationState.REGISTERED
    assert registered is served[1], phone.status_text


def test_the_web_site_sees_the_fault(
    served: tuple[SimulatorHandle, bool], sim: SimulatorHandle
) -> None:
    sim.set_mfa(True)
    user = read_tenant(SAMPLE).guide.terminal_users[0]
    with httpx.Client(base_url=sim.base_url) as browser:
        match = _CSRF.search(browser.get("/SmartPBX/Login").text)
        assert match is not None
        response = browser.post(
            "/SmartPBX/Login",
            data={
                "login_id": user.login_id,
                "password": user.password,
                "csrf_token": match.group(1),
            },
        )
    expected = "/SmartPBX/User/Top" if served[1] else "/SmartPBX/Mfa/Register"
    assert response.headers["location"] == expected


def test_ready_file_lists_what_is_on(served: tuple[SimulatorHandle, bool]) -> None:
    sim, faulty = served
    ready = json.loads((Path(sim.log).parent / "ready.json").read_text(encoding="utf-8"))
    assert ready["faults"] == ([fault.name for fault in FAULTS] if faulty else [])
