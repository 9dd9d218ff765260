"""Every named fault changes the behaviour it claims, and nothing when it is off.

Each test runs the same situation twice — with no fault (DOMAIN.md's behaviour, the simulator as
without faults) and with its one fault on — and states both outcomes: the call engine on a
ManualClock (timelines read like DOMAIN.md's worked timelines, ``"15 ring 20201"``), the
store-backed SIP service over a real store, the registrar's digest exchange, the web site
through its ASGI app. ``@shows(FAULT)`` registers the test of a fault; a fault of the registry
without one fails ``test_every_fault_has_a_test_showing_it``.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from harness.clock import ManualClock
from harness.guide.types import Settings
from harness.sim import faults as F
from harness.sim.faults import FAULTS, NO_FAULTS, Fault, Faults
from harness.sim.pbx.call import Call, LegFailure
from harness.sim.pbx.config import PbxConfig
from harness.sim.pbx.pbx import Pbx
from harness.sim.pbx.registrar import ContactRequest, RegisterRequest, Registrar
from harness.sim.pbx.routing import ExternalOrigin, InternalOrigin, Origin
from harness.sim.pbx.service import StoreSipService
from harness.sim.server import ServiceContext
from harness.sim.store import Store
from harness.sim.web import create_app
from tests.sim.conftest import USERS, FakeMailer, Site, field_errors
from tests.sim.pbx.fakes import WORKED_REACH, FakeDriver, tenant
from tests.sim.pbx.sip_phones import run
from tests.sim.pbx.test_registrar import ID, SOURCE, make_registrar, register

T = TypeVar("T", bound=Callable[..., None])

SHOWN: dict[str, str] = {}
"""Fault name → the test that shows it."""


def shows(fault: Fault) -> Callable[[T], T]:
    """Register the decorated test as the one showing ``fault``."""

    def mark(test: T) -> T:
        assert fault.name not in SHOWN, f"{fault.name} has two tests"
        SHOWN[fault.name] = test.__name__
        return test

    return mark


def on(fault: Fault) -> Faults:
    return Faults(frozenset({fault}))


# --- the call engine ----------------------------------------------------------------------------


@dataclass
class Board:
    """A Pbx of fakes.tenant() (20200–20209, 21300; lines 0312345678, 0312345679) on a
    ManualClock; ``unregistered`` extensions have no registration."""

    faults: Faults
    settings: dict[str, Any] = field(default_factory=dict)
    unregistered: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.clock = ManualClock()
        self.pbx = Pbx(
            config=PbxConfig.from_tenant(tenant(self.settings)),
            clock=self.clock,
            is_registered=lambda ext: ext not in self.unregistered,
            faults=self.faults,
        )
        self.drivers: list[FakeDriver] = []

    def call(self, dialled: str, caller: str | Origin = "20209") -> tuple[Call, FakeDriver]:
        driver = FakeDriver(clock=self.clock, name=f"c{len(self.drivers) + 1}")
        self.drivers.append(driver)
        origin = InternalOrigin(extension=caller) if isinstance(caller, str) else caller
        return self.pbx.incoming(origin=origin, dialled=dialled, driver=driver), driver


def play(
    faults: Faults,
    settings: dict[str, Any],
    dialled: str,
    *,
    caller: str | Origin = "20209",
    until: float = 60,
    unregistered: frozenset[str] = frozenset(),
    busy: str | None = None,
) -> FakeDriver:
    """One call nobody answers, played to ``until`` s; ``busy`` is in a call (calling 20208)."""
    board = Board(faults, settings, unregistered)
    if busy is not None:
        board.call("20208", caller=busy)
    _, driver = board.call(dialled, caller)
    board.clock.advance(until)
    return driver


def both(settings: dict[str, Any], dialled: str, fault: Fault, **kw: Any) -> tuple[list[str], ...]:
    """The timelines without and with ``fault``."""
    return (
        play(NO_FAULTS, settings, dialled, **kw).timeline,
        play(on(fault), settings, dialled, **kw).timeline,
    )


def group(kind: str, members: list[str], **extra: Any) -> dict[str, Any]:
    return {"着信グループ": [{"種別": kind, "代表番号": "20200", "メンバー": members, **extra}]}


def forward(extension: str, *, ring_time: int | None = 15, **actions: str) -> dict[str, Any]:
    """転送/留守番電話 for ``extension``, 転送先 20205; ``actions``: 無条件=…, 話中=…"""
    entry: dict[str, Any] = {"種別": "転送/留守番電話", "転送先電話番号": "20205"}
    entry["転送動作"] = actions
    if ring_time is not None:
        entry["呼出時間"] = ring_time
    return {"不在時動作設定": {extension: entry}}


OUTBOUND = {"外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345679"}]}


@shows(F.SEQUENTIAL_OUT_OF_ORDER)
def test_sequential_out_of_order() -> None:
    normal, faulty = both(
        group("順次着信", ["20201", "20202", "20203"]), "20200", F.SEQUENTIAL_OUT_OF_ORDER
    )
    rang = [line for line in normal if " ring " in line]
    assert rang == ["0 ring 20201", "20 ring 20202", "40 ring 20203"]
    assert [line for line in faulty if " ring " in line] == [
        "0 ring 20203",
        "20 ring 20202",
        "40 ring 20201",
    ]


@shows(F.GROUP_RING_TIME_LATE)
def test_group_ring_time_late() -> None:
    settings = group("順次着信", ["20201", "20202"], 呼出時間=15)
    normal, faulty = both(settings, "20200", F.GROUP_RING_TIME_LATE)
    assert normal[:3] == ["0 ring 20201", "15 stop 20201", "15 ring 20202"]
    assert faulty[:3] == ["0 ring 20201", "17 stop 20201", "17 ring 20202"]
    simultaneous = group("一斉着信", ["20201", "20202"])  # G = 20 by default
    normal, faulty = both(simultaneous, "20200", F.GROUP_RING_TIME_LATE)
    assert normal[-1] == "20 release no_answer" and faulty[-1] == "22 release no_answer"


@shows(F.SIMULTANEOUS_MEMBER_LATE)
def test_simultaneous_member_late() -> None:
    settings = group("一斉着信", ["20201", "20202", "20203"])
    normal, faulty = both(settings, "20200", F.SIMULTANEOUS_MEMBER_LATE)
    assert normal[:3] == ["0 ring 20201", "0 ring 20202", "0 ring 20203"]
    assert faulty[:3] == ["0 ring 20201", "0 ring 20202", "2 ring 20203"]
    # the others rejecting within the 2 s does not end the group before the late one rings
    board = Board(on(F.SIMULTANEOUS_MEMBER_LATE), group("一斉着信", ["20201", "20202"]))
    call, driver = board.call("20200")
    board.clock.advance(1)
    call.leg_failed(driver.leg_to("20201"), LegFailure.BUSY)
    board.clock.advance(19)
    assert driver.timeline == [
        "0 ring 20201",
        "2 ring 20202",
        "20 stop 20202",
        "20 release no_answer",
    ]


@shows(F.PILOT_RINGS_AS_MEMBER)
def test_pilot_rings_as_member() -> None:
    normal, faulty = both(group("順次着信", ["20201", "20202"]), "20200", F.PILOT_RINGS_AS_MEMBER)
    assert normal[0] == "0 ring 20201" and "ring 20200" not in " ".join(normal)
    assert faulty[:3] == ["0 ring 20200", "20 stop 20200", "20 ring 20201"]


@shows(F.PICKUP_WRONG_CALL)
def test_pickup_wrong_call() -> None:
    pickup = {
        "着信グループ": [{"種別": "コールピックアップ", "メンバー": ["20201", "20202", "20203"]}]
    }

    def picked(faults: Faults) -> str | None:
        board = Board(faults, pickup)
        older, _ = board.call("20201", caller="20205")
        board.clock.advance(1)
        newer, _ = board.call("20203", caller="20206")
        board.clock.advance(1)
        picker, _ = board.call("*8", caller="20202")
        assert {older.bridged_with, newer.bridged_with} == {None, picker.id}
        return picker.bridged_with and ("older" if picker.bridged_with == older.id else "newer")

    assert picked(NO_FAULTS) == "older"
    assert picked(on(F.PICKUP_WRONG_CALL)) == "newer"


@shows(F.SEQUENTIAL_WAITS_ON_UNREGISTERED)
def test_sequential_waits_on_unregistered() -> None:
    settings = group("順次着信", ["20201", "20202"])
    away = frozenset({"20201"})
    normal, faulty = both(settings, "20200", F.SEQUENTIAL_WAITS_ON_UNREGISTERED, unregistered=away)
    assert normal == ["0 ring 20202", "20 stop 20202", "20 release no_answer"]
    assert faulty == ["20 ring 20202", "40 stop 20202", "40 release no_answer"]
    # a busy (registered) member is still skipped at once: only unregistered ones cost T
    busy = both(settings, "20200", F.SEQUENTIAL_WAITS_ON_UNREGISTERED, busy="20201")
    assert busy[0] == busy[1]


@shows(F.NO_ANSWER_LATE)
def test_no_answer_late() -> None:
    normal, faulty = both(forward("20201", 無応答="転送"), "20201", F.NO_ANSWER_LATE)
    assert normal[:3] == ["0 ring 20201", "15 stop 20201", "15 ring 20205"]
    assert faulty[:3] == ["0 ring 20201", "18 stop 20201", "18 ring 20205"]


@shows(F.NO_ANSWER_RING_TIME_IGNORED)
def test_no_answer_ring_time_ignored() -> None:
    settings = forward("20201", ring_time=8, 無応答="留守番電話")
    normal, faulty = both(settings, "20201", F.NO_ANSWER_RING_TIME_IGNORED)
    assert normal == ["0 ring 20201", "8 stop 20201", "8 voicemail 20201"]
    assert faulty == ["0 ring 20201", "20 stop 20201", "20 voicemail 20201"]


@shows(F.BUSY_AS_NO_ANSWER)
def test_busy_as_no_answer() -> None:
    settings = forward("20201", 話中="転送", 無応答="留守番電話")
    normal, faulty = both(settings, "20201", F.BUSY_AS_NO_ANSWER, busy="20201")
    assert normal == ["0 ring 20205"]
    assert faulty == ["15 voicemail 20201"]
    # 無応答 設定しない: 話中's 転送 is lost, the caller hears busy
    only_busy = forward("20201", ring_time=None, 話中="転送")
    normal, faulty = both(only_busy, "20201", F.BUSY_AS_NO_ANSWER, busy="20201")
    assert (normal, faulty) == (["0 ring 20205"], ["0 release busy"])


@shows(F.UNREACHABLE_FORWARD_NEVER)
def test_unreachable_forward_never() -> None:
    settings = forward("20201", ring_time=None, 圏外="転送")
    away = frozenset({"20201"})
    normal, faulty = both(settings, "20201", F.UNREACHABLE_FORWARD_NEVER, unregistered=away)
    assert (normal, faulty) == (["0 ring 20205"], ["0 release unavailable"])


REACH = {"不在時動作設定": {"20201": WORKED_REACH}, **OUTBOUND}


@shows(F.REACH_START_2_IGNORED)
def test_reach_start_2_ignored() -> None:
    normal, faulty = both(REACH, "20201", F.REACH_START_2_IGNORED)
    assert normal[:3] == ["0 ring 20201", "5 ring 09011112222", "10 ring 0311112222"]
    assert faulty[:3] == ["0 ring 20201", "5 ring 09011112222", "5 ring 0311112222"]


@shows(F.REACH_END_IGNORED)
def test_reach_end_ignored() -> None:
    normal, faulty = both(REACH, "20201", F.REACH_END_IGNORED, until=120)
    assert normal[-1] == "30 voicemail 20201"
    assert faulty == ["0 ring 20201", "5 ring 09011112222", "10 ring 0311112222"]


@shows(F.VOICEMAIL_NEVER_REACHED)
def test_voicemail_never_reached() -> None:
    settings = forward("20201", ring_time=None, 無条件="留守番電話")
    normal, faulty = both(settings, "20201", F.VOICEMAIL_NEVER_REACHED)
    assert (normal, faulty) == (["0 voicemail 20201"], ["0 release unavailable"])
    normal, faulty = both(REACH, "20201", F.VOICEMAIL_NEVER_REACHED)
    assert normal[-1] == "30 voicemail 20201" and faulty[-1] == "30 release unavailable"


@shows(F.VOICEMAIL_WHEN_OFF)
def test_voicemail_when_off() -> None:
    off = {"不在時動作設定": {"20201": {**WORKED_REACH, "留守番電話": False}}, **OUTBOUND}
    normal, faulty = both(off, "20201", F.VOICEMAIL_WHEN_OFF)
    assert normal[-1] == "30 release no_answer" and faulty[-1] == "30 voicemail 20201"


def shown(faults: Faults, settings: dict[str, Any], dialled: str, **kw: Any) -> dict[str, str]:
    """Target → the caller ID its leg presented."""
    return play(faults, settings, dialled, until=1, **kw).caller_ids


@shows(F.EXTERNAL_SHOWS_EXTENSION)
def test_external_shows_extension() -> None:
    fault = on(F.EXTERNAL_SHOWS_EXTENSION)
    assert shown(NO_FAULTS, OUTBOUND, "09011112222", caller="20201") == {
        "09011112222": "0312345679"
    }
    assert shown(fault, OUTBOUND, "09011112222", caller="20201") == {"09011112222": "20201"}


@shows(F.OUTBOUND_CALLER_ID_IGNORED)
def test_outbound_caller_id_ignored() -> None:
    fault = on(F.OUTBOUND_CALLER_ID_IGNORED)
    assert shown(NO_FAULTS, OUTBOUND, "09011112222", caller="20201") == {
        "09011112222": "0312345679"
    }
    assert shown(fault, OUTBOUND, "09011112222", caller="20201") == {"09011112222": "0312345678"}
    # an extension without 外線発信設定 is refused (rule 7) — with the fault it calls out
    refused = play(NO_FAULTS, OUTBOUND, "09011112222", caller="20202", until=1).timeline
    assert refused == ["0 release no_caller_id"]
    assert shown(fault, OUTBOUND, "09011112222", caller="20202") == {"09011112222": "0312345678"}


@shows(F.WITHHOLD_184_IGNORED)
def test_withhold_184_ignored() -> None:
    fault = on(F.WITHHOLD_184_IGNORED)
    assert shown(NO_FAULTS, {}, "18420202", caller="20201") == {"20202": "非通知"}
    assert shown(fault, {}, "18420202", caller="20201") == {"20202": "20201"}


@shows(F.PRESENT_186_IGNORED)
def test_present_186_ignored() -> None:
    normal = play(NO_FAULTS, OUTBOUND, "18609011112222", caller="20201", until=1)
    faulty = play(on(F.PRESENT_186_IGNORED), OUTBOUND, "18609011112222", caller="20201", until=1)
    assert normal.timeline == ["0 ring 09011112222"]
    assert normal.caller_ids == {"09011112222": "0312345679"}
    assert faulty.timeline == ["0 release not_found"]


@shows(F.INBOUND_CALLER_ID_DROPPED)
def test_inbound_caller_id_dropped() -> None:
    routed = {"外線着信設定": [{"外線番号": "0312345678", "着信先": "20201"}]}
    outside = ExternalOrigin(number="09099998888")
    fault = on(F.INBOUND_CALLER_ID_DROPPED)
    assert shown(NO_FAULTS, routed, "0312345678", caller=outside) == {"20201": "09099998888"}
    assert shown(fault, routed, "0312345678", caller=outside) == {"20201": "非通知"}


@shows(F.INTERNAL_SHOWS_EXTERNAL_NUMBER)
def test_internal_shows_external_number() -> None:
    fault = on(F.INTERNAL_SHOWS_EXTERNAL_NUMBER)
    assert shown(NO_FAULTS, OUTBOUND, "20202", caller="20201") == {"20202": "20201"}
    assert shown(fault, OUTBOUND, "20202", caller="20201") == {"20202": "0312345679"}
    # 184 still withholds; an extension without 外線発信設定 still shows its 内線番号
    assert shown(fault, OUTBOUND, "18420202", caller="20201") == {"20202": "非通知"}
    assert shown(fault, OUTBOUND, "20202", caller="20203") == {"20202": "20203"}


@shows(F.INBOUND_PILOT_RINGS_EXTENSION)
def test_inbound_pilot_rings_extension() -> None:
    routed = {
        **group("順次着信", ["20201", "20202"]),
        "外線着信設定": [{"外線番号": "0312345678", "着信先": "20200"}],
    }
    outside = ExternalOrigin(number="09099998888")
    normal, faulty = both(routed, "0312345678", F.INBOUND_PILOT_RINGS_EXTENSION, caller=outside)
    assert normal[:3] == ["0 ring 20201", "20 stop 20201", "20 ring 20202"]
    assert faulty == ["0 ring 20200"]
    # dialled internally, the pilot still starts its group
    internal = both(routed, "20200", F.INBOUND_PILOT_RINGS_EXTENSION)
    assert internal[0] == internal[1]


# --- the store-backed SIP service: which settings are in force -------------------------------


def routes_after_changes(faults: Faults) -> list[tuple[str | None, str | None]]:
    """(0312345678's 着信先, 20201's 外線発信 number) in force: at start, after both are changed
    on the store (as a page saves them), after a tenant reload (a fresh start), and after a
    reset followed at once — before any request — by a change back."""
    store = Store()
    first = {
        "外線着信設定": [{"外線番号": "0312345678", "着信先": "20201"}],
        "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345678"}],
    }
    second = {
        "外線着信設定": [{"外線番号": "0312345678", "着信先": "20202"}],
        "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345679"}],
    }
    store.load_tenant(tenant(first))
    seen: list[tuple[str | None, str | None]] = []

    async def scenario() -> None:
        service = StoreSipService(faults=faults)
        await service.start(
            ServiceContext(store=store, clock=ManualClock(), host="127.0.0.1", sip_port=0)
        )
        assert service.sip is not None
        sip = service.sip

        def in_force() -> None:
            sip.refresh()  # what the service does before each request
            config = sip.pbx.config
            seen.append(
                (config.inbound_routes.get("0312345678"), config.outbound_caller_ids.get("20201"))
            )

        try:
            in_force()
            store.replace_settings(Settings.model_validate(second))
            in_force()
            store.load_tenant(tenant(second))
            in_force()
            # a reset, then a change before any request: the reset is the restart
            store.reset()
            store.replace_settings(Settings.model_validate(first))
            in_force()
        finally:
            await service.stop()

    try:
        run(scenario())
    finally:
        store.close()
    return seen


@shows(F.INBOUND_ROUTE_STALE)
def test_inbound_route_stale() -> None:
    start, fresh = ("20201", "0312345678"), ("20202", "0312345679")
    assert routes_after_changes(NO_FAULTS) == [start, fresh, fresh, start]
    # the changed 着信先 is not seen, the changed caller ID is; a reload starts afresh
    assert routes_after_changes(on(F.INBOUND_ROUTE_STALE)) == [
        start,
        ("20201", "0312345679"),
        fresh,
        ("20202", "0312345678"),
    ]


@shows(F.SETTINGS_NEED_RESTART)
def test_settings_need_restart() -> None:
    start, fresh = ("20201", "0312345678"), ("20202", "0312345679")
    assert routes_after_changes(on(F.SETTINGS_NEED_RESTART)) == [start, start, fresh, fresh]


# --- the registrar ------------------------------------------------------------------------------


def registrar(faults: Faults) -> Registrar:
    """test_registrar's registrar (ID / Password, abcde20201 / Other1), with ``faults``."""
    model = make_registrar()
    return Registrar(
        realm=model.realm,
        credentials=model.credentials,
        params=model.params,
        secret=b"test-secret",
        faults=faults,
    )


