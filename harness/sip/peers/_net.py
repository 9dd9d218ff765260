"""Loopback ports and a SIP OPTIONS probe used to wait until a peer is ready.

The probe is deliberately tiny (one request, one response line): the drivers must not depend on
the harness's own SIP core, since they exist to check that core against other implementations.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable

from harness.sip.peers._process import LOOPBACK


def free_port(*, udp: bool = True, tcp: bool = True) -> int:
    """A loopback port that is free for every protocol asked for at the time of the call.

    A child process binds it afterwards, so another process could take it in between; drivers
    retry their start once on a bind failure.
    """
    if not tcp:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as only_udp:
            only_udp.bind((LOOPBACK, 0))
            udp_port: int = only_udp.getsockname()[1]
            return udp_port
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK, 0))
            port: int = probe.getsockname()[1]
            if not udp:
                return port
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                    other.bind((LOOPBACK, port))
            except OSError:
                continue
            return port
    raise OSError("no free loopback port found for UDP and TCP after 50 tries")


def options_request(*, host: str, port: int, local_port: int, call_id: str) -> bytes:
    """An OPTIONS request to the server itself (no user part), RFC 3261 §11."""
    branch = "z9hG4bK" + secrets.token_hex(8)
    tag = secrets.token_hex(4)
    lines = [
        f"OPTIONS sip:{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {LOOPBACK}:{local_port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:probe@{LOOPBACK}:{local_port}>;tag={tag}",
        f"To: <sip:{host}:{port}>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:probe@{LOOPBACK}:{local_port}>",
        "Accept: application/sdp",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


def wait_for_options(
    *,
    host: str,
    port: int,
    timeout: float,
    alive: Callable[[], bool],
    accept: Callable[[int], bool] = lambda status: status == 200,
) -> int | None:
    """Send OPTIONS over UDP until a response whose status ``accept``s arrives.

    Returns the status code, or None when ``timeout`` passed or ``alive()`` became false. Each
    attempt waits up to 0.1 s for the response, so a fresh server is seen as soon as it binds.
    """
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        local_port = sock.getsockname()[1]
        sock.settimeout(0.1)
        call_id = secrets.token_hex(8) + "@probe"
        while time.monotonic() < deadline and alive():
            sock.sendto(
                options_request(host=host, port=port, local_port=local_port, call_id=call_id),
                (host, port),
            )
            status = _read_status(sock, call_id)
            if status is not None and accept(status):
                return status
    return None


def _read_status(sock: socket.socket, call_id: str) -> int | None:
    try:
        data, _ = sock.recvfrom(65535)
    except (TimeoutError, ConnectionRefusedError):
        return None
    text = data.decode("utf-8", errors="replace")
    if call_id not in text or not text.startswith("SIP/2.0 "):
        return None
    try:
        return int(text.split(" ", 2)[1])
    except (IndexError, ValueError):
        return None
