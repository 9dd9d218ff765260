"""The PBX across calls: pickup (rule 8), busy from calls in progress, voicemail recordings,
settings snapshots, and the mapping from a tenant's documents to the config."""

from __future__ import annotations

from typing import Any

import pytest

from harness.clock import ManualClock
from harness.errors import InputError
from harness.sim.pbx.call import Call, CallState
from harness.sim.pbx.config import PbxConfig, Presence, ReachConfig, ReachLeg
from harness.sim.pbx.pbx import Pbx
from harness.sim.pbx.routing import ExternalOrigin, InternalOrigin
from harness.sim.pbx.voicemail import Attempt, VoicemailStore
from tests.sim.pbx.fakes import FakeDriver, tenant

PICKUP = {"着信グループ": [{"種別": "コールピックアップ", "メンバー": ["20201", "20202", "20203"]}]}


class Switchboard:
    """A Pbx on a ManualClock; each call gets its own FakeDriver."""

    def __init__(
        self, settings: dict[str, Any] | None = None, unregistered: frozenset[str] = frozenset()
    ):
        self.clock = ManualClock()
        self.unregistered = set(unregistered)
        self.pbx = Pbx(
            config=PbxConfig.from_tenant(tenant(settings)),
            clock=self.clock,
            is_registered=lambda ext: ext not in self.unregistered,
        )
        self.drivers: list[FakeDriver] = []

    def call(self, caller: str, dialled: str) -> tuple[Call, FakeDriver]:
        driver = FakeDriver(clock=self.clock, name=f"c{len(self.drivers) + 1}")
        self.drivers.append(driver)
        call = self.pbx.incoming(
            origin=InternalOrigin(extension=caller), dialled=dialled, driver=driver
        )
        return call, driver

    def answer(self, call: Call, driver: FakeDriver, target: str) -> None:
        call.leg_answered(driver.leg_to(target))


def test_pickup_answers_the_oldest_ringing_call_of_another_member() -> None:
    board = Switchboard(PICKUP)
    first, first_driver = board.call("20205", "20201")
    board.clock.advance(1)
    second, second_driver = board.call("20206", "20203")
    board.clock.advance(1)
    own, own_driver = board.call("20207", "20202")  # rings the picker itself: not a candidate
    board.clock.advance(1)
    picker, picker_driver = board.call("20202", "*8")
    assert first_driver.timeline == ["0 ring 20201", "3 stop 20201", f"3 bridge {picker.id}"]
    assert picker_driver.timeline == [f"3 bridge {first.id}"]
    assert (first.state, picker.state, second.state) == (CallState.CONNECTED,) * 2 + (
        CallState.RINGING,
    )
    assert second_driver.timeline == ["1 ring 20203"]
    assert own_driver.timeline == ["2 ring 20202"]


@pytest.mark.parametrize(
    ("picker", "ringing"),
    [
        pytest.param("20202", None, id="何も鳴っていない"),
        pytest.param("20204", "20201", id="グループ外の内線"),
        pytest.param("20202", "20204", id="グループ外で鳴っている"),
        pytest.param("20201", "20201", id="自分宛ての呼出しは拾わない"),
    ],
)
def test_nothing_to_pick_up(picker: str, ringing: str | None) -> None:
    board = Switchboard(PICKUP)
    if ringing is not None:
        board.call("20205", ringing)
    call, driver = board.call(picker, "*8")
    assert driver.timeline == ["0 release no_pickup"]
    assert call.state is CallState.RELEASED


def test_pickup_code_after_184_still_picks_up() -> None:
    board = Switchboard(PICKUP)
    first, _ = board.call("20205", "20201")
    _, picker_driver = board.call("20203", "184*8")
    assert picker_driver.timeline == [f"0 bridge {first.id}"]


def test_an_extension_in_a_call_is_busy_until_it_hangs_up() -> None:
    settings = {
        "不在時動作設定": {"20201": {"種別": "転送/留守番電話", "転送動作": {"話中": "留守番電話"}}}
    }
    board = Switchboard(settings)
    talking, driver = board.call("20205", "20201")
    board.answer(talking, driver, "20201")
    assert board.pbx.presence("20201") is Presence.BUSY
    assert board.pbx.presence("20205") is Presence.BUSY
    _, second = board.call("20206", "20201")
    _, third = board.call("20207", "20205")
    assert second.timeline == ["0 voicemail 20201"]
    assert third.timeline == ["0 release busy"]
    talking.hung_up()
    assert board.pbx.presence("20201") is Presence.AVAILABLE
    _, fourth = board.call("20206", "20201")
    assert fourth.timeline == ["0 ring 20201"]


def test_a_caller_whose_call_is_ringing_is_busy() -> None:
    board = Switchboard()
    board.call("20205", "20201")
    _, driver = board.call("20206", "20205")
    assert driver.timeline == ["0 release busy"]


def test_unregistered_comes_from_the_registrar_view() -> None:
    board = Switchboard(unregistered={"20201"})
    _, driver = board.call("20205", "20201")
    assert driver.timeline == ["0 release unavailable"]


