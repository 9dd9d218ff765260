"""Behaviour checks derived from one tenant's own documents (never hand-listed per tenant).

:func:`derive_checks` reads the tenant's ご利用内容 and 設定 and returns one
:class:`BehaviourCheck` per thing those settings promise, each with a
:class:`~harness.model.Scenario` whose expected timeline is :func:`harness.model.predict`'s
(docs/suite.md lists every kind, what it compares and the manual step it is reported under):

- ``register``: every terminal of 内線番号情報1 registers with *each* app its 端末種別 can run
  (a スマートフォン: Android and iPhone; ``harness.target.phones.PLATFORMS``) and rings (or,
  when nothing can ring it without a PBX feature, places a call that rings a plain extension);
- ``lapse``: one terminal that rings as itself registers with a short Expires and goes silent
  (no refresh, no Expires 0, as a phone that lost its network); once the granted expiry has
  passed, a call to it must behave as 圏外 (unregistered) — the model's prediction;
- ``call``: a call between each ordered pair of app profiles present (caller ID as the model
  says) — pairs of *profiles* (Android, iPhone, Windows PC, IP Phone), not of terminals;
- ``group``: for every 一斉着信 (all ring, first answer wins; nobody answers), 順次着信 (order and
  呼出時間 per member; an unregistered and a busy member skipped) and コールピックアップ (a member
  picks up another's call with the pickup code);
- ``inbound``: for every 外線着信設定 a call from the carrier side;
- ``outbound``: for every 外線発信設定 an outbound call and the caller ID the far end sees; for
  the first row of each 発信者番号 also dialled with 184 (非通知) and with 186 (presented);
- ``absence``: for every 転送/留守番電話 one call per state (無条件, or 話中 / 圏外 / 無応答 at
  呼出時間), and for every シングルナンバーリーチ its legs until 呼出終了時間 (and voicemail) and an
  answer on 接続先番号1.

**Bounds.** Checks grow linearly with the tenant's rows, never with pairs of terminals: at most
``Bounds.rows_per_table`` rows of each settings table (着信グループ counted per kind,
外線着信設定, 外線発信設定, 不在時動作設定) are taken, in document order; 4 app profiles give
at most 16 ``call`` checks; ``register`` checks are one per terminal and app (at most 2 per
terminal). Every bundled tenant is below the bounds, so every row is checked.

Where an answer is needed, the endpoint the model says rings first (other than the one under
test) answers at a *quiet instant*: at least ``ANSWER_AFTER`` simulated seconds after it starts
ringing, and ``QUIET`` seconds away from every other event of the unanswered call when it can
be (a 接続先 starting, a member's 呼出時間 running out), so that timer noise of a loaded machine
cannot reorder the answer and another event. The check proves the call *reached* the right
endpoint, with the right caller ID, at the right time. Pickups are timed the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import TypeVar

from harness.errors import InputError, Problem
from harness.flows.calls import ANSWER_AFTER, Background, quiet_instant, test_numbers
from harness.guide.types import (
    Action,
    ForwardAbsence,
    GroupKind,
    RingGroup,
    SingleNumberReach,
    Tenant,
    Terminal,
)
from harness.model import (
    DEFAULT_PARAMS,
    EndpointBehaviour,
    EndpointState,
    EventKind,
    ModelParams,
    Pickup,
    Scenario,
    Timeline,
    load_scenario,
    predict,
    scenario_problems,
)
from harness.model.numbering import strip_prefix
from harness.sip.app import CALLABLE, CELLULAR_CALLABLE, WIFI_CALLABLE, Platform
from harness.target.model import Capability
from harness.target.phones import platform_for, platforms_for


class CheckKind:
    """The kinds of behaviour check (``BehaviourCheck.kind``)."""

    REGISTER = "register"
    LAPSE = "lapse"
    CALL = "call"
    GROUP = "group"
    PICKUP = "pickup"
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    ABSENCE = "absence"
    REACH = "reach"
    SCENARIO = "scenario"


@dataclass(frozen=True, kw_only=True)
class BehaviourCheck:
    """One call whose observed timeline must match the model's.

    ``id`` is stable for the same documents (it names the row: a pilot, a line, an extension);
    ``steps`` the catalog ids whose settings the check verifies (the matrix lists it under
    them); ``requirement`` the sentence the report shows beside the verdict; ``needs`` the
    target capabilities without which it is skipped; ``platforms`` the app each terminal it
    names runs (内線番号 → platform; a terminal not named runs its 端末種別's default app,
    ``harness.target.phones.platform_for``); ``lapsed`` the terminals the scenario makes
    unregistered by letting their registration run out (``harness.flows.calls.check``)
    instead of unregistering them.
    """

    id: str
    kind: str
    title: str
    steps: tuple[str, ...]
    requirement: str
    scenario: Scenario
    needs: tuple[Capability, ...]
    platforms: Mapping[str, Platform] = field(default_factory=dict)
    #: Calls placed beside the checked one and not compared (``harness.flows.calls.check``).
    background: tuple[Background, ...] = ()
    lapsed: tuple[str, ...] = ()

    def __repr__(self) -> str:  # a test parameter: Allure and pytest show it
        return f"BehaviourCheck({self.id!r})"


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """Most rows of each settings table checked (see the module docstring)."""

    rows_per_table: int = 50


DEFAULT_BOUNDS = Bounds()

#: App profile (an app platform a 端末種別 can run, ``harness.target.phones.PLATFORMS``) → slug,
#: the manual's steps where the app shows 通話可能 and where it dials (the iPhone's P.4 ⑧ is
#: both: the キーボード tab shows 3G/LTEで通話可能 / Wi-Fiで通話可能 and dials). An IP Phone /
#: VoIP-GW has no app page in the manual: its checks are listed under 内線一覧表示 (P2-S2-1),
#: where the terminal appears.
_PROFILES: dict[Platform, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    Platform.ANDROID: ("android", ("P3-S2-10",), ("P3-S3-11",)),
    Platform.IPHONE: ("iphone", ("P4-S3-8",), ("P4-S3-8",)),
    Platform.WINDOWS: ("windows", ("P5-S3-12",), ("P5-S3-12",)),
    Platform.IP_PHONE: ("ip-phone", ("P2-S2-1",), ("P2-S2-1",)),
}
#: Flexible InterConnect (内線サーバアドレス(UNO接続) in the guide): the app's P.7 steps.
_FIC_STEPS = {
    "android": ("P7-android-S1",),
    "iphone": ("P7-iphone-S1",),
    "windows": ("P7-windows-S1",),
}

#: What each app shows once registered (P.3 ⑩, P.4 ⑧, P.5 ⑫; harness.sip.app), for titles.
_CALLABLE = {
    Platform.ANDROID: CALLABLE,
    Platform.IPHONE: f"{CELLULAR_CALLABLE} / {WIFI_CALLABLE}",
    Platform.WINDOWS: CALLABLE,
    Platform.IP_PHONE: CALLABLE,
}

_PBX = (Capability.PBX_FEATURES,)

_Row = TypeVar("_Row")


def derive_checks(
    tenant: Tenant, *, params: ModelParams = DEFAULT_PARAMS, bounds: Bounds = DEFAULT_BOUNDS
) -> tuple[BehaviourCheck, ...]:
    """Every behaviour check ``tenant``'s documents imply, in a stable order (see module)."""
    deriver = _Deriver(tenant, params, bounds)
    return tuple(deriver.all())


