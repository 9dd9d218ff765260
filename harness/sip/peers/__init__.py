"""Drivers for real SIP peers nobody here wrote: Kamailio and baresip (SIPp: harness.sip.sipp).

Each driver starts its Debian binary as a child process on 127.0.0.1 free ports, with its
configuration and log in a working directory kept as evidence, waits until the peer answers
(never a fixed sleep), and stops and reaps it. See docs/peers.md.
"""

from __future__ import annotations

from harness.sip.peers.baresip import Baresip, BaresipEvent
from harness.sip.peers.kamailio import Kamailio, digest_ha1

__all__ = ["Baresip", "BaresipEvent", "Kamailio", "digest_ha1"]
