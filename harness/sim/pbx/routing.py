"""Where a call goes and which caller ID it carries: DOMAIN.md rules 1, 7 and 8, as pure functions.

``route_call`` turns (origin, dialled digits) into a ``Route`` — a destination and the caller ID
the callee will see — or a ``Refusal`` with the reason the caller is told. It reads only the
frozen ``PbxConfig`` and ``PbxParams``; the reactive part (ringing, timers) is ``call.Call``.

Order of resolution for digits dialled by an extension (DOMAIN.md rule 1 and numbering):
1. a group's 代表番号 starts its group (a pilot is also an extension: the pilot wins);
2. a full 内線番号 reaches that extension;
3. a bare 端末番号 within the caller's own 拠点 (拠点番号 + digits) — again pilot first;
4. otherwise a 184 / 186 prefix is stripped and decides withholding for this call (rule 7),
   then the pickup code (rule 8), then 1–3 again;
5. anything else starting with the external prefix (0) is an external number — one of the
   tenant's own 外線番号 comes back in as an inbound call (``own_number_loops_back``);
6. otherwise the number does not exist.

Each step honours the (A) parameters of PbxParams that concern it (docs/pbx.md "Parameters"),
and the caller-ID faults of ``harness.sim.faults`` switched on for the run (none by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.sim.faults import (
    EXTERNAL_SHOWS_EXTENSION,
    INBOUND_CALLER_ID_DROPPED,
    INBOUND_PILOT_RINGS_EXTENSION,
    INTERNAL_SHOWS_EXTERNAL_NUMBER,
    NO_FAULTS,
    OUTBOUND_CALLER_ID_IGNORED,
    PRESENT_186_IGNORED,
    WITHHOLD_184_IGNORED,
    Faults,
)
from harness.sim.pbx.config import (
    GroupConfig,
    InboundCallerId,
    MissingCallerId,
    PbxConfig,
    PbxParams,
)


class ReleaseReason(StrEnum):
    """Why a call ends without being answered; ``sip_status`` is the final response sent."""

    NOT_FOUND = "not_found"  # no such number
    NO_CALLER_ID = "no_caller_id"  # external call from an extension without 外線発信設定
    BUSY = "busy"  # callee busy and 話中 not set (or a 転送先 busy)
    UNAVAILABLE = "unavailable"  # callee unregistered and 圏外 not set, no member available…
    NO_ANSWER = "no_answer"  # a group or single-number reach ran out of time
    HOP_LIMIT = "hop_limit"  # forwarding chain longer than PbxParams.forward_hop_limit
    NO_PICKUP = "no_pickup"  # pickup code dialled, nothing to pick up

    @property
    def sip_status(self) -> int:
        return _SIP_STATUS[self]


_SIP_STATUS = {
    ReleaseReason.NOT_FOUND: 404,
    ReleaseReason.NO_CALLER_ID: 403,
    ReleaseReason.BUSY: 486,
    ReleaseReason.UNAVAILABLE: 480,
    ReleaseReason.NO_ANSWER: 480,
    ReleaseReason.HOP_LIMIT: 482,
    ReleaseReason.NO_PICKUP: 404,
}


@dataclass(frozen=True, kw_only=True)
class InternalOrigin:
    """A call placed by one of the tenant's extensions."""

    extension: str


@dataclass(frozen=True, kw_only=True)
class ExternalOrigin:
    """A call from outside (PSTN side); ``number`` is None when the caller withheld it."""

    number: str | None


Origin = InternalOrigin | ExternalOrigin


@dataclass(frozen=True, kw_only=True)
class CallerId:
    """What the callee is shown: a number, or 非通知 (``number`` None)."""

    number: str | None

    @property
    def withheld(self) -> bool:
        return self.number is None


WITHHELD = CallerId(number=None)


@dataclass(frozen=True, kw_only=True)
class ToExtension:
    extension: str


@dataclass(frozen=True, kw_only=True)
class ToGroup:
    group: GroupConfig


@dataclass(frozen=True, kw_only=True)
class ToExternal:
    number: str


@dataclass(frozen=True, kw_only=True)
class ToPickup:
    group: GroupConfig


Destination = ToExtension | ToGroup | ToExternal | ToPickup


@dataclass(frozen=True, kw_only=True)
class Route:
    destination: Destination
    caller_id: CallerId


@dataclass(frozen=True, kw_only=True)
class Refusal:
    reason: ReleaseReason


def resolve_internal(
    config: PbxConfig, number: str, *, site_number: str | None
) -> ToExtension | ToGroup | None:
    """A pilot or an extension named by ``number``, full or (within ``site_number``) bare."""
    candidates = [number]
    if site_number is not None:
        candidates.append(site_number + number)
    for candidate in candidates:
        group = config.group_of_pilot(candidate)
        if group is not None:
            return ToGroup(group=group)
        if candidate in config.extensions:
            return ToExtension(extension=candidate)
    return None


