"""The registrar of the tenant's terminals: pure, ``now`` passed in (STYLE.md §1).

Theory of operation (RFC 3261 §10.3, digest per RFC 7616 / RFC 8760 for SIP):

1. Throttling (docs/pbx.md "Throttling policy"), in the spirit of fail2ban on Asterisk and
   Kamailio's pike, but keyed so that rotating ports dodges nothing and a shared address locks
   no honest phone out. Failed authentications are counted per *端末ID* (the account a request
   claims, from any source) and per *source address* (the IP, every port alike — a cracker
   using a new port per guess once found a real password in 96 guesses, issue 10 item 3).
   ``device_failure_limit`` failures from one IP:port (a phone retrying a wrong password blocks
   itself, not its 端末ID) or ``source_failure_limit`` from one address within
   ``failure_window`` seconds block that key for ``block_time`` seconds: requests it covers
   are answered ``block_status`` (default 503 Service Unavailable with Retry-After, RFC 3261
   §21.5.4 — "try again later" is what an honest phone does), *without their credentials
   being checked*, so a block is no oracle for the right password. ``account_failure_limit``
   senders failing one 端末ID do not block it but *back it off* (issue 10.3: "a per-account
   back-off, then block, that an honest phone with the right password still passes"): from
   senders that are not its live bindings, one credential check per interval — 1 s, doubled
   per wrong guess up to ``backoff_cap`` —, every other request 503 with Retry-After = the
   time to the next slot, unchecked. The right password in a slot registers and ends the
   back-off; it is forgotten ``block_time`` after its last wrong guess. So a new phone of an
   attacked account gets in after obeying a Retry-After, while a cracker with any number of
   addresses gets ≤ 9 checks in 511 s and then one per 256 s. A request from the very address
   and port of a live binding of the 端末ID it names (its phone's refresh, or that phone's
   call) is a *known device*: checked as usual through the back-off and an address block — a
   cracker cannot send from a port the phone holds and still read the answer. Other accounts
   behind the same address are untouched. Successes reset no count, so one valid account
   cannot launder guesses against others. Every table is bounded.
2. A request without credentials gets 401 with one challenge per offered algorithm, most
   preferred first (RFC 8760 §2.4). The default offers MD5 alone: SIPp 3.6 answers only the
   first challenge and aborts unless it is MD5 ("createAuthHeader: authentication must use
   MD5"), and Debian's baresip 1.0 (libre 1.1) gives up with ENOSYS on *any* non-MD5
   challenge, even one beside an MD5 challenge — so no order of two challenges serves both.
   SHA-256 (alone or first) is a parameter (``serve --digest-algorithms SHA-256,MD5``).
3. Credentials are checked against the stored HA1 (never the password) by sipcore's
   ``DigestServer`` (HMAC-signed nonces, stale and nonce-count replay detection). An unknown
   端末ID and a wrong password get the SAME answer — 401 with fresh challenges, same headers —
   so extensions cannot be enumerated (e.g. with sipvicious ``svwar``). Both count as
   failures, as do forged nonces and replays. A correct response over an expired nonce gets
   401 ``stale=true`` and is not a failure.
4. Bindings per 端末ID: several contacts, each with its own expiry; ``Expires: 0`` removes one,
   ``Contact: *`` with ``Expires: 0`` removes all; a request with no Contact just lists them.
   Expiries below ``min_expires`` get 423 with Min-Expires, above ``max_expires`` are clamped.
   At most ``max_contacts`` per terminal: a new one beyond that replaces the oldest.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from harness.sim.faults import (
    NO_FAULTS,
    REGISTRATION_NEVER_EXPIRES,
    UNKNOWN_TERMINAL_DISTINCT,
    UNREGISTER_IGNORED,
    WRONG_PASSWORD_ACCEPTED,
    Faults,
)
from harness.sip.digest import DigestChallenge, DigestCredentials, DigestOutcome, DigestServer
from harness.sip.digest import ha1 as digest_ha1
from harness.sip.syntax import SipParseError

if TYPE_CHECKING:
    from harness.sim.store import RoutingSnapshot


class Algorithm(StrEnum):
    """Digest algorithms offered (RFC 8760 §3)."""

    SHA256 = "SHA-256"
    MD5 = "MD5"


def ha1_of(*, username: str, realm: str, password: str, algorithm: Algorithm) -> str:
    """HA1 = H(username:realm:password) (RFC 7616 §3.4.2); what the store keeps."""
    return digest_ha1(username, realm, password, algorithm.value)


@dataclass(frozen=True, kw_only=True)
class RegistrarParams:
    default_expires: int = 3600  # when neither the contact nor the request says
    min_expires: int = 60  # RFC 3261 §10.3 step 7: below → 423 Interval Too Brief
    max_expires: int = 7200  # longer requests are clamped
    max_contacts: int = 5  # per 端末ID; a new one beyond replaces the oldest
    nonce_lifetime: float = 300.0
    # MD5 alone: what SIPp 3.6 and Debian's baresip can answer (theory of operation, step 2).
    algorithms: tuple[Algorithm, ...] = (Algorithm.MD5,)
    account_failure_limit: int = 5  # senders (IP:port) failing one 端末ID back it off …
    device_failure_limit: int = 5  # … or failures from one IP:port …
    source_failure_limit: int = 20  # … or from one address (all its ports) …
    failure_window: float = 60.0  # … within this many seconds …
    block_time: float = 300.0  # … block that sender or address this long
    block_status: int = 503  # answer while blocked (with Retry-After)
    # A 端末ID whose senders tripped account_failure_limit is not blocked but backed off: one
    # credential check per interval from senders that are not its live bindings, the interval
    # doubling per wrong guess up to the cap (docs/pbx.md "Throttling policy").
    # Seconds of the registrar's clock, which are real seconds (registrations are not scaled,
    # DESIGN.md "Time"), so Retry-After (RFC 3261 §20.33: seconds) is the same number.
    backoff_initial: float = 1.0
    backoff_cap: float = 256.0  # 1, 2, 4 … 256: ≤ 9 checks in the first 511 s, then 1 / 256 s


@dataclass(frozen=True, kw_only=True)
class StoredCredential:
    """What the store keeps for a terminal: HA1 per algorithm, never the password."""

    terminal_id: str
    ha1: Mapping[Algorithm, str]

    @classmethod
    def from_password(cls, *, terminal_id: str, realm: str, password: str) -> StoredCredential:
        return cls(
            terminal_id=terminal_id,
            ha1={
                a: ha1_of(username=terminal_id, realm=realm, password=password, algorithm=a)
                for a in Algorithm
            },
        )


def credentials_from_snapshot(snapshot: RoutingSnapshot) -> dict[str, StoredCredential]:
    """端末ID → stored HA1s, from the web side's store (realm = 内線サーバアドレス)."""
    return {
        t.terminal_id: StoredCredential(
            terminal_id=t.terminal_id,
            ha1={Algorithm.MD5: t.ha1_md5, Algorithm.SHA256: t.ha1_sha256},
        )
        for t in snapshot.terminals.values()
    }


