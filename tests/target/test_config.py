"""Target files: the happy path, ``${ENV}``, every kind of error (each names file › table › key,
the value found and the fix), and every example shipped in ``targets/`` loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.target import Capability, load_target_file, resolve_target

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "targets").glob("*.toml"))

FULL = """
[target]
name = "acme-staging"
time_scale = 0.5
changes_settings = true
pbx_features = false
tolerance = 0.25
[sip]
proxy = "10.0.0.5:5060"
transport = "tcp"
[carrier]
proxy = "[::1]:5070"
[web]
base_url = "https://pbx.example.jp/"
[mail]
api = "https://pbx.example.jp/mail"
token = "${MAIL_TOKEN}"
[voicemail]
api = "http://127.0.0.1:8080/api/voicemail"
"""

MINIMAL = '[sip]\nproxy = "127.0.0.1:5060"\n'


def _write(tmp_path: Path, text: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load_target_file(path)
    assert caught.value.subject == f"target file {path}"
    return caught.value


def test_a_full_file_becomes_a_remote_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_TOKEN", "s3cret")
    target = load_target_file(_write(tmp_path, FULL))
    assert (target.name, target.kind, target.time_scale) == ("acme-staging", "remote", 0.5)
    assert (target.sip.host, target.sip.port, target.sip.transport) == ("10.0.0.5", 5060, "tcp")
    assert target.carrier is not None
    assert (target.carrier.host, target.carrier.port, target.carrier.transport) == (
        "::1",
        5070,
        "udp",
    )
    assert target.web_base_url == "https://pbx.example.jp"  # trailing slash dropped
    assert target.mail is not None and target.mail.token == "s3cret"
    assert "s3cret" not in repr(target)
    assert target.voicemail_api == "http://127.0.0.1:8080/api/voicemail"
    assert target.tolerance == 0.25 and target.api is None
    assert target.capabilities == {
        Capability.WEB,
        Capability.CARRIER,
        Capability.MAIL,
        Capability.VOICEMAIL_API,
        Capability.CHANGES_SETTINGS,
        Capability.MEDIA,
    }


def test_only_sip_is_required_and_the_defaults_are_verify_only(tmp_path: Path) -> None:
    target = load_target_file(_write(tmp_path, MINIMAL, "lab-pbx.toml"))
    assert target.name == "lab-pbx"
    assert target.time_scale == 1.0 and target.sip.transport == "udp"
    assert target.capabilities == {Capability.PBX_FEATURES, Capability.MEDIA}
    assert not target.changes_settings and target.tolerance is None


def test_media_false_takes_the_audio_checks_away(tmp_path: Path) -> None:
    text = "[target]\nmedia = false\n" + MINIMAL
    target = load_target_file(_write(tmp_path, text))
    assert Capability.MEDIA not in target.capabilities
    assert target.capabilities == {Capability.PBX_FEATURES}


def test_resolve_target_embedded_is_none_else_a_file(tmp_path: Path) -> None:
    assert resolve_target("embedded") is None
    assert resolve_target(str(_write(tmp_path, MINIMAL))) is not None
    with pytest.raises(InputError, match="no such file"):
        resolve_target(str(tmp_path / "nope.toml"))


# (file text, where the problem is, words the message must hold)
BAD = {
    "unknown key, closest one": (
        MINIMAL + "[target]\nchnges_settings = true\n",
        "[target] › chnges_settings",
        ["unknown key", "did you mean 'changes_settings'", "time_scale"],
    ),
    "unknown table": (
        MINIMAL + "[webb]\nbase_url = 'http://x'\n",
        "[webb]",
        ["unknown table", "did you mean 'web'", "carrier"],
    ),
    "port out of range": (
        '[sip]\nproxy = "127.0.0.1:70000"\n',
        "[sip] › proxy",
        ["1 to 65535", "'127.0.0.1:70000'"],
    ),
    "no port": ('[sip]\nproxy = "127.0.0.1"\n', "[sip] › proxy", ["host:port", "127.0.0.1:5060"]),
    "sip: scheme": (
        '[sip]\nproxy = "sip:127.0.0.1:5060"\n',
        "[sip] › proxy",
        ["without the sip: scheme"],
    ),
    "proxy not a string": ("[sip]\nproxy = 5060\n", "[sip] › proxy", ["string", "host:port"]),
    "transport": (
        MINIMAL + 'transport = "sctp"\n',
        "[sip] › transport",
        ["'udp' or 'tcp'", "'sctp'"],
    ),
    "carrier transport": (
        MINIMAL + '[carrier]\nproxy = "127.0.0.1:5070"\ntransport = "tls"\n',
        "[carrier] › transport",
        ["'udp' or 'tcp'", "'tls'"],
    ),
    "time_scale zero": (
        MINIMAL + "[target]\ntime_scale = 0\n",
        "[target] › time_scale",
        ["greater than 0", "found 0"],
    ),
    "time_scale negative": (
        MINIMAL + "[target]\ntime_scale = -1.0\n",
        "[target] › time_scale",
        ["greater than 0"],
    ),
    "time_scale inf": (
        MINIMAL + "[target]\ntime_scale = inf\n",
        "[target] › time_scale",
        ["finite"],
    ),
    "time_scale nan": (
        MINIMAL + "[target]\ntime_scale = nan\n",
        "[target] › time_scale",
        ["finite"],
    ),
    "time_scale a string": (
        MINIMAL + '[target]\ntime_scale = "1.0"\n',
        "[target] › time_scale",
        ["number", "real seconds per simulated second"],
    ),
    "changes_settings not a bool": (
        MINIMAL + '[target]\nchanges_settings = "no"\n',
        "[target] › changes_settings",
        ["boolean", "true or false"],
    ),
    "negative tolerance": (
        MINIMAL + "[target]\ntolerance = -0.5\n",
        "[target] › tolerance",
        ["0 or more"],
    ),
    "missing [sip]": ("[target]\nname = 'x'\n", "[sip]", ["is required", "SIP proxy"]),
    "missing proxy": ('[sip]\ntransport = "udp"\n', "[sip] › proxy", ["is required", "host:port"]),
    "web url scheme": (
        MINIMAL + '[web]\nbase_url = "ftp://127.0.0.1"\n',
        "[web] › base_url",
        ["http:// or https://"],
    ),
    "mail without api": (
        MINIMAL + '[mail]\ntoken = "abc"\n',
        "[mail] › api",
        ["is required"],
    ),
    "changes_settings without web": (
        MINIMAL + "[target]\nchanges_settings = true\n",
        "[target] › changes_settings",
        ["needs a [web] table"],
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_every_bad_value_is_refused_naming_the_key_and_the_fix(tmp_path: Path, case: str) -> None:
    text, where, words = BAD[case]
    path = _write(tmp_path, text)
    error = _error(path)
    assert len(error.problems) == 1, error
    assert error.problems[0].where == f"{path} › {where}"
    for word in words:
        assert word in str(error.problems[0]), (word, str(error))


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = '[target]\ntime_scale = 0\nbogus = 1\n[sip]\nproxy = "x"\ntransport = "sctp"\n'
    error = _error(_write(tmp_path, text))
    assert len(error.problems) == 4


def test_a_token_is_never_echoed(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, MINIMAL + '[mail]\napi = "http://x/mail"\ntoken = 123456\n'))
    assert error.problems[0].where.endswith("[mail] › token")
    assert "123456" not in str(error)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'[sip]\nproxy = "127.0.0.1:5060\n', ["is not valid TOML", "line 2"]),
        (b'[sip]\nproxy = "\xff\xfe"\n', ["is not UTF-8", "line 2", "save it as UTF-8"]),
    ],
    ids=["toml syntax", "not utf-8"],
)
def test_an_unreadable_file_names_the_line(tmp_path: Path, raw: bytes, words: list[str]) -> None:
    path = tmp_path / "t.toml"
    path.write_bytes(raw)
    error = _error(path)
    assert error.problems[0].where == str(path)
    for word in words:
        assert word in str(error), str(error)


def test_a_missing_file_or_a_folder_is_refused(tmp_path: Path) -> None:
    assert "--target embedded" in str(_error(tmp_path / "absent.toml"))
    assert "is a folder" in str(_error(tmp_path))


def test_env_variables_expand_anywhere_in_a_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PBX_HOST", "192.0.2.7")
    monkeypatch.setenv("PBX_NAME", "lab")
    path = _write(tmp_path, '[target]\nname = "${PBX_NAME}-1"\n[sip]\nproxy = "${PBX_HOST}:5060"\n')
    target = load_target_file(path)
    assert (target.name, target.sip.host) == ("lab-1", "192.0.2.7")


def test_an_unset_env_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMARTPBX_NOT_SET", raising=False)
    path = _write(
        tmp_path, MINIMAL + '[mail]\napi = "http://x/mail"\ntoken = "${SMARTPBX_NOT_SET}"\n'
    )
    error = _error(path)
    assert error.problems[0].where == f"{path} › [mail] › token"
    assert "SMARTPBX_NOT_SET is not set" in str(error) and "export SMARTPBX_NOT_SET" in str(error)


def test_a_malformed_env_reference_is_named(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, '[sip]\nproxy = "${not a name}:5060"\n'))
    assert "must name an environment variable" in str(error)


def test_the_shipped_examples_exist() -> None:
    assert {p.name for p in SHIPPED} >= {
        "remote-sim.toml",
        "kamailio.toml",
        "deployment.example.toml",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_example_loads(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMARTPBX_API_TOKEN", "SMARTPBX_MAIL_TOKEN", "SMARTPBX_VOICEMAIL_TOKEN"):
        monkeypatch.setenv(name, "token-" + name)
    target = load_target_file(path)
    assert target.kind == "remote" and target.sip.port > 0
    assert target.api is None  # a remote target has no provisioning API


def test_the_kamailio_example_offers_sip_only() -> None:
    target = load_target_file(ROOT / "targets" / "kamailio.toml")
    # A proxy passes SDP end to end: the phones' RTP meets, so audio is checked.
    assert target.capabilities == {Capability.MEDIA}


def test_a_target_written_as_a_file_reads_back_without_its_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from harness.target.config import target_file_text
    from harness.target.model import ApiAccess, MailAccess, SipEndpoint, Target

    target = Target(
        name="written",
        kind="remote",
        time_scale=0.05,
        sip=SipEndpoint(host="::1", port=5060, transport="tcp"),
        carrier=SipEndpoint(host="127.0.0.1", port=5070),
        web_base_url="http://127.0.0.1:8080",
        mail=MailAccess(api="http://127.0.0.1:8080/api/mail", token="s3cret-token"),
        api=ApiAccess(base_url="http://127.0.0.1:8080", token="s3cret-token"),
        voicemail_api="http://127.0.0.1:8080/api/voicemail",
        voicemail_token="s3cret-token",
        changes_settings=True,
        tolerance=1.5,
    )
    with pytest.raises(ValueError, match="token_env"):
        target_file_text(target)
    text = target_file_text(target, comments=["made by a test"], token_env="T_TOKEN")
    assert "s3cret" not in text and text.startswith("# made by a test\n")
    path = tmp_path / "written.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("T_TOKEN", "s3cret-token")
    # a target file has no provisioning API: everything else comes back
    assert load_target_file(path) == replace(target, api=None)
