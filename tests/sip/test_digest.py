"""Digest authentication: RFC 2617 / RFC 7616 vectors, header round trips, the server side."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from harness.sip.digest import (
    DigestChallenge,
    DigestCredentials,
    DigestOutcome,
    DigestServer,
    answer_challenge,
    choose_challenge,
    ha1,
    parse_auth_params,
    response_digest,
)
from harness.sip.syntax import SipParseError

# RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5.
RFC7616 = {
    "username": "Mufasa",
    "password": "Circle of Life",
    "realm": "http-auth@example.org",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    "uri": "/dir/index.html",
}


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ],
)
def test_rfc7616_example(algorithm: str, expected: str) -> None:
    v = RFC7616
    challenge = DigestChallenge(
        realm=v["realm"],
        nonce=v["nonce"],
        algorithm=algorithm,
        qop=("auth", "auth-int"),
        opaque=v["opaque"],
    )
    value = answer_challenge(
        challenge,
        method="GET",
        uri=v["uri"],
        username=v["username"],
        password=v["password"],
        nc=1,
        cnonce=v["cnonce"],
    )
    credentials = DigestCredentials.parse(value)
    assert credentials.response == expected
    assert credentials.qop == "auth" and credentials.nc == 1 and credentials.opaque == v["opaque"]
    assert 'response="' + expected + '"' in value and "nc=00000001" in value


def test_rfc2617_example() -> None:
    # RFC 2617 §3.5.
    challenge = DigestChallenge.parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert challenge.qop == ("auth", "auth-int") and challenge.algorithm == "MD5"
    value = answer_challenge(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        nc=1,
        cnonce="0a4f113b",
    )
    assert DigestCredentials.parse(value).response == "6629fae49393a05397450978507c4ef1"


def test_legacy_no_qop_response() -> None:
    # RFC 2069 form: H(HA1:nonce:HA2).
    key = ha1("u", "r", "p")
    expected = response_digest(
        ha1_hex=key,
        algorithm="MD5",
        method="REGISTER",
        uri="sip:r",
        nonce="n",
        qop=None,
        nc=None,
        cnonce=None,
    )
    value = answer_challenge(
        'Digest realm="r", nonce="n"', method="REGISTER", uri="sip:r", username="u", password="p"
    )
    c = DigestCredentials.parse(value)
    assert c.response == expected and c.qop is None and c.nc is None and "nc=" not in value


def test_challenge_and_credentials_round_trip() -> None:
    challenge = DigestChallenge(
        realm='a "b", c', nonce="n1", algorithm="SHA-256", qop=("auth",), opaque="o", stale=True
    )
    assert DigestChallenge.parse(str(challenge)) == challenge
    creds = DigestCredentials(
        username="abcde20200",
        realm="r",
        nonce="n",
        uri="sip:r",
        response="ab",
        algorithm="MD5",
        qop="auth",
        nc=255,
        cnonce="c",
        opaque=None,
    )
    assert DigestCredentials.parse(str(creds)) == creds
    assert "nc=000000ff" in str(creds)


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ('Digest realm="r', "unterminated quoted string"),
        ("Digest realm", "expected '='"),
        ('Digest realm="r" nonce="n"', "expected ','"),
        ('Digest realm="r", realm="s"', "given twice"),
        ('Basic realm="r"', "not a Digest challenge"),
        ('Digest nonce="n"', "missing realm"),
    ],
)
def test_challenge_errors(value: str, what: str) -> None:
    with pytest.raises(SipParseError, match=what):
        DigestChallenge.parse(value)


def test_credentials_errors() -> None:
    with pytest.raises(SipParseError, match="nc must be 8 hex digits"):
        DigestCredentials.parse(
            'Digest username="u", realm="r", nonce="n", uri="u", '
            'response="x", qop=auth, nc=1, cnonce="c"'
        )
    with pytest.raises(SipParseError, match="missing cnonce"):
        DigestCredentials.parse(
            'Digest username="u", realm="r", nonce="n", uri="u", '
            'response="x", qop=auth, nc=00000001'
        )


def test_auth_params_keep_commas_inside_quotes() -> None:
    scheme, params = parse_auth_params('Digest realm="a,b", qop="auth,auth-int", x=y', "h")
    assert scheme == "Digest" and params == {"realm": "a,b", "qop": "auth,auth-int", "x": "y"}


def test_sha512_256_answer_matches_an_independent_computation() -> None:
    # RFC 8760 SHA-512-256 is FIPS 180-4 SHA-512/256 (not a truncated SHA-512).
    def h(text: str) -> str:
        return hashlib.new("sha512_256", text.encode()).hexdigest()

    assert h("abc") == "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
    challenge = DigestChallenge(realm="r", nonce="n", algorithm="SHA-512-256", qop=("auth",))
    value = answer_challenge(
        challenge, method="REGISTER", uri="sip:r", username="u", password="p", nc=1, cnonce="c"
    )
    expected = h(f"{h('u:r:p')}:n:00000001:c:auth:{h('REGISTER:sip:r')}")
    assert DigestCredentials.parse(value).response == expected
    assert "algorithm=SHA-512-256" in value


def test_choose_challenge_prefers_the_strongest() -> None:
    chosen = choose_challenge(
        [
            'Digest realm="r", nonce="1", algorithm=MD5, qop="auth"',
            'Digest realm="r", nonce="2", algorithm=SHA-256, qop="auth"',
            'Digest realm="r", nonce="3", algorithm=UNKNOWN, qop="auth"',
        ]
    )
    assert chosen.nonce == "2"
    with pytest.raises(SipParseError, match="no supported"):
        choose_challenge(['Digest realm="r", nonce="3", algorithm=FOO'])


REALM = "01234abc.smart-pbx.jp"


def server(algorithm: str = "MD5") -> DigestServer:
    return DigestServer(secret=b"k" * 32, realm=REALM, algorithm=algorithm, nonce_lifetime=60)


def answer(challenge: DigestChallenge, password: str = "Password", nc: int = 1) -> str:
    return answer_challenge(
        challenge,
        method="REGISTER",
        uri=f"sip:{REALM}",
        username="abcde20200",
        password=password,
        nc=nc,
        cnonce="cn",
    )


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-256-sess", "MD5-sess", "SHA-512-256"])
def test_server_accepts_the_right_password_only(algorithm: str) -> None:
    s = server(algorithm)
    stored = ha1("abcde20200", REALM, "Password", algorithm)
    challenge = s.challenge(now=100.0)
    assert challenge.algorithm == algorithm and challenge.qop == ("auth",)
    ok = s.verify(
        answer(challenge), method="REGISTER", ha1=stored, now=101.0, request_uri=f"sip:{REALM}"
    )
    assert ok is DigestOutcome.ACCEPTED and ok.accepted
    wrong = s.verify(answer(challenge, "nope", nc=2), method="REGISTER", ha1=stored, now=101.0)
    assert wrong is DigestOutcome.WRONG_RESPONSE
    unknown_user = s.verify(answer(challenge, nc=3), method="REGISTER", ha1=None, now=101.0)
    assert unknown_user is DigestOutcome.WRONG_RESPONSE
    other_method = s.verify(answer(challenge, nc=4), method="INVITE", ha1=stored, now=101.0)
    assert other_method is DigestOutcome.WRONG_RESPONSE


def test_server_nonce_expiry_gives_stale() -> None:
    s = server()
    stored = ha1("abcde20200", REALM, "Password")
    challenge = s.challenge(now=100.0)
    assert s.verify(answer(challenge), method="REGISTER", ha1=stored, now=160.0).accepted
    late = s.verify(answer(challenge, nc=2), method="REGISTER", ha1=stored, now=160.5)
    assert late is DigestOutcome.STALE_NONCE
    assert "stale=true" in str(s.challenge(now=160.5, stale=True))
    # a stale nonce with the wrong password is still just wrong
    bad = s.verify(answer(challenge, "x", nc=3), method="REGISTER", ha1=stored, now=160.5)
    assert bad is DigestOutcome.WRONG_RESPONSE


def test_server_detects_replayed_nonce_counts() -> None:
    s = server()
    stored = ha1("abcde20200", REALM, "Password")
    challenge = s.challenge(now=0.0)
    first = answer(challenge, nc=1)
    assert s.verify(first, method="REGISTER", ha1=stored, now=1.0).accepted
    assert s.verify(first, method="REGISTER", ha1=stored, now=2.0) is DigestOutcome.REPLAYED
    assert s.verify(answer(challenge, nc=2), method="REGISTER", ha1=stored, now=3.0).accepted
    assert (
        s.verify(answer(challenge, nc=2), method="REGISTER", ha1=stored, now=3.0)
        is DigestOutcome.REPLAYED
    )


def test_a_bounded_nonce_table_never_lets_a_forgotten_nonce_be_replayed() -> None:
    """Beyond ``max_tracked`` remembered counts the oldest is dropped; that nonce (and any
    older one never seen) then answers STALE — a fresh challenge — never ACCEPTED again."""
    s = DigestServer(secret=b"k" * 32, realm=REALM, max_tracked=3)
    stored = ha1("abcde20200", REALM, "Password")
    challenges = [s.challenge(now=float(t)) for t in range(5)]
    never_used = challenges[0]
    for t, challenge in enumerate(challenges[1:], start=10):
        assert s.verify(answer(challenge), method="REGISTER", ha1=stored, now=float(t)).accepted
    assert len(s._last_nc) == 3
    evicted = challenges[1]  # first used, first forgotten
    replay = s.verify(answer(evicted), method="REGISTER", ha1=stored, now=20.0)
    assert replay is DigestOutcome.STALE_NONCE
    older = s.verify(answer(never_used), method="REGISTER", ha1=stored, now=20.0)
    assert older is DigestOutcome.STALE_NONCE
    kept = challenges[4]
    assert s.verify(answer(kept, nc=2), method="REGISTER", ha1=stored, now=20.0).accepted
    assert s.verify(answer(kept, nc=2), method="REGISTER", ha1=stored, now=20.0) is (
        DigestOutcome.REPLAYED
    )
    fresh = s.challenge(now=21.0)
    assert s.verify(answer(fresh), method="REGISTER", ha1=stored, now=21.0).accepted


def test_nonces_are_unique() -> None:
    s = server()
    assert len({s.new_nonce(5.0) for _ in range(10_000)}) == 10_000


def test_server_refuses_foreign_and_malformed_credentials() -> None:
    s = server()
    stored = ha1("abcde20200", REALM, "Password")
    forged = DigestChallenge(realm=REALM, nonce="123.abc.0000", qop=("auth",))
    assert (
        s.verify(answer(forged), method="REGISTER", ha1=stored, now=1.0)
        is DigestOutcome.UNKNOWN_NONCE
    )
    other = DigestServer(secret=b"other", realm=REALM).challenge(now=0.0)
    assert (
        s.verify(answer(other), method="REGISTER", ha1=stored, now=1.0)
        is DigestOutcome.UNKNOWN_NONCE
    )
    challenge = s.challenge(now=0.0)
    assert (
        s.verify("Digest garbage", method="REGISTER", ha1=stored, now=1.0)
        is DigestOutcome.MALFORMED
    )
    assert (
        s.verify(
            answer(challenge), method="REGISTER", ha1=stored, now=1.0, request_uri="sip:elsewhere"
        )
        is DigestOutcome.MALFORMED
    )
    no_qop = answer_challenge(
        DigestChallenge(realm=REALM, nonce=challenge.nonce, qop=()),
        method="REGISTER",
        uri="sip:x",
        username="abcde20200",
        password="Password",
    )
    assert s.verify(no_qop, method="REGISTER", ha1=stored, now=1.0) is DigestOutcome.MALFORMED


def test_non_ascii_response_or_nonce_is_a_refusal_not_a_crash() -> None:
    """hmac.compare_digest raises TypeError on non-ASCII str: compare bytes instead."""
    s = server()
    stored = ha1("abcde20200", REALM, "Password")
    challenge = s.challenge(now=0.0)
    signed = DigestCredentials.parse(answer(challenge))
    bad_response = dataclasses.replace(signed, response="ｘ" * 32)
    assert s.verify(bad_response, method="REGISTER", ha1=stored, now=1.0) is (
        DigestOutcome.WRONG_RESPONSE
    )
    bad_nonce = dataclasses.replace(signed, nonce=f"{challenge.nonce}ü")
    assert s.verify(bad_nonce, method="REGISTER", ha1=stored, now=1.0) is (
        DigestOutcome.UNKNOWN_NONCE
    )


def test_legacy_server_without_qop_accepts_rfc2069_answers() -> None:
    s = DigestServer(secret=b"k", realm=REALM, qop=())
    stored = ha1("u", REALM, "p")
    challenge = s.challenge(now=0.0)
    assert challenge.qop == () and "qop" not in str(challenge)
    value = answer_challenge(challenge, method="REGISTER", uri="sip:x", username="u", password="p")
    assert s.verify(value, method="REGISTER", ha1=stored, now=1.0).accepted
