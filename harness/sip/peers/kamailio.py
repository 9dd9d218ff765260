"""Kamailio (Debian ``kamailio``) as a registrar/proxy on a free loopback port.

The configuration is ``kamailio.cfg`` beside this module, kept in the project; everything that
varies (SIP domain = digest realm, the users' database, the digest algorithm, worker count) is
passed as pre-processor defines (``-A``) and the listen sockets as ``-l``, so the file itself is
never templated. Users and passwords go into an htable loaded through ``db_text`` from a file
this driver writes, holding HA1 values only (never the plain password). With ``extensions``
(内線番号 → terminal id) the tenant's numbering is on (``-A WITH_TENANT``): calls by 内線番号,
the caller's 内線番号 as From; ``harness.target.kamailio`` builds that from a tenant folder.

Usage::

    with Kamailio(sip_domain="01234abc.smart-pbx.jp", users={"abcde20200": "Password"}) as kam:
        register_somehow(kam.host, kam.port)

The policy the configuration enforces (digest for REGISTER and for requests from local users,
anybody may call a registered user, nothing relayed elsewhere) is described in docs/peers.md.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from harness.errors import HarnessError, InputError, Problem
from harness.sip.peers._net import free_port, wait_for_options
from harness.sip.peers._process import (
    LOOPBACK,
    ManagedProcess,
    Peer,
    bind_failed,
    require_binary,
    tail,
)

KAMAILIO_BINARY = "/usr/sbin/kamailio"
KAMCMD_BINARY = "/usr/sbin/kamcmd"
MODULES_DIR = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
DigestAlgorithm = Literal["MD5", "SHA-256"]

# db_text separates columns with ':' and the htable key doubles as the digest user name, so keep
# terminal ids to the characters a SIP user part takes without escaping (RFC 3261 §25.1).
_USER_RE = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=-]{1,64}")
_EXTENSION_RE = re.compile(r"[0-9]{2,22}")
_DOMAIN_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


@dataclass(frozen=True, kw_only=True)
class RegisteredContact:
    """One contact of a user in Kamailio's location table (``kamcmd ul.lookup``)."""

    address: str
    expires: int
    user_agent: str


def parse_ul_lookup(text: str) -> list[RegisteredContact]:
    """The contacts in ``kamcmd ul.lookup location <user>`` output (binrpc text rendering)."""
    contacts: list[RegisteredContact] = []
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(": ")
        if not sep:
            continue
        if key == "Address":  # a new contact begins
            if "Address" in fields:
                contacts.append(_contact(fields))
            fields = {}
        fields[key] = value
    if "Address" in fields:
        contacts.append(_contact(fields))
    return contacts


def _contact(fields: Mapping[str, str]) -> RegisteredContact:
    return RegisteredContact(
        address=fields["Address"],
        expires=int(fields.get("Expires", "0")),
        user_agent=fields.get("User-Agent", ""),
    )


def digest_ha1(*, user: str, realm: str, password: str, algorithm: DigestAlgorithm = "MD5") -> str:
    """HA1 = H(user:realm:password) in lower-case hex (RFC 7616 §3.4.2, RFC 8760)."""
    data = f"{user}:{realm}:{password}".encode()
    if algorithm == "SHA-256":
        return hashlib.sha256(data).hexdigest()
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _htable_table(rows: Mapping[str, str]) -> str:
    """A db_text table of the htable module holding ``rows`` (key -> string value).

    key_type 0 = simple key, value_type 0 = string (htable README §2.3).
    """
    lines = [
        "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) "
        "expires(int) "
    ]
    lines += [f"{row}:{key}:0:0:{value}:0" for row, (key, value) in enumerate(rows.items(), 1)]
    return "\n".join(lines) + "\n"


def _check_names(
    names: Iterable[str], *, pattern: re.Pattern[str], where: str, rule: str
) -> list[Problem]:
    return [
        Problem(where=f"{where} › {name!r}", rule=rule, value=name)
        for name in names
        if not pattern.fullmatch(name)
    ]


