"""The embedded target: a real ``serve`` process on the sample tenant, the typed provisioning
client's calls against it, a one-time code read through MailReader after a real 端末ユーザ
login with 多要素認証, and the reachability probe (ok here, TargetUnreachable on closed ports).
Everything the tests use is read from the tenant's documents, not written out."""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from harness.errors import HarnessError, InputError
from harness.guide import load_tenant
from harness.guide.types import Tenant
from harness.target import (
    Capability,
    EmbeddedTarget,
    MailReader,
    ProvisioningClient,
    ProvisioningError,
    SipEndpoint,
    Target,
    TargetUnreachable,
    require_reachable,
    start_embedded,
)

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "sample"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture(scope="module")
def tenant() -> Tenant:
    return load_tenant(SAMPLE)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedTarget]:
    with start_embedded(SAMPLE, workdir=tmp_path_factory.mktemp("embedded"), name="emb") as e:
        yield e


@pytest.fixture
def embedded(running: EmbeddedTarget) -> EmbeddedTarget:
    running.provisioning.reset()
    return running


def _closed_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_the_target_names_every_surface_and_has_every_capability(
    embedded: EmbeddedTarget,
) -> None:
    target = embedded.target
    health = embedded.provisioning.health()
    assert (target.name, target.kind, target.time_scale) == ("emb", "embedded", 0.01)
    assert target.capabilities == frozenset(Capability)
    assert target.sip == SipEndpoint(host="127.0.0.1", port=health.sip or -1, transport="udp")
    assert target.carrier is not None and target.carrier.port == health.pstn
    assert target.web_base_url == f"http://127.0.0.1:{health.http}"
    assert target.mail is not None and target.mail.api == f"{target.web_base_url}/api/mail"
    assert target.mail.token == embedded.api_token and target.api is not None
    assert embedded.process.poll() is None and embedded.db.exists()


def test_tenant_and_settings_round_trip(embedded: EmbeddedTarget, tenant: Tenant) -> None:
    client = embedded.provisioning
    info = client.tenant()
    assert info.sip_domain == tenant.guide.customer.sip_domain
    assert info.admin_login_id == tenant.guide.admin_account.login_id
    assert info.terminal_users == {u.extension: u.login_id for u in tenant.guide.terminal_users}
    original = client.settings()
    assert original["外線着信設定"] == [
        {"外線番号": r.external_number, "着信先": r.destination}
        for r in tenant.settings.inbound_routes
    ]
    changed = {**original, "外線発信設定": []}
    client.put_settings(changed)
    assert client.settings() == changed
    client.reset()
    assert client.settings() == original


def test_a_refused_settings_document_is_an_input_error_with_the_servers_problems(
    embedded: EmbeddedTarget, tenant: Tenant
) -> None:
    client = embedded.provisioning
    before = client.settings()
    number = tenant.guide.external_lines[0].external_number
    first, second = (t.extension for t in tenant.guide.terminals[:2])
    routes = [{"外線番号": number, "着信先": first}, {"外線番号": number, "着信先": second}]
    with pytest.raises(InputError) as caught:
        client.put_settings({**before, "外線着信設定": routes})
    assert caught.value.problems and "PUT /api/settings" in caught.value.subject
    assert any("外線着信設定" in p.where and p.rule_id for p in caught.value.problems)
    assert client.settings() == before  # all or nothing


def test_line_live_and_mfa(embedded: EmbeddedTarget, tenant: Tenant) -> None:
    client = embedded.provisioning
    client.set_line_live(tenant.guide.external_lines[0].external_number, False)
    with pytest.raises(ProvisioningError) as caught:
        client.set_line_live("0999999999", True)
    assert caught.value.status == 404 and "/api/lines/0999999999" in str(caught.value)
    assert "外線番号情報" in caught.value.detail
    assert client.mfa() is False
    client.set_mfa(True)
    assert client.mfa() is True


def test_the_lists_are_typed_and_empty_after_a_reset(embedded: EmbeddedTarget) -> None:
    client = embedded.provisioning
    assert client.registrations() == [] and client.pstn_registrations() == []
    assert client.calls() == [] and client.voicemail() == [] and client.mail() == []


