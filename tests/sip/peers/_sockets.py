"""Which addresses a process has bound: read from /proc, so no tool is needed (Linux only)."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

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


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
            members.append(int(entry.name))
    return members


def bound_addresses(pid: int) -> set[tuple[str, str, int]]:
    """(proto, ip, port) of every IPv4/IPv6 UDP socket and listening TCP socket held by the
    process group led by ``pid`` (the drivers start each peer as a group leader)."""
    inodes: set[str] = set()
    for member in _group_members(pid):
        try:
            inodes |= _inodes(member)
        except OSError:
            continue  # a worker that just ended
    result: set[tuple[str, str, int]] = set()
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
            result.add((proto, ip, int(hex_port, 16)))
    return result
