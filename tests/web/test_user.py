"""端末ユーザ in real Chromium: login and 不在時動作設定 (manual P.6), each variant saved, shown on
the page and visible through the provisioning API (bad values: test_validation.py).

The variants share one login (``user_page``) and put the settings back between tests
(``restored``) instead of resetting, which would end that login."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from harness.pytest_plugin.sim import SimulatorHandle
from harness.web.pages import AbsencePage, Screen, SettingsLoginPage, UserTopPage

from .conftest import USER_20201

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


def _step_of(variant: str) -> str:
    """The manual step (harness/flows/manual_steps.yaml) a variant exercises."""
    if variant == "未設定":
        return "P6-S2-unset"
    return "P6-S2-reach" if variant.startswith("シングルナンバーリーチ") else "P6-S2-forward"


@pytest.mark.manual_step("P6-S1")
def test_terminal_user_login_lands_on_its_own_top_page(
    module_simulator: SimulatorHandle, page: Page
) -> None:
    top = SettingsLoginPage.open(page, module_simulator.base_url).login(*USER_20201)

    assert isinstance(top, UserTopPage)
    assert top.extension() == "20201"
    assert page.get_by_role("link", name="初期設定").count() == 0


@pytest.mark.parametrize(
    "variant",
    [pytest.param(name, marks=pytest.mark.manual_step(_step_of(name))) for name in VARIANTS],
)
def test_absence_variant_is_saved_and_shown(
    restored: SimulatorHandle, user_page: Page, variant: str
) -> None:
    sim = restored
    act, expected = VARIANTS[variant]
    user_top = UserTopPage.open(user_page, sim.base_url)
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
