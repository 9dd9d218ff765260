"""Hypothesis strategies of valid tenants, for property tests (needs the ``test`` extra).

``tenants()`` draws a ``Tenant`` that ``load_tenant`` accepts: one digit count for 拠点番号 and
one for 端末番号, unique 端末ID / ログインID / 外線番号, web passwords with letters and digits,
and settings whose every reference holds (pilots and members are extensions, no VoIP-GW in
groups or with 不在時動作, pickup groups disjoint, routes to lines and to extensions or
pilots, 呼出時間 exactly when 無応答 acts…). Phone numbers are drawn in their loaded form
(digits only). Use it for round-trip tests of documents and as input of model properties::

    from harness.guide.strategies import tenants

    @given(tenants(max_extensions=8))
    def test_something(tenant: Tenant) -> None: ...

This module imports Hypothesis; ``harness.guide`` itself never imports it.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from harness.guide.types import (
    GROUP_RING_TIME_RANGE,
    Action,
    AdminAccount,
    CustomerInfo,
    ExternalLine,
    ForwardAbsence,
    ForwardActions,
    GroupKind,
    Guide,
    InboundRoute,
    OutboundCallerId,
    RingGroup,
    Settings,
    SingleNumberReach,
    Tenant,
    Terminal,
    TerminalKind,
    TerminalUser,
)

__all__ = ["absences", "digits", "external_numbers", "guides", "settings_for", "tenants"]

_LETTERS = string.ascii_letters
_ALNUM = string.ascii_letters + string.digits


def digits(min_size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Strings of ASCII digits (leading zeros included) of the given length range."""
    return st.text(
        alphabet=string.digits,
        min_size=min_size,
        max_size=min_size if max_size is None else max_size,
    )


def external_numbers() -> st.SearchStrategy[str]:
    """外線番号 as written in Japan: 0 followed by 9 or 10 digits."""
    return digits(9, 10).map(lambda rest: "0" + rest)


def _web_password() -> st.SearchStrategy[str]:
    return st.builds(
        lambda letters, digit, tail: letters + digit + tail,
        st.text(alphabet=_LETTERS, min_size=7, max_size=20),
        st.sampled_from(string.digits),
        st.text(alphabet=_ALNUM, max_size=10),
    )


@st.composite
def guides(draw: st.DrawFn, *, min_extensions: int = 1, max_extensions: int = 12) -> Guide:
    """A valid ご利用内容のご案内 with ``min_extensions``–``max_extensions`` extensions."""
    site_length = draw(st.integers(1, 3))
    terminal_length = draw(st.integers(2, 4))
    sites = draw(st.lists(digits(site_length), min_size=1, max_size=3, unique=True))
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(sites), digits(terminal_length)),
            min_size=min_extensions,
            max_size=max_extensions,
            unique=True,
        )
    )
    id_prefix = draw(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=5))
    terminals = [
        Terminal(
            no=index + 1,
            site_number=site,
            terminal_number=number,
            terminal_id=f"{id_prefix}{site}{number}",
            password=draw(st.text(alphabet=_ALNUM, min_size=1, max_size=16)),
            terminal_kind=draw(st.sampled_from(TerminalKind)),
        )
        for index, (site, number) in enumerate(pairs)
    ]
    with_account = draw(st.lists(st.booleans(), min_size=len(terminals), max_size=len(terminals)))
    users = [
        TerminalUser(
            no=index + 1,
            site_number=t.site_number,
            terminal_number=t.terminal_number,
            login_id=f"u{t.extension}",
            password=draw(_web_password()),
        )
        for index, t in enumerate(t for t, yes in zip(terminals, with_account, strict=True) if yes)
    ]
    lines = draw(st.lists(external_numbers(), max_size=4, unique=True))
    host = draw(st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10))
    return Guide(
        customer=CustomerInfo(
            order_kind=draw(st.sampled_from(["新設", "変更"])),
            sip_domain=f"{host}.smart-pbx.jp",
            uno_address=draw(st.none() | st.just("192.0.2.10")),
            service_code=draw(st.none() | digits(1, 6)),
        ),
        admin_account=AdminAccount(login_id=f"adm{host}", password=draw(_web_password())),
        terminals=terminals,
        terminal_users=users,
        external_lines=[
            ExternalLine(no=index + 1, external_number=number, kind="IP Voice for SmartPBX")
            for index, number in enumerate(lines)
        ],
    )


