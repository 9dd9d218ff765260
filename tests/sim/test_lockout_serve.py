"""A lockout in a running ``serve`` (issue 10.6): logged once in serve's log with the ログインID
and the source address (never the password), and over after ``--lockout-time`` simulated seconds
on the simulator's scaled clock — here 60 simulated s at ``--time-scale 0.01``, 0.6 real s."""

from __future__ import annotations

import re
import time

import httpx

from harness.pytest_plugin.sim import start_simulator

USER = ("aaaabbbb", "ccccddd1")
WRONG = "Typed-wrong-42"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def _login(http: httpx.Client, login_id: str, password: str) -> httpx.Response:
    match = _CSRF.search(http.get("/SmartPBX/Login").text)
    assert match
    form = {"login_id": login_id, "password": password, "csrf_token": match.group(1)}
    return http.post("/SmartPBX/Login", data=form)


def test_a_lockout_is_logged_and_ends_on_the_scaled_clock() -> None:
    with (
        start_simulator(time_scale=0.01, extra_args=["--lockout-time", "60"]) as sim,
        httpx.Client(base_url=sim.base_url, timeout=30) as http,
    ):
        for _ in range(5):
            _login(http, USER[0], WRONG)
        locked = _login(http, USER[0], USER[1])
        assert "ロックされています" in locked.text and "1分後" in locked.text

        deadline = time.monotonic() + 20
        while "web account locked" not in sim.log.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "no lockout line in serve's log"
            time.sleep(0.05)
        log = sim.log.read_text(encoding="utf-8")
        # (the banner above prints the tenant's passwords on purpose: a person rehearses with them)
        [line] = [line for line in log.splitlines() if "web account locked" in line]
        assert "web account locked: ログインID 'aaaabbbb' from 127.0.0.1" in line
        assert WRONG not in log and USER[1] not in line

        while (answer := _login(http, *USER)).headers.get("location") != "/SmartPBX/User/Top":
            assert "ロックされています" in answer.text, answer.text[-500:]
            assert time.monotonic() < deadline, "still locked 20 real s after a 0.6 s lockout"
            time.sleep(0.05)