@dataclass(frozen=True, kw_only=True)
class ContactRequest:
    """One Contact of a REGISTER: its URI and its own ``expires`` parameter, if any."""

    uri: str
    expires: int | None = None
    transport: str = "UDP"  # what the REGISTER came over: requests to the contact use it


@dataclass(frozen=True, kw_only=True)
class RegisterRequest:
    """The parts of a REGISTER the registrar needs (the SIP glue extracts them)."""

    terminal_id: str  # the user part of To (the address-of-record)
    source: str  # the source IP address (a throttling key, every port alike)
    peer: str = ""  # source "IP:port": a request from a live binding's own peer is its device
    uri: str = ""  # Request-URI, for the digest
    contacts: tuple[ContactRequest, ...] = ()
    wildcard: bool = False  # Contact: *
    expires: int | None = None  # the Expires header
    call_id: str = ""
    cseq: int = 0
    authorization: DigestCredentials | str | None = None  # parsed, or the header value


@dataclass(frozen=True, kw_only=True)
class Binding:
    contact: str
    expires_at: float
    call_id: str
    cseq: int
    registered_at: float
    transport: str = "UDP"  # "TCP" when registered over TCP: INVITEs to it go over TCP
    peer: str = ""  # "IP:port" the REGISTER came from: this device, for throttling

    def remaining(self, now: float) -> int:
        return max(0, int(round(self.expires_at - now)))