def absences(extension: str) -> st.SearchStrategy[ForwardAbsence | SingleNumberReach]:
    """A valid 不在時動作 for ``extension`` (転送/留守番電話 or シングルナンバーリーチ)."""
    return _forward(extension) | _reach()


@st.composite
def _forward(draw: st.DrawFn, extension: str) -> ForwardAbsence:
    actions = ForwardActions(
        unconditional=draw(st.sampled_from(Action)),
        busy=draw(st.sampled_from(Action)),
        unreachable=draw(st.sampled_from(Action)),
        no_answer=draw(st.sampled_from(Action)),
    )
    target = draw(digits(1, 20).filter(lambda n: n != extension))
    forward_to = target if actions.any_forward() else draw(st.none() | st.just(target))
    ring_time = None if actions.no_answer is Action.NONE else draw(st.integers(5, 30))
    return ForwardAbsence(
        kind="転送/留守番電話", forward_to=forward_to, actions=actions, ring_time=ring_time
    )


@st.composite
def _reach(draw: st.DrawFn) -> SingleNumberReach:
    second = draw(st.none() | digits(1, 20))
    return SingleNumberReach(
        kind="シングルナンバーリーチ",
        reach_number_1=draw(digits(1, 20)),
        reach_start_1=draw(st.integers(1, 30)),
        reach_number_2=second,
        reach_start_2=None if second is None else draw(st.integers(1, 30)),
        reach_end=draw(st.integers(5, 60)),
        voicemail=draw(st.booleans()),
    )


@st.composite
def settings_for(draw: st.DrawFn, guide: Guide) -> Settings:
    """Valid settings of ``guide``: groups, routes, caller IDs and 不在時動作 that refer only
    to its extensions and lines."""
    extensions = [t.extension for t in guide.terminals]
    candidates = [
        t.extension for t in guide.terminals if t.terminal_kind is not TerminalKind.VOIP_GW
    ]
    lines = [line.external_number for line in guide.external_lines]
    groups: list[RingGroup] = []
    if candidates:
        pilots = draw(st.lists(st.sampled_from(candidates), max_size=3, unique=True))
        for pilot in pilots:
            groups.append(
                RingGroup(
                    kind=draw(st.sampled_from([GroupKind.SEQUENTIAL, GroupKind.SIMULTANEOUS])),
                    pilot=pilot,
                    members=draw(
                        st.lists(st.sampled_from(candidates), min_size=1, max_size=4, unique=True)
                    ),
                    ring_time=draw(st.integers(*GROUP_RING_TIME_RANGE)),
                )
            )
        pool = draw(st.permutations(candidates))
        cut = draw(st.integers(0, len(pool)))
        start = 0
        # Disjoint pickup groups of two or more, taken from a shuffled prefix of the candidates.
        while cut - start >= 2 and draw(st.booleans()):
            size = draw(st.integers(2, cut - start))
            groups.append(
                RingGroup(kind=GroupKind.PICKUP, members=list(pool[start : start + size]))
            )
            start += size
    destinations = extensions + [g.pilot for g in groups if g.pilot is not None]
    inbound = [
        InboundRoute(external_number=line, destination=draw(st.sampled_from(destinations)))
        for line in lines
        if draw(st.booleans())
    ]
    outbound = (
        [
            OutboundCallerId(extension=ext, caller_id=draw(st.sampled_from(lines)))
            for ext in extensions
            if draw(st.booleans())
        ]
        if lines
        else []
    )
    absent = draw(st.lists(st.sampled_from(candidates), unique=True)) if candidates else []
    absence: dict[str, Any] = {ext: draw(absences(ext)) for ext in absent}
    return Settings(
        ring_groups=groups,
        inbound_routes=inbound,
        outbound_caller_ids=outbound,
        absence=absence,
    )


@st.composite
def tenants(
    draw: st.DrawFn,
    *,
    min_extensions: int = 1,
    max_extensions: int = 12,
    with_settings: bool = True,
    name: str = "generated",
) -> Tenant:
    """A valid tenant: a guide of ``min_extensions``–``max_extensions`` extensions and, unless
    ``with_settings`` is false, settings consistent with it."""
    guide = draw(guides(min_extensions=min_extensions, max_extensions=max_extensions))
    settings = draw(settings_for(guide)) if with_settings else Settings()
    return Tenant(name=name, guide=guide, settings=settings)
