"""Reader of the e-mails a target sends: the one-time codes of 多要素認証 (P.6).

The target's ``[mail] api`` is an HTTP URL answering ``GET`` with a JSON list of the mails sent,
oldest first: ``[{mail_from, to: [..], subject, body, time}]`` (the simulator's ``/api/mail``;
a real deployment points it at its test mailbox's listing). A bearer token is sent when the
target file gives one.

A flow takes ``mark = reader.mark()`` *before* the action that sends a code, then
``reader.wait_for_code(address, after=mark)``: only a mail that arrived after the mark counts,
so a code left over from an earlier step is never typed in. The mark is the number of mails
listed at that moment; a listing shorter than the mark means the mailbox was emptied (the
simulator's reset), and then every mail listed is new.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from harness.errors import HarnessError
from harness.target.model import MailAccess

#: How the one-time code appears in the body (harness/sim/mail.py ``otp_body``; the manual's
#: mail: 「ワンタイムパスワード: 123456」). Full-width colon and spaces are accepted too.
CODE = re.compile(r"ワンタイムパスワード\s*[:：]\s*([0-9]{4,8})\b")

#: Pause between two listings while waiting for a code.
POLL_INTERVAL = 0.05


class MailMessage(BaseModel):
    """One mail the target sent; ``time`` is wall-clock (ISO 8601 UTC on the wire)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    mail_from: str
    to: tuple[str, ...]
    subject: str
    body: str
    time: datetime

    def code(self) -> str | None:
        """The one-time code in the body, if there is one."""
        found = CODE.search(self.body)
        return found.group(1) if found else None


@dataclass(frozen=True)
class MailMark:
    """Opaque "everything listed before now" (the number of mails listed then)."""

    seen: int


_LIST = TypeAdapter(list[MailMessage])


class MailReader:
    """Reads the mails sent through the target's ``[mail] api``."""

    def __init__(self, access: MailAccess, *, timeout: float = 10.0) -> None:
        self.access = access
        headers = {"Authorization": f"Bearer {access.token}"} if access.token else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def mark(self) -> MailMark:
        return MailMark(seen=len(self._list()))

    def messages(
        self, *, to: str | None = None, after: MailMark | None = None
    ) -> list[MailMessage]:
        """The mails listed (to ``to`` when given, case-insensitively), after ``after``."""
        listed = self._list()
        if after is not None and len(listed) >= after.seen:
            listed = listed[after.seen :]
        if to is None:
            return listed
        wanted = to.casefold()
        return [m for m in listed if wanted in (r.casefold() for r in m.to)]

    def wait_for_code(self, to: str, *, after: MailMark, timeout: float = 10.0) -> str:
        """The one-time code of the newest mail to ``to`` after ``after``; polls until
        ``timeout`` real seconds have passed, then raises ``HarnessError`` saying so."""
        deadline = time.monotonic() + timeout
        while True:
            for message in reversed(self.messages(to=to, after=after)):
                code = message.code()
                if code is not None:
                    return code
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        mails = self.messages(to=to, after=after)
        found = (
            f"{len(mails)} mail(s) to it arrived but none holds 「ワンタイムパスワード: <digits>」"
            if mails
            else "no mail to it arrived"
        )
        raise HarnessError(
            f"no one-time code mailed to {to} within {timeout:g} s at {self.access.api}: {found}"
        )

    def _list(self) -> list[MailMessage]:
        where = f"the mail listing GET {self.access.api}"
        try:
            response = self._http.get(self.access.api)
        except httpx.HTTPError as error:
            raise HarnessError(f"{where} failed: {type(error).__name__}: {error}") from error
        if not response.is_success:
            hint = " (check [mail] token)" if response.status_code in (401, 403) else ""
            raise HarnessError(f"{where} → {response.status_code}{hint}: {response.text[:500]}")
        try:
            return _LIST.validate_json(response.content)
        except ValidationError as error:
            raise HarnessError(
                f"{where} answered something other than a JSON list of "
                f"{{mail_from, to, subject, body, time}}: {error}"
            ) from error
