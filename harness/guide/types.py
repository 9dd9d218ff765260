"""Typed ご利用内容のご案内 (guide) and 設定 (settings) documents.

English field names per the glossary of ../shared/DOMAIN.md; the Japanese keys of the printed
document are the aliases (``populate_by_name`` lets code build them with English names too).
Numbers are strings: leading zeros matter. Extensions are full 内線番号 (拠点番号 + 端末番号).

This module holds the *shapes* and per-field rules (types, digit patterns, ranges); each field's
``description`` states its rule in plain words, and is what a refused document quotes. Rules
that span fields, rows or documents (unique 端末ID, a pilot that exists, one pickup group per
extension…) live in ``harness.guide.rules`` and run in ``harness.guide.load``.

Strings are strict: a YAML number where a string is expected is refused (``拠点番号: 020`` would
lose its leading zero, YAML even reads it as octal), so every number must be quoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    Tag,
    WithJsonSchema,
    model_serializer,
)


class _Doc(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True, frozen=True, extra="forbid", str_strip_whitespace=True
    )


# --- field shapes -----------------------------------------------------------------------------

Text = Annotated[str, Strict(), Field(min_length=1)]
"""A non-empty string (YAML numbers are refused: quote them)."""

Int = Annotated[int, Strict()]
"""A whole number written as a YAML number (``true`` and ``"5"`` are refused)."""

RowNo = Annotated[int, Strict(), Field(ge=1)]

SiteNumber = Annotated[str, Strict(), Field(pattern=r"^[0-9]{1,11}$")]
TerminalNumber = Annotated[str, Strict(), Field(pattern=r"^[0-9]{1,11}$")]
Extension = Annotated[str, Strict(), Field(pattern=r"^[0-9]{2,22}$")]
"""A full 内線番号: 拠点番号 + 端末番号, 2–22 digits."""

ExternalNumber = Annotated[str, Strict(), Field(pattern=r"^0[0-9]{9,10}$")]
"""A Japanese 外線番号 as dialled in Japan: 10 or 11 digits starting with 0, no hyphens."""

LoginId = Annotated[str, Strict(), Field(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]
WebPassword = Annotated[str, Strict(), Field(min_length=8, max_length=40)]
"""Length only; "letters and digits" is ``rules.web_password_has_letters_and_digits``."""

TerminalId = Annotated[str, Strict(), Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


def _strip_hyphens(number: str) -> str:
    return number.replace("-", "")


PHONE_NUMBER_MAX = 32
"""Most characters of a 転送先電話番号 / 接続先番号, hyphens included (DOMAIN.md)."""

PhoneNumber = Annotated[
    str,
    Strict(),
    Field(max_length=PHONE_NUMBER_MAX, pattern=r"^-*[0-9][0-9-]*$"),
    AfterValidator(_strip_hyphens),
]
"""転送先電話番号 / 接続先番号: digits and hyphens, ≤ 32 characters; stored without hyphens."""


# --- ご利用内容.yaml ---------------------------------------------------------------------------


class TerminalKind(StrEnum):
    """端末種別 (DOMAIN.md "Numbering and accounts")."""

    IP_PHONE = "IP Phone"
    SMARTPHONE = "スマートフォン"
    SOFTPHONE = "ソフトフォン"
    VOIP_GW = "VoIP-GW"


_TERMINAL_KIND_SPELLINGS = {"IP-Phone": TerminalKind.IP_PHONE.value}


def _normalise_terminal_kind(value: Any) -> Any:
    return _TERMINAL_KIND_SPELLINGS.get(value, value) if isinstance(value, str) else value


TerminalKindField = Annotated[
    TerminalKind,
    BeforeValidator(_normalise_terminal_kind),
    WithJsonSchema(
        {"type": "string", "enum": [*(k.value for k in TerminalKind), *_TERMINAL_KIND_SPELLINGS]}
    ),
]


class CustomerInfo(_Doc):
    """お客様情報."""

    order_kind: Text = Field(alias="ご注文内容", description="ご注文内容, e.g. 新設 or 変更.")
    sip_domain: str = Field(
        alias="内線サーバアドレス",
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$",
        strict=True,
        description="内線サーバアドレス: the SIP domain, a host name like 01234abc.smart-pbx.jp.",
    )
    uno_address: str | None = Field(
        default=None,
        alias="内線サーバアドレス(UNO接続)",
        pattern=r"^[A-Za-z0-9.:-]+$",
        strict=True,
        description="内線サーバアドレス(UNO接続) (optional, Flexible InterConnect): "
        "an IP address or host name.",
    )
    service_code: str | None = Field(
        default=None,
        alias="サービスコード",
        min_length=1,
        strict=True,
        description="サービスコード (optional): text entered in the apps' アカウント設定.",
    )


class AdminAccount(_Doc):
    """管理者アカウント (お客様管理者 of the web settings site)."""

    login_id: LoginId = Field(
        alias="ログインID",
        description="ログインID: 1–64 letters, digits or . _ @ -; unique among all web accounts.",
    )
    password: WebPassword = Field(
        alias="パスワード",
        description="web パスワード: 8–40 characters including at least one letter and one digit.",
    )


class Terminal(_Doc):
    """A row of 内線番号情報1: one SIP terminal."""

    no: RowNo = Field(alias="No", description="No: the row number, a whole number ≥ 1, unique.")
    site_number: SiteNumber = Field(
        alias="拠点番号",
        description='拠点番号: 1–11 digits as a quoted string (e.g. "20"); '
        "the same number of digits in every row.",
    )
    terminal_number: TerminalNumber = Field(
        alias="端末番号",
        description='端末番号: 1–11 digits as a quoted string (e.g. "200"); '
        "the same number of digits in every row.",
    )
    terminal_id: TerminalId = Field(
        alias="端末ID",
        description="端末ID (the SIP user name): 1–64 letters, digits or . _ -; unique.",
    )
    password: Text = Field(alias="パスワード", description="パスワード of the terminal (SIP).")
    terminal_kind: TerminalKindField = Field(
        alias="端末種別",
        description="端末種別: one of IP Phone (also written IP-Phone), スマートフォン, "
        "ソフトフォン, VoIP-GW.",
    )

    @property
    def extension(self) -> str:
        """内線番号 = 拠点番号 + 端末番号."""
        return self.site_number + self.terminal_number


class TerminalUser(_Doc):
    """A row of 内線番号情報2: the web account of one 端末ユーザ."""

    no: RowNo = Field(alias="No", description="No: the row number, a whole number ≥ 1, unique.")
    site_number: SiteNumber = Field(
        alias="拠点番号", description="拠点番号 of an extension listed in 内線番号情報1."
    )
    terminal_number: TerminalNumber = Field(
        alias="端末番号", description="端末番号 of an extension listed in 内線番号情報1."
    )
    login_id: LoginId = Field(
        alias="ログインID",
        description="ログインID: 1–64 letters, digits or . _ @ -; unique among all web accounts.",
    )
    password: WebPassword = Field(
        alias="パスワード",
        description="web パスワード: 8–40 characters including at least one letter and one digit.",
    )

    @property
    def extension(self) -> str:
        """内線番号 = 拠点番号 + 端末番号."""
        return self.site_number + self.terminal_number


class ExternalLine(_Doc):
    """A row of 外線番号情報."""

    no: RowNo = Field(alias="No", description="No: the row number, a whole number ≥ 1, unique.")
    external_number: ExternalNumber = Field(
        alias="外線番号",
        description="外線番号: 10 or 11 digits starting with 0, quoted, no hyphens "
        '(e.g. "0312345678"); unique.',
    )
    kind: Text = Field(alias="種別", description="種別 of the line, e.g. IP Voice for SmartPBX.")


class Guide(_Doc):
    """ご利用内容のご案内: what the carrier hands over."""

    customer: CustomerInfo = Field(alias="お客様情報", description="お客様情報.")
    admin_account: AdminAccount = Field(alias="管理者アカウント", description="管理者アカウント.")
    terminals: list[Terminal] = Field(
        alias="内線番号情報1", min_length=1, description="内線番号情報1: at least one terminal."
    )
    terminal_users: list[TerminalUser] = Field(
        default_factory=list, alias="内線番号情報2", description="内線番号情報2 (optional)."
    )
    external_lines: list[ExternalLine] = Field(
        default_factory=list, alias="外線番号情報", description="外線番号情報 (optional)."
    )


# --- 設定.yaml --------------------------------------------------------------------------------

GROUP_LIMIT = 200
"""Most 着信グループ a tenant may have (DOMAIN.md 初期設定, S)."""

DEFAULT_GROUP_RING_TIME = 20
"""The group 呼出時間 the service applies when a group leaves it out (DOMAIN.md G / T)."""

GROUP_RING_TIME_RANGE = (5, 60)
"""Allowed group 呼出時間 in seconds. The public material gives no range; 5–60 is this
harness's choice: the lower bound matches the per-extension 呼出時間, the upper bound the
シングルナンバーリーチ 呼出終了時間."""


class GroupKind(StrEnum):
    """着信グループの種別."""

    SEQUENTIAL = "順次着信"
    SIMULTANEOUS = "一斉着信"
    PICKUP = "コールピックアップ"


class RingGroup(_Doc):
    """A row of 着信グループ. ``pilot`` is absent exactly for pickup groups."""

    kind: GroupKind = Field(
        alias="種別", description="種別: one of 順次着信, 一斉着信, コールピックアップ."
    )
    pilot: Extension | None = Field(
        default=None,
        alias="代表番号",
        description="代表番号: an existing 内線番号; required for 順次着信 and 一斉着信, "
        "absent for コールピックアップ.",
    )
    members: list[Extension] = Field(
        alias="メンバー",
        min_length=1,
        description="メンバー: a list of existing 内線番号 (quoted), each at most once.",
    )
    ring_time: Int = Field(
        default=DEFAULT_GROUP_RING_TIME,
        alias="呼出時間",
        ge=GROUP_RING_TIME_RANGE[0],
        le=GROUP_RING_TIME_RANGE[1],
        description="呼出時間: seconds, 5–60 (default 20): the whole group for 一斉着信, "
        "each member for 順次着信.",
    )

    @model_serializer(mode="wrap")
    def _left_out_stays_left_out(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A document that leaves 呼出時間 out leaves the length to the service (DOMAIN.md
        (A): G / T), which is not the same as writing 20: written back (YAML, the simulator's
        GET /api/settings) it stays left out."""
        data = handler(self)
        if "ring_time" not in self.model_fields_set and isinstance(data, dict):
            data.pop("呼出時間", None)
            data.pop("ring_time", None)
        return data


