"""SIP transactions (RFC 3261 §17, with the ACCEPTED state of RFC 6026), sans-IO.

Theory of operation
-------------------
A transaction is a request, its retransmissions and its responses. There are four machines:
the INVITE client transaction (§17.1.1, figure 5), the non-INVITE client transaction
(§17.1.2, figure 6), the INVITE server transaction (§17.2.1, figure 7) and the non-INVITE
server transaction (§17.2.2, figure 8). RFC 6026 replaces "2xx → Terminated" of the INVITE
machines by an ACCEPTED state (Timers L and M) that absorbs retransmitted INVITEs and lets
retransmitted 2xx responses through to the TU, which is what makes forking and lost ACKs safe.

Each machine is *one table* below, ``TRANSITIONS[(kind, state)] = {input: next state}``, in the
style of h11's ``_state.py``. Inputs are what can happen: a response class received
(``PROVISIONAL``, ``SUCCESS``, ``FAILURE``), a response the TU sends (``SEND_…``), a request
(retransmission) or ACK received, a timer firing, a transport error. The classes around the
table only add the *outputs* of each transition (send this, deliver that, arm a timer).
A network input the table does not list for the current state is ignored (dropped, as the
RFC requires for stray responses); a TU input it does not list raises ``TransactionError``.

Nothing here reads a clock: every method takes ``now`` (seconds, any monotonic origin);
``next_deadline()`` says when ``on_timeout(now)`` must next be called. Retransmission timers
(A, E, G) run over unreliable transports only; the wait timers D, I, J, K are zero over reliable
ones (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2). Timer values: ``TimerConfig(t1, t2, t4)``,
RFC defaults T1=0.5 s, T2=4 s, T4=5 s.

Outputs are frozen dataclasses: ``SendRequest``, ``SendResponse`` (put on the wire),
``DeliverResponse``, ``DeliverRequest`` (hand to the TU), ``TransactionTimeout`` (Timer B, F
or H expired: the TU treats it as a 408), ``TransportError`` (the TU treats it as a 503) and
``TransactionTerminated`` (forget the transaction).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from harness.sip.headers import Headers
from harness.sip.message import BRANCH_MAGIC, Request, Response


class State(enum.Enum):
    """Transaction states with their RFC 3261 / RFC 6026 names."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class Kind(enum.Enum):
    """The four transaction machines."""

    INVITE_CLIENT = "INVITE client"
    NON_INVITE_CLIENT = "non-INVITE client"
    INVITE_SERVER = "INVITE server"
    NON_INVITE_SERVER = "non-INVITE server"


class Input(enum.Enum):
    """What can happen to a transaction (the table's columns)."""

    PROVISIONAL = "1xx received"
    SUCCESS = "2xx received"
    FAILURE = "300-699 received"
    FINAL = "final received"  # non-INVITE clients do not distinguish 2xx from the rest
    SEND_PROVISIONAL = "TU sends 1xx"
    SEND_SUCCESS = "TU sends 2xx"
    SEND_FAILURE = "TU sends 300-699"
    SEND_FINAL = "TU sends final"
    REQUEST = "request retransmission received"
    ACK = "ACK received"
    TIMER_A = "Timer A"
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_E = "Timer E"
    TIMER_F = "Timer F"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"
    TIMER_TRYING = "200 ms without a TU response"  # §17.2.1: send 100 Trying ourselves
    TRANSPORT_ERROR = "transport error"


S, In, K = State, Input, Kind

