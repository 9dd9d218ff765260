"""Issue 9 item 2: the tools people use register against a ``serve`` started with no digest
flag, and a REGISTER refused for a reason a person can fix says why on the serve log.

SIPp 3.6 answers only the first challenge and aborts unless it is MD5; Debian's baresip 1.0
gives up on any non-MD5 challenge, even beside an MD5 one (both checked by hand with two
challenges in either order): the default offers MD5 alone. SHA-256 stays a flag away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sim.documents import read_tenant
from harness.sip.phone import RegistrationState
from harness.sip.sipp import Sipp, SippUser
from tests.sim.sip.kit import FIXTURES, eventually, point_at, rows

SAMPLE = FIXTURES / "sample"
GUIDE = read_tenant(SAMPLE).guide
DOMAIN = GUIDE.customer.sip_domain
SippFactory = Callable[..., Sipp]


def log_after(sim: SimulatorHandle, offset: int) -> str:
    return sim.log.read_text(encoding="utf-8", errors="replace")[offset:]


@pytest.mark.peers
def test_sipp_registers_against_a_serve_started_with_no_digest_flag(
    sipp: SippFactory, sim: SimulatorHandle
) -> None:
    assert sim.sip_port is not None
    terminal = GUIDE.terminals[0]
    runner = sipp(
        "register",
        remote=("127.0.0.1", sim.sip_port),
        domain=DOMAIN,
        users=[SippUser(user=terminal.terminal_id, password=terminal.password)],
        calls=1,
    )
    result = runner.run()
    assert (result.exit_status, result.successful_calls, result.failed_calls) == (0, 1, 0)
    listed = eventually(lambda: rows(sim, "/api/registrations"), "SIPp's registration listed")
    assert [r["terminal_id"] for r in listed] == [terminal.terminal_id]


@pytest.mark.parametrize(
    ("user_id", "password", "said"),
    [
        ("abcde20200", "NotThePassword9", "wrong password"),
        ("zzzzz99999", "NotThePassword9", "is no 端末ID of this tenant"),
    ],
)
def test_a_refused_register_says_why_on_the_serve_log_without_the_password(
    phone_factory: PhoneFactory, sim: SimulatorHandle, user_id: str, password: str, said: str
) -> None:
    point_at(phone_factory, sim, GUIDE)
    offset = len(sim.log.read_text(encoding="utf-8", errors="replace"))
    phone = phone_factory.phone("refused", user_id=user_id, password=password, sip_server=DOMAIN)
    phone.register()
    assert phone.registration_state is not RegistrationState.REGISTERED
    line = eventually(
        lambda: next((ln for ln in log_after(sim, offset).splitlines() if said in ln), None),
        f"a log line saying {said!r}",
    )
    assert line.startswith(f"SIP REGISTER for 端末ID '{user_id}' from 127.0.0.1:"), line
    assert password not in log_after(sim, offset)


@pytest.fixture(scope="module")
def sha256_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    with start_simulator(
        SAMPLE,
        extra_args=("--digest-algorithms", "SHA-256"),
        workdir=Path(tmp_path_factory.mktemp("sha256sim")),
    ) as handle:
        yield handle


def test_sha256_stays_available_and_its_serve_warns_about_md5_clients(
    phone_factory: PhoneFactory, sha256_sim: SimulatorHandle
) -> None:
    point_at(phone_factory, sha256_sim, GUIDE)
    phone = phone_factory.for_terminal(GUIDE, GUIDE.terminals[0])
    phone.register()
    assert phone.registration_state is RegistrationState.REGISTERED, phone.status_text
    log = sha256_sim.log.read_text(encoding="utf-8", errors="replace")
    assert "SIP digest offers SHA-256 without MD5: SIPp 3.6 and Debian's baresip 1.0" in log
