"""Behaviour checks over SIP: one scenario played on the target, observed, compared with the
model (issue 11 items 1 and 3; docs/suite-timelines.md).

:func:`check` reads prepare → act → record evidence → check (../shared/STYLE.md §6):

1. **prepare**: ``predict`` the timeline; cast a phone for every endpoint — every terminal of
   内線番号情報1 (the model assumes each registered unless the scenario says otherwise), each
   external number the call can reach as a subscriber on the target's carrier side — and give
   each the scenario's behaviour (registered / unregistered = 圏外 / busy, answer after N s,
   reject after N s). A terminal named in ``lapsed`` that the scenario makes unregistered is
   not unregistered but *lapses*: it registers asking ``LAPSE_EXPIRES`` (a registrar with a
   higher minimum answers 423 and is asked again at its Min-Expires), goes silent (no
   refresh, no Expires 0: ``Phone.go_silent``) and the play waits until the expiry the
   registrar granted has run out, plus ``LAPSE_MARGIN`` — a deadline, never a fixed pause.
   Each terminal runs the app of ``platforms[extension]`` (default: its
   端末種別's, スマートフォン → Android). Phones already open in ``ctx.phones`` with that app are
   reused (their timelines are read from a mark), so a suite registers each terminal once per
   app; a terminal's phone of another app is unregistered first, so the target sees one
   registration per terminal, as the model assumes (a second contact of the same 端末ID would
   fork the call to both and double its rows).
2. **act**: the caller dials; pickups dial the pickup code at their instant; the call runs
   until it ends or the model's own horizon (its last event + tolerance) has passed —
   bounded, never a ``TimeoutError``: a phone that never rang is a *missing* row of the diff.
3. **evidence**: both timelines (JSON), the side-by-side diff, the SIP ladder of the call and
   the phones' pcap go to ``ctx.evidence``.
4. **check**: ``TimelineMismatch`` (a ``ConformanceFailure``, verdict *failed*) when the
   timelines differ. When they agree and the target has ``media``, the call is heard: every
   answered call between two of the check's phones must carry each side's tone to the other
   (``two_way_audio``: waited for up to ``AUDIO_WAIT`` real seconds, both directions'
   statistics in the evidence; ``NoTwoWayAudio``, failed, when a side hears nothing). The
   observed timeline is returned when all agree. A play whose own
   phones answered more than ``SLIP`` behind their schedule (``slips``: the harness, not the
   target, was late) is no verdict: it is recorded as void and played again, and a check
   slipped on all ``PLAYS`` plays is broken (docs/suite-timelines.md).

Times: the answer and reject delays, the caller's give-up time and the pickup instants are in
the model's simulated seconds, turned into the phones' clock by the factory's scale over the
target's (1 when the factory was made by ``PhoneFactory.for_target``: one time scale per run).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.errors import ConformanceFailure, HarnessError
from harness.flows.context import FlowContext
from harness.flows.timeline import (
    TimelineDiff,
    TimelineMismatch,
    compare,
    early_tolerance_for,
    jitter_tolerance_for,
    observed_timeline,
    tolerance_for,
)
from harness.guide.types import ForwardAbsence, Guide, Tenant, Terminal
from harness.model import (
    DEFAULT_PARAMS,
    EndpointState,
    EventKind,
    ModelParams,
    Pickup,
    Scenario,
    Timeline,
    predict,
)
from harness.model.numbering import index_of, strip_prefix
from harness.sip.app import Platform, RegistrationState
from harness.sip.media import MediaReport
from harness.sip.observed import PhoneEvent, PhoneEventKind
from harness.sip.phone import CallHandle, CallState, Phone
from harness.target.model import Capability, MissingCapability
from harness.target.phones import PhoneFactory, platform_for

#: Real seconds allowed beyond the model's horizon for SIP on loopback or a network to land.
MARGIN = 1.0
#: Real seconds to let the ends of a call (BYE, CANCEL, 487) settle before the next check.
SETTLE = 5.0
_POLL = 0.02
#: Fewest simulated seconds after it starts ringing at which an answering endpoint answers.
ANSWER_AFTER = 2.0
#: Simulated seconds an answer or pickup keeps away from every other event of the call.
QUIET = 2.0
#: The harness's own external test numbers on the carrier side (a caller from outside, a callee
#: of outbound calls); ``test_numbers`` takes those the tenant does not use.
TEST_NUMBERS = tuple(f"0909999{n:04d}" for n in range(1, 100))
#: Model seconds a phone's answer may come after its schedule and the play still count
#: (``slips``): half the 2 s the checks keep between an answer and the target's other events.
SLIP = 1.0
#: Seconds of registration a lapsing terminal asks for (``check``'s ``lapsed``): the shortest
#: a registrar grants is its Min-Expires (423), so this asks for the minimum, whatever it is.
LAPSE_EXPIRES = 1
#: Real seconds waited beyond a lapsing terminal's granted expiry: the registrar counts the
#: expiry from the REGISTER it received, the phone from the 200 it got, and the Contact's
#: ``expires`` is whole seconds.
LAPSE_MARGIN = 1.5
#: Real seconds an answered call is given for each side to hear the other (``two_way_audio``):
#: RTP runs in real time whatever the scale; detection needs 80 ms of the far side's tone.
AUDIO_WAIT = 2.0
#: Plays of a check whose harness slipped (``slips``) before it is *broken*: never a verdict
#: on the target from a call the harness did not play as derived.
PLAYS = 3


class NoTwoWayAudio(ConformanceFailure):
    """An answered call on which a side does not hear the other (one-way or no audio)."""


@dataclass(frozen=True, kw_only=True)
class _Cast:
    """The phones of one check: endpoint → phone, and where each phone's timeline stood."""

    phones: Mapping[str, Phone]
    marks: Mapping[str, int]


