"""Rules that span fields, rows and documents (DOMAIN.md), one small function each.

Each rule takes a ``Draft`` — the rows of both documents that passed their own field checks,
each with its ``Place`` — and yields a ``Problem`` for every breach, naming the field to fix.
Rows that failed their field checks are left out of the draft, but their extensions and
external numbers are still *known* (``Draft.known_extensions``), so a typo in one row does
not cascade into "no such extension" everywhere else.

``RULES`` lists every rule in the order problems are reported.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from harness.errors import Problem
from harness.guide.problems import SEP, Place
from harness.guide.types import (
    GROUP_LIMIT,
    Absence,
    Action,
    AdminAccount,
    CustomerInfo,
    ExternalLine,
    ForwardAbsence,
    GroupKind,
    InboundRoute,
    OutboundCallerId,
    RingGroup,
    SingleNumberReach,
    Terminal,
    TerminalKind,
    TerminalUser,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Row(Generic[T]):
    """A validated row (or block) and where it is."""

    item: T
    place: Place

    def at(self, *path: str | int) -> str:
        """The location of a field of this row."""
        return self.place.where(*path)


@dataclass
class Draft:
    """What passed the field checks of ご利用内容.yaml and 設定.yaml, with places."""

    customer: Row[CustomerInfo] | None = None
    admin_account: Row[AdminAccount] | None = None
    terminals: list[Row[Terminal]] = field(default_factory=list)
    terminal_users: list[Row[TerminalUser]] = field(default_factory=list)
    external_lines: list[Row[ExternalLine]] = field(default_factory=list)
    ring_groups: list[Row[RingGroup]] = field(default_factory=list)
    inbound_routes: list[Row[InboundRoute]] = field(default_factory=list)
    outbound_caller_ids: list[Row[OutboundCallerId]] = field(default_factory=list)
    absence: dict[str, Row[Absence]] = field(default_factory=dict)
    # Raw "No" of every row per table (also of rows that failed their field checks).
    row_numbers: dict[str, list[tuple[object, Place]]] = field(default_factory=dict)
    # Extensions / external numbers written in rows that failed their field checks.
    unchecked_extensions: set[str] = field(default_factory=set)
    unchecked_external_numbers: set[str] = field(default_factory=set)

    @property
    def known_extensions(self) -> set[str]:
        return {r.item.extension for r in self.terminals} | self.unchecked_extensions

    @property
    def known_external_numbers(self) -> set[str]:
        return {r.item.external_number for r in self.external_lines} | (
            self.unchecked_external_numbers
        )

    @property
    def gateways(self) -> set[str]:
        return {
            r.item.extension for r in self.terminals if r.item.terminal_kind is TerminalKind.VOIP_GW
        }


Rule = Callable[[Draft], Iterator[Problem]]


def _duplicates(rows: Iterable[tuple[str, T]]) -> Iterator[tuple[str, T, T]]:
    """(key, first row, later row) for every repeat of a key."""
    first: dict[str, T] = {}
    for key, row in rows:
        if key in first:
            yield key, first[key], row
        else:
            first[key] = row


def _first_label(row: Row[T]) -> str:
    return row.place.parts[-1]


# --- ご利用内容.yaml ---------------------------------------------------------------------------


def site_numbers_have_one_length(draft: Draft) -> Iterator[Problem]:
    """All 拠点番号 have the same number of digits (fixed per contract)."""
    yield from _one_length(draft, "拠点番号", lambda t: t.site_number)


def terminal_numbers_have_one_length(draft: Draft) -> Iterator[Problem]:
    """All 端末番号 have the same number of digits (fixed per contract)."""
    yield from _one_length(draft, "端末番号", lambda t: t.terminal_number)


_LENGTH_IDS = {
    "拠点番号": "guide.site_number_one_length",
    "端末番号": "guide.terminal_number_one_length",
}


def _one_length(draft: Draft, key: str, get: Callable[[Terminal], str]) -> Iterator[Problem]:
    if not draft.terminals:
        return
    common, _ = Counter(len(get(r.item)) for r in draft.terminals).most_common(1)[0]
    for row in draft.terminals:
        if len(get(row.item)) != common:
            yield Problem(
                where=row.at(key),
                rule=f"every {key} of a contract has the same number of digits; most rows have "
                f"{common}, this one {len(get(row.item))}: correct the number",
                value=get(row.item),
                rule_id=_LENGTH_IDS[key],
            )


def row_numbers_are_unique(draft: Draft) -> Iterator[Problem]:
    """No appears once per table."""
    for table, numbers in draft.row_numbers.items():
        for no, first, later in _duplicates((str(no), place) for no, place in numbers):
            yield Problem(
                where=later.where("No"),
                rule=f"No must be unique within {table}; {no} is also used by "
                f"{first.parts[-1]}: renumber the rows",
                value=no,
                rule_id="guide.row_no_unique",
            )


def extensions_are_unique(draft: Draft) -> Iterator[Problem]:
    """A 内線番号 (拠点番号 + 端末番号) appears once in 内線番号情報1."""
    for ext, first, later in _duplicates((r.item.extension, r) for r in draft.terminals):
        yield Problem(
            where=later.at("端末番号"),
            rule=f"内線番号 {ext} (拠点番号 + 端末番号) is already listed in {_first_label(first)}:"
            " each extension appears once",
            value=ext,
            rule_id="guide.extension_unique",
        )


def terminal_ids_are_unique(draft: Draft) -> Iterator[Problem]:
    """A 端末ID (SIP user name) appears once."""
    for tid, first, later in _duplicates((r.item.terminal_id, r) for r in draft.terminals):
        yield Problem(
            where=later.at("端末ID"),
            rule=f"端末ID must be unique; {_first_label(first)} has the same one",
            value=tid,
            rule_id="guide.terminal_id_unique",
        )


def login_ids_are_unique(draft: Draft) -> Iterator[Problem]:
    """A ログインID of the web settings site (管理者 or 端末ユーザ) is used once."""
    rows: list[tuple[str, Row[AdminAccount] | Row[TerminalUser]]] = []
    if draft.admin_account is not None:
        rows.append((draft.admin_account.item.login_id, draft.admin_account))
    rows += [(r.item.login_id, r) for r in draft.terminal_users]
    for login, first, later in _duplicates(rows):
        yield Problem(
            where=later.at("ログインID"),
            rule=f"ログインID must be unique among all web accounts; "
            f"{SEP.join(first.place.parts[1:])} has the same one",
            value=login,
            rule_id="guide.login_id_unique",
        )


def terminal_users_name_existing_extensions(draft: Draft) -> Iterator[Problem]:
    """Every 内線番号情報2 row names an extension of 内線番号情報1."""
    known = draft.known_extensions
    for row in draft.terminal_users:
        if row.item.extension not in known:
            yield Problem(
                where=row.at("端末番号"),
                rule=f"内線番号 {row.item.extension} (拠点番号 + 端末番号) is not in "
                "内線番号情報1: a web account belongs to an existing extension",
                value=row.item.extension,
                rule_id="guide.web_account_extension_exists",
            )


def one_web_account_per_extension(draft: Draft) -> Iterator[Problem]:
    """An extension has at most one 端末ユーザ web account."""
    rows = ((r.item.extension, r) for r in draft.terminal_users)
    for ext, first, later in _duplicates(rows):
        yield Problem(
            where=later.at("端末番号"),
            rule=f"extension {ext} already has a web account in {_first_label(first)}: "
            "one 端末ユーザ per extension",
            value=ext,
            rule_id="guide.one_web_account_per_extension",
        )


_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")


def web_passwords_have_letters_and_digits(draft: Draft) -> Iterator[Problem]:
    """Web パスワード contain at least one letter and one digit."""
    rows: list[Row[AdminAccount] | Row[TerminalUser]] = list(draft.terminal_users)
    if draft.admin_account is not None:
        rows.insert(0, draft.admin_account)
    for row in rows:
        password = row.item.password
        if not (_LETTER.search(password) and _DIGIT.search(password)):
            yield Problem(
                where=row.at("パスワード"),
                rule="a web パスワード needs at least one letter and one digit (8–40 characters)",
                value=password,
                rule_id="guide.web_password_letters_and_digits",
            )


def external_numbers_are_unique(draft: Draft) -> Iterator[Problem]:
    """A 外線番号 appears once in 外線番号情報."""
    rows = ((r.item.external_number, r) for r in draft.external_lines)
    for number, first, later in _duplicates(rows):
        yield Problem(
            where=later.at("外線番号"),
            rule=f"外線番号 must be unique; {_first_label(first)} has the same one",
            value=number,
            rule_id="guide.external_number_unique",
        )


# --- 設定.yaml: 着信グループ --------------------------------------------------------------------


def at_most_200_groups(draft: Draft) -> Iterator[Problem]:
    """A tenant has at most 200 着信グループ."""
    if len(draft.ring_groups) > GROUP_LIMIT:
        extra = draft.ring_groups[GROUP_LIMIT]
        yield Problem(
            where=extra.place.where(),
            rule=f"at most {GROUP_LIMIT} 着信グループ are allowed; "
            f"found {len(draft.ring_groups)}: remove or merge groups",
            rule_id="group.at_most_200",
        )


def pilot_matches_group_kind(draft: Draft) -> Iterator[Problem]:
    """順次着信/一斉着信 have a 代表番号; コールピックアップ has none."""
    for row in draft.ring_groups:
        group = row.item
        if group.kind is GroupKind.PICKUP and group.pilot is not None:
            yield Problem(
                where=row.at("代表番号"),
                rule="a コールピックアップ group has no 代表番号: remove it",
                value=group.pilot,
                rule_id="group.pickup_has_no_pilot",
            )
        elif group.kind is not GroupKind.PICKUP and group.pilot is None:
            yield Problem(
                where=row.at("代表番号"),
                rule=f"a {group.kind} group needs a 代表番号 (an existing 内線番号): add it",
                rule_id="group.pilot_required",
            )


def pilot_is_an_extension(draft: Draft) -> Iterator[Problem]:
    """A 代表番号 is an existing extension."""
    known = draft.known_extensions
    for row in draft.ring_groups:
        pilot = row.item.pilot
        if pilot is not None and pilot not in known:
            yield Problem(
                where=row.at("代表番号"),
                rule="代表番号 must be an existing 内線番号 of 内線番号情報1",
                value=pilot,
                rule_id="group.pilot_exists",
            )


def members_are_extensions(draft: Draft) -> Iterator[Problem]:
    """Every メンバー is an existing extension."""
    known = draft.known_extensions
    for row in draft.ring_groups:
        for index, member in enumerate(row.item.members):
            if member not in known:
                yield Problem(
                    where=row.at("メンバー", index),
                    rule="a メンバー must be an existing 内線番号 of 内線番号情報1",
                    value=member,
                    rule_id="group.member_exists",
                )


def members_are_not_repeated(draft: Draft) -> Iterator[Problem]:
    """A group lists each member once."""
    for row in draft.ring_groups:
        seen: set[str] = set()
        for index, member in enumerate(row.item.members):
            if member in seen:
                yield Problem(
                    where=row.at("メンバー", index),
                    rule="this メンバー is already listed in the same group: list each once",
                    value=member,
                    rule_id="group.member_once",
                )
            seen.add(member)


def pickup_group_has_two_members(draft: Draft) -> Iterator[Problem]:
    """A コールピックアップ group has at least two distinct members (else nobody can pick up)."""
    for row in draft.ring_groups:
        group = row.item
        if group.kind is GroupKind.PICKUP and len(set(group.members)) < 2:
            yield Problem(
                where=row.at("メンバー"),
                rule="a コールピックアップ group needs at least two メンバー "
                "(members pick up each other's calls)",
                rule_id="group.pickup_two_members",
            )


def pilot_of_one_group(draft: Draft) -> Iterator[Problem]:
    """An extension is 代表番号 of at most one group."""
    rows = ((r.item.pilot, r) for r in draft.ring_groups if r.item.pilot is not None)
    for pilot, first, later in _duplicates(rows):
        yield Problem(
            where=later.at("代表番号"),
            rule=f"{pilot} is already the 代表番号 of {_first_label(first)}: "
            "an extension is 代表番号 of at most one group",
            value=pilot,
            rule_id="group.pilot_of_one_group",
        )


def member_of_one_pickup_group(draft: Draft) -> Iterator[Problem]:
    """An extension is a member of at most one コールピックアップ group."""
    first: dict[str, Row[RingGroup]] = {}
    for row in draft.ring_groups:
        if row.item.kind is not GroupKind.PICKUP:
            continue
        for index, member in enumerate(row.item.members):
            if member in first and first[member] is not row:
                yield Problem(
                    where=row.at("メンバー", index),
                    rule=f"{member} is already a member of the コールピックアップ group "
                    f"{_first_label(first[member])}: an extension joins at most one pickup group",
                    value=member,
                    rule_id="group.one_pickup_group",
                )
            first.setdefault(member, row)


def gateways_stay_out_of_groups(draft: Draft) -> Iterator[Problem]:
    """A VoIP-GW extension is never a 代表番号 or メンバー."""
    gateways = draft.gateways
    for row in draft.ring_groups:
        if row.item.pilot in gateways:
            yield Problem(
                where=row.at("代表番号"),
                rule="a VoIP-GW extension cannot be a 代表番号: choose another extension",
                value=row.item.pilot,
                rule_id="group.gateway_not_pilot",
            )
        for index, member in enumerate(row.item.members):
            if member in gateways:
                yield Problem(
                    where=row.at("メンバー", index),
                    rule="a VoIP-GW extension cannot be a group メンバー: remove it",
                    value=member,
                    rule_id="group.gateway_not_member",
                )


# --- 設定.yaml: 外線着信設定 / 外線発信設定 ------------------------------------------------------


def inbound_number_is_a_line(draft: Draft) -> Iterator[Problem]:
    """A routed 外線番号 is listed in 外線番号情報."""
    known = draft.known_external_numbers
    for row in draft.inbound_routes:
        if row.item.external_number not in known:
            yield Problem(
                where=row.at("外線番号"),
                rule="外線番号 must be a number of 外線番号情報 in ご利用内容.yaml",
                value=row.item.external_number,
                rule_id="inbound.line_exists",
            )


def inbound_number_routed_once(draft: Draft) -> Iterator[Problem]:
    """A 外線番号 has at most one 外線着信設定."""
    rows = ((r.item.external_number, r) for r in draft.inbound_routes)
    for number, first, later in _duplicates(rows):
        yield Problem(
            where=later.at("外線番号"),
            rule=f"外線番号 {number} is already routed in {_first_label(first)}: "
            "one 着信先 per external number",
            value=number,
            rule_id="inbound.routed_once",
        )


def inbound_destination_exists(draft: Draft) -> Iterator[Problem]:
    """A 着信先 is an extension or the 代表番号 of a 順次着信/一斉着信 group."""
    known = draft.known_extensions
    pilots = {r.item.pilot for r in draft.ring_groups if r.item.kind is not GroupKind.PICKUP}
    for row in draft.inbound_routes:
        destination = row.item.destination
        if destination not in known and destination not in pilots:
            yield Problem(
                where=row.at("着信先"),
                rule="着信先 must be an existing 内線番号 or the 代表番号 of a 順次着信/一斉着信 "
                "group (a コールピックアップ group cannot receive calls)",
                value=destination,
                rule_id="inbound.destination_exists",
            )


def outbound_extension_exists(draft: Draft) -> Iterator[Problem]:
    """外線発信設定 names an existing extension."""
    known = draft.known_extensions
    for row in draft.outbound_caller_ids:
        if row.item.extension not in known:
            yield Problem(
                where=row.at("内線番号"),
                rule="内線番号 must be an existing extension of 内線番号情報1",
                value=row.item.extension,
                rule_id="outbound.extension_exists",
            )


def outbound_once_per_extension(draft: Draft) -> Iterator[Problem]:
    """An extension has at most one 発信者番号."""
    rows = ((r.item.extension, r) for r in draft.outbound_caller_ids)
    for ext, first, later in _duplicates(rows):
        yield Problem(
            where=later.at("内線番号"),
            rule=f"extension {ext} already has a 発信者番号 in {_first_label(first)}: "
            "one 外線発信設定 per extension",
            value=ext,
            rule_id="outbound.once_per_extension",
        )


def caller_id_is_a_line(draft: Draft) -> Iterator[Problem]:
    """A 発信者番号 is a number of 外線番号情報."""
    known = draft.known_external_numbers
    for row in draft.outbound_caller_ids:
        if row.item.caller_id not in known:
            yield Problem(
                where=row.at("発信者番号"),
                rule="発信者番号 must be a number of 外線番号情報 in ご利用内容.yaml",
                value=row.item.caller_id,
                rule_id="outbound.caller_id_is_a_line",
            )


# --- 設定.yaml: 不在時動作設定 ---------------------------------------------------------------


def absence_for_existing_extension(draft: Draft) -> Iterator[Problem]:
    """不在時動作設定 is keyed by existing extensions."""
    known = draft.known_extensions
    for ext, row in draft.absence.items():
        if ext not in known:
            yield Problem(
                where=row.place.where(),
                rule="不在時動作設定 keys must be existing 内線番号 of 内線番号情報1",
                value=ext,
                rule_id="absence.extension_exists",
            )


def gateways_have_no_absence(draft: Draft) -> Iterator[Problem]:
    """A VoIP-GW extension has no 不在時動作."""
    for ext, row in draft.absence.items():
        if ext in draft.gateways:
            yield Problem(
                where=row.place.where(),
                rule="a VoIP-GW extension has no 不在時動作: remove this entry",
                value=ext,
                rule_id="absence.not_for_gateway",
            )


def forward_to_is_not_self(draft: Draft) -> Iterator[Problem]:
    """転送先電話番号 is not the extension's own number."""
    for ext, row in draft.absence.items():
        if isinstance(row.item, ForwardAbsence) and row.item.forward_to == ext:
            yield Problem(
                where=row.at("転送先電話番号"),
                rule="転送先電話番号 cannot be the extension itself: choose another number",
                value=row.item.forward_to,
                rule_id="absence.forward_to_not_self",
            )


