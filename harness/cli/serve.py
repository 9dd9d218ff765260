"""``smartpbx-harness serve``: run the embedded simulator until interrupted.

For a person: prints the URLs of the ビジネスポータル and the Web設定変更サイト, the
administrator's and each 端末ユーザ's credentials and the SIP domain, read from the tenant's
ご利用内容, how to read the one-time codes and how to stop; a last line when it has stopped.
For test fixtures: ``--ready-file`` receives one JSON object with the ports once everything
listens (the same line is printed to stdout, prefixed ``READY``). The ``--db`` file and the
ports are checked before anything opens (``serve_inputs``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvloop

from harness.cli.options import name_values
from harness.cli.serve_inputs import FREE_PORT_FIX, check_db, check_ports, db_lock
from harness.clock import ScaledClock
from harness.errors import HarnessError, InputError, Problem
from harness.guide.types import Tenant
from harness.sim.documents import read_tenant
from harness.sim.faults import Faults
from harness.sim.faults import listing as faults_listing
from harness.sim.pbx.config import PbxParams
from harness.sim.pbx.registrar import Algorithm, RegistrarParams
from harness.sim.pbx.service import StoreSipService
from harness.sim.server import Service, Simulator, check_loopback
from harness.sim.store import DEFAULT_LOCKOUT_THRESHOLD, DEFAULT_LOCKOUT_TIME, Store
from harness.sim.web.access import check_api_token


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the embedded Smart PBX simulator (web site, mail sink) on loopback",
        description=(
            "Run the embedded simulator until interrupted (Ctrl+C): ビジネスポータル, "
            "Web設定変更サイト, provisioning API (/api/openapi.json) and an SMTP sink for "
            "one-time codes (read them with GET /api/mail), for the tenant in --guide. "
            "A port in use, a --db another serve uses or that is no simulator database: "
            "exit 2, naming the option. --fault NAME switches on a named deviation "
            "(docs/faults.md; --list-faults prints them all)."
        ),
    )
    parser.add_argument(
        "--guide",
        type=Path,
        metavar="DIR",
        help="tenant folder holding ご利用内容.yaml (and optionally 設定.yaml); required "
        "unless --list-faults",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--http-port", type=_port, default=0, metavar="M", help="web port (default: a free one)"
    )
    parser.add_argument(
        "--smtp-port",
        type=_port,
        default=0,
        metavar="S",
        help="SMTP sink port (default: a free one)",
    )
    parser.add_argument(
        "--sip-port",
        type=_port,
        default=0,
        metavar="N",
        help="SIP port of the tenant (registrar/PBX, UDP and TCP; default: a free one)",
    )
    parser.add_argument(
        "--pstn-port",
        type=_port,
        default=0,
        metavar="P",
        help="SIP port of the carrier side, where external numbers register "
        "(UDP and TCP; default: a free one)",
    )
    parser.add_argument(
        "--digest-algorithms",
        type=_algorithms,
        default=RegistrarParams().algorithms,
        metavar="LIST",
        help="digest algorithms the registrar challenges with, in order (default MD5, which "
        "SIPp and baresip 1.0 need; SHA-256,MD5 offers SHA-256 first)",
    )
    parser.add_argument(
        "--min-expires",
        type=_min_expires,
        default=RegistrarParams().min_expires,
        metavar="S",
        help="shortest registration the registrar grants, in real seconds (default "
        f"{RegistrarParams().min_expires}; shorter Expires get 423 with Min-Expires, RFC 3261 "
        "§10.3; Asterisk's minexpiry, Kamailio's min_expires)",
    )
    parser.add_argument(
        "--time-scale",
        type=_scale,
        default=1.0,
        metavar="X",
        help="real seconds per simulated second for service timers (default 1.0; "
        "0.01 runs a 10-minute one-time code in 6 s)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="FILE",
        help="SQLite file for the settings (kept across restarts; default: a temporary file). "
        "An existing file with a tenant is reused as is; otherwise --guide is loaded. One "
        "serve per file: the running one holds FILE.lock (with its pid), a second is refused",
    )
    parser.add_argument(
        "--lockout-after",
        type=int,
        default=DEFAULT_LOCKOUT_THRESHOLD,
        metavar="K",
        help=f"lock a web account after K failed logins (default {DEFAULT_LOCKOUT_THRESHOLD})",
    )
    parser.add_argument(
        "--lockout-time",
        type=_seconds,
        default=DEFAULT_LOCKOUT_TIME,
        metavar="SECONDS",
        help="a locked web account unlocks by itself after SECONDS simulated seconds (default "
        f"{DEFAULT_LOCKOUT_TIME:g}: 15 minutes; scaled by --time-scale); the administrator "
        "unlocks a 端末ユーザ at once on アカウント設定",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop: uvloop (default; libuv I/O, ≈ 1 ms REGISTER latency where the "
        "stdlib loop queues tens of ms under load) or the standard library's asyncio",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="flip an (A) assumption of the PBX's call routing (repeatable; the same names and "
        'values as `predict --param`; docs/pbx.md "Parameters"); names: '
        + ", ".join(f.name for f in dataclasses.fields(PbxParams)),
    )
    parser.add_argument(
        "--api-token",
        type=_api_token,
        default=os.environ.get("SMARTPBX_API_TOKEN") or None,
        metavar="TOKEN",
        help="bearer token the provisioning API (/api/*) requires (default: "
        "$SMARTPBX_API_TOKEN, else a random one); printed at start and written to "
        "<db>.api-token (mode 0600; beside the temporary database without --db). A command "
        "line is visible to other local users: prefer the variable or the file",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a named fault: a realistic deviation of a real deployment, for "
        "measuring what the suite catches (repeatable; docs/faults.md; the banner, the READY "
        "line and the ready file list the active ones). An unknown name: exit 2 with the "
        "closest names",
    )
    parser.add_argument(
        "--list-faults",
        action="store_true",
        help="print every fault with its area and one-line description, then exit 0",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        metavar="F",
        help="write a JSON object with the ports here once listening (for test fixtures)",
    )
    parser.set_defaults(handler=run)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r} (0–65535)") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value} (0–65535, 0 = free port)")
    return value


def _api_token(text: str) -> str:
    if (problem := check_api_token(text)) is not None:
        raise argparse.ArgumentTypeError(f"not a usable API token: {problem}")
    return text


def _algorithms(text: str) -> tuple[Algorithm, ...]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    valid = ", ".join(a.value for a in Algorithm)
    try:
        chosen = tuple(Algorithm(name.upper()) for name in names)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown algorithm in {text!r} (valid: {valid})"
        ) from None
    if not chosen or len(set(chosen)) != len(chosen):
        raise argparse.ArgumentTypeError(f"give each of {valid} at most once, e.g. SHA-256,MD5")
    return chosen


def _min_expires(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if not 1 <= value <= RegistrarParams().max_expires:
        raise argparse.ArgumentTypeError(
            f"must be 1–{RegistrarParams().max_expires} seconds, got {value}"
        )
    return value


def _positive(what: str, example: str, rule: str) -> Callable[[str], float]:
    """An argparse type for a finite number > 0 (``what``: "a number of seconds", …)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r} (e.g. {example})") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"{rule} (and finite), got {text}")
        return value

    return parse


