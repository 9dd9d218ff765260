"""Page objects: one class per screen of the business portal and the Web設定変更サイト.

Each class cites the manual page it stands for, offers what a person does on that screen as
methods that return the next screen, and never asserts (../shared/STYLE.md §11). Importing this
package registers every screen, so :func:`current_screen` knows where a browser landed.
See docs/web-pages.md.
"""

from __future__ import annotations

from harness.web.pages.admin import AccountSettingsPage, AdminTopPage
from harness.web.pages.base import Screen, SignedInScreen, current_screen
from harness.web.pages.initial_setup import (
    ExtensionListPage,
    ExtensionRow,
    InboundRouteForm,
    InboundRoutePage,
    InboundRouteRow,
    OutboundCallerIdForm,
    OutboundCallerIdPage,
    RingGroupAddForm,
    RingGroupDeletePage,
    RingGroupPage,
    RingGroupRow,
)
from harness.web.pages.login import SettingsLoginPage
from harness.web.pages.mfa import MfaCodePage, MfaRegisterPage
from harness.web.pages.portal import PortalLoginPage, PortalMenuPage, PortalServicePage
from harness.web.pages.user import FORWARD_STATES, AbsencePage, AbsenceShown, UserTopPage

__all__ = [
    "FORWARD_STATES",
    "AbsencePage",
    "AbsenceShown",
    "AccountSettingsPage",
    "AdminTopPage",
    "ExtensionListPage",
    "ExtensionRow",
    "InboundRouteForm",
    "InboundRoutePage",
    "MfaCodePage",
    "MfaRegisterPage",
    "OutboundCallerIdForm",
    "OutboundCallerIdPage",
    "InboundRouteRow",
    "PortalServicePage",
    "PortalLoginPage",
    "PortalMenuPage",
    "RingGroupAddForm",
    "RingGroupDeletePage",
    "RingGroupPage",
    "RingGroupRow",
    "Screen",
    "SettingsLoginPage",
    "SignedInScreen",
    "UserTopPage",
    "current_screen",
]
