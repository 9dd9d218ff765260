"""Page-object plumbing that needs no browser: addresses of screens and table cell values."""

from __future__ import annotations

import pytest

from harness.web.pages import (
    AbsencePage,
    InboundRouteForm,
    OutboundCallerIdForm,
    RingGroupAddForm,
    Screen,
)
from harness.web.pages.base import cell_value


@pytest.mark.parametrize(
    ("screen", "record", "url"),
    [
        (AbsencePage, (), "http://127.0.0.1:8080/SmartPBX/User/Absence"),
        (RingGroupAddForm, (), "http://127.0.0.1:8080/SmartPBX/Init/Groups/Add"),
        (
            InboundRouteForm,
            ("0312345678",),
            "http://127.0.0.1:8080/SmartPBX/Init/Inbound/0312345678",
        ),
        (OutboundCallerIdForm, ("20/1",), "http://127.0.0.1:8080/SmartPBX/Init/Outbound/20%2F1"),
    ],
)
def test_screen_url_fills_the_record_part(
    screen: type[Screen], record: tuple[str, ...], url: str
) -> None:
    assert screen.url("http://127.0.0.1:8080/", *record) == url


@pytest.mark.parametrize(
    ("shown", "value"), [("未設定", ""), ("—", ""), (" 20200 ", "20200"), ("", "")]
)
def test_cell_value_maps_nothing_set_marks_to_empty(shown: str, value: str) -> None:
    assert cell_value(shown) == value
