"""端末ユーザ in real Chromium: login and 不在時動作設定 (manual P.6), each variant saved and shown
through the provisioning API; every validation rule shown beside its field with nothing saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from harness.pytest_plugin.sim import SimulatorHandle
from harness.web.pages import AbsencePage, Screen, UserTopPage

pytestmark = pytest.mark.browser

SetAbsence = Callable[[AbsencePage], Screen]

# (what the person does on the page, what GET /api/settings then holds for 20201)
VARIANTS: dict[str, tuple[SetAbsence, dict[str, Any] | None]] = {
    "転送 on 無応答 and 話中, 留守番電話 on 圏外": (
        lambda page: page.set_absence_forwarding(
            "090-1111-2222", {"話中": "転送", "圏外": "留守番電話", "無応答": "転送"}, 15
        ),
        {
            "種別": "転送/留守番電話",
            "転送先電話番号": "09011112222",
            "転送動作": {
                "無条件": "設定しない",
                "話中": "転送",
                "圏外": "留守番電話",
                "無応答": "転送",
            },
            "呼出時間": 15,
        },
    ),
    "無条件 転送, no 呼出時間": (
        lambda page: page.set_absence_forwarding("0311112222", {"無条件": "転送"}, None),
        {
            "種別": "転送/留守番電話",
            "転送先電話番号": "0311112222",
            "転送動作": {
                "無条件": "転送",
                "話中": "設定しない",
                "圏外": "設定しない",
                "無応答": "設定しない",
            },
        },
    ),
    "留守番電話 only on 無応答": (
        lambda page: page.set_absence_forwarding("", {"無応答": "留守番電話"}, 30),
        {
            "種別": "転送/留守番電話",
            "転送動作": {
                "無条件": "設定しない",
                "話中": "設定しない",
                "圏外": "設定しない",
                "無応答": "留守番電話",
            },
            "呼出時間": 30,
        },
    ),
    "シングルナンバーリーチ with two numbers and 留守番電話": (
        lambda page: page.set_single_number_reach("09011112222", 5, "0311112222", 10, 30, True),
        {
            "種別": "シングルナンバーリーチ",
            "接続先番号1": "09011112222",
            "呼出開始時間1": 5,
            "接続先番号2": "0311112222",
            "呼出開始時間2": 10,
            "呼出終了時間": 30,
            "留守番電話": True,
        },
    ),
    "シングルナンバーリーチ with one number, no 留守番電話": (
        lambda page: page.set_single_number_reach("090-3333-4444", 1, None, None, 60, False),
        {
            "種別": "シングルナンバーリーチ",
            "接続先番号1": "09033334444",
            "呼出開始時間1": 1,
            "呼出終了時間": 60,
            "留守番電話": False,
        },
    ),
    "未設定": (lambda page: page.clear_absence(), None),
}


@pytest.mark.manual_step("P.6 【Step1】【Step2】")
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_absence_variant_is_saved_and_shown(
    sim: SimulatorHandle, user_top: UserTopPage, variant: str
) -> None:
    act, expected = VARIANTS[variant]
    assert user_top.extension() == "20201"
    absence = user_top.open_absence_settings()

    result = act(absence)

    assert isinstance(result, AbsencePage)
    assert result.field_errors() == {}
    assert "設定しました。" in result.messages()
    assert sim.settings()["不在時動作設定"].get("20201") == expected
    # What the page shows after a fresh visit is what was saved.
    shown = AbsencePage.open(result.page, sim.base_url).shown()
    assert shown.enabled is (expected is not None)
    if expected is not None and expected["種別"] == "シングルナンバーリーチ":
        assert shown.reach_number_1 == expected["接続先番号1"]
        assert shown.voicemail is expected["留守番電話"]
    elif expected is not None:
        assert shown.actions == expected["転送動作"]
    assert shown.voicemail_password.isdigit() and 3 <= len(shown.voicemail_password) <= 8


def _forward(
    forward_to: str = "09011112222",
    actions: dict[str, str] | None = None,
    ring_time: int | str | None = 15,
) -> SetAbsence:
    chosen = {"無応答": "転送"} if actions is None else actions
    return lambda page: page.set_absence_forwarding(forward_to, chosen, ring_time)


def _reach(
    number_1: str = "09011112222",
    start_1: int | str = 5,
    number_2: str | None = None,
    start_2: int | str | None = None,
    end: int | str = 30,
) -> SetAbsence:
    return lambda page: page.set_single_number_reach(
        number_1, start_1, number_2, start_2, end, True
    )


# field label → (a bad entry, words its message must contain); one row per rule of DOMAIN.md.
BAD_VALUES: list[tuple[str, SetAbsence, str, str]] = [
    ("転送先 letters", _forward(forward_to="090-abcd-2222"), "転送先電話番号", "32"),
    ("転送先 33 chars", _forward(forward_to="0" * 33), "転送先電話番号", "32"),
    ("転送先 own extension", _forward(forward_to="20201"), "転送先電話番号", "自分の内線番号"),
    ("転送先 missing for 転送", _forward(forward_to=""), "転送先電話番号", ""),
    ("呼出時間 4", _forward(ring_time=4), "呼出時間", "5〜30"),
    ("呼出時間 31", _forward(ring_time=31), "呼出時間", "5〜30"),
    ("呼出時間 not a number", _forward(ring_time="1O"), "呼出時間", "整数"),
    ("呼出時間 missing with 無応答", _forward(ring_time=None), "呼出時間", ""),
    ("接続先番号1 missing", _reach(number_1=""), "接続先番号1", ""),
    ("接続先番号1 letters", _reach(number_1="abc"), "接続先番号1", "32"),
    ("接続先番号2 33 chars", _reach(number_2="1" * 33, start_2=10), "接続先番号2", "32"),
    ("呼出開始時間1 0", _reach(start_1=0), "呼出開始時間1", "1〜30"),
    ("呼出開始時間1 31", _reach(start_1=31), "呼出開始時間1", "1〜30"),
    ("呼出開始時間2 without 接続先番号2", _reach(start_2=10), "呼出開始時間2", "接続先番号2"),
    ("呼出開始時間2 missing", _reach(number_2="0311112222"), "呼出開始時間2", ""),
    ("呼出終了時間 4", _reach(end=4), "呼出終了時間", "5〜60"),
    ("呼出終了時間 61", _reach(end=61), "呼出終了時間", "5〜60"),
]


@pytest.mark.parametrize(
    ("act", "field", "words"),
    [pytest.param(act, field, words, id=name) for name, act, field, words in BAD_VALUES],
)
def test_bad_absence_value_is_refused_beside_its_field(
    module_simulator: SimulatorHandle, user_page: Page, act: SetAbsence, field: str, words: str
) -> None:
    before = module_simulator.settings()
    result = act(AbsencePage.open(user_page, module_simulator.base_url))

    assert isinstance(result, AbsencePage)
    errors = result.field_errors()
    assert field in errors, errors
    assert words in errors[field]
    assert "設定しました。" not in result.messages()
    assert module_simulator.settings() == before