@dataclass(frozen=True, kw_only=True)
class RegisterResponse:
    status: int
    reason: str
    challenges: tuple[DigestChallenge, ...] = ()  # one WWW-Authenticate each
    bindings: tuple[Binding, ...] = ()  # 200: every current contact (RFC 3261 §10.3 step 8)
    retry_after: int | None = None
    min_expires: int | None = None
    # Why credentials were refused, for the serve log (never sent, never the password).
    refusal: str | None = None


@dataclass(frozen=True, kw_only=True)
class _Verdict:
    """What checking one set of credentials concluded, and why when it failed."""

    kind: Literal["ok", "stale", "fail"]
    why: str = ""


#: Keys (source addresses, 端末IDs) a failure table holds at most.
_MAX_KEYS = 4096


@dataclass
class _Record:
    failures: deque[tuple[float, str]] = field(default_factory=deque)  # (when, sender)
    blocked_until: float = float("-inf")


@dataclass
class _FailureTable:
    """Failed authentications per key in a sliding window, and the blocks they caused.

    Bounded: past ``capacity`` keys, quiet ones (not blocked, no failure in the window) are
    swept, and if that is not enough the longest-quiet unblocked ones go first — records sit
    in order of their last failure, so a key under attack is the last to be forgotten."""

    limit: int
    window: float
    block_time: float
    # Count distinct senders, not failures: a phone retrying one wrong password from its one
    # port is one failure of its 端末ID (its own port has a table of its own).
    per_sender: bool = False
    capacity: int = _MAX_KEYS
    records: dict[str, _Record] = field(default_factory=dict)

    def blocked_until(self, key: str, now: float) -> float | None:
        record = self.records.get(key)
        return record.blocked_until if record is not None and record.blocked_until > now else None

    def fail(self, key: str, now: float, *, sender: str = "") -> bool:
        """Count one failure of ``key`` from ``sender``; True when it blocks the key."""
        record = self.records.pop(key, None)
        if record is None:
            record = _Record()
            if len(self.records) >= self.capacity:
                self._sweep(now)
        self.records[key] = record  # last failed, last in order
        record.failures.append((now, sender))
        while record.failures and record.failures[0][0] <= now - self.window:
            record.failures.popleft()
        count = len(record.failures)
        if self.per_sender:  # an unnamed sender ("") counts every time
            named = {s for _, s in record.failures if s}
            count = len(named) + sum(1 for _, s in record.failures if not s)
        if count < self.limit:
            return False
        record.failures.clear()
        record.blocked_until = now + self.block_time
        return True

    def _sweep(self, now: float) -> None:
        horizon = now - self.window
        for key in [
            key
            for key, record in self.records.items()
            if record.blocked_until <= now
            and (not record.failures or record.failures[-1][0] <= horizon)
        ]:
            del self.records[key]
        if len(self.records) < self.capacity:
            return
        # Still full of live keys: drop the longest-quiet quarter (amortised O(1) per key),
        # the unblocked first — a block outlives the failures that caused it.
        excess = len(self.records) - self.capacity * 3 // 4
        order = sorted(self.records, key=lambda key: self.records[key].blocked_until > now)
        for key in order[:excess]:  # a stable sort: oldest unblocked, then oldest blocked
            del self.records[key]


@dataclass
class _Backoff:
    """A 端末ID under attack: the next credential check allowed from an unknown sender."""

    interval: float
    next_slot: float
    until: float  # forgotten after this (block_time after its last wrong guess)