def check(
    ctx: FlowContext,
    scenario: Scenario,
    *,
    params: ModelParams = DEFAULT_PARAMS,
    name: str | None = None,
    platforms: Mapping[str, Platform] | None = None,
    background: Sequence[Background] = (),
    lapsed: Iterable[str] = (),
    then: Callable[[CallHandle], None] | None = None,
) -> Timeline:
    """Play ``scenario`` on ``ctx.target``, compare what the phones saw with ``predict``.

    ``platforms`` (内線番号 → app platform) says which app each terminal runs; a terminal it
    does not name runs its 端末種別's default. ``background``: calls placed right after the
    scenario's own, between terminals it leaves alone; they ring while the call is compared,
    and their two phones are left out of the comparison (the model follows one call).
    ``lapsed``: terminals the scenario makes unregistered whose registration is let run out
    instead (module docstring, prepare). ``then``: run on the caller's call once a play
    agrees (and its audio was heard), before the phones hang up — what a check does on the
    call it reached (e.g. speak a message to the voicemail that answered). Returns the
    observed timeline; raises
    ``TimelineMismatch`` (failed) when it differs from the model's, ``MissingCapability``
    (skipped) when the scenario needs an external number and the target has no carrier side,
    ``ConformanceFailure`` when a terminal of the tenant cannot register.
    """
    label = name or scenario.description or f"{scenario.caller} → {scenario.dialled}"
    void: list[str] = []
    for attempt in range(1, PLAYS + 1):
        play = _play(ctx, scenario, params, platforms or {}, background, frozenset(lapsed))
        slipped = [] if play.diff.ok else slips(play.played, play.observed)
        title = label if attempt == 1 else f"{label} (play {attempt})"
        _record(ctx, title, play)
        heard: list[str] = []
        try:
            if play.diff.ok and ctx.target.has(Capability.MEDIA):
                heard = two_way_audio(ctx, title, play.call, play.cast, play.aside)
            if play.diff.ok and not heard and then is not None:
                then(play.call)
        finally:
            try:
                _hang_up(play.cast)
            finally:
                # A deviation is the verdict even when a call of it would not end (then broken
                # next).
                if not play.diff.ok and not slipped:
                    raise TimelineMismatch(play.expected, play.observed, play.diff, name=label)
        if heard:
            raise NoTwoWayAudio(f"{label}: the call was answered but " + "; ".join(heard))
        if play.diff.ok:
            return play.observed
        void.append(f"play {attempt}: " + "; ".join(slipped))
        ctx.evidence.text(
            f"{title} — void.txt",
            "This play is no verdict: the harness's own phones missed their schedule, so the "
            "call played was not the scenario derived (an answer meant to come QUIET away from "
            "the target's timers came among them).\n" + "\n".join(slipped),
        )
    raise HarnessError(
        f"{label}: the harness missed its own schedule in all {PLAYS} plays, so the target "
        f"cannot be judged ({' | '.join(void)}); the machine is too loaded for time scale "
        f"{ctx.target.time_scale:g}: run fewer workers (-n) or a larger --time-scale"
    )


