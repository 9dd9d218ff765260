"""harness.sip.phone after its split into agent, facade and the core's sdp: same public names."""

from __future__ import annotations

from harness.sip import phone
from harness.sip.app import RegistrationState
from harness.sip.phone.agent import VirtualPhone
from harness.sip.phone.facade import CallHandle, Phone
from harness.sip.sdp import CONTENT_TYPE, sdp_direction

#: Every public name of harness/sip/phone.py before the split (plus RegistrationState, which
#: importers took from it), so ``from harness.sip.phone import …`` keeps working for them all.
NAMES_BEFORE_THE_SPLIT = {
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
    "RegistrationState",
    "TransportName",
    "VirtualPhone",
    "sdp_direction",
}


def test_every_name_of_the_old_module_is_exported() -> None:
    assert NAMES_BEFORE_THE_SPLIT <= set(phone.__all__)
    missing = [name for name in phone.__all__ if not hasattr(phone, name)]
    assert missing == []


def test_the_names_are_the_objects_of_their_new_homes() -> None:
    assert phone.Phone is Phone
    assert phone.CallHandle is CallHandle
    assert phone.VirtualPhone is VirtualPhone
    assert phone.RegistrationState is RegistrationState
    assert phone.sdp_direction is sdp_direction
    assert phone.SDP == CONTENT_TYPE == "application/sdp"
