"""``harness.sim.store`` became a package (issue 9 item 7): every public name of the old
module is still importable from it, and the SIP side hands registration rows over as frozen,
keyword-only records (STYLE.md §3) that land field by field in their columns."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from harness.sim.store import PstnRegistrationRow, RegistrationRow, Store

# The public names ``harness/sim/store.py`` defined before the split.
_MODULE_NAMES = (
    "Account",
    "DEFAULT_LOCKOUT_THRESHOLD",
    "DEFAULT_LOCKOUT_TIME",
    "ExternalLineRecord",
    "GroupRecord",
    "InboundRecord",
    "LoginOutcome",
    "NoTenantError",
    "OTP_DIGITS",
    "OTP_LIFETIME",
    "RingTimeDefaults",
    "Role",
    "RoutingSnapshot",
    "Session",
    "SettingsError",
    "Stage",
    "Store",
    "TenantSummary",
    "TerminalRecord",
    "VOICEMAIL_PASSWORD_DIGITS",
    "sip_ha1",
)


@pytest.mark.parametrize("name", _MODULE_NAMES)
def test_every_name_of_the_old_module_is_importable_from_the_package(name: str) -> None:
    store = importlib.import_module("harness.sim.store")
    assert name in store.__all__
    assert getattr(store, name) is not None


@pytest.mark.parametrize("record", [RegistrationRow, PstnRegistrationRow])
def test_registration_rows_are_frozen_and_keyword_only(record: type) -> None:
    fields = {f.name: "x" for f in dataclasses.fields(record)}
    with pytest.raises(TypeError):
        record(*fields.values())  # positional: refused
    row = record(**fields)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.contact = "y"


def test_registration_rows_land_in_their_columns(store: Store) -> None:
    store.replace_registrations(
        {
            "abcde20200": [
                RegistrationRow(
                    extension="20200",
                    contact="sip:a@127.0.0.1:5999",
                    source="127.0.0.1:5999",
                    expires_at=1.5e9,
                )
            ]
        },
        epoch=store.epoch,
    )
    store.replace_pstn_registrations(
        {
            "09011112222": PstnRegistrationRow(
                contact="sip:x@127.0.0.1:6000",
                transport="TCP",
                source="127.0.0.1:6001",
                expires_at=1.6e9,
            )
        },
        epoch=store.epoch,
    )
    (registration,) = store.list_rows("registrations")
    assert {k: v for k, v in registration.items() if k != "id"} == {
        "terminal_id": "abcde20200",
        "extension": "20200",
        "contact": "sip:a@127.0.0.1:5999",
        "source": "127.0.0.1:5999",
        "expires_at": 1.5e9,
    }
    (subscriber,) = store.list_rows("pstn_registrations")
    assert {k: v for k, v in subscriber.items() if k != "id"} == {
        "number": "09011112222",
        "contact": "sip:x@127.0.0.1:6000",
        "transport": "TCP",
        "source": "127.0.0.1:6001",
        "expires_at": 1.6e9,
    }
    store.replace_pstn_registrations({"09011112222": None}, epoch=store.epoch)
    assert store.list_rows("pstn_registrations") == []