def test_a_one_time_code_arrives_through_the_mail_reader(
    embedded: EmbeddedTarget, tenant: Tenant
) -> None:
    """P.6: with 多要素認証 on, a 端末ユーザ's first login registers an e-mail address and
    the code is mailed there; the code read through ``[mail] api`` logs the user in."""
    user = tenant.guide.terminal_users[0]
    address = f"{user.login_id}@example.jp"
    embedded.provisioning.set_mfa(True)
    assert embedded.target.mail is not None
    reader = MailReader(embedded.target.mail)
    with httpx.Client(base_url=embedded.target.web_base_url or "", follow_redirects=True) as web:

        def post(path: str, data: dict[str, str]) -> httpx.Response:
            match = _CSRF.search(web.get("/SmartPBX/Login").text)
            assert match, "the login page carries a CSRF token"
            return web.post(path, data=data | {"csrf_token": match.group(1)})

        login = post("/SmartPBX/Login", {"login_id": user.login_id, "password": user.password})
        assert login.url.path == "/SmartPBX/Mfa/Register"
        mark = reader.mark()
        assert post("/SmartPBX/Mfa/Register", {"email": address}).url.path == "/SmartPBX/Mfa/Code"
        code = reader.wait_for_code(address, after=mark, timeout=10)
        assert re.fullmatch(r"[0-9]{6}", code)
        assert embedded.provisioning.mail()[-1].code() == code
        assert post("/SmartPBX/Mfa/Code", {"code": code}).url.path == "/SmartPBX/User/Top"
    reader.close()


def test_the_probe_passes_on_the_embedded_target_over_udp_and_tcp(
    embedded: EmbeddedTarget,
) -> None:
    require_reachable(embedded.target)
    require_reachable(replace(embedded.target, sip=replace(embedded.target.sip, transport="tcp")))


def test_the_probe_names_each_closed_surface(embedded: EmbeddedTarget) -> None:
    udp, tcp = _closed_port(socket.SOCK_DGRAM), _closed_port(socket.SOCK_STREAM)
    target = Target(
        name="nowhere",
        kind="remote",
        time_scale=1.0,
        sip=SipEndpoint(host="127.0.0.1", port=udp),
        carrier=SipEndpoint(host="127.0.0.1", port=tcp, transport="tcp"),
        web_base_url=f"http://127.0.0.1:{tcp}",
        mail=replace(embedded.target.mail, token="wrong") if embedded.target.mail else None,
    )
    with pytest.raises(TargetUnreachable) as caught:
        require_reachable(target, timeout=1)
    surfaces = {u.surface: u for u in caught.value.unreached}
    assert set(surfaces) == {"sip", "carrier", "web", "mail"}
    assert f"127.0.0.1:{udp}" in surfaces["sip"].address
    assert "token" in surfaces["mail"].detail and "401" in surfaces["mail"].detail
    assert "'nowhere' is not reachable" in str(caught.value)


def test_a_silent_sip_port_times_out_within_the_bound() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        target = Target(
            name="silent",
            kind="remote",
            time_scale=1.0,
            sip=SipEndpoint(host="127.0.0.1", port=port),
        )
        with pytest.raises(
            TargetUnreachable, match="no SIP response to OPTIONS over UDP within 0.3 s"
        ):
            require_reachable(target, timeout=0.3)


def test_a_serve_that_dies_at_start_is_a_harness_error_with_its_log(tmp_path: Path) -> None:
    with (
        pytest.raises(HarnessError, match=r"exited with 2 before it was ready") as caught,
        start_embedded(SAMPLE, workdir=tmp_path, extra_args=["--param", "no_such_param=1"]),
    ):
        pass
    assert "no_such_param" in str(caught.value)


def test_kill_stops_the_process(tmp_path: Path) -> None:
    with start_embedded(SAMPLE, workdir=tmp_path) as embedded:
        embedded.kill(signal.SIGKILL)
        assert embedded.process.poll() is not None
        with pytest.raises(ProvisioningError, match="the client is closed"):
            embedded.provisioning.health()  # kill closed the target's own client
        assert embedded.target.api is not None
        with (
            ProvisioningClient(embedded.target.api, timeout=2) as client,
            pytest.raises(ProvisioningError, match="no answer"),
        ):
            client.health()
        with pytest.raises(TargetUnreachable):
            require_reachable(embedded.target, timeout=0.5)
