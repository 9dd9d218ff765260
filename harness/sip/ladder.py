"""A SIP ladder as text: evidence a person reads next to the pcap (../shared/STYLE.md §12).

``LadderTap`` is a transport tap that keeps one line per message: time since the first
message, direction arrow between the two addresses, the start line, the CSeq, and whether
fault injection dropped it. ``names`` maps addresses to readable names (a phone's 内線番号,
"kamailio"…). Only the side that sent a message is shown when both sides are tapped.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from harness.sip.transport import Address, TapRecord


class LadderTap:
    """Collects ``TapRecord``s; ``text()`` renders them as a ladder."""

    def __init__(self, names: Mapping[Address, str] | None = None) -> None:
        self.names: dict[Address, str] = dict(names or {})
        self._records: list[TapRecord] = []
        self._lock = threading.Lock()

    def __call__(self, record: TapRecord) -> None:
        with self._lock:
            self._records.append(record)

    def name(self, address: Address, label: str) -> None:
        """Show ``address`` as ``label`` in the ladder."""
        self.names[address] = label

    def _label(self, address: Address) -> str:
        return self.names.get(address, str(address))

    def mark(self) -> int:
        """How many records so far: pass it as ``since`` to show only what follows."""
        with self._lock:
            return len(self._records)

    def lines(self, since: int = 0) -> list[str]:
        with self._lock:
            records = self._records[since:]
        if not records:
            return []
        start = records[0].wall_time
        seen_sent = {(r.local, r.remote, r.data) for r in records if r.direction == "sent"}
        out = []
        for record in records:
            if record.direction == "received" and not record.dropped:
                # shown once, as sent, when the sender is tapped too
                if (record.remote, record.local, record.data) in seen_sent:
                    continue
            if record.direction == "sent":
                src, dst = record.local, record.remote
            else:
                src, dst = record.remote, record.local
            head = record.data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
            cseq = _header(record.data, b"CSeq")
            lost = "  ✗ dropped" if record.dropped else ""
            out.append(
                f"{record.wall_time - start:8.3f}  {self._label(src):>22} → "
                f"{self._label(dst):<22} {record.protocol}  {head}  [{cseq}]{lost}"
            )
        return out

    def text(self, since: int = 0) -> str:
        return "\n".join(self.lines(since)) + "\n"

    def write(self, path: Path) -> Path:
        path.write_text(self.text(), encoding="utf-8")
        return path


def _header(data: bytes, name: bytes) -> str:
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        field, _, value = line.partition(b":")
        if field.strip().lower() == name.lower():
            return value.strip().decode("utf-8", "replace")
    return ""
