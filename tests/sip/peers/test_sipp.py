"""The SIPp driver against Kamailio and against SIPp itself: registrations with digest, calls
direct and through the proxy, exit statuses and statistics as result objects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import harness.sip.sipp as sipp_module
from harness.errors import HarnessError, InputError
from harness.sip.peers._net import BoundSocket, bound_addresses
from harness.sip.peers.kamailio import Kamailio
from harness.sip.sipp import Sipp, SippResult, SippUser, injection_csv, parse_stat_csv
from tests.sip.peers._squatter import first_port_taken

DOMAIN = "01234abc.smart-pbx.jp"
USERS = {"abcde20200": "Password1", "abcde20201": "Password2"}
KamailioFactory = Callable[..., Kamailio]
SippFactory = Callable[..., Sipp]


@pytest.fixture
def server(kamailio: KamailioFactory) -> Kamailio:
    return kamailio(sip_domain=DOMAIN, users=USERS)


def register(sipp: SippFactory, server: Kamailio, *users: SippUser, **options: object) -> Sipp:
    return sipp(
        "register",
        remote=(server.host, server.port),
        domain=DOMAIN,
        users=list(users),
        calls=len(users),
        **options,
    )


@pytest.mark.peers
def test_register_with_the_right_password_succeeds(sipp: SippFactory, server: Kamailio) -> None:
    runner = register(sipp, server, SippUser(user="abcde20200", password="Password1"))
    result = runner.run()

    assert result.exit_status == 0
    assert result.ok
    assert (result.successful_calls, result.failed_calls) == (1, 0)
    assert "auth failed" not in server.log_text()
    [contact] = server.contacts("abcde20200")
    assert contact.address == f"sip:abcde20200@127.0.0.1:{runner.port};transport=UDP"
    assert contact.user_agent == "SIPp smartpbx-harness"


@pytest.mark.peers
@pytest.mark.parametrize(
    "user",
    [
        SippUser(user="abcde20200", password="wrong"),
        SippUser(user="nobody", password="Password1"),
    ],
    ids=["パスワード誤り", "未登録の端末ID"],
)
def test_register_with_a_wrong_password_or_user_fails(
    sipp: SippFactory, server: Kamailio, user: SippUser
) -> None:
    result = register(sipp, server, user).run()

    assert result.exit_status == 1
    assert not result.ok
    assert (result.successful_calls, result.failed_calls) == (0, 1)
    # The second REGISTER got another 401 where SIPp expected 200.
    assert result.stats.failures == {"UnexpectedMessage": 1}
    assert "401 Unauthorized" in result.errors()
    assert server.contacts(user.user) == []


@pytest.mark.peers
def test_register_many_users_from_the_injection_file(sipp: SippFactory, server: Kamailio) -> None:
    users = [SippUser(user=u, password=p) for u, p in USERS.items()]
    users.append(SippUser(user="abcde20201", password="stale-password"))

    result = register(sipp, server, *users, rate=100).run()

    assert (result.successful_calls, result.failed_calls) == (2, 1)
    assert result.stats.total_calls == 3


@pytest.mark.peers
def test_register_over_tcp(sipp: SippFactory, server: Kamailio) -> None:
    runner = register(
        sipp, server, SippUser(user="abcde20201", password="Password2"), transport="tcp"
    )
    assert runner.run().ok


@pytest.mark.peers
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_uac_calls_uas_directly(sipp: SippFactory, transport: str) -> None:
    with sipp("uas", transport=transport) as uas:
        result = sipp("uac", remote=uas.address, service="uas", calls=1, transport=transport).run()
    served = uas.stop()

    assert result.ok and result.successful_calls == 1
    assert served is not None and served.ok and served.successful_calls == 1


@pytest.mark.peers
def test_uac_calls_a_registered_uas_through_kamailio(sipp: SippFactory, server: Kamailio) -> None:
    with sipp("uas") as uas:
        registered = register(
            sipp,
            server,
            SippUser(user="abcde20201", password="Password2"),
            contact=f"{uas.host}:{uas.port}",
        ).run()
        result = sipp(
            "uac", remote=(server.host, server.port), domain=DOMAIN, service="abcde20201", calls=1
        ).run()
    served = uas.stop()

    assert registered.ok
    assert result.ok and result.successful_calls == 1
    assert served is not None and served.successful_calls == 1


@pytest.mark.peers
def test_local_user_must_authenticate_its_invite(sipp: SippFactory, server: Kamailio) -> None:
    """From a user of the domain, Kamailio answers 407; uac_auth answers with credentials."""
    with sipp("uas") as uas:
        register(
            sipp,
            server,
            SippUser(user="abcde20201", password="Password2"),
            contact=f"{uas.host}:{uas.port}",
        ).run()

        def call_as_local_user(password: str) -> SippResult:
            return sipp(
                "uac_auth",
                remote=(server.host, server.port),
                domain=DOMAIN,
                service="abcde20201",
                users=[SippUser(user="abcde20200", password=password)],
                calls=1,
            ).run()

        right = call_as_local_user("Password1")
        wrong = call_as_local_user("bad")
    served = uas.stop()

    assert right.ok
    assert (wrong.successful_calls, wrong.failed_calls) == (0, 1)
    # uac_auth ends a call refused by a second 407 as failed at once (label "refused").
    assert wrong.stats.failures == {"TimeoutOnRecv": 1}
    assert "auth failed for user 'abcde20200'" in server.log_text()
    assert served is not None and served.successful_calls == 1


@pytest.mark.peers
def test_call_to_an_unregistered_user_fails_with_404(sipp: SippFactory, server: Kamailio) -> None:
    result = sipp(
        "uac", remote=(server.host, server.port), domain=DOMAIN, service="abcde20200", calls=1
    ).run()

    assert (result.exit_status, result.failed_calls) == (1, 1)
    assert "404 Not Found" in result.errors()


@pytest.mark.peers
def test_uas_rings_before_answering(sipp: SippFactory) -> None:
    with sipp("uas", duration_ms=300) as uas:
        result = sipp("uac", remote=uas.address, service="uas", calls=1).run()

    assert result.ok
    # Response time 1 runs from the INVITE to the 200: at least the ring time.
    assert result.stats.response_time_1_ms is not None
    assert result.stats.response_time_1_ms >= 300


@pytest.mark.peers
def test_everything_sipp_binds_is_on_loopback(sipp: SippFactory) -> None:
    with sipp("uas") as uas:
        pid = uas.pid
        assert pid is not None
        bound = bound_addresses(pid)

    assert BoundSocket(protocol="udp", host="127.0.0.1", port=uas.port) in bound
    assert {socket.host for socket in bound} == {"127.0.0.1"}


# --------------------------------------------------------------------------------------------
# Results and errors without a peer

RECORDED = Path(__file__).parents[1] / "data" / "sipp_register_stats.csv"


def test_recorded_statistics_parse_into_the_result_object() -> None:
    """A stats file SIPp 3.6.1 wrote for 3 REGISTERs, one with a wrong password."""
    stats = parse_stat_csv(RECORDED.read_text(encoding="utf-8"))

    assert stats.total_calls == 3
    assert (stats.successful_calls, stats.failed_calls, stats.current_calls) == (2, 1, 0)
    assert stats.failures == {"UnexpectedMessage": 1}
    assert stats.retransmissions == 0
    assert stats.call_rate == pytest.approx(46.1538)
    assert stats.elapsed_s == pytest.approx(1795630422.904667 - 1795630422.838953, abs=1e-4)
    assert stats.response_time_1_ms == 0.0
    assert stats.response_time_2_ms is None
    assert stats.successful_per_second == pytest.approx(2 / stats.elapsed_s)


def test_statistics_without_data_line_are_a_harness_error() -> None:
    header = RECORDED.read_text(encoding="utf-8").splitlines()[0]
    with pytest.raises(HarnessError, match="no data line"):
        parse_stat_csv(header + "\n")


def test_missing_binary_names_the_package(tmp_path: Path) -> None:
    runner = Sipp("uas", workdir=tmp_path, binary="/nonexistent/sipp")
    with pytest.raises(HarnessError, match="apt-get install sip-tester"):
        runner.start()


@pytest.mark.peers
def test_bad_scenario_reports_what_sipp_said(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<scenario><send><![CDATA[ nothing closed", encoding="utf-8")
    runner = Sipp(broken, remote=("127.0.0.1", 9), workdir=tmp_path, calls=1)

    with pytest.raises(
        HarnessError,
        match=r"(?s)SIPp broken did not run: exit 1.*SIPp said:\n.*Unable to load or parse",
    ):
        runner.run()
    assert not runner.running()


def test_unknown_scenario_and_bad_user_fields_are_refused() -> None:
    with pytest.raises(InputError, match="one of register, uac, uac_auth, uas"):
        Sipp("invite", remote=("127.0.0.1", 9))
    with pytest.raises(InputError, match=r"row 1 › password"):
        injection_csv([SippUser(user="abcde20200", password="has space")])
    with pytest.raises(InputError, match="needs at least one user"):
        Sipp("register", remote=("127.0.0.1", 9))


@pytest.mark.peers
def test_uas_restarts_when_its_port_was_taken_meanwhile(
    sipp: SippFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with first_port_taken(monkeypatch, sipp_module, "free_port") as taken:
        uas = sipp("uas")
        assert uas.port == taken

        uas.start()

    assert uas.port != taken
    result = sipp("uac", remote=uas.address, service="uas", calls=1).run()
    assert result.ok
