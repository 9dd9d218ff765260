"""The simulator's SQLite store: one tenant, its settings, web accounts and the SIP side's state.

Theory of operation
-------------------
- One SQLite file (or a temporary one) in WAL mode; every change is ONE function here that
  validates by the guide's rules (``harness.guide.validate.check_settings``, through the form
  layer ``harness.sim.rules`` for a change made on a page) and writes in ONE
  ``BEGIN IMMEDIATE … COMMIT`` transaction: on any error nothing is saved and a
  ``SettingsError`` names each problem (a page's fields in Japanese, a document's rows as
  ``check`` does). A committed change survives ``kill -9``:
  in WAL mode a commit is in the OS's hands once ``COMMIT`` returns (``synchronous=NORMAL``
  only gives up durability against power loss, which a simulator does not need).
- Secrets are never stored in the clear: SIP terminals keep only their digest HA1 (MD5 and
  SHA-256, realm = 内線サーバアドレス, RFC 8760); web passwords are argon2id hashes
  (memory-hard); one-time codes and session tokens are stored as SHA-256 digests. The
  留守番電話パスワード is the exception: the settings site shows it to its 端末ユーザ (DOMAIN.md).
- The SIP side reads the settings through ``routing_snapshot()`` (frozen dataclasses; its
  ``version`` changes with every committed change) and writes registrations, calls and
  voicemail messages through the ``*_registration`` / ``record_*`` functions.
- Times given to the store (``now``) are simulated seconds of the simulator's ``Clock``; the
  store never reads a clock itself. The SIP side's records are the exception: their times
  (``expires_at``, ``started_at``, ``ended_at``, ``received_at``) are wall-clock Unix seconds,
  which the provisioning API shows as ISO 8601 UTC (docs/sim.md "Times").

One connection shared by the simulator's event loop, guarded by a lock so that a call from a
worker thread (argon2 hashing runs off the loop) cannot interleave with a transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from harness.errors import HarnessError, InputError, Problem
from harness.guide.types import (
    Action,
    ExternalLine,
    ForwardAbsence,
    ForwardActions,
    GroupKind,
    InboundRoute,
    OutboundCallerId,
    RingGroup,
    Settings,
    SingleNumberReach,
    Tenant,
    Terminal,
    TerminalKind,
)
from harness.guide.validate import SETTINGS_FILE, as_source, check_settings
from harness.sim import rules
from harness.sim.rules import AbsenceDraft, AbsenceValue, GroupDraft, TenantView

OTP_LIFETIME = 600.0
"""A one-time code is valid 10 simulated minutes (DOMAIN.md, A)."""
OTP_DIGITS = 6
DEFAULT_LOCKOUT_THRESHOLD = 5
DEFAULT_LOCKOUT_TIME = 900.0
"""A locked web account unlocks by itself after 15 simulated minutes (issue 10.6: a lock that
only a reset ends lets anyone who knows a ログインID lock the administrator out for good)."""
VOICEMAIL_PASSWORD_DIGITS = 4
"""留守番電話パスワード: 3–8 digits (S); the simulator generates 4."""

# OWASP's argon2id minimum (m=19 MiB, t=2, p=1): memory-hard, ~20 ms per hash here.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

Role = Literal["admin", "terminal_user"]
Stage = Literal["anonymous", "mfa_register", "mfa_code", "full"]

_SCHEMA = """
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
    duration REAL NOT NULL DEFAULT 0
);
"""

# Tables emptied by a reset or a tenant load, children first.
_SETTINGS_TABLES = (
    "ring_group_members",
    "ring_groups",
    "inbound_routes",
    "outbound_caller_ids",
    "absence",
)
_TENANT_TABLES = (
    *_SETTINGS_TABLES,
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


class SettingsError(InputError):
    """A change broke a rule: nothing was saved.

    From a page, ``fields`` maps field name → Japanese message (a ``rules.FieldErrors``, whose
    ``rule_ids`` name the rules). From a 設定 document, ``problems`` are the guide's, worded
    and located as ``smartpbx-harness check`` prints them, and ``fields`` maps each location
    to its rule.
    """

    def __init__(
        self,
        fields: Mapping[str, str] | None = None,
        *,
        subject: str = "settings",
        problems: Sequence[Problem] | None = None,
    ) -> None:
        if problems is None:
            ids = getattr(fields, "rule_ids", {})
            problems = [
                Problem(where=name, rule=message, rule_id=" ".join(ids.get(name, [])) or None)
                for name, message in (fields or {}).items()
            ]
        self.fields: Mapping[str, str] = (
            fields if fields is not None else {p.where: p.rule for p in problems}
        )
        super().__init__(list(problems), subject=subject)


class NoTenantError(HarnessError):
    """No tenant has been loaded yet (POST /api/tenant or ``serve --guide``)."""


# --- the read API: frozen records ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TerminalRecord:
    extension: str
    no: int
    site_number: str
    terminal_number: str
    terminal_id: str
    terminal_kind: TerminalKind
    ha1_md5: str
    ha1_sha256: str


@dataclass(frozen=True, kw_only=True)
class ExternalLineRecord:
    external_number: str
    no: int
    kind: str
    line_live: bool


@dataclass(frozen=True, kw_only=True)
class GroupRecord:
    id: int
    kind: GroupKind
    pilot: str | None
    members: tuple[str, ...]
    ring_time: int | None  # None: left out (the service default applies)


@dataclass(frozen=True, kw_only=True)
class InboundRecord:
    external_number: str
    destination: str
    applied: bool
    """False when set before the line was 開通 (接続エラー): not in effect until 設定 again."""


@dataclass(frozen=True, kw_only=True)
class RoutingSnapshot:
    """Everything the SIP side needs to route a call, as of one committed ``version``."""

    version: int
    sip_domain: str
    terminals: Mapping[str, TerminalRecord]
    """内線番号 → terminal."""
    external_lines: Mapping[str, ExternalLineRecord]
    groups: tuple[GroupRecord, ...]
    inbound_routes: Mapping[str, InboundRecord]
    """外線番号 → route (check ``applied`` and the line's ``line_live``)."""
    outbound_caller_ids: Mapping[str, str]
    """内線番号 → 外線番号 presented on its external calls."""
    absence: Mapping[str, AbsenceValue]
    """内線番号 → 不在時動作 (absent: 未設定)."""
    voicemail_passwords: Mapping[str, str]

    def terminal_by_id(self, terminal_id: str) -> TerminalRecord | None:
        """The terminal whose 端末ID (SIP user) is ``terminal_id``."""
        for terminal in self.terminals.values():
            if terminal.terminal_id == terminal_id:
                return terminal
        return None

    def group_by_pilot(self, pilot: str) -> GroupRecord | None:
        for group in self.groups:
            if group.pilot == pilot:
                return group
        return None


@dataclass(frozen=True, kw_only=True)
class RingTimeDefaults:
    """The 呼出時間 (s) the SIP side gives a group saved without one: PbxParams G
    (``group_ring_time``, 一斉着信) and T (``member_ring_time``, 順次着信, per member). The SIP
    side sets them on its store when it starts (``serve --param``); the settings site shows
    them as 「既定（20秒）」."""

    simultaneous: float = 20.0
    sequential: float = 20.0


@dataclass(frozen=True, kw_only=True)
class Account:
    login_id: str
    role: Role
    extension: str | None
    email: str | None
    failed_logins: int
    locked_at: float | None = None
    """Simulated seconds (the simulator's clock) when the account locked; None: not locked.
    It stays set after the lock has run out until the next login attempt clears it: ask
    ``Store.locked_until(account, now=)``."""


@dataclass(frozen=True, kw_only=True)
class Session:
    token: str
    csrf_token: str
    portal_login_id: str | None
    login_id: str | None
    stage: Stage


@dataclass(frozen=True, kw_only=True)
class TenantSummary:
    name: str
    source_path: str
    sip_domain: str
    uno_address: str | None
    service_code: str | None
    admin_login_id: str
    terminal_user_login_ids: Mapping[str, str]
    """内線番号 → ログインID of its 端末ユーザ."""
    mfa_enabled: bool


LoginOutcome = Literal["ok", "bad_credentials", "locked", "locked_now"]
"""``locked_now``: this failure locked the account (the caller logs it); ``locked``: it was
locked already (the password was not even checked)."""


def sip_ha1(algorithm: Literal["MD5", "SHA-256"], user: str, realm: str, password: str) -> str:
    """HA1 = H(user:realm:password) (RFC 2617 §3.2.2.2, RFC 8760 §3)."""
    data = f"{user}:{realm}:{password}".encode()
    digest = hashlib.md5(data) if algorithm == "MD5" else hashlib.sha256(data)
    return digest.hexdigest()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Store:
    """The simulator's state in one SQLite file (``path``) or a temporary one (``None``)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        lockout_threshold: int = DEFAULT_LOCKOUT_THRESHOLD,
        lockout_time: float = DEFAULT_LOCKOUT_TIME,
    ) -> None:
        if lockout_threshold < 1:
            raise ValueError(f"lockout threshold must be ≥ 1, got {lockout_threshold}")
        if not 0 < lockout_time < float("inf"):
            raise ValueError(f"lockout time must be > 0 simulated seconds, got {lockout_time}")
        self.lockout_time = lockout_time
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="smartpbx-sim-")
            path = Path(self._tempdir.name) / "sim.sqlite3"
        self.path = Path(path)
        self.lockout_threshold = lockout_threshold
        self.ring_time_defaults = RingTimeDefaults()
        self._lock = threading.RLock()
        self._reset_listeners: list[Callable[[], None]] = []
        self._listing_listeners: list[Callable[[], None]] = []
        self._writes = 0  # committed write transactions of this store
        self._epoch = 0  # bumped by every reset and tenant load (see ``epoch``)
        self._stamp: tuple[int, int | None] | None = None  # (writes, version) last read
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(web_sessions)")}
        if "flash" not in columns:  # a store file written before flash messages existed
            self._db.execute("ALTER TABLE web_sessions ADD COLUMN flash TEXT")
        self._migrate_group_ring_time()
        self._migrate_lockouts()
        self._migrate_call_times()
        # Soft state does not survive a restart: registrations are refreshed by phones, and
        # one-time codes are timed by a clock whose origin changed.
        with self._tx() as db:
            db.execute("DELETE FROM registrations")
            db.execute("DELETE FROM pstn_registrations")
            db.execute("DELETE FROM one_time_codes")

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def _migrate_group_ring_time(self) -> None:
        """A store file written when a group's 呼出時間 was NOT NULL (always 20 when left
        out): rebuild ``ring_groups`` with the column nullable, rows and ids kept (SQLite's
        documented way to change a column: new table, copy, drop, rename — foreign keys off
        meanwhile, so the members' rows stay)."""
        info = {r["name"]: r for r in self._db.execute("PRAGMA table_info(ring_groups)")}
        if not info["ring_time"]["notnull"]:
            return
        self._db.execute("PRAGMA foreign_keys=OFF")
        try:
            with self._tx() as db:
                db.execute(
                    "CREATE TABLE ring_groups_nullable (id INTEGER PRIMARY KEY, kind TEXT NOT "
                    "NULL, pilot TEXT UNIQUE REFERENCES terminals (extension), ring_time INTEGER)"
                )
                db.execute("INSERT INTO ring_groups_nullable SELECT id, kind, pilot, ring_time "
                           "FROM ring_groups")  # fmt: skip
                db.execute("DROP TABLE ring_groups")
                db.execute("ALTER TABLE ring_groups_nullable RENAME TO ring_groups")
        finally:
            self._db.execute("PRAGMA foreign_keys=ON")

    def _migrate_lockouts(self) -> None:
        """Locks carry the time they began, on the simulator clock — whose origin is this
        run's start. A file written before locks ended (no ``locked_at``) gets the column, its
        locked accounts locked as of now; a lock from an earlier run counts from this run's
        start (time 0): a restart never unlocks, nor locks for longer than ``lockout_time``."""
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(web_accounts)")}
        with self._tx() as db:
            if "locked_at" not in columns:
                db.execute("ALTER TABLE web_accounts ADD COLUMN locked_at REAL")
                db.execute(
                    "UPDATE web_accounts SET locked_at = 0 WHERE failed_logins >= ?",
                    (self.lockout_threshold,),
                )
            db.execute("UPDATE web_accounts SET locked_at = 0 WHERE locked_at IS NOT NULL")

    def _migrate_call_times(self) -> None:
        """A store file written when calls and voicemail messages were timed in simulated
        seconds since the simulator started (no ``ended_at``): those times cannot be turned into
        wall-clock ones, so the old records go (the tables are emptied by every reset anyway)."""
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(calls)")}
        if "ended_at" in columns:
            return
        with self._tx() as db:
            db.execute("DELETE FROM calls")
            db.execute("DELETE FROM voicemail_messages")
            db.execute("ALTER TABLE calls ADD COLUMN ended_at REAL NOT NULL DEFAULT 0")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._writes += 1  # after the commit: a stamp read before it is re-read

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- tenant --------------------------------------------------------------------------

    def has_tenant(self) -> bool:
        return bool(self._read("SELECT 1 FROM tenant"))

    def load_tenant(self, tenant: Tenant, *, source_path: str = "") -> None:
        """Replace everything with ``tenant``: accounts hashed, HA1s computed, settings applied.

        Raises SettingsError (nothing changed) when its 設定 break a rule.
        """
        guide = tenant.guide
        realm = guide.customer.sip_domain
        accounts: list[tuple[Role, str, str | None, str]] = [
            ("admin", guide.admin_account.login_id, None, guide.admin_account.password)
        ]
        accounts += [
            ("terminal_user", u.login_id, u.extension, u.password) for u in guide.terminal_users
        ]
        # Hash before the transaction (argon2 is deliberately slow), on every core: the C
        # implementation releases the GIL.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            hashes = list(pool.map(_HASHER.hash, [pw for _, _, _, pw in accounts]))
        hashed = [
            (role, lid, ext, h) for (role, lid, ext, _), h in zip(accounts, hashes, strict=True)
        ]
        with self._tx() as db:
            self._epoch += 1  # SIP-side writes captured before this are stale
            # The version keeps counting across reloads: a reader comparing versions (the SIP
            # side's settings_stamp) must see a new tenant as a change.
            previous = db.execute("SELECT version FROM tenant").fetchone()
            for table in _TENANT_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
            public = tenant.model_dump(mode="json", by_alias=False)
            public["guide"].pop("admin_account", None)
            public["guide"].pop("terminal_users", None)
            for terminal in public["guide"]["terminals"]:
                terminal.pop("password", None)
            db.execute(
                "INSERT INTO tenant (id, name, source_path, document_json, sip_domain, "
                "uno_address, service_code) VALUES (1, ?, ?, ?, ?, ?, ?)",
                (
                    tenant.name,
                    source_path,
                    json.dumps(public, ensure_ascii=False),
                    realm,
                    guide.customer.uno_address,
                    guide.customer.service_code,
                ),
            )
            for t in guide.terminals:
                db.execute(
                    "INSERT INTO terminals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        t.extension,
                        t.no,
                        t.site_number,
                        t.terminal_number,
                        t.terminal_id,
                        t.terminal_kind.value,
                        sip_ha1("MD5", t.terminal_id, realm, t.password),
                        sip_ha1("SHA-256", t.terminal_id, realm, t.password),
                    ),
                )
                password = "".join(
                    secrets.choice("0123456789") for _ in range(VOICEMAIL_PASSWORD_DIGITS)
                )
                db.execute("INSERT INTO voicemail_passwords VALUES (?, ?)", (t.extension, password))
            for role, login_id, extension, password_hash in hashed:
                db.execute(
                    "INSERT INTO web_accounts (login_id, role, extension, password_hash) "
                    "VALUES (?, ?, ?, ?)",
                    (login_id, role, extension, password_hash),
                )
            for line in guide.external_lines:
                db.execute(
                    "INSERT INTO external_lines VALUES (?, ?, ?, 1)",
                    (line.external_number, line.no, line.kind),
                )
            if previous is not None:
                db.execute("UPDATE tenant SET version = ?", (previous["version"] + 1,))
            self._apply_settings(db, tenant.settings)
        self._notify_reset()

    def tenant_summary(self) -> TenantSummary:
        row = self._tenant_row()
        accounts = self._read("SELECT login_id, role, extension FROM web_accounts")
        admin = next(a["login_id"] for a in accounts if a["role"] == "admin")
        return TenantSummary(
            name=row["name"],
            source_path=row["source_path"],
            sip_domain=row["sip_domain"],
            uno_address=row["uno_address"],
            service_code=row["service_code"],
            admin_login_id=admin,
            terminal_user_login_ids=MappingProxyType(
                {a["extension"]: a["login_id"] for a in accounts if a["role"] == "terminal_user"}
            ),
            mfa_enabled=bool(row["mfa_enabled"]),
        )

    def _tenant_row(self) -> sqlite3.Row:
        rows = self._read("SELECT * FROM tenant")
        if not rows:
            raise NoTenantError('no tenant loaded: POST /api/tenant {"path": <tenant folder>}')
        return rows[0]

    def reset(self) -> None:
        """Back to the loaded documents' settings; MFA off, e-mails, lockouts, sessions cleared."""
        row = self._tenant_row()
        public = json.loads(row["document_json"])
        settings = Settings.model_validate(public["settings"])
        with self._tx() as db:
            self._epoch += 1  # SIP-side writes captured before this are stale
            for table in (
                "one_time_codes",
                "web_sessions",
                "registrations",
                "pstn_registrations",
                "calls",
            ):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
            db.execute("DELETE FROM voicemail_messages")
            db.execute("UPDATE web_accounts SET email = NULL, failed_logins = 0, locked_at = NULL")
            db.execute("UPDATE external_lines SET line_live = 1")
            db.execute("UPDATE tenant SET mfa_enabled = 0")
            self._apply_settings(db, settings)
        self._notify_reset()

    @property
    def epoch(self) -> int:
        """Which reset or tenant load the store is at. The SIP side captures it with the
        records it writes later (registrations in 50 ms batches, a call when it ends) and
        passes it back: a write captured before a reset is dropped, where it would otherwise
        land in the fresh tables if the reset came from another thread in between."""
        return self._epoch

    def _stale(self, epoch: int | None) -> bool:
        return epoch is not None and epoch != self._epoch

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every ``reset`` and ``load_tenant`` (from the calling
        thread): holders of soft state derived from the store — the SIP side's registrar
        bindings — drop it, as the store drops its registration rows."""
        self._reset_listeners.append(listener)

    def before_listing(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` before ``list_rows`` reads: a writer that batches its rows (the
        SIP side's registrations) writes what it holds first, so a list never misses what a
        phone was already told — a binding is listed once its 200 OK is sent."""
        self._listing_listeners.append(listener)

    def _notify_reset(self) -> None:
        for listener in self._reset_listeners:
            listener()

    # --- whole-document settings (provisioning API) --------------------------------------

    def replace_settings(self, settings: Settings | Mapping[str, Any]) -> None:
        """Replace every setting by the 設定 document ``settings``, all or nothing.

        ``settings`` is typed or as decoded from JSON (``PUT /api/settings``); either way it
        is checked as ``smartpbx-harness check`` checks 設定.yaml, and a SettingsError carries
        the same problems (with their ``rule_id``) when it breaks a rule.
        """
        with self._tx() as db:
            self._tenant_row()
            self._apply_settings(db, settings)

    def _apply_settings(
        self, db: sqlite3.Connection, settings: Settings | Mapping[str, Any]
    ) -> None:
        """Check ``settings`` against the tenant's guide, then write it over the old ones."""
        data = (
            settings.model_dump(mode="json", by_alias=True, exclude_none=True)
            if isinstance(settings, Settings)
            else settings
        )
        view = self._view(db)
        checked = check_settings(
            as_source(data), terminals=view.terminals, external_lines=view.external_lines
        )
        if checked.settings is None:
            raise SettingsError(subject=SETTINGS_FILE, problems=checked.problems)
        for table in _SETTINGS_TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
        for group in checked.settings.ring_groups:
            self._insert_group(
                db,
                rules.GroupValue(
                    kind=group.kind,
                    pilot=group.pilot,
                    members=tuple(group.members),
                    ring_time=group.ring_time if "ring_time" in group.model_fields_set else None,
                ),
            )
        for route in checked.settings.inbound_routes:
            self._write_inbound(db, route.external_number, route.destination)
        for caller in checked.settings.outbound_caller_ids:
            self._write_outbound(db, caller.extension, caller.caller_id)
        for extension, absence in checked.settings.absence.items():
            self._write_absence(db, extension, rules.absence_value(absence))
        db.execute("UPDATE tenant SET version = version + 1")

    def settings_document(self) -> Settings:
        """The current settings as a 設定 document (what PUT /api/settings accepts)."""
        return _settings_of(self.routing_snapshot())

    # --- one change each (settings site) -------------------------------------------------

    def add_group(self, draft: GroupDraft) -> int:
        """着信グループ「追加」: returns the new group's id."""
        with self._tx() as db:
            checked = rules.check_group(draft, self._view(db))
            if checked.value is None:
                raise SettingsError(checked.errors, subject="着信グループ")
            group_id = self._insert_group(db, checked.value)
            self._bump(db)
            return group_id

    def delete_group(self, group_id: int) -> None:
        """着信グループ「削除」 (a 外線着信設定 to its 代表番号 then reaches that extension)."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM ring_groups WHERE id = ?", (group_id,))
            if cur.rowcount == 0:
                raise SettingsError({"group": "指定された着信グループはありません。"})
            self._bump(db)

    def set_inbound_route(self, external_number: str, destination: str | tuple[str, ...]) -> bool:
        """外線着信設定「設定」. Returns False for 接続エラー: the line is not 開通 yet.

        ``destination`` is what the form sent (several values are refused, as a document
        with two 着信先 for one 外線番号 is). The manual (P.2 *1): a setting made before 開通
        fails with a connection error and is fixed by pressing 設定 again after 開通. The
        route is kept, marked not applied.
        """
        with self._tx() as db:
            errors = rules.check_inbound(external_number, destination, self._view(db))
            if errors:
                raise SettingsError(errors, subject="外線着信設定")
            (chosen,) = (destination,) if isinstance(destination, str) else destination
            applied = self._write_inbound(db, external_number, chosen.strip())
            self._bump(db)
            return applied

    def set_outbound_caller_id(self, extension: str, caller_id: str | tuple[str, ...]) -> None:
        """外線発信設定「設定」; an empty ``caller_id`` removes it (設定しない)."""
        with self._tx() as db:
            errors = rules.check_outbound(extension, caller_id, self._view(db))
            if errors:
                raise SettingsError(errors, subject="外線発信設定")
            sent = (caller_id,) if isinstance(caller_id, str) else caller_id
            # Checked: at most one value is not empty (none: 設定しない, the row is removed).
            self._write_outbound(db, extension, next((c for c in sent if c.strip()), ""))
            self._bump(db)

    def set_absence(self, extension: str, draft: AbsenceDraft) -> AbsenceValue | None:
        """不在時動作設定「設定」 for ``extension``; returns what was saved (None: 未設定)."""
        with self._tx() as db:
            checked = rules.check_absence(extension, draft, self._view(db))
            if checked.errors:
                raise SettingsError(checked.errors, subject="不在時動作設定")
            self._write_absence(db, extension, checked.value)
            self._bump(db)
            return checked.value

    def set_line_live(self, external_number: str, live: bool) -> None:
        """開通 flag of an external line (provisioning API)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE external_lines SET line_live = ? WHERE external_number = ?",
                (int(live), external_number),
            )
            if cur.rowcount == 0:
                raise SettingsError({"external_number": "外線番号がご利用内容にありません。"})
            self._bump(db)

    def set_mfa(self, enabled: bool) -> None:
        """アカウント設定: 多要素認証 for 端末ユーザ on/off."""
        with self._tx() as db:
            self._tenant_row()
            db.execute("UPDATE tenant SET mfa_enabled = ?", (int(enabled),))

    def mfa_enabled(self) -> bool:
        rows = self._read("SELECT mfa_enabled FROM tenant")
        return bool(rows and rows[0]["mfa_enabled"])

    # --- helpers that run inside a transaction -------------------------------------------

    def _view(self, db: sqlite3.Connection) -> TenantView:
        """The guide's rows and the current settings, as the form layer checks a change."""
        kinds = {k.value: k for k in TerminalKind}
        terminals = tuple(
            # The store keeps no SIP password (only its HA1s) and no rule reads one: the
            # terminal is rebuilt without validation, the rest as the guide loaded it.
            Terminal.model_construct(
                no=r["no"],
                site_number=r["site_number"],
                terminal_number=r["terminal_number"],
                terminal_id=r["terminal_id"],
                password="",
                terminal_kind=kinds[r["terminal_kind"]],
            )
            for r in db.execute("SELECT * FROM terminals ORDER BY no")
        )
        lines = tuple(
            ExternalLine(no=r["no"], external_number=r["external_number"], kind=r["kind"])
            for r in db.execute("SELECT * FROM external_lines ORDER BY no")
        )
        settings = _settings_of(self._snapshot()) if self.has_tenant() else Settings()
        return TenantView(terminals=terminals, external_lines=lines, settings=settings)

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("UPDATE tenant SET version = version + 1")

    @staticmethod
    def _insert_group(db: sqlite3.Connection, value: rules.GroupValue) -> int:
        cur = db.execute(
            "INSERT INTO ring_groups (kind, pilot, ring_time) VALUES (?, ?, ?)",
            (value.kind.value, value.pilot, value.ring_time),
        )
        group_id = cur.lastrowid
        assert group_id is not None
        db.executemany(
            "INSERT INTO ring_group_members VALUES (?, ?, ?)",
            [(group_id, i, m) for i, m in enumerate(value.members, start=1)],
        )
        return group_id

    @staticmethod
    def _write_inbound(db: sqlite3.Connection, external_number: str, destination: str) -> bool:
        live = db.execute(
            "SELECT line_live FROM external_lines WHERE external_number = ?", (external_number,)
        ).fetchone()
        applied = bool(live and live["line_live"])
        # One 着信先 per 外線番号 (checked before): a form's change replaces the old one.
        db.execute("DELETE FROM inbound_routes WHERE external_number = ?", (external_number,))
        db.execute(
            "INSERT INTO inbound_routes VALUES (?, ?, ?)",
            (external_number, destination.strip(), int(applied)),
        )
        return applied

    @staticmethod
    def _write_outbound(db: sqlite3.Connection, extension: str, caller_id: str) -> None:
        db.execute("DELETE FROM outbound_caller_ids WHERE extension = ?", (extension,))
        if caller_id.strip():
            db.execute(
                "INSERT INTO outbound_caller_ids VALUES (?, ?)", (extension, caller_id.strip())
            )

    @staticmethod
    def _write_absence(db: sqlite3.Connection, extension: str, value: AbsenceValue | None) -> None:
        db.execute("DELETE FROM absence WHERE extension = ?", (extension,))
        if value is None:
            return
        db.execute(
            "INSERT INTO absence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                extension,
                value.kind,
                value.forward_to,
                value.unconditional.value,
                value.busy.value,
                value.unreachable.value,
                value.no_answer.value,
                value.ring_time,
                value.reach_number_1,
                value.reach_start_1,
                value.reach_number_2,
                value.reach_start_2,
                value.reach_end,
                int(value.voicemail),
            ),
        )

    # --- the read API ----------------------------------------------------------------------

    def settings_stamp(self) -> int | None:
        """The settings ``version`` alone (None: no tenant), so the SIP side can check for
        changes on every request and read the snapshot only when it moved. Read from the
        database only after a write transaction of this store (every change goes through
        one; the serve process owns its database file): between writes it is remembered —
        one SQLite read per SIP request was 8 % of the registrar's time under load."""
        writes = self._writes
        if self._stamp is not None and self._stamp[0] == writes:
            return self._stamp[1]  # no write since the last read: the same version
        rows = self._read("SELECT version FROM tenant")
        stamp = int(rows[0]["version"]) if rows else None
        self._stamp = (writes, stamp)
        return stamp

    def routing_snapshot(self) -> RoutingSnapshot:
        """The current settings as frozen records (one consistent read)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                return self._snapshot()
            finally:
                self._db.execute("COMMIT")

    def _snapshot(self) -> RoutingSnapshot:
        db = self._db
        tenant = self._tenant_row()
        kinds = {k.value: k for k in TerminalKind}
        terminals = {
            r["extension"]: TerminalRecord(
                extension=r["extension"],
                no=r["no"],
                site_number=r["site_number"],
                terminal_number=r["terminal_number"],
                terminal_id=r["terminal_id"],
                terminal_kind=kinds[r["terminal_kind"]],
                ha1_md5=r["ha1_md5"],
                ha1_sha256=r["ha1_sha256"],
            )
            for r in db.execute("SELECT * FROM terminals ORDER BY no")
        }
        lines = {
            r["external_number"]: ExternalLineRecord(
                external_number=r["external_number"],
                no=r["no"],
                kind=r["kind"],
                line_live=bool(r["line_live"]),
            )
            for r in db.execute("SELECT * FROM external_lines ORDER BY no")
        }
        members: dict[int, list[str]] = {}
        for r in db.execute("SELECT * FROM ring_group_members ORDER BY group_id, position"):
            members.setdefault(r["group_id"], []).append(r["extension"])
        groups = tuple(
            GroupRecord(
                id=r["id"],
                kind=GroupKind(r["kind"]),
                pilot=r["pilot"],
                members=tuple(members.get(r["id"], ())),
                ring_time=r["ring_time"],
            )
            for r in db.execute("SELECT * FROM ring_groups ORDER BY id")
        )
        inbound = {
            r["external_number"]: InboundRecord(
                external_number=r["external_number"],
                destination=r["destination"],
                applied=bool(r["applied"]),
            )
            for r in db.execute(
                "SELECT i.* FROM inbound_routes i JOIN external_lines l USING (external_number) "
                "ORDER BY l.no"
            )
        }
        outbound = {
            r["extension"]: r["caller_id"]
            for r in db.execute(
                "SELECT o.* FROM outbound_caller_ids o JOIN terminals t USING (extension) "
                "ORDER BY t.no"
            )
        }
        absence = {r["extension"]: _absence_value(r) for r in db.execute("SELECT * FROM absence")}
        passwords = {
            r["extension"]: r["password"] for r in db.execute("SELECT * FROM voicemail_passwords")
        }
        return RoutingSnapshot(
            version=tenant["version"],
            sip_domain=tenant["sip_domain"],
            terminals=MappingProxyType(terminals),
            external_lines=MappingProxyType(lines),
            groups=groups,
            inbound_routes=MappingProxyType(inbound),
            outbound_caller_ids=MappingProxyType(outbound),
            absence=MappingProxyType(absence),
            voicemail_passwords=MappingProxyType(passwords),
        )

    # --- web accounts and login ----------------------------------------------------------

    def account(self, login_id: str) -> Account | None:
        rows = self._read("SELECT * FROM web_accounts WHERE login_id = ?", (login_id,))
        return _account(rows[0]) if rows else None

    def locked_until(self, account: Account, *, now: float) -> float | None:
        """When ``account``'s lock runs out (simulated s), or None when it is not locked."""
        if account.locked_at is None or now >= account.locked_at + self.lockout_time:
            return None
        return account.locked_at + self.lockout_time

    def locked_accounts(self, *, now: float) -> list[Account]:
        """Accounts locked at ``now``, by ログインID."""
        rows = self._read(
            "SELECT * FROM web_accounts WHERE locked_at > ? ORDER BY login_id",
            (now - self.lockout_time,),
        )
        return [_account(r) for r in rows]

    def check_password(self, login_id: str, password: str, *, now: float) -> LoginOutcome:
        """Verify a web login (argon2: call it off the event loop); counts failures, locks.

        An unknown ログインID and a wrong パスワード give the same outcome. A locked account
        answers ``locked`` without its password being checked until ``lockout_time`` after it
        locked (``now``: the simulator clock); then it starts again with no failures.
        """
        rows = self._read(
            "SELECT password_hash, locked_at FROM web_accounts WHERE login_id = ?", (login_id,)
        )
        if not rows:
            # Spend the same time as a real check, so timing does not reveal login ids.
            _verify(_DUMMY_HASH, password)
            return "bad_credentials"
        locked_at = rows[0]["locked_at"]
        if locked_at is not None:
            if now < locked_at + self.lockout_time:
                return "locked"
            self.unlock(login_id)  # the lock ran out
        if _verify(rows[0]["password_hash"], password):
            self._set_failures(login_id, 0)
            return "ok"
        return self.record_failure(login_id, now=now)

    def record_failure(self, login_id: str, *, now: float) -> LoginOutcome:
        """One more failed attempt (password or one-time code); locked at the threshold."""
        with self._tx() as db:
            db.execute(
                "UPDATE web_accounts SET failed_logins = failed_logins + 1 WHERE login_id = ?",
                (login_id,),
            )
            row = db.execute(
                "SELECT failed_logins, locked_at FROM web_accounts WHERE login_id = ?",
                (login_id,),
            ).fetchone()
            if row is None or row["failed_logins"] < self.lockout_threshold:
                return "bad_credentials"
            if row["locked_at"] is not None:
                return "locked"
            db.execute("UPDATE web_accounts SET locked_at = ? WHERE login_id = ?", (now, login_id))
            return "locked_now"

    def is_locked(self, login_id: str, *, now: float) -> bool:
        account = self.account(login_id)
        return account is not None and self.locked_until(account, now=now) is not None

    def _set_failures(self, login_id: str, count: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE web_accounts SET failed_logins = ? WHERE login_id = ?", (count, login_id)
            )

    def unlock(self, login_id: str) -> bool:
        """Lift ``login_id``'s lock and forget its failures; False when there is no such account."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE web_accounts SET failed_logins = 0, locked_at = NULL WHERE login_id = ?",
                (login_id,),
            )
            return cur.rowcount > 0

    def register_email(self, login_id: str, email: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE web_accounts SET email = ? WHERE login_id = ?", (email, login_id))

    # --- one-time codes --------------------------------------------------------------------

    def issue_code(self, login_id: str, *, now: float) -> str:
        """A new 6-digit one-time code valid OTP_LIFETIME simulated seconds; earlier ones die."""
        code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
        with self._tx() as db:
            db.execute("UPDATE one_time_codes SET used = 1 WHERE login_id = ?", (login_id,))
            db.execute(
                "INSERT INTO one_time_codes (login_id, code_hash, expires_at) VALUES (?, ?, ?)",
                (login_id, _digest(f"{login_id}:{code}"), now + OTP_LIFETIME),
            )
        return code

    def redeem_code(self, login_id: str, code: str, *, now: float) -> bool:
        """True once for a live, unused code of ``login_id``; marks it used."""
        with self._tx() as db:
            row = db.execute(
                "SELECT id, code_hash FROM one_time_codes "
                "WHERE login_id = ? AND used = 0 AND expires_at > ? ORDER BY id DESC LIMIT 1",
                (login_id, now),
            ).fetchone()
            if row is None or not hmac.compare_digest(
                row["code_hash"], _digest(f"{login_id}:{code.strip()}")
            ):
                return False
            db.execute("UPDATE one_time_codes SET used = 1 WHERE id = ?", (row["id"],))
            return True

    # --- web sessions ------------------------------------------------------------------------

    def new_session(
        self,
        *,
        portal_login_id: str | None = None,
        login_id: str | None = None,
        stage: Stage = "anonymous",
        replaces: str | None = None,
    ) -> Session:
        """A fresh session (new token and CSRF token); ``replaces`` is deleted (rotation)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self._tx() as db:
            if replaces is not None:
                db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (_digest(replaces),))
            db.execute(
                "INSERT INTO web_sessions (token_hash, csrf_token, portal_login_id, login_id, "
                "stage) VALUES (?, ?, ?, ?, ?)",
                (_digest(token), csrf, portal_login_id, login_id, stage),
            )
        return Session(
            token=token,
            csrf_token=csrf,
            portal_login_id=portal_login_id,
            login_id=login_id,
            stage=stage,
        )

    def session(self, token: str) -> Session | None:
        rows = self._read("SELECT * FROM web_sessions WHERE token_hash = ?", (_digest(token),))
        if not rows:
            return None
        r = rows[0]
        return Session(
            token=token,
            csrf_token=r["csrf_token"],
            portal_login_id=r["portal_login_id"],
            login_id=r["login_id"],
            stage=r["stage"],
        )

    def set_flash(self, token: str, message: str) -> None:
        """Keep ``message`` for the session's next page (POST-redirect-GET: the notice of a
        POST is shown by the GET it redirects to)."""
        with self._tx() as db:
            db.execute(
                "UPDATE web_sessions SET flash = ? WHERE token_hash = ?", (message, _digest(token))
            )

    def take_flash(self, token: str) -> str | None:
        """The session's pending flash message, removed as it is read (shown once)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT flash FROM web_sessions WHERE token_hash = ?", (_digest(token),)
            ).fetchone()
            if row is None or row["flash"] is None:
                return None
            db.execute(
                "UPDATE web_sessions SET flash = NULL WHERE token_hash = ?", (_digest(token),)
            )
            message: str = row["flash"]
            return message

    def end_session(self, token: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (_digest(token),))

    # --- SIP side: registrations, calls, voicemail ---------------------------------------

    def add_registration(
        self, *, terminal_id: str, extension: str, contact: str, source: str, expires_at: float
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO registrations "
                "(terminal_id, extension, contact, source, expires_at) VALUES (?, ?, ?, ?, ?)",
                (terminal_id, extension, contact, source, expires_at),
            )

    def replace_registrations(
        self,
        bindings: Mapping[str, Sequence[tuple[str, str, str, float]]],
        *,
        epoch: int | None = None,
    ) -> None:
        """For each 端末ID, its current bindings ``(extension, contact, source, expires_at)``
        replace the listed ones (none: unregistered) — one transaction for many REGISTERs;
        nothing when ``epoch`` (captured with them) is not the store's any more."""
        with self._tx() as db:
            if self._stale(epoch):
                return
            for terminal_id, rows in bindings.items():
                db.execute("DELETE FROM registrations WHERE terminal_id = ?", (terminal_id,))
                db.executemany(
                    "INSERT OR REPLACE INTO registrations "
                    "(terminal_id, extension, contact, source, expires_at) VALUES (?, ?, ?, ?, ?)",
                    [(terminal_id, *row) for row in rows],
                )

    def remove_registration(self, *, terminal_id: str, contact: str | None = None) -> None:
        """Remove one contact of ``terminal_id``, or all of them when ``contact`` is None."""
        with self._tx() as db:
            if contact is None:
                db.execute("DELETE FROM registrations WHERE terminal_id = ?", (terminal_id,))
            else:
                db.execute(
                    "DELETE FROM registrations WHERE terminal_id = ? AND contact = ?",
                    (terminal_id, contact),
                )

    def replace_pstn_registrations(
        self,
        subscribers: Mapping[str, tuple[str, str, str, float] | None],
        *,
        epoch: int | None = None,
    ) -> None:
        """For each external number, its carrier-side binding ``(contact, transport, source,
        expires_at)`` or None (gone) — one transaction for many REGISTERs; nothing when
        ``epoch`` is stale."""
        with self._tx() as db:
            if self._stale(epoch):
                return
            for number, row in subscribers.items():
                db.execute("DELETE FROM pstn_registrations WHERE number = ?", (number,))
                if row is not None:
                    db.execute(
                        "INSERT INTO pstn_registrations "
                        "(number, contact, transport, source, expires_at) VALUES (?, ?, ?, ?, ?)",
                        (number, *row),
                    )

    def record_call(
        self,
        *,
        call_id: str,
        started_at: float,
        ended_at: float,
        caller: str,
        callee: str,
        caller_id: str | None,
        outcome: str,
        detail: Mapping[str, Any] | None = None,
        epoch: int | None = None,
    ) -> None:
        """One finished call (times: Unix seconds); nothing when it began before the last
        reset (``epoch``)."""
        with self._tx() as db:
            if self._stale(epoch):
                return
            db.execute(
                "INSERT INTO calls (call_id, started_at, ended_at, caller, callee, caller_id, "
                "outcome, detail_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call_id,
                    started_at,
                    ended_at,
                    caller,
                    callee,
                    caller_id,
                    outcome,
                    json.dumps(dict(detail or {}), ensure_ascii=False),
                ),
            )

    def record_voicemail(
        self,
        *,
        extension: str,
        caller_id: str | None,
        received_at: float,
        duration: float,
        epoch: int | None = None,
    ) -> None:
        """One voicemail message; nothing when its call began before the last reset."""
        with self._tx() as db:
            if self._stale(epoch):
                return
            db.execute(
                "INSERT INTO voicemail_messages (extension, caller_id, received_at, duration) "
                "VALUES (?, ?, ?, ?)",
                (extension, caller_id, received_at, duration),
            )

    def list_rows(
        self,
        table: Literal["registrations", "pstn_registrations", "calls", "voicemail_messages"],
        *,
        after: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of a SIP-side table as plain dicts (provisioning API), oldest first: those
        with ``id > after``, at most ``limit`` (a long run's calls, page by page)."""
        if table not in ("registrations", "pstn_registrations", "calls", "voicemail_messages"):
            raise ValueError(f"not a SIP-side table: {table}")
        for listener in self._listing_listeners:
            listener()
        sql = f"SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?"  # noqa: S608
        rows = [dict(r) for r in self._read(sql, (after, -1 if limit is None else limit))]
        for row in rows:
            if "detail_json" in row:
                row["detail"] = json.loads(row.pop("detail_json"))
        return rows


_DUMMY_HASH = _HASHER.hash("not-a-password-0")


def _account(r: sqlite3.Row) -> Account:
    return Account(
        login_id=r["login_id"],
        role=r["role"],
        extension=r["extension"],
        email=r["email"],
        failed_logins=r["failed_logins"],
        locked_at=r["locked_at"],
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _settings_of(snap: RoutingSnapshot) -> Settings:
    """Settings records as a 設定 document."""
    groups = [
        RingGroup(kind=g.kind, pilot=g.pilot, members=list(g.members))
        if g.ring_time is None  # left out, as it was loaded or saved
        else RingGroup(kind=g.kind, pilot=g.pilot, members=list(g.members), ring_time=g.ring_time)
        for g in snap.groups
    ]
    inbound = [
        InboundRoute(external_number=r.external_number, destination=r.destination)
        for r in snap.inbound_routes.values()
    ]
    outbound = [
        OutboundCallerId(extension=e, caller_id=c) for e, c in snap.outbound_caller_ids.items()
    ]
    absence: dict[str, ForwardAbsence | SingleNumberReach] = {}
    for extension, a in snap.absence.items():
        if a.kind == rules.FORWARD_KIND:
            absence[extension] = ForwardAbsence(
                kind="転送/留守番電話",
                forward_to=a.forward_to,
                actions=ForwardActions(
                    unconditional=a.unconditional,
                    busy=a.busy,
                    unreachable=a.unreachable,
                    no_answer=a.no_answer,
                ),
                ring_time=a.ring_time,
            )
        else:
            absence[extension] = SingleNumberReach(
                kind="シングルナンバーリーチ",
                reach_number_1=a.reach_number_1 or "",
                reach_start_1=a.reach_start_1 or 0,
                reach_number_2=a.reach_number_2,
                reach_start_2=a.reach_start_2,
                reach_end=a.reach_end or 0,
                voicemail=a.voicemail,
            )
    return Settings(
        ring_groups=groups,
        inbound_routes=inbound,
        outbound_caller_ids=outbound,
        absence=absence,
    )


def _absence_value(r: sqlite3.Row) -> AbsenceValue:
    return AbsenceValue(
        kind=r["kind"],
        forward_to=r["forward_to"],
        unconditional=Action(r["unconditional"]),
        busy=Action(r["busy"]),
        unreachable=Action(r["unreachable"]),
        no_answer=Action(r["no_answer"]),
        ring_time=r["ring_time"],
        reach_number_1=r["reach_number_1"],
        reach_start_1=r["reach_start_1"],
        reach_number_2=r["reach_number_2"],
        reach_start_2=r["reach_start_2"],
        reach_end=r["reach_end"],
        voicemail=bool(r["voicemail"]),
    )
