"""The Kamailio driver: starts on loopback only, answers OPTIONS, stores HA1 only, stops for sure.

Registration and calls through Kamailio are tested with SIPp and baresip (test_sipp.py,
test_baresip.py), which are peers nobody here wrote.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

import harness.sip.peers.kamailio as kamailio_module
from harness.errors import HarnessError, InputError
from harness.sip.peers._net import BoundSocket, bound_addresses, wait_for_options
from harness.sip.peers._process import group_members
from harness.sip.peers.kamailio import (
    DigestAlgorithm,
    Kamailio,
    RegisteredContact,
    digest_ha1,
    parse_ul_lookup,
)
from tests.sip.peers._squatter import first_port_taken

DOMAIN = "01234abc.smart-pbx.jp"


@pytest.mark.peers
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
        BoundSocket(protocol="udp", host="127.0.0.1", port=server.port),
        BoundSocket(protocol="tcp", host="127.0.0.1", port=server.port),
    }


@pytest.mark.peers
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


@pytest.mark.peers
def test_stop_reaps_every_kamailio_process(tmp_path: Path) -> None:
    server = Kamailio(workdir=tmp_path).start()
    pid = server.pid
    assert pid is not None

    server.stop()
    server.stop()  # idempotent

    assert not server.running()
    # No worker of the group runs any more (a zombie waiting for init to reap it is gone).
    assert [member for member in group_members(pid) if member.state != "Z"] == []


def test_missing_binary_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"apt-get install kamailio"):
        Kamailio(workdir=tmp_path, binary="/nonexistent/kamailio").start()


@pytest.mark.peers
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


UL_LOOKUP = """{
	AoR: abcde20200
	Contacts: {
		Contact: {
			Address: sip:abcde20200@127.0.0.1:5062;transport=UDP
			Expires: 3600
			User-Agent: SIPp smartpbx-harness
			Socket: udp:127.0.0.1:36707
		}
		Contact: {
			Address: sip:abcde20200@127.0.0.1:5070
			Expires: 598
			User-Agent: baresip v1.0.0 (x86_64/linux)
		}
	}
}
"""


def test_ul_lookup_output_parses_into_contacts() -> None:
    assert parse_ul_lookup(UL_LOOKUP) == [
        RegisteredContact(
            address="sip:abcde20200@127.0.0.1:5062;transport=UDP",
            expires=3600,
            user_agent="SIPp smartpbx-harness",
        ),
        RegisteredContact(
            address="sip:abcde20200@127.0.0.1:5070",
            expires=598,
            user_agent="baresip v1.0.0 (x86_64/linux)",
        ),
    ]


# --------------------------------------------------------------------------------------------
# Digest with both algorithms, by a minimal hand-written client (RFC 7616 §3.4, qop=auth), so
# that the configured algorithm is proven without SIPp (which only does MD5).


def _hash(algorithm: str, text: str) -> str:
    data = text.encode()
    return (
        hashlib.sha256(data).hexdigest()
        if algorithm == "SHA-256"
        else hashlib.md5(data).hexdigest()
    )


def _register(
    sock: socket.socket, server: Kamailio, user: str, *, cseq: int, auth: str = ""
) -> str:
    port = sock.getsockname()[1]
    lines = [
        f"REGISTER sip:{DOMAIN} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{secrets.token_hex(6)};rport",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{DOMAIN}>;tag=t1",
        f"To: <sip:{user}@{DOMAIN}>",
        "Call-ID: digest-test",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:{user}@127.0.0.1:{port}>",
        *([auth] if auth else []),
        "Content-Length: 0",
        "",
        "",
    ]
    sock.sendto("\r\n".join(lines).encode(), (server.host, server.port))
    return sock.recv(65535).decode()


def register_with_digest(server: Kamailio, user: str, password: str) -> tuple[str, str]:
    """(challenge header, final status line) of a REGISTER answered with credentials."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2)
        challenge = _register(sock, server, user, cseq=1)
        header = next(line for line in challenge.splitlines() if line.startswith("WWW-Auth"))
        params = dict(re.findall(r'(\w+)="?([^",]+)"?', header))
        algorithm, uri, cnonce, nc = params["algorithm"], f"sip:{DOMAIN}", "0a4f113b", "00000001"
        ha1 = _hash(algorithm, f"{user}:{params['realm']}:{password}")
        ha2 = _hash(algorithm, f"REGISTER:{uri}")
        response = _hash(algorithm, f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        auth = (
            f'Authorization: Digest username="{user}", realm="{params["realm"]}", '
            f'nonce="{params["nonce"]}", uri="{uri}", response="{response}", '
            f'algorithm={algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}"'
        )
        final = _register(sock, server, user, cseq=2, auth=auth)
        return header, final.splitlines()[0]


@pytest.mark.peers
@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_with_qop_auth_for_each_algorithm(
    kamailio: Callable[..., Kamailio], algorithm: DigestAlgorithm
) -> None:
    server = kamailio(sip_domain=DOMAIN, users={"abcde20200": "Password"}, algorithm=algorithm)

    header, right = register_with_digest(server, "abcde20200", "Password")
    _, wrong = register_with_digest(server, "abcde20200", "Passw0rd")

    assert f"algorithm={algorithm}" in header and 'qop="auth"' in header
    assert f'realm="{DOMAIN}"' in header
    assert right == "SIP/2.0 200 OK"
    assert wrong == "SIP/2.0 401 Unauthorized"
    assert len(server.contacts("abcde20200")) == 1


@pytest.mark.peers
def test_start_retries_when_its_port_was_taken_meanwhile(
    kamailio: Callable[..., Kamailio], monkeypatch: pytest.MonkeyPatch
) -> None:
    with first_port_taken(monkeypatch, kamailio_module, "free_port") as taken:
        server = kamailio()

    assert server.port != taken
    assert "Address already in use" in server.log_text()
    assert wait_for_options(host=server.host, port=server.port, timeout=2, alive=server.running)
