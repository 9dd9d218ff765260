"""The store's tables and the migrations that bring an older store file up to them.

A migration runs when a store opens, each in one write transaction of the store's funnel
(``tx``): a file from an earlier version opens with its rows kept where they still mean the
same, and every migration is a no-op on a file that is already current.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]
"""The store's ``_tx``: one ``BEGIN IMMEDIATE … COMMIT``, rolled back on any exception."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenant (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    source_path TEXT NOT NULL,
    document_json TEXT NOT NULL,          -- the loaded documents (secrets removed), for reset
    sip_domain TEXT NOT NULL,
    uno_address TEXT,
    service_code TEXT,
    mfa_enabled INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0    -- bumped by every committed settings change
);
CREATE TABLE IF NOT EXISTS terminals (
    extension TEXT PRIMARY KEY,
    no INTEGER NOT NULL,
    site_number TEXT NOT NULL,
    terminal_number TEXT NOT NULL,
    terminal_id TEXT NOT NULL UNIQUE,
    terminal_kind TEXT NOT NULL,
    ha1_md5 TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_accounts (
    login_id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'terminal_user')),
    extension TEXT REFERENCES terminals (extension),
    password_hash TEXT NOT NULL,
    email TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_at REAL  -- simulated s when it locked; NULL: not locked
);
CREATE TABLE IF NOT EXISTS external_lines (
    external_number TEXT PRIMARY KEY,
    no INTEGER NOT NULL,
    kind TEXT NOT NULL,
    line_live INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS ring_groups (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    pilot TEXT UNIQUE REFERENCES terminals (extension),
    ring_time INTEGER  -- NULL: 呼出時間 left out, the service default applies
);
CREATE TABLE IF NOT EXISTS ring_group_members (
    group_id INTEGER NOT NULL REFERENCES ring_groups (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    extension TEXT NOT NULL REFERENCES terminals (extension),
    PRIMARY KEY (group_id, position)
);
CREATE TABLE IF NOT EXISTS inbound_routes (
    external_number TEXT PRIMARY KEY REFERENCES external_lines (external_number),
    destination TEXT NOT NULL,
    applied INTEGER NOT NULL     -- 0: set while the line was not 開通 (接続エラー), not in effect
);
CREATE TABLE IF NOT EXISTS outbound_caller_ids (
    extension TEXT PRIMARY KEY REFERENCES terminals (extension),
    caller_id TEXT NOT NULL REFERENCES external_lines (external_number)
);
CREATE TABLE IF NOT EXISTS absence (
    extension TEXT PRIMARY KEY REFERENCES terminals (extension),
    kind TEXT NOT NULL,
    forward_to TEXT,
    unconditional TEXT NOT NULL,
    busy TEXT NOT NULL,
    unreachable TEXT NOT NULL,
    no_answer TEXT NOT NULL,
    ring_time INTEGER,
    reach_number_1 TEXT,
    reach_start_1 INTEGER,
    reach_number_2 TEXT,
    reach_start_2 INTEGER,
    reach_end INTEGER,
    voicemail INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS voicemail_passwords (
    extension TEXT PRIMARY KEY REFERENCES terminals (extension),
    password TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS one_time_codes (
    id INTEGER PRIMARY KEY,
    login_id TEXT NOT NULL REFERENCES web_accounts (login_id),
    code_hash TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY,
    csrf_token TEXT NOT NULL,
    portal_login_id TEXT,
    login_id TEXT,
    stage TEXT NOT NULL DEFAULT 'anonymous',
    flash TEXT
);
CREATE TABLE IF NOT EXISTS registrations (
    id INTEGER PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    extension TEXT NOT NULL,
    contact TEXT NOT NULL,
    source TEXT NOT NULL,
    expires_at REAL NOT NULL,
    UNIQUE (terminal_id, contact)
);
CREATE TABLE IF NOT EXISTS pstn_registrations (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    contact TEXT NOT NULL,
    transport TEXT NOT NULL,
    source TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    started_at REAL NOT NULL,             -- Unix seconds (wall clock), like ended_at
    ended_at REAL NOT NULL,
    caller TEXT NOT NULL,
    callee TEXT NOT NULL,
    caller_id TEXT,
    outcome TEXT NOT NULL,
    detail_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS voicemail_messages (
    id INTEGER PRIMARY KEY,
    extension TEXT NOT NULL,
    caller_id TEXT,
    received_at REAL NOT NULL,
    duration REAL NOT NULL DEFAULT 0,
    audio TEXT,                           -- file name in Store.voicemail_dir; NULL: no audio
    audio_seconds REAL                    -- real seconds of audio recorded
);
"""

# Tables emptied by a reset or a tenant load, children first.
SETTINGS_TABLES = (
    "ring_group_members",
    "ring_groups",
    "inbound_routes",
    "outbound_caller_ids",
    "absence",
)
TENANT_TABLES = (
    *SETTINGS_TABLES,
    "one_time_codes",
    "web_sessions",
    "registrations",
    "pstn_registrations",
    "calls",
    "voicemail_messages",
    "voicemail_passwords",
    "web_accounts",
    "external_lines",
    "terminals",
    "tenant",
)


def open_schema(db: sqlite3.Connection, tx: Transaction, *, lockout_threshold: int) -> None:
    """Create the tables a new file lacks and migrate an older file's (see each migration)."""
    db.executescript(SCHEMA)
    columns = {row["name"] for row in db.execute("PRAGMA table_info(web_sessions)")}
    if "flash" not in columns:  # a store file written before flash messages existed
        db.execute("ALTER TABLE web_sessions ADD COLUMN flash TEXT")
    columns = {row["name"] for row in db.execute("PRAGMA table_info(voicemail_messages)")}
    if "audio" not in columns:  # a store file written before voicemail recorded audio
        db.execute("ALTER TABLE voicemail_messages ADD COLUMN audio TEXT")
        db.execute("ALTER TABLE voicemail_messages ADD COLUMN audio_seconds REAL")
    _migrate_group_ring_time(db, tx)
    _migrate_lockouts(db, tx, lockout_threshold=lockout_threshold)
    _migrate_call_times(db, tx)


def _migrate_group_ring_time(db: sqlite3.Connection, tx: Transaction) -> None:
    """A store file written when a group's 呼出時間 was NOT NULL (always 20 when left
    out): rebuild ``ring_groups`` with the column nullable, rows and ids kept (SQLite's
    documented way to change a column: new table, copy, drop, rename — foreign keys off
    meanwhile, so the members' rows stay)."""
    info = {r["name"]: r for r in db.execute("PRAGMA table_info(ring_groups)")}
    if not info["ring_time"]["notnull"]:
        return
    db.execute("PRAGMA foreign_keys=OFF")
    try:
        with tx() as t:
            t.execute(
                "CREATE TABLE ring_groups_nullable (id INTEGER PRIMARY KEY, kind TEXT NOT "
                "NULL, pilot TEXT UNIQUE REFERENCES terminals (extension), ring_time INTEGER)"
            )
            t.execute("INSERT INTO ring_groups_nullable SELECT id, kind, pilot, ring_time "
                      "FROM ring_groups")  # fmt: skip
            t.execute("DROP TABLE ring_groups")
            t.execute("ALTER TABLE ring_groups_nullable RENAME TO ring_groups")
    finally:
        db.execute("PRAGMA foreign_keys=ON")


def _migrate_lockouts(db: sqlite3.Connection, tx: Transaction, *, lockout_threshold: int) -> None:
    """Locks carry the time they began, on the simulator clock — whose origin is this
    run's start. A file written before locks ended (no ``locked_at``) gets the column, its
    locked accounts locked as of now; a lock from an earlier run counts from this run's
    start (time 0): a restart never unlocks, nor locks for longer than ``lockout_time``."""
    columns = {row["name"] for row in db.execute("PRAGMA table_info(web_accounts)")}
    with tx() as t:
        if "locked_at" not in columns:
            t.execute("ALTER TABLE web_accounts ADD COLUMN locked_at REAL")
            t.execute(
                "UPDATE web_accounts SET locked_at = 0 WHERE failed_logins >= ?",
                (lockout_threshold,),
            )
        t.execute("UPDATE web_accounts SET locked_at = 0 WHERE locked_at IS NOT NULL")


def _migrate_call_times(db: sqlite3.Connection, tx: Transaction) -> None:
    """A store file written when calls and voicemail messages were timed in simulated
    seconds since the simulator started (no ``ended_at``): those times cannot be turned into
    wall-clock ones, so the old records go (the tables are emptied by every reset anyway)."""
    columns = {r["name"] for r in db.execute("PRAGMA table_info(calls)")}
    if "ended_at" in columns:
        return
    with tx() as t:
        t.execute("DELETE FROM calls")
        t.execute("DELETE FROM voicemail_messages")
        t.execute("ALTER TABLE calls ADD COLUMN ended_at REAL NOT NULL DEFAULT 0")