class InboundRoute(_Doc):
    """A row of 外線着信設定: an external number → an extension or a group's pilot."""

    external_number: ExternalNumber = Field(
        alias="外線番号",
        description="外線番号: a number of 外線番号情報, routed at most once.",
    )
    destination: Extension = Field(
        alias="着信先",
        description="着信先: an existing 内線番号 or the 代表番号 of a 順次着信/一斉着信 group.",
    )


class OutboundCallerId(_Doc):
    """A row of 外線発信設定: the 外線番号 an extension presents on external calls."""

    extension: Extension = Field(
        alias="内線番号", description="内線番号: an existing extension, at most once."
    )
    caller_id: ExternalNumber = Field(
        alias="発信者番号", description="発信者番号: a number of 外線番号情報."
    )


class Action(StrEnum):
    """転送動作 for one state."""

    FORWARD = "転送"
    VOICEMAIL = "留守番電話"
    NONE = "設定しない"


_ACTION_RULE = "one of 転送, 留守番電話, 設定しない (default 設定しない)"


class ForwardActions(_Doc):
    """転送動作 per state: 無条件 / 話中 / 圏外 / 無応答."""

    unconditional: Action = Field(
        default=Action.NONE, alias="無条件", description=f"無条件: {_ACTION_RULE}."
    )
    busy: Action = Field(default=Action.NONE, alias="話中", description=f"話中: {_ACTION_RULE}.")
    unreachable: Action = Field(
        default=Action.NONE, alias="圏外", description=f"圏外: {_ACTION_RULE}."
    )
    no_answer: Action = Field(
        default=Action.NONE, alias="無応答", description=f"無応答: {_ACTION_RULE}."
    )

    def any_forward(self) -> bool:
        """True when some state's action is 転送 (then 転送先電話番号 is required)."""
        return Action.FORWARD in (self.unconditional, self.busy, self.unreachable, self.no_answer)


