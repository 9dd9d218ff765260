"""ご利用内容のご案内 (guide) and 設定 (settings) documents: schema, loading, validation.

``load_tenant(folder)`` is the entry point; the document types are re-exported here.
(Hypothesis strategies of valid tenants live in ``harness.strategies``, which imports this
package; the guide itself never imports Hypothesis.)
"""

from harness.guide.load import load_tenant, load_tenant_text
from harness.guide.types import (
    Absence,
    Action,
    AdminAccount,
    CustomerInfo,
    ExternalLine,
    ForwardAbsence,
    ForwardActions,
    GroupKind,
    Guide,
    InboundRoute,
    OutboundCallerId,
    RingGroup,
    Settings,
    SingleNumberReach,
    Tenant,
    Terminal,
    TerminalKind,
    TerminalUser,
)

__all__ = [
    "Absence",
    "Action",
    "AdminAccount",
    "CustomerInfo",
    "ExternalLine",
    "ForwardAbsence",
    "ForwardActions",
    "GroupKind",
    "Guide",
    "InboundRoute",
    "OutboundCallerId",
    "RingGroup",
    "Settings",
    "SingleNumberReach",
    "Tenant",
    "Terminal",
    "TerminalKind",
    "TerminalUser",
    "load_tenant",
    "load_tenant_text",
]
