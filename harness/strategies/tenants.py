"""Hypothesis strategies of valid tenants (ご利用内容のご案内 + 設定).

``tenants()`` draws a ``Tenant`` that ``load_tenant`` accepts: one digit count for 拠点番号 and
one for 端末番号 (each 1–11, DOMAIN.md "Numbering"), unique 端末ID / ログインID / 外線番号, web
passwords with letters and digits, and settings whose every reference holds
(:func:`harness.strategies.settings.settings_for`). Phone numbers are drawn in their loaded
form (digits only)::

    from harness.strategies.tenants import tenants

    @given(tenants(max_extensions=8))
    def test_something(tenant: Tenant) -> None: ...

``dense_tenants()`` draws the reference model's small dense tenants: two 拠点 of a few
extensions each, two lines, forwarding chains that may loop (so every routing rule is hit
often rather than once in a thousand draws).
"""

from __future__ import annotations

import string
from collections.abc import Callable

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
from harness.strategies.settings import (
    FORWARD_RING_TIME,
    REACH_END,
    REACH_START,
    dense_settings,
    settings_for,
)

__all__ = [
    "DENSE_LINES",
    "dense_tenants",
    "digits",
    "external_numbers",
    "guide_of",
    "first_example",
    "first_tenant",
    "guides",
    "rich_tenants",
    "tenants",
]

_LETTERS = string.ascii_letters
_ALNUM = string.ascii_letters + string.digits
#: 拠点番号 and 端末番号 are 1–11 digits each (DOMAIN.md "Numbering and accounts").
NUMBER_DIGITS = (1, 11)
#: The external lines of the dense tenants.
DENSE_LINES = ("0312345678", "0312345679")


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


def _digit_count() -> st.SearchStrategy[int]:
    """A digit count of 1–11, small ones (the usual contracts: 2–4) drawn most often, so a
    small tenant still has room for several extensions; shrinks towards 2."""
    low, high = NUMBER_DIGITS
    return st.sampled_from([2, 3, 4, 1]) | st.integers(low, high)


@st.composite
def guides(draw: st.DrawFn, *, min_extensions: int = 1, max_extensions: int = 12) -> Guide:
    """A valid ご利用内容のご案内 with ``min_extensions``–``max_extensions`` extensions (fewer
    when the digit counts leave no room: one 1-digit 拠点 with 1-digit 端末番号 has ten)."""
    site_length = draw(_digit_count())
    terminal_length = draw(_digit_count())
    sites = draw(st.lists(digits(site_length), min_size=1, max_size=3, unique=True))
    room = len(sites) * 10**terminal_length
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(sites), digits(terminal_length)),
            min_size=min(min_extensions, room),
            max_size=min(max_extensions, room),
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


def guide_of(extensions: list[str], *, site_digits: int = 2, lines: tuple[str, ...] = ()) -> Guide:
    """A guide with one スマートフォン terminal per full 内線番号 (拠点番号 = the first
    ``site_digits``) and the external ``lines``: the fixed tenants of the model's tests and
    of the live differential property."""
    return Guide.model_validate(
        {
            "お客様情報": {"ご注文内容": "新設", "内線サーバアドレス": "01234abc.smart-pbx.jp"},
            "管理者アカウント": {"ログインID": "adm01234abc", "パスワード": "Adm1nPass01"},
            "内線番号情報1": [
                {
                    "No": no,
                    "拠点番号": ext[:site_digits],
                    "端末番号": ext[site_digits:],
                    "端末ID": f"abcde{ext}",
                    "パスワード": "Password",
                    "端末種別": "スマートフォン",
                }
                for no, ext in enumerate(extensions, start=1)
            ],
            "外線番号情報": [
                {"No": no, "外線番号": line, "種別": "IP Voice for SmartPBX"}
                for no, line in enumerate(lines, start=1)
            ],
        }
    )


