"""Registrar: digest (MD5, SHA-256) against stored HA1, bindings, no enumeration, throttling."""

from __future__ import annotations

import dataclasses

import pytest

from harness.sim.pbx.registrar import (
    _MAX_KEYS,
    Algorithm,
    ContactRequest,
    RegisterRequest,
    RegisterResponse,
    Registrar,
    RegistrarParams,
    StoredCredential,
    _FailureTable,
    ha1_of,
)
from harness.sip.digest import DigestChallenge, answer_challenge

REALM = "01234abc.smart-pbx.jp"
URI = f"sip:{REALM}"
ID, PASSWORD = "abcde20200", "Password"
SOURCE = "127.0.0.1"


def make_registrar(**params: object) -> Registrar:
    """A registrar offering both algorithms unless told otherwise (the default is MD5 alone)."""
    params.setdefault("algorithms", (Algorithm.SHA256, Algorithm.MD5))
    return Registrar(
        realm=REALM,
        credentials={
            ID: StoredCredential.from_password(terminal_id=ID, realm=REALM, password=PASSWORD),
            "abcde20201": StoredCredential.from_password(
                terminal_id="abcde20201", realm=REALM, password="Other1"
            ),
        },
        params=dataclasses.replace(RegistrarParams(), **params),  # type: ignore[arg-type]
        secret=b"test-secret",
    )


def register(
    registrar: Registrar,
    *,
    now: float,
    terminal_id: str = ID,
    password: str = PASSWORD,
    algorithm: Algorithm = Algorithm.MD5,
    contacts: tuple[ContactRequest, ...] = (ContactRequest(uri="sip:abcde20200@127.0.0.1:5070"),),
    source: str = SOURCE,
    nonce_at: float | None = None,
    **fields: object,
) -> RegisterResponse:
    """Challenge then answer it like a phone: the full two-step REGISTER exchange (or the
    block, when the first step is already refused)."""
    base = RegisterRequest(terminal_id=terminal_id, source=source, uri=URI, contacts=contacts)
    base = dataclasses.replace(base, **fields)  # type: ignore[arg-type]
    challenge = registrar.handle(base, now=now if nonce_at is None else nonce_at)
    if challenge.status != 401:
        return challenge  # blocked: nothing to answer
    chosen = next(c for c in challenge.challenges if c.algorithm == algorithm.value)
    authorization = answer(chosen, terminal_id=terminal_id, password=password)
    return registrar.handle(dataclasses.replace(base, authorization=authorization), now=now)


def answer(challenge: DigestChallenge, *, terminal_id: str = ID, password: str = PASSWORD) -> str:
    """The Authorization header value a phone would send (sipcore's client side)."""
    return answer_challenge(
        str(challenge), method="REGISTER", uri=URI, username=terminal_id, password=password
    )


def shape(response: RegisterResponse) -> tuple[object, ...]:
    """Everything a client can see except the nonces, which are fresh on every challenge."""
    return (
        response.status,
        response.reason,
        [(c.realm, c.algorithm, c.qop, c.stale, c.opaque) for c in response.challenges],
        response.bindings,
        response.retry_after,
        response.min_expires,
    )


def test_by_default_the_challenge_is_md5_alone() -> None:
    """SIPp 3.6 and Debian's baresip 1.0 answer nothing but MD5, and baresip gives up on a
    SHA-256 challenge even beside an MD5 one (issue 9 item 2)."""
    registrar = Registrar(realm=REALM, secret=b"s")
    response = registrar.handle(RegisterRequest(terminal_id=ID, source=SOURCE), now=0)
    assert (response.status, [c.algorithm for c in response.challenges]) == (401, ["MD5"])


def test_several_algorithms_are_challenged_in_the_order_given() -> None:
    response = make_registrar().handle(RegisterRequest(terminal_id=ID, source=SOURCE), now=0)
    assert response.status == 401
    assert [c.algorithm for c in response.challenges] == ["SHA-256", "MD5"]
    assert all(c.realm == REALM and c.qop == ("auth",) for c in response.challenges)


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_register_with_each_algorithm(algorithm: Algorithm) -> None:
    registrar = make_registrar()
    response = register(registrar, now=10, algorithm=algorithm, expires=600)
    assert (response.status, [b.contact for b in response.bindings]) == (
        200,
        ["sip:abcde20200@127.0.0.1:5070"],
    )
    assert response.bindings[0].remaining(10) == 600
    assert registrar.is_registered(ID, 10)