@shows(F.WRONG_PASSWORD_ACCEPTED)
def test_wrong_password_accepted() -> None:
    assert register(registrar(NO_FAULTS), now=0, password="Wrong").status == 401
    faulty = registrar(on(F.WRONG_PASSWORD_ACCEPTED))
    assert register(faulty, now=0, password="Wrong").status == 200
    assert faulty.is_registered(ID, 1)
    # an unknown 端末ID still gets nowhere
    assert register(faulty, now=0, terminal_id="zzzzz99999", password="Wrong").status == 401


@shows(F.REGISTRATION_NEVER_EXPIRES)
def test_registration_never_expires() -> None:
    normal, faulty = registrar(NO_FAULTS), registrar(on(F.REGISTRATION_NEVER_EXPIRES))
    for r in (normal, faulty):
        assert register(r, now=0, expires=120).status == 200
    assert not normal.is_registered(ID, 121)
    assert faulty.is_registered(ID, 121) and faulty.is_registered(ID, 10**6)


@shows(F.UNREGISTER_IGNORED)
def test_unregister_ignored() -> None:
    for faults, still in ((NO_FAULTS, False), (on(F.UNREGISTER_IGNORED), True)):
        r = registrar(faults)
        register(r, now=0, expires=600, call_id="c1", cseq=1)
        assert register(r, now=5, expires=0, call_id="c1", cseq=2).status == 200
        assert r.is_registered(ID, 5) is still
        register(r, now=6, contacts=(), wildcard=True, expires=0, call_id="c1", cseq=3)
        assert r.is_registered(ID, 6) is still
    # a contact's own expires=0 is ignored too
    r = registrar(on(F.UNREGISTER_IGNORED))
    uri = "sip:abcde20200@127.0.0.1:5070"
    register(r, now=0, contacts=(ContactRequest(uri=uri, expires=300),), call_id="c", cseq=1)
    register(r, now=1, contacts=(ContactRequest(uri=uri, expires=0),), call_id="c", cseq=2)
    assert [b.contact for b in r.bindings(ID, 2)] == [uri]