FORWARD_KIND = "転送/留守番電話"
REACH_KIND = "シングルナンバーリーチ"
REACH_KIND_MISSPELT = "シングルナンバーリッチ"
"""The onboarding manual's spelling; accepted in documents, normalised to ``REACH_KIND``."""


class ForwardAbsence(_Doc):
    """不在時動作 = 転送/留守番電話設定."""

    kind: Literal["転送/留守番電話"] = Field(
        alias="種別", description="種別: 転送/留守番電話 or シングルナンバーリーチ."
    )
    forward_to: PhoneNumber | None = Field(
        default=None,
        alias="転送先電話番号",
        description="転送先電話番号: digits and hyphens, at most 32 characters (hyphens are "
        "dropped), not the own extension; required when some 転送動作 is 転送.",
    )
    actions: ForwardActions = Field(
        default_factory=ForwardActions, alias="転送動作", description="転送動作 per state."
    )
    ring_time: Int | None = Field(
        default=None,
        alias="呼出時間",
        ge=5,
        le=30,
        description="呼出時間: seconds, 5–30; given exactly when 無応答 is not 設定しない.",
    )


def _normalise_reach_kind(value: Any) -> Any:
    return REACH_KIND if value == REACH_KIND_MISSPELT else value


class SingleNumberReach(_Doc):
    """不在時動作 = シングルナンバーリーチ設定."""

    kind: Annotated[
        Literal["シングルナンバーリーチ"],
        BeforeValidator(_normalise_reach_kind),
        WithJsonSchema({"type": "string", "enum": [REACH_KIND, REACH_KIND_MISSPELT]}),
    ] = Field(
        alias="種別",
        description="種別: 転送/留守番電話 or シングルナンバーリーチ (the manual's spelling "
        "シングルナンバーリッチ is accepted).",
    )
    reach_number_1: PhoneNumber = Field(
        alias="接続先番号1",
        description="接続先番号1 (required): digits and hyphens, at most 32 characters "
        "(hyphens are dropped).",
    )
    reach_start_1: Int = Field(
        alias="呼出開始時間1",
        ge=1,
        le=30,
        description="呼出開始時間1: seconds after arrival before 接続先番号1 rings, 1–30.",
    )
    reach_number_2: PhoneNumber | None = Field(
        default=None,
        alias="接続先番号2",
        description="接続先番号2 (optional): digits and hyphens, at most 32 characters "
        "(hyphens are dropped).",
    )
    reach_start_2: Int | None = Field(
        default=None,
        alias="呼出開始時間2",
        ge=1,
        le=30,
        description="呼出開始時間2: seconds, 1–30; given exactly when 接続先番号2 is given.",
    )
    reach_end: Int = Field(
        alias="呼出終了時間",
        ge=5,
        le=60,
        description="呼出終了時間: seconds after arrival when every leg stops, 5–60.",
    )
    voicemail: Annotated[bool, Strict()] = Field(
        default=False,
        alias="留守番電話",
        description="留守番電話: true or false; at 呼出終了時間 the call goes to voicemail.",
    )


