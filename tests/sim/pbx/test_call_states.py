"""The call's and the legs' state tables (STYLE.md §2, §16): every (state, event) pair in
``CALL_TRANSITIONS`` / ``LEG_TRANSITIONS`` is reached by a real scenario, every pair outside
them is refused with a HarnessError naming state and event, and random event sequences through
the public methods only ever take transitions of the tables."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.clock import ManualClock
from harness.errors import HarnessError
from harness.sim.pbx.call import (
    CALL_TRANSITIONS,
    LEG_TRANSITIONS,
    TERMINAL,
    Call,
    CallEvent,
    CallState,
    Leg,
    LegEvent,
    LegFailure,
    LegState,
)
from harness.sim.pbx.config import PbxConfig, Presence
from harness.sim.pbx.pbx import Pbx
from harness.sim.pbx.routing import CallerId, InternalOrigin, ToExtension
from harness.sim.pbx.voicemail import VoicemailStore
from tests.sim.pbx.fakes import WORKED_REACH, FakeDriver, tenant

# 20201: DOMAIN.md's worked シングルナンバーリーチ (留守番電話 at 30 s); 20202–20204 pick up
# each other's calls (rule 8); a call to 20205 rings until answered or given up.
SETTINGS: dict[str, Any] = {
    "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345678"}],
    "不在時動作設定": {"20201": WORKED_REACH},
    "着信グループ": [{"種別": "コールピックアップ", "メンバー": ["20202", "20203", "20204"]}],
}


class Board:
    """A Pbx with voicemail on a ManualClock; each call gets its own FakeDriver."""

    def __init__(self, unregistered: frozenset[str] = frozenset()) -> None:
        self.clock = ManualClock()
        self.pbx = Pbx(
            config=PbxConfig.from_tenant(tenant(SETTINGS)),
            clock=self.clock,
            is_registered=lambda ext: ext not in unregistered,
            voicemail=VoicemailStore(),
        )

    def call(self, caller: str, dialled: str) -> tuple[Call, FakeDriver]:
        driver = FakeDriver(clock=self.clock, name=f"{caller}-{dialled}-")
        call = self.pbx.incoming(
            origin=InternalOrigin(extension=caller), dialled=dialled, driver=driver
        )
        return call, driver


def test_the_tables_are_closed() -> None:
    """Every state is either a row or final; every next state is a state of the same enum."""
    assert set(CALL_TRANSITIONS) | TERMINAL == set(CallState)
    assert not set(CALL_TRANSITIONS) & TERMINAL, "a final state must have no row"
    assert all(isinstance(s, CallState) for row in CALL_TRANSITIONS.values() for s in row.values())
    assert set(LEG_TRANSITIONS) == {LegState.RINGING}
    assert set(LEG_TRANSITIONS[LegState.RINGING].values()) == set(LegState) - {LegState.RINGING}


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[tuple[str, str]]]:
    """Every (state, event) the funnels are asked to take, call and leg alike."""
    seen: set[tuple[str, str]] = set()
    call_funnel = Call._transition
    leg_funnel = Call._leg_transition

    def record_call(self: Call, event: CallEvent) -> None:
        seen.add((self.state, event))
        call_funnel(self, event)

    def record_leg(self: Call, leg: Leg, event: LegEvent) -> None:
        seen.add((leg.state, event))
        leg_funnel(self, leg, event)

    monkeypatch.setattr(Call, "_transition", record_call)
    monkeypatch.setattr(Call, "_leg_transition", record_leg)
    yield seen


def answer_then_hang_up(board: Board) -> None:
    call, driver = board.call("20206", "20205")
    call.leg_answered(driver.leg_to("20205"))  # RINGING --answer--> CONNECTED; leg answer
    assert call.state is CallState.CONNECTED
    call.hung_up()  # CONNECTED --hang_up--> ENDED
    assert call.state is CallState.ENDED


def pick_up(board: Board) -> None:
    ringing, _ = board.call("20206", "20202")
    picker, _ = board.call("20203", "*8")  # both: RINGING --pickup--> CONNECTED; leg stop
    assert (ringing.state, picker.state) == (CallState.CONNECTED, CallState.CONNECTED)


def voicemail_then_hang_up(board: Board) -> None:
    call, _ = board.call("20206", "20201")
    board.clock.advance(30)  # 呼出終了時間 with 留守番電話: RINGING --voicemail--> VOICEMAIL
    assert call.state is CallState.VOICEMAIL
    call.hung_up()  # VOICEMAIL --hang_up--> ENDED
    assert call.state is CallState.ENDED


def busy_then_release(board: Board) -> None:
    call, driver = board.call("20206", "20207")
    call.leg_failed(driver.leg_to("20207"), LegFailure.BUSY)  # leg fail; then 486
    assert call.state is CallState.RELEASED


def cancel(board: Board) -> None:
    call, _ = board.call("20206", "20208")
    call.caller_cancelled()  # RINGING --cancel--> CANCELLED
    assert call.state is CallState.CANCELLED


SCENARIOS: list[Callable[[Board], None]] = [
    answer_then_hang_up,
    pick_up,
    voicemail_then_hang_up,
    busy_then_release,
    cancel,
]


def test_every_pair_of_the_tables_is_reached(taken: set[tuple[str, str]]) -> None:
    for scenario in SCENARIOS:
        scenario(Board())
    table_pairs = {(s, e) for s, row in CALL_TRANSITIONS.items() for e in row} | {
        (s, e) for s, row in LEG_TRANSITIONS.items() for e in row
    }
    # StrEnum members of both tables share values ("ringing", "answer"): compare as strings.
    assert {(str(s), str(e)) for s, e in table_pairs} == {(str(s), str(e)) for s, e in taken}


def ringing_call() -> Call:
    clock = ManualClock()
    call = Call(
        origin=InternalOrigin(extension="20206"),
        dialled="20205",
        driver=FakeDriver(clock=clock),
        clock=clock,
        config=PbxConfig.from_tenant(tenant(SETTINGS)),
        presence=lambda _: Presence.AVAILABLE,
        call_id="call-x",
    )
    return call


UNDEFINED_CALL = [
    (state, event)
    for state in CallState
    for event in CallEvent
    if event not in CALL_TRANSITIONS.get(state, {})
]
UNDEFINED_LEG = [
    (state, event)
    for state in LegState
    for event in LegEvent
    if event not in LEG_TRANSITIONS.get(state, {})
]


@pytest.mark.parametrize(("state", "event"), UNDEFINED_CALL)
def test_an_undefined_call_transition_is_refused(state: CallState, event: CallEvent) -> None:
    call = ringing_call()
    call.state = state  # placed there directly: the funnel is what is under test
    with pytest.raises(HarnessError) as refused:
        call._transition(event)
    assert f"call call-x in state {state.value!r} cannot take event {event.value!r}" in str(
        refused.value
    )
    assert call.state is state, "a refused transition changes nothing"


@pytest.mark.parametrize(("state", "event"), UNDEFINED_LEG)
def test_an_undefined_leg_transition_is_refused(state: LegState, event: LegEvent) -> None:
    call = ringing_call()
    leg = Leg(
        id="leg-x",
        target=ToExtension(extension="20205"),
        caller_id=CallerId(number="20206"),
        started_at=0.0,
        state=state,
    )
    with pytest.raises(HarnessError) as refused:
        call._leg_transition(leg, event)
    message = str(refused.value)
    assert f"leg leg-x of call call-x in state {state.value!r}" in message
    assert f"cannot take event {event.value!r}" in message
    assert leg.state is state


# One step of a random session: (what, which call or extension, seconds to advance after).
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["call", "ringing", "answer", "fail", "cancel", "hang_up", "pickup"]),
        st.integers(0, 9),
        st.sampled_from([0.0, 1.0, 5.0, 30.0]),
    ),
    max_size=25,
)
CALLEES = ["20201", "20202", "20203", "20205", "20207", "*8", "99999"]


@given(steps=STEPS, unregistered=st.frozensets(st.sampled_from(["20202", "20205", "20207"])))
def test_random_events_only_take_transitions_of_the_tables(
    steps: list[tuple[str, int, float]], unregistered: frozenset[str]
) -> None:
    board = Board(unregistered)
    calls: list[tuple[Call, FakeDriver]] = []
    before: dict[str, CallState] = {}
    for what, index, advance in steps:
        if what == "call" or not calls:
            caller = f"2020{index % 10}"
            calls.append(board.call(caller, CALLEES[index % len(CALLEES)]))
        else:
            call, driver = calls[index % len(calls)]
            legs = list(driver.legs)
            leg = legs[index % len(legs)] if legs else None
            if what == "ringing" and leg is not None:
                call.leg_ringing(leg)
            elif what == "answer" and leg is not None:
                call.leg_answered(leg)
            elif what == "fail" and leg is not None:
                call.leg_failed(leg, list(LegFailure)[index % len(LegFailure)])
            elif what == "cancel":
                call.caller_cancelled()
            elif what == "hang_up":
                call.hung_up()
            elif what == "pickup":
                calls.append(board.call(f"2020{2 + index % 3}", "*8"))
        board.clock.advance(advance)
        # No public event raised (an undefined transition would have); every state change
        # since the last step is one the table allows, possibly two (ringing → connected or
        # voicemail → ended within one step), and nothing moves a final state.
        for call, _ in calls:
            old, new = before.get(call.id, CallState.RINGING), call.state
            before[call.id] = new
            assert isinstance(new, CallState)
            if old is new:
                continue
            assert old not in TERMINAL, f"{call.id} left final state {old}"
            one_step = set(CALL_TRANSITIONS[old].values())
            two_steps = {n for s in one_step for n in CALL_TRANSITIONS.get(s, {}).values()}
            assert new in one_step | two_steps, (call.id, old, new)
            for leg in call.legs.values():
                assert isinstance(leg.state, LegState)


DOCS = Path(__file__).resolve().parents[3] / "docs" / "pbx.md"


def documented_rows(first_header: str) -> set[tuple[str, str, str]]:
    """The (state, event, next state) rows of the docs/pbx.md table whose header starts so."""
    rows: set[tuple[str, str, str]] = set()
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    for line in itertools.takewhile(lambda line: line.startswith("|"), lines[start + 2 :]):
        state, event, next_state = (cell.strip().strip("`") for cell in line.split("|")[1:4])
        rows.add((state, event, next_state))
    return rows


def test_docs_show_the_tables_of_the_code() -> None:
    assert documented_rows("call state") == {
        (s.value, e.value, n.value) for s, row in CALL_TRANSITIONS.items() for e, n in row.items()
    }
    assert documented_rows("leg state") == {
        (s.value, e.value, n.value) for s, row in LEG_TRANSITIONS.items() for e, n in row.items()
    }