@dataclass(frozen=True, kw_only=True)
class _Play:
    """One play of a scenario: what was played, the model's and the phones' timelines."""

    cast: _Cast
    call: CallHandle  # the caller's
    aside: frozenset[str]  # the background calls' endpoints
    played: Scenario
    expected: Timeline
    observed: Timeline
    diff: TimelineDiff
    ladder_mark: int
    pcap_mark: int


def _play(
    ctx: FlowContext,
    scenario: Scenario,
    params: ModelParams,
    platforms: Mapping[str, Platform],
    background: Sequence[Background],
    lapsed: frozenset[str] = frozenset(),
) -> _Play:
    """Cast the phones, dial, play the pickups, observe until the call agrees or the horizon."""
    expected = predict(ctx.tenant, scenario, params)
    tolerance = tolerance_for(ctx.target)
    early = early_tolerance_for(ctx.target)
    jitter = jitter_tolerance_for(ctx.target)
    factory = ctx.phones
    ratio = factory.clock.scale / ctx.target.time_scale  # model s per phone-clock s
    ladder_mark = factory.ladder.mark()
    pcap_mark = factory.pcap_mark()
    cast = _cast(ctx, scenario, expected, params, ratio, platforms, lapsed)
    caller = cast.phones[scenario.caller]
    gives_up = scenario.caller_gives_up_after or params.caller_gives_up_after
    call = caller.call(scenario.dialled, give_up_after=gives_up / ratio)
    origin = call.wait_for(PhoneEventKind.DIAL).t
    started = time.monotonic()
    aside = (
        _background(ctx.tenant, params, cast, background, expected, call)
        if background
        else frozenset()
    )
    played = _pickups(cast, scenario, params, origin=origin, ratio=ratio)
    if played != scenario:
        # The pickups went out later than asked (the harness's own scheduling): the model is
        # asked about the call that was actually played.
        expected = predict(ctx.tenant, played, params)
    names = {
        phone.name: endpoint for endpoint, phone in cast.phones.items() if endpoint not in aside
    }
    horizon = (max((e.t for e in expected.events), default=0.0) + tolerance) * ctx.target.time_scale

    def observe() -> Timeline:
        return observed_timeline(_events(cast), phones=names, origin=origin, scale=ratio)

    base = expected

    def expect(observed: Timeline) -> Timeline:
        # The phones answer a set time after *they* saw the ring: the model is asked about the
        # call with the answers as they reached the target (like the pickups above).
        answered = as_answered(played, base, observed)
        return base if answered == played else predict(ctx.tenant, answered, params)

    scheduled = frozenset({p.at for p in played.pickups} | {gives_up})
    bounds = _Bounds(tolerance=tolerance, early=early, jitter=jitter, scheduled=scheduled)
    observed = _wait(
        observe, expect, bounds, started=started, horizon=horizon, scale=ctx.target.time_scale
    )
    expected = expect(observed)
    diff = compare(
        expected,
        observed,
        tolerance=tolerance,
        early=early,
        jitter=jitter,
        actions=action_instants(expected, scheduled),
    )
    return _Play(
        cast=cast,
        call=call,
        aside=aside,
        played=played,
        expected=expected,
        observed=observed,
        diff=diff,
        ladder_mark=ladder_mark,
        pcap_mark=pcap_mark,
    )


def _record(ctx: FlowContext, label: str, play: _Play) -> None:
    """Both timelines, their diff, the apps' status, the SIP ladder and the pcap of one play."""
    evidence = ctx.evidence
    factory = ctx.phones
    evidence.text(f"{label} — expected timeline.json", _json(play.expected))
    evidence.text(f"{label} — observed timeline.json", _json(play.observed))
    evidence.text(f"{label} — timeline diff.txt", play.diff.text())
    evidence.text(f"{label} — app status.txt", _statuses(play.cast))
    evidence.text(f"{label} — SIP ladder.txt", factory.ladder.text(since=play.ladder_mark))
    pcap = factory.pcap_since(play.pcap_mark)  # this call's packets, not the whole run's capture
    if pcap is not None:
        evidence.file(f"{label} — phones.pcap", pcap, "application/vnd.tcpdump.pcap")


