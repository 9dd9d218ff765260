"""One set of settings rules: the document, the site's forms and the API give one verdict.

For generated valid settings of the rich tenant, and for the same settings with one mistake
(``MUTATIONS``), the three ways in hold the settings to the same verdict — accepted, or
refused by the same rules (``rule_id``):

- the document: 設定.yaml beside the tenant's ご利用内容.yaml, loaded by ``harness.guide``
  (what ``smartpbx-harness check`` runs);
- the forms: the same values typed into the settings site's pages, row by row, from empty
  settings (in-process over HTTP, as the other tests of tests/sim do); a refused page shows
  the rule ids behind each message (``data-rule-ids``);
- the API: ``PUT /api/settings`` with the document as JSON.

When accepted, all three end with the same settings.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.clock import ManualClock
from harness.errors import InputError
from harness.guide import load_tenant_text
from harness.guide.types import Guide, Settings
from harness.sim.documents import read_tenant
from harness.sim.store import Store
from harness.sim.web import create_app
from harness.strategies.settings import settings_for

from .conftest import ADMIN, RICH, USERS, FakeMailer, PortalTransport, Site, field_rule_ids

GUIDE_TEXT = (RICH / "ご利用内容.yaml").read_text(encoding="utf-8")
GUIDE: Guide = read_tenant(RICH).guide
UNKNOWN = "30399"  # a 内線番号 of the tenant's form that is not in 内線番号情報1
GATEWAY = "30309"  # the rich tenant's VoIP-GW
SLOTS = 4  # メンバー fields on the 追加 page: one per extension a group may hold (not VoIP-GW)

Document = dict[str, Any]
Mutation = Callable[[Document, st.DataObject], None]
"""Changes a valid document in place so that it breaks one rule (adding rows it needs)."""


CANDIDATES = ("30300", "30301", "30302", "30303")  # the extensions a group or 不在時動作 may use
LINES = ("0311112222", "0633334444")


def _rows(document: Document, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = document.setdefault(table, [])
    return rows


def _route(document: Document, data: st.DataObject) -> dict[str, Any]:
    """A row of 外線着信設定 (one is added when there is none)."""
    routes = _rows(document, "外線着信設定")
    if not routes:
        routes.append({"外線番号": data.draw(st.sampled_from(LINES)), "着信先": "30300"})
    return data.draw(st.sampled_from(routes))


def _group(document: Document, data: st.DataObject) -> dict[str, Any]:
    """A 順次着信/一斉着信 group (one is added, on an extension no group has as 代表番号)."""
    groups = [g for g in _rows(document, "着信グループ") if "代表番号" in g]
    if groups:
        return data.draw(st.sampled_from(groups))
    pilots = {g.get("代表番号") for g in _rows(document, "着信グループ")}
    pilot = data.draw(st.sampled_from([e for e in CANDIDATES if e not in pilots]))
    group = {
        "種別": "一斉着信",
        "代表番号": pilot,
        "メンバー": [data.draw(st.sampled_from(CANDIDATES))],
    }
    _rows(document, "着信グループ").append(group)
    return group


def _entry(document: Document, data: st.DataObject, kind: str) -> tuple[str, dict[str, Any]]:
    """(extension, its 不在時動作 of ``kind``): an existing one, or a new one replacing
    whatever the drawn extension had."""
    entries: dict[str, Any] = document.setdefault("不在時動作設定", {})
    chosen = sorted(ext for ext, entry in entries.items() if entry["種別"] == kind)
    if chosen:
        extension = data.draw(st.sampled_from(chosen))
        return extension, entries[extension]
    extension = data.draw(st.sampled_from(CANDIDATES))
    if kind == "転送/留守番電話":
        entries[extension] = {"種別": kind, "転送動作": {"話中": "留守番電話"}}
    else:
        entries[extension] = {
            "種別": kind,
            "接続先番号1": "09011112222",
            "呼出開始時間1": 5,
            "呼出終了時間": 30,
            "留守番電話": False,
        }
    return extension, entries[extension]


def duplicate_inbound(document: Document, data: st.DataObject) -> None:
    first = _route(document, data)
    again = data.draw(st.sampled_from(CANDIDATES))
    _rows(document, "外線着信設定").append({**first, "着信先": again})


def duplicate_outbound(document: Document, data: st.DataObject) -> None:
    rows = _rows(document, "外線発信設定")
    if not rows:
        rows.append({"内線番号": data.draw(st.sampled_from(CANDIDATES)), "発信者番号": LINES[0]})
    first = data.draw(st.sampled_from(rows))
    rows.append({**first, "発信者番号": data.draw(st.sampled_from(LINES))})


def ring_time_out_of_range(document: Document, data: st.DataObject) -> None:
    _, entry = _entry(document, data, "転送/留守番電話")
    actions = entry.setdefault("転送動作", {})
    if actions.get("無応答", "設定しない") == "設定しない":
        actions["無応答"] = "留守番電話"
    entry["呼出時間"] = data.draw(st.sampled_from([0, 4, 31, 99]))


def reach_time_out_of_range(document: Document, data: st.DataObject) -> None:
    _, entry = _entry(document, data, "シングルナンバーリーチ")
    key, value = data.draw(
        st.sampled_from(
            [("呼出開始時間1", 0), ("呼出開始時間1", 31), ("呼出終了時間", 4), ("呼出終了時間", 61)]
        )
    )
    entry[key] = value


def group_ring_time_out_of_range(document: Document, data: st.DataObject) -> None:
    _group(document, data)["呼出時間"] = data.draw(st.sampled_from([4, 61]))


def ring_time_without_no_answer(document: Document, data: st.DataObject) -> None:
    _, entry = _entry(document, data, "転送/留守番電話")
    entry.setdefault("転送動作", {})["無応答"] = "設定しない"
    entry["呼出時間"] = data.draw(st.integers(5, 30))


def unknown_member(document: Document, data: st.DataObject) -> None:
    members = _group(document, data)["メンバー"]
    members[data.draw(st.integers(0, len(members) - 1))] = data.draw(
        st.sampled_from([UNKNOWN, GATEWAY])
    )


def unknown_destination(document: Document, data: st.DataObject) -> None:
    _route(document, data)["着信先"] = UNKNOWN


def absence_for_gateway(document: Document, data: st.DataObject) -> None:
    document.setdefault("不在時動作設定", {})[GATEWAY] = {
        "種別": "シングルナンバーリーチ",
        "接続先番号1": "09011112222",
        "呼出開始時間1": 5,
        "呼出終了時間": 30,
        "留守番電話": False,
    }


def forward_to_self(document: Document, data: st.DataObject) -> None:
    extension, entry = _entry(document, data, "転送/留守番電話")
    entry["転送先電話番号"] = extension


def second_start_without_number(document: Document, data: st.DataObject) -> None:
    _, entry = _entry(document, data, "シングルナンバーリーチ")
    entry.pop("接続先番号2", None)
    entry["呼出開始時間2"] = data.draw(st.integers(1, 30))


MUTATIONS: dict[str, Mutation] = {
    "duplicate 着信先": duplicate_inbound,
    "duplicate 発信者番号": duplicate_outbound,
    "呼出時間 out of range": ring_time_out_of_range,
    "シングルナンバーリーチ time out of range": reach_time_out_of_range,
    "group 呼出時間 out of range": group_ring_time_out_of_range,
    "呼出時間 with 無応答 = 設定しない": ring_time_without_no_answer,
    "unknown or VoIP-GW メンバー": unknown_member,
    "unknown 着信先": unknown_destination,
    "不在時動作 for a VoIP-GW": absence_for_gateway,
    "転送先 is the extension itself": forward_to_self,
    "呼出開始時間2 without 接続先番号2": second_start_without_number,
}


@st.composite
def documents(draw: st.DrawFn, mistake: str) -> Document:
    """A 設定 document of the rich tenant: valid, or with the mistake ``MUTATIONS[mistake]``."""
    document: Document = draw(settings_for(GUIDE)).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    if mistake != "valid":
        MUTATIONS[mistake](document, draw(st.data()))
    return document


# --- the three ways in ------------------------------------------------------------------------

Verdict = tuple[bool, list[str]]
"""(accepted, sorted rule ids of the problems)."""


def by_document(document: Document) -> tuple[Verdict, Settings | None]:
    try:
        tenant = load_tenant_text("rich", GUIDE_TEXT, json.dumps(document, ensure_ascii=False))
    except InputError as error:
        return (False, sorted(str(p.rule_id) for p in error.problems)), None
    return (True, []), tenant.settings


def by_api(site: Site, document: Document) -> Verdict:
    response = site.client.put("/api/settings", json=document)
    if response.status_code == 200:
        return True, []
    assert response.status_code == 422, response.text
    return False, sorted(str(p["rule_id"]) for p in response.json()["problems"])


def _post(site: Site, path: str, form: dict[str, Any], ids: list[str]) -> None:
    response = site.post(path, form)
    if response.status_code in (302, 303) or "設定しました。" in response.text:
        return
    assert response.status_code == 200, (path, response.status_code)
    found = field_rule_ids(response)
    assert found, f"{path} refused {form} without naming a rule: {response.text[:400]}"
    ids += [rule_id for rule_ids in found.values() for rule_id in rule_ids]


def _absence_form(entry: dict[str, Any]) -> dict[str, str]:
    def text(key: str) -> str:
        return "" if key not in entry else str(entry[key])

    if entry["種別"] == "転送/留守番電話":
        actions = entry.get("転送動作", {})
        return {
            "enabled": "設定",
            "kind": "転送/留守番電話",
            "forward_to": text("転送先電話番号"),
            "unconditional": actions.get("無条件", "設定しない"),
            "busy": actions.get("話中", "設定しない"),
            "unreachable": actions.get("圏外", "設定しない"),
            "no_answer": actions.get("無応答", "設定しない"),
            "ring_time": text("呼出時間"),
        }
    return {
        "enabled": "設定",
        "kind": "シングルナンバーリーチ",
        "reach_number_1": text("接続先番号1"),
        "reach_start_1": text("呼出開始時間1"),
        "reach_number_2": text("接続先番号2"),
        "reach_start_2": text("呼出開始時間2"),
        "reach_end": text("呼出終了時間"),
        "voicemail": "on" if entry.get("留守番電話") else "",
    }


def by_forms(make_site: Callable[[], Site], document: Document) -> Verdict:
    """Type the document into the pages, as a person would, starting from no settings."""
    admin = make_site()
    assert admin.client.put("/api/settings", json={}).status_code == 200
    admin.login(*ADMIN)
    ids: list[str] = []
    for group in document.get("着信グループ", []):
        members = group["メンバー"] + [""] * (SLOTS - len(group["メンバー"]))
        form = {
            "kind": group["種別"],
            "pilot": group.get("代表番号", ""),
            "ring_time": str(group.get("呼出時間", "")),
        } | {f"member_{i}": m for i, m in enumerate(members, start=1)}
        _post(admin, "/SmartPBX/Init/Groups/Add", form, ids)
    # One page per 外線番号 / 内線番号: a document's rows for the same one are sent together.
    for table, key, value, path in (
        ("外線着信設定", "外線番号", "着信先", "/SmartPBX/Init/Inbound/{}"),
        ("外線発信設定", "内線番号", "発信者番号", "/SmartPBX/Init/Outbound/{}"),
    ):
        sent: dict[str, list[str]] = {}
        for row in document.get(table, []):
            sent.setdefault(row[key], []).append(row[value])
        field = "destination" if table == "外線着信設定" else "caller_id"
        for number, values in sent.items():
            _post(admin, path.format(number), {field: values}, ids)
    for extension, entry in document.get("不在時動作設定", {}).items():
        user = make_site()
        user.login(*USERS[extension])
        _post(user, "/SmartPBX/User/Absence", _absence_form(entry), ids)
    return not ids, sorted(ids)


API_TOKEN = "one-verdict-test-token"
"""The provisioning API's bearer token for the in-process app (issue 10.5)."""