def resolve_number(
    config: PbxConfig,
    params: PbxParams,
    number: str,
    *,
    site_number: str | None,
    external: bool = True,
) -> ToExtension | ToGroup | ToExternal | None:
    """Digits dialled by an extension (or named as its 転送先 / 接続先): a pilot or extension,
    full or (``bare_terminal_number_within_site``) bare within ``site_number``; else, when
    ``external``, an external number (leading 0, rule 7). With ``internal_pilot_starts_group``
    off a pilot reached this way is just its extension."""
    site = site_number if params.bare_terminal_number_within_site else None
    internal = resolve_internal(config, number, site_number=site)
    if isinstance(internal, ToGroup) and not params.internal_pilot_starts_group:
        return ToExtension(extension=internal.group.pilot or "")
    if internal is not None:
        return internal
    if external and number.startswith(params.external_prefix) and number.isdigit():
        return ToExternal(number=number)
    return None


def site_of(config: PbxConfig, extension: str) -> str | None:
    ext = config.extensions.get(extension)
    return None if ext is None else ext.site_number


def strip_prefix(
    params: PbxParams, dialled: str, faults: Faults = NO_FAULTS
) -> tuple[str, bool | None]:
    """Rule 7: a leading withhold prefix (184) → (rest, True); present (186) → (rest, False);
    none → (dialled, None). A prefix alone is no call to it: the digits stay as they are."""
    present = None if faults.on(PRESENT_186_IGNORED) else params.present_prefix
    for prefix, withhold in ((params.withhold_prefix, True), (present, False)):
        if prefix and dialled.startswith(prefix) and len(dialled) > len(prefix):
            return dialled[len(prefix) :], withhold
    return dialled, None


def outbound_caller_id(
    config: PbxConfig, params: PbxParams, extension: str, faults: Faults = NO_FAULTS
) -> CallerId | None:
    """Rule 7: what an external call from ``extension`` presents — its 外線発信 number; without
    one None (refused) or, with ``external_call_without_caller_id=withheld``, 非通知."""
    if faults.on(EXTERNAL_SHOWS_EXTENSION):
        return CallerId(number=extension)
    presented = config.outbound_caller_ids.get(extension)
    if faults.on(OUTBOUND_CALLER_ID_IGNORED) and config.external_numbers:
        presented = min(config.external_numbers)  # the "representative" line for everyone
    if presented is not None:
        return CallerId(number=presented.replace("-", ""))
    if params.external_call_without_caller_id is MissingCallerId.WITHHELD:
        return WITHHELD
    return None


def inbound_route(
    config: PbxConfig,
    params: PbxParams,
    number: str,
    caller_id: CallerId,
    faults: Faults = NO_FAULTS,
) -> Route | Refusal:
    """A call to the tenant's 外線番号 ``number``: its 外線着信設定 (a pilot always starts its
    group, S); the callee sees ``caller_id`` or, with ``inbound_caller_id=dialled_line``,
    ``number``."""
    target = config.inbound_routes.get(number)
    resolved = None if target is None else resolve_internal(config, target, site_number=None)
    if resolved is None:
        return Refusal(reason=ReleaseReason.NOT_FOUND)
    if isinstance(resolved, ToGroup) and faults.on(INBOUND_PILOT_RINGS_EXTENSION):
        resolved = ToExtension(extension=resolved.group.pilot or "")
    if params.inbound_caller_id is InboundCallerId.DIALLED_LINE:
        caller_id = CallerId(number=number)
    if faults.on(INBOUND_CALLER_ID_DROPPED):
        caller_id = WITHHELD
    return Route(destination=resolved, caller_id=caller_id)


def route_call(
    config: PbxConfig,
    params: PbxParams,
    *,
    origin: Origin,
    dialled: str,
    faults: Faults = NO_FAULTS,
) -> Route | Refusal:
    """Rule 1 (destination), 7 (caller ID) and 8 (pickup) for a newly arrived call."""
    if isinstance(origin, ExternalOrigin):
        return inbound_route(config, params, dialled, CallerId(number=origin.number), faults)

    site = site_of(config, origin.extension)
    # An extension or pilot is never read as a prefix + number; other digits lose 184 / 186.
    withhold: bool | None = False
    destination = resolve_number(config, params, dialled, site_number=site, external=False)
    if destination is None:
        dialled, withhold = strip_prefix(params, dialled, faults)
        if withhold and faults.on(WITHHOLD_184_IGNORED):
            withhold = False
        if dialled == params.pickup_code:
            group = config.pickup_group_of(origin.extension)
            if group is None:
                return Refusal(reason=ReleaseReason.NO_PICKUP)
            return Route(destination=ToPickup(group=group), caller_id=CallerId(number=None))
        destination = resolve_number(config, params, dialled, site_number=site)
    if destination is None:
        return Refusal(reason=ReleaseReason.NOT_FOUND)
    if not isinstance(destination, ToExternal):
        caller_id = WITHHELD if withhold else CallerId(number=origin.extension)
        external = config.outbound_caller_ids.get(origin.extension)
        if not withhold and external is not None and faults.on(INTERNAL_SHOWS_EXTERNAL_NUMBER):
            caller_id = CallerId(number=external.replace("-", ""))
        return Route(destination=destination, caller_id=caller_id)
    presented = outbound_caller_id(config, params, origin.extension, faults)
    if presented is None:
        return Refusal(reason=ReleaseReason.NO_CALLER_ID)
    caller_id = WITHHELD if withhold else presented
    if params.own_number_loops_back and destination.number in config.external_numbers:
        # One of the tenant's own 外線番号: out to the PSTN and back in (rule 1/7).
        return inbound_route(config, params, destination.number, caller_id, faults)
    return Route(destination=destination, caller_id=caller_id)
