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
    AdminAccount,
    CustomerInfo,
    ExternalLine,
    Guide,
    Settings,
    Tenant,
    Terminal,
    TerminalKind,
    TerminalUser,
)
from harness.strategies.settings import dense_settings, settings_for

__all__ = [
    "DENSE_LINES",
    "dense_tenants",
    "digits",
    "external_numbers",
    "guide_of",
    "guides",
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
    from hypothesis import HealthCheck, Phase, find, settings

    return find(
        tenants(min_extensions=min_extensions, max_extensions=max_extensions, name=name),
        condition,
        settings=settings(
            database=None,
            derandomize=True,
            max_examples=max_examples,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