def two_way_audio(
    ctx: FlowContext,
    label: str,
    call: CallHandle,
    cast: _Cast,
    aside: frozenset[str] = frozenset(),
) -> list[str]:
    """Hear the caller's ``call`` if it is answered by another phone of ``cast``: each side
    must hear the other's tone (``harness.sip.media``) within ``AUDIO_WAIT`` real seconds.
    Both ends' media reports go to the evidence; returns what is not heard (empty: two-way
    audio). A call answered by no phone of the check (voicemail, nobody) has nothing to hear
    here."""
    if call.state is not CallState.CONNECTED:
        return []
    caller = call.phone
    answering = [
        CallHandle(phone, live)
        for endpoint, phone in cast.phones.items()
        if endpoint not in aside and phone is not caller
        for live in list(phone.virtual.calls.values())
        if live.state is CallState.CONNECTED
    ]
    problems: list[str] = []
    for other in answering:
        problems += hear_both_ways(ctx, label, call, other)
    return problems


def hear_both_ways(
    ctx: FlowContext, label: str, first: CallHandle, second: CallHandle
) -> list[str]:
    """Wait (up to ``AUDIO_WAIT`` real seconds each) until each end of a connected call hears
    the other's tone; both reports go to the evidence as ``<label> — media.txt``. Returns
    what is not heard (empty: two-way audio)."""
    for end in (first, second):
        if not end.has_media:
            raise HarnessError(
                f"phone {end.phone.name} has no media on call {end.call_id} although target "
                f"{ctx.target.name} has the media capability: make the phones with "
                "PhoneFactory.for_target (or set PhoneFactory.media)"
            )
    problems: list[str] = []
    lines: list[str] = []
    for listener, speaker in ((first, second.phone.name), (second, first.phone.name)):
        try:
            report = listener.wait_media(
                functools.partial(MediaReport.hears, name=speaker),
                f"{listener.phone.name} hears {speaker}",
                timeout=AUDIO_WAIT,
            )
        except TimeoutError:
            report = listener.media_report()
            problems.append(
                f"{listener.phone.name} does not hear {speaker} within {AUDIO_WAIT:g} s ({report})"
            )
        lines.append(str(report))
    ctx.evidence.text(f"{label} — media.txt", "\n".join(lines))
    return problems


def slips(scenario: Scenario, observed: Timeline) -> list[str]:
    """The harness's own answers that came more than ``SLIP`` model seconds after their
    schedule (the phone's observed ring + the scenario's ``answer_after``), described. Only
    the harness's phones set that interval: no target behaviour makes one.

    The checks place each answer ``QUIET`` (2 s) away from every other event of the call so
    that delivery and load cannot reorder them; an answer later than that was not the
    scenario derived, and a difference it makes is the harness's, not the target's."""
    late: list[str] = []
    for event in observed.events:
        if event.kind is not EventKind.ANSWER:
            continue
        asked = scenario.behaviour(event.endpoint).answer_after
        # the ring it answered: its last before the answer (a 順次着信 may ring it again)
        rang = [
            e.t
            for e in observed.events
            if e.kind is EventKind.RING and e.endpoint == event.endpoint and e.t <= event.t
        ]
        if asked is None or not rang:
            continue
        behind = event.t - rang[-1] - asked
        if behind > SLIP:
            late.append(
                f"{event.endpoint} answered at t={event.t:.2f}, {behind:.2f} s after its "
                f"schedule (its ring at t={rang[-1]:.2f} + {asked:g} s)"
            )
    return late


def _json(timeline: Timeline) -> str:
    return json.dumps(timeline.to_json(), ensure_ascii=False, indent=2)


# -- prepare ---------------------------------------------------------------------------------