def test_credentials_store_only_ha1() -> None:
    stored = StoredCredential.from_password(terminal_id=ID, realm=REALM, password=PASSWORD)
    assert PASSWORD not in repr(stored)
    assert stored.ha1[Algorithm.MD5] == ha1_of(
        username=ID, realm=REALM, password=PASSWORD, algorithm=Algorithm.MD5
    )


def test_binding_expires() -> None:
    registrar = make_registrar()
    register(registrar, now=0, expires=120)
    assert registrar.is_registered(ID, 119.9)
    assert not registrar.is_registered(ID, 120)


def test_refresh_extends_binding() -> None:
    registrar = make_registrar()
    register(registrar, now=0, expires=120, call_id="c1", cseq=1)
    register(registrar, now=100, expires=120, call_id="c1", cseq=3)
    assert registrar.is_registered(ID, 200)
    assert not registrar.is_registered(ID, 220)


def test_older_cseq_of_same_call_id_changes_nothing() -> None:
    registrar = make_registrar()
    register(registrar, now=0, expires=120, call_id="c1", cseq=5)
    register(registrar, now=10, expires=0, call_id="c1", cseq=4)
    assert registrar.is_registered(ID, 10)


def test_unregister_with_expires_zero() -> None:
    registrar = make_registrar()
    register(registrar, now=0, expires=600, call_id="c1", cseq=1)
    response = register(registrar, now=5, expires=0, call_id="c1", cseq=2)
    assert (response.status, response.bindings) == (200, ())
    assert not registrar.is_registered(ID, 5)


def test_several_contacts_and_wildcard_unregister() -> None:
    registrar = make_registrar()
    contacts = tuple(ContactRequest(uri=f"sip:{ID}@10.0.0.{i}", expires=300) for i in (1, 2))
    register(registrar, now=0, contacts=contacts, call_id="a", cseq=1)
    third = (ContactRequest(uri=f"sip:{ID}@10.0.0.3", expires=60),)
    response = register(registrar, now=1, contacts=third, call_id="b", cseq=1)
    assert [b.contact for b in response.bindings] == [c.uri for c in contacts + third]
    assert [b.contact for b in registrar.bindings(ID, 61)] == [c.uri for c in contacts]
    response = register(registrar, now=62, contacts=(), wildcard=True, expires=0, call_id="c")
    assert response.status == 200
    assert registrar.bindings(ID, 62) == []


def test_wildcard_needs_expires_zero() -> None:
    response = register(make_registrar(), now=0, contacts=(), wildcard=True, expires=60)
    assert response.status == 400


def test_too_brief_and_too_long_expiry() -> None:
    registrar = make_registrar(min_expires=60, max_expires=3600)
    brief = register(registrar, now=0, expires=30)
    assert (brief.status, brief.min_expires) == (423, 60)
    long = register(registrar, now=0, expires=99999)
    assert long.bindings[0].remaining(0) == 3600


def test_max_contacts_replaces_oldest() -> None:
    registrar = make_registrar(max_contacts=2)
    for i in range(3):
        contact = (ContactRequest(uri=f"sip:{ID}@10.0.0.{i}"),)
        register(registrar, now=i, contacts=contact, call_id=f"c{i}", cseq=1)
    assert [b.contact for b in registrar.bindings(ID, 3)] == [
        f"sip:{ID}@10.0.0.{i}" for i in (1, 2)
    ]


def test_unknown_terminal_and_wrong_password_get_the_same_answer() -> None:
    unknown = register(make_registrar(), now=7, terminal_id="zzzzz99999")
    wrong = register(make_registrar(), now=7, password="Wrong")
    assert unknown.status == 401
    assert shape(unknown) == shape(wrong)
    assert {len(c.nonce) for c in unknown.challenges} == {len(c.nonce) for c in wrong.challenges}


