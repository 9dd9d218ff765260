"""Is the target there? Checked once before any test, so an unreachable deployment stops the
run with exit 3 naming the surface and the address, instead of every check failing alone.

- SIP proxy and carrier side: one OPTIONS (RFC 3261 §11) built with ``harness.sip.message``
  over the endpoint's transport; *any* SIP response counts (a 401/407/404 from a server that
  wants authentication is still a server). UDP retransmits at doubling intervals from 0.1 s
  (§17.1.2.1's Timer E, scaled down) until ``timeout``.
- web: ``GET base_url``; any HTTP response counts.
- mail (and voicemail): ``GET api`` with the token; it must answer 2xx with JSON, since that
  is what the run will read (a 401 means a wrong ``token``).

The surfaces are probed in parallel, so the whole check takes at most about ``timeout``.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from harness.errors import HarnessError
from harness.sip.message import (
    Request,
    Response,
    StreamParser,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
)
from harness.sip.syntax import SipParseError
from harness.target.model import SipEndpoint, Target


@dataclass(frozen=True, kw_only=True)
class Unreached:
    """One surface that did not answer: what (sip, carrier, web, mail…), where, what happened."""

    surface: str
    address: str
    detail: str

    def __str__(self) -> str:
        return f"{self.surface} at {self.address}: {self.detail}"


class TargetUnreachable(HarnessError):
    """The target cannot be reached (exit 3): names each surface, its address and the error."""

    def __init__(self, target: str, unreached: list[Unreached]) -> None:
        self.target = target
        self.unreached = list(unreached)
        lines = "\n".join(f"  - {u}" for u in self.unreached)
        super().__init__(
            f"target {target!r} is not reachable; check that it runs and that the target "
            f"file's addresses are right:\n{lines}"
        )


def require_reachable(target: Target, *, timeout: float = 3.0) -> None:
    """Raise ``TargetUnreachable`` unless every surface the target names answers."""
    checks: list[tuple[str, str, str | None]] = [("sip", str(target.sip), None)]
    if target.carrier is not None:
        checks.append(("carrier", str(target.carrier), None))
    if target.web_base_url is not None:
        checks.append(("web", target.web_base_url, None))
    if target.mail is not None:
        checks.append(("mail", target.mail.api, target.mail.token))
    if target.voicemail_api is not None:
        checks.append(("voicemail", target.voicemail_api, target.voicemail_token))

    def probe(surface: str, address: str, token: str | None) -> Unreached | None:
        if surface == "sip":
            detail = sip_options(target.sip, timeout=timeout)
        elif surface == "carrier":
            assert target.carrier is not None
            detail = sip_options(target.carrier, timeout=timeout)
        else:
            detail = _http(address, token=token, listing=surface != "web", timeout=timeout)
        return (
            None if detail is None else Unreached(surface=surface, address=address, detail=detail)
        )

    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="probe") as pool:
        results = list(pool.map(lambda check: probe(*check), checks))
    unreached = [r for r in results if r is not None]
    if unreached:
        raise TargetUnreachable(target.name, unreached)


def sip_options(endpoint: SipEndpoint, *, timeout: float) -> str | None:
    """None when any SIP response to an OPTIONS came back, else what happened."""
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    try:
        if endpoint.transport == "tcp":
            return _tcp_options(endpoint, family, timeout)
        return _udp_options(endpoint, family, timeout)
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror or error}"


def _options(endpoint: SipEndpoint, local: tuple[str, int], call_id: str) -> bytes:
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    local_host = f"[{local[0]}]" if ":" in local[0] else local[0]
    proto = endpoint.transport.upper()
    request = Request.build(
        "OPTIONS",
        f"sip:{host}:{endpoint.port};transport={endpoint.transport}",
        from_=f"<sip:probe@{local_host}:{local[1]}>;tag={new_tag()}",
        to=f"<sip:{host}:{endpoint.port}>",
        call_id=call_id,
        cseq=1,
        via=f"SIP/2.0/{proto} {local_host}:{local[1]};branch={new_branch()};rport",
        headers=(("Accept", "application/sdp"),),
    )
    return bytes(request)


def _answers(message: object, call_id: str) -> bool:
    return isinstance(message, Response) and message.headers.get("Call-ID") == call_id


def _udp_options(endpoint: SipEndpoint, family: socket.AddressFamily, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    call_id = new_call_id()
    interval = 0.1
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((endpoint.host, endpoint.port))
        data = _options(endpoint, sock.getsockname()[:2], call_id)
        while (left := deadline - time.monotonic()) > 0:
            sock.send(data)
            wait_until = time.monotonic() + min(interval, left)
            interval *= 2
            while (wait := wait_until - time.monotonic()) > 0:
                sock.settimeout(wait)
                try:
                    reply = sock.recv(65535)
                except TimeoutError:
                    break
                except ConnectionRefusedError:
                    return "connection refused (ICMP port unreachable): nothing listens on UDP"
                try:
                    if _answers(parse_message(reply), call_id):
                        return None
                except SipParseError:
                    continue
    return f"no SIP response to OPTIONS over UDP within {timeout:g} s"


def _tcp_options(endpoint: SipEndpoint, family: socket.AddressFamily, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    call_id = new_call_id()
    with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as sock:
        sock.sendall(_options(endpoint, sock.getsockname()[:2], call_id))
        parser = StreamParser()
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65535)
            except TimeoutError:
                break
            if not chunk:
                return "the server closed the TCP connection without a SIP response"
            try:
                if any(_answers(m, call_id) for m in parser.feed(chunk)):
                    return None
            except SipParseError as error:
                return f"the answer is not SIP: {error}"
    return f"no SIP response to OPTIONS over TCP within {timeout:g} s"


def _http(url: str, *, token: str | None, listing: bool, timeout: float) -> str | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if not listing:
        return None
    if response.status_code in (401, 403):
        return f"HTTP {response.status_code}: the token is missing or wrong (check the token key)"
    if not response.is_success:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        response.json()
    except ValueError:
        return "the answer is not JSON (expected a JSON list)"
    return None