def _cast(
    ctx: FlowContext,
    scenario: Scenario,
    expected: Timeline,
    params: ModelParams,
    ratio: float,
    platforms: Mapping[str, Platform],
    lapsed: frozenset[str] = frozenset(),
) -> _Cast:
    tenant = ctx.tenant
    factory = ctx.phones
    guide = tenant.guide
    phones: dict[str, Phone] = {}
    for terminal in guide.terminals:
        platform = platforms.get(terminal.extension) or platform_for(terminal.terminal_kind)
        phones[terminal.extension] = _terminal_phone(factory, guide, terminal, platform)
    needed, optional = _external_numbers(tenant, scenario, expected, params)
    if needed and not ctx.target.has(Capability.CARRIER):
        raise MissingCapability(ctx.target.name, (Capability.CARRIER,))
    if ctx.target.has(Capability.CARRIER):
        for number in sorted(needed | optional):
            phones[number] = factory.find(number) or factory.subscriber(number)
    for endpoint, phone in phones.items():
        behaviour = scenario.behaviour(endpoint)
        state = behaviour.state
        if endpoint == scenario.caller:
            state = EndpointState.REGISTERED  # it places the call
        if endpoint in lapsed and state is EndpointState.UNREGISTERED:
            _lapse(phone, endpoint)
        else:
            _set_registered(phone, state is not EndpointState.UNREGISTERED, endpoint)
        phone.set_busy(False)
        if behaviour.answer_after is None:
            phone.never_answer()
        else:
            phone.answer_after(behaviour.answer_after / ratio)
        rejects = behaviour.reject_after
        phone.reject_after(None if rejects is None else rejects / ratio)
        phone.set_busy(state is EndpointState.BUSY)
    return _Cast(phones=phones, marks={e: p.mark() for e, p in phones.items()})


def terminal_phone(ctx: FlowContext, extension: str) -> Phone:
    """The registered phone of the terminal ``extension`` on its 端末種別's default app (the
    one a check's cast uses), registered again if a check left it unregistered."""
    guide = ctx.tenant.guide
    terminal = next(t for t in guide.terminals if t.extension == extension)
    phone = _terminal_phone(ctx.phones, guide, terminal, platform_for(terminal.terminal_kind))
    _set_registered(phone, True, extension)
    return phone


def _terminal_phone(
    factory: PhoneFactory, guide: Guide, terminal: Terminal, platform: Platform
) -> Phone:
    """``terminal``'s phone running the ``platform`` app (reused when open), after every phone
    of the same terminal on another app has been unregistered (module docstring, prepare)."""
    for other in factory.phones:
        if (
            other.name == terminal.extension
            and other.profile.platform is not platform
            and other.registration_state is RegistrationState.REGISTERED
        ):
            other.unregister()
    return factory.find(terminal.extension, platform=platform) or factory.for_terminal(
        guide, terminal, platform=platform
    )


def _statuses(cast: _Cast) -> str:
    """What each app showed when the call was placed (P.3 ⑩, P.4 ⑧, P.5 ⑫: 通話可能,
    3G/LTEで通話可能 / Wi-Fiで通話可能, 通話不可 …), one line per phone."""
    return "\n".join(
        f"{endpoint} ({phone.profile.platform}): {phone.status_text}"
        for endpoint, phone in cast.phones.items()
    )


def _external_numbers(
    tenant: Tenant, scenario: Scenario, expected: Timeline, params: ModelParams
) -> tuple[set[str], set[str]]:
    """External numbers the call needs (the caller, the model's endpoints) and those it may
    reach (the dialled number, every 転送先 / 接続先 and scenario endpoint outside the tenant):
    these get phones too, so a deviation that rings one is observed."""
    index = index_of(tenant)
    lines = {line.external_number for line in tenant.guide.external_lines}

    def external(number: str) -> bool:
        return (
            bool(number)
            and number[0] == "0"
            and not index.is_extension(number)
            and (number not in lines)
        )

    needed = {e.endpoint for e in expected.events if external(e.endpoint)}
    if external(scenario.caller):
        needed.add(scenario.caller)
    maybe = {strip_prefix(scenario.dialled, params)[0], scenario.dialled, *scenario.endpoints}
    maybe |= set(_settings_numbers(tenant))
    return needed, {n for n in maybe if external(n)} - needed


def _settings_numbers(tenant: Tenant) -> Iterable[str]:
    for absence in tenant.settings.absence.values():
        if isinstance(absence, ForwardAbsence):
            numbers = [absence.forward_to]
        else:
            numbers = [absence.reach_number_1, absence.reach_number_2]
        yield from (n.replace("-", "") for n in numbers if n)


