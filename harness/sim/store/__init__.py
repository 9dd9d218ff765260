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

Layout
------
``Store`` is one object composed of parts that share that connection, its lock and the
transaction funnel (``core.StoreCore._tx``), one module each: ``schema`` (tables and
migrations), ``records`` (the frozen read records), ``errors``, ``credentials`` (HA1s and
hashes), ``snapshot`` (the settings read API), ``settings`` (settings changes), ``tenant``
(load, summary, reset), ``accounts`` (logins, lockout, one-time codes, sessions) and
``sip_records`` (registrations, calls, voicemail). Callers import everything from here.
"""

from __future__ import annotations

from harness.sim.store.accounts import OTP_DIGITS, OTP_LIFETIME, AccountsMixin
from harness.sim.store.core import DEFAULT_LOCKOUT_THRESHOLD, DEFAULT_LOCKOUT_TIME
from harness.sim.store.credentials import sip_ha1
from harness.sim.store.errors import NoTenantError, SettingsError
from harness.sim.store.records import (
    Account,
    ExternalLineRecord,
    GroupRecord,
    InboundRecord,
    LoginOutcome,
    PstnRegistrationRow,
    RegistrationRow,
    RingTimeDefaults,
    Role,
    RoutingSnapshot,
    Session,
    Stage,
    TenantSummary,
    TerminalRecord,
)
from harness.sim.store.sip_records import SipRecordsMixin
from harness.sim.store.tenant import VOICEMAIL_PASSWORD_DIGITS, TenantMixin

__all__ = [
    "DEFAULT_LOCKOUT_THRESHOLD",
    "DEFAULT_LOCKOUT_TIME",
    "OTP_DIGITS",
    "OTP_LIFETIME",
    "VOICEMAIL_PASSWORD_DIGITS",
    "Account",
    "ExternalLineRecord",
    "GroupRecord",
    "InboundRecord",
    "LoginOutcome",
    "NoTenantError",
    "PstnRegistrationRow",
    "RegistrationRow",
    "RingTimeDefaults",
    "Role",
    "RoutingSnapshot",
    "Session",
    "SettingsError",
    "Stage",
    "Store",
    "TenantSummary",
    "TerminalRecord",
    "sip_ha1",
]


class Store(TenantMixin, AccountsMixin, SipRecordsMixin):
    """The simulator's state in one SQLite file (``path``) or a temporary one (``None``).

    ``Store(path, *, lockout_threshold=, lockout_time=)``: one connection and one transaction
    per change, whichever part (tenant, settings, accounts, SIP records) the change is in.
    """
