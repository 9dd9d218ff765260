"""The Kamailio driver: starts on loopback only, answers OPTIONS, stores HA1 only, stops for sure.

Registration and calls through Kamailio are tested with SIPp and baresip (test_sipp.py,
test_baresip.py), which are peers nobody here wrote.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import HarnessError, InputError
from harness.sip.peers._net import wait_for_options
from harness.sip.peers.kamailio import Kamailio, digest_ha1
from tests.sip.peers._sockets import bound_addresses

pytestmark = pytest.mark.peers

DOMAIN = "01234abc.smart-pbx.jp"


def test_answers_options_and_listens_on_loopback_only(
    kamailio: Callable[..., Kamailio],
) -> None:
    server = kamailio(sip_domain=DOMAIN, users={"abcde20200": "Password"})

    status = wait_for_options(host=server.host, port=server.port, timeout=2, alive=server.running)

    assert status == 200
    listening = re.findall(r"(udp|tcp|tls|sctp): (\S+) \[(\S+)\]:(\d+)", server.log_text())
    assert sorted(listening) == [
        ("tcp", "127.0.0.1", "127.0.0.1", str(server.port)),
        ("udp", "127.0.0.1", "127.0.0.1", str(server.port)),
    ]
    assert server.pid is not None
    assert bound_addresses(server.pid) == {
        ("udp", "127.0.0.1", server.port),
        ("tcp", "127.0.0.1", server.port),
    }


def test_users_database_holds_ha1_never_the_password(kamailio: Callable[..., Kamailio]) -> None:
    server = kamailio(sip_domain=DOMAIN, users={"abcde20200": "Password"})
    assert server.workdir is not None

    table = (server.workdir / "db" / "users").read_text(encoding="utf-8")

    assert "Password" not in table
    ha1 = digest_ha1(user="abcde20200", realm=DOMAIN, password="Password")
    assert f":abcde20200:0:0:{ha1}:0" in table


def test_sha256_ha1_follows_rfc_8760() -> None:
    # RFC 7616 §3.9.1 example: Mufasa / http-auth@example.org / Circle of Life.
    ha1 = digest_ha1(
        user="Mufasa", realm="http-auth@example.org", password="Circle of Life", algorithm="SHA-256"
    )
    assert ha1 == "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"


def test_stop_reaps_every_kamailio_process(tmp_path: Path) -> None:
    server = Kamailio(workdir=tmp_path).start()
    pid = server.pid
    assert pid is not None

    server.stop()
    server.stop()  # idempotent

    assert not server.running()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # no worker of the group survived


def test_missing_binary_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"apt-get install kamailio"):
        Kamailio(workdir=tmp_path, binary="/nonexistent/kamailio").start()


def test_config_failure_reports_the_log_tail(tmp_path: Path) -> None:
    server = Kamailio(workdir=tmp_path, algorithm="SHA-1")  # type: ignore[arg-type]

    with pytest.raises(HarnessError, match=r"(?s)exited with status 255.*Invalid algorithm"):
        server.start()
    assert not server.running()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"users": {"bad:user": "x"}}, "'bad:user'"),
        ({"sip_domain": 'evil" domain'}, "sip_domain"),
    ],
    ids=["端末IDにコロン", "ドメインに空白"],
)
def test_bad_settings_are_refused_before_starting(
    settings: dict[str, object], field: str, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=field):
        Kamailio(workdir=tmp_path, **settings).start()  # type: ignore[arg-type]
