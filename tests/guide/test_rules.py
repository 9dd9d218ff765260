"""Rules one by one, at their boundaries: the value just inside is accepted, the value just
outside is refused with the field named. (Every rule's refusal with a full message is also
covered by fixtures/ご利用内容/broken/ — see test_broken.py.)"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.errors import InputError
from harness.guide import ForwardAbsence, SingleNumberReach, Tenant, load_tenant_text
from harness.guide.dump import to_yaml
from harness.guide.rules import RULES

GUIDE: dict[str, Any] = {
    "お客様情報": {"ご注文内容": "新設", "内線サーバアドレス": "01234abc.smart-pbx.jp"},
    "管理者アカウント": {"ログインID": "adm01234abc", "パスワード": "Adm1nPass01"},
    "内線番号情報1": [
        {"No": n, "拠点番号": "20", "端末番号": t, "端末ID": f"abcde20{t}", "パスワード": "Pw",
         "端末種別": kind}
        for n, t, kind in [(1, "200", "スマートフォン"), (2, "201", "ソフトフォン"),
                           (3, "202", "IP Phone"), (4, "290", "VoIP-GW")]
    ],
    "内線番号情報2": [
        {"No": 1, "拠点番号": "20", "端末番号": "200", "ログインID": "aaaabbbb",
         "パスワード": "ccccddd1"}
    ],
    "外線番号情報": [{"No": 1, "外線番号": "0312345678", "種別": "IP Voice for SmartPBX"}],
}  # fmt: skip


def load(guide: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> Tenant:
    return load_tenant_text(
        "t", to_yaml(guide or GUIDE), None if settings is None else to_yaml(settings)
    )


def refused(guide: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> str:
    with pytest.raises(InputError) as caught:
        load(guide, settings)
    return str(caught.value)


def with_terminal(**changes: Any) -> dict[str, Any]:
    guide = copy.deepcopy(GUIDE)
    guide["内線番号情報1"][1].update(changes)
    return guide


def forward(**fields: Any) -> dict[str, Any]:
    return {"不在時動作設定": {"20201": {"種別": "転送/留守番電話", **fields}}}


def reach(**fields: Any) -> dict[str, Any]:
    base = {"種別": "シングルナンバーリーチ", "接続先番号1": "09011112222", "呼出開始時間1": 5,
            "呼出終了時間": 30}  # fmt: skip
    return {"不在時動作設定": {"20201": {**base, **fields}}}


def group(**fields: Any) -> dict[str, Any]:
    return {
        "着信グループ": [{"種別": "順次着信", "代表番号": "20200", "メンバー": ["20201"], **fields}]
    }


def test_rules_are_listed_once() -> None:
    assert len(RULES) == len(set(RULES)) >= 30


def test_base_documents_are_valid() -> None:
    tenant = load(settings={})
    assert tenant.extensions == ["20200", "20201", "20202", "20290"]


# --- numbering ---------------------------------------------------------------------------------


def test_eleven_digit_parts_make_a_22_digit_extension() -> None:
    guide = copy.deepcopy(GUIDE)
    guide["内線番号情報1"] = [
        {**row, "拠点番号": "1" * 11, "端末番号": f"{i:011d}"}
        for i, row in enumerate(guide["内線番号情報1"])
    ]
    guide["内線番号情報2"] = []
    tenant = load(guide)
    assert len(tenant.extensions[0]) == 22
    assert tenant.site_of(tenant.extensions[1]) == "1" * 11


@pytest.mark.parametrize("key", ["拠点番号", "端末番号"])
def test_twelve_digit_part_is_refused(key: str) -> None:
    assert f"row 2 (No: 2) › {key}" in refused(with_terminal(**{key: "1" * 12}))


def test_leading_zeros_are_kept() -> None:
    guide = copy.deepcopy(GUIDE)
    for row in guide["内線番号情報1"]:
        row["拠点番号"] = "02"
    guide["内線番号情報2"][0]["拠点番号"] = "02"
    assert load(guide).extensions[0] == "02200"


def test_ip_phone_spelling_is_accepted() -> None:
    tenant = load(with_terminal(端末種別="IP-Phone"))
    assert tenant.terminal_for("20201").terminal_kind == "IP Phone"


def test_number_as_yaml_int_asks_for_quotes() -> None:
    message = refused(with_terminal(端末番号=201))
    assert 'write 端末番号: "201"' in message


@pytest.mark.parametrize("password", ["abcdefg1", "a" * 39 + "1"])
def test_web_password_lengths_8_and_40_pass(password: str) -> None:
    guide = copy.deepcopy(GUIDE)
    guide["内線番号情報2"][0]["パスワード"] = password
    assert load(guide).terminal_user_for("20200") is not None


@pytest.mark.parametrize("password", ["abcdef1", "a" * 40 + "1", "12345678", "abcdefgh"])
def test_bad_web_passwords_are_refused(password: str) -> None:
    guide = copy.deepcopy(GUIDE)
    guide["内線番号情報2"][0]["パスワード"] = password
    assert "内線番号情報2 › row 1 (No: 1) › パスワード" in refused(guide)


@pytest.mark.parametrize("number", ["0312345678", "09012345678"])
def test_external_numbers_of_10_and_11_digits_pass(number: str) -> None:
    guide = copy.deepcopy(GUIDE)
    guide["外線番号情報"][0]["外線番号"] = number
    assert load(guide).external_numbers == [number]


@pytest.mark.parametrize("number", ["312345678", "031234567890", "03-1234-5678"])
def test_malformed_external_numbers_are_refused(number: str) -> None:
    guide = copy.deepcopy(GUIDE)
    guide["外線番号情報"][0]["外線番号"] = number
    assert "外線番号情報 › row 1 (No: 1) › 外線番号" in refused(guide)


# --- groups -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [5, 60])
def test_group_ring_time_bounds_pass(seconds: int) -> None:
    assert load(settings=group(呼出時間=seconds)).settings.ring_groups[0].ring_time == seconds


@pytest.mark.parametrize("seconds", [4, 61])
def test_group_ring_time_out_of_bounds_is_refused(seconds: int) -> None:
    assert "着信グループ › row 1 › 呼出時間" in refused(settings=group(呼出時間=seconds))


def test_group_ring_time_defaults_to_20() -> None:
    assert load(settings=group()).settings.ring_groups[0].ring_time == 20


def test_pilot_may_be_its_own_member() -> None:
    tenant = load(settings=group(メンバー=["20200", "20201"]))
    assert tenant.group_with_pilot("20200") is not None


def test_extension_may_be_in_a_ring_group_and_a_pickup_group() -> None:
    settings = group()
    settings["着信グループ"].append({"種別": "コールピックアップ", "メンバー": ["20201", "20202"]})
    tenant = load(settings=settings)
    assert tenant.pickup_group_of("20201") is not None


def test_inbound_route_to_a_pilot_passes() -> None:
    settings = group()
    settings["外線着信設定"] = [{"外線番号": "0312345678", "着信先": "20200"}]
    assert load(settings=settings).inbound_destination("0312345678") == "20200"


def test_inbound_route_to_the_gateway_is_allowed() -> None:
    settings = {"外線着信設定": [{"外線番号": "0312345678", "着信先": "20290"}]}
    assert load(settings=settings).inbound_destination("0312345678") == "20290"


# --- 転送/留守番電話 ---------------------------------------------------------------------------


def test_hyphens_are_stripped_from_forward_to() -> None:
    tenant = load(settings=forward(転送先電話番号="090-1111-2222", 転送動作={"無条件": "転送"}))
    absence = tenant.absence_of("20201")
    assert isinstance(absence, ForwardAbsence) and absence.forward_to == "09011112222"


def test_forward_to_of_32_characters_passes_and_33_fails() -> None:
    ok = "0" * 20 + "-" * 12
    assert load(settings=forward(転送先電話番号=ok, 転送動作={"無条件": "転送"}))
    assert "20201 › 転送先電話番号" in refused(
        settings=forward(転送先電話番号=ok + "0", 転送動作={"無条件": "転送"})
    )


def test_forward_to_another_extension_passes() -> None:
    tenant = load(settings=forward(転送先電話番号="20202", 転送動作={"話中": "転送"}))
    assert tenant.absence_of("20201") is not None


@pytest.mark.parametrize("seconds", [5, 30])
def test_forward_ring_time_bounds_pass(seconds: int) -> None:
    settings = forward(転送動作={"無応答": "留守番電話"}, 呼出時間=seconds)
    absence = load(settings=settings).absence_of("20201")
    assert isinstance(absence, ForwardAbsence) and absence.ring_time == seconds


@pytest.mark.parametrize("seconds", [4, 31])
def test_forward_ring_time_out_of_bounds_is_refused(seconds: int) -> None:
    settings = forward(転送動作={"無応答": "留守番電話"}, 呼出時間=seconds)
    assert "不在時動作設定 › 20201 › 呼出時間" in refused(settings=settings)


def test_voicemail_only_needs_no_forward_to() -> None:
    settings = forward(転送動作={"話中": "留守番電話", "圏外": "留守番電話"})
    absence = load(settings=settings).absence_of("20201")
    assert isinstance(absence, ForwardAbsence) and absence.forward_to is None


def test_actions_default_to_none() -> None:
    absence = load(settings=forward()).absence_of("20201")
    assert isinstance(absence, ForwardAbsence)
    assert not absence.actions.any_forward()
    assert absence.actions.no_answer == "設定しない"


# --- シングルナンバーリーチ ------------------------------------------------------------------


def test_reach_misspelling_is_normalised() -> None:
    absence = load(settings=reach(種別="シングルナンバーリッチ")).absence_of("20201")
    assert isinstance(absence, SingleNumberReach) and absence.kind == "シングルナンバーリーチ"


@pytest.mark.parametrize(
    ("key", "low", "high"), [("呼出開始時間1", 1, 30), ("呼出終了時間", 5, 60)]
)
def test_reach_time_bounds(key: str, low: int, high: int) -> None:
    assert load(settings=reach(**{key: low})) and load(settings=reach(**{key: high}))
    for bad in (low - 1, high + 1):
        assert f"20201 › {key}" in refused(settings=reach(**{key: bad}))


def test_second_reach_number_with_its_start_passes() -> None:
    settings = reach(接続先番号2="03-1111-2222", 呼出開始時間2=30)
    absence = load(settings=settings).absence_of("20201")
    assert isinstance(absence, SingleNumberReach)
    assert (absence.reach_number_2, absence.reach_start_2) == ("0311112222", 30)


def test_start_2_without_number_2_is_refused() -> None:
    assert "20201 › 呼出開始時間2" in refused(settings=reach(呼出開始時間2=10))


def test_voicemail_must_be_a_boolean() -> None:
    assert "20201 › 留守番電話" in refused(settings=reach(留守番電話="true"))