TRANSITIONS: dict[tuple[Kind, State], dict[Input, State]] = {
    # §17.1.1.2 (figure 5) + RFC 6026 §8.4.
    (K.INVITE_CLIENT, S.CALLING): {
        In.TIMER_A: S.CALLING,
        In.TIMER_B: S.TERMINATED,
        In.PROVISIONAL: S.PROCEEDING,
        In.SUCCESS: S.ACCEPTED,
        In.FAILURE: S.COMPLETED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
    (K.INVITE_CLIENT, S.PROCEEDING): {
        In.PROVISIONAL: S.PROCEEDING,
        In.SUCCESS: S.ACCEPTED,
        In.FAILURE: S.COMPLETED,
    },
    (K.INVITE_CLIENT, S.COMPLETED): {
        In.FAILURE: S.COMPLETED,
        In.TIMER_D: S.TERMINATED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
    (K.INVITE_CLIENT, S.ACCEPTED): {
        In.SUCCESS: S.ACCEPTED,
        In.TIMER_M: S.TERMINATED,
    },
    # §17.1.2.2 (figure 6).
    (K.NON_INVITE_CLIENT, S.TRYING): {
        In.TIMER_E: S.TRYING,
        In.TIMER_F: S.TERMINATED,
        In.PROVISIONAL: S.PROCEEDING,
        In.FINAL: S.COMPLETED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
    (K.NON_INVITE_CLIENT, S.PROCEEDING): {
        In.TIMER_E: S.PROCEEDING,
        In.TIMER_F: S.TERMINATED,
        In.PROVISIONAL: S.PROCEEDING,
        In.FINAL: S.COMPLETED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
    (K.NON_INVITE_CLIENT, S.COMPLETED): {
        In.FINAL: S.COMPLETED,
        In.PROVISIONAL: S.COMPLETED,
        In.TIMER_K: S.TERMINATED,
    },
    # §17.2.1 (figure 7) + RFC 6026 §8.5-8.7.
    (K.INVITE_SERVER, S.PROCEEDING): {
        In.REQUEST: S.PROCEEDING,
        In.TIMER_TRYING: S.PROCEEDING,
        In.SEND_PROVISIONAL: S.PROCEEDING,
        In.SEND_SUCCESS: S.ACCEPTED,
        In.SEND_FAILURE: S.COMPLETED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
    (K.INVITE_SERVER, S.COMPLETED): {
        In.REQUEST: S.COMPLETED,
        In.TIMER_G: S.COMPLETED,
        In.TIMER_H: S.TERMINATED,
        In.ACK: S.CONFIRMED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
    (K.INVITE_SERVER, S.CONFIRMED): {
        In.ACK: S.CONFIRMED,
        In.REQUEST: S.CONFIRMED,
        In.TIMER_I: S.TERMINATED,
    },
    (K.INVITE_SERVER, S.ACCEPTED): {
        In.REQUEST: S.ACCEPTED,
        In.ACK: S.ACCEPTED,
        In.SEND_SUCCESS: S.ACCEPTED,
        In.TIMER_L: S.TERMINATED,
        In.TRANSPORT_ERROR: S.ACCEPTED,
    },
    # §17.2.2 (figure 8).
    (K.NON_INVITE_SERVER, S.TRYING): {
        In.REQUEST: S.TRYING,
        In.SEND_PROVISIONAL: S.PROCEEDING,
        In.SEND_FINAL: S.COMPLETED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
    (K.NON_INVITE_SERVER, S.PROCEEDING): {
        In.REQUEST: S.PROCEEDING,
        In.SEND_PROVISIONAL: S.PROCEEDING,
        In.SEND_FINAL: S.COMPLETED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
    (K.NON_INVITE_SERVER, S.COMPLETED): {
        In.REQUEST: S.COMPLETED,
        In.TIMER_J: S.TERMINATED,
        In.TRANSPORT_ERROR: S.TERMINATED,
    },
}

# Inputs that come from the TU: an unexpected one is a bug in the caller, not in the peer.
TU_INPUTS = frozenset({In.SEND_PROVISIONAL, In.SEND_SUCCESS, In.SEND_FAILURE, In.SEND_FINAL})


class TransactionError(Exception):
    """The TU asked for something the transaction's state forbids (e.g. a second final)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerConfig:
    """T1, T2, T4 of §17.1.1.1 (seconds); every other timer derives from them."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0  # Timer D over unreliable transports: "at least 32 seconds"

    @property
    def timeout(self) -> float:
        """64*T1: Timers B, F, H, J (unreliable), L, M."""
        return 64 * self.t1


DEFAULT_TIMERS = TimerConfig()


# --- outputs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRequest:
    """Put ``request`` on the wire (initial send, retransmission, or ACK for a non-2xx)."""

    request: Request
    retransmission: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResponse:
    """Put ``response`` on the wire."""

    response: Response
    retransmission: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverResponse:
    """Hand ``response`` to the TU."""

    response: Response


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverRequest:
    """Hand ``request`` to the TU (an ACK reaching an ACCEPTED INVITE server transaction)."""

    request: Request


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTimeout:
    """Timer ``timer`` (B, F or H) expired without the awaited message."""

    timer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportError:
    """The transport reported a failure sending for this transaction."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTerminated:
    """The transaction is over; its owner should forget it."""


Event = (
    SendRequest
    | SendResponse
    | DeliverResponse
    | DeliverRequest
    | TransactionTimeout
    | TransportError
    | TransactionTerminated
)


# --- matching (§17.1.3, §17.2.3) -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionKey:
    """What identifies a transaction: top Via branch, sent-by and method (§17.2.3).

    For a pre-RFC 3261 peer (branch without the magic cookie) ``branch`` is a composite of
    Request-URI, From tag, Call-ID and CSeq number instead (§17.2.3 fallback, simplified).
    """

    branch: str
    sent_by: str
    method: str


def server_key(request: Request) -> TransactionKey:
    """The server transaction ``request`` belongs to; ACK maps to its INVITE (§17.2.3)."""
    via = request.headers.via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if not branch.startswith(BRANCH_MAGIC):
        h = request.headers
        branch = f"2543|{request.uri}|{h.from_.tag}|{h.call_id}|{h.cseq.number}|{branch}"
    return TransactionKey(branch=branch, sent_by=via.sent_by.lower(), method=method)


def cancel_target_key(cancel: Request) -> TransactionKey:
    """The INVITE server transaction a CANCEL cancels (same branch, method INVITE; §9.2)."""
    key = server_key(cancel)
    return TransactionKey(branch=key.branch, sent_by=key.sent_by, method="INVITE")


def client_key(message: Request | Response) -> TransactionKey:
    """The client transaction of a request we sent or of a response to it (§17.1.3:
    top Via branch and CSeq method; sent-by is ours, so it is left out)."""
    h = message.headers
    return TransactionKey(branch=h.via.branch or "", sent_by="", method=h.cseq.method)


# --- ACK for a non-2xx final response (§17.1.1.3) ------------------------------------


def ack_for_failure(request: Request, response: Response) -> Request:
    """The ACK an INVITE client transaction sends for a 300-699 response (§17.1.1.3).

    Same Request-URI, Call-ID, From and CSeq number as the INVITE, the To of the response
    (with its tag), only the INVITE's top Via, and the INVITE's Route headers.
    """
    src = request.headers
    items = [
        ("Via", src.get_all("Via")[0]),
        ("Max-Forwards", "70"),
        ("From", src.get("From") or ""),
        ("To", response.headers.get("To") or ""),
        ("Call-ID", src.call_id),
        ("CSeq", f"{src.cseq.number} ACK"),
    ]
    items += [("Route", v) for v in src.get_all("Route")]
    items.append(("Content-Length", "0"))
    return Request(method="ACK", uri=request.uri, headers=Headers(items))


# --- the machines ------------------------------------------------------------------------


class _Transaction:
    """Table lookup, timers and ``next_deadline`` shared by the four machines."""

    kind: Kind

    def __init__(self, request: Request, *, reliable: bool, timers: TimerConfig) -> None:
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self.state = State.TERMINATED
        self._deadlines: dict[Input, float] = {}
        self._intervals: dict[Input, float] = {}

    @property
    def terminated(self) -> bool:
        """Whether the transaction has reached TERMINATED."""
        return self.state is State.TERMINATED

    def pending_timers(self) -> dict[Input, float]:
        """The running timers and their deadlines."""
        return dict(self._deadlines)

    def next_deadline(self) -> float | None:
        """When ``on_timeout`` must next be called (``None``: no timer running)."""
        return min(self._deadlines.values(), default=None)

    def _fire(self, event: Input) -> State | None:
        """Apply ``event``; the new state, or ``None`` when it does not apply here."""
        row = TRANSITIONS.get((self.kind, self.state), {})
        target = row.get(event)
        if target is None:
            if event in TU_INPUTS:
                raise TransactionError(
                    f"{event.value} not allowed in {self.kind.value} "
                    f"transaction in state {self.state.value}"
                )
            return None
        self.state = target
        if target is State.TERMINATED:
            self._deadlines.clear()
        return target

    def _arm(self, timer: Input, now: float, delay: float) -> None:
        self._deadlines[timer] = now + delay
        self._intervals[timer] = delay

    def _wait_or_end(self, timer: Input, now: float, delay: float, out: list[Event]) -> None:
        """Arm a wait timer, or terminate at once when it is zero (reliable transport)."""
        if delay > 0:
            self._arm(timer, now, delay)
        else:
            self._fire(timer)
            out.append(TransactionTerminated())

    def on_timeout(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``, earliest first."""
        out: list[Event] = []
        while self._deadlines:
            timer, due = min(self._deadlines.items(), key=lambda item: item[1])
            if due > now:
                break
            del self._deadlines[timer]
            if self._fire(timer) is not None:
                out += self._on_timer(timer, now)
        return out

    def transport_error(self, now: float) -> list[Event]:
        """The transport failed to send for this transaction (§17.1.4, §17.2.4)."""
        if self._fire(Input.TRANSPORT_ERROR) is None:
            return []
        if self.state is State.TERMINATED:
            return [TransportError(), TransactionTerminated()]
        return [TransportError()]

    def _on_timer(self, timer: Input, now: float) -> list[Event]:
        raise NotImplementedError


class ClientTransaction(_Transaction):
    """An INVITE or non-INVITE client transaction for ``request`` (§17.1).

    ``start()`` returns the initial ``SendRequest``; then feed responses to ``receive`` and
    call ``on_timeout`` at ``next_deadline()``.
    """

    def __init__(
        self,
        request: Request,
        *,
        reliable: bool,
        now: float,
        timers: TimerConfig = DEFAULT_TIMERS,
    ) -> None:
        super().__init__(request, reliable=reliable, timers=timers)
        if request.method == "ACK":
            raise TransactionError("ACK is sent without a client transaction (§17.1.1.3)")
        self.invite = request.method == "INVITE"
        self.kind = Kind.INVITE_CLIENT if self.invite else Kind.NON_INVITE_CLIENT
        self.state = State.CALLING if self.invite else State.TRYING
        self.key = client_key(request)
        self.ack: Request | None = None
        self._started = now

    def start(self) -> list[Event]:
        """Arm Timers A/B (INVITE) or E/F and return the initial send."""
        t = self.timers
        now = self._started
        if self.invite:
            if not self.reliable:
                self._arm(Input.TIMER_A, now, t.t1)
            self._arm(Input.TIMER_B, now, t.timeout)
        else:
            if not self.reliable:
                self._arm(Input.TIMER_E, now, t.t1)
            self._arm(Input.TIMER_F, now, t.timeout)
        return [SendRequest(request=self.request)]

    def receive(self, response: Response, now: float) -> list[Event]:
        """A response matched to this transaction (by ``client_key``)."""
        if client_key(response) != self.key:
            raise TransactionError("response does not belong to this transaction (§17.1.3)")
        status = response.status
        if status < 200:
            event = Input.PROVISIONAL
        elif not self.invite:
            event = Input.FINAL
        else:
            event = Input.SUCCESS if status < 300 else Input.FAILURE
        before = self.state
        if self._fire(event) is None:
            return []
        t = self.timers
        if self.invite:
            if event is Input.PROVISIONAL:
                # Proceeding: no more retransmissions, and no Timer B (figure 5).
                self._deadlines.pop(Input.TIMER_A, None)
                self._deadlines.pop(Input.TIMER_B, None)
                return [DeliverResponse(response=response)]
            if event is Input.SUCCESS:
                if before is State.ACCEPTED:
                    return [DeliverResponse(response=response)]
                self._deadlines.clear()
                self._arm(Input.TIMER_M, now, t.timeout)
                return [DeliverResponse(response=response)]
            # FAILURE: ACK it; deliver only the first one (§17.1.1.2).
            if before is State.COMPLETED:
                assert self.ack is not None
                return [SendRequest(request=self.ack, retransmission=True)]
            self._deadlines.clear()
            self.ack = ack_for_failure(self.request, response)
            out: list[Event] = [DeliverResponse(response=response), SendRequest(request=self.ack)]
            self._wait_or_end(Input.TIMER_D, now, 0 if self.reliable else t.d, out)
            return out
        if before is State.COMPLETED:
            return []  # retransmitted response, absorbed
        if event is Input.PROVISIONAL:
            return [DeliverResponse(response=response)]
        self._deadlines.clear()
        out = [DeliverResponse(response=response)]
        self._wait_or_end(Input.TIMER_K, now, 0 if self.reliable else t.t4, out)
        return out

    def _on_timer(self, timer: Input, now: float) -> list[Event]:
        t = self.timers
        if timer is Input.TIMER_A:
            self._arm(Input.TIMER_A, now, 2 * self._intervals[Input.TIMER_A])
            return [SendRequest(request=self.request, retransmission=True)]
        if timer is Input.TIMER_E:
            if self.state is State.PROCEEDING:
                interval = t.t2
            else:
                interval = min(2 * self._intervals[Input.TIMER_E], t.t2)
            self._arm(Input.TIMER_E, now, interval)
            return [SendRequest(request=self.request, retransmission=True)]
        if timer in (Input.TIMER_B, Input.TIMER_F):
            return [TransactionTimeout(timer=timer.name[-1]), TransactionTerminated()]
        return [TransactionTerminated()]  # D, K, M


class ServerTransaction(_Transaction):
    """An INVITE or non-INVITE server transaction created for ``request`` (§17.2).

    The TU answers with ``respond``; retransmitted requests and ACKs go to ``receive``.
    With ``auto_trying`` an INVITE transaction sends 100 Trying itself when the TU has not
    responded within 200 ms (§17.2.1).
    """

    def __init__(
        self,
        request: Request,
        *,
        reliable: bool,
        now: float,
        timers: TimerConfig = DEFAULT_TIMERS,
        auto_trying: bool = True,
    ) -> None:
        super().__init__(request, reliable=reliable, timers=timers)
        if request.method == "ACK":
            raise TransactionError("an ACK does not create a server transaction (§17.2.3)")
        self.invite = request.method == "INVITE"
        self.kind = Kind.INVITE_SERVER if self.invite else Kind.NON_INVITE_SERVER
        self.state = State.PROCEEDING if self.invite else State.TRYING
        self.key = server_key(request)
        self.last_response: Response | None = None
        if self.invite and auto_trying:
            self._arm(Input.TIMER_TRYING, now, 0.2)

    def respond(self, response: Response, now: float) -> list[Event]:
        """The TU sends ``response`` through this transaction."""
        status = response.status
        if status < 200:
            event = Input.SEND_PROVISIONAL
        elif not self.invite:
            event = Input.SEND_FINAL
        else:
            event = Input.SEND_SUCCESS if status < 300 else Input.SEND_FAILURE
        before = self.state
        self._fire(event)
        self._deadlines.pop(Input.TIMER_TRYING, None)
        self.last_response = response
        out: list[Event] = [SendResponse(response=response)]
        t = self.timers
        if event is Input.SEND_SUCCESS and before is not State.ACCEPTED:
            self._arm(Input.TIMER_L, now, t.timeout)
        elif event is Input.SEND_FAILURE:
            if not self.reliable:
                self._arm(Input.TIMER_G, now, t.t1)
            self._arm(Input.TIMER_H, now, t.timeout)
        elif event is Input.SEND_FINAL:
            self._wait_or_end(Input.TIMER_J, now, 0 if self.reliable else t.timeout, out)
        return out

    def receive(self, request: Request, now: float) -> list[Event]:
        """A retransmission of the request, or an ACK, matched by ``server_key``."""
        if server_key(request) != self.key:
            raise TransactionError("request does not belong to this transaction (§17.2.3)")
        event = Input.ACK if request.method == "ACK" else Input.REQUEST
        before = self.state
        if self._fire(event) is None:
            return []
        if event is Input.ACK:
            if before is State.COMPLETED:
                self._deadlines.pop(Input.TIMER_G, None)
                self._deadlines.pop(Input.TIMER_H, None)
                out: list[Event] = []
                self._wait_or_end(Input.TIMER_I, now, 0 if self.reliable else self.timers.t4, out)
                return out
            if before is State.ACCEPTED:
                return [DeliverRequest(request=request)]
            return []
        # A retransmitted request: repeat the last response, if any (§17.2.1, §17.2.2).
        if self.last_response is None or before is State.CONFIRMED or before is State.ACCEPTED:
            return []
        return [SendResponse(response=self.last_response, retransmission=True)]

    def _on_timer(self, timer: Input, now: float) -> list[Event]:
        if timer is Input.TIMER_TRYING:
            trying = Response.for_request(self.request, 100)
            self.last_response = trying
            return [SendResponse(response=trying)]
        if timer is Input.TIMER_G:
            interval = min(2 * self._intervals[Input.TIMER_G], self.timers.t2)
            self._arm(Input.TIMER_G, now, interval)
            assert self.last_response is not None
            return [SendResponse(response=self.last_response, retransmission=True)]
        if timer is Input.TIMER_H:
            return [TransactionTimeout(timer="H"), TransactionTerminated()]
        return [TransactionTerminated()]  # I, J, L
