"""The virtual app's screens (harness.sip.app_screens) against the manual's words (the catalog
quotes them, harness/flows/manual_steps.yaml) and the catalog's automated app steps."""

from __future__ import annotations

import pytest

from harness.flows.catalog import manual_steps, step_by_id
from harness.sip.app import Platform, RegistrationState
from harness.sip.app_screens import (
    ACCOUNT,
    ACCOUNT_FIELDS,
    GREEN_MARK,
    KEYBOARD,
    KEYPAD,
    PHONE_ICON,
    ScreenError,
    indicator,
    screen,
    screens,
    screens_for_step,
    start_screen,
)

SURFACE = {Platform.ANDROID: "android", Platform.IPHONE: "iphone", Platform.WINDOWS: "windows"}
PLATFORMS = tuple(SURFACE)


def manual_text(platform: Platform) -> str:
    """Every catalog text of the platform's pages (P.3 / P.4 / P.5 and its part of P.7)."""
    return "\n".join(s.text for s in manual_steps() if s.surface == SURFACE[platform])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_word_a_screen_shows_is_the_manuals(platform: Platform) -> None:
    text = manual_text(platform)
    missing = {(s.name, word) for s in screens(platform) for word in s.words if word not in text}
    assert not missing, f"words not in the manual's {SURFACE[platform]} steps: {missing}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_buttons_are_shown_words_and_lead_to_screens_of_the_same_app(platform: Platform) -> None:
    names = {s.name for s in screens(platform)}
    assert len(names) == len(screens(platform)), "screen names are unique per platform"
    for shown in screens(platform):
        for label, target in shown.buttons:
            assert label in shown.words + shown.assumed, (shown.name, label)
            assert target in names, (shown.name, label, target)
        assert set(shown.applies) <= {label for label, _ in shown.buttons}, shown.name
        assert not set(shown.words) & set(shown.assumed), shown.name


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_screen_is_reachable_from_where_the_app_opens(platform: Platform) -> None:
    seen = {start_screen(platform).name}
    todo = [start_screen(platform)]
    while todo:
        for _, target in todo.pop().buttons:
            if target not in seen:
                seen.add(target)
                todo.append(screen(platform, target))
    assert seen == {s.name for s in screens(platform)}


def test_every_automated_app_step_has_a_screen_and_screens_name_only_their_platforms_steps() -> (
    None
):
    for step in manual_steps():
        if step.surface in SURFACE.values() and step.scope == "automated":
            assert screens_for_step(step.id), f"{step.id} ({step.label}) has no screen"
    for platform in PLATFORMS:
        for shown in screens(platform):
            for step_id in shown.steps:
                assert step_by_id(step_id).surface == SURFACE[platform], (shown.name, step_id)


def test_the_six_app_ui_steps_are_described_by_their_screens() -> None:
    """The steps once "not covered": 設定画面へ, the push prompt, the keyboard screen, the
    iPhone 設定 tab, the Windows 設定 and 設定一覧."""
    expected = {
        "P3-S2-5": "設定画面へ",
        "P3-S2-8": "プッシュ通知",
        "P3-S2-9": "キーボード画面",
        "P4-S2-5": "アカウント設定",
        "P5-S2-9": "設定",
        "P5-S2-10": "設定一覧",
    }
    for step_id, word in expected.items():
        assert any(word in s.words for s in screens_for_step(step_id)), step_id


def test_account_fields_are_spelled_as_each_page_spells_them() -> None:
    assert ACCOUNT_FIELDS[Platform.IPHONE][0] == "ユーザーID"  # P.4 ※ 「ユーザーID」
    assert ACCOUNT_FIELDS[Platform.ANDROID][0] == "ユーザID"
    for platform in PLATFORMS:
        assert screen(platform, ACCOUNT).fields == ACCOUNT_FIELDS[platform]
    assert "サービスコード" not in ACCOUNT_FIELDS[Platform.WINDOWS]  # P.5 names none


def test_a_tap_on_something_not_shown_names_what_can_be_tapped() -> None:
    launch = start_screen(Platform.ANDROID)
    with pytest.raises(ScreenError, match="there is no 「保存」 to tap .*「設定画面へ」"):
        launch.leads_to("保存")
    with pytest.raises(ScreenError, match="no screen 'nowhere'"):
        screen(Platform.WINDOWS, "nowhere")
    with pytest.raises(ScreenError, match="no app screens"):
        start_screen(Platform.IP_PHONE)


def test_where_each_app_opens_is_the_manuals_first_screen() -> None:
    assert "設定画面へ" in start_screen(Platform.ANDROID).words  # P.3 ⑤
    assert "3G/LTEで通話可能" in start_screen(Platform.IPHONE).words  # the キーボード tab
    assert start_screen(Platform.WINDOWS).buttons == (("設定", "設定一覧"),)  # P.5 ⑨


@pytest.mark.parametrize("state", list(RegistrationState))
def test_the_marks_appear_only_when_registered(state: RegistrationState) -> None:
    registered = state is RegistrationState.REGISTERED
    assert indicator(Platform.ANDROID, KEYBOARD, state) == (PHONE_ICON if registered else None)
    assert indicator(Platform.WINDOWS, KEYPAD, state) == (GREEN_MARK if registered else None)
    assert indicator(Platform.WINDOWS, ACCOUNT, state) is None
    assert indicator(Platform.IPHONE, "キーボード", state) is None
