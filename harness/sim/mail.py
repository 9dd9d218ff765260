"""Mail for one-time codes: an SMTP sink (aiosmtpd) and the client that sends to it.

The sink is a real SMTP server on 127.0.0.1 (a free port unless one is given), served by the
simulator's own asyncio loop; the settings site sends each one-time code to it with smtplib
(in a worker thread, so the loop that serves the sink is never blocked), and tests read the
messages through the provisioning API (GET /api/mail). Nothing is relayed anywhere.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP

from harness.clock import Clock

SENDER = "no-reply@smart-pbx.jp"
OTP_SUBJECT = "【Arcstar Smart PBX】ワンタイムパスワードのお知らせ"


@dataclass(frozen=True, kw_only=True)
class MailMessage:
    """One message the sink received; ``time`` in simulated seconds of the simulator clock."""

    mail_from: str
    to: tuple[str, ...]
    subject: str
    body: str
    time: float


class Mailer(Protocol):
    """What the settings site uses to send a one-time code."""

    async def send_code(self, to: str, code: str) -> None: ...


def otp_body(code: str) -> str:
    return (
        "Arcstar Smart PBX Web設定変更サイトのワンタイムパスワードをお知らせします。\n\n"
        f"ワンタイムパスワード: {code}\n\n"
        "有効期限は発行から10分間です。1回のみ使用できます。\n"
    )


class _Handler:
    """aiosmtpd handler: keep every accepted message in memory."""

    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        body_part = parsed.get_body(preferencelist=("plain",))
        body = body_part.get_content() if body_part is not None else ""
        self._sink.messages.append(
            MailMessage(
                mail_from=str(envelope.mail_from),
                to=tuple(str(r) for r in envelope.rcpt_tos),
                subject=str(parsed.get("Subject", "")),
                body=str(body),
                time=self._sink.clock.now(),
            )
        )
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on 127.0.0.1 that keeps what it receives (``messages``)."""

    def __init__(self, clock: Clock, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.clock = clock
        self.host = host
        self.port = port
        self.messages: list[MailMessage] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(self)
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="smartpbx-sim", loop=loop), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def clear(self) -> None:
        self.messages.clear()


class SmtpMailer:
    """Sends one-time codes by real SMTP to ``host:port`` (the sink)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    async def send_code(self, to: str, code: str) -> None:
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = to
        message["Subject"] = OTP_SUBJECT
        message.set_content(otp_body(code))
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=10) as client:
            client.send_message(message)
