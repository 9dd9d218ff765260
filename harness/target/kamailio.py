"""Kamailio as a real SIP target for a tenant: the first of issue 11's three target proofs.

``kamailio_target(tenant_dir, workdir)`` starts Kamailio (Debian ``kamailio``, driven by
:class:`harness.sip.peers.kamailio.Kamailio`) configured from the tenant's ご利用内容.yaml:

- registrar with digest auth: every 内線番号情報1 row's 端末ID / パスワード (HA1 only on disk),
  realm and domain = the tenant's 内線サーバアドレス;
- calls between terminals by 内線番号 (or 端末ID): the Request-URI's extension is looked up as
  the terminal's 端末ID AOR; the callee sees the caller's 内線番号 as From (the caller ID an
  internal call has, DOMAIN.md "Call routing semantics" 7); 404 for a number that is neither,
  480 for a terminal with no live registration, 403 for a caller that is not a terminal;
- nothing else: no 着信グループ, no 不在時動作, no carrier side, no web site, no mail. The target
  says so (``pbx_features = false``, verify-only, no ``[carrier]``/``[web]``/``[mail]``), and
  the suite skips what needs them with the capability named (docs/peers.md "Kamailio target").

It yields the running server, a TOML target file with the keys of ``harness.target.config``
(what ``smartpbx-harness run --target FILE`` reads) and the same ``Target`` built directly.

By hand: ``python -m harness.target.kamailio TENANT_DIR [--workdir DIR] [--transport tcp]
[--port N]`` prints the target file's path on stdout and serves until SIGINT/SIGTERM (exit 2:
bad tenant folder, 3: Kamailio did not start).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError, InputError
from harness.guide.load import load_tenant
from harness.guide.types import Tenant
from harness.sip.peers.kamailio import Kamailio
from harness.sip.resolver import Resolver
from harness.sip.transport import Address
from harness.target.config import target_file_text
from harness.target.model import SipEndpoint, SipTransport, Target

#: Kamailio runs no service timer (no ring group, no forwarding): the phones' answer delays are
#: the only timers of a run, in real seconds like any remote deployment's.
KAMAILIO_TIME_SCALE = 1.0
TARGET_FILE = "kamailio-target.toml"


@dataclass(frozen=True, kw_only=True)
class KamailioTarget:
    """A running Kamailio for ``tenant``, its target file and the ``Target`` it describes."""

    kamailio: Kamailio
    tenant: Tenant
    target: Target
    target_file: Path

    def resolver(self) -> Resolver:
        """Where phones set up as the manual says send their SIP: the 内線サーバアドレス (and
        the UNO address of Flexible InterConnect, when the tenant has one) → this Kamailio."""
        address = Address(host=self.target.sip.host, port=self.target.sip.port)
        customer = self.tenant.guide.customer
        names = [customer.sip_domain, *([customer.uno_address] if customer.uno_address else [])]
        return Resolver(entries=dict.fromkeys(names, address))


def tenant_accounts(tenant: Tenant) -> tuple[dict[str, str], dict[str, str]]:
    """The tenant's 内線番号情報1 as Kamailio's tables: ``users`` (端末ID → パスワード) and
    ``extensions`` (内線番号 → 端末ID)."""
    terminals = tenant.guide.terminals
    users = {t.terminal_id: t.password for t in terminals}
    extensions = {t.extension: t.terminal_id for t in terminals}
    return users, extensions


@contextmanager
def kamailio_target(
    tenant_dir: Path,
    workdir: Path,
    *,
    transport: SipTransport = "udp",
    port: int | None = None,
    start_timeout: float = 10.0,
) -> Iterator[KamailioTarget]:
    """Start Kamailio for the tenant folder ``tenant_dir``; stop and reap it on exit.

    Kamailio's configuration, users tables and ``kamailio.log`` go to ``workdir/kamailio`` and
    the target file to ``workdir/kamailio-target.toml`` (both kept as evidence). The start is
    bounded: Kamailio must answer OPTIONS within ``start_timeout`` seconds, else
    ``HarnessError`` with the tail of its log. A broken tenant folder is an ``InputError``
    before anything starts. Kamailio listens on udp and tcp 127.0.0.1:``port`` (default: a free
    port); ``transport`` is what the target tells terminals to use.
    """
    tenant = load_tenant(tenant_dir)
    users, extensions = tenant_accounts(tenant)
    workdir.mkdir(parents=True, exist_ok=True)
    server = Kamailio(
        sip_domain=tenant.guide.customer.sip_domain,
        users=users,
        extensions=extensions,
        workdir=workdir / "kamailio",
        start_timeout=start_timeout,
        port=port,
    )
    with server:
        target = Target(
            name=f"kamailio-{tenant.name}",
            kind="remote",
            time_scale=KAMAILIO_TIME_SCALE,
            sip=SipEndpoint(host=server.host, port=server.port, transport=transport),
            changes_settings=False,
            pbx_features=False,
        )
        target_file = workdir / TARGET_FILE
        comments = (
            f"Kamailio as the SIP server of tenant {tenant.name} (harness.target.kamailio).",
            "A plain registrar/proxy: no PBX features, no web site, carrier side or mail.",
        )
        target_file.write_text(target_file_text(target, comments=comments), encoding="utf-8")
        yield KamailioTarget(kamailio=server, tenant=tenant, target=target, target_file=target_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve Kamailio for a tenant folder until SIGINT/SIGTERM; the target file's path goes to
    stdout (one line, for scripts), a note for people to stderr."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.target.kamailio",
        description="Run Kamailio as the SIP server of a tenant and write its target file.",
    )
    parser.add_argument("tenant", type=Path, help="a tenant folder (ご利用内容.yaml)")
    parser.add_argument("--workdir", type=Path, help="config, log and target file (default: new)")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument(
        "--port",
        type=int,
        help="udp+tcp port on 127.0.0.1 (default: a free one; 5060 matches targets/kamailio.toml)",
    )
    args = parser.parse_args(argv)
    workdir: Path = args.workdir or Path(tempfile.mkdtemp(prefix="kamailio-target-"))
    stopping = threading.Event()
    try:
        with kamailio_target(
            args.tenant, workdir, transport=args.transport, port=args.port
        ) as served:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda _number, _frame: stopping.set())
            print(served.target_file, flush=True)
            print(
                f"Kamailio for {served.tenant.name} on {served.target.sip}; log "
                f"{served.kamailio.log_path}. Stop with Ctrl-C.",
                file=sys.stderr,
                flush=True,
            )
            while not stopping.wait(timeout=1.0):  # set by the signal handlers above
                pass
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    except HarnessError as exc:
        print(exc, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