class _Deriver:
    def __init__(self, tenant: Tenant, params: ModelParams, bounds: Bounds) -> None:
        self.tenant = tenant
        self.params = params
        self.bounds = bounds
        self.test_numbers = test_numbers(tenant)

    def all(self) -> Iterator[BehaviourCheck]:
        yield from self.registrations()
        yield from self.lapse()
        yield from self.profile_pairs()
        groups = self.tenant.settings.ring_groups
        for kind in (GroupKind.SIMULTANEOUS, GroupKind.SEQUENTIAL, GroupKind.PICKUP):
            for group in self.rows([g for g in groups if g.kind is kind]):
                yield from self.group(group)
        for route in self.rows(self.tenant.settings.inbound_routes):
            yield from self.inbound(route.external_number)
        prefixed: set[str] = set()
        for row in self.rows(self.tenant.settings.outbound_caller_ids):
            yield from self.outbound(row.extension, prefixes=row.caller_id not in prefixed)
            prefixed.add(row.caller_id)
        for extension, absence in self.rows(list(self.tenant.settings.absence.items())):
            if isinstance(absence, ForwardAbsence):
                yield from self.forward(extension, absence)
            else:
                yield from self.reach(extension, absence)

    def rows(self, rows: Sequence[_Row]) -> Sequence[_Row]:
        return rows[: self.bounds.rows_per_table]

    # --- scenarios ---------------------------------------------------------------------------

    def predict(self, scenario: Scenario) -> Timeline:
        return predict(self.tenant, scenario, self.params)

    def rings(self, scenario: Scenario, endpoint: str) -> bool:
        return any(
            e.kind is EventKind.RING and e.endpoint == endpoint
            for e in self.predict(scenario).events
        )

    def answered_by_first_ringer(
        self, scenario: Scenario, *, besides: frozenset[str] = frozenset()
    ) -> Scenario:
        """``scenario`` where the first endpoint the model rings (not in ``besides``, not told
        otherwise by the scenario) answers ``ANSWER_AFTER`` after it starts ringing."""
        timeline = self.predict(scenario)
        for event in timeline.events:
            if (
                event.kind is EventKind.RING
                and event.endpoint not in besides
                and event.endpoint not in scenario.endpoints
            ):
                at = quiet_instant(timeline, event.endpoint, event.t)
                endpoints = dict(scenario.endpoints)
                endpoints[event.endpoint] = EndpointBehaviour(answer_after=at - event.t)
                return dataclasses.replace(scenario, endpoints=endpoints)
        return scenario

    def callers_of(self, number: str, *, avoid: frozenset[str] = frozenset()) -> list[str]:
        """Who can call ``number`` (an extension or pilot): other extensions first (those not in
        ``avoid`` before those in it), then a test number from the carrier side when some
        外線着信設定 routes to ``number`` (that caller dials the line, see :meth:`dialled`)."""
        others = [e for e in self.tenant.extensions if e != number]
        callers = [e for e in others if e not in avoid] + [e for e in others if e in avoid]
        if any(r.destination == number for r in self.tenant.settings.inbound_routes):
            callers.append(self.outside)
        return callers

    def dialled(self, caller: str, number: str) -> str:
        """What ``caller`` dials to reach ``number``: the number itself from an extension, the
        line routed to it from outside."""
        if self.tenant.has_extension(caller):
            return number
        return next(
            r.external_number
            for r in self.tenant.settings.inbound_routes
            if r.destination == number
        )

    def call(
        self,
        caller: str,
        number: str,
        description: str,
        endpoints: Mapping[str, EndpointBehaviour] | None = None,
        pickups: tuple[Pickup, ...] = (),
    ) -> Scenario:
        return Scenario(
            caller=caller,
            dialled=self.dialled(caller, number),
            endpoints=dict(endpoints or {}),
            pickups=pickups,
            description=description,
        )

    @property
    def outside(self) -> str:
        return self.test_numbers[0]

    @property
    def far_end(self) -> str:
        return self.test_numbers[1]

    def rings_through(self, caller: str, extension: str, *, until: float) -> bool:
        """A call from ``caller`` rings ``extension`` itself at once and keeps ringing it (and
        nothing else) past ``until``: no pilot, no 不在時動作 acting that soon."""
        if self.tenant.group_with_pilot(extension) is not None:
            return False
        first, *rest = self.predict(self.call(caller, extension, "")).events
        return (
            first.kind is EventKind.RING
            and first.endpoint == extension
            and first.t == 0
            and all(e.t > until for e in rest)
        )

    def is_plain(self, extension: str) -> bool:
        """An extension that rings as itself with no PBX feature: no 不在時動作, no pilot."""
        return (
            self.tenant.absence_of(extension) is None
            and self.tenant.group_with_pilot(extension) is None
        )

    def needs(
        self, scenario: Scenario, base: tuple[Capability, ...] = ()
    ) -> tuple[Capability, ...]:
        """``base``, plus PBX_FEATURES when the call meets one (a pilot, a 不在時動作, a pickup,
        routing from outside, digits the PBX's numbering plan translates: a bare 端末番号, a
        184/186 prefix), plus CARRIER when an external number takes part."""
        tenant = self.tenant
        involved = {scenario.caller, *scenario.endpoints}
        involved |= {e.endpoint for e in self.predict(scenario).events}
        needed = list(base)
        pbx = bool(scenario.pickups) or not tenant.has_extension(scenario.caller)
        # Dialled digits that are neither a full 内線番号 nor the number that rings are
        # translated by the PBX (a plain SIP proxy routes only what it is given).
        pbx |= not tenant.has_extension(scenario.dialled) and scenario.dialled not in involved
        if pbx or not self.is_plain(scenario.dialled):
            needed.append(Capability.PBX_FEATURES)
        if any(not tenant.has_extension(number) for number in involved):
            needed.append(Capability.CARRIER)
        return tuple(dict.fromkeys(needed))

    def check(
        self,
        id: str,
        kind: str,
        title: str,
        steps: tuple[str, ...],
        requirement: str,
        scenario: Scenario,
        base: tuple[Capability, ...] = (),
        platforms: Mapping[str, Platform] | None = None,
        background: tuple[Background, ...] = (),
        lapsed: tuple[str, ...] = (),
    ) -> BehaviourCheck:
        return BehaviourCheck(
            background=background,
            id=id,
            kind=kind,
            title=title,
            steps=tuple(dict.fromkeys(steps)),
            requirement=requirement,
            scenario=dataclasses.replace(scenario, description=scenario.description or title),
            needs=self.needs(scenario, base),
            platforms=dict(platforms or {}),
            lapsed=lapsed,
        )

    def steps_met(self, scenario: Scenario) -> tuple[str, ...]:
        """The catalog steps whose settings a call meets (for a tenant's own scenario files):
        着信グループ, 外線着信設定, 外線発信設定, 不在時動作; else the caller's dialling step."""
        tenant, steps = self.tenant, []
        if scenario.pickups or tenant.group_with_pilot(scenario.dialled) is not None:
            steps.append("P2-S2-2")
        if not tenant.has_extension(scenario.caller):
            steps.append("P2-S2-3")
            destination = tenant.inbound_destination(scenario.dialled)
            if destination is not None and tenant.group_with_pilot(destination) is not None:
                steps.append("P2-S2-2")
        elif _external(tenant, strip_prefix(scenario.dialled, self.params)[0]):
            steps.append("P2-S2-4")
        callee = tenant.inbound_destination(scenario.dialled) or scenario.dialled
        absence = tenant.absence_of(callee)
        if absence is not None and tenant.group_with_pilot(callee) is None:
            steps.append("P6-S2-forward" if isinstance(absence, ForwardAbsence) else "P6-S2-reach")
        if not steps and tenant.has_extension(scenario.caller):
            kind = tenant.terminal_for(scenario.caller).terminal_kind
            steps.extend(self.profile(platform_for(kind))[3])
        return tuple(dict.fromkeys(steps or ["P2-S2-1"]))

    # --- terminals ---------------------------------------------------------------------------

    def profile(self, platform: Platform) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
        """``platform``'s slug, name, 通話可能 steps and dial steps (+ P.7 with a UNO address)."""
        slug, ready, dial = _PROFILES[platform]
        if self.tenant.guide.customer.uno_address:
            ready = ready + _FIC_STEPS.get(slug, ())
        return slug, str(platform), ready, dial

    def registrations(self) -> Iterator[BehaviourCheck]:
        """One per terminal and app its 端末種別 can run; the default app's id is
        ``register:<x>``, another app's ``register:<x>:<slug>``."""
        for terminal in self.tenant.guide.terminals:
            x = terminal.extension
            scenario = self.registration_scenario(x)
            for platform in platforms_for(terminal.terminal_kind):
                slug, name, ready, _ = self.profile(platform)
                suffix = "" if platform is platform_for(terminal.terminal_kind) else f":{slug}"
                yield self.check(
                    f"register:{x}{suffix}",
                    CheckKind.REGISTER,
                    f"{x} ({name}) registers and takes calls — 登録 / {_CALLABLE[platform]}",
                    ready,
                    f"The {name} app of terminal {x} set up with its 端末ID, パスワード and "
                    f"内線サーバアドレス MUST register ({_CALLABLE[platform]}) and take part in "
                    "calls.",
                    scenario,
                    platforms={x: platform},
                )

    def registration_scenario(self, x: str) -> Scenario:
        """A call that rings ``x`` as itself (proving its binding); failing that, ``x`` calls a
        plain extension (proving its credentials); with no other extension, ``x`` calls itself."""
        description = f"{x} registers"
        if self.is_plain(x):
            for caller in self.callers_of(x):
                if self.tenant.has_extension(caller):
                    scenario = self.call(caller, x, description)
                    if self.rings(scenario, x):
                        return self.answered_by_first_ringer(scenario)
        partners = [e for e in self.tenant.extensions if e != x]
        partners.sort(key=lambda e: not self.is_plain(e))
        for partner in partners:
            scenario = self.call(x, partner, description)
            if self.rings(scenario, partner):
                return self.answered_by_first_ringer(scenario)
        return self.call(x, x, description)

    def lapse(self) -> Iterator[BehaviourCheck]:
        """One per tenant: the first terminal (plain ones first) that another extension's call
        rings as itself, gone silent past its Expires; the call must then meet it 圏外 (an
        endpoint the model then rings instead, a 転送先, answers)."""
        terminals = sorted(
            self.tenant.guide.terminals, key=lambda t: not self.is_plain(t.extension)
        )
        for terminal in terminals:
            x = terminal.extension
            caller = next(
                (
                    c
                    for c in self.callers_of(x)
                    if self.tenant.has_extension(c) and self.rings(self.call(c, x, ""), x)
                ),
                None,
            )
            if caller is None:
                continue
            gone = {x: EndpointBehaviour(state=EndpointState.UNREGISTERED)}
            scenario = self.answered_by_first_ringer(
                self.call(caller, x, f"{x} gone silent past its Expires", gone),
                besides=frozenset({x}),
            )
            platform = platform_for(terminal.terminal_kind)
            _, name, ready, _ = self.profile(platform)
            yield self.check(
                f"register-lapse:{x}",
                CheckKind.LAPSE,
                f"{x} ({name}) stops refreshing: after its Expires a call meets it 圏外",
                ready,
                f"A registration MUST end when its Expires passes without a refresh (RFC 3261 "
                f"§10.2.1): once terminal {x}'s app has gone silent for longer than the expiry "
                "the registrar granted, a call to it MUST behave as for an unregistered "
                "extension (DOMAIN.md: 圏外), never ring it.",
                scenario,
                platforms={x: platform},
                lapsed=(x,),
            )
            return

    def profile_pairs(self) -> Iterator[BehaviourCheck]:
        """Each ordered pair of app profiles some terminals can run, between two of them."""
        by_profile: dict[Platform, list[Terminal]] = {}
        for terminal in self.tenant.guide.terminals:
            for platform in platforms_for(terminal.terminal_kind):
                by_profile.setdefault(platform, []).append(terminal)
        for caller_platform, callee_platform in product(by_profile, repeat=2):
            pair = self.pair(by_profile[caller_platform], by_profile[callee_platform])
            if pair is None:
                continue
            caller, callee = pair
            caller_slug, caller_name, _, dial = self.profile(caller_platform)
            callee_slug, callee_name, ready, _ = self.profile(callee_platform)
            scenario = self.answered_by_first_ringer(
                self.call(caller.extension, callee.extension, "")
            )
            yield self.check(
                f"call:{caller_slug}->{callee_slug}",
                CheckKind.CALL,
                f"{caller_name} → {callee_name} 内線通話 (発信者番号)",
                dial + ready,
                f"A call from the {caller_name} app ({caller.extension}) to the {callee_name} "
                f"terminal {callee.extension} MUST ring it showing the caller ID the model gives "
                "(DOMAIN.md rule 7: the caller's full 内線番号).",
                scenario,
                platforms={caller.extension: caller_platform, callee.extension: callee_platform},
            )

    def pair(
        self, callers: Sequence[Terminal], callees: Sequence[Terminal]
    ) -> tuple[Terminal, Terminal] | None:
        """A caller and a different callee, preferring a plain callee that rings."""
        options = [(a, b) for a in callers for b in callees if a.extension != b.extension]
        if not options:
            return None
        for a, b in options:
            if self.is_plain(b.extension) and self.rings(
                self.call(a.extension, b.extension, ""), b.extension
            ):
                return a, b
        return options[0]

    # --- 着信グループ --------------------------------------------------------------------------

    def group(self, group: RingGroup) -> Iterator[BehaviourCheck]:
        if group.kind is GroupKind.PICKUP:
            yield from self.pickup(group)
            return
        assert group.pilot is not None  # guide rules: 順次着信 / 一斉着信 have a pilot
        pilot, members = group.pilot, group.members
        callers = self.callers_of(pilot, avoid=frozenset(members))
        if not callers:
            return
        caller = callers[0]
        free = [m for m in members if m != caller]
        steps = ("P2-S2-2",)
        if group.kind is GroupKind.SIMULTANEOUS:
            # one member answers (two answering close together would race on a loaded
            # machine): every member rings, the answer wins, the other legs stop
            answers: dict[str, EndpointBehaviour] = {}
            if free:
                answers[free[-1]] = EndpointBehaviour(answer_after=ANSWER_AFTER)
            yield self.check(
                f"group:{pilot}:simultaneous-first-answers",
                CheckKind.GROUP,
                f"一斉着信 {pilot}: every member rings, the first answer wins",
                steps,
                "一斉着信: at t=0 every available member MUST ring; the first answer wins and "
                "the other legs stop (DOMAIN.md rule 2).",
                self.call(caller, pilot, "", answers),
                _PBX,
            )
            yield self.check(
                f"group:{pilot}:simultaneous-no-answer",
                CheckKind.GROUP,
                f"一斉着信 {pilot}: nobody answers, the group ends at 呼出時間",
                steps,
                "一斉着信 unanswered MUST end at the group's 呼出時間 (DOMAIN.md rule 2).",
                self.call(caller, pilot, ""),
                _PBX,
            )
            return
        last: dict[str, EndpointBehaviour] = {}
        if free:
            unanswered = self.predict(self.call(caller, pilot, ""))
            start = _ring_at(unanswered, free[-1])
            if start is not None:
                answer = quiet_instant(unanswered, free[-1], start) - start
                last = {free[-1]: EndpointBehaviour(answer_after=answer)}
        yield self.check(
            f"group:{pilot}:sequential-order",
            CheckKind.GROUP,
            f"順次着信 {pilot}: members ring in order, 呼出時間 each",
            steps,
            "順次着信: members MUST ring one after another in order, each for the 呼出時間 "
            "(DOMAIN.md rule 3).",
            self.call(caller, pilot, "", last),
            _PBX,
        )
        for state, slug, word in (
            (EndpointState.UNREGISTERED, "sequential-skip-unregistered", "an unregistered"),
            (EndpointState.BUSY, "sequential-skip-busy", "a busy"),
        ):
            if not free:
                break
            endpoints = {free[0]: EndpointBehaviour(state=state)}
            scenario = self.answered_by_first_ringer(
                self.call(caller, pilot, "", endpoints), besides=frozenset({free[0]})
            )
            yield self.check(
                f"group:{pilot}:{slug}",
                CheckKind.GROUP,
                f"順次着信 {pilot}: {word} member {free[0]} is skipped",
                steps,
                f"順次着信: {word} member MUST be skipped at once, the next one rung "
                "(DOMAIN.md rule 3).",
                scenario,
                _PBX,
            )

    def pickup(self, group: RingGroup) -> Iterator[BehaviourCheck]:
        """A call rings member m1 (never answering); another member dials the pickup code."""
        members = group.members
        for rung in sorted(members, key=lambda m: not self.is_plain(m)):
            for caller in self.callers_of(rung, avoid=frozenset(members)):
                scenario = self.call(caller, rung, "")
                ring = _ring_at(self.predict(scenario), rung)
                pickers = [m for m in members if m not in (rung, caller)]
                if ring is None or not pickers:
                    continue
                picker = pickers[0]
                at = quiet_instant(self.predict(scenario), rung, ring)
                pickup = Pickup(by=picker, at=at, code=self.params.pickup_code)
                yield self.check(
                    f"pickup:{members[0]}:pickup",
                    CheckKind.PICKUP,
                    f"コールピックアップ: {picker} picks up {rung}'s call with "
                    f"{self.params.pickup_code}",
                    ("P2-S2-2",),
                    "コールピックアップ: a member dialling the pickup code MUST answer the "
                    "ringing call of another member of the same group (DOMAIN.md rule 8).",
                    self.call(caller, rung, "", pickups=(pickup,)),
                    _PBX,
                )
                yield from self.pickup_oldest(
                    members, self.call(caller, rung, "", pickups=(pickup,))
                )
                return

    def pickup_oldest(self, members: Sequence[str], picked: Scenario) -> Iterator[BehaviourCheck]:
        """The same pickup while a newer call rings a third member: the code MUST take the
        oldest ringing call (``picked``'s), the newer one rings on (a background call, not
        compared). Needs a third member that a call from an extension outside the group rings
        through the pickup."""
        (pickup,) = picked.pickups
        timeline = self.predict(picked)
        taken = {picked.caller, pickup.by} | {e.endpoint for e in timeline.events}
        callers = [e for e in self.tenant.extensions if e not in taken and e not in members]
        if not callers:
            return
        until = pickup.at + ANSWER_AFTER

        def clear(caller: str, callee: str) -> bool:
            # Left ringing, the newer call must never reach the checked call's endpoints (a
            # 不在時動作 of its callee forwards it on while the pickup is made): the comparison
            # leaves out whatever it reaches (calls._background asks the same).
            return not (
                Background(caller=caller, callee=callee).reaches(self.tenant, self.params) & taken
            )

        pairs = [
            (caller, m)
            for caller in callers
            for m in members
            if m not in taken
            and m != caller
            and self.rings_through(caller, m, until=until)
            and clear(caller, m)
        ]
        if not pairs:
            return
        background, newer_callee = pairs[0]
        callers, newer = [background], [newer_callee]
        rung = timeline.events[0].endpoint
        yield self.check(
            f"pickup:{members[0]}:oldest",
            CheckKind.PICKUP,
            f"コールピックアップ: {pickup.by} picks up the oldest call ({rung}'s) while "
            f"{callers[0]} → {newer[0]} rings too",
            ("P2-S2-2",),
            "コールピックアップ: with calls ringing several members of the group, the pickup "
            "code MUST answer the oldest ringing call (DOMAIN.md rule 8).",
            dataclasses.replace(picked, description=""),
            _PBX,
            background=(Background(caller=callers[0], callee=newer[0]),),
        )

    # --- 外線着信設定 / 外線発信設定 ---------------------------------------------------------

    def inbound(self, line: str) -> Iterator[BehaviourCheck]:
        destination = self.tenant.inbound_destination(line)
        scenario = self.answered_by_first_ringer(
            Scenario(caller=self.outside, dialled=line, description="")
        )
        yield self.check(
            f"inbound:{line}",
            CheckKind.INBOUND,
            f"外線着信 {line} → {destination}",
            ("P2-S2-3",),
            f"A call from outside to {line} MUST reach its 着信先 {destination} "
            "(外線着信設定), showing the caller's number (DOMAIN.md rules 1 and 7).",
            scenario,
            (*_PBX, Capability.CARRIER),
        )

    def outbound(self, extension: str, *, prefixes: bool) -> Iterator[BehaviourCheck]:
        """The plain call; with ``prefixes`` (the first row of each 発信者番号) also 184 / 186."""
        shown = self.tenant.caller_id_of(extension)
        variants: list[tuple[str | None, str | None]] = [("", shown)]
        if prefixes:
            variants += [
                (self.params.withhold_prefix, "非通知"),
                (self.params.present_prefix, shown),
            ]
        for prefix, seen in variants:
            if prefix is None:
                continue
            slug = f":{prefix}" if prefix else ""
            scenario = self.answered_by_first_ringer(
                Scenario(caller=extension, dialled=prefix + self.far_end, description="")
            )
            yield self.check(
                f"outbound:{extension}{slug}",
                CheckKind.OUTBOUND,
                f"外線発信 {extension} {prefix + ' ' if prefix else ''}→ the far end sees {seen}",
                ("P2-S2-4",),
                f"An external call from {extension}{' dialled with ' + prefix if prefix else ''} "
                f"MUST show the far end {seen} (外線発信設定, DOMAIN.md rule 7).",
                scenario,
                (*_PBX, Capability.CARRIER),
            )

    # --- 不在時動作 ----------------------------------------------------------------------------

    def forward(self, x: str, absence: ForwardAbsence) -> Iterator[BehaviourCheck]:
        avoid = frozenset({absence.forward_to} if absence.forward_to else ())
        callers = self.callers_of(x, avoid=avoid)
        if not callers:
            return
        caller = callers[0]
        actions = absence.actions
        states: list[tuple[str, str, Action, EndpointBehaviour | None]]
        if actions.unconditional is not Action.NONE:
            states = [("unconditional", "無条件", actions.unconditional, None)]
        else:
            states = [
                ("busy", "話中", actions.busy, EndpointBehaviour(state=EndpointState.BUSY)),
                (
                    "unreachable",
                    "圏外",
                    actions.unreachable,
                    EndpointBehaviour(state=EndpointState.UNREGISTERED),
                ),
                ("no-answer", "無応答", actions.no_answer, None),
            ]
        for slug, word, action, behaviour in states:
            endpoints = {x: behaviour} if behaviour is not None else {}
            scenario = self.answered_by_first_ringer(
                self.call(caller, x, "", endpoints), besides=frozenset({x})
            )
            at = (
                f" at 呼出時間 {absence.ring_time}s"
                if slug == "no-answer" and absence.ring_time
                else ""
            )
            yield self.check(
                f"absence:{x}:{slug}",
                CheckKind.ABSENCE,
                f"不在時動作 {x} {word}{at}: {action.value}",
                ("P6-S2-forward",),
                f"転送/留守番電話 of {x}: in the state {word} the call MUST {_action_words(action)}"
                f"{at} (DOMAIN.md rule 4).",
                scenario,
                _PBX,
            )

    def reach(self, x: str, reach: SingleNumberReach) -> Iterator[BehaviourCheck]:
        callers = self.callers_of(x, avoid=frozenset(_reach_numbers(reach)))
        if not callers:
            return
        caller = callers[0]
        ending = "留守番電話" if reach.voicemail else "release"
        yield self.check(
            f"reach:{x}:legs",
            CheckKind.REACH,
            f"シングルナンバーリーチ {x}: legs at 呼出開始時間1/2 until 呼出終了時間 "
            f"{reach.reach_end}s, then {ending}",
            ("P6-S2-reach",),
            f"シングルナンバーリーチ of {x}: {x} rings at 0, 接続先i at 呼出開始時間i; every leg "
            f"MUST stop at 呼出終了時間 and the call then go to {ending} "
            "(DOMAIN.md rules 5 and 6).",
            self.call(caller, x, ""),
            _PBX,
        )
        answered = self.answered_by_first_ringer(self.call(caller, x, ""), besides=frozenset({x}))
        if answered.endpoints:
            yield self.check(
                f"reach:{x}:answer-leg",
                CheckKind.REACH,
                f"シングルナンバーリーチ {x}: 接続先 answers",
                ("P6-S2-reach",),
                f"シングルナンバーリーチ of {x}: the first 接続先 to answer MUST win and the other "
                "legs stop (DOMAIN.md rule 5).",
                answered,
                _PBX,
            )


