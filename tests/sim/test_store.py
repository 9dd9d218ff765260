"""The store: loading a tenant, secrets never in the clear, one transaction per change."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from harness.guide.types import Action, GroupKind, Settings
from harness.sim.documents import read_tenant
from harness.sim.rules import AbsenceDraft, GroupDraft
from harness.sim.store import (
    PstnRegistrationRow,
    RegistrationRow,
    SettingsError,
    Store,
    sip_ha1,
)

from .conftest import RICH


def test_load_computes_ha1_with_the_sip_domain_as_realm(store: Store) -> None:
    snap = store.routing_snapshot()
    terminal = snap.terminals["30300"]
    expected_md5 = hashlib.md5(b"xyz30300:05678xyz.smart-pbx.jp:Passw0rd300").hexdigest()
    expected_sha = hashlib.sha256(b"xyz30300:05678xyz.smart-pbx.jp:Passw0rd300").hexdigest()
    assert (terminal.ha1_md5, terminal.ha1_sha256) == (expected_md5, expected_sha)
    assert snap.sip_domain == "05678xyz.smart-pbx.jp"
    assert snap.terminal_by_id("xyz30309") == snap.terminals["30309"]


def test_no_plain_password_is_stored_anywhere(store: Store) -> None:
    dump = "\n".join(sqlite3.connect(store.path).iterdump())
    for secret in ("Passw0rd300", "Adm1nPass02", "userpass301"):
        assert secret not in dump
    assert "$argon2id$" in dump


def test_settings_document_is_loaded(store: Store) -> None:
    snap = store.routing_snapshot()
    assert [(g.kind, g.pilot, g.members, g.ring_time) for g in snap.groups] == [
        (GroupKind.SEQUENTIAL, "30300", ("30301", "30302"), 15),
        (GroupKind.PICKUP, None, ("30301", "30303"), None),  # 呼出時間 left out: kept so
    ]
    assert snap.inbound_routes["0311112222"].destination == "30300"
    assert snap.inbound_routes["0311112222"].applied
    assert snap.outbound_caller_ids == {"30301": "0311112222"}
    forward = snap.absence["30302"]
    assert (forward.forward_to, forward.busy, forward.no_answer, forward.ring_time) == (
        "09011112222",
        Action.FORWARD,
        Action.FORWARD,
        15,
    )
    reach = snap.absence["30303"]
    assert (reach.reach_start_1, reach.reach_start_2, reach.reach_end, reach.voicemail) == (
        5,
        10,
        30,
        True,
    )
    passwords = snap.voicemail_passwords
    assert set(passwords) == set(snap.terminals)
    assert all(p.isdigit() and 3 <= len(p) <= 8 for p in passwords.values())


def test_every_change_bumps_the_snapshot_version(store: Store) -> None:
    before = store.routing_snapshot().version
    store.set_outbound_caller_id("30300", "0633334444")
    assert store.routing_snapshot().version == before + 1


def _table_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    tables = ["ring_groups", "ring_group_members", "inbound_routes", "outbound_caller_ids"]
    counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    db.close()
    return counts


def test_a_failing_document_saves_nothing(store: Store) -> None:
    before = (store.settings_document(), _table_counts(store.path))
    bad = Settings.model_validate(
        {
            "着信グループ": [{"種別": "一斉着信", "代表番号": "30301", "メンバー": ["30302"]}],
            "外線着信設定": [{"外線番号": "0633334444", "着信先": "30301"}],
            # the last row breaks a rule: everything before it must be rolled back
            "外線発信設定": [{"内線番号": "30300", "発信者番号": "0399999999"}],
        }
    )
    with pytest.raises(SettingsError) as raised:
        store.replace_settings(bad)
    assert "設定.yaml › 外線発信設定 › row 1 › 発信者番号" in raised.value.fields
    assert [p.rule_id for p in raised.value.problems] == ["outbound.caller_id_is_a_line"]
    assert (store.settings_document(), _table_counts(store.path)) == before


def test_a_failing_change_saves_nothing_and_names_each_field(store: Store) -> None:
    before = store.settings_document()
    with pytest.raises(SettingsError) as raised:
        store.add_group(GroupDraft(kind="順次着信", pilot="30300", members=("30301", "99999")))
    assert set(raised.value.fields) == {"pilot", "members"}
    with pytest.raises(SettingsError):
        store.set_absence(
            "30300", AbsenceDraft(enabled="設定", kind="転送/留守番電話", busy="転送")
        )
    assert store.settings_document() == before


def test_reset_restores_the_documents_settings(store: Store) -> None:
    original = store.settings_document()
    store.set_absence("30302", AbsenceDraft(enabled="未設定"))
    store.set_mfa(True)
    store.reset()
    assert store.settings_document() == original
    assert not store.mfa_enabled()


def test_inbound_route_set_before_line_live_is_a_connection_error(store: Store) -> None:
    store.set_line_live("0633334444", False)
    assert store.set_inbound_route("0633334444", "30301") is False
    assert not store.routing_snapshot().inbound_routes["0633334444"].applied
    store.set_line_live("0633334444", True)
    # still not in effect: 設定 must be pressed again (manual P.2 *1)
    assert not store.routing_snapshot().inbound_routes["0633334444"].applied
    assert store.set_inbound_route("0633334444", "30301") is True
    assert store.routing_snapshot().inbound_routes["0633334444"].applied


def test_settings_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = Store(path)
    first.load_tenant(read_tenant(RICH))
    first.set_outbound_caller_id("30300", "0633334444")
    first.close()
    second = Store(path)
    assert second.routing_snapshot().outbound_caller_ids["30300"] == "0633334444"
    second.close()


def test_one_time_codes_expire_and_are_single_use(store: Store) -> None:
    code = store.issue_code("user30300", now=100.0)
    assert len(code) == 6 and code.isdigit()
    assert not store.redeem_code("user30300", code, now=700.0)  # 600 s later: expired
    code = store.issue_code("user30300", now=1000.0)
    assert store.redeem_code("user30300", code, now=1599.0)
    assert not store.redeem_code("user30300", code, now=1599.0)  # used


def test_a_new_code_replaces_the_previous_one(store: Store) -> None:
    first = store.issue_code("user30300", now=0.0)
    second = first
    while second == first:  # random codes: make sure the two differ
        second = store.issue_code("user30300", now=1.0)
    assert not store.redeem_code("user30300", first, now=2.0)
    assert store.redeem_code("user30300", second, now=2.0)


def test_lockout_after_threshold(tmp_path: Path) -> None:
    s = Store(tmp_path / "l.sqlite3", lockout_threshold=3)
    s.load_tenant(read_tenant(RICH))
    assert [s.check_password("user30300", "wrong", now=0.0) for _ in range(3)] == [
        "bad_credentials",
        "bad_credentials",
        "locked_now",
    ]
    assert s.check_password("user30300", "userpass300", now=1.0) == "locked"
    assert s.check_password("nobody", "userpass300", now=1.0) == "bad_credentials"
    s.close()


def test_lockout_ends_after_the_lockout_time(tmp_path: Path) -> None:
    s = Store(tmp_path / "l.sqlite3", lockout_threshold=2, lockout_time=900.0)
    s.load_tenant(read_tenant(RICH))
    for _ in range(2):
        s.check_password("user30300", "wrong", now=100.0)
    assert s.is_locked("user30300", now=100.0)
    assert [a.login_id for a in s.locked_accounts(now=999.0)] == ["user30300"]
    assert s.check_password("user30300", "userpass300", now=999.9) == "locked"
    # 900 simulated seconds after it locked: the right password works again…
    assert not s.is_locked("user30300", now=1000.0)
    assert s.locked_accounts(now=1000.0) == []
    assert s.check_password("user30300", "userpass300", now=1000.0) == "ok"
    # …and the count starts again: one failure does not lock it at once, the threshold does.
    assert s.check_password("user30300", "wrong", now=1001.0) == "bad_credentials"
    assert s.check_password("user30300", "wrong", now=1001.0) == "locked_now"
    assert s.check_password("user30300", "userpass300", now=1900.0) == "locked"
    assert s.check_password("user30300", "userpass300", now=1901.0) == "ok"
    s.close()


def test_unlock_lifts_the_lock_at_once(tmp_path: Path) -> None:
    s = Store(tmp_path / "l.sqlite3", lockout_threshold=1)
    s.load_tenant(read_tenant(RICH))
    assert s.check_password("user30300", "wrong", now=0.0) == "locked_now"
    assert s.unlock("user30300") and not s.unlock("nobody")
    assert s.check_password("user30300", "userpass300", now=1.0) == "ok"
    s.close()


def test_a_lock_survives_a_restart_and_still_ends(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    s = Store(path, lockout_threshold=1, lockout_time=900.0)
    s.load_tenant(read_tenant(RICH))
    s.check_password("user30300", "wrong", now=5000.0)  # late in the first run
    s.close()
    # The next run's clock starts at 0 again: the lock counts from the run's start.
    s = Store(path, lockout_threshold=1, lockout_time=900.0)
    assert s.check_password("user30300", "userpass300", now=899.0) == "locked"
    assert s.check_password("user30300", "userpass300", now=900.0) == "ok"
    s.close()


def test_a_store_file_from_before_locks_ended_keeps_its_locks_and_ends_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    s = Store(path, lockout_threshold=2)
    s.load_tenant(read_tenant(RICH))
    s.close()
    with sqlite3.connect(path) as old:  # web_accounts as written before locked_at existed
        old.execute("ALTER TABLE web_accounts DROP COLUMN locked_at")
        old.execute("UPDATE web_accounts SET failed_logins = 5 WHERE login_id = 'user30300'")
    s = Store(path, lockout_threshold=2, lockout_time=60.0)
    assert s.check_password("user30300", "userpass300", now=59.0) == "locked"
    assert s.check_password("user30301", "userpass301", now=0.0) == "ok"
    assert s.check_password("user30300", "userpass300", now=60.0) == "ok"
    s.close()


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("inf"), float("nan")])
def test_lockout_time_must_be_positive(tmp_path: Path, seconds: float) -> None:
    with pytest.raises(ValueError, match="lockout time must be > 0"):
        Store(tmp_path / "l.sqlite3", lockout_time=seconds)


def test_sip_ha1_matches_rfc_8760_example_shape() -> None:
    assert sip_ha1("MD5", "a", "r", "p") == hashlib.md5(b"a:r:p").hexdigest()
    assert len(sip_ha1("SHA-256", "a", "r", "p")) == 64


def test_flash_is_shown_once_and_added_to_an_older_store_file(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:  # web_sessions as written before flash messages
        old.execute(
            "CREATE TABLE web_sessions (token_hash TEXT PRIMARY KEY, csrf_token TEXT NOT NULL, "
            "portal_login_id TEXT, login_id TEXT, stage TEXT NOT NULL DEFAULT 'anonymous')"
        )
    old.close()
    store = Store(path)
    try:
        session = store.new_session()
        assert store.take_flash(session.token) is None
        store.set_flash(session.token, "再送信しました。")
        assert store.take_flash(session.token) == "再送信しました。"
        assert store.take_flash(session.token) is None
    finally:
        store.close()


def test_record_lists_page_by_id(store: Store) -> None:
    for n in range(5):
        store.record_call(
            call_id=f"c{n}", started_at=float(n), ended_at=float(n + 1), caller="20200",
            callee="20201", caller_id="20200", outcome="answered",
        )  # fmt: skip
    every = store.list_rows("calls")
    assert [r["call_id"] for r in every] == [f"c{n}" for n in range(5)]
    first = store.list_rows("calls", limit=2)
    assert [r["call_id"] for r in first] == ["c0", "c1"]
    rest = store.list_rows("calls", after=first[-1]["id"], limit=10)
    assert [r["call_id"] for r in rest] == ["c2", "c3", "c4"]
    assert store.list_rows("calls", after=rest[-1]["id"]) == []


def test_sip_side_writes_captured_before_a_reset_are_dropped(store: Store) -> None:
    """The SIP side batches registration rows and records calls when they end; a reset (or a
    tenant load) from another thread in between must not see them land in its fresh tables."""
    before = store.epoch
    binding = [
        RegistrationRow(
            extension="20200", contact="sip:a@127.0.0.1:5999", source="127.0.0.1", expires_at=9e9
        )
    ]
    store.reset()
    assert store.epoch == before + 1
    store.replace_registrations({"abcde20200": binding}, epoch=before)
    store.replace_pstn_registrations(
        {
            "09011112222": PstnRegistrationRow(
                contact="sip:x@127.0.0.1:6000",
                transport="UDP",
                source="127.0.0.1:6000",
                expires_at=9e9,
            )
        },
        epoch=before,
    )
    store.record_call(
        call_id="old", started_at=0.0, ended_at=1.0, caller="20200", callee="20201",
        caller_id="20200", outcome="answered", epoch=before,
    )  # fmt: skip
    store.record_voicemail(
        extension="20201", caller_id="20200", received_at=0.0, duration=1.0, epoch=before
    )
    for table in ("registrations", "pstn_registrations", "calls", "voicemail_messages"):
        assert store.list_rows(table) == [], table  # type: ignore[arg-type]
    store.replace_registrations({"abcde20200": binding}, epoch=store.epoch)
    assert [r["terminal_id"] for r in store.list_rows("registrations")] == ["abcde20200"]


def test_a_store_file_from_before_left_out_ring_times_is_migrated(tmp_path: Path) -> None:
    """Files written when 呼出時間 was NOT NULL open with the column nullable, rows kept."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE ring_groups (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, pilot TEXT "
        "UNIQUE REFERENCES terminals (extension), ring_time INTEGER NOT NULL);"
        "CREATE TABLE ring_group_members (group_id INTEGER NOT NULL REFERENCES ring_groups (id) "
        "ON DELETE CASCADE, position INTEGER NOT NULL, extension TEXT NOT NULL REFERENCES "
        "terminals (extension), PRIMARY KEY (group_id, position));"
        "INSERT INTO ring_groups VALUES (7, '順次着信', '20200', 25);"
        "INSERT INTO ring_group_members VALUES (7, 1, '20201');"
    )
    old.commit()
    old.close()
    Store(path).close()
    db = sqlite3.connect(path)
    try:
        columns = {r[1]: r[3] for r in db.execute("PRAGMA table_info(ring_groups)")}
        assert columns["ring_time"] == 0  # notnull off
        assert db.execute("SELECT * FROM ring_groups").fetchall() == [(7, "順次着信", "20200", 25)]
        assert db.execute("SELECT * FROM ring_group_members").fetchall() == [(7, 1, "20201")]
    finally:
        db.close()