@st.composite
def dense_tenants(draw: st.DrawFn) -> Tenant:
    """A small dense tenant: 拠点 20 and/or 21, two to five 端末番号 each, both lines, and
    :func:`~harness.strategies.settings.dense_settings` on it."""
    sites = draw(st.lists(st.sampled_from(["20", "21"]), min_size=1, max_size=2, unique=True))
    terminals = draw(
        st.lists(st.sampled_from(["200", "201", "202", "203", "300"]), min_size=2, unique=True)
    )
    extensions = sorted({site + t for site in sites for t in terminals})
    guide = guide_of(extensions, lines=DENSE_LINES)
    return Tenant(name="generated", guide=guide, settings=draw(dense_settings(guide)))


def first_example(strategy: st.SearchStrategy[Tenant]) -> Tenant:
    """The first tenant ``strategy`` draws, derandomized (the same on every machine, no
    example database)."""
    return _find(strategy, lambda _tenant: True, max_examples=10)


def first_tenant(
    condition: Callable[[Tenant], bool],
    *,
    min_extensions: int,
    max_extensions: int,
    name: str,
    max_examples: int = 2000,
) -> Tenant:
    """The first tenant :func:`tenants` draws that meets ``condition``, derandomized (the same
    on every machine, no example database): a tenant no one wrote, found the same way by the
    tests and by ``mutation``'s default tenant."""
    strategy = tenants(min_extensions=min_extensions, max_extensions=max_extensions, name=name)
    return _find(strategy, condition, max_examples=max_examples)