@shows(F.UNKNOWN_TERMINAL_DISTINCT)
def test_unknown_terminal_distinct() -> None:
    def first_answers(faults: Faults) -> tuple[int, int]:
        r = registrar(faults)
        unknown = r.handle(RegisterRequest(terminal_id="zzzzz99999", source=SOURCE), now=0)
        known = r.handle(RegisterRequest(terminal_id=ID, source=SOURCE), now=0)
        return unknown.status, known.status

    assert first_answers(NO_FAULTS) == (401, 401)
    assert first_answers(on(F.UNKNOWN_TERMINAL_DISTINCT)) == (404, 401)


# --- the web site -------------------------------------------------------------------------------


@pytest.fixture
def web(
    store: Store, clock: ManualClock, mailer: FakeMailer, make_site: Callable[..., Site]
) -> Callable[[Faults], Site]:
    """A browser on the site over the shared rich store, with the faults given."""
    return lambda faults: make_site(create_app(store, clock, mailer, faults=faults))


FORWARD_FORM = {
    "enabled": "設定",
    "kind": "転送/留守番電話",
    "forward_to": "09011112222",
    "unconditional": "設定しない",
    "busy": "設定しない",
    "unreachable": "設定しない",
    "no_answer": "転送",
}


@shows(F.RING_TIME_UPPER_UNCHECKED)
def test_ring_time_upper_unchecked(web: Callable[[Faults], Site], store: Store) -> None:
    normal = web(NO_FAULTS)
    normal.login_user("30300")
    refused = normal.post("/SmartPBX/User/Absence", {**FORWARD_FORM, "ring_time": "31"})
    assert "5〜30" in field_errors(refused)["ring_time"]
    assert "30300" not in store.routing_snapshot().absence
    faulty = web(on(F.RING_TIME_UPPER_UNCHECKED))
    faulty.login_user("30300")
    saved = faulty.post("/SmartPBX/User/Absence", {**FORWARD_FORM, "ring_time": "31"})
    assert "設定しました。" in saved.text and "ring_time" not in field_errors(saved)
    assert store.routing_snapshot().absence["30300"].ring_time == 30
    # the lower bound still holds
    low = faulty.post("/SmartPBX/User/Absence", {**FORWARD_FORM, "ring_time": "4"})
    assert "ring_time" in field_errors(low)


