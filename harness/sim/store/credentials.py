"""Secrets at rest: SIP digest HA1s, argon2id web password hashes, SHA-256 token digests.

Nothing here is stored in the clear (the store's theory of operation, ``harness.sim.store``).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id minimum (m=19 MiB, t=2, p=1): memory-hard, ~20 ms per hash here.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def sip_ha1(algorithm: Literal["MD5", "SHA-256"], user: str, realm: str, password: str) -> str:
    """HA1 = H(user:realm:password) (RFC 2617 §3.2.2.2, RFC 8760 §3)."""
    data = f"{user}:{realm}:{password}".encode()
    hashed = hashlib.md5(data) if algorithm == "MD5" else hashlib.sha256(data)
    return hashed.hexdigest()


def digest(secret: str) -> str:
    """SHA-256 of a one-time code or session token, as stored (the secret never is)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches the argon2id ``password_hash`` (False, never an
    exception, for a wrong password or a malformed hash)."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


DUMMY_HASH = HASHER.hash("not-a-password-0")
"""Checked against when a ログインID is unknown, so timing does not reveal login ids."""