def forward_to_given_when_forwarding(draft: Draft) -> Iterator[Problem]:
    """転送先電話番号 is required when some 転送動作 is 転送."""
    for row in draft.absence.values():
        item = row.item
        if (
            isinstance(item, ForwardAbsence)
            and item.actions.any_forward()
            and item.forward_to is None
        ):
            yield Problem(
                where=row.at("転送先電話番号"),
                rule="転送先電話番号 is required because a 転送動作 is 転送: add the number, or "
                "change that 転送動作",
                rule_id="absence.forward_to_required",
            )


def ring_time_given_when_no_answer_acts(draft: Draft) -> Iterator[Problem]:
    """呼出時間 is given exactly when 無応答 is not 設定しない."""
    for row in draft.absence.values():
        item = row.item
        if not isinstance(item, ForwardAbsence):
            continue
        acts = item.actions.no_answer is not Action.NONE
        if acts and item.ring_time is None:
            yield Problem(
                where=row.at("呼出時間"),
                rule=f"呼出時間 (5–30 s) is required because 無応答 is {item.actions.no_answer}: "
                "add it",
                rule_id="absence.ring_time_required",
            )
        elif not acts and item.ring_time is not None:
            yield Problem(
                where=row.at("呼出時間"),
                rule="呼出時間 applies only when 無応答 is 転送 or 留守番電話, and 無応答 is "
                "設定しない: remove 呼出時間 or set 無応答",
                value=str(item.ring_time),
                rule_id="absence.ring_time_unused",
            )


