"""The tenant: loading one (accounts hashed, HA1s computed, settings applied), its summary,
and the reset back to its loaded documents. Both bump the store's ``epoch``."""

from __future__ import annotations

import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType

from harness.guide.types import Settings, Tenant
from harness.sim.store.credentials import HASHER, sip_ha1
from harness.sim.store.records import Role, TenantSummary
from harness.sim.store.schema import TENANT_TABLES
from harness.sim.store.settings import SettingsMixin

VOICEMAIL_PASSWORD_DIGITS = 4
"""留守番電話パスワード: 3–8 digits (S); the simulator generates 4."""


class TenantMixin(SettingsMixin):
    """Load, summarise and reset the one tenant."""

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
            hashes = list(pool.map(HASHER.hash, [pw for _, _, _, pw in accounts]))
        hashed = [
            (role, lid, ext, h) for (role, lid, ext, _), h in zip(accounts, hashes, strict=True)
        ]
        with self._tx() as db:
            self._epoch += 1  # SIP-side writes captured before this are stale
            # The version keeps counting across reloads: a reader comparing versions (the SIP
            # side's settings_stamp) must see a new tenant as a change.
            previous = db.execute("SELECT version FROM tenant").fetchone()
            for table in TENANT_TABLES:
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
