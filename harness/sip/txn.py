"""Interim transaction state machines used by the endpoint (RFC 3261 §17), sans-IO.

The project's transaction layer is the core's ``harness.sip.transaction`` (branch
``sipcore``); until it lands, the endpoint drives these small equivalents, written in the same
shape (pure: ``now`` in, outputs and ``next_deadline()`` out) so the swap is local to
``harness.sip.endpoint``. Each method returns a list of outputs: ``Send`` bytes on the
transaction's transport, or ``Deliver`` a response to the transaction user (timeouts and
transport errors deliver a synthesised 408 / 503, §8.1.3.1).

Timers (real seconds, RFC values): T1 = 0.5, T2 = 4, T4 = 5.

- INVITE client (§17.1.1): CALLING resends at A = T1, 2T1, … until a response or B = 64*T1;
  PROCEEDING on 1xx; a 2xx terminates (the TU ACKs); 300–699 → ACK, COMPLETED for D = 32 s
  (resend the ACK for each retransmitted final) — D is 0 over TCP.
- non-INVITE client (§17.1.2): TRYING resends at E = T1, doubling to T2 (T2 once PROCEEDING),
  F = 64*T1 gives 408; final → COMPLETED for K = T4 (0 over TCP).
- INVITE server (§17.2.1): retransmitted INVITEs get the last response again; a 2xx
  moves to ACCEPTED for L = 64*T1 (RFC 6026; the TU retransmits the 2xx); 300–699 → COMPLETED, resent at G = T1 doubling to T2
  until the ACK (→ CONFIRMED for I = T4) or H = 64*T1.
- non-INVITE server (§17.2.2): retransmitted requests get the last response again; final →
  COMPLETED for J = 64*T1 (0 over TCP).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.sip.message import Request, Response

T1 = 0.5
T2 = 4.0
T4 = 5.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Send:
    data: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class Deliver:
    response: Response


Output = Send | Deliver


def synthesised(request: Request, status: int, reason: str) -> Response:
    """A final response the client transaction makes up itself (timeout, transport error)."""
    return Response.for_request(request, status, reason)


class _Timed:
    """A transaction with at most two pending deadlines: retransmit and give-up."""

    def __init__(self) -> None:
        self.state = ""
        self.retransmit_at: float | None = None
        self.give_up_at: float | None = None

    @property
    def terminated(self) -> bool:
        return self.state == "TERMINATED"

    def next_deadline(self) -> float | None:
        deadlines = [d for d in (self.retransmit_at, self.give_up_at) if d is not None]
        return min(deadlines) if deadlines else None

    def _terminate(self) -> None:
        self.state = "TERMINATED"
        self.retransmit_at = self.give_up_at = None


class InviteClient(_Timed):
    def __init__(self, request: Request, data: bytes, *, reliable: bool, now: float) -> None:
        super().__init__()
        self.request, self.data, self.reliable = request, data, reliable
        self.state = "CALLING"
        self.interval = T1
        self.retransmit_at = None if reliable else now + T1
        self.give_up_at = now + 64 * T1
        self.ack: bytes | None = None

    def start(self) -> list[Output]:
        return [Send(data=self.data)]

    def receive(self, response: Response, *, ack: bytes | None, now: float) -> list[Output]:
        """``ack``: the ACK to send for a 300–699 (built by the caller, §17.1.1.3)."""
        if self.state in ("CALLING", "PROCEEDING"):
            if response.status < 200:
                self.state = "PROCEEDING"
                self.retransmit_at = None
                self.give_up_at = None
                return [Deliver(response=response)]
            if response.status < 300:
                self._terminate()
                return [Deliver(response=response)]
            self.ack = ack
            self.state = "COMPLETED"
            self.retransmit_at = None
            self.give_up_at = now + (0.0 if self.reliable else 32.0)
            out: list[Output] = [Deliver(response=response)]
            if ack is not None:
                out.insert(0, Send(data=ack))
            return out
        if self.state == "COMPLETED" and response.status >= 300 and self.ack is not None:
            return [Send(data=self.ack)]
        return []

    def timer(self, now: float) -> list[Output]:
        if self.give_up_at is not None and now >= self.give_up_at:
            timed_out = self.state == "CALLING"
            self._terminate()
            if timed_out:
                return [Deliver(response=synthesised(self.request, 408, "Request Timeout"))]
            return []
        if self.retransmit_at is not None and now >= self.retransmit_at:
            self.interval *= 2
            self.retransmit_at = now + self.interval
            return [Send(data=self.data)]
        return []

    def transport_error(self) -> list[Output]:
        if self.state in ("CALLING", "PROCEEDING"):
            self._terminate()
            return [Deliver(response=synthesised(self.request, 503, "Service Unavailable"))]
        self._terminate()
        return []


class NonInviteClient(_Timed):
    def __init__(self, request: Request, data: bytes, *, reliable: bool, now: float) -> None:
        super().__init__()
        self.request, self.data, self.reliable = request, data, reliable
        self.state = "TRYING"
        self.interval = T1
        self.retransmit_at = None if reliable else now + T1
        self.give_up_at = now + 64 * T1

    def start(self) -> list[Output]:
        return [Send(data=self.data)]

    def receive(self, response: Response, *, now: float) -> list[Output]:
        if self.state not in ("TRYING", "PROCEEDING"):
            return []
        if response.status < 200:
            self.state = "PROCEEDING"
            return [Deliver(response=response)]
        self.state = "COMPLETED"
        self.retransmit_at = None
        self.give_up_at = now + (0.0 if self.reliable else T4)
        return [Deliver(response=response)]

    def timer(self, now: float) -> list[Output]:
        if self.give_up_at is not None and now >= self.give_up_at:
            timed_out = self.state in ("TRYING", "PROCEEDING")
            self._terminate()
            if timed_out:
                return [Deliver(response=synthesised(self.request, 408, "Request Timeout"))]
            return []
        if self.retransmit_at is not None and now >= self.retransmit_at:
            self.interval = T2 if self.state == "PROCEEDING" else min(self.interval * 2, T2)
            self.retransmit_at = now + self.interval
            return [Send(data=self.data)]
        return []

    def transport_error(self) -> list[Output]:
        live = self.state in ("TRYING", "PROCEEDING")
        self._terminate()
        if live:
            return [Deliver(response=synthesised(self.request, 503, "Service Unavailable"))]
        return []


class InviteServer(_Timed):
    def __init__(self, *, reliable: bool) -> None:
        super().__init__()
        self.reliable = reliable
        self.state = "PROCEEDING"
        self.last: bytes | None = None
        self.interval = T1

    def respond(self, status: int, data: bytes, *, now: float) -> list[Output]:
        if self.state != "PROCEEDING":
            return []
        self.last = data
        if status >= 300:
            self.state = "COMPLETED"
            self.retransmit_at = None if self.reliable else now + T1
            self.give_up_at = now + 64 * T1
        elif status >= 200:
            # RFC 6026 ACCEPTED: the TU retransmits the 2xx (§13.3.1.4); INVITE
            # retransmissions are absorbed until Timer L = 64*T1.
            self.state = "ACCEPTED"
            self.give_up_at = now + 64 * T1
        return [Send(data=data)]

    def retransmission(self) -> list[Output]:
        """The INVITE came again: resend the last response (absorbed when ACCEPTED)."""
        if self.state in ("PROCEEDING", "COMPLETED") and self.last is not None:
            return [Send(data=self.last)]
        return []

    def ack(self, now: float) -> list[Output]:
        if self.state == "COMPLETED":
            self.state = "CONFIRMED"
            self.retransmit_at = None
            self.give_up_at = now + (0.0 if self.reliable else T4)
        return []

    def timer(self, now: float) -> list[Output]:
        if self.give_up_at is not None and now >= self.give_up_at:
            self._terminate()
            return []
        if self.retransmit_at is not None and now >= self.retransmit_at and self.last:
            self.interval = min(self.interval * 2, T2)
            self.retransmit_at = now + self.interval
            return [Send(data=self.last)]
        return []


class NonInviteServer(_Timed):
    def __init__(self, *, reliable: bool) -> None:
        super().__init__()
        self.reliable = reliable
        self.state = "TRYING"
        self.last: bytes | None = None

    def respond(self, status: int, data: bytes, *, now: float) -> list[Output]:
        if self.state in ("COMPLETED", "TERMINATED"):
            return []
        self.last = data
        if status >= 200:
            self.state = "COMPLETED"
            self.give_up_at = now + (0.0 if self.reliable else 64 * T1)
        else:
            self.state = "PROCEEDING"
        return [Send(data=data)]

    def retransmission(self) -> list[Output]:
        if self.state in ("PROCEEDING", "COMPLETED") and self.last is not None:
            return [Send(data=self.last)]
        return []

    def timer(self, now: float) -> list[Output]:
        if self.give_up_at is not None and now >= self.give_up_at:
            self._terminate()
        return []
