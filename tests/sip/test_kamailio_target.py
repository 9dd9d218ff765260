"""Kamailio as a real SIP target for a tenant (issue 11 item 4, first proof): the SIP-level
subset of the suite — registration with each terminal's password, the wrong-password paths,
calls between terminals by 内線番号 with the caller ID of an internal call, unknown and
unregistered extensions — against a server nobody here wrote, on the sample tenant and on a
generated one."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings

from harness.errors import InputError
from harness.guide.dump import write_tenant
from harness.guide.types import Tenant, Terminal
from harness.sip.app import Platform, RegistrationState
from harness.sip.message import parse_message
from harness.sip.peers._net import free_port, wait_for_options
from harness.sip.peers.kamailio import Kamailio
from harness.sip.phone import Phone
from harness.sip.uri import SipUri
from harness.strategies.tenants import tenants
from harness.target.kamailio import KamailioTarget, kamailio_target
from harness.target.kamailio import main as kamailio_main
from harness.target.model import Capability
from harness.target.phones import PhoneFactory

pytestmark = pytest.mark.peers

BUNDLED = Path(__file__).parents[2] / "fixtures" / "ご利用内容"
SAMPLE = BUNDLED / "sample"
# 内線番号 of a generated tenant are 2–7 digits: 23 digits is never one.
NO_SUCH_EXTENSION = "9" * 23


def _generated(tmp: Path) -> Path:
    """A tenant the project has never seen, drawn from harness.strategies and written as a
    folder: two to four terminals (one calls another). Seeded, so every run draws the same one
    (today: three terminals of mixed 端末種別 with an UNO address); the third draw, since the
    first ones are the strategies' simplest."""
    drawn: list[Tenant] = []

    @seed(3)
    @given(tenants(min_extensions=2, max_extensions=4, with_settings=False, name="generated"))
    @settings(max_examples=3, database=None, suppress_health_check=list(HealthCheck))
    def draw(tenant: Tenant) -> None:
        drawn.append(tenant)

    draw()
    return write_tenant(drawn[-1], tmp)


