"""``Simulator``: the embedded Smart PBX on ONE asyncio loop, loopback only.

Theory of operation (../shared/DESIGN.md "Concurrency"): one loop runs uvicorn (the web site
and the provisioning API), the SMTP sink for one-time codes and every attached ``Service`` (the
SIP side: registrar, PBX, PSTN side, voicemail), all over one ``Store`` and one ``Clock`` — so
a setting saved on a page is what the next call sees.

Attaching the SIP side: pass objects following the ``Service`` protocol in ``services`` (as
``serve`` does with ``harness.sim.pbx.service``). Each is started after the web site
and the mail sink are listening, with a ``ServiceContext`` (store, clock, host and the port it
should bind, ``sip_port``), and stopped in reverse order before them. A service reports the
port it bound in ``context.ports`` (key ``"sip"``), which /api/health and the ready file show.

The provisioning API needs a bearer token (``harness.sim.web.access``): ``api_token``, or a
random one (``secrets.token_urlsafe``). While the simulator runs it is also in
``api_token_path(store)`` — ``<database>.api-token`` beside the SQLite file (for the temporary
store: in its private temporary folder), mode 0600 — for the tools of the same user.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import secrets
import socket
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import uvicorn

from harness.clock import Clock
from harness.errors import InputError, Problem
from harness.sim.faults import NO_FAULTS, Faults
from harness.sim.mail import MailSink, SmtpMailer
from harness.sim.store import Store
from harness.sim.web import create_app


@dataclass
class ServiceContext:
    """What an attached service gets: the shared store and clock, where to listen."""

    store: Store
    clock: Clock
    host: str
    sip_port: int
    """The port asked for on the command line (0: pick a free one)."""
    ports: dict[str, int | None] = field(default_factory=dict)
    """Ports actually bound, by name; a service adds its own (e.g. ``ports["sip"] = 5060``)."""


class Service(Protocol):
    """A part of the simulator started and stopped with its loop (e.g. the SIP side)."""

    async def start(self, context: ServiceContext) -> None: ...

    async def stop(self) -> None: ...


def check_loopback(host: str) -> None:
    """Refuse anything but a loopback address: the simulator never listens elsewhere."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise InputError(
            [
                Problem(
                    where="--host",
                    rule="the simulator listens on loopback only: use 127.0.0.1 (or ::1)",
                    value=host,
                )
            ],
            subject="serve",
        )


def api_token_path(store: Store) -> Path:
    """Where a simulator over ``store`` writes its API token: ``<database>.api-token``."""
    return store.path.with_name(store.path.name + ".api-token")


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), replacing it atomically.

    The temporary file is created 0600 with ``O_EXCL`` (never through a planted symlink or an
    existing file's wider mode) and renamed over ``path``, so a reader sees the old file or the
    whole new one.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the simulator's owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Simulator:
    """The web site, the mail sink and attached services over ``store``, on the running loop."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        http_port: int = 0,
        smtp_port: int = 0,
        sip_port: int = 0,
        services: Iterable[Service] = (),
        api_token: str | None = None,
        faults: Faults = NO_FAULTS,
    ) -> None:
        check_loopback(host)
        self.faults = faults  # the web site's share of them (the SIP side gets its own)
        self.api_token = api_token or secrets.token_urlsafe(32)
        self.api_token_file = api_token_path(store)
        self.store = store
        self.clock = clock
        self.host = host
        self._http_port = http_port
        self.mail_sink = MailSink(clock, host=host, port=smtp_port)
        self.context = ServiceContext(store=store, clock=clock, host=host, sip_port=sip_port)
        self.services = list(services)
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._started: list[Service] = []

    @property
    def ports(self) -> dict[str, int | None]:
        return self.context.ports

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.ports['http']}"

    async def start(self) -> None:
        """Listen (HTTP, SMTP, then each service); returns once all are serving."""
        await self.mail_sink.start()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto must say TCP: asyncio sets TCP_NODELAY only on sockets whose proto is
        # IPPROTO_TCP, and without it every keep-alive response waits ~40 ms (Nagle + delayed
        # ACK) — measured in benchmarks/bench_sim_web.py.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._http_port))
        except OSError:
            sock.close()
            await self.mail_sink.stop()
            raise
        self.ports.update(http=sock.getsockname()[1], smtp=self.mail_sink.port, sip=None)
        try:
            write_private_file(self.api_token_file, self.api_token + "\n")
        except OSError as error:
            sock.close()
            await self.mail_sink.stop()
            raise InputError(
                [
                    Problem(
                        where="--db",
                        rule="the API token file beside the database cannot be written "
                        f"({error.strerror}): give a --db in a folder you can write",
                        value=str(self.api_token_file),
                    )
                ],
                subject="serve",
            ) from error
        app = create_app(
            self.store,
            self.clock,
            SmtpMailer(self.host, self.mail_sink.port),
            mail_sink=self.mail_sink,
            ports=self.ports,
            host=self.host,
            api_token=self.api_token,
            token_hint=f"serve prints it at start and writes it to {self.api_token_file}",
            faults=self.faults,
        )
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = _Uvicorn(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                await self._task
                raise OSError("the web server stopped while starting")
            await asyncio.sleep(0.01)
        for service in self.services:
            await service.start(self.context)
            self._started.append(service)

    async def stop(self) -> None:
        """Stop services (reverse order), then the web site and the mail sink."""
        while self._started:
            await self._started.pop().stop()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = None
        await self.mail_sink.stop()
        self.api_token_file.unlink(missing_ok=True)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
