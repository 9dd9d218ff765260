"""The provisioning API needs ``serve``'s bearer token, takes JSON bodies only, and the whole
HTTP side answers only to the addresses it listens on (issue 10.5).

Before: any local process — or any web page in the rehearsing person's browser, with a
``text/plain`` POST or a DNS-rebound name — could reset the tenant, switch 多要素認証 off and
read the one-time codes from ``/api/mail``.
"""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from harness.cli import main
from harness.pytest_plugin.sim import SAMPLE_GUIDE, SimulatorHandle, start_simulator
from harness.sim.web.access import allowed_hosts, check_api_token

# Every operation of the API (the OpenAPI document lists the same ones, minus itself).
OPERATIONS = [
    ("GET", "/api/health"),
    ("GET", "/api/tenant"),
    ("POST", "/api/tenant"),
    ("POST", "/api/reset"),
    ("GET", "/api/settings"),
    ("PUT", "/api/settings"),
    ("PUT", "/api/lines/0312345678"),
    ("GET", "/api/mfa"),
    ("PUT", "/api/mfa"),
    ("GET", "/api/mail"),
    ("GET", "/api/registrations"),
    ("GET", "/api/pstn/registrations"),
    ("GET", "/api/calls"),
    ("GET", "/api/voicemail"),
]


@pytest.fixture
def anonymous(sim: SimulatorHandle) -> httpx.Client:
    """A client that knows the address but not the token (another user, a web page)."""
    client = httpx.Client(base_url=sim.base_url, timeout=30)
    yield client  # type: ignore[misc]
    client.close()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_token_is_401_with_a_bearer_challenge_and_the_way_to_the_token(
    sim: SimulatorHandle, anonymous: httpx.Client, method: str, path: str
) -> None:
    sim.set_mfa(True)
    response = anonymous.request(method, path, json={"enabled": False})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    error = response.json()["error"]
    assert "Authorization: Bearer <token>" in error
    assert "--api-token" in error and ".api-token" in error  # where to find or set it
    assert sim.api("GET", "/api/mfa") == {"enabled": True}  # nothing was done


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong-token-of-the-right-size", "Basic YWRtaW46YWRtaW4=", "Bearer", "Token x"],
)
def test_wrong_token_is_401(
    sim: SimulatorHandle, anonymous: httpx.Client, authorization: str
) -> None:
    sim.set_mfa(True)
    response = anonymous.post("/api/reset", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert "error=" in response.headers["www-authenticate"]  # RFC 6750 §3.1
    assert sim.api("GET", "/api/mfa") == {"enabled": True}


def test_a_token_differing_in_its_last_character_is_refused(
    sim: SimulatorHandle, anonymous: httpx.Client
) -> None:
    near = sim.api_token[:-1] + ("A" if sim.api_token[-1] != "A" else "B")
    assert anonymous.get("/api/mail", headers={"Authorization": f"Bearer {near}"}).status_code == (
        401
    )


def test_right_token_works(sim: SimulatorHandle, anonymous: httpx.Client) -> None:
    sim.set_mfa(True)
    bearer = {"Authorization": f"Bearer {sim.api_token}"}
    assert anonymous.get("/api/mail", headers=bearer).json() == []
    # The scheme name is case-insensitive (RFC 9110 §11.1).
    reset = anonymous.post("/api/reset", headers={"Authorization": f"bearer {sim.api_token}"})
    assert reset.status_code == 200
    assert sim.api("GET", "/api/mfa") == {"enabled": False}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"enabled": false}'),  # what a cross-origin page may send unasked
        ("application/x-www-form-urlencoded", b"enabled=false"),
        ("multipart/form-data; boundary=x", b"--x--"),
        (None, b'{"enabled": false}'),  # fetch() with a Blob body sends no Content-Type
    ],
)
def test_non_json_body_is_415_even_with_the_token(
    sim: SimulatorHandle, content_type: str | None, body: bytes
) -> None:
    sim.set_mfa(True)
    headers = {} if content_type is None else {"Content-Type": content_type}
    for method, path in (("PUT", "/api/mfa"), ("POST", "/api/reset")):
        response = sim.client.request(method, path, content=body, headers=headers)
        assert response.status_code == 415, (method, path)
        assert "application/json" in response.json()["error"]
    assert sim.api("GET", "/api/mfa") == {"enabled": True}


