"""baresip (Debian ``baresip``, 1.0.0) as a real softphone, driven over its ``ctrl_tcp`` module.

The driver writes a config directory (``config``, an empty ``accounts``), starts
``baresip -4 -f <dir>`` with no terminal, connects to ctrl_tcp on a loopback free port and then
creates the phone's one user agent with the ``uanew`` command — after the control connection is
up, so that no REGISTER_OK/FAIL event can be missed. Media needs no sound card: source and
player are ``aubridge`` devices (``ausine`` would need 48 kHz, which G.711 does not run at).

Known audio (``audio_source=``, ``record_dir=``): Debian's baresip 1.0 ships ``aufile.so`` as an
audio *source* only (``audio_source aufile,<file.wav>``: 8 kHz mono S16LE for G.711; it has no
player: the module registers nothing but ``ausrc_register``), so what baresip hears
is recorded by the ``sndfile.so`` audio filter instead: with ``snd_path <dir>`` it writes one
``dump-<start time>-dec.wav`` (what it decoded, i.e. received) and one ``-enc.wav`` (what it
encoded) per call, closed when the call ends (``recordings()``).

ctrl_tcp speaks netstring-framed JSON (``len:{...},``): commands
``{"command": "dial", "params": "sip:...", "token": "7"}`` get
``{"response": true, "ok": true, "data": "...", "token": "7"}``; events arrive unasked as
``{"event": true, "type": "CALL_INCOMING", "class": "call", "peeruri": "...", ...}``.

Sockets: SIP on udp/tcp 127.0.0.1:port (baresip also opens TLS on port+1), ctrl_tcp and RTP on
127.0.0.1 (``net_interface 127.0.0.1``). One exception baresip 1.0 does not let us configure:
its DNS client (libre ``dnsc``) holds an unconnected UDP socket on the wildcard address; DNS
queries only ever go to ``dns_server 127.0.0.1:53`` and the accounts use IP addresses, so
nothing is sent off the machine. See docs/peers.md.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from harness.errors import HarnessError
from harness.sip.peers._net import free_port
from harness.sip.peers._process import (
    LOOPBACK,
    ManagedProcess,
    Peer,
    bind_failed,
    require_binary,
    tail,
)

BARESIP_BINARY = "/usr/bin/baresip"
MODULE_PATH = Path("/usr/lib/baresip/modules")
Transport = Literal["udp", "tcp"]

# Event types of baresip 1.0 (ua.c uag_event_str) that tests wait for.
REGISTER_OK = "REGISTER_OK"
REGISTER_FAIL = "REGISTER_FAIL"
CALL_INCOMING = "CALL_INCOMING"
CALL_RINGING = "CALL_RINGING"
CALL_PROGRESS = "CALL_PROGRESS"
CALL_ESTABLISHED = "CALL_ESTABLISHED"
CALL_CLOSED = "CALL_CLOSED"

_CONFIG = """\
# Written by harness.sip.peers.baresip: loopback only, no sound card, no terminal.
poll_method\t\tepoll
sip_listen\t\t{host}:{sip_port}
call_local_timeout\t120
call_max_calls\t\t4
audio_player\t\taubridge,nil
audio_source\t\t{source}
audio_alert\t\taubridge,nil
rtp_ports\t\t10000-20000
rtp_timeout\t\t0
net_interface\t\t{host}
dns_server\t\t{host}:53
module_path\t\t{module_path}
module\t\t\tg711.so
module\t\t\taubridge.so
module_tmp\t\tuuid.so
module_tmp\t\taccount.so
module_app\t\tmenu.so
module_app\t\tctrl_tcp.so
ctrl_tcp_listen\t\t{host}:{ctrl_port}
{audio}"""


@dataclass(frozen=True, kw_only=True)
class BaresipEvent:
    """One ctrl_tcp event (``{"event": true, ...}``)."""

    type: str
    event_class: str = ""
    direction: str = ""
    peer_uri: str = ""
    account_aor: str = ""
    param: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaresipEvent:
        return cls(
            type=str(data.get("type", "")),
            event_class=str(data.get("class", "")),
            direction=str(data.get("direction", "")),
            peer_uri=str(data.get("peeruri", "")),
            account_aor=str(data.get("accountaor", "")),
            param=str(data.get("param", "")),
            raw=dict(data),
        )


def netstring(payload: bytes) -> bytes:
    """``len:payload,`` (D. J. Bernstein's netstrings, as ctrl_tcp frames its JSON)."""
    return str(len(payload)).encode("ascii") + b":" + payload + b","


class NetstringDecoder:
    """Incremental netstring decoder: feed bytes, get complete payloads (TCP framing)."""

    def __init__(self, max_length: int = 1 << 20) -> None:
        self._buffer = bytearray()
        self._max = max_length

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        out: list[bytes] = []
        while True:
            colon = self._buffer.find(b":")
            if colon < 0:
                if len(self._buffer) > 20:
                    raise HarnessError("ctrl_tcp: no netstring length prefix in stream")
                return out
            prefix = bytes(self._buffer[:colon])
            if not prefix.isdigit() or int(prefix) > self._max:
                raise HarnessError(f"ctrl_tcp: bad netstring length {prefix!r}")
            length = int(prefix)
            end = colon + 1 + length
            if len(self._buffer) < end + 1:
                return out
            if self._buffer[end : end + 1] != b",":
                raise HarnessError("ctrl_tcp: netstring not terminated by ','")
            out.append(bytes(self._buffer[colon + 1 : end]))
            del self._buffer[: end + 1]


class CtrlClient:
    """A synchronous client of baresip's ctrl_tcp; a reader thread collects responses/events."""

    def __init__(self, sock: socket.socket, *, name: str) -> None:
        self._sock = sock
        self._name = name
        self._decoder = NetstringDecoder()
        self._cond = threading.Condition()
        self._responses: dict[str, Mapping[str, Any]] = {}
        self.events: list[BaresipEvent] = []
        self._cursor = 0
        self._closed = False
        self._tokens = itertools.count(1)
        self._reader = threading.Thread(target=self._read, name=f"{name}-ctrl", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    break
                for payload in self._decoder.feed(data):
                    self._dispatch(json.loads(payload))
        except (OSError, ValueError, HarnessError):
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _dispatch(self, message: Mapping[str, Any]) -> None:
        with self._cond:
            if message.get("event"):
                self.events.append(BaresipEvent.from_json(message))
            elif message.get("response"):
                self._responses[str(message.get("token", ""))] = message
            self._cond.notify_all()

    def command(self, command: str, params: str = "", *, timeout: float = 5.0) -> str:
        """Run a baresip command; returns its text output, HarnessError when it failed."""
        token = str(next(self._tokens))
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(netstring(body))
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._responses:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    why = "connection closed" if self._closed else f"no answer in {timeout:g} s"
                    raise HarnessError(f"{self._name}: command {command!r} failed: {why}")
                self._cond.wait(remaining)
            response = self._responses.pop(token)
        data = str(response.get("data", ""))
        if not response.get("ok", False):
            raise HarnessError(f"{self._name}: command {command} {params!r} refused: {data}")
        return data

    def wait_event(self, types: Iterable[str], *, timeout: float) -> BaresipEvent:
        """The next not yet consumed event of one of ``types`` (earlier others are skipped)."""
        wanted = set(types)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(self._cursor, len(self.events)):
                    if self.events[index].type in wanted:
                        self._cursor = index + 1
                        return self.events[index]
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    seen = [e.type for e in self.events[self._cursor :]]
                    why = "baresip closed the connection" if self._closed else "timed out"
                    raise HarnessError(
                        f"{self._name}: no {'/'.join(sorted(wanted))} event within "
                        f"{timeout:g} s ({why}); events since the last one taken: {seen}"
                    )
                self._cond.wait(remaining)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._reader.join(timeout=2)


def _connect(port: int, *, deadline: float, alive: Any) -> socket.socket:
    """Connect to 127.0.0.1:port once baresip listens.

    A loopback connect to a port nobody listens on can succeed by connecting the socket to
    itself (TCP simultaneous open, when the kernel picks that very port as the source): such a
    connection is dropped and retried.
    """
    while time.monotonic() < deadline and alive():
        try:
            sock = socket.create_connection((LOOPBACK, port), timeout=0.2)
        except OSError:
            time.sleep(0.01)  # polling a condition (the port listens), not a fixed wait
            continue
        if sock.getsockname() == sock.getpeername():
            sock.close()
            continue
        sock.settimeout(None)
        return sock
    raise HarnessError(f"baresip ctrl_tcp did not listen on {LOOPBACK}:{port}")


def _free_sip_port() -> int:
    """A port free for udp+tcp whose successor is free too (baresip puts TLS on port + 1)."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tls:
                tls.bind((LOOPBACK, port + 1))
        except OSError:
            continue
        return port
    raise OSError("no free loopback port pair for baresip")


class Baresip(Peer):
    """One baresip softphone with one user agent.

    With ``registrar=(host, port)`` the user agent registers ``sip:user@domain`` with digest
    (``password``) through that address as outbound proxy (``wait_registered`` says how it went)
    and calls go through it. Without, it does not register and is called directly at ``uri``.
    ``answer_mode="auto"`` answers every incoming call at once; "manual" waits for ``accept``.
    ``audio_source`` (a WAV file, 8 kHz mono 16-bit) is what it sends on every call, from the
    start of the file (silence without one); with ``record_dir`` it records what it receives.
    """

    def __init__(
        self,
        *,
        user: str = "baresip",
        domain: str | None = None,
        password: str | None = None,
        registrar: tuple[str, int] | None = None,
        transport: Transport = "udp",
        regint: int = 600,
        answer_mode: Literal["manual", "auto"] = "manual",
        workdir: Path | None = None,
        binary: str = BARESIP_BINARY,
        start_timeout: float = 10.0,
        audio_source: Path | None = None,
        record_dir: Path | None = None,
    ) -> None:
        self.user = user
        self.registrar = registrar
        self.domain = domain or (registrar[0] if registrar else LOOPBACK)
        self.password = password
        self.transport: Transport = transport
        self.regint = regint
        self.answer_mode = answer_mode
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="baresip-"))
        self.binary = binary
        self.start_timeout = start_timeout
        self.audio_source = audio_source
        self.record_dir = record_dir
        self.host = LOOPBACK
        self.port = 0
        self.ctrl_port = 0
        self._process: ManagedProcess | None = None
        self._ctrl: CtrlClient | None = None

    # ----------------------------------------------------------------------------------------
    @property
    def aor(self) -> str:
        """The address of record: what others dial to reach this phone through a registrar."""
        return f"sip:{self.user}@{self.domain}"

    @property
    def uri(self) -> str:
        """The phone's own contact address (for direct calls without a registrar)."""
        return f"sip:{self.user}@{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "baresip.log"

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def events(self) -> list[BaresipEvent]:
        """Every event received so far (evidence)."""
        return list(self._client().events)

    def account_line(self) -> str:
        """The baresip account (accounts-file syntax) this phone's user agent is made from."""
        params = [f"transport={self.transport}"]
        line = f"<{self.aor};{';'.join(params)}>"
        if self.registrar is not None:
            host, port = self.registrar
            line += f';outbound="sip:{host}:{port};transport={self.transport}"'
            line += f";regint={self.regint}"
            if self.password is not None:
                line += f";auth_user={self.user};auth_pass={self.password}"
        else:
            line += ";regint=0"
        return line + f";answermode={self.answer_mode}"

    # ----------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Start baresip, connect ctrl_tcp and create the user agent (registering if asked)."""
        binary = require_binary(self.binary, package="baresip")
        config_dir = self.workdir / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(2):
            self._write_config(config_dir)
            self._process = ManagedProcess(
                name="baresip",
                argv=[binary, "-4", "-f", str(config_dir)],
                log_path=self.log_path,
                cwd=self.workdir,
            )
            self._process.start()
            try:
                sock = _connect(
                    self.ctrl_port,
                    deadline=time.monotonic() + self.start_timeout,
                    alive=self._process.running,
                )
                break
            except HarnessError as exc:
                self._process.stop()
                if attempt == 0 and bind_failed(self.log_tail(40)):
                    continue  # a port was taken between choosing and binding it: retry
                raise HarnessError(f"{exc}; log {self.log_path}:\n{self.log_tail()}") from None
        try:
            self._ctrl = CtrlClient(sock, name=f"baresip {self.user}")
            self._ctrl.command("uanew", self.account_line())
        except HarnessError as exc:
            self.close()
            raise HarnessError(f"{exc}; log {self.log_path}:\n{self.log_tail()}") from None
        return self

    def _write_config(self, config_dir: Path) -> None:
        """Choose free ports and write ``config`` and ``accounts`` for them."""
        self.port = _free_sip_port()
        self.ctrl_port = free_port(udp=False)
        while self.ctrl_port in (self.port, self.port + 1):
            self.ctrl_port = free_port(udp=False)
        (config_dir / "config").write_text(
            _CONFIG.format(
                host=self.host,
                sip_port=self.port,
                ctrl_port=self.ctrl_port,
                module_path=MODULE_PATH,
                source="aubridge,nil"
                if self.audio_source is None
                else f"aufile,{self.audio_source}",
                audio=self._audio_modules(),
            ),
            encoding="utf-8",
        )
        (config_dir / "accounts").write_text(
            "# the user agent is created with uanew over ctrl_tcp:\n# "
            + self.account_line()
            + "\n",
            encoding="utf-8",
        )

    def _audio_modules(self) -> str:
        lines = []
        if self.audio_source is not None:
            lines.append("module\t\t\taufile.so\n")
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            lines.append("module\t\t\tsndfile.so\n")
            lines.append(f"snd_path\t\t{self.record_dir}\n")
        return "".join(lines)

    def take_recording(self, *, timeout: float = 5.0) -> Path:
        """The WAV of what baresip received on the call that just ended, moved to
        ``received-<n>.wav`` in ``record_dir`` (n counts from 1).

        Call it after CALL_CLOSED and before the next call: sndfile names its dumps by the
        call's start time to the second, so two calls in one second would share a name. The
        file is complete once baresip has closed it (its header is written on close), which is
        awaited here by watching baresip's open files (``/proc/<pid>/fd``), with a deadline.
        """
        if self.record_dir is None:
            raise HarnessError("baresip records nothing: start it with record_dir=")
        deadline = time.monotonic() + timeout
        while True:
            dumps = sorted(self.record_dir.glob("dump-*.wav"))
            decoded = [d for d in dumps if d.name.endswith("-dec.wav")]
            if len(decoded) == 1 and not self._holds_open(dumps):
                break
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"baresip: no closed recording in {self.record_dir} within {timeout:g} s "
                    f"(found {[d.name for d in dumps]}); log {self.log_path}"
                )
            time.sleep(0.02)  # polling a condition (baresip closed the file), not a fixed wait
        taken = (
            self.record_dir
            / f"received-{len(list(self.record_dir.glob('received-*.wav'))) + 1}.wav"
        )
        decoded[0].rename(taken)
        for dump in dumps:
            dump.unlink(missing_ok=True)
        return taken

    def _holds_open(self, paths: list[Path]) -> bool:
        if self.pid is None:
            return False
        wanted = {str(p.resolve()) for p in paths}
        try:
            fds = list(Path(f"/proc/{self.pid}/fd").iterdir())
        except OSError:
            return False  # baresip has exited: nothing is open
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return True
            except OSError:
                continue  # closed meanwhile
        return False

    def stop(self) -> None:
        """Quit baresip (``quit`` command, then SIGTERM) and reap it. Idempotent."""
        if self._ctrl is not None:
            try:
                self._ctrl.command("quit", timeout=1.0)
            except HarnessError:
                pass
            self._ctrl.close()
            self._ctrl = None
        if self._process is not None:
            self._process.stop(timeout=3.0)

    # ----------------------------------------------------------------------------------------
    def _client(self) -> CtrlClient:
        if self._ctrl is None:
            raise HarnessError("baresip is not running: call start() first")
        return self._ctrl

    def command(self, command: str, params: str = "") -> str:
        """Any baresip command (``reginfo``, ``listcalls``…); returns its text output."""
        return self._client().command(command, params)

    def wait_event(self, *types: str, timeout: float = 5.0) -> BaresipEvent:
        """Wait for the next event of one of ``types`` (CALL_ESTABLISHED, REGISTER_OK…)."""
        return self._client().wait_event(types, timeout=timeout)

    def wait_registered(self, *, timeout: float = 5.0) -> bool:
        """True on REGISTER_OK, False on REGISTER_FAIL (e.g. a wrong password)."""
        return self.wait_event(REGISTER_OK, REGISTER_FAIL, timeout=timeout).type == REGISTER_OK

    def dial(self, uri: str) -> None:
        """Start a call to ``uri`` (``sip:user@domain`` through the registrar, or a contact)."""
        self.command("dial", uri)

    def accept(self) -> None:
        """Answer the incoming call."""
        self.command("accept")

    def hangup(self) -> None:
        """End (or reject) the current call."""
        self.command("hangup")