@shows(F.OTHER_EXTENSION_ABSENCE)
def test_other_extension_absence(web: Callable[[Faults], Site], store: Store) -> None:
    normal = web(NO_FAULTS)
    normal.login_user("30300")
    assert normal.get("/SmartPBX/User/Absence?extension=30301").status_code == 403
    faulty = web(on(F.OTHER_EXTENSION_ABSENCE))
    faulty.login_user("30300")
    other = faulty.get("/SmartPBX/User/Absence?extension=30301")
    assert other.status_code == 200
    faulty.post("/SmartPBX/User/Absence", {**FORWARD_FORM, "ring_time": "15", "extension": "30301"})
    assert store.routing_snapshot().absence["30301"].forward_to == "09011112222"
    assert "30300" not in store.routing_snapshot().absence


@shows(F.CONNECTION_ERROR_NEVER_SHOWN)
def test_connection_error_never_shown(web: Callable[[Faults], Site], store: Store) -> None:
    store.set_line_live("0633334444", False)
    normal = web(NO_FAULTS)
    normal.login_admin()
    path = "/SmartPBX/Init/Inbound/0633334444"
    assert "接続エラー" in normal.post(path, {"destination": "30301"}).text
    faulty = web(on(F.CONNECTION_ERROR_NEVER_SHOWN))
    faulty.login_admin()
    looks_done = faulty.post(path, {"destination": "30301"})
    assert looks_done.status_code == 303 and "接続エラー" not in looks_done.text
    assert looks_done.headers["location"] == "/SmartPBX/Init/Inbound?done=1"
    assert not store.routing_snapshot().inbound_routes["0633334444"].applied


