"""pcap evidence of SIP traffic (../shared/STYLE.md §12): a transport tap writing a pcap file.

Theory of operation: transports hand every message they send or receive to their taps as a
``TapRecord`` (bytes, both addresses, wall-clock time). ``PcapTap`` synthesises the IP and UDP
(or TCP) headers around those bytes with the real loopback addresses and ports, so
``tshark -r file -Y sip`` and Wireshark's SIP call-flow view decode the file as if it had been
captured on ``lo``. TCP segments get consistent per-flow sequence and acknowledgement numbers so
the dissector reassembles messages split across reads. Datagrams dropped by fault injection are
not written (they never reached the wire); the ladder in the tap records still shows them.

One tap may serve several transports (a phone's UDP and TCP, or every phone of a test); when
both ends of a conversation are tapped into the same file each message appears twice (once
sent, once received), as in a capture on ``lo``; tap one side only to avoid that.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.sip.transport import Address, TapRecord

#: Bytes of a classic pcap file's global header; records follow it.
PCAP_HEADER_SIZE = 24


class PcapTap:
    """A ``Tap`` that appends every record to the pcap file at ``path`` (created/truncated).

    Call ``close()`` (or use as a context manager) to flush the file; writes are synchronous
    so the file is complete whenever the tap is closed.
    """

    def __init__(self, path: Path | str) -> None:
        # scapy is heavy to import (about a second): only pay for it when a capture is asked
        # for, and here, in the caller's thread, never on the event loop inside a send.
        from scapy.layers.inet import IP, TCP, UDP
        from scapy.layers.inet6 import IPv6
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw
        from scapy.utils import PcapWriter

        self._layers: dict[str, Any] = {
            "IP": IP, "TCP": TCP, "UDP": UDP, "IPv6": IPv6, "Ether": Ether, "Raw": Raw
        }  # fmt: skip

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer: Any = PcapWriter(str(self.path), linktype=1, sync=True)
        self._lock = threading.Lock()
        self._next_seq: dict[tuple[Address, Address], int] = {}
        self.count = 0
        self._closed = False

    def __call__(self, record: TapRecord) -> None:
        if record.dropped:
            return
        if record.direction == "sent":
            src, dst = record.local, record.remote
        else:
            src, dst = record.remote, record.local
        with self._lock:
            if self._closed:
                return
            packet = self._packet(record, src, dst)
            packet.time = record.wall_time
            self._writer.write(packet)
            self.count += 1

    def _packet(self, record: TapRecord, src: Address, dst: Address) -> Any:
        layers = self._layers
        IP, TCP, UDP, IPv6 = layers["IP"], layers["TCP"], layers["UDP"], layers["IPv6"]  # noqa: N806
        Ether, Raw = layers["Ether"], layers["Raw"]  # noqa: N806
        if ":" in src.host:
            ip: Any = Ether(type=0x86DD) / IPv6(src=src.host, dst=dst.host)
        else:
            ip = Ether(type=0x0800) / IP(src=src.host, dst=dst.host)
        if record.protocol == "UDP":
            return ip / UDP(sport=src.port, dport=dst.port) / Raw(record.data)
        seq = self._next_seq.get((src, dst), 1)
        ack = self._next_seq.get((dst, src), 1)
        self._next_seq[(src, dst)] = (seq + len(record.data)) % 2**32
        segment = TCP(sport=src.port, dport=dst.port, flags="PA", seq=seq, ack=ack, window=65535)
        return ip / segment / Raw(record.data)

    def mark(self) -> int:
        """Where the file stands now (its size: writes are synchronous); pass it to
        ``write_since`` to keep only what was captured from then on."""
        with self._lock:
            return self.path.stat().st_size

    def write_since(self, mark: int, dest: Path) -> Path | None:
        """A pcap at ``dest`` of the packets captured since ``mark``: the file's global header
        and its records from that offset (a check's own packets, not the whole run's, which
        grows with every check). None while nothing was captured (scapy writes the header with
        the first packet)."""
        with self._lock, self.path.open("rb") as source:
            header = source.read(PCAP_HEADER_SIZE)
            if len(header) < PCAP_HEADER_SIZE:
                return None
            source.seek(max(mark, PCAP_HEADER_SIZE))
            records = source.read()
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(header + records)
        return dest

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._writer.close()

    def __enter__(self) -> PcapTap:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
