"""Evidence of the steps: files in a folder, and Allure attachments when Allure is writing.

``FolderEvidence`` implements the ``Evidence`` protocol of :mod:`harness.flows.context`
(../shared/STYLE.md §12, pytest-playwright's ``ArtifactsRecorder``):

- ``text`` / ``png`` / ``file`` write into the folder under a safe, unique name (the name a
  person reads, with what a file system refuses replaced, numbered when it repeats) and attach
  the same content to the current Allure step when allure-pytest is installed (allure's
  ``attach`` does nothing when no listener is registered, e.g. outside pytest);
- ``watch(page)``: every web step from then on ends with a screenshot of that page, while it
  is open;
- ``after_step`` on a SIP surface (``android``, ``iphone``, ``windows``): the part of the
  phones' SIP ladder since the previous step and the phones' pcap, when the evidence was given
  the run's ``PhoneFactory`` (``phones=``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.flows.catalog import ManualStep

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from harness.target.phones import PhoneFactory

#: Surfaces whose steps drive the phones (manual_steps.yaml ``surface``).
SIP_SURFACES = frozenset({"android", "iphone", "windows"})
WEB_SURFACE = "web"
PCAP_MIME = "application/vnd.tcpdump.pcap"

_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')
_MAX_NAME = 120


class FolderEvidence:
    """Writes attachments to ``folder`` (created) and to Allure when it is active."""

    def __init__(self, folder: Path, *, phones: PhoneFactory | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.phones = phones
        self.written: list[Path] = []
        self._pages: list[Page] = []
        self._ladder_mark = phones.ladder.mark() if phones is not None else 0
        self._pcap_mark = phones.pcap_mark() if phones is not None else 0

    # -- the Evidence protocol -------------------------------------------------------------------

    def after_step(self, step: ManualStep) -> None:
        """A screenshot of every watched open page after a web step; the SIP ladder since the
        previous step and the pcap after a step on a phone that sent or received SIP."""
        if step.surface == WEB_SURFACE:
            self._pages = [page for page in self._pages if not page.is_closed()]
            for number, page in enumerate(self._pages, start=1):
                suffix = f" ({number})" if len(self._pages) > 1 else ""
                self.png(f"{step.label} screenshot{suffix}.png", page.screenshot(full_page=True))
        elif step.surface in SIP_SURFACES and self.phones is not None:
            ladder = self.phones.ladder
            text = ladder.text(since=self._ladder_mark)
            self._ladder_mark = ladder.mark()
            pcap = self.phones.pcap_since(self._pcap_mark)
            self._pcap_mark = self.phones.pcap_mark()
            if not text.strip():
                return  # the step sent and received no SIP (a screen of the app): nothing to show
            self.text(f"{step.label} SIP ladder.txt", text)
            if pcap is not None:
                self.file(f"{step.label} phones.pcap", pcap, PCAP_MIME)

    def text(self, name: str, body: str) -> None:
        path = self._path(name, ".txt")
        path.write_text(body, encoding="utf-8")
        _attach(
            body.encode("utf-8"),
            path.name,
            "text/plain" if path.suffix != ".json" else "application/json",
        )

    def file(self, name: str, path: Path, mime: str) -> None:
        target = self._path(name, path.suffix)
        shutil.copyfile(path, target)
        _attach(target.read_bytes(), target.name, mime)

    def png(self, name: str, data: bytes) -> None:
        path = self._path(name, ".png")
        path.write_bytes(data)
        _attach(data, path.name, "image/png")

    def watch(self, page: Page) -> None:
        if page not in self._pages:
            self._pages.append(page)

    # -- names -----------------------------------------------------------------------------------

    def _path(self, name: str, default_suffix: str) -> Path:
        """A file of the folder for ``name``: unsafe characters replaced, the suffix kept (or
        ``default_suffix``), ``-2``, ``-3``… when the name was already written."""
        clean = _UNSAFE.sub("_", name).strip(" .") or "evidence"
        stem, dot, suffix = clean.rpartition(".")
        if not dot or not stem or " " in suffix or len(suffix) > 5:
            stem, suffix = clean, default_suffix.lstrip(".")
        stem = stem[:_MAX_NAME]
        path = self.folder / f"{stem}.{suffix}" if suffix else self.folder / stem
        count = 1
        while path.exists() or path in self.written:
            count += 1
            path = self.folder / (f"{stem}-{count}.{suffix}" if suffix else f"{stem}-{count}")
        self.written.append(path)
        return path


def _attach(data: bytes, name: str, mime: str) -> None:
    """Attach to the running Allure test/step; nothing when allure-pytest is not installed."""
    try:
        import allure
    except ImportError:
        return
    attach: Any = allure.attach  # allure-pytest ships no type hints
    extension = name.rpartition(".")[2] if "." in name else None
    attach(data, name=name, attachment_type=mime, extension=extension)