def reach_start_2_given_with_number_2(draft: Draft) -> Iterator[Problem]:
    """呼出開始時間2 is given exactly when 接続先番号2 is given."""
    for row in draft.absence.values():
        item = row.item
        if not isinstance(item, SingleNumberReach):
            continue
        if item.reach_number_2 is not None and item.reach_start_2 is None:
            yield Problem(
                where=row.at("呼出開始時間2"),
                rule="呼出開始時間2 (1–30 s) is required because 接続先番号2 is given: add it",
                rule_id="absence.reach_start_2_required",
            )
        elif item.reach_number_2 is None and item.reach_start_2 is not None:
            yield Problem(
                where=row.at("呼出開始時間2"),
                rule="呼出開始時間2 is given but 接続先番号2 is not: add 接続先番号2 or remove "
                "呼出開始時間2",
                value=str(item.reach_start_2),
                rule_id="absence.reach_start_2_unused",
            )


RULES: tuple[Rule, ...] = (
    row_numbers_are_unique,
    site_numbers_have_one_length,
    terminal_numbers_have_one_length,
    extensions_are_unique,
    terminal_ids_are_unique,
    login_ids_are_unique,
    terminal_users_name_existing_extensions,
    one_web_account_per_extension,
    web_passwords_have_letters_and_digits,
    external_numbers_are_unique,
    at_most_200_groups,
    pilot_matches_group_kind,
    pilot_is_an_extension,
    members_are_extensions,
    members_are_not_repeated,
    pickup_group_has_two_members,
    pilot_of_one_group,
    member_of_one_pickup_group,
    gateways_stay_out_of_groups,
    inbound_number_is_a_line,
    inbound_number_routed_once,
    inbound_destination_exists,
    outbound_extension_exists,
    outbound_once_per_extension,
    caller_id_is_a_line,
    absence_for_existing_extension,
    gateways_have_no_absence,
    forward_to_is_not_self,
    forward_to_given_when_forwarding,
    ring_time_given_when_no_answer_acts,
    reach_start_2_given_with_number_2,
)


def check(draft: Draft) -> list[Problem]:
    """Every problem found by every rule, in ``RULES`` order."""
    return [problem for rule in RULES for problem in rule(draft)]


STRUCTURE_RULE = "document.structure"
"""The id of the rules every document shares before any table's own (readable YAML, a
mapping of the known tables, each table a list of rows, no key given twice): the loader
words each one; they have one id because no other surface words them differently."""


def identified(problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` with ``STRUCTURE_RULE`` as the id of those that have none."""
    return [p if p.rule_id else replace(p, rule_id=STRUCTURE_RULE) for p in problems]
