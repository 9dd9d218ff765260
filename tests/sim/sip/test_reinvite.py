"""re-INVITE inside a call (hold / resume, RFC 3264 §8.4) through the PBX's B2BUA, with virtual
phones against the simulator SUBPROCESS: the offer reaches the other party as sent, and the
other party's answer comes back to the one that sent it."""

from __future__ import annotations

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.observed import PhoneEventKind
from harness.sip.phone import sdp_direction
from tests.sim.sip.kit import FIXTURES, tenant_phones

K = PhoneEventKind
SAMPLE = FIXTURES / "sample"


def test_hold_and_resume_are_relayed_both_ways(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    call = phones["20200"].call("20201")
    ring = phones["20201"].incoming()
    ring.answer()
    call.wait_for(K.CONNECTED)
    assert sdp_direction(call.remote_sdp) == "sendrecv"

    assert call.hold() == 200  # the caller holds: re-INVITE on the caller's dialog
    assert sdp_direction(ring.remote_sdp) == "sendonly"  # relayed on the leg, as sent
    assert sdp_direction(call.remote_sdp) == "recvonly"  # the callee's answer came back

    assert ring.hold() == 200  # now the callee: re-INVITE on the leg, relayed to the caller
    assert sdp_direction(call.remote_sdp) == "sendonly"
    assert sdp_direction(ring.remote_sdp) == "recvonly"

    assert call.resume() == 200
    assert sdp_direction(ring.remote_sdp) == "sendrecv"
    assert sdp_direction(call.remote_sdp) == "sendrecv"

    call.hangup()  # the dialogs survived the re-INVITEs: BYE still reaches the callee
    assert ring.wait_for(K.HANGUP).detail == "remote"


def test_a_reinvite_to_voicemail_is_answered_by_the_pbx(
    sim: SimulatorHandle, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, SAMPLE)
    document = sim.settings()
    document.setdefault("不在時動作設定", {})["20201"] = {
        "種別": "転送/留守番電話",
        "転送動作": {"無条件": "留守番電話"},
    }
    sim.put_settings(document)
    call = phones["20200"].call("20201")
    call.wait_for(K.CONNECTED)
    assert call.hold() == 200
    assert sdp_direction(call.remote_sdp) == "recvonly"  # the voicemail only listens
    call.hangup()
