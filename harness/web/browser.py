"""Debian Chromium driven by Playwright's sync API, and nothing on the network but loopback.

No browser download is possible here, so Playwright never uses its own bundled browsers: it
launches the Debian ``chromium`` package through ``executable_path`` (../shared/DESIGN.md, "Real
components"). The arguments below are the ones that work in this container (no user namespaces,
no GPU, a small /dev/shm) and switch off every background service Chromium would otherwise
reach out to (updates, sync, safe browsing, metrics).

With ``loopback_only`` (the default, for the embedded simulator) every non-loopback request is
sent to a dead proxy on 127.0.0.1:9 and host names other than ``localhost`` do not resolve, so a
page, a redirect or Chromium itself cannot make a connection beyond loopback even by mistake.
A run against a real deployment passes ``loopback_only=False``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, BrowserType, sync_playwright

from harness.errors import HarnessError

DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
"""Where Debian's ``chromium`` package installs the browser."""

CHROMIUM_ARGS: tuple[str, ...] = (
    # The container has no user namespaces for Chromium's sandbox, no GPU, and a small /dev/shm.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # No first-run UI, no background traffic: updates, sync, QUIC probes, metrics, safe browsing.
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--dns-prefetch-disable",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
)
"""Arguments of every launch (see the module docstring for why each group is there)."""

BLACKHOLE_PROXY = "127.0.0.1:9"
"""Where non-loopback requests go when ``loopback_only``: the discard port on loopback, where
nothing listens, so a proxied request fails at once with ERR_PROXY_CONNECTION_FAILED."""


CHROMIUM_ENV = "SMARTPBX_CHROMIUM"
"""Overrides :data:`DEFAULT_CHROMIUM`; the ``--chromium`` option overrides both."""


@dataclass(frozen=True, kw_only=True)
class BrowserOptions:
    """How to launch the browser; the pytest plugin fills this from ``--chromium``/``--headed``."""

    executable: Path = field(
        default_factory=lambda: Path(os.environ.get(CHROMIUM_ENV, str(DEFAULT_CHROMIUM)))
    )
    headless: bool = True
    loopback_only: bool = True
    slow_mo_ms: float = 0
    """Delay between actions, to follow a ``--headed`` run by eye."""
    blackhole_proxy: str = BLACKHOLE_PROXY
    """host:port on loopback that receives every non-loopback request (tests point it at a
    recording server to prove nothing else is reached)."""

    def launch_args(self) -> list[str]:
        """The command-line arguments Chromium is started with."""
        if not self.loopback_only:
            return list(CHROMIUM_ARGS)
        return [
            *CHROMIUM_ARGS,
            # Only loopback bypasses the proxy; no host name but localhost resolves.
            f"--proxy-server=http://{self.blackhole_proxy}",
            "--proxy-bypass-list=127.0.0.1;localhost;[::1]",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
        ]


def find_chromium(executable: Path) -> Path:
    """The Chromium executable to launch, or a :class:`HarnessError` saying how to install it.

    A bare name (``chromium``) is looked up on ``PATH``.
    """
    candidate = executable
    if not executable.is_absolute() and len(executable.parts) == 1:
        found = shutil.which(str(executable))
        candidate = Path(found) if found else executable
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    raise HarnessError(
        f"Chromium not found at {executable}: the browser tests drive Debian's Chromium "
        "(Playwright cannot download its own browsers here). Install it with "
        "`apt-get install chromium fonts-ipafont-gothic` (or `make setup`), or point "
        f"--chromium / ${CHROMIUM_ENV} at a Chromium executable."
    )


def launch(chromium: BrowserType, options: BrowserOptions | None = None) -> Browser:
    """Launch Chromium with ``options`` (``chromium`` is a running Playwright's ``.chromium``);
    the caller closes it."""
    options = options or BrowserOptions()
    executable = find_chromium(options.executable)
    try:
        return chromium.launch(
            executable_path=executable,
            headless=options.headless,
            args=options.launch_args(),
            slow_mo=options.slow_mo_ms,
        )
    except Exception as error:  # Playwright raises its own Error with Chromium's stderr.
        raise HarnessError(f"Chromium at {executable} failed to start: {error}") from error


@contextmanager
def open_browser(options: BrowserOptions | None = None) -> Iterator[Browser]:
    """Start Playwright and Chromium, yield the browser, and stop both on exit.

    For scripts (screenshots, ``serve``-side demos); pytest uses the session fixture instead.
    """
    with sync_playwright() as playwright:
        browser = launch(playwright.chromium, options)
        try:
            yield browser
        finally:
            browser.close()