def scenario_checks(
    tenant: Tenant, folder: Path, *, params: ModelParams = DEFAULT_PARAMS
) -> tuple[BehaviourCheck, ...]:
    """One check per ``scenarios/*.yaml`` of the tenant folder (sorted by file name), listed
    under the steps whose settings the call meets; InputError names every bad file."""
    deriver = _Deriver(tenant, params, DEFAULT_BOUNDS)
    problems: list[Problem] = []
    checks: list[BehaviourCheck] = []
    for path in sorted((folder / "scenarios").glob("*.yaml")):
        where = f"{folder.name}/scenarios/{path.name}"
        try:
            scenario = load_scenario(path)
        except InputError as error:
            problems.extend(error.problems)
            continue
        found = scenario_problems(tenant, scenario, source=where)
        if found:
            problems.extend(found)
            continue
        title = scenario.description or path.stem
        checks.append(
            deriver.check(
                f"scenario:{path.stem}",
                CheckKind.SCENARIO,
                f"{where}: {title}",
                deriver.steps_met(scenario),
                f"The call of {where} MUST give the timeline the model predicts for it.",
                scenario,
            )
        )
    if problems:
        raise InputError(problems, subject=f"scenarios of tenant {tenant.name}")
    return tuple(checks)


def _ring_at(timeline: Timeline, endpoint: str) -> float | None:
    """When ``endpoint`` first rings in ``timeline`` (None: never)."""
    return next(
        (e.t for e in timeline.events if e.kind is EventKind.RING and e.endpoint == endpoint),
        None,
    )


def _external(tenant: Tenant, digits: str) -> bool:
    """Digits that are no extension or pilot and start with 0 (DOMAIN.md rule 1)."""
    return digits.startswith("0") and not tenant.has_extension(digits)


def _action_words(action: Action) -> str:
    return {
        Action.FORWARD: "be forwarded to the 転送先電話番号",
        Action.VOICEMAIL: "go to the extension's 留守番電話",
        Action.NONE: "give busy or unavailable (設定しない)",
    }[action]


def _reach_numbers(reach: SingleNumberReach) -> tuple[str, ...]:
    return tuple(n for n in (reach.reach_number_1, reach.reach_number_2) if n)
