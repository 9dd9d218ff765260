"""SIP dialogs (RFC 3261 §12) and the requests built around an INVITE (§9.1, §13, §17.1.1.3).

API overview::

    dialog = Dialog.from_uac(invite, response)        # §12.1.2: 1xx with tag (EARLY) or 2xx
    dialog = Dialog.from_uas(invite, response, local_target=contact_uri)   # §12.1.1
    ack = dialog.ack(invite, via=…)                   # ACK for a 2xx: CSeq of the INVITE
    bye = dialog.create_request("BYE", via=…)         # local CSeq + 1, route set, remote target
    reinvite = dialog.create_request("INVITE", via=…, body=sdp, content_type="application/sdp")
    dialog.matches(incoming)                          # in-dialog request of this dialog?
    dialog.receive_request(incoming)                  # False: out of order (answer 500, §12.2.2)
    cancel = cancel_for(invite)                       # §9.1
    ack = ack_for_failure(invite, response)           # §17.1.1.3 (the transaction does it)
    retransmit = SuccessRetransmission(ok, reliable=False, now=now)   # §13.3.1.4 UAS 2xx

A ``Dialog`` is a small mutable record (its CSeq numbers and remote target change); it reads
no clock and no socket. ``via`` is always passed in, since only the transport knows the
local address; use ``Via(...).with_param("branch", new_branch())``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from harness.sip.headers import CSeq, Headers, HeaderValue, Via
from harness.sip.message import Request, Response
from harness.sip.syntax import EMPTY_PARAMS
from harness.sip.transaction import (
    DEFAULT_TIMERS,
    SendResponse,
    TimerConfig,
    TransactionTimeout,
    ack_for_failure,
)
from harness.sip.uri import NameAddr, SipUri, Uri

__all__ = [
    "Dialog",
    "DialogId",
    "DialogState",
    "SuccessRetransmission",
    "ack_for_failure",
    "cancel_for",
]

# Methods whose requests (and 2xx responses) refresh the remote target (§12.2, RFC 3311…).
TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogId:
    """A dialog's identity (§12): the Call-ID and the two tags, ours first. Hashable."""

    call_id: str
    local_tag: str
    remote_tag: str