def _find(
    strategy: st.SearchStrategy[Tenant], condition: Callable[[Tenant], bool], *, max_examples: int
) -> Tenant:
    from hypothesis import HealthCheck, Phase, find, settings

    return find(
        strategy,
        condition,
        settings=settings(
            database=None,
            derandomize=True,
            max_examples=max_examples,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )


#: The default 無応答 呼出時間 (DOMAIN.md): a rich tenant's is another, so a target that ignores
#: the setting shows it.
_DEFAULT_NO_ANSWER = 20
#: Fewest seconds between a rich tenant's シングルナンバーリーチ instants (呼出開始時間1 <
#: 呼出開始時間2 < 呼出終了時間), so each shows apart from the others.
_REACH_GAP = 3


@st.composite
def rich_tenants(draw: st.DrawFn, *, name: str = "rich") -> Tenant:
    """A valid tenant on which every area of DOMAIN.md has a behaviour that shows, *built* so
    rather than filtered out of :func:`tenants` (a filter for all of it found nothing in
    50,000 draws): a guide of :func:`guides` with 8–14 extensions, two app kinds, 端末ユーザ
    accounts and two or more lines, and settings whose roles are drawn from its extensions —

    - a 順次着信 and a 一斉着信 of 2–3 members each (呼出時間 given or left out), and a
      コールピックアップ of 2–3; members and 代表番号 have no 不在時動作 of their own;
    - one line routed to a 代表番号, one to a plain extension, the rest drawn;
    - a 転送/留守番電話 whose 話中, 圏外 and 無応答 each act (転送 to a plain extension, or
      留守番電話, at least one of each kind drawn) with a 呼出時間 other than the default;
    - a シングルナンバーリーチ to two plain extensions, 呼出開始時間1 < 呼出開始時間2 <
      呼出終了時間 at least 3 s apart, 留守番電話 off;
    - 外線発信設定 for at least one extension;
    - the owners of the two 不在時動作 have 端末ユーザ accounts (the manual's P.6: the user
      sets them on the site), so every step of P.6 has work to do.

    Every value is drawn in its DOMAIN.md range; only the roles are fixed."""
    guide = draw(
        guides(min_extensions=8, max_extensions=14).filter(
            lambda g: (
                len(_callers(g)) >= 8
                and len(g.external_lines) >= 2
                and len(_account_holders(g)) >= 2
                and {TerminalKind.SMARTPHONE, TerminalKind.SOFTPHONE}
                <= {t.terminal_kind for t in g.terminals}
            )
        )
    )
    forwarder, reacher = draw(st.permutations(_account_holders(guide)))[:2]
    pool = [e for e in draw(st.permutations(_callers(guide))) if e not in (forwarder, reacher)]
    sequential_pilot, simultaneous_pilot = pool[:2]
    plain = pool[2:]
    # the members of the groups and the 転送先 / 接続先 come from the plain extensions
    groups = [
        _group(draw, GroupKind.SEQUENTIAL, sequential_pilot, plain),
        _group(draw, GroupKind.SIMULTANEOUS, simultaneous_pilot, plain),
        RingGroup(
            kind=GroupKind.PICKUP,
            members=draw(st.lists(st.sampled_from(plain), min_size=3, max_size=4, unique=True)),
        ),
    ]
    lines = [line.external_number for line in guide.external_lines]
    destinations = [t.extension for t in guide.terminals] + [sequential_pilot, simultaneous_pilot]
    inbound = [
        InboundRoute(external_number=lines[0], destination=draw(st.sampled_from(groups[:2])).pilot),
        InboundRoute(external_number=lines[1], destination=draw(st.sampled_from(plain))),
    ] + [
        InboundRoute(external_number=line, destination=draw(st.sampled_from(destinations)))
        for line in lines[2:]
        if draw(st.booleans())
    ]
    extensions = [t.extension for t in guide.terminals]
    chosen = draw(st.lists(st.sampled_from(extensions), min_size=1, unique=True))
    outbound = [
        OutboundCallerId(extension=ext, caller_id=draw(st.sampled_from(lines))) for ext in chosen
    ]
    first, second = draw(st.lists(st.sampled_from(plain), min_size=2, max_size=2, unique=True))
    return Tenant(
        name=name,
        guide=guide,
        settings=Settings(
            ring_groups=groups,
            inbound_routes=inbound,
            outbound_caller_ids=outbound,
            absence={
                forwarder: _acting_forward(draw, draw(st.sampled_from(plain))),
                reacher: _two_leg_reach(draw, first, second),
            },
        ),
    )


def _callers(guide: Guide) -> list[str]:
    """The extensions that can be group members and 不在時動作 owners (not a VoIP-GW)."""
    return [t.extension for t in guide.terminals if t.terminal_kind is not TerminalKind.VOIP_GW]


def _account_holders(guide: Guide) -> list[str]:
    """The callers with a 端末ユーザ account (内線番号情報2), in the guide's order."""
    accounts = {u.extension for u in guide.terminal_users}
    return [e for e in _callers(guide) if e in accounts]


def _group(draw: st.DrawFn, kind: GroupKind, pilot: str, plain: list[str]) -> RingGroup:
    members = draw(st.lists(st.sampled_from(plain), min_size=2, max_size=3, unique=True))
    ring_time = draw(st.none() | st.integers(*GROUP_RING_TIME_RANGE))
    if ring_time is None:  # left out, as a document may (model_fields_set remembers)
        return RingGroup(kind=kind, pilot=pilot, members=members)
    return RingGroup(kind=kind, pilot=pilot, members=members, ring_time=ring_time)


def _acting_forward(draw: st.DrawFn, target: str) -> ForwardAbsence:
    acting = st.sampled_from([Action.FORWARD, Action.VOICEMAIL])
    states = [draw(acting) for _ in range(3)]  # 話中, 圏外, 無応答
    mailbox = draw(st.integers(0, 2))
    forward = (mailbox + draw(st.integers(1, 2))) % 3  # one of each kind at least
    states[mailbox], states[forward] = Action.VOICEMAIL, Action.FORWARD
    busy, unreachable, no_answer = states
    low, high = FORWARD_RING_TIME
    ring_time = draw(st.integers(low, high).filter(lambda n: n != _DEFAULT_NO_ANSWER))
    return ForwardAbsence(
        kind="転送/留守番電話",
        forward_to=target,
        actions=ForwardActions(busy=busy, unreachable=unreachable, no_answer=no_answer),
        ring_time=ring_time,
    )


def _two_leg_reach(draw: st.DrawFn, first: str, second: str) -> SingleNumberReach:
    low, high = REACH_START
    start_1 = draw(st.integers(low, high - _REACH_GAP))
    start_2 = draw(st.integers(start_1 + _REACH_GAP, high))
    end = draw(st.integers(max(REACH_END[0], start_2 + _REACH_GAP), REACH_END[1]))
    return SingleNumberReach(
        kind="シングルナンバーリーチ",
        reach_number_1=first,
        reach_start_1=start_1,
        reach_number_2=second,
        reach_start_2=start_2,
        reach_end=end,
        voicemail=False,
    )
