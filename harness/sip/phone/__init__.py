"""Virtual phones: the Smart PBX apps of the manual, speaking real SIP on loopback.

One job per module (docs/phones.md):

- ``agent`` — ``VirtualPhone``, the app as an asyncio user agent: registration, calls,
  re-INVITEs, the timeline of what it observes;
- ``facade`` — ``Phone`` and ``CallHandle``, the synchronous, thread-safe face tests and flows
  use, running the agent on a ``Runtime``;
- the session descriptions the phones offer and answer are the core's ``harness.sip.sdp``.

Every name importers used before the split is re-exported here, so ``from harness.sip.phone
import Phone`` keeps working.
"""

from __future__ import annotations

from harness.sip.app import RegistrationState
from harness.sip.phone.agent import (
    AUTH_ROUNDS,
    DEFAULT_EXPIRES,
    SERVICE_CODE_HEADER,
    USER_AGENT,
    Behaviour,
    Call,
    CallState,
    RegisterAnswer,
    TimelineEntry,
    TransportName,
    VirtualPhone,
)
from harness.sip.phone.facade import DEFAULT_TIMEOUT, CallHandle, Phone
from harness.sip.sdp import CONTENT_TYPE as SDP
from harness.sip.sdp import sdp_direction

__all__ = [
    "AUTH_ROUNDS",
    "DEFAULT_EXPIRES",
    "DEFAULT_TIMEOUT",
    "SDP",
    "SERVICE_CODE_HEADER",
    "USER_AGENT",
    "Behaviour",
    "Call",
    "CallHandle",
    "CallState",
    "Phone",
    "RegisterAnswer",
    "RegistrationState",
    "TimelineEntry",
    "TransportName",
    "VirtualPhone",
    "sdp_direction",
]