# --- the property ---------------------------------------------------------------------------


@pytest.fixture
def fresh_site(
    tmp_path_factory: pytest.TempPathFactory,
    loaded_db: Path,
    portal: anyio.from_thread.BlockingPortal,
) -> Iterator[Callable[[], Callable[[], Site]]]:
    """Per example: a fresh copy of the rich tenant's store and a factory of browsers on it."""
    opened: list[httpx.Client] = []
    stores: list[Store] = []

    def fresh() -> Callable[[], Site]:
        path = tmp_path_factory.mktemp("one-verdict") / "sim.sqlite3"
        shutil.copyfile(loaded_db, path)
        store = Store(path)
        stores.append(store)
        app = create_app(store, ManualClock(), FakeMailer(), api_token=API_TOKEN)

        def make() -> Site:
            client = httpx.Client(
                transport=PortalTransport(app, portal),
                base_url="http://127.0.0.1",
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            )
            opened.append(client)
            return Site(client)

        return make

    yield fresh
    for client in opened:
        client.close()
    for store in stores:
        store.close()


def _normalised(document: Document) -> Document:
    """Row order aside (the site lists routes by line and caller IDs by extension)."""
    result = dict(document)
    for table in ("外線着信設定", "外線発信設定"):
        result[table] = sorted(result.get(table, []), key=lambda r: json.dumps(r))
    return result


# A few examples per mistake, more for valid settings: each runs the forms and two stores.
EXAMPLES = {"valid": 8} | {name: 3 for name in MUTATIONS}


@pytest.mark.parametrize("mistake", list(EXAMPLES))
def test_document_forms_and_api_give_one_verdict(
    fresh_site: Callable[[], Callable[[], Site]], mistake: str
) -> None:
    @settings(
        max_examples=EXAMPLES[mistake],
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(document=documents(mistake))
    def one_verdict(document: Document) -> None:
        document_verdict, loaded = by_document(document)
        if mistake == "valid":
            assert document_verdict == (True, []), document_verdict
        else:
            assert not document_verdict[0], f"{mistake}: the document was accepted"
        api_make = fresh_site()
        assert by_api(api_make(), document) == document_verdict
        form_make = fresh_site()
        assert by_forms(form_make, document) == document_verdict
        if loaded is not None:
            expected = loaded.model_dump(mode="json", by_alias=True, exclude_none=True)
            for make in (api_make, form_make):
                saved = make().client.get("/api/settings").json()
                assert _normalised(saved) == _normalised(expected)

    one_verdict()
