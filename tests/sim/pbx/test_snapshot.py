"""The PBX config and the registrar's credentials built from the web side's store snapshot
agree with the ones built from the documents; inbound routes need 開通 and 設定 after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.sim.pbx.config import PbxConfig
from harness.sim.pbx.registrar import Algorithm, StoredCredential, credentials_from_snapshot
from harness.sim.store import Store
from tests.sim.pbx.fakes import WORKED_REACH, tenant

SETTINGS = {
    "着信グループ": [
        {"種別": "順次着信", "代表番号": "20209", "メンバー": ["20201", "20202"], "呼出時間": 15},
        {"種別": "コールピックアップ", "メンバー": ["20203", "20204"]},
    ],
    "外線着信設定": [{"外線番号": "0312345678", "着信先": "20209"}],
    "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345678"}],
    "不在時動作設定": {
        "20201": {
            "種別": "転送/留守番電話",
            "転送先電話番号": "090-1111-2222",
            "転送動作": {"話中": "転送", "無応答": "留守番電話"},
            "呼出時間": 15,
        },
        "20202": WORKED_REACH,
    },
}


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store()
    store.load_tenant(tenant(SETTINGS))
    yield store
    store.close()


def test_snapshot_config_equals_document_config_once_lines_are_live(store: Store) -> None:
    for number in ("0312345678", "0312345679"):
        store.set_line_live(number, True)
    assert store.set_inbound_route("0312345678", "20209")
    from_store = PbxConfig.from_snapshot(store.routing_snapshot())
    from_documents = PbxConfig.from_tenant(tenant(SETTINGS))
    assert from_store == from_documents


def test_route_set_before_line_live_is_not_in_force_until_set_again(store: Store) -> None:
    store.set_line_live("0312345678", False)
    assert not store.set_inbound_route("0312345678", "20209")  # 接続エラー
    assert "0312345678" not in PbxConfig.from_snapshot(store.routing_snapshot()).inbound_routes
    store.set_line_live("0312345678", True)
    assert "0312345678" not in PbxConfig.from_snapshot(store.routing_snapshot()).inbound_routes
    assert store.set_inbound_route("0312345678", "20209")  # 設定 pressed again
    routes = PbxConfig.from_snapshot(store.routing_snapshot()).inbound_routes
    assert dict(routes) == {"0312345678": "20209"}


def test_registrar_credentials_from_snapshot(store: Store) -> None:
    credentials = credentials_from_snapshot(store.routing_snapshot())
    realm = "01234abc.smart-pbx.jp"
    expected = StoredCredential.from_password(
        terminal_id="abcde20203", realm=realm, password="Password1"
    )
    assert credentials["abcde20203"] == expected
    assert set(credentials["abcde20203"].ha1) == set(Algorithm)
    assert len(credentials) == 11
