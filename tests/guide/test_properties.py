"""Property tests: (a) every generated valid tenant survives dump → YAML → load unchanged;
(b) breaking one rule of a valid tenant is refused, and the message names the broken field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InputError
from harness.guide import ForwardAbsence, GroupKind, Tenant, load_tenant, load_tenant_text
from harness.guide.dump import as_document, documents, to_yaml, write_tenant
from harness.strategies.tenants import tenants

UNKNOWN = "9" * 22  # 22 digits: a well-formed 内線番号 no generated tenant has

Doc = dict[str, Any]
# A mutation breaks one rule in the raw documents and returns the location the message must
# name, or None when the tenant has nothing to break that way.
Mutation = Callable[[Doc, Doc, Tenant, st.DataObject], str | None]

T1 = "ご利用内容.yaml › 内線番号情報1"
T2 = "ご利用内容.yaml › 内線番号情報2"
LINES = "ご利用内容.yaml › 外線番号情報"
GROUPS = "設定.yaml › 着信グループ"
ABSENCE = "設定.yaml › 不在時動作設定"


@given(tenants())
def test_valid_tenant_round_trips_through_yaml(tenant: Tenant) -> None:
    guide, settings = documents(tenant)
    assert load_tenant_text(tenant.name, guide, settings) == tenant


def test_round_trip_through_files(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "multisite"
    tenant = load_tenant(sample)
    assert load_tenant(write_tenant(tenant, tmp_path)) == tenant


def _row(table: str, index: int) -> str:
    return f"{table} › row {index + 1} (No: {index + 1})"


def _pick(data: st.DataObject, size: int, start: int = 0) -> int:
    return data.draw(st.integers(start, size - 1))


def duplicate_terminal_id(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = g["内線番号情報1"]
    if len(rows) < 2:
        return None
    i = _pick(data, len(rows), 1)
    rows[i]["端末ID"] = rows[0]["端末ID"]
    return f"{_row(T1, i)} › 端末ID"


def site_number_as_int(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    i = _pick(data, len(g["内線番号情報1"]))
    g["内線番号情報1"][i]["拠点番号"] = int(g["内線番号情報1"][i]["拠点番号"])
    return f"{_row(T1, i)} › 拠点番号"


def site_number_too_long(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    i = _pick(data, len(g["内線番号情報1"]))
    g["内線番号情報1"][i]["拠点番号"] = "1" * 12
    return f"{_row(T1, i)} › 拠点番号"


def terminal_number_other_length(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = g["内線番号情報1"]
    if len(rows) < 2:
        return None
    i = _pick(data, len(rows), 1)
    rows[i]["端末番号"] += "0"
    return f"{_row(T1, i)} › 端末番号"


def unknown_terminal_kind(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    i = _pick(data, len(g["内線番号情報1"]))
    g["内線番号情報1"][i]["端末種別"] = "FAX"
    return f"{_row(T1, i)} › 端末種別"


def unknown_key(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    i = _pick(data, len(g["内線番号情報1"]))
    g["内線番号情報1"][i]["端末名"] = "受付"
    return f"{_row(T1, i)} › 端末名"


def duplicate_no(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = g["内線番号情報1"]
    if len(rows) < 2:
        return None
    i = _pick(data, len(rows), 1)
    rows[i]["No"] = 1
    return f"{T1} › row {i + 1} (No: 1) › No"


def web_password_without_digit(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = g["内線番号情報2"]
    if not rows:
        return None
    i = _pick(data, len(rows))
    rows[i]["パスワード"] = "abcdefgh"
    return f"{_row(T2, i)} › パスワード"


def external_number_with_hyphens(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = g["外線番号情報"]
    if not rows:
        return None
    i = _pick(data, len(rows))
    number = rows[i]["外線番号"]
    rows[i]["外線番号"] = f"{number[:3]}-{number[3:]}"
    return f"{_row(LINES, i)} › 外線番号"


def group_ring_time_out_of_range(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = s["着信グループ"]
    if not rows:
        return None
    i = _pick(data, len(rows))
    rows[i]["呼出時間"] = data.draw(st.integers(-5, 4) | st.integers(61, 1000))
    return f"{GROUPS} › row {i + 1} › 呼出時間"


def unknown_pilot(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    with_pilot = [i for i, r in enumerate(s["着信グループ"]) if "代表番号" in r]
    if not with_pilot:
        return None
    i = data.draw(st.sampled_from(with_pilot))
    s["着信グループ"][i]["代表番号"] = UNKNOWN
    return f"{GROUPS} › row {i + 1} › 代表番号"


def member_as_int(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = s["着信グループ"]
    if not rows:
        return None
    i = _pick(data, len(rows))
    rows[i]["メンバー"][0] = int(rows[i]["メンバー"][0])
    return f"{GROUPS} › row {i + 1} › メンバー › item 1"


def pilot_on_pickup(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    pickups = [i for i, r in enumerate(s["着信グループ"]) if r["種別"] == GroupKind.PICKUP]
    if not pickups:
        return None
    i = data.draw(st.sampled_from(pickups))
    s["着信グループ"][i]["代表番号"] = s["着信グループ"][i]["メンバー"][0]
    return f"{GROUPS} › row {i + 1} › 代表番号"


def inbound_to_unknown(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = s["外線着信設定"]
    if not rows:
        return None
    i = _pick(data, len(rows))
    rows[i]["着信先"] = UNKNOWN
    return f"設定.yaml › 外線着信設定 › row {i + 1} › 着信先"


def caller_id_not_a_line(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    rows = s["外線発信設定"]
    if not rows:
        return None
    i = _pick(data, len(rows))
    rows[i]["発信者番号"] = next(
        n
        for n in ("0120000000", "0120000001", "0120000002", "0120000003", "0120000004")
        if n not in t.external_numbers
    )
    return f"設定.yaml › 外線発信設定 › row {i + 1} › 発信者番号"


def absence_for_unknown_extension(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    s["不在時動作設定"][UNKNOWN] = {"種別": "転送/留守番電話", "転送動作": {"話中": "留守番電話"}}
    return f"{ABSENCE} › {UNKNOWN}"


def _timed_forwards(t: Tenant) -> list[str]:
    """Extensions whose 転送/留守番電話 has a 呼出時間."""
    return [
        e
        for e, a in t.settings.absence.items()
        if isinstance(a, ForwardAbsence) and a.ring_time is not None
    ]


def absence_ring_time_out_of_range(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    timed = _timed_forwards(t)
    if not timed:
        return None
    ext = data.draw(st.sampled_from(timed))
    s["不在時動作設定"][ext]["呼出時間"] = data.draw(st.integers(-5, 4) | st.integers(31, 500))
    return f"{ABSENCE} › {ext} › 呼出時間"


def absence_ring_time_dropped(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    timed = _timed_forwards(t)
    if not timed:
        return None
    ext = data.draw(st.sampled_from(timed))
    del s["不在時動作設定"][ext]["呼出時間"]
    return f"{ABSENCE} › {ext} › 呼出時間"


def reach_end_out_of_range(g: Doc, s: Doc, t: Tenant, data: st.DataObject) -> str | None:
    reach = [e for e, a in t.settings.absence.items() if not isinstance(a, ForwardAbsence)]
    if not reach:
        return None
    ext = data.draw(st.sampled_from(reach))
    s["不在時動作設定"][ext]["呼出終了時間"] = data.draw(st.integers(-5, 4) | st.integers(61, 500))
    return f"{ABSENCE} › {ext} › 呼出終了時間"


MUTATIONS: list[Mutation] = [
    duplicate_terminal_id,
    site_number_as_int,
    site_number_too_long,
    terminal_number_other_length,
    unknown_terminal_kind,
    unknown_key,
    duplicate_no,
    web_password_without_digit,
    external_number_with_hyphens,
    group_ring_time_out_of_range,
    unknown_pilot,
    member_as_int,
    pilot_on_pickup,
    inbound_to_unknown,
    caller_id_not_a_line,
    absence_for_unknown_extension,
    absence_ring_time_out_of_range,
    absence_ring_time_dropped,
    reach_end_out_of_range,
]


def _refused_naming(tenant: Tenant, g: Doc, s: Doc, where: str, name: str) -> None:
    with pytest.raises(InputError) as caught:
        load_tenant_text(tenant.name, to_yaml(g), to_yaml(s))
    wheres = [p.where for p in caught.value.problems]
    assert any(w.startswith(where) for w in wheres), (name, where, wheres)


@given(tenants(), st.data())
def test_one_broken_rule_is_refused_naming_the_field(tenant: Tenant, data: st.DataObject) -> None:
    g, s = as_document(tenant.guide), as_document(tenant.settings)
    # Try the mutations in a drawn order; the first that applies to this tenant breaks it
    # (some always apply, e.g. site_number_as_int).
    for mutation in data.draw(st.permutations(MUTATIONS), label="order"):
        where = mutation(g, s, tenant, data)
        if where is not None:
            _refused_naming(tenant, g, s, where, mutation.__name__)
            return
    raise AssertionError("no mutation applied")


MULTISITE = Path(__file__).resolve().parents[2] / "fixtures" / "ご利用内容" / "multisite"


@pytest.fixture(scope="module")
def multisite() -> Tenant:
    return load_tenant(MULTISITE)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.__name__ for m in MUTATIONS])
@settings(max_examples=10)  # the choices per mutation are few: which row, which bad value
@given(data=st.data())
def test_every_mutation_applies_to_multisite_and_is_refused(
    multisite: Tenant, mutation: Mutation, data: st.DataObject
) -> None:
    tenant = multisite
    g, s = as_document(tenant.guide), as_document(tenant.settings)
    where = mutation(g, s, tenant, data)
    assert where is not None, f"{mutation.__name__} found nothing to break in multisite"
    _refused_naming(tenant, g, s, where, mutation.__name__)