class DialogState(enum.Enum):
    """§12: a dialog is early (1xx with tag), confirmed (2xx) or terminated."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(kw_only=True)
class Dialog:
    """The state of §12.1: ids, sequence numbers, local/remote URIs, target and route set.

    ``local``/``remote`` are the From/To values of requests we send, tags included.
    """

    call_id: str
    local: NameAddr
    remote: NameAddr
    local_cseq: int | None
    remote_cseq: int | None
    remote_target: Uri
    route_set: tuple[NameAddr, ...] = ()
    local_target: Uri | None = None
    secure: bool = False
    state: DialogState = DialogState.CONFIRMED
    initial_local_cseq: int = 1  # the first local CSeq of a UAS dialog (§12.1.1: any value)

    @property
    def local_tag(self) -> str:
        """Our tag."""
        return self.local.tag or ""

    @property
    def remote_tag(self) -> str:
        """The peer's tag."""
        return self.remote.tag or ""

    @property
    def id(self) -> DialogId:
        """Call-ID, local tag and remote tag (§12)."""
        return DialogId(call_id=self.call_id, local_tag=self.local_tag, remote_tag=self.remote_tag)

    @staticmethod
    def _state_for(response: Response) -> DialogState:
        if 100 < response.status < 200:
            return DialogState.EARLY
        if 200 <= response.status < 300:
            return DialogState.CONFIRMED
        raise ValueError(f"a {response.status} response does not create a dialog (§12.1)")

    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a UAC gets from a 1xx (with To tag) or 2xx to ``request`` (§12.1.2)."""
        state = cls._state_for(response)
        h = response.headers
        if h.to.tag is None:
            raise ValueError("a response without To tag does not create a dialog (§12.1.2)")
        contact = h.contact
        return cls(
            call_id=h.call_id,
            local=request.headers.from_,
            remote=h.to,
            local_cseq=request.headers.cseq.number,
            remote_cseq=None,
            remote_target=contact.uri if contact else request.uri,
            route_set=tuple(reversed(h.record_routes)),
            local_target=_first_contact_uri(request),
            secure=_is_sips(request.uri),
            state=state,
        )

    @classmethod
    def from_uas(
        cls, request: Request, response: Response, *, local_target: Uri | None = None
    ) -> Dialog:
        """The dialog a UAS gets by sending ``response`` (with To tag) to ``request`` (§12.1.1)."""
        state = cls._state_for(response)
        h = request.headers
        local = response.headers.to
        if local.tag is None:
            raise ValueError("the response must carry our To tag (§12.1.1)")
        contact = h.contact
        return cls(
            call_id=h.call_id,
            local=local,
            remote=h.from_,
            local_cseq=None,
            remote_cseq=h.cseq.number,
            remote_target=contact.uri if contact else h.from_.uri,
            route_set=h.record_routes,
            local_target=local_target or _first_contact_uri(response),
            secure=_is_sips(request.uri),
            state=state,
        )

    def confirm(self, response: Response | None = None) -> None:
        """EARLY → CONFIRMED. On the UAC pass the 2xx: the route set and remote target are
        recomputed from it (§13.2.2.4)."""
        self.state = DialogState.CONFIRMED
        if response is not None:
            self.route_set = tuple(reversed(response.headers.record_routes))
            contact = response.headers.contact
            if contact is not None:
                self.remote_target = contact.uri

    def terminate(self) -> None:
        """The dialog is over (BYE sent or received, or the INVITE failed)."""
        self.state = DialogState.TERMINATED

    # --- requests we send ---------------------------------------------------------------

    def _request(
        self,
        method: str,
        cseq: int,
        via: Via,
        headers: tuple[tuple[str, HeaderValue], ...],
        body: bytes,
        content_type: str | None,
    ) -> Request:
        """§12.2.1.1: To/From/Call-ID of the dialog, Request-URI and Route from the route set."""
        uri, routes = self._routing()
        items: list[tuple[str, HeaderValue]] = [
            ("Via", via),
            ("Max-Forwards", "70"),
            ("From", self.local),
            ("To", self.remote),
            ("Call-ID", self.call_id),
            ("CSeq", CSeq(number=cseq, method=method)),
        ]
        items += [("Route", r) for r in routes]
        if method in TARGET_REFRESH and self.local_target is not None:
            items.append(("Contact", NameAddr(uri=self.local_target)))
        items += headers
        if content_type is not None:
            items.append(("Content-Type", content_type))
        items.append(("Content-Length", str(len(body))))
        return Request(method=method, uri=uri, headers=Headers(items), body=body)

    def _routing(self) -> tuple[Uri, tuple[NameAddr, ...]]:
        if not self.route_set:
            return self.remote_target, ()
        first = self.route_set[0].uri
        if isinstance(first, SipUri) and "lr" not in first.params:
            # Strict routing (§12.2.1.1): the first route becomes the Request-URI, the
            # remote target the last Route.
            uri = replace(first, params=EMPTY_PARAMS, headers="")
            return uri, (*self.route_set[1:], NameAddr(uri=self.remote_target))
        return self.remote_target, self.route_set

    def create_request(
        self,
        method: str,
        *,
        via: Via,
        headers: tuple[tuple[str, HeaderValue], ...] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A new in-dialog request (BYE, re-INVITE, INFO, UPDATE…) with the next local CSeq.

        Use ``ack`` for an ACK and ``cancel_for`` for a CANCEL: they reuse the INVITE's CSeq.
        """
        if method in ("ACK", "CANCEL"):
            raise ValueError(f"{method} reuses the INVITE's CSeq: use ack() / cancel_for()")
        if self.local_cseq is None:
            self.local_cseq = self.initial_local_cseq
        else:
            self.local_cseq += 1
        return self._request(method, self.local_cseq, via, headers, body, content_type)

    def ack(
        self,
        invite: Request,
        *,
        via: Via,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """The ACK for a 2xx to ``invite`` (§13.2.2.4): an in-dialog request with the
        INVITE's CSeq number and its credentials; a new transaction (``via``'s branch)."""
        credentials = tuple(
            (name, value)
            for name, value in invite.headers
            if name in ("Authorization", "Proxy-Authorization")
        )
        cseq = invite.headers.cseq.number
        return self._request("ACK", cseq, via, credentials, body, content_type)

    # --- requests we receive ---------------------------------------------------------------

    def matches(self, request: Request) -> bool:
        """Whether ``request`` belongs to this dialog (Call-ID, To tag = ours, From tag =
        theirs; §12.2.2)."""
        h = request.headers
        return (
            h.call_id == self.call_id
            and h.to.tag == self.local_tag
            and h.from_.tag == self.remote_tag
        )

    def matches_response(self, response: Response) -> bool:
        """Whether ``response`` (to a request we sent) belongs to this dialog."""
        h = response.headers
        return (
            h.call_id == self.call_id
            and h.from_.tag == self.local_tag
            and h.to.tag == self.remote_tag
        )

    def receive_request(self, request: Request) -> bool:
        """Account for an in-dialog request (§12.2.2). ``False`` means out of order: answer
        500 and do not process it. Target-refresh requests update the remote target."""
        if request.method not in ("ACK", "CANCEL"):
            number = request.headers.cseq.number
            if self.remote_cseq is not None and number < self.remote_cseq:
                return False
            self.remote_cseq = number
        if request.method in TARGET_REFRESH:
            contact = request.headers.contact
            if contact is not None:
                self.remote_target = contact.uri
        if request.method == "BYE":
            self.terminate()
        return True

    def receive_response(self, request: Request, response: Response) -> None:
        """Account for a response to an in-dialog request we sent: a 2xx to a target
        refresh updates the remote target (§12.2.1.2); 481/408 end the dialog (§12.2.1.2)."""
        if response.status in (481, 408):
            self.terminate()
            return
        if 200 <= response.status < 300 and request.method in TARGET_REFRESH:
            contact = response.headers.contact
            if contact is not None:
                self.remote_target = contact.uri


def _first_contact_uri(message: Request | Response) -> Uri | None:
    contact = message.headers.contact
    return contact.uri if contact else None


def _is_sips(uri: Uri) -> bool:
    return isinstance(uri, SipUri) and uri.scheme.lower() == "sips"


def cancel_for(invite: Request) -> Request:
    """The CANCEL of ``invite`` (§9.1): same Request-URI, Call-ID, From, To and CSeq number,
    only the INVITE's top Via (same branch), and its Route headers."""
    src = invite.headers
    items: list[tuple[str, HeaderValue]] = [
        ("Via", src.get_all("Via")[0]),
        ("Max-Forwards", "70"),
        ("From", src.get("From") or ""),
        ("To", src.get("To") or ""),
        ("Call-ID", src.call_id),
        ("CSeq", CSeq(number=src.cseq.number, method="CANCEL")),
    ]
    items += [("Route", v) for v in src.get_all("Route")]
    items.append(("Content-Length", "0"))
    return Request(method="CANCEL", uri=invite.uri, headers=Headers(items))


class SuccessRetransmission:
    """§13.3.1.4: the UAS core resends its 2xx to an INVITE until the ACK arrives.

    Over unreliable transports the 2xx is resent at T1, 2·T1… capped at T2; on every
    transport the UAS gives up after 64·T1, or ``give_up_after`` seconds when given
    (``TransactionTimeout(timer="2xx")``: the dialog should be ended with a BYE).
    """

    def __init__(
        self,
        response: Response,
        *,
        reliable: bool,
        now: float,
        timers: TimerConfig = DEFAULT_TIMERS,
        give_up_after: float | None = None,
    ) -> None:
        self.response = response
        self.reliable = reliable
        self.timers = timers
        wait = timers.timeout if give_up_after is None else give_up_after
        self._give_up: float | None = now + wait
        self._interval = timers.t1
        self._resend: float | None = None if reliable else now + timers.t1

    @property
    def done(self) -> bool:
        """Whether the ACK arrived or the UAS gave up."""
        return self._give_up is None

    def next_deadline(self) -> float | None:
        """When ``on_timeout`` must next be called."""
        if self._give_up is None:
            return None
        return self._give_up if self._resend is None else min(self._resend, self._give_up)

    def ack_received(self) -> None:
        """The ACK for the 2xx arrived: stop."""
        self._give_up = None
        self._resend = None

    def on_timeout(self, now: float) -> list[SendResponse | TransactionTimeout]:
        """Resend when due; report the timeout when 64·T1 passed without ACK."""
        out: list[SendResponse | TransactionTimeout] = []
        if self._give_up is None:
            return out
        if now >= self._give_up:
            self.ack_received()
            return [TransactionTimeout(timer="2xx")]
        while self._resend is not None and self._resend <= now:
            out.append(SendResponse(response=self.response, retransmission=True))
            self._interval = min(2 * self._interval, self.timers.t2)
            self._resend += self._interval
        return out