def _set_registered(phone: Phone, registered: bool, endpoint: str) -> None:
    state = phone.registration_state
    if registered and state is not RegistrationState.REGISTERED:
        phone.register()
        if phone.registration_state is not RegistrationState.REGISTERED:
            raise ConformanceFailure(
                f"{endpoint}: the {phone.profile.platform} app set up as the manual says could "
                f"not register on the target: it shows {phone.status_text} "
                f"({phone.virtual.last_error})"
            )
    elif not registered and state is RegistrationState.REGISTERED:
        phone.unregister()


def _lapse(phone: Phone, endpoint: str) -> None:
    """Register ``phone`` briefly, go silent and wait (a deadline) until the registrar's
    granted expiry and ``LAPSE_MARGIN`` have passed: the target must then see it 圏外."""
    phone.register(expires=LAPSE_EXPIRES)
    if phone.registration_state is not RegistrationState.REGISTERED:
        raise ConformanceFailure(
            f"{endpoint}: the {phone.profile.platform} app could not register for "
            f"{LAPSE_EXPIRES} s (or the registrar's Min-Expires) on the target: it shows "
            f"{phone.status_text} ({phone.virtual.last_error})"
        )
    left = phone.go_silent()
    if left is None:
        raise HarnessError(f"{endpoint}: the phone lost its registration before going silent")
    time.sleep(left + LAPSE_MARGIN)  # until the granted expiry has run out: a deadline


# -- act -------------------------------------------------------------------------------------


def _pickups(
    cast: _Cast, scenario: Scenario, params: ModelParams, *, origin: float, ratio: float
) -> Scenario:
    """Dial the pickup code from each picker at its instant; returns the scenario as played
    (each pickup at the instant its INVITE went out, in model seconds). A picker the scenario
    makes unavailable (the caller itself, unregistered or busy) cannot act: the model says
    nothing happens, and a phone that is not there cannot dial."""
    played: list[Pickup] = []
    for pickup in sorted(scenario.pickups, key=lambda p: p.at):
        picker = cast.phones.get(pickup.by)
        state = scenario.behaviour(pickup.by).state
        if picker is None or pickup.by == scenario.caller or state is not EndpointState.REGISTERED:
            played.append(pickup)
            continue
        clock = picker.virtual.clock
        delay = (origin + pickup.at / ratio - clock.now()) * clock.scale
        if delay > 0:
            time.sleep(delay)  # until the pickup's instant (a deadline, not a fixed pause)
        dial = picker.call(pickup.code or params.pickup_code).wait_for(PhoneEventKind.DIAL)
        played.append(dataclasses.replace(pickup, at=max(pickup.at, (dial.t - origin) * ratio)))
    return dataclasses.replace(scenario, pickups=tuple(played))


@dataclass(frozen=True, kw_only=True)
class Background:
    """A call beside a check's own: ``caller`` (an extension) dials ``callee`` (an extension
    that rings as itself) and nobody answers; it rings until the check's calls are hung up."""

    caller: str
    callee: str

    def reaches(self, tenant: Tenant, params: ModelParams = DEFAULT_PARAMS) -> frozenset[str]:
        """Every endpoint this call reaches, left ringing: its caller, its callee and where
        the model says the callee's 不在時動作 sends it on."""
        alone = predict(tenant, Scenario(caller=self.caller, dialled=self.callee), params)
        return frozenset({e.endpoint for e in alone.events} | {self.caller, self.callee})