def _users_table(users: Mapping[str, str], *, realm: str, algorithm: DigestAlgorithm) -> str:
    """The db_text ``users`` table: terminal id -> HA1 (never the plain password)."""
    problems = _check_names(
        users,
        pattern=_USER_RE,
        where="Kamailio users",
        rule="a terminal id is 1–64 characters of letters, digits and -_.!~*'()&=+$,;",
    )
    if problems:
        raise InputError(problems, subject="Kamailio users")
    return _htable_table(
        {
            user: digest_ha1(user=user, realm=realm, password=password, algorithm=algorithm)
            for user, password in users.items()
        }
    )


def _check_extensions(extensions: Mapping[str, str], users: Mapping[str, str]) -> None:
    """Every 内線番号 is digits and names a terminal id of ``users``; one number per terminal."""
    problems = _check_names(
        extensions,
        pattern=_EXTENSION_RE,
        where="Kamailio extensions",
        rule="a 内線番号 is 2–22 digits",
    )
    problems += [
        Problem(
            where=f"Kamailio extensions › {number!r}",
            rule="the terminal id of an extension is one of the users",
            value=terminal_id,
        )
        for number, terminal_id in extensions.items()
        if terminal_id not in users
    ]
    seen: set[str] = set()
    for number, terminal_id in extensions.items():
        if terminal_id in seen:
            problems.append(
                Problem(
                    where=f"Kamailio extensions › {number!r}",
                    rule="each terminal id has one 内線番号",
                    value=terminal_id,
                )
            )
        seen.add(terminal_id)
    if problems:
        raise InputError(problems, subject="Kamailio extensions")