@pytest.fixture(scope="module", params=["sample", "generated"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KamailioTarget]:
    """Kamailio for the tenant named by the parameter (``+tcp``: the target file names tcp),
    one per module and tenant; every test's phones unregister when it ends."""
    name, transport = request.param, "udp"
    if name.endswith("+tcp"):
        name, transport = name.removesuffix("+tcp"), "tcp"
    base = tmp_path_factory.mktemp(name.replace("+", "-"))
    folder = _generated(base / "tenants") if name == "generated" else BUNDLED / name
    with kamailio_target(folder, base / "target", transport=transport) as served:
        yield served


@pytest.fixture
def phones(served: KamailioTarget, phone_factory: PhoneFactory) -> PhoneFactory:
    """The phone factory with the tenant's 内線サーバアドレス resolved to the Kamailio target."""
    phone_factory.resolver = served.resolver()
    return phone_factory


def test_the_target_names_only_sip_and_is_verify_only(served: KamailioTarget) -> None:
    target = served.target
    assert target.kind == "remote" and target.time_scale == 1.0
    # a proxy passes SDP end to end: the phones' RTP meets, so audio is checked
    assert target.capabilities == {Capability.MEDIA}, target.capabilities
    assert target.missing([Capability.WEB, Capability.PBX_FEATURES]) == (
        Capability.WEB,
        Capability.PBX_FEATURES,
    )
    document = tomllib.loads(served.target_file.read_text(encoding="utf-8"))
    assert document == {
        "target": {
            "name": target.name,
            "time_scale": 1.0,
            "changes_settings": False,
            "pbx_features": False,
            "media": True,
        },
        "sip": {"proxy": f"127.0.0.1:{served.kamailio.port}", "transport": "udp"},
    }


def test_the_target_file_loads_as_the_same_target(served: KamailioTarget) -> None:
    config = pytest.importorskip("harness.target.config", reason="harness.target.config not here")
    loaded = config.load_target_file(served.target_file)
    assert (loaded.name, loaded.sip, loaded.capabilities) == (
        served.target.name,
        served.target.sip,
        served.target.capabilities,
    )


@pytest.mark.parametrize(
    "served",
    ["sample", "domain-examples", "multisite", "large", "generated", "sample+tcp"],
    indirect=True,
)
def test_every_terminal_registers_with_its_password(
    served: KamailioTarget, phones: PhoneFactory
) -> None:
    guide = served.tenant.guide
    # The transport the target file names (a phone's own setting is upper-case).
    transport = served.target.sip.transport.upper()
    made = phones.for_guide(guide, transport=transport)
    for terminal in guide.terminals:
        phone = made[terminal.extension]
        phone.register()
        assert phone.registration_state is RegistrationState.REGISTERED, terminal.extension
        assert phone.virtual.last_register_status == 200
        (contact,) = served.kamailio.contacts(terminal.terminal_id)
        assert f"@{phone.local.host}:{phone.local.port}" in contact.address, contact


@pytest.mark.parametrize(
    ("platform", "text"),
    [
        pytest.param(Platform.ANDROID, "認証に失敗しました", id="Android"),
        pytest.param(Platform.IPHONE, "通話不可", id="iPhone"),
        pytest.param(Platform.WINDOWS, "認証に失敗しました", id="Windows"),
    ],
)
def test_a_wrong_password_is_refused_then_the_right_one_registers(
    served: KamailioTarget, phones: PhoneFactory, platform: Platform, text: str
) -> None:
    guide = served.tenant.guide
    terminal = guide.terminals[0]
    wrong = terminal.model_copy(update={"password": terminal.password + "x"})
    phone = phones.for_terminal(guide, wrong, platform=platform)
    assert phone.register() == text
    assert phone.virtual.last_register_status == 401
    assert served.kamailio.contacts(terminal.terminal_id) == []
    # The manual's way out: enter the password of 内線番号情報1 again → 通話可能.
    right = phones.for_terminal(guide, terminal, platform=platform)
    right.register()
    assert right.registration_state is RegistrationState.REGISTERED
    assert right.virtual.last_register_status == 200


def test_a_terminal_of_another_tenant_is_refused(
    served: KamailioTarget, phones: PhoneFactory
) -> None:
    guide = served.tenant.guide
    stranger = guide.terminals[0].model_copy(update={"terminal_id": "stranger0"})
    phone = phones.for_terminal(guide, stranger)
    phone.register()
    assert phone.registration_state is RegistrationState.AUTH_FAILED
    assert phone.virtual.last_register_status == 401


def _registered_pair(
    served: KamailioTarget, phones: PhoneFactory, transport: str = "UDP"
) -> tuple[Terminal, Terminal, Phone, Phone]:
    """The tenant's first two terminals, registered; the second answers at once."""
    guide = served.tenant.guide
    first, second = guide.terminals[0], guide.terminals[1]
    caller = phones.for_terminal(guide, first, transport=transport)
    callee = phones.for_terminal(guide, second, transport=transport)
    caller.register()
    callee.register()
    callee.answer_after(0)
    return first, second, caller, callee


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_a_call_by_extension_shows_the_callers_extension_and_connects(
    served: KamailioTarget, phones: PhoneFactory, transport: str
) -> None:
    first, second, caller, callee = _registered_pair(served, phones, transport)
    received = {phone.name: _received(phone) for phone in (caller, callee)}
    call = caller.call(second.extension)
    ring = callee.wait_for("ring")
    assert ring.caller_id == first.extension  # DOMAIN.md: internal call → the caller's 内線番号
    call.wait_for("connected")
    callee.wait_for("answer")
    call.hangup()  # BYE along the Record-Route; Kamailio restores the caller's own From
    assert callee.wait_for("hangup").detail == "remote"
    assert call.final_status == 200
    # The rewrite is the callee's view only: the caller's replies carry its own From back.
    invite = next(m for m in _messages(received[callee.name]) if m.startswith("INVITE"))
    assert _from_user(invite) == first.extension
    ok = next(
        m
        for m in _messages(received[caller.name])
        if m.startswith("SIP/2.0 200") and " INVITE" in m
    )
    assert _from_user(ok) == first.terminal_id


def _received(phone: Phone) -> list[str]:
    """What ``phone`` receives from now on, as text chunks (UDP: one message each; TCP: parts
    of the stream); the list grows as they arrive. ``_messages`` splits them."""
    chunks: list[str] = []
    phone.virtual.endpoint.add_tap(
        lambda r: chunks.append(r.data.decode()) if r.direction == "received" else None
    )
    return chunks


_START_LINE = re.compile(r"(?m)^(?=SIP/2\.0 \d{3} |[A-Z]+ sip:\S+ SIP/2\.0\r$)")


def _messages(chunks: list[str]) -> list[str]:
    """The SIP messages in ``chunks``, split at their start lines."""
    return [m for m in _START_LINE.split("".join(chunks)) if m]


def _from_user(message: str) -> str | None:
    uri = parse_message(message.encode()).headers.from_.uri
    return uri.user_text if isinstance(uri, SipUri) else None


@pytest.mark.parametrize("dialled", ["extension", "terminal_id"])
def test_the_callee_hangs_up_through_the_restored_dialog(
    served: KamailioTarget, phones: PhoneFactory, dialled: str
) -> None:
    """Dialled by 内線番号 or by 端末ID (what a plain registrar routes by): the same terminal
    rings with the same caller ID."""
    first, second, caller, callee = _registered_pair(served, phones)
    call = caller.call(second.extension if dialled == "extension" else second.terminal_id)
    assert callee.wait_for("ring").caller_id == first.extension
    call.wait_for("connected")
    # The callee's BYE carries the rewritten From as its To: Kamailio must put the caller's
    # own URI back, or the caller would not match it to its dialog.
    callee.hangup()
    assert call.wait_for("hangup").detail == "remote"


def test_unknown_and_unregistered_extensions_fail(
    served: KamailioTarget, phones: PhoneFactory
) -> None:
    guide = served.tenant.guide
    caller = phones.for_terminal(guide, guide.terminals[0])
    caller.register()
    unregistered = guide.terminals[1].extension
    # 480 ends the call like an unavailable callee (a release), 404 like a wrong number.
    assert caller.call(unregistered).wait_for("release").status == 480
    assert caller.call(NO_SUCH_EXTENSION).wait_for("refused").status == 404
    # A terminal id is what a plain registrar routes by: accepted too, the same terminal.
    assert caller.call(guide.terminals[1].terminal_id).wait_for("release").status == 480
    # A 端末ID-shaped name that is no terminal of the tenant is no number either.
    assert caller.call(guide.terminals[1].terminal_id + "x").wait_for("refused").status == 404


def test_a_broken_tenant_folder_stops_before_kamailio_starts(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(InputError, match="ご利用内容.yaml"), kamailio_target(folder, tmp_path):
        pass
    assert not (tmp_path / "kamailio").exists()


def test_extensions_must_be_numbers_of_known_terminals() -> None:
    with pytest.raises(InputError) as raised:
        Kamailio(
            sip_domain="01234abc.smart-pbx.jp",
            users={"abcde20200": "Password", "abcde20201": "Password"},
            extensions={"2o200": "abcde20200", "20201": "nobody", "20202": "abcde20200"},
        )
    where = [problem.where for problem in raised.value.problems]
    assert where == [
        "Kamailio extensions › '2o200'",
        "Kamailio extensions › '20201'",
        "Kamailio extensions › '20202'",
    ], raised.value


def test_serving_by_hand_prints_the_target_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()  # as a fixed --port (targets/kamailio.toml names 5060)
    argv = [sys.executable, "-m", "harness.target.kamailio", str(SAMPLE)]
    argv += ["--workdir", str(tmp_path), "--port", str(port)]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # the path once served, or '' if it exited
            target_file = Path(line.strip())
            document = tomllib.loads(target_file.read_text(encoding="utf-8"))
            assert document["target"]["name"] == "kamailio-sample"
            assert document["sip"]["proxy"] == f"127.0.0.1:{port}"
            host = "127.0.0.1"
            assert wait_for_options(host=host, port=port, timeout=5, alive=lambda: True) == 200
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
            gone = wait_for_options(host=host, port=port, timeout=0.3, alive=lambda: True)
            assert gone is None
        finally:
            process.kill()


def test_serving_by_hand_a_broken_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kamailio_main([str(tmp_path / "nowhere"), "--workdir", str(tmp_path / "w")]) == 2
    out, err = capsys.readouterr()
    assert "nowhere" in err and out == ""