def _background(
    tenant: Tenant,
    params: ModelParams,
    cast: _Cast,
    background: Sequence[Background],
    expected: Timeline,
    checked: CallHandle,
) -> frozenset[str]:
    """Once the checked call rings (its caller hears ringback: it is the older call, past its
    digest round trip), place each background call and wait (bounded) until its callee rings;
    returns the endpoints they use — the caller and every endpoint the model says the call
    reaches while it rings on (a 不在時動作 of the callee forwards it on) — which the
    observation leaves out. An endpoint of the model's timeline cannot be one (the check
    would compare a call it does not predict)."""
    used = {e.endpoint for e in expected.events}
    with contextlib.suppress(TimeoutError):  # never ringing: the comparison says so
        checked.wait_for(PhoneEventKind.RINGBACK, timeout=SETTLE)
    aside: set[str] = set()
    for extra in background:
        if {extra.caller, extra.callee} & used:
            raise HarnessError(
                f"background call {extra.caller} → {extra.callee} uses an endpoint of the "
                "checked call"
            )
        callee = cast.phones[extra.callee]
        mark = callee.mark()
        cast.phones[extra.caller].call(extra.callee)
        try:
            callee.wait_for(PhoneEventKind.RING, since=mark, timeout=SETTLE)
        except TimeoutError:
            raise ConformanceFailure(
                f"{extra.callee} did not ring within {SETTLE} s when {extra.caller} called it "
                "(the call placed beside the checked one)"
            ) from None
        reached = extra.reaches(tenant, params)
        if reached & used:
            raise HarnessError(
                f"background call {extra.caller} → {extra.callee} reaches "
                f"{', '.join(sorted(reached & used))}, an endpoint of the checked call"
            )
        aside |= reached
    return frozenset(aside)


def _events(cast: _Cast) -> list[PhoneEvent]:
    """Every phone's events since its mark, copied in one trip to the phones' event loop: a
    trip per phone (dozens on a large tenant, every poll) kept the loop thread busy and
    delayed the SIP it timestamps."""
    phones = list(cast.phones.items())
    if not phones:
        return []

    async def copy() -> list[PhoneEvent]:
        return [e for name, p in phones for e in p.virtual.events[cast.marks[name] :]]

    return phones[0][1].runtime.run(copy(), timeout=SETTLE)


def as_answered(scenario: Scenario, expected: Timeline, observed: Timeline) -> Scenario:
    """``scenario`` with each answering endpoint's ``answer_after`` as it was played: from the
    model's ring of that endpoint to its observed answer, never shorter than asked.

    A phone answers ``answer_after`` after it saw the ring, which the target's set-up and
    delivery made late; a target timer that races the answer (a シングルナンバーリーチ leg 2
    starting 1 s after leg 1 was due to answer) then sees the answer when it came, and so must
    the model. "When it came" is on the target's clock: the target's timers run from the
    call's arrival, which was as late as the call's first ring (its set-up lateness), so that
    lateness is taken off the observed answer first (``large``'s reach-mobile-answers under
    ``-n 2``: everything 1.07 s late, the answer 0.23 s after leg 2 was due by the phones'
    clock but 0.84 s before it by the target's — leg 2 rightly never rang). The answer's own
    lateness is still compared (the anchor and the bounds).

    The phone's own ``reject_after`` runs from the ring it saw too, so it moves by that ring's
    lateness: an answer 0 s and a reject 1 s after a ring that came 1.9 s late are an answer
    at 1.9 and a reject at 2.9, never a reject first (the live fuzzer's seed 7, under load)."""
    rings = _first_rings(expected)
    seen = _first_rings(observed)
    answers = {e.endpoint: e.t for e in observed.events if e.kind is EventKind.ANSWER}
    # The target's timers run from the call's arrival, late by the set-up lateness of the
    # call's first ring (the anchor): on the target's clock the answer came that much earlier.
    first = min(rings, key=rings.__getitem__, default=None)
    setup = max(0.0, seen[first] - rings[first]) if first is not None and first in seen else 0.0
    changed = dict(scenario.endpoints)
    for endpoint, behaviour in scenario.endpoints.items():
        asked = behaviour.answer_after
        if asked is None or endpoint not in rings or endpoint not in answers:
            continue
        played = answers[endpoint] - setup - rings[endpoint]
        if played > asked:
            rejects = behaviour.reject_after
            if rejects is not None:
                rejects += max(0.0, seen.get(endpoint, rings[endpoint]) - setup - rings[endpoint])
            changed[endpoint] = dataclasses.replace(
                behaviour, answer_after=played, reject_after=rejects
            )
    if changed == dict(scenario.endpoints):
        return scenario
    return dataclasses.replace(scenario, endpoints=changed)


def _first_rings(timeline: Timeline) -> dict[str, float]:
    rings: dict[str, float] = {}
    for event in timeline.events:
        if event.kind is EventKind.RING:
            rings.setdefault(event.endpoint, event.t)
    return rings