def test_json_with_a_charset_is_accepted(sim: SimulatorHandle) -> None:
    response = sim.client.put(
        "/api/mfa",
        content=b'{"enabled": true}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200 and response.json() == {"enabled": True}


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:{port}", "127.0.0.1:1", "localhost", ""]
)
@pytest.mark.parametrize("path", ["/api/reset", "/api/openapi.json", "/SmartPBX/Login", "/"])
def test_foreign_host_is_refused_for_api_and_pages(
    sim: SimulatorHandle, host: str, path: str
) -> None:
    # DNS rebinding: the browser connects to 127.0.0.1 but names the attacker's site.
    sim.set_mfa(True)
    headers = {"Host": host.format(port=sim.http_port), "Authorization": f"Bearer {sim.api_token}"}
    method = "POST" if path == "/api/reset" else "GET"
    response = sim.client.request(method, path, headers=headers)
    assert response.status_code == 421
    assert sim.api("GET", "/api/mfa") == {"enabled": True}
    if path.startswith("/api/"):
        assert f"127.0.0.1:{sim.http_port}" in response.json()["error"]
    else:
        assert f"http://127.0.0.1:{sim.http_port}/" in response.text


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_listening_address_is_accepted_as_host(sim: SimulatorHandle, name: str) -> None:
    headers = {"Host": f"{name}:{sim.http_port}"}
    assert sim.client.get("/SmartPBX/Login", headers=headers).status_code == 200
    assert sim.client.get("/api/health", headers=headers).status_code == 200


def test_allowed_hosts_follow_the_listening_address() -> None:
    assert allowed_hosts("127.0.0.1", 8080) == {"127.0.0.1:8080", "localhost:8080"}
    assert allowed_hosts("::1", 8080) == {"[::1]:8080", "localhost:8080"}
    assert "127.0.0.1" in allowed_hosts("127.0.0.1", 80)  # browsers omit the default port
    assert "127.0.0.1" not in allowed_hosts("127.0.0.1", 8080)


def test_openapi_document_is_public_and_declares_the_bearer_scheme(
    anonymous: httpx.Client,
) -> None:
    document = anonymous.get("/api/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert document["security"] == [{"bearer": []}]
    for operations in document["paths"].values():
        for method, operation in operations.items():
            assert "401" in operation["responses"]
            if method in ("post", "put"):
                assert "415" in operation["responses"]


@pytest.mark.slow
def test_given_token_is_used_and_written_beside_the_db_with_mode_0600(tmp_path: Path) -> None:
    db = tmp_path / "sim.sqlite3"
    token = "a-token-chosen-by-the-person-0123"
    with start_simulator(db=db, extra_args=["--api-token", token], workdir=tmp_path) as handle:
        token_file = tmp_path / "sim.sqlite3.api-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert token_file.read_text(encoding="utf-8").strip() == token == handle.api_token
        assert token in handle.log.read_text(encoding="utf-8")  # the banner shows it
        assert handle.health()["status"] == "ok"
    assert not token_file.exists()  # gone with the simulator


def test_random_token_file_of_a_temporary_db_is_private(sim: SimulatorHandle) -> None:
    token_file = sim.db.with_name(sim.db.name + ".api-token")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) & 0o077 == 0  # private folder
    assert token_file.read_text(encoding="utf-8").strip() == sim.api_token
    assert len(sim.api_token) >= 32


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--api-token", "short", "at least 16 characters"),
        ("--api-token", "has spaces in it, sadly", "b64token"),
        ("--lockout-time", "0", "must be > 0 seconds"),
        ("--lockout-time", "-5", "must be > 0 seconds"),
        ("--lockout-time", "inf", "must be > 0 seconds"),
        ("--lockout-time", "soon", "not a number of seconds"),
    ],
)
def test_unusable_security_options_are_refused_with_the_rule(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if option == "--api-token":
        assert message in (check_api_token(value) or "")
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--guide", str(SAMPLE_GUIDE), option, value])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert option in err and message in err