class Kamailio(Peer):
    """A Kamailio process listening on udp and tcp 127.0.0.1:``port`` (and nothing else).

    ``start`` returns once the server answers an OPTIONS ping; ``stop`` terminates and reaps every
    Kamailio process. The working directory (config copy, users database, ``kamailio.log``) is
    kept as evidence: pass ``workdir`` (e.g. a pytest ``tmp_path``) or a temporary one is made.
    """

    def __init__(
        self,
        *,
        sip_domain: str = "example.invalid",
        users: Mapping[str, str] | None = None,
        extensions: Mapping[str, str] | None = None,
        algorithm: DigestAlgorithm = "MD5",
        children: int = 2,
        workdir: Path | None = None,
        binary: str = KAMAILIO_BINARY,
        start_timeout: float = 10.0,
        shm_mb: int = 64,
        port: int | None = None,
    ) -> None:
        if not _DOMAIN_RE.fullmatch(sip_domain):
            raise InputError(
                [
                    Problem(
                        where="Kamailio sip_domain",
                        rule="a host name such as "
                        "01234abc.smart-pbx.jp (letters, digits, '-' and '.')",
                        value=sip_domain,
                    )
                ],
                subject="Kamailio settings",
            )
        self.sip_domain = sip_domain
        self.users = dict(users or {})
        self.extensions = None if extensions is None else dict(extensions)
        if self.extensions is not None:
            _check_extensions(self.extensions, self.users)
        self.algorithm: DigestAlgorithm = algorithm
        self.children = children
        self.workdir = workdir
        self.binary = binary
        self.start_timeout = start_timeout
        self.shm_mb = shm_mb
        self.host = LOOPBACK
        self.port = 0
        self._fixed_port = port
        self._process: ManagedProcess | None = None
        self._ctl_socket: Path | None = None

    # ----------------------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The server's own SIP URI (what a phone puts in its outbound proxy setting)."""
        return f"sip:{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self._dir() / "kamailio.log"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)

    @property
    def ctl_socket(self) -> Path:
        """Kamailio's binrpc control socket (``kamcmd -s unix:<path>``)."""
        if self._ctl_socket is None:
            path = self._dir() / "ctl.sock"
            if len(str(path)) > 100:  # sun_path holds 108 bytes
                path = Path(tempfile.mkdtemp(prefix="kamctl-")) / "ctl.sock"
            self._ctl_socket = path
        return self._ctl_socket

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def running(self) -> bool:
        return self._process is not None and self._process.running()

    # ----------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Write the config, start Kamailio and wait until it answers OPTIONS with 200."""
        binary = require_binary(self.binary, package="kamailio")
        workdir = self._dir()
        workdir.mkdir(parents=True, exist_ok=True)
        config = self._write_config(workdir)
        for attempt in range(2):
            self.port = self._fixed_port or free_port()
            self._process = ManagedProcess(
                name="kamailio",
                argv=self._argv(binary, config, workdir),
                log_path=self.log_path,
                cwd=workdir,
            )
            self._process.start()
            status = wait_for_options(
                host=self.host,
                port=self.port,
                timeout=self.start_timeout,
                alive=self._process.running,
            )
            if status is not None:
                return self
            exited = self._process.returncode()
            self._process.stop()
            log = self.log_tail(40)
            if attempt == 0 and self._fixed_port is None and bind_failed(log):
                continue  # another process took the port between probing and binding: retry
            break
        what = (
            f"exited with status {exited}"
            if exited is not None
            else f"did not answer OPTIONS on udp {self.host}:{self.port} "
            f"within {self.start_timeout:.0f} s"
        )
        raise HarnessError(
            f"Kamailio {what} (config {config}, log {self.log_path}); log tail:\n{log}"
        )

    def stop(self) -> None:
        """Terminate Kamailio and reap it and its workers. Idempotent."""
        if self._process is not None:
            self._process.stop()

    def contacts(self, user: str) -> list[RegisteredContact]:
        """The live registrations of ``user`` (terminal id), asked over the control socket."""
        kamcmd = require_binary(KAMCMD_BINARY, package="kamailio")
        done = subprocess.run(
            [kamcmd, "-s", f"unix:{self.ctl_socket}", "ul.lookup", "location", user],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if "AOR not found" in done.stdout + done.stderr:
            return []
        if done.returncode != 0 or "error" in done.stdout[:20]:
            raise HarnessError(f"kamcmd ul.lookup {user} failed: {done.stdout}{done.stderr}")
        return parse_ul_lookup(done.stdout)

    # ----------------------------------------------------------------------------------------
    def _dir(self) -> Path:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="kamailio-"))
        return self.workdir

    def _write_config(self, workdir: Path) -> Path:
        db = workdir / "db"
        db.mkdir(exist_ok=True)
        table = _users_table(self.users, realm=self.sip_domain, algorithm=self.algorithm)
        (db / "users").write_text(table, encoding="utf-8")
        tables = ["users"]
        if self.extensions is not None:
            reverse = {terminal_id: number for number, terminal_id in self.extensions.items()}
            (db / "extensions").write_text(_htable_table(self.extensions), encoding="utf-8")
            (db / "extension_of").write_text(_htable_table(reverse), encoding="utf-8")
            tables += ["extensions", "extension_of"]
        # db_text checks the table version the htable module expects (2).
        versions = "".join(f"{row}:{name}:2\n" for row, name in enumerate(tables))
        (db / "version").write_text(
            "id(int,auto) table_name(string) table_version(int) \n" + versions, encoding="utf-8"
        )
        config = workdir / "kamailio.cfg"
        source = importlib.resources.files("harness.sip.peers").joinpath("kamailio.cfg")
        config.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        return config

    def _argv(self, binary: str, config: Path, workdir: Path) -> list[str]:
        listen = f"{self.host}:{self.port}"
        return [
            binary,
            "-DD",  # stay in the foreground as the creator process: we own and reap it
            "-E",  # log to stderr, which the driver captures in kamailio.log
            "-f",
            str(config),
            "-L",
            str(MODULES_DIR),
            "-w",
            str(workdir),
            "-Y",
            str(workdir),  # runtime dir: nothing goes to /var/run
            "-P",
            str(workdir / "kamailio.pid"),
            "-m",
            str(self.shm_mb),
            "-M",
            "8",
            "-l",
            f"udp:{listen}",
            "-l",
            f"tcp:{listen}",
            f"--alias={self.sip_domain}",
            "-A",
            f'SIP_DOMAIN="{self.sip_domain}"',
            "-A",
            f'USERS_DB_URL="text://{workdir / "db"}"',
            "-A",
            f'AUTH_ALGORITHM="{self.algorithm}"',
            "-A",
            f"CHILDREN={self.children}",
            "-A",
            f'CTL_SOCKET="unix:{self.ctl_socket}"',
            *(["-A", "WITH_TENANT"] if self.extensions is not None else []),
        ]
