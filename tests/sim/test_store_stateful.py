"""The store under random sequences of changes (Hypothesis state machine).

Invariants after every step: a refused change left the settings exactly as they were (one
transaction, nothing saved); the settings always read back as a 設定 document that
harness.guide's loader accepts; the snapshot's version moves exactly when something was saved.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from harness.guide import load_tenant_text
from harness.sim.documents import read_tenant
from harness.sim.rules import AbsenceDraft, GroupDraft
from harness.sim.store import SettingsError, Store

from .conftest import RICH

GUIDE_TEXT = (RICH / "ご利用内容.yaml").read_text(encoding="utf-8")
_TEMPLATE: list[Path] = []

EXTENSION = st.sampled_from(["30300", "30301", "30302", "30303", "30309", "99999", ""])
LINE = st.sampled_from(["0311112222", "0633334444", "0399999999"])
# Valid values repeated so that most changes are accepted; a few break one rule each.
SECONDS = st.sampled_from(["5", "15", "30"] * 3 + ["", "1", "31", "60", "x"])
NUMBER = st.sampled_from(["090-1111-2222"] * 4 + ["", "30300", "1" * 33, "abc"])
ACTION = st.sampled_from(["設定しない"] * 4 + ["転送"] * 2 + ["留守番電話"] * 2 + ["?"])


def _template() -> Path:
    """The rich tenant loaded once per process (argon2 is slow), copied per state machine."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="smartpbx-store-template-"))
        atexit.register(shutil.rmtree, folder, True)
        store = Store(folder / "template.sqlite3")
        store.load_tenant(read_tenant(RICH))
        store.close()
        _TEMPLATE.append(folder / "template.sqlite3")
    return _TEMPLATE[0]


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="smartpbx-store-"))
        shutil.copyfile(_template(), self.folder / "s.sqlite3")
        self.store = Store(self.folder / "s.sqlite3")
        self.version = self.store.routing_snapshot().version

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _apply(self, change: object) -> None:
        """Run a change; a refusal must leave the settings untouched."""
        before = self.store.settings_document()
        assert callable(change)
        try:
            change()
        except SettingsError:
            assert self.store.settings_document() == before
            assert self.store.routing_snapshot().version == self.version
        self.version = self.store.routing_snapshot().version

    @rule(
        kind=st.sampled_from(["順次着信", "一斉着信", "コールピックアップ", "x"]),
        pilot=EXTENSION,
        members=st.lists(EXTENSION, max_size=4),
        ring_time=SECONDS,
    )
    def add_group(self, kind: str, pilot: str, members: list[str], ring_time: str) -> None:
        draft = GroupDraft(kind=kind, pilot=pilot, members=tuple(members), ring_time=ring_time)
        self._apply(lambda: self.store.add_group(draft))

    @rule(index=st.integers(0, 5))
    def delete_group(self, index: int) -> None:
        groups = self.store.routing_snapshot().groups
        group_id = groups[index].id if index < len(groups) else 10_000 + index
        self._apply(lambda: self.store.delete_group(group_id))

    @rule(line=LINE, destination=EXTENSION)
    def set_inbound(self, line: str, destination: str) -> None:
        self._apply(lambda: self.store.set_inbound_route(line, destination))

    @rule(extension=EXTENSION, caller_id=st.sampled_from(["", "0311112222", "0399999999"]))
    def set_outbound(self, extension: str, caller_id: str) -> None:
        self._apply(lambda: self.store.set_outbound_caller_id(extension, caller_id))

    @rule(line=LINE, live=st.booleans())
    def set_line_live(self, line: str, live: bool) -> None:
        self._apply(lambda: self.store.set_line_live(line, live))

    @rule(
        extension=EXTENSION,
        enabled=st.sampled_from(["設定", "未設定"]),
        kind=st.sampled_from(["転送/留守番電話", "シングルナンバーリーチ"]),
        forward=st.tuples(NUMBER, ACTION, ACTION, ACTION, ACTION, SECONDS),
        reach=st.tuples(NUMBER, SECONDS, NUMBER, SECONDS, SECONDS, st.booleans()),
    )
    def set_absence(
        self,
        extension: str,
        enabled: str,
        kind: str,
        forward: tuple[str, str, str, str, str, str],
        reach: tuple[str, str, str, str, str, bool],
    ) -> None:
        draft = AbsenceDraft(
            enabled=enabled,
            kind=kind,
            forward_to=forward[0],
            unconditional=forward[1],
            busy=forward[2],
            unreachable=forward[3],
            no_answer=forward[4],
            ring_time=forward[5],
            reach_number_1=reach[0],
            reach_start_1=reach[1],
            reach_number_2=reach[2],
            reach_start_2=reach[3],
            reach_end=reach[4],
            voicemail=reach[5],
        )
        self._apply(lambda: self.store.set_absence(extension, draft))

    @rule()
    def replace_with_own_document(self) -> None:
        """The document the store serves is accepted back as is (PUT /api/settings)."""
        document = self.store.settings_document()
        self.store.replace_settings(document)
        assert self.store.settings_document() == document
        self.version = self.store.routing_snapshot().version

    @invariant()
    def settings_load_as_a_document(self) -> None:
        document = self.store.settings_document().model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        load_tenant_text("rich", GUIDE_TEXT, yaml.safe_dump(document, allow_unicode=True))


StoreMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_store_state_machine = StoreMachine.TestCase
