"""The provisioning API and the whole simulator process (``serve`` as a subprocess).

Settings made on the web are visible through the API; one-time codes arrive by real SMTP in the
sink; bad JSON and bad values get a clear 4xx; settings survive ``kill -9``.
"""

from __future__ import annotations

import json
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.errors import HarnessError, InputError
from harness.guide import load_tenant_text
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator

from .conftest import RICH, SAMPLE

SAMPLE_ADMIN = ("adm01234abc", "Adm1nPass01")
SAMPLE_USER = ("aaaabbbb", "ccccddd1")
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


class Browser:
    """Form posts with the page's CSRF token, over real HTTP."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=True)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        match = _CSRF.search(self.http.get("/SmartPBX/Login").text)
        assert match
        return self.http.post(path, data=data | {"csrf_token": match.group(1)})

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def form_client(sim: SimulatorHandle) -> Any:
    b = Browser(sim.base_url)
    yield b
    b.close()


def test_health_reports_the_ports(sim: SimulatorHandle) -> None:
    health = sim.health()
    assert health == {
        "status": "ok",
        "http": sim.http_port,
        "smtp": sim.smtp_port,
        "sip": sim.sip_port,
        "pstn": sim.pstn_port,
    }
    assert isinstance(sim.sip_port, int) and isinstance(sim.pstn_port, int)


def test_tenant_summary_has_no_passwords(sim: SimulatorHandle) -> None:
    response = sim.client.get("/api/tenant")
    tenant = response.json()
    assert tenant["sip_domain"] == "01234abc.smart-pbx.jp"
    assert tenant["admin_login_id"] == SAMPLE_ADMIN[0]
    assert tenant["terminal_users"] == {"20200": "aaaabbbb", "20201": "aaaacccc"}
    for secret in ("Adm1nPass01", "ccccddd1", "Password"):
        assert secret not in response.text


def test_settings_made_on_the_web_are_visible_through_the_api(
    sim: SimulatorHandle, form_client: Browser
) -> None:
    sim.put_settings({})  # start from no settings at all
    assert (
        form_client.post(
            "/SmartPBX/Login", dict(zip(("login_id", "password"), SAMPLE_ADMIN, strict=True))
        ).status_code
        == 200
    )
    form_client.post("/SmartPBX/Init/Outbound/20201", {"caller_id": "0312345678"})
    form_client.post("/SmartPBX/Init/Inbound/0312345678", {"destination": "20200"})
    form_client.post(
        "/SmartPBX/Init/Groups/Add",
        {"kind": "順次着信", "pilot": "20200", "member_1": "20201", "member_2": "20200"},
    )
    assert sim.settings() == {
        "着信グループ": [
            {
                "種別": "順次着信",
                "代表番号": "20200",
                "メンバー": ["20201", "20200"],  # 呼出時間 left blank: left out (the default)
            }
        ],
        "外線着信設定": [{"外線番号": "0312345678", "着信先": "20200"}],
        "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345678"}],
        "不在時動作設定": {},
    }


def test_put_settings_round_trips_and_reset_restores(sim: SimulatorHandle) -> None:
    document = {
        "着信グループ": [
            {"種別": "一斉着信", "代表番号": "20201", "メンバー": ["20200"], "呼出時間": 25}
        ],
        "外線着信設定": [{"外線番号": "0312345678", "着信先": "20201"}],
        "外線発信設定": [],
        "不在時動作設定": {
            "20200": {
                "種別": "シングルナンバーリーチ",
                "接続先番号1": "09011112222",
                "呼出開始時間1": 5,
                "呼出終了時間": 30,
                "留守番電話": False,
            }
        },
    }
    original = sim.settings()
    assert sim.put_settings(document) == document
    assert sim.settings() == document
    sim.reset()
    assert sim.settings() == original != document


def test_put_settings_breaking_a_rule_is_422_and_saves_nothing(sim: SimulatorHandle) -> None:
    before = sim.settings()
    response = sim.client.put(
        "/api/settings",
        json={"外線発信設定": [{"内線番号": "20200", "発信者番号": "0399999999"}]},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["problems"][0]["where"] == "設定.yaml › 外線発信設定 › row 1 › 発信者番号"
    assert body["problems"][0]["rule_id"] == "outbound.caller_id_is_a_line"
    assert "外線番号" in body["problems"][0]["rule"]
    assert sim.settings() == before


_LINE = re.compile(r" \(line [0-9]+\)")

# What `check` refused and PUT /api/settings used to accept and rewrite (issue 9 item 1).
REFUSED_BY_CHECK = {
    "two 着信先 for one 外線番号": (
        {
            "外線着信設定": [
                {"外線番号": "0312345678", "着信先": "20200"},
                {"外線番号": "0312345678", "着信先": "20201"},
            ]
        },
        ["inbound.routed_once"],
    ),
    "two 発信者番号 for one extension": (
        {
            "外線発信設定": [
                {"内線番号": "20201", "発信者番号": "0312345678"},
                {"内線番号": "20201", "発信者番号": "0312345678"},
            ]
        },
        ["outbound.once_per_extension"],
    ),
    "呼出時間 with 無応答 = 設定しない": (
        {
            "不在時動作設定": {
                "20201": {
                    "種別": "転送/留守番電話",
                    "転送先電話番号": "0311112222",
                    "転送動作": {"話中": "転送", "無応答": "設定しない"},
                    "呼出時間": 15,
                }
            }
        },
        ["absence.ring_time_unused"],
    ),
}


@pytest.mark.parametrize(
    ("document", "rule_ids"), list(REFUSED_BY_CHECK.values()), ids=list(REFUSED_BY_CHECK)
)
def test_put_settings_refuses_what_check_refuses_with_its_message(
    sim: SimulatorHandle, document: dict[str, Any], rule_ids: list[str]
) -> None:
    before = sim.settings()
    response = sim.client.put("/api/settings", json=document)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [p["rule_id"] for p in problems] == rule_ids
    # The same line `check` prints for the same document written as 設定.yaml (JSON has no
    # line numbers: the YAML one's "(line N)" is the only difference).
    guide = (SAMPLE / "ご利用内容.yaml").read_text(encoding="utf-8")
    with pytest.raises(InputError) as refused:
        load_tenant_text("sample", guide, json.dumps(document, ensure_ascii=False))
    assert [p["message"] for p in problems] == [
        _LINE.sub("", str(p)) for p in refused.value.problems
    ]
    assert sim.settings() == before


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("PUT", "/api/settings", b"{not json", 400),
        ("PUT", "/api/settings", b"[1, 2]", 422),
        ("PUT", "/api/settings", b'{"\\u7740\\u4fe1\\u30b0\\u30eb\\u30fc\\u30d7": 5}', 422),
        ("PUT", "/api/settings", b'{"a": ' + b"[" * 800 + b"]" * 800 + b"}", 422),
        ("PUT", "/api/settings", b"[" * 100_000 + b"]" * 100_000, 400),
        ("POST", "/api/tenant", b"{}", 422),
        ("POST", "/api/tenant", b'{"path": "/nonexistent/folder"}', 422),
        ("POST", "/api/tenant", b'{"path": "/dev/null"}', 422),
        ("POST", "/api/tenant", b'{"path": "a\\u0000b"}', 422),
        ("PUT", "/api/lines/0312345678", b'{"line_live": "yes"}', 422),
        ("PUT", "/api/lines/0999999999", b'{"line_live": true}', 404),
        ("PUT", "/api/mfa", b'{"enabled": 1}', 422),
        ("DELETE", "/api/settings", b"", 405),
        ("GET", "/api/nowhere", b"", 404),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    sim: SimulatorHandle, method: str, path: str, content: bytes, status: int
) -> None:
    response = sim.client.request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert response.json()["error"]


def test_bad_tenant_folder_names_the_problem(sim: SimulatorHandle, tmp_path: Path) -> None:
    (tmp_path / "ご利用内容.yaml").write_text("お客様情報: {}\n", encoding="utf-8")
    response = sim.client.post("/api/tenant", json={"path": str(tmp_path)})
    assert response.status_code == 422
    wheres = [p["where"] for p in response.json()["problems"]]
    assert any("管理者アカウント" in w for w in wheres)
    assert sim.api("GET", "/api/tenant")["admin_login_id"] == SAMPLE_ADMIN[0]  # unchanged


def test_load_another_tenant(sim: SimulatorHandle) -> None:
    tenant = sim.load_tenant(RICH)
    assert tenant["sip_domain"] == "05678xyz.smart-pbx.jp"
    assert sim.settings()["外線発信設定"] == [{"内線番号": "30301", "発信者番号": "0311112222"}]


def test_line_live_flag(sim: SimulatorHandle, form_client: Browser) -> None:
    sim.set_line_live("0312345678", False)
    form_client.post(
        "/SmartPBX/Login", dict(zip(("login_id", "password"), SAMPLE_ADMIN, strict=True))
    )
    failed = form_client.post("/SmartPBX/Init/Inbound/0312345678", {"destination": "20201"})
    assert "接続エラー" in failed.text
    sim.set_line_live("0312345678", True)
    assert (
        form_client.post("/SmartPBX/Init/Inbound/0312345678", {"destination": "20201"}).status_code
        == 200
    )
    assert sim.settings()["外線着信設定"] == [{"外線番号": "0312345678", "着信先": "20201"}]


@pytest.mark.manual_step("P6-S1-mfa")
def test_mfa_code_arrives_by_smtp_and_logs_in(sim: SimulatorHandle, form_client: Browser) -> None:
    sim.set_mfa(True)
    login = form_client.post(
        "/SmartPBX/Login", dict(zip(("login_id", "password"), SAMPLE_USER, strict=True))
    )
    assert login.url.path == "/SmartPBX/Mfa/Register"
    sent = form_client.post("/SmartPBX/Mfa/Register", {"email": "aaaabbbb@example.co.jp"})
    assert sent.url.path == "/SmartPBX/Mfa/Code"
    mail = sim.mail()
    assert len(mail) == 1
    assert mail[0]["to"] == ["aaaabbbb@example.co.jp"]
    assert mail[0]["subject"] == "【Arcstar Smart PBX】ワンタイムパスワードのお知らせ"
    sent = datetime.fromisoformat(mail[0]["time"])  # ISO 8601 UTC, as every time in /api/*
    assert mail[0]["time"].endswith("Z") and abs(datetime.now(UTC) - sent) < timedelta(minutes=1)
    code = re.search(r"ワンタイムパスワード: ([0-9]{6})", mail[0]["body"])
    assert code
    done = form_client.post("/SmartPBX/Mfa/Code", {"code": code.group(1)})
    assert done.url.path == "/SmartPBX/User/Top"
    sim.reset()
    assert sim.mail() == [] and sim.api("GET", "/api/mfa") == {"enabled": False}


def test_sip_side_tables_are_empty_lists(sim: SimulatorHandle) -> None:
    for path in ("/api/registrations", "/api/pstn/registrations", "/api/calls", "/api/voicemail"):
        assert sim.api("GET", path) == []


def test_openapi_document_lists_every_route(sim: SimulatorHandle) -> None:
    document = sim.api("GET", "/api/openapi.json")
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/health",
        "/api/tenant",
        "/api/reset",
        "/api/settings",
        "/api/lines/{number}",
        "/api/mfa",
        "/api/mail",
        "/api/registrations",
        "/api/pstn/registrations",
        "/api/calls",
        "/api/voicemail",
        "/api/voicemail/{message_id}/audio",
    }


@pytest.mark.slow
def test_settings_survive_kill_9_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "sim.sqlite3"
    with start_simulator(RICH, db=db) as first:
        first.set_line_live("0633334444", True)
        form_client = Browser(first.base_url)
        form_client.post("/SmartPBX/Login", {"login_id": "user30300", "password": "userpass300"})
        form_client.post(
            "/SmartPBX/User/Absence",
            {
                "enabled": "設定",
                "kind": "転送/留守番電話",
                "forward_to": "0311112222",
                "busy": "転送",
            },
        )
        form_client.close()
        saved = first.settings()
        assert "30300" in saved["不在時動作設定"]
        first.kill(signal.SIGKILL)
        assert first.process.returncode == -signal.SIGKILL
    with start_simulator(RICH, db=db) as second:
        assert second.settings() == saved


def test_handle_api_errors_raise_harness_error(sim: SimulatorHandle) -> None:
    with pytest.raises(HarnessError, match="422"):
        sim.put_settings({"外線発信設定": "nope"})


@pytest.mark.parametrize(
    ("query", "name"),
    [("limit=0", "limit"), ("limit=10001", "limit"), ("limit=x", "limit"), ("after=-1", "after")],
)
def test_record_lists_refuse_bad_paging_with_a_clear_400(
    sim: SimulatorHandle, query: str, name: str
) -> None:
    for path in ("/api/calls", "/api/registrations", "/api/voicemail", "/api/pstn/registrations"):
        response = sim.client.get(f"{path}?{query}")
        assert response.status_code == 400
        body = response.json()
        assert name in body["error"] and body["problems"][0]["where"] == name


def test_record_lists_accept_paging(sim: SimulatorHandle) -> None:
    assert sim.client.get("/api/calls?after=0&limit=10").json() == []
    paths = sim.api("GET", "/api/openapi.json")["paths"]
    names = [p["name"] for p in paths["/api/calls"]["get"]["parameters"]]
    assert names == ["after", "limit"]