_ABSENCE_TAGS = {FORWARD_KIND: "forward", REACH_KIND: "reach", REACH_KIND_MISSPELT: "reach"}
ABSENCE_CLASSES: dict[str, type[ForwardAbsence] | type[SingleNumberReach]] = {
    "forward": ForwardAbsence,
    "reach": SingleNumberReach,
}
"""Discriminator tag → class of a 不在時動作 entry (the tag leads error locations)."""


def absence_tag(value: Any) -> str | None:
    """The union tag of a raw or typed 不在時動作 entry, from its 種別 (either spelling)."""
    kind = value.get("種別", value.get("kind")) if isinstance(value, dict) else None
    if kind is None:
        kind = getattr(value, "kind", None)
    return _ABSENCE_TAGS.get(kind) if isinstance(kind, str) else None


Absence = Annotated[
    Annotated[ForwardAbsence, Tag("forward")] | Annotated[SingleNumberReach, Tag("reach")],
    Discriminator(
        absence_tag,
        custom_error_type="absence_kind",
        custom_error_message="種別 must be 転送/留守番電話 or シングルナンバーリーチ",
    ),
]


class Settings(_Doc):
    """設定.yaml: the tenant's settings, named as on the settings site. All optional."""

    ring_groups: list[RingGroup] = Field(
        default_factory=list,
        alias="着信グループ",
        description="着信グループ: up to 200 groups.",
    )
    inbound_routes: list[InboundRoute] = Field(
        default_factory=list, alias="外線着信設定", description="外線着信設定."
    )
    outbound_caller_ids: list[OutboundCallerId] = Field(
        default_factory=list, alias="外線発信設定", description="外線発信設定."
    )
    absence: dict[Extension, Absence] = Field(
        default_factory=dict,
        alias="不在時動作設定",
        description="不在時動作設定: quoted 内線番号 → its 不在時動作 (extensions without an "
        "entry are 未設定).",
    )