def mfa_login(site: Site, mailer: FakeMailer, login_id: str, password: str) -> str:
    """Log in with MFA on (registering the e-mail the first time); the code mailed."""
    response = site.login(login_id, password)
    if response.headers.get("location") == "/SmartPBX/Mfa/Register":
        site.post("/SmartPBX/Mfa/Register", {"email": f"{login_id}@example.co.jp"})
    return mailer.sent[-1][1]


@shows(F.OTP_REUSABLE)
def test_otp_reusable(
    web: Callable[[Faults], Site],
    store: Store,
    mailer: FakeMailer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Codes 100001, 100002, … so the second login's code surely differs from the first's.
    codes = itertools.count(100001)
    monkeypatch.setattr(secrets, "randbelow", lambda _: next(codes))
    store.set_mfa(True)
    for faults, reuse_logs_in in ((NO_FAULTS, False), (on(F.OTP_REUSABLE), True)):
        site = web(faults)
        first = mfa_login(site, mailer, *USERS["30300"])
        done = site.post("/SmartPBX/Mfa/Code", {"code": first})
        assert done.headers["location"] == "/SmartPBX/User/Top"
        site.post("/SmartPBX/Logout", {})
        assert mfa_login(site, mailer, *USERS["30300"]) != first
        reused = site.post("/SmartPBX/Mfa/Code", {"code": first})
        assert (reused.headers.get("location") == "/SmartPBX/User/Top") is reuse_logs_in
        if not reuse_logs_in:
            assert "正しくないか" in reused.text


@shows(F.OTP_NEVER_EXPIRES)
def test_otp_never_expires(
    web: Callable[[Faults], Site], store: Store, clock: ManualClock, mailer: FakeMailer
) -> None:
    store.set_mfa(True)
    for faults, late_logs_in in ((NO_FAULTS, False), (on(F.OTP_NEVER_EXPIRES), True)):
        site = web(faults)
        code = mfa_login(site, mailer, *USERS["30300"])
        clock.advance(601)  # the code lives 10 minutes
        late = site.post("/SmartPBX/Mfa/Code", {"code": code})
        assert (late.headers.get("location") == "/SmartPBX/User/Top") is late_logs_in
        if not late_logs_in:
            assert "有効期限が切れています" in late.text


@shows(F.MFA_NOT_ENFORCED)
def test_mfa_not_enforced(web: Callable[[Faults], Site], store: Store) -> None:
    store.set_mfa(True)
    normal = web(NO_FAULTS).login(*USERS["30300"])
    assert normal.headers["location"] == "/SmartPBX/Mfa/Register"
    faulty = web(on(F.MFA_NOT_ENFORCED)).login(*USERS["30300"])
    assert faulty.headers["location"] == "/SmartPBX/User/Top"


# --- media --------------------------------------------------------------------------------------


@shows(F.ONE_WAY_AUDIO)
def test_one_way_audio() -> None:
    """What the B2BUA relays to the caller as the callee's answer (``_CallSession.connect``
    applies ``relay.dead_media_port`` when the fault is on): the same codecs and address, the
    audio port moved to one nobody listens on — so the caller's RTP never reaches the callee
    while the callee's still reaches the caller. End to end over SIP and RTP, without and
    with the fault: tests/sim/sip/test_serve_faults.py ``test_the_media_path_sees_the_fault``."""
    from harness.sim.pbx.sip_glue import relay
    from harness.sip import sdp

    offer = sdp.offer(session_id=1, version=1, address="127.0.0.1", port=40000, rtcp_mux=True)
    answer = sdp.answer(offer, session_id=2, version=1, address="127.0.0.1", port=42000)
    body = sdp.build(answer)
    moved = sdp.parse(relay.dead_media_port(body))
    original = sdp.parse(body)
    assert original.audio is not None and original.audio.port == 42000
    assert moved.audio is not None and moved.audio.port == relay.DEAD_PORT
    assert moved.audio.codecs == original.audio.codecs
    assert moved.address_of(moved.audio) == original.address_of(original.audio)
    assert relay.dead_media_port(b"not sdp") == b"not sdp"
    assert relay.dead_media_port(b"") == b""


@shows(F.CODEC_MISMATCH)
def test_codec_mismatch() -> None:
    """The answer relayed to the caller (``_CallSession.connect`` applies
    ``relay.foreign_codec``) names G.729 only, which the caller never offered: the caller and
    that answer agree on no codec, where the real answer agrees on PCMU; the telephone-event
    survives, the address and port too."""
    from harness.sim.pbx.sip_glue import relay
    from harness.sip import sdp

    offer = sdp.offer(session_id=1, version=1, address="127.0.0.1", port=40000)
    answer = sdp.answer(offer, session_id=2, version=1, address="127.0.0.1", port=42000)
    foreign = sdp.parse(relay.foreign_codec(sdp.build(answer)))
    assert foreign.audio is not None and answer.audio is not None
    assert [c.encoding for c in foreign.audio.audio_codecs] == ["G729"]
    assert foreign.audio.telephone_event == answer.audio.telephone_event
    assert foreign.audio.port == 42000
    agreed = sdp.negotiate(offer, answer)
    assert agreed is not None and agreed.codec.encoding.upper() == "PCMU"
    assert sdp.negotiate(offer, foreign) is None
    assert relay.foreign_codec(b"not sdp") == b"not sdp"


def _voicemail_media(faults: Faults) -> Any:
    """A voicemail UAS's media answering a phone's offer, fed in memory (no loop needed)."""
    from harness.sim.pbx.sip_glue.voicemail_media import VoicemailMedia
    from harness.sip import sdp

    offer = sdp.offer(session_id=1, version=1, address="127.0.0.1", port=40000)
    media = VoicemailMedia.answering(sdp.build(offer), faults=faults)
    assert media is not None
    return media


def _rtp(payload_type: int, payload: bytes, *, sequence: int, timestamp: int) -> bytes:
    from harness.sip.rtp import RtpPacket

    packet = RtpPacket(
        payload_type=payload_type,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=7,
        payload=payload,
        marker=False,
    )
    return packet.serialize()


@shows(F.VOICEMAIL_RECORDS_SILENCE)
def test_voicemail_records_silence() -> None:
    """Ten packets of a 1000 Hz tone reach the voicemail: it records them as they are, and
    with the fault as many samples of silence (the message keeps its length)."""
    from harness.sip import audio

    def recorded(faults: Faults) -> Any:
        media = _voicemail_media(faults)
        encode = audio.CODECS["PCMU"][0]
        for n in range(10):
            frame = audio.tone(1000.0, start=n * audio.FRAME, count=audio.FRAME)
            data = _rtp(0, encode(frame), sequence=n, timestamp=n * audio.FRAME)
            media.datagram_received(data, ("127.0.0.1", 40000))
        return media.close()

    normal, silent = recorded(NO_FAULTS), recorded(on(F.VOICEMAIL_RECORDS_SILENCE))
    assert len(normal) == len(silent) == 10 * audio.FRAME
    assert audio.dominant_frequency(normal) == pytest.approx(1000.0, abs=audio.TOLERANCE_HZ)
    assert not silent.any()


@shows(F.DTMF_IGNORED)
def test_dtmf_ignored() -> None:
    """RFC 4733 events for 1, 2, # reach the voicemail: they become digits (and ``on_digit``
    calls), with the fault none do."""
    from harness.sip.rtp import TelephoneEvent, dtmf_event

    def digits(faults: Faults) -> tuple[str, list[str]]:
        media = _voicemail_media(faults)
        heard: list[str] = []
        media.on_digit = heard.append
        event_pt = media.negotiated.telephone_event
        for n, digit in enumerate("12#"):
            payload = TelephoneEvent(event=dtmf_event(digit), end=True, duration=800).serialize()
            data = _rtp(event_pt, payload, sequence=n, timestamp=1000 * (n + 1))
            media.datagram_received(data, ("127.0.0.1", 40000))
        media.close()
        return media.digits, heard

    assert digits(NO_FAULTS) == ("12#", ["1", "2", "#"])
    assert digits(on(F.DTMF_IGNORED)) == ("", [])


# --- the registry is covered ----------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.name)
def test_every_fault_has_a_test_showing_it(fault: Fault) -> None:
    assert fault.name in SHOWN, f"add a test decorated @shows(F.{fault.name}) to {__file__}"


def test_every_shown_name_is_a_fault() -> None:
    assert set(SHOWN) <= {fault.name for fault in FAULTS}
