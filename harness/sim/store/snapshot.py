"""The settings as the SIP side and the provisioning API read them: ``routing_snapshot``
(frozen records, one consistent read), ``settings_stamp`` (its version alone, cheaply) and
``settings_document`` (the same as a 設定 document)."""

from __future__ import annotations

import sqlite3
from types import MappingProxyType

from harness.guide.types import (
    Action,
    ForwardAbsence,
    ForwardActions,
    GroupKind,
    InboundRoute,
    OutboundCallerId,
    RingGroup,
    Settings,
    SingleNumberReach,
    TerminalKind,
)
from harness.sim import rules
from harness.sim.rules import AbsenceValue
from harness.sim.store.core import StoreCore
from harness.sim.store.records import (
    ExternalLineRecord,
    GroupRecord,
    InboundRecord,
    RoutingSnapshot,
    TerminalRecord,
)


class SnapshotMixin(StoreCore):
    """The read API of the settings."""

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

    def settings_document(self) -> Settings:
        """The current settings as a 設定 document (what PUT /api/settings accepts)."""
        return settings_of(self.routing_snapshot())


def settings_of(snap: RoutingSnapshot) -> Settings:
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
