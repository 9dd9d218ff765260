"""Settings changes: a whole 設定 document (provisioning API) or one change of a settings-site
page, each checked by the guide's rules and written in one transaction (all or nothing)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from harness.guide.types import ExternalLine, Settings, Terminal, TerminalKind
from harness.guide.validate import SETTINGS_FILE, as_source, check_settings
from harness.sim import rules
from harness.sim.faults import NO_FAULTS, Faults
from harness.sim.rules import AbsenceDraft, AbsenceValue, GroupDraft, TenantView
from harness.sim.store.errors import SettingsError
from harness.sim.store.schema import SETTINGS_TABLES
from harness.sim.store.snapshot import SnapshotMixin, settings_of


class SettingsMixin(SnapshotMixin):
    """Every settings change, each one transaction."""

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
        for table in SETTINGS_TABLES:
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

    def set_absence(
        self, extension: str, draft: AbsenceDraft, faults: Faults = NO_FAULTS
    ) -> AbsenceValue | None:
        """不在時動作設定「設定」 for ``extension``; returns what was saved (None: 未設定).
        ``faults``: the settings site's deviations switched on (rules.check_absence)."""
        with self._tx() as db:
            checked = rules.check_absence(extension, draft, self._view(db), faults)
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
        settings = settings_of(self._snapshot()) if self.has_tenant() else Settings()
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
