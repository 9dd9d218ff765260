"""留守番電話 end to end (harness.flows.mailbox), live on the embedded simulator: a call the
model sends to an extension's voicemail leaves the caller's message, and its owner hears it
after the 留守番電話パスワード by DTMF (not after a wrong one). The simulator with
``--fault voicemail-records-silence`` or ``--fault dtmf-ignored`` is a ConformanceFailure
naming what the owner did not hear. Which call reaches a mailbox is the model's answer
(``message_scenario``), checked here on the documents' own examples.

The password is read from the simulator's database here (``password_of``); the P.6 flow
``p6-voicemail`` reads it on the 端末ユーザ's 不在時動作設定 (tests/web runs it with the browser).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.errors import ConformanceFailure
from harness.flows import mailbox
from harness.flows.context import FlowContext
from harness.guide import load_tenant
from harness.model import EndpointState, EventKind, predict
from harness.pytest_plugin.sim import SimulatorHandle, start_simulator
from harness.sip.runtime import Runtime
from harness.target.model import SipEndpoint, Target
from tests.flows.test_apps_flows import FIXTURES, SCALE, RecordingEvidence, context
from tests.sim.sip.test_voicemail_retrieval import password_of

MULTISITE = FIXTURES / "multisite"
DOMAIN_EXAMPLES = FIXTURES / "domain-examples"


def test_the_message_goes_to_the_mailbox_the_model_names() -> None:
    """multisite's 10102 (転送/留守番電話, 圏外 → 留守番電話): unregistered, its caller reaches
    voicemail at once; domain-examples' 20204 (シングルナンバーリーチ, 留守番電話 on): left
    ringing, at 呼出終了時間; an extension with no 留守番電話 has no message call."""
    multisite = load_tenant(MULTISITE)
    scenario = mailbox.message_scenario(multisite, "10102")
    assert scenario is not None
    assert scenario.dialled == "10102" and scenario.caller != "10102"
    end = predict(multisite, scenario).events[-1]
    assert (end.kind, end.endpoint) == (EventKind.VOICEMAIL, "10102")
    assert scenario.behaviour("10102").state is not EndpointState.REGISTERED
    assert end.t == 0  # the soonest of the calls that end there

    examples = load_tenant(DOMAIN_EXAMPLES)
    reach = mailbox.message_scenario(examples, "20204")
    assert reach is not None
    end = predict(examples, reach).events[-1]
    assert (end.kind, end.endpoint, end.t) == (EventKind.VOICEMAIL, "20204", 30)

    plain = next(e for e in multisite.extensions if multisite.absence_of(e) is None)
    assert mailbox.message_scenario(multisite, plain) is None


def test_a_wrong_password_differs_in_every_digit() -> None:
    assert mailbox.wrong_password("1234") == "2345"
    assert mailbox.wrong_password("9090") == "0101"
    for password in ("000", "12345678", "98765432"):
        wrong = mailbox.wrong_password(password)
        assert len(wrong) == len(password)
        assert all(a != b for a, b in zip(wrong, password, strict=True))


@contextmanager
def _on_simulator(
    runtime: Runtime, tmp: Path, *faults: str
) -> Iterator[tuple[FlowContext, RecordingEvidence, SimulatorHandle]]:
    args = [arg for fault in faults for arg in ("--fault", fault)]
    with start_simulator(MULTISITE, time_scale=SCALE, extra_args=args, workdir=tmp) as sim:
        assert sim.sip_port is not None
        target = Target(
            name="embedded",
            kind="embedded",
            time_scale=SCALE,
            sip=SipEndpoint(host="127.0.0.1", port=sim.sip_port),
        )
        ctx, evidence, factory = context(runtime, target, load_tenant(MULTISITE), MULTISITE, tmp)
        try:
            yield ctx, evidence, sim
        finally:
            factory.close()


def _leave_and_retrieve(ctx: FlowContext, sim: SimulatorHandle) -> mailbox.Message:
    scenario = mailbox.message_scenario(ctx.tenant, "10102")
    assert scenario is not None
    message = mailbox.leave_message(ctx, scenario, name="a message")
    mailbox.retrieve(ctx, message, password_of(sim, "10102"), name="retrieval")
    return message


def test_the_owner_hears_the_message_after_the_password_and_not_before(
    sip_runtime: Runtime, tmp_path: Path
) -> None:
    with _on_simulator(sip_runtime, tmp_path) as (ctx, evidence, sim):
        message = _leave_and_retrieve(ctx, sim)
    assert message.mailbox == "10102"
    assert message.caller == mailbox.message_scenario(ctx.tenant, "10102").caller  # type: ignore[union-attr]
    texts = dict(evidence.texts)
    retrieval = texts["retrieval — retrieval.txt"]
    assert "refused" in retrieval
    assert f"hears {message.caller}" in retrieval  # the caller's tone, named by the phone
    assert "sent" in texts["a message — message.txt"]


@pytest.mark.parametrize(
    ("fault", "what"),
    [
        ("voicemail-records-silence", "did not hear the message"),
        ("dtmf-ignored", "did not hear the message"),
    ],
)
def test_a_mailbox_that_loses_the_message_fails(
    sip_runtime: Runtime, tmp_path: Path, fault: str, what: str
) -> None:
    """The call still reaches voicemail as the model says (the timeline agrees); what fails
    is the message, with the owner's media report in the verdict."""
    with _on_simulator(sip_runtime, tmp_path, fault) as (ctx, evidence, sim):
        with pytest.raises(ConformanceFailure, match=what) as failed:
            _leave_and_retrieve(ctx, sim)
    assert "DTMF out" in str(failed.value)
    assert "the password the site shows sent" in dict(evidence.texts)["retrieval — retrieval.txt"]
