"""What a browser step costs: Chromium launch, a fresh context, and each page-object action.

.venv/bin/python benchmarks/bench_web_pages.py [--rounds 10]

Starts the simulator (sample tenant) and Debian Chromium, then repeats each step ``--rounds``
times in fresh contexts and prints the median and the slowest in milliseconds. These are the
building blocks of the browser suite's time (a test = context + login + a few actions).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from playwright.sync_api import Browser, Page, sync_playwright

from harness.pytest_plugin.sim import start_simulator
from harness.web.browser import BrowserOptions, launch
from harness.web.pages import AbsencePage, RingGroupPage, SettingsLoginPage

ADMIN = ("adm01234abc", "Adm1nPass01")
USER = ("aaaacccc", "ccccddd2")


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _report(name: str, samples: list[float]) -> None:
    print(f"{name:<44} median {statistics.median(samples):7.1f} ms   max {max(samples):7.1f} ms")


Record = Callable[[str, Callable[[], object]], None]


def _administrator_round(browser: Browser, base_url: str, record: Record) -> None:
    holder: dict[str, Page] = {}

    def new_page() -> None:
        context = browser.new_context(locale="ja-JP")
        context.tracing.start(snapshots=True)
        holder["page"] = context.new_page()

    record("new context (traced) + page", new_page)
    page = holder["page"]
    record("open /SmartPBX/Login", lambda: SettingsLoginPage.open(page, base_url))
    record("login (administrator)", lambda: SettingsLoginPage(page).login(*ADMIN))
    record("open 着信グループ設定", lambda: RingGroupPage.open(page, base_url))
    record(
        "add_group (順次着信, 1 member)",
        lambda: RingGroupPage(page).add_group("順次着信", "20200", ["20201"], 15),
    )
    record(
        "next + set_inbound_route",
        lambda: RingGroupPage(page).next().set_inbound_route("0312345678", "20200"),
    )
    page.context.tracing.stop()
    page.context.close()


def _user_round(browser: Browser, base_url: str, record: Record) -> None:
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    SettingsLoginPage.open(page, base_url).login(*USER)
    record("open 不在時動作設定", lambda: AbsencePage.open(page, base_url))
    record(
        "set_absence_forwarding (all fields)",
        lambda: AbsencePage(page).set_absence_forwarding(
            "090-1111-2222", {"話中": "転送", "無応答": "転送"}, 15
        ),
    )
    record("field_errors + messages", lambda: (AbsencePage(page).field_errors(),))
    record("shown() (read the whole form)", lambda: AbsencePage(page).shown())
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    steps: dict[str, list[float]] = {}

    def record(name: str, action: Callable[[], object]) -> None:
        steps.setdefault(name, []).append(_timed(action))

    with start_simulator() as sim, sync_playwright() as playwright:
        launches = []
        for _ in range(3):
            start = time.perf_counter()
            launch(playwright.chromium, BrowserOptions()).close()
            launches.append((time.perf_counter() - start) * 1000)
        _report("Chromium launch + close", launches)

        browser: Browser = launch(playwright.chromium, BrowserOptions())
        for _ in range(args.rounds):
            sim.reset()
            sim.put_settings({})
            _administrator_round(browser, sim.base_url, record)
            _user_round(browser, sim.base_url, record)
        browser.close()
    for name, samples in steps.items():
        _report(name, samples)


if __name__ == "__main__":
    main()