_seconds = _positive("a number of seconds", "900", "must be > 0 seconds")
_scale = _positive("a time scale", "1, 0.01", "time scale must be > 0")


def run(args: argparse.Namespace) -> int:
    if args.list_faults:
        print(faults_listing())
        return 0
    args.faults = Faults.named(args.fault)
    if args.guide is None:
        raise InputError(
            [
                Problem(
                    where="--guide",
                    rule="required: the tenant folder holding ご利用内容.yaml, e.g. "
                    "--guide fixtures/ご利用内容/sample",
                )
            ],
            subject="serve",
        )
    check_loopback(args.host)
    if args.lockout_after < 1:
        raise InputError(
            [Problem(where="--lockout-after", rule="at least 1", value=str(args.lockout_after))],
            subject="serve",
        )
    args.pbx_params = PbxParams().with_overrides(name_values(args.param, subject="PBX parameters"))
    tenant = read_tenant(args.guide)
    if args.db is None:
        return _run_on(args, tenant)
    check_db(args.db)
    with db_lock(args.db):
        return _run_on(args, tenant)


def _run_on(args: argparse.Namespace, tenant: Tenant) -> int:
    check_ports(
        args.host,
        {
            "--http-port": args.http_port,
            "--smtp-port": args.smtp_port,
            "--sip-port": args.sip_port,
            "--pstn-port": args.pstn_port,
        },
    )
    try:
        store = Store(args.db, lockout_threshold=args.lockout_after, lockout_time=args.lockout_time)
    except sqlite3.Error as error:
        raise InputError(
            [Problem(where=f"--db {args.db}", rule=f"cannot be used as the database ({error})")],
            subject="serve",
        ) from None
    source = str(args.guide.resolve())
    try:
        if not store.has_tenant():
            store.load_tenant(tenant, source_path=source)
        elif (held := store.tenant_summary()).source_path != source:
            # The banner's credentials come from --guide: they must be the stored tenant's.
            raise InputError(
                [
                    Problem(
                        where="--db",
                        rule=f"{args.db} holds the settings of tenant {held.name!r} loaded from "
                        f"{held.source_path}: serve it with --guide {held.source_path}, or give "
                        "another --db file",
                        value=source,
                    )
                ],
                subject="serve",
            )
        factory = uvloop.new_event_loop if args.loop == "uvloop" else None
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(_serve(args, store, tenant))
    finally:
        store.close()


