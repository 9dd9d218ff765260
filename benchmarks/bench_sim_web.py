"""The simulator's web side, measured over real HTTP against `serve` (a subprocess).

.venv/bin/python benchmarks/bench_sim_web.py [--seconds 2]

Prints: settings-site logins per second (argon2id verify, memory-hard by design), page views
per second, settings changes per second through the 不在時動作設定 form (validate + one SQLite
transaction), PUT /api/settings per second, and in-process routing_snapshot() reads per second
(what the SIP side does per call).
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from harness.pytest_plugin.sim import SAMPLE_GUIDE, start_simulator
from harness.sim.documents import read_tenant
from harness.sim.store import Store

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def rate(name: str, seconds: float, action: Callable[[], object]) -> None:
    action()  # warm-up
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        action()
        count += 1
    print(f"{name:<44} {count / elapsed:9.1f} /s   ({1000 * elapsed / count:7.2f} ms each)")


def token(client: httpx.Client) -> str:
    match = _CSRF.search(client.get("/SmartPBX/Login").text)
    assert match
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    with start_simulator(SAMPLE_GUIDE) as sim:
        anonymous = httpx.Client(base_url=sim.base_url)

        def login() -> None:
            response = anonymous.post(
                "/SmartPBX/Login",
                data={
                    "csrf_token": token(anonymous),
                    "login_id": "aaaabbbb",
                    "password": "ccccddd1",
                },
            )
            assert response.status_code == 303

        rate("login (GET form + POST, argon2id verify)", args.seconds, login)
        user = httpx.Client(base_url=sim.base_url)
        user.post(
            "/SmartPBX/Login",
            data={"csrf_token": token(user), "login_id": "aaaabbbb", "password": "ccccddd1"},
        )
        rate("GET /SmartPBX/User/Absence", args.seconds, lambda: user.get("/SmartPBX/User/Absence"))
        csrf = token(user)
        times = iter(range(10**9))

        def change() -> None:
            ring = 5 + next(times) % 26
            form = {
                "csrf_token": csrf,
                "enabled": "設定",
                "kind": "転送/留守番電話",
                "forward_to": "09011112222",
                "no_answer": "転送",
                "ring_time": str(ring),
            }
            assert "設定しました" in user.post("/SmartPBX/User/Absence", data=form).text

        rate("POST 不在時動作設定 (validate + commit)", args.seconds, change)
        document = sim.settings()
        rate("PUT /api/settings (whole document)", args.seconds, lambda: sim.put_settings(document))
        anonymous.close()
        user.close()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bench.sqlite3"
        store = Store(path)
        store.load_tenant(read_tenant(SAMPLE_GUIDE))
        rate("store.routing_snapshot() in process", args.seconds, store.routing_snapshot)
        store.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