def action_instants(expected: Timeline, scheduled: frozenset[float]) -> frozenset[float]:
    """The model instants of the harness's own actions: the answers in ``expected`` and the
    ``scheduled`` ones (pickups, the caller giving up). What happens then runs from the action
    (a phone's clock), not from the call's arrival at the target: no anchor for those
    (``timeline.compare``)."""
    return scheduled | {e.t for e in expected.events if e.kind is EventKind.ANSWER}


@dataclass(frozen=True, kw_only=True)
class _Bounds:
    """The comparison's bounds (simulated seconds): late, early, and around the anchor."""

    tolerance: float
    early: float
    jitter: float | None
    #: Model instants of the pickups and of the caller giving up (``action_instants``).
    scheduled: frozenset[float]


def _wait(
    observe: Callable[[], Timeline],
    expect: Callable[[Timeline], Timeline],
    bounds: _Bounds,
    *,
    started: float,
    horizon: float,
    scale: float,
) -> Timeline:
    """Poll the observation until it agrees with the model (``expect``: the model's timeline
    of the call as observed so far) once the call has ended, or until the horizon (real
    seconds from the dial) and the margin have passed: then what was seen is the answer,
    whatever it is."""
    deadline = started + horizon + MARGIN
    tolerance = bounds.tolerance
    while True:
        observed: Timeline = observe()
        expected = expect(observed)
        ended = compare(
            expected,
            observed,
            tolerance=tolerance,
            early=bounds.early,
            jitter=bounds.jitter,
            actions=action_instants(expected, bounds.scheduled),
        )
        now = time.monotonic()
        if ended.ok or now > deadline:
            return observed
        last_expected = max((e.t for e in expected.events), default=0.0)
        # Once the call ended and the model's last instant + tolerance is behind us, events
        # still missing will not come: stop early instead of waiting out the margin.
        if ended.observed_ended and now > started + (last_expected + tolerance) * scale + 0.2:
            return observe()
        time.sleep(_POLL)


def _hang_up(cast: _Cast) -> None:
    """End every call the check left up (answered, voicemail, still ringing), then wait
    (bounded) until every phone's calls have ended, so the next check starts idle."""
    for phone in cast.phones.values():
        if any(c.state is not CallState.ENDED for c in phone.virtual.calls.values()):
            for _ in range(len(phone.virtual.calls)):
                phone.hangup()
    for phone in cast.phones.values():

        async def idle(phone: Phone = phone) -> None:
            await phone.virtual.wait_until(
                lambda: all(c.state is CallState.ENDED for c in phone.virtual.calls.values())
            )

        try:
            phone.runtime.run(asyncio.wait_for(idle(), SETTLE), timeout=SETTLE + 1)
        except TimeoutError as error:
            raise HarnessError(
                f"phone {phone.name}: a call did not end within {SETTLE} s after hanging up"
            ) from error


# -- scenarios the harness builds ------------------------------------------------------------


def test_numbers(tenant: Tenant) -> list[str]:
    """``TEST_NUMBERS`` the tenant does not use (as an extension, a line, a 転送先 or 接続先)."""
    used = set(tenant.extensions) | set(tenant.external_numbers) | set(_settings_numbers(tenant))
    return [n for n in TEST_NUMBERS if n not in used]


def quiet_instant(timeline: Timeline, endpoint: str, ring: float) -> float:
    """When ``endpoint``, ringing from ``ring`` in the unanswered ``timeline``, should answer:
    the earliest half second from ``ring + ANSWER_AFTER`` while it still rings that is
    ``QUIET`` away from every other event; failing that, the one farthest from them."""
    stops = [
        e.t
        for e in timeline.events
        if e.endpoint == endpoint and e.t > ring and e.kind is not EventKind.RING
    ]
    ends = [e.t for e in timeline.events if e.t > ring]
    until = min(stops) if stops else (max(ends) if ends else ring + 30.0)
    others = sorted({e.t for e in timeline.events if not (e.endpoint == endpoint and e.t == ring)})
    best, best_gap = ring + ANSWER_AFTER, -1.0
    at = ring + ANSWER_AFTER
    while at < until or at == ring + ANSWER_AFTER:
        gap = min((abs(at - t) for t in others), default=QUIET)
        if gap >= QUIET:
            return at
        if gap > best_gap:
            best, best_gap = at, gap
        at += 0.5
    return best
