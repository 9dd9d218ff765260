"""Loopback ports, a SIP OPTIONS probe used to wait until a peer is ready, and what a peer's
processes have bound (read from /proc, Linux only).

The probe is deliberately tiny (one request, one response line): the drivers must not depend on
the harness's own SIP core, since they exist to check that core against other implementations.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.sip.peers._process import LOOPBACK, group_members


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


# --------------------------------------------------------------------------------------------
# Sockets of a process group, from /proc

_TCP_LISTEN = "0A"


def _inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundSocket:
    """A socket a peer holds: ``protocol`` as /proc/net names it (``udp``, ``tcp``, ``udp6``,
    ``tcp6``), the local IP literal and port. Hashable, so a set of them compares."""

    protocol: str
    host: str
    port: int


def bound_addresses(pid: int) -> set[BoundSocket]:
    """Every IPv4/IPv6 UDP socket and listening TCP socket held by the process group led by
    ``pid`` (the drivers start each peer as a group leader)."""
    inodes: set[str] = set()
    for member in group_members(pid):
        try:
            inodes |= _inodes(member.pid)
        except OSError:
            continue  # a worker that just ended
    result: set[BoundSocket] = set()
    for proto in ("udp", "tcp", "udp6", "tcp6"):
        lines = Path(f"/proc/net/{proto}").read_text(encoding="ascii").splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode not in inodes or (proto.startswith("tcp") and state != _TCP_LISTEN):
                continue
            hex_ip, hex_port = local.split(":")
            if len(hex_ip) == 8:
                ip = socket.inet_ntoa(struct.pack("<I", int(hex_ip, 16)))
            else:
                words = [struct.pack("<I", int(hex_ip[i : i + 8], 16)) for i in range(0, 32, 8)]
                ip = socket.inet_ntop(socket.AF_INET6, b"".join(words))
            result.add(BoundSocket(protocol=proto, host=ip, port=int(hex_port, 16)))
    return result