class Registrar:
    def __init__(
        self,
        *,
        realm: str,
        credentials: Mapping[str, StoredCredential] | None = None,
        params: RegistrarParams | None = None,
        secret: bytes | None = None,
        faults: Faults = NO_FAULTS,
    ) -> None:
        self.realm = realm
        self.faults = faults
        self.params = params or RegistrarParams()
        self.credentials: dict[str, StoredCredential] = dict(credentials or {})
        secret = secret if secret is not None else os.urandom(32)
        self._servers = {
            a: DigestServer(
                secret=secret,
                realm=realm,
                algorithm=a.value,
                nonce_lifetime=self.params.nonce_lifetime,
            )
            for a in self.params.algorithms
        }
        self._bindings: dict[str, dict[str, Binding]] = {}
        p = self.params
        self._accounts = _FailureTable(
            limit=p.account_failure_limit,
            window=p.failure_window,
            block_time=0.0,  # a tripped 端末ID backs off instead (self._backoffs)
            per_sender=True,
        )
        self._backoffs: dict[str, _Backoff] = {}
        self._devices = _FailureTable(
            limit=p.device_failure_limit, window=p.failure_window, block_time=p.block_time
        )
        self._sources = _FailureTable(
            limit=p.source_failure_limit, window=p.failure_window, block_time=p.block_time
        )

    # --- queries ------------------------------------------------------------------------------

    def bindings(self, terminal_id: str, now: float) -> list[Binding]:
        """Live contacts of a terminal, oldest first (expired ones are dropped)."""
        current = self._bindings.get(terminal_id, {})
        if self.faults.on(REGISTRATION_NEVER_EXPIRES):
            return sorted(current.values(), key=lambda b: b.registered_at)
        for contact in [c for c, b in current.items() if b.expires_at <= now]:
            del current[contact]
        return sorted(current.values(), key=lambda b: b.registered_at)

    def is_registered(self, terminal_id: str, now: float) -> bool:
        return bool(self.bindings(terminal_id, now))

    def is_blocked(
        self, *, now: float, source: str = "", terminal_id: str = "", peer: str = ""
    ) -> bool:
        """Whether requests from ``source`` (an IP), from ``peer`` (its IP:port) or naming
        ``terminal_id`` are blocked."""
        if peer and self._devices.blocked_until(peer, now) is not None:
            return True
        backoff = self._backoff(terminal_id, now) if terminal_id else None
        if backoff is not None and now < backoff.next_slot:
            return True
        return self._block_end(terminal_id, source, now) is not None

    # --- the request --------------------------------------------------------------------------

    def handle(self, request: RegisterRequest, *, now: float) -> RegisterResponse:
        verdict = self.authorize(
            terminal_id=request.terminal_id,
            source=request.source,
            peer=request.peer,
            method="REGISTER",
            uri=request.uri,
            authorization=request.authorization,
            now=now,
        )
        if isinstance(verdict, RegisterResponse):
            return verdict
        return self._update(request, now)

    def authorize(
        self,
        *,
        terminal_id: str,
        source: str,
        method: str,
        uri: str,
        authorization: DigestCredentials | str | None,
        now: float,
        peer: str = "",
    ) -> RegisterResponse | None:
        """Steps 1–3 of the theory of operation for any request (REGISTER, or an INVITE the
        glue challenges with 407): None when ``authorization`` proves ``terminal_id``, else the
        answer to send (401 with challenges — the glue turns it into 407 — or the block).
        ``source`` is the sender's IP, ``peer`` its "IP:port" (a known device's)."""
        device_end = self._devices.blocked_until(peer, now) if peer else None
        if device_end is not None:  # this very sender failed too often: no exception
            return self._blocked(device_end, now)
        block_end = self._block_end(terminal_id, source, now)
        known = self._known_device(terminal_id, peer, now)
        if block_end is not None and not known:
            return self._blocked(block_end, now)
        backoff = None if known else self._backoff(terminal_id, now)
        if backoff is not None and now < backoff.next_slot:  # not its slot: unchecked
            return self._blocked(backoff.next_slot, now)
        if self.faults.on(UNKNOWN_TERMINAL_DISTINCT) and terminal_id not in self.credentials:
            return RegisterResponse(status=404, reason="Not Found")
        if authorization is None:  # a challenge spends no slot: the answer to it does
            return self._challenge(now, stale=False)
        verdict = self._authenticate(terminal_id, method, uri, authorization, now)
        if verdict.kind == "stale":
            return self._challenge(now, stale=True)
        if verdict.kind == "ok":
            if backoff is not None:  # the right password in a slot ends the back-off
                del self._backoffs[terminal_id]
            return None
        # All counted, always (no short-circuit): any may be the one that blocks.
        p = self.params
        account_tripped = self._accounts.fail(terminal_id, now, sender=peer)
        if backoff is not None:  # a wrong guess in a slot doubles the interval
            backoff.interval = min(backoff.interval * 2, p.backoff_cap)
            backoff.next_slot = now + backoff.interval
            backoff.until = now + max(p.block_time, backoff.interval)
        elif account_tripped and terminal_id:
            self._start_backoff(terminal_id, now)
        tripped = [
            what
            for what, blocked in (
                (
                    f"端末ID {terminal_id!r} ({p.account_failure_limit} senders failed)",
                    account_tripped,
                ),
                (
                    f"sender {peer} ({p.device_failure_limit} failures)",
                    bool(peer) and self._devices.fail(peer, now),
                ),
                (
                    f"address {source} ({p.source_failure_limit} failures)",
                    self._sources.fail(source, now),
                ),
            )
            if blocked
        ]
        if tripped == [] and backoff is not None:
            why = f"{verdict.why}; 端末ID {terminal_id!r} backed off {backoff.interval:g} s"
            return dataclasses.replace(self._blocked(backoff.next_slot, now), refusal=why)
        if not tripped:
            return dataclasses.replace(self._challenge(now, stale=False), refusal=verdict.why)
        if not (self._devices.blocked_until(peer, now) if peer else None) and not (
            self._sources.blocked_until(source, now)
        ):  # only the 端末ID tripped: it backs off (registered phones unaffected)
            slot = self._backoffs[terminal_id].next_slot
            why = f"{verdict.why}; 端末ID {terminal_id!r} now backed off ({tripped[0]})"
            return dataclasses.replace(self._blocked(slot, now), refusal=why)
        why = (
            f"{verdict.why}; now blocking {' and '.join(tripped)} in {p.failure_window:g} s "
            f"for {p.block_time:g} s (registered phones of other senders keep working)"
        )
        return dataclasses.replace(self._blocked(now + p.block_time, now), refusal=why)

    # --- helpers ------------------------------------------------------------------------------

    def _block_end(self, terminal_id: str, source: str, now: float) -> float | None:
        """When the later of the 端末ID's and the address's blocks ends (None: not blocked)."""
        ends = [
            end
            for end in (
                self._accounts.blocked_until(terminal_id, now) if terminal_id else None,
                self._sources.blocked_until(source, now) if source else None,
            )
            if end is not None
        ]
        return max(ends, default=None)

    def _backoff(self, terminal_id: str, now: float) -> _Backoff | None:
        """The 端末ID's live back-off, if it is under attack."""
        backoff = self._backoffs.get(terminal_id)
        if backoff is not None and backoff.until <= now:
            del self._backoffs[terminal_id]
            return None
        return backoff

    def _start_backoff(self, terminal_id: str, now: float) -> None:
        p = self.params
        if len(self._backoffs) >= _MAX_KEYS:  # bounded: expired first, then the oldest
            for key in [k for k, b in self._backoffs.items() if b.until <= now]:
                del self._backoffs[key]
            while len(self._backoffs) >= _MAX_KEYS:
                del self._backoffs[next(iter(self._backoffs))]
        self._backoffs[terminal_id] = _Backoff(
            interval=p.backoff_initial, next_slot=now + p.backoff_initial, until=now + p.block_time
        )

    def _known_device(self, terminal_id: str, peer: str, now: float) -> bool:
        """A request from the address and port of a live binding of ``terminal_id``."""
        return bool(peer) and any(b.peer == peer for b in self.bindings(terminal_id, now))

    def _challenge(self, now: float, *, stale: bool) -> RegisterResponse:
        return RegisterResponse(
            status=401,
            reason="Unauthorized",
            challenges=tuple(
                server.challenge(now, stale=stale) for server in self._servers.values()
            ),
        )

    def _blocked(self, until: float, now: float) -> RegisterResponse:
        reason = "Service Unavailable" if self.params.block_status == 503 else "Forbidden"
        return RegisterResponse(
            status=self.params.block_status,
            reason=reason,
            retry_after=max(1, math.ceil(until - now)),  # never before the slot
        )

    def _authenticate(
        self,
        terminal_id: str,
        method: str,
        uri: str,
        authorization: DigestCredentials | str,
        now: float,
    ) -> _Verdict:
        """ok, stale or fail — unknown user and wrong password are the same "fail" on the
        wire; ``why`` tells the operator which (the serve log), never the password."""
        auth = authorization
        if isinstance(auth, str):
            try:
                auth = DigestCredentials.parse(auth)
            except SipParseError as exc:
                return _Verdict(kind="fail", why=f"unreadable credentials ({exc})")
        offered = ", ".join(a.value for a in self._servers)
        algorithm = next((a for a in self._servers if a.value == auth.algorithm.upper()), None)
        if algorithm is None:
            return _Verdict(
                kind="fail",
                why=f"the phone answered with digest algorithm {auth.algorithm!r}, which is "
                f"not offered (offered: {offered}; serve --digest-algorithms chooses them)",
            )
        stored = self.credentials.get(auth.username)
        ha1 = None if stored is None else stored.ha1.get(algorithm)
        if auth.username != terminal_id:
            ha1 = None  # credentials of one terminal never act for another
        outcome = self._servers[algorithm].verify(
            auth, method=method, ha1=ha1, now=now, request_uri=uri or None
        )
        if outcome is DigestOutcome.ACCEPTED:
            return _Verdict(kind="ok")
        if (
            self.faults.on(WRONG_PASSWORD_ACCEPTED)
            and outcome is DigestOutcome.WRONG_RESPONSE
            and ha1 is not None
        ):
            return _Verdict(kind="ok")
        if outcome is DigestOutcome.STALE_NONCE:
            return _Verdict(kind="stale")
        return _Verdict(kind="fail", why=self._why(auth, terminal_id, uri, outcome, stored))

    def _why(
        self,
        auth: DigestCredentials,
        terminal_id: str,
        uri: str,
        outcome: DigestOutcome,
        stored: StoredCredential | None,
    ) -> str:
        """One sentence a person can act on (issue 9 item 2), for the log only."""
        if auth.realm != self.realm:
            return (
                f"realm {auth.realm!r} is not this tenant's 内線サーバアドレス {self.realm!r} — "
                "set the phone's domain/realm to the 内線サーバアドレス"
            )
        if auth.username != terminal_id:
            return (
                f"the credentials name 端末ID {auth.username!r} but the request is for "
                f"{terminal_id!r} — set the phone's user and auth user to the same 端末ID"
            )
        if outcome is DigestOutcome.UNKNOWN_NONCE:
            return "the nonce was not issued by this server (an old challenge?)"
        if outcome is DigestOutcome.REPLAYED:
            return "the nonce count did not increase (a replayed request)"
        if outcome is DigestOutcome.MALFORMED:
            return f"the credentials do not fit the challenge (uri {auth.uri!r}, qop {auth.qop})"
        if stored is None:
            return (
                f"{auth.username!r} is no 端末ID of this tenant — use a 端末ID of "
                "内線番号情報1 as the phone's user name"
            )
        return (
            "wrong password — set the phone's password to the パスワード of this 端末ID "
            "(内線番号情報1)"
        )

    def _expires(self, contact: ContactRequest, request: RegisterRequest) -> int:
        """The contact's expires parameter, else the Expires header, else the default."""
        if contact.expires is not None:
            return contact.expires
        if request.expires is not None:
            return request.expires
        return self.params.default_expires

    def _update(self, request: RegisterRequest, now: float) -> RegisterResponse:
        params = self.params
        current = self._bindings.setdefault(request.terminal_id, {})
        self.bindings(request.terminal_id, now)  # drop expired ones first
        if request.wildcard:
            if request.expires != 0 or request.contacts:
                return RegisterResponse(
                    status=400, reason="Bad Request (Contact: * needs Expires: 0 and alone)"
                )
            if not self.faults.on(UNREGISTER_IGNORED):
                current.clear()
            return RegisterResponse(status=200, reason="OK")
        for contact in request.contacts:
            if 0 < self._expires(contact, request) < params.min_expires:
                return RegisterResponse(
                    status=423, reason="Interval Too Brief", min_expires=params.min_expires
                )
        for contact in request.contacts:
            expires = self._expires(contact, request)
            existing = current.get(contact.uri)
            if (
                existing is not None
                and existing.call_id == request.call_id
                and existing.cseq >= request.cseq
            ):
                continue  # RFC 3261 §10.3 step 7: an older or repeated request changes nothing
            if expires == 0:
                if not self.faults.on(UNREGISTER_IGNORED):
                    current.pop(contact.uri, None)
                continue
            current[contact.uri] = Binding(
                contact=contact.uri,
                expires_at=now + min(expires, params.max_expires),
                call_id=request.call_id,
                cseq=request.cseq,
                registered_at=now if existing is None else existing.registered_at,
                transport=contact.transport,
                peer=request.peer,
            )
        while len(current) > params.max_contacts:
            oldest = min(current.values(), key=lambda b: b.registered_at)
            del current[oldest.contact]
        return RegisterResponse(
            status=200, reason="OK", bindings=tuple(self.bindings(request.terminal_id, now))
        )