def test_credentials_for_another_terminal_are_refused() -> None:
    registrar = make_registrar()
    response = register(registrar, now=0, terminal_id="abcde20201", password="Other1")
    assert response.status == 200
    crossed = register(registrar, now=0, terminal_id="abcde20201", password=PASSWORD)
    assert crossed.status == 401


def test_forged_nonce_is_refused() -> None:
    registrar = make_registrar()
    forged = DigestChallenge(realm=REALM, nonce="0.abcdef.deadbeef", algorithm="MD5")
    request = RegisterRequest(terminal_id=ID, source=SOURCE, uri=URI, authorization=answer(forged))
    assert registrar.handle(request, now=0).status == 401
    assert not registrar.is_registered(ID, 0)


def test_replayed_authorization_is_refused() -> None:
    registrar = make_registrar(account_failure_limit=100)
    base = RegisterRequest(
        terminal_id=ID, source=SOURCE, uri=URI, contacts=(ContactRequest(uri="sip:a@h"),)
    )
    (challenge, *_) = registrar.handle(base, now=0).challenges
    signed = dataclasses.replace(base, authorization=answer(challenge))
    assert registrar.handle(signed, now=1).status == 200
    assert registrar.handle(signed, now=2).status == 401


def test_garbage_authorization_is_a_failure_not_a_crash() -> None:
    registrar = make_registrar(account_failure_limit=2)
    request = RegisterRequest(terminal_id=ID, source=SOURCE, authorization="Digest ,,,=")
    assert [registrar.handle(request, now=t).status for t in (0, 1)] == [401, 503]


def test_stale_nonce_is_rechallenged_without_counting_a_failure() -> None:
    registrar = make_registrar(nonce_lifetime=30, account_failure_limit=1, source_failure_limit=1)
    response = register(registrar, now=100, nonce_at=0)
    assert response.status == 401
    assert all(c.stale for c in response.challenges)
    assert not registrar.is_blocked(source=SOURCE, terminal_id=ID, now=100)
    assert register(registrar, now=101).status == 200


def test_failures_of_one_terminal_id_back_it_off_and_the_right_password_ends_it() -> None:
    """Issue 10.3: "a per-account back-off, then block, that an honest phone with the right
    password still passes". A tripped 端末ID is backed off, not blocked: the next check is
    1 s away, Retry-After says so, and a new phone with the right password gets in."""
    registrar = make_registrar(account_failure_limit=3, failure_window=60, block_time=300)
    answers = [register(registrar, now=t, password="Wrong") for t in (0, 1, 2)]
    assert [a.status for a in answers] == [401, 401, 503]
    assert answers[-1].retry_after == 1
    early = registrar.handle(RegisterRequest(terminal_id=ID, source=SOURCE), now=2.5)
    assert (early.status, early.retry_after, early.challenges) == (503, 1, ())
    # Another 端末ID from the same address is untouched …
    assert register(registrar, now=2.6, terminal_id="abcde20201", password="Other1").status == 200
    # … and a new phone of the backed-off 端末ID, from another address, registers in its slot.
    assert register(registrar, now=3, source="10.9.9.9").status == 200
    assert not registrar.is_blocked(terminal_id=ID, now=3)
    assert registrar._backoff(ID, 3) is None  # the right password ended the back-off


def test_each_wrong_guess_in_a_slot_doubles_the_back_off_up_to_its_cap() -> None:
    """A distributed cracker (a new address per guess, no address limit reached) gets one
    check per interval, the interval doubling to the cap: 1, 2, 4, 8, 8 … simulated seconds.
    Requests between slots are refused unchecked (the right password too: no oracle)."""
    registrar = make_registrar(account_failure_limit=3, backoff_initial=1, backoff_cap=8)
    for t in (0, 1, 2):
        register(registrar, now=t, password="Wrong", source=f"10.0.0.{t}")
    now, checked, retry_afters = 2.0, 0, []
    while now < 60:
        response = register(registrar, now=now, password="Wrong", source=f"10.1.0.{checked}")
        if response.refusal is not None:  # credentials were checked (and refused)
            checked += 1
            retry_afters.append(response.retry_after)
        else:
            assert response.status == 503 and response.retry_after is not None
            assert register(registrar, now=now, source="10.2.0.1").status == 503  # unchecked
        now += 0.5
    assert retry_afters[:5] == [2, 4, 8, 8, 8]
    # 58 s of guessing every 0.5 s: 116 tries, 1 + 2 + 4 + 8 * 6 = 55 s of slots → 8 checks.
    assert checked <= 9, checked
    # The honest phone that obeys the last Retry-After gets in.
    assert register(registrar, now=now + 8, source="10.3.0.1").status == 200


