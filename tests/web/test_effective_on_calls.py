"""A setting saved on a page takes effect on the next call (DESIGN.md "Concurrency"; issue 5 §8):
the 端末ユーザ sets 不在時動作 in real Chromium, then virtual phones call over real SIP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import SimulatorHandle
from harness.sip.observed import PhoneEventKind
from harness.web.pages import AbsencePage, UserTopPage
from tests.sim.sip.kit import FIXTURES, subscriber, tenant_phones

from .conftest import USER_20201, login

pytestmark = pytest.mark.browser

OUTSIDE = "09011112222"


def absence_page(sim: SimulatorHandle, page: Page) -> AbsencePage:
    top = login(sim, page, USER_20201)
    assert isinstance(top, UserTopPage), top
    return top.open_absence_settings()


@pytest.mark.manual_step("P6-S2-forward", "P6-S2-unset")
def test_unconditional_forwarding_set_on_the_page_forwards_the_next_call(
    sim: SimulatorHandle, page: Page, phone_factory: PhoneFactory
) -> None:
    phones = tenant_phones(phone_factory, sim, FIXTURES / "sample")
    outside = subscriber(phone_factory, sim, OUTSIDE)

    saved = absence_page(sim, page).set_absence_forwarding(OUTSIDE, {"無条件": "転送"}, None)
    assert isinstance(saved, AbsencePage) and not saved.field_errors(), saved.messages()

    call = phones["20200"].call("20201")
    forwarded = outside.incoming()
    # rule 7: a forwarded leg to an external number carries the forwarding extension's
    # 外線発信 number (sample 設定.yaml: 20201 → 0312345678)
    assert forwarded.peer == "0312345678"
    assert not [e for e in phones["20201"].timeline() if e.kind is PhoneEventKind.RING]
    forwarded.answer()
    call.wait_for(PhoneEventKind.CONNECTED)
    call.hangup()
    forwarded.wait_ended()

    cleared = absence_page(sim, page).clear_absence()
    assert isinstance(cleared, AbsencePage) and not cleared.field_errors(), cleared.messages()

    again = phones["20200"].call("20201")
    ring = phones["20201"].incoming()
    assert ring.peer == "20200"
    again.hangup()
    ring.wait_ended()
    assert len([e for e in outside.timeline() if e.kind is PhoneEventKind.RING]) == 1
