from __future__ import annotations

import pytest

from harness.flows.catalog import manual_steps, step_by_id


def test_catalog_covers_every_reference_page_of_the_manual() -> None:
    pages = {s.page for s in manual_steps()}
    assert pages == {"P.2", "P.3", "P.4", "P.5", "P.6", "P.7"}


def test_out_of_scope_steps_say_why_and_automated_steps_do_not_need_to() -> None:
    for s in manual_steps():
        assert s.scope in ("automated", "out_of_scope"), s.id
        if s.scope == "out_of_scope":
            assert s.reason, f"{s.id} is out of scope without a reason"


def test_step_lookup_and_a_helpful_error() -> None:
    assert step_by_id("P3-S2-6").label == "P.3 ⑥"
    with pytest.raises(KeyError, match="did you mean P3-S2-6"):
        step_by_id("P3-S2-66")