class Tenant(_Doc):
    """One tenant folder: the guide, its settings, and where they came from.

    Built by ``harness.guide.load_tenant``, which has checked every rule; the lookups below
    therefore trust the cross-references (every pilot, member, route… names an extension).
    Lookups are computed once per tenant (cached), so they are cheap in hot loops.
    """

    name: str
    guide: Guide
    settings: Settings = Field(default_factory=Settings)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (see pydantic); the cached lookups are dropped so they follow ``update``."""
        copy = super().model_copy(update=update, deep=deep)
        for name, member in vars(Tenant).items():
            if isinstance(member, cached_property):
                copy.__dict__.pop(name, None)
        return copy

    # --- extensions -------------------------------------------------------------------------

    @cached_property
    def _terminals(self) -> dict[str, Terminal]:
        return {t.extension: t for t in self.guide.terminals}

    @cached_property
    def extensions(self) -> list[str]:
        """Every 内線番号, in the order of 内線番号情報1."""
        return [t.extension for t in self.guide.terminals]

    @cached_property
    def sites(self) -> list[str]:
        """Every distinct 拠点番号, in order of first appearance."""
        return list(dict.fromkeys(t.site_number for t in self.guide.terminals))

    def has_extension(self, number: str) -> bool:
        """True when ``number`` is a full 内線番号 of this tenant."""
        return number in self._terminals

    def terminal_for(self, extension: str) -> Terminal:
        """The 内線番号情報1 row of ``extension``; ``KeyError`` when there is none."""
        try:
            return self._terminals[extension]
        except KeyError:
            raise KeyError(f"{extension!r} is no 内線番号 of tenant {self.name!r}") from None

    def terminal_by_id(self, terminal_id: str) -> Terminal | None:
        """The terminal whose 端末ID (SIP user name) is ``terminal_id``, or None."""
        return next((t for t in self.guide.terminals if t.terminal_id == terminal_id), None)

    def site_of(self, extension: str) -> str:
        """The 拠点番号 of ``extension``; ``KeyError`` when it is no extension."""
        return self.terminal_for(extension).site_number

    def extension_in_site(self, site_number: str, terminal_number: str) -> str | None:
        """The full 内線番号 of a bare 端末番号 dialled within ``site_number``, or None."""
        number = site_number + terminal_number
        return number if number in self._terminals else None

    def terminal_user_for(self, extension: str) -> TerminalUser | None:
        """The 内線番号情報2 web account of ``extension``, or None when it has none."""
        return next((u for u in self.guide.terminal_users if u.extension == extension), None)

    # --- settings ---------------------------------------------------------------------------

    @cached_property
    def _groups_by_pilot(self) -> dict[str, RingGroup]:
        return {g.pilot: g for g in self.settings.ring_groups if g.pilot is not None}

    def group_with_pilot(self, number: str) -> RingGroup | None:
        """The 順次着信/一斉着信 group whose 代表番号 is ``number``, or None."""
        return self._groups_by_pilot.get(number)

    @cached_property
    def _pickup_groups(self) -> dict[str, RingGroup]:
        return {
            member: g
            for g in self.settings.ring_groups
            if g.kind is GroupKind.PICKUP
            for member in g.members
        }

    def pickup_group_of(self, extension: str) -> RingGroup | None:
        """The コールピックアップ group ``extension`` is a member of, or None."""
        return self._pickup_groups.get(extension)

    def absence_of(self, extension: str) -> ForwardAbsence | SingleNumberReach | None:
        """The 不在時動作 of ``extension``, or None when it is 未設定."""
        return self.settings.absence.get(extension)

    @cached_property
    def _caller_ids(self) -> dict[str, str]:
        return {o.extension: o.caller_id for o in self.settings.outbound_caller_ids}

    def caller_id_of(self, extension: str) -> str | None:
        """The 外線番号 ``extension`` presents on external calls (外線発信設定), or None."""
        return self._caller_ids.get(extension)

    @cached_property
    def _inbound(self) -> dict[str, str]:
        return {r.external_number: r.destination for r in self.settings.inbound_routes}

    def inbound_destination(self, external_number: str) -> str | None:
        """The 着信先 (extension or pilot) of ``external_number`` (外線着信設定), or None."""
        return self._inbound.get(external_number)

    @cached_property
    def external_numbers(self) -> list[str]:
        """Every 外線番号 of 外線番号情報, in document order."""
        return [line.external_number for line in self.guide.external_lines]
