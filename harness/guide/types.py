"""Typed ご利用内容のご案内 (guide) and 設定 (settings) documents.

English field names per the glossary of ../shared/DOMAIN.md; the Japanese keys of the printed
document are the aliases (``populate_by_name`` lets code build them with English names too).
Numbers are strings: leading zeros matter. Extensions are full 内線番号 (拠点番号 + 端末番号).

This module holds the *shapes* and per-field rules; rules that span rows or documents (unique
端末ID, a pilot that exists, one pickup group per extension…) live in ``harness.guide.rules``
and run in ``harness.guide.load``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True, frozen=True, extra="forbid", str_strip_whitespace=True
    )


# --- ご利用内容.yaml ---------------------------------------------------------------------------


class TerminalKind(StrEnum):
    """端末種別 (DOMAIN.md "Numbering and accounts")."""

    IP_PHONE = "IP Phone"
    SMARTPHONE = "スマートフォン"
    SOFTPHONE = "ソフトフォン"
    VOIP_GW = "VoIP-GW"


class CustomerInfo(_Doc):
    """お客様情報."""

    order_kind: str = Field(alias="ご注文内容")
    sip_domain: str = Field(alias="内線サーバアドレス")
    uno_address: str | None = Field(default=None, alias="内線サーバアドレス(UNO接続)")
    service_code: str | None = Field(default=None, alias="サービスコード")


class AdminAccount(_Doc):
    """管理者アカウント (お客様管理者 of the web settings site)."""

    login_id: str = Field(alias="ログインID")
    password: str = Field(alias="パスワード")


class Terminal(_Doc):
    """A row of 内線番号情報1: one SIP terminal."""

    no: int = Field(alias="No")
    site_number: str = Field(alias="拠点番号")
    terminal_number: str = Field(alias="端末番号")
    terminal_id: str = Field(alias="端末ID")
    password: str = Field(alias="パスワード")
    terminal_kind: TerminalKind = Field(alias="端末種別")

    @property
    def extension(self) -> str:
        """内線番号 = 拠点番号 + 端末番号."""
        return self.site_number + self.terminal_number


class TerminalUser(_Doc):
    """A row of 内線番号情報2: the web account of one 端末ユーザ."""

    no: int = Field(alias="No")
    site_number: str = Field(alias="拠点番号")
    terminal_number: str = Field(alias="端末番号")
    login_id: str = Field(alias="ログインID")
    password: str = Field(alias="パスワード")

    @property
    def extension(self) -> str:
        return self.site_number + self.terminal_number


class ExternalLine(_Doc):
    """A row of 外線番号情報."""

    no: int = Field(alias="No")
    external_number: str = Field(alias="外線番号")
    kind: str = Field(alias="種別")


class Guide(_Doc):
    """ご利用内容のご案内: what the carrier hands over."""

    customer: CustomerInfo = Field(alias="お客様情報")
    admin_account: AdminAccount = Field(alias="管理者アカウント")
    terminals: list[Terminal] = Field(alias="内線番号情報1")
    terminal_users: list[TerminalUser] = Field(default_factory=list, alias="内線番号情報2")
    external_lines: list[ExternalLine] = Field(default_factory=list, alias="外線番号情報")


# --- 設定.yaml --------------------------------------------------------------------------------


class GroupKind(StrEnum):
    """着信グループの種別."""

    SEQUENTIAL = "順次着信"
    SIMULTANEOUS = "一斉着信"
    PICKUP = "コールピックアップ"


class RingGroup(_Doc):
    """A row of 着信グループ. ``pilot`` is absent exactly for pickup groups."""

    kind: GroupKind = Field(alias="種別")
    pilot: str | None = Field(default=None, alias="代表番号")
    members: list[str] = Field(alias="メンバー")
    ring_time: int = Field(default=20, alias="呼出時間")


class InboundRoute(_Doc):
    """A row of 外線着信設定: an external number → an extension or a group's pilot."""

    external_number: str = Field(alias="外線番号")
    destination: str = Field(alias="着信先")


class OutboundCallerId(_Doc):
    """A row of 外線発信設定: the 外線番号 an extension presents on external calls."""

    extension: str = Field(alias="内線番号")
    caller_id: str = Field(alias="発信者番号")


class Action(StrEnum):
    """転送動作 for one state."""

    FORWARD = "転送"
    VOICEMAIL = "留守番電話"
    NONE = "設定しない"


class ForwardActions(_Doc):
    """転送動作 per state: 無条件 / 話中 / 圏外 / 無応答."""

    unconditional: Action = Field(default=Action.NONE, alias="無条件")
    busy: Action = Field(default=Action.NONE, alias="話中")
    unreachable: Action = Field(default=Action.NONE, alias="圏外")
    no_answer: Action = Field(default=Action.NONE, alias="無応答")


class ForwardAbsence(_Doc):
    """不在時動作 = 転送/留守番電話設定."""

    kind: Literal["転送/留守番電話"] = Field(alias="種別")
    forward_to: str | None = Field(default=None, alias="転送先電話番号")
    actions: ForwardActions = Field(default_factory=ForwardActions, alias="転送動作")
    ring_time: int | None = Field(default=None, alias="呼出時間")


class SingleNumberReach(_Doc):
    """不在時動作 = シングルナンバーリーチ設定."""

    kind: Literal["シングルナンバーリーチ"] = Field(alias="種別")
    reach_number_1: str = Field(alias="接続先番号1")
    reach_start_1: int = Field(alias="呼出開始時間1")
    reach_number_2: str | None = Field(default=None, alias="接続先番号2")
    reach_start_2: int | None = Field(default=None, alias="呼出開始時間2")
    reach_end: int = Field(alias="呼出終了時間")
    voicemail: bool = Field(default=False, alias="留守番電話")


Absence = Annotated[ForwardAbsence | SingleNumberReach, Field(discriminator="kind")]


class Settings(_Doc):
    """設定.yaml: the tenant's settings, named as on the settings site. All optional."""

    ring_groups: list[RingGroup] = Field(default_factory=list, alias="着信グループ")
    inbound_routes: list[InboundRoute] = Field(default_factory=list, alias="外線着信設定")
    outbound_caller_ids: list[OutboundCallerId] = Field(default_factory=list, alias="外線発信設定")
    absence: dict[str, Absence] = Field(default_factory=dict, alias="不在時動作設定")


class Tenant(_Doc):
    """One tenant folder: the guide, its settings, and where they came from."""

    name: str
    guide: Guide
    settings: Settings = Field(default_factory=Settings)