def test_group_leaves_busy_members_out() -> None:
    group = {
        "着信グループ": [{"種別": "一斉着信", "代表番号": "20209", "メンバー": ["20201", "20202"]}]
    }
    board = Switchboard(group)
    talking, driver = board.call("20205", "20201")
    board.answer(talking, driver, "20201")
    _, group_driver = board.call("20206", "20209")
    assert group_driver.timeline == ["0 ring 20202"]


def test_voicemail_records_caller_time_and_duration() -> None:
    settings = {
        "不在時動作設定": {
            "20201": {
                "種別": "転送/留守番電話",
                "転送動作": {"無応答": "留守番電話"},
                "呼出時間": 10,
            }
        }
    }
    board = Switchboard(settings)
    board.clock.advance(100)
    call, _ = board.call("20205", "20201")
    board.clock.advance(10 + 25)
    call.hung_up()
    (message,) = board.pbx.voicemail.messages("20201")
    assert (message.caller, message.caller_id, message.started_at, message.duration) == (
        "20205",
        "20205",
        110,
        25,
    )
    assert call.state is CallState.ENDED
    assert board.pbx.calls == {}


def test_voicemail_from_a_withheld_outside_caller() -> None:
    settings = {
        "外線着信設定": [{"外線番号": "0312345678", "着信先": "20201"}],
        "不在時動作設定": {
            "20201": {"種別": "転送/留守番電話", "転送動作": {"無条件": "留守番電話"}}
        },
    }
    board = Switchboard(settings)
    driver = FakeDriver(clock=board.clock)
    call = board.pbx.incoming(
        origin=ExternalOrigin(number=None), dialled="0312345678", driver=driver
    )
    call.hung_up()
    (message,) = board.pbx.voicemail.messages("20201")
    assert (message.caller, message.caller_id, message.duration) == (None, None, 0)


def test_new_settings_apply_to_the_next_call_only() -> None:
    board = Switchboard()
    running, running_driver = board.call("20205", "20201")
    board.pbx.config = PbxConfig.from_tenant(
        tenant(
            {
                "不在時動作設定": {
                    "20201": {
                        "種別": "転送/留守番電話",
                        "転送動作": {"無応答": "留守番電話"},
                        "呼出時間": 5,
                    }
                }
            }
        )
    )
    _, next_driver = board.call("20206", "20202")
    board.clock.advance(60)
    assert running_driver.timeline == ["0 ring 20201"]
    running.caller_cancelled()
    _, later = board.call("20206", "20201")
    board.clock.advance(5)
    assert later.timeline == ["60 ring 20201", "65 stop 20201", "65 voicemail 20201"]


@pytest.mark.parametrize("password", ["123", "12345678", "0007"])
def test_voicemail_password_accepts_3_to_8_digits(password: str) -> None:
    store = VoicemailStore()
    store.set_password("20201", password)
    assert store.verify_password("20201", password)
    assert not store.verify_password("20201", password + "9")


@pytest.mark.parametrize("password", ["12", "123456789", "12a4", "", "１２３４"])
def test_voicemail_password_refuses_others_with_the_rule(password: str) -> None:
    with pytest.raises(InputError, match="3–8 digits"):
        VoicemailStore().set_password("20201", password)


def test_config_from_tenant() -> None:
    config = PbxConfig.from_tenant(
        tenant(
            {
                "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345678"}],
                "外線着信設定": [{"外線番号": "0312345679", "着信先": "20209"}],
                "不在時動作設定": {
                    "20201": {"種別": "転送/留守番電話", "転送先電話番号": "090-1111-2222"},
                    "20202": {
                        "種別": "シングルナンバーリーチ",
                        "接続先番号1": "090-1111-2222",
                        "呼出開始時間1": 5,
                        "呼出終了時間": 30,
                    },
                },
            }
        )
    )
    assert config.extensions["21300"].site_number == "21"
    assert config.by_terminal_id("abcde20203") == config.extensions["20203"]
    assert config.forwards["20201"].forward_to == "09011112222"
    assert config.reaches["20202"] == ReachConfig(
        legs=(ReachLeg(number="09011112222", start=5),), end=30, voicemail=False
    )
    assert dict(config.inbound_routes) == {"0312345679": "20209"}
    assert dict(config.outbound_caller_ids) == {"20201": "0312345678"}
    with pytest.raises(TypeError):
        config.forwards["20203"] = config.forwards["20201"]  # type: ignore[index]


def test_voicemail_password_tries_lock_the_mailbox_even_for_the_right_one() -> None:
    store = VoicemailStore()
    store.set_password("20201", "1234")

    assert store.try_password("20201", "0000", limit=3) is Attempt.REFUSED
    assert store.try_password("20201", "1234", limit=3) is Attempt.ACCEPTED  # resets the count
    assert [store.try_password("20201", "0", limit=3) for _ in range(3)] == [
        Attempt.REFUSED,
        Attempt.REFUSED,
        Attempt.LOCKED,
    ]
    assert store.try_password("20201", "1234", limit=3) is Attempt.LOCKED
    assert store.is_locked("20201") and not store.is_locked("20200")
    store.unlock_all()
    assert store.try_password("20201", "1234", limit=3) is Attempt.ACCEPTED