async def _serve(args: argparse.Namespace, store: Store, tenant: Tenant) -> int:
    clock = ScaledClock(args.time_scale)
    services: list[Service] = [
        StoreSipService(
            pstn_port=args.pstn_port,
            algorithms=args.digest_algorithms,
            min_expires=args.min_expires,
            pbx_params=args.pbx_params,
            faults=args.faults,
        )
    ]
    simulator = Simulator(
        store,
        clock,
        host=args.host,
        http_port=args.http_port,
        smtp_port=args.smtp_port,
        sip_port=args.sip_port,
        services=services,
        api_token=args.api_token,
        faults=args.faults,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await simulator.start()
    except (OSError, HarnessError) as error:
        # check_ports found every port free, but one was taken since (or a listener failed
        # for another reason of the machine): still bad input, exit 2 like the others.
        await simulator.stop()  # what did start (the mail sink, the web site) stops again
        if not isinstance(error, OSError) and not isinstance(error.__cause__, OSError):
            raise
        raise InputError(
            [
                Problem(
                    where="--http-port/--smtp-port/--sip-port/--pstn-port",
                    rule=f"cannot listen: {error}; {FREE_PORT_FIX}",
                )
            ],
            subject="serve",
        ) from error
    try:
        ready = {
            "pid": os.getpid(),
            "base_url": simulator.base_url,
            "http": simulator.ports.get("http"),
            "smtp": simulator.ports.get("smtp"),
            "sip": simulator.ports.get("sip"),
            "pstn": simulator.ports.get("pstn"),
            "db": str(store.path),
            "time_scale": args.time_scale,
            "api_token_file": str(simulator.api_token_file),
            "faults": args.faults.names,
        }
        print(_banner(simulator, tenant, args), flush=True)
        # Everything loaded so far (modules, the app, the tenant) lives as long as the
        # process: out of the collector's sight, a full collection — which stops the SIP
        # loop — only walks what calls and registrations create (Python docs, gc.freeze).
        gc.collect()
        gc.freeze()
        print("READY " + json.dumps(ready), flush=True)
        if args.ready_file is not None:
            tmp = args.ready_file.with_suffix(args.ready_file.suffix + ".tmp")
            try:
                tmp.write_text(json.dumps(ready), encoding="utf-8")
                tmp.replace(args.ready_file)  # atomic: a reader never sees half a file
            except OSError as error:
                raise InputError(
                    [Problem(where="--ready-file", rule=f"cannot be written: {error}")],
                    subject="serve",
                ) from error
        await stop.wait()
        print("stopping…", flush=True)
    finally:
        await simulator.stop()
    print(f"Arcstar Smart PBX simulator stopped; {_kept(args, store)}", flush=True)
    return 0


def _kept(args: argparse.Namespace, store: Store) -> str:
    if args.db is None:
        return "its temporary database is discarded (--db FILE keeps the settings)"
    return f"the settings stay in {store.path} (serve --db {store.path} continues with them)"


def _changed_params(params: PbxParams) -> str:
    default = PbxParams()
    return ", ".join(
        f"{f.name}={getattr(params, f.name)}"
        for f in dataclasses.fields(params)
        if getattr(params, f.name) != getattr(default, f.name)
    )


def _banner(simulator: Simulator, tenant: Tenant, args: argparse.Namespace) -> str:
    guide = tenant.guide
    base = simulator.base_url
    sip = simulator.ports.get("sip")
    lines = [
        "Arcstar Smart PBX simulator is running (Ctrl+C to stop)",
        "",
        f"  ビジネスポータル        {base}/b-portal/login",
        f"  Web設定変更サイト       {base}/SmartPBX/Login",
        f"  provisioning API        {base}/api/openapi.json",
        f"    API token (Bearer)    {simulator.api_token}  (also in {simulator.api_token_file})",
        f"  SMTP sink (codes)       {simulator.host}:{simulator.ports.get('smtp')}",
        "  one-time codes          mailed to the SMTP sink; read them: curl -H "
        f'"Authorization: Bearer $(cat {simulator.api_token_file})" {base}/api/mail',
        f"  内線サーバアドレス      {guide.customer.sip_domain}"
        + (f"  (SIP on {simulator.host}:{sip})" if sip else "  (SIP side not attached)"),
        f"  time scale              {args.time_scale} real s per simulated s",
        f"  PBX parameters          {_changed_params(args.pbx_params) or 'DOMAIN.md defaults'}",
        f"  faults                  {', '.join(args.faults.names) or 'none'}",
        "",
        "  管理者アカウント",
        f"    ログインID {guide.admin_account.login_id}   "
        f"パスワード {guide.admin_account.password}",
        "  端末ユーザ (内線番号情報2)",
    ]
    for user in guide.terminal_users:
        lines.append(
            f"    内線 {user.extension:<8} ログインID {user.login_id:<12} "
            f"パスワード {user.password}"
        )
    lines.append(
        f"  SIP terminals (内線番号情報1): SIPサーバ/domain {guide.customer.sip_domain}, "
        f"proxy/outbound {simulator.host}:{sip} (UDP or TCP), user = 端末ID"
    )
    for terminal in guide.terminals:
        lines.append(
            f"    内線 {terminal.extension:<8} 端末ID {terminal.terminal_id:<14} "
            f"パスワード {terminal.password}   ({terminal.terminal_kind.value})"
        )
    pstn = simulator.ports.get("pstn")
    if pstn:
        numbers = ", ".join(line.external_number for line in guide.external_lines)
        lines += [
            "  PSTN side (external phones)",
            f"    register any phone number, no password, at sip:<number>@{simulator.host}:{pstn}",
            f"    then call a 外線番号 of the tenant ({numbers}) as sip:<外線番号>@"
            f"{simulator.host}:{pstn} (184 prefix = 非通知)",
        ]
    lines += ["", f"Stop with Ctrl+C (or SIGTERM); {_kept(args, simulator.store)}."]
    return "\n".join(lines)