def test_a_back_off_is_forgotten_block_time_after_its_last_wrong_guess() -> None:
    registrar = make_registrar(account_failure_limit=2, block_time=300)
    for t in (0, 1):
        register(registrar, now=t, password="Wrong", source=f"10.0.0.{t}")
    assert registrar._backoff(ID, 300) is not None
    assert registrar._backoff(ID, 302) is None and not registrar._backoffs


def test_failures_outside_the_window_do_not_accumulate() -> None:
    registrar = make_registrar(account_failure_limit=3, failure_window=60)
    answers = [register(registrar, now=t, password="Wrong").status for t in (0, 50, 110, 160)]
    assert answers == [401, 401, 401, 401]
    assert not registrar.is_blocked(terminal_id=ID, source=SOURCE, now=160)


def test_block_status_is_a_parameter() -> None:
    registrar = make_registrar(account_failure_limit=1, block_status=403)
    response = register(registrar, now=0, password="Wrong")
    assert (response.status, response.reason) == (403, "Forbidden")


def test_a_rotating_port_cracker_is_stopped_long_before_a_password_late_in_its_list() -> None:
    """Issue 10 item 3: counted per IP:port, a new port per guess found the password at guess
    96 with no 503. Per 端末ID and per address, ports change nothing: 5 guesses are checked,
    the rest are refused unchecked while the block lasts (and it never ends within the run)."""
    registrar = make_registrar()
    guesses = [f"Guess{n:03d}" for n in range(95)] + [PASSWORD]
    answers = [
        register(registrar, now=t * 0.0005, password=guess, peer=f"127.0.0.1:{40000 + t}")
        for t, guess in enumerate(guesses)
    ]
    statuses = [a.status for a in answers]
    assert 200 not in statuses
    assert statuses[:5] == [401] * 4 + [503] and set(statuses[5:]) == {503}
    assert not registrar.is_registered(ID, 1.0)


def test_the_attacked_terminal_ids_registered_phone_keeps_working_through_the_block() -> None:
    registrar = make_registrar(account_failure_limit=3, backoff_initial=10)
    phone = "127.0.0.1:5070"
    assert register(registrar, now=0, peer=phone, call_id="phone", cseq=1).status == 200
    for t in (1, 2, 3):
        register(registrar, now=t, password="Wrong", peer=f"127.0.0.1:{6000 + t}")
    assert registrar.is_blocked(terminal_id=ID, now=4)
    # Its refresh, from the address and port of its binding: checked, accepted.
    refresh = register(registrar, now=4, peer=phone, call_id="phone", cseq=2)
    assert refresh.status == 200
    # Its calls too (the glue's 407 path uses the same authorize).
    challenge, *_ = registrar.handle(
        RegisterRequest(terminal_id=ID, source=SOURCE, peer=phone), now=5
    ).challenges
    invite = answer_challenge(
        str(challenge), method="INVITE", uri=URI, username=ID, password=PASSWORD
    )
    assert (
        registrar.authorize(
            terminal_id=ID,
            source=SOURCE,
            peer=phone,
            method="INVITE",
            uri=URI,
            authorization=invite,
            now=5,
        )
        is None
    )
    # The cracker's wrong guesses from that address but another port stay unchecked.
    assert register(registrar, now=6, peer="127.0.0.1:6100").status == 503


def test_many_terminal_ids_guessed_from_one_address_block_the_address_not_its_phones() -> None:
    """Password spraying: one wrong guess for each of many 端末IDs trips the address limit.
    Registered phones at that address (known devices) keep working; another address is free."""
    registrar = make_registrar(source_failure_limit=4)
    phone = "127.0.0.1:5071"
    assert (
        register(registrar, now=0, terminal_id="abcde20201", password="Other1", peer=phone).status
        == 200
    )
    for n in range(4):
        register(registrar, now=1 + n, terminal_id=f"abcde2099{n}", password="Wrong")
    assert registrar.is_blocked(source=SOURCE, now=5)
    assert register(registrar, now=6).status == 503  # a new phone behind that address waits
    assert (
        register(
            registrar, now=6, terminal_id="abcde20201", password="Other1", peer=phone, cseq=9
        ).status
        == 200
    )
    assert register(registrar, now=6, source="127.0.0.2").status == 200


