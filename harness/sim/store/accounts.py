"""Web accounts: password checks with lockout, one-time codes, sessions and their flash
messages. Times (``now``) are simulated seconds of the simulator's clock."""

from __future__ import annotations

import hmac
import secrets
import sqlite3

from harness.sim.store.core import StoreCore
from harness.sim.store.credentials import DUMMY_HASH, digest, verify_password
from harness.sim.store.records import Account, LoginOutcome, Session, Stage

OTP_LIFETIME = 600.0
"""A one-time code is valid 10 simulated minutes (DOMAIN.md, A)."""
OTP_DIGITS = 6


class AccountsMixin(StoreCore):
    """Logins, lockouts, one-time codes and web sessions."""

    def account(self, login_id: str) -> Account | None:
        rows = self._read("SELECT * FROM web_accounts WHERE login_id = ?", (login_id,))
        return _account(rows[0]) if rows else None

    def locked_until(self, account: Account, *, now: float) -> float | None:
        """When ``account``'s lock runs out (simulated s), or None when it is not locked."""
        if account.locked_at is None or now >= account.locked_at + self.lockout_time:
            return None
        return account.locked_at + self.lockout_time

    def locked_accounts(self, *, now: float) -> list[Account]:
        """Accounts locked at ``now``, by ログインID."""
        rows = self._read(
            "SELECT * FROM web_accounts WHERE locked_at > ? ORDER BY login_id",
            (now - self.lockout_time,),
        )
        return [_account(r) for r in rows]

    def check_password(self, login_id: str, password: str, *, now: float) -> LoginOutcome:
        """Verify a web login (argon2: call it off the event loop); counts failures, locks.

        An unknown ログインID and a wrong パスワード give the same outcome. A locked account
        answers ``locked`` without its password being checked until ``lockout_time`` after it
        locked (``now``: the simulator clock); then it starts again with no failures.
        """
        rows = self._read(
            "SELECT password_hash, locked_at FROM web_accounts WHERE login_id = ?", (login_id,)
        )
        if not rows:
            # Spend the same time as a real check, so timing does not reveal login ids.
            verify_password(DUMMY_HASH, password)
            return "bad_credentials"
        locked_at = rows[0]["locked_at"]
        if locked_at is not None:
            if now < locked_at + self.lockout_time:
                return "locked"
            self.unlock(login_id)  # the lock ran out
        if verify_password(rows[0]["password_hash"], password):
            self._set_failures(login_id, 0)
            return "ok"
        return self.record_failure(login_id, now=now)

    def record_failure(self, login_id: str, *, now: float) -> LoginOutcome:
        """One more failed attempt (password or one-time code); locked at the threshold."""
        with self._tx() as db:
            db.execute(
                "UPDATE web_accounts SET failed_logins = failed_logins + 1 WHERE login_id = ?",
                (login_id,),
            )
            row = db.execute(
                "SELECT failed_logins, locked_at FROM web_accounts WHERE login_id = ?",
                (login_id,),
            ).fetchone()
            if row is None or row["failed_logins"] < self.lockout_threshold:
                return "bad_credentials"
            if row["locked_at"] is not None:
                return "locked"
            db.execute("UPDATE web_accounts SET locked_at = ? WHERE login_id = ?", (now, login_id))
            return "locked_now"

    def is_locked(self, login_id: str, *, now: float) -> bool:
        account = self.account(login_id)
        return account is not None and self.locked_until(account, now=now) is not None

    def _set_failures(self, login_id: str, count: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE web_accounts SET failed_logins = ? WHERE login_id = ?", (count, login_id)
            )

    def unlock(self, login_id: str) -> bool:
        """Lift ``login_id``'s lock and forget its failures; False when there is no such account."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE web_accounts SET failed_logins = 0, locked_at = NULL WHERE login_id = ?",
                (login_id,),
            )
            return cur.rowcount > 0

    def register_email(self, login_id: str, email: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE web_accounts SET email = ? WHERE login_id = ?", (email, login_id))

    # --- one-time codes --------------------------------------------------------------------

    def issue_code(self, login_id: str, *, now: float) -> str:
        """A new 6-digit one-time code valid OTP_LIFETIME simulated seconds; earlier ones die."""
        code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
        with self._tx() as db:
            db.execute("UPDATE one_time_codes SET used = 1 WHERE login_id = ?", (login_id,))
            db.execute(
                "INSERT INTO one_time_codes (login_id, code_hash, expires_at) VALUES (?, ?, ?)",
                (login_id, digest(f"{login_id}:{code}"), now + OTP_LIFETIME),
            )
        return code

    def redeem_code(self, login_id: str, code: str, *, now: float, single_use: bool = True) -> bool:
        """True once for a live, unused code of ``login_id`` (the latest one); marks it used.
        ``single_use`` off (fault ``otp-reusable``): any live code of ``login_id``, used or not
        — the check that forgets the used flag and the code it was sent with."""
        with self._tx() as db:
            if not single_use:
                hashed = digest(f"{login_id}:{code.strip()}")
                return any(
                    hmac.compare_digest(row["code_hash"], hashed)
                    for row in db.execute(
                        "SELECT code_hash FROM one_time_codes "
                        "WHERE login_id = ? AND expires_at > ?",
                        (login_id, now),
                    )
                )
            row = db.execute(
                "SELECT id, code_hash FROM one_time_codes "
                "WHERE login_id = ? AND used = 0 AND expires_at > ? ORDER BY id DESC LIMIT 1",
                (login_id, now),
            ).fetchone()
            if row is None or not hmac.compare_digest(
                row["code_hash"], digest(f"{login_id}:{code.strip()}")
            ):
                return False
            db.execute("UPDATE one_time_codes SET used = 1 WHERE id = ?", (row["id"],))
            return True

    # --- web sessions ------------------------------------------------------------------------

    def new_session(
        self,
        *,
        portal_login_id: str | None = None,
        login_id: str | None = None,
        stage: Stage = "anonymous",
        replaces: str | None = None,
    ) -> Session:
        """A fresh session (new token and CSRF token); ``replaces`` is deleted (rotation)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self._tx() as db:
            if replaces is not None:
                db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (digest(replaces),))
            db.execute(
                "INSERT INTO web_sessions (token_hash, csrf_token, portal_login_id, login_id, "
                "stage) VALUES (?, ?, ?, ?, ?)",
                (digest(token), csrf, portal_login_id, login_id, stage),
            )
        return Session(
            token=token,
            csrf_token=csrf,
            portal_login_id=portal_login_id,
            login_id=login_id,
            stage=stage,
        )

    def session(self, token: str) -> Session | None:
        rows = self._read("SELECT * FROM web_sessions WHERE token_hash = ?", (digest(token),))
        if not rows:
            return None
        r = rows[0]
        return Session(
            token=token,
            csrf_token=r["csrf_token"],
            portal_login_id=r["portal_login_id"],
            login_id=r["login_id"],
            stage=r["stage"],
        )

    def set_flash(self, token: str, message: str) -> None:
        """Keep ``message`` for the session's next page (POST-redirect-GET: the notice of a
        POST is shown by the GET it redirects to)."""
        with self._tx() as db:
            db.execute(
                "UPDATE web_sessions SET flash = ? WHERE token_hash = ?", (message, digest(token))
            )

    def take_flash(self, token: str) -> str | None:
        """The session's pending flash message, removed as it is read (shown once)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT flash FROM web_sessions WHERE token_hash = ?", (digest(token),)
            ).fetchone()
            if row is None or row["flash"] is None:
                return None
            db.execute(
                "UPDATE web_sessions SET flash = NULL WHERE token_hash = ?", (digest(token),)
            )
            message: str = row["flash"]
            return message

    def end_session(self, token: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (digest(token),))


def _account(r: sqlite3.Row) -> Account:
    return Account(
        login_id=r["login_id"],
        role=r["role"],
        extension=r["extension"],
        email=r["email"],
        failed_logins=r["failed_logins"],
        locked_at=r["locked_at"],
    )