def test_the_failure_tables_are_bounded_and_keep_what_still_counts() -> None:
    """Every 端末ID a cracker invents is a key: past the bound quiet ones are swept, then the
    longest-quiet; a blocked key and one under attack keep their record."""
    registrar = make_registrar(account_failure_limit=3, failure_window=60, block_time=300)
    for t in (0, 1, 2):
        register(registrar, now=t, password="Wrong", source="10.0.0.1")  # ID blocked
    for n in range(_MAX_KEYS):  # old failures of invented names from many addresses
        register(
            registrar,
            now=100,
            terminal_id=f"x{n}",
            password="Wrong",
            source=f"10.1.{n // 250}.{n % 250}",
        )
    register(registrar, now=220, terminal_id="abcde20201", password="Wrong")  # the sweep
    assert len(registrar._accounts.records) <= _MAX_KEYS
    assert len(registrar._sources.records) <= _MAX_KEYS
    assert registrar._backoff(ID, 220) is not None  # still backed off (until 302)
    register(registrar, now=221, terminal_id="abcde20201", password="Wrong")
    assert register(registrar, now=222, terminal_id="abcde20201", password="Wrong").status == 503


def test_a_binding_keeps_the_transport_its_register_came_over() -> None:
    registrar = make_registrar()
    tcp = ContactRequest(uri="sip:abcde20200@127.0.0.1:5071", transport="TCP")
    udp = ContactRequest(uri="sip:abcde20200@127.0.0.1:5070")
    assert register(registrar, now=0.0, contacts=(udp, tcp)).status == 200
    bound = {b.contact: b.transport for b in registrar.bindings(ID, 1.0)}
    assert bound == {udp.uri: "UDP", tcp.uri: "TCP"}
    # A refresh over the other transport moves the contact to it.
    moved = ContactRequest(uri=udp.uri, transport="TCP")
    assert register(registrar, now=2.0, contacts=(moved,), call_id="again").status == 200
    assert {b.contact: b.transport for b in registrar.bindings(ID, 3.0)}[udp.uri] == "TCP"


def test_a_full_failure_table_evicts_the_longest_quiet_unblocked_keys_first() -> None:
    table = _FailureTable(limit=2, window=60, block_time=300, capacity=8)
    for key in ("blocked-a", "blocked-b"):
        table.fail(key, now=0)
        assert table.fail(key, now=0)  # the second failure blocks it
    for n in range(6):  # live keys, each with a failure in the window
        table.fail(f"live{n}", now=1 + n)
    table.fail("attacked", now=10)  # the ninth key: the table is full of live ones
    assert len(table.records) <= 8
    assert {"blocked-a", "blocked-b", "attacked"} <= set(table.records)
    assert "live0" not in table.records  # the longest quiet goes first
    assert table.blocked_until("blocked-a", now=10) == 300


def test_a_phone_retrying_a_wrong_password_blocks_itself_not_its_terminal_id() -> None:
    """baresip answers every 401 again with the same wrong password (5 tries in a second):
    that is one sender failing, so only that sender is blocked — the same 端末ID set up
    right on another phone registers at once. A cracker keeping one port is stopped the same."""
    registrar = make_registrar()
    wrong_phone = "127.0.0.1:5080"
    answers = [
        register(registrar, now=t * 0.1, password="Wrong", peer=wrong_phone).status
        for t in range(6)
    ]
    assert answers == [401] * 4 + [503, 503]
    assert registrar.is_blocked(peer=wrong_phone, now=1)
    assert not registrar.is_blocked(terminal_id=ID, source=SOURCE, now=1)
    assert register(registrar, now=1, peer="127.0.0.1:5081").status == 200
    # Its own port stays blocked, right password or not, for block_time.
    assert register(registrar, now=2, peer=wrong_phone).status == 503
