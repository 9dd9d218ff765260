"""What a run is pointed at (DESIGN.md): the target model, target files, the embedded target
that starts ``smartpbx-harness serve`` as a process, the typed provisioning client, the mail
reader, the reachability probe and the phone factory. Never imports ``harness.sim``: the
embedded simulator is reached only through its public surfaces, exactly like a real
deployment (docs/targets.md)."""

from harness.target.config import EMBEDDED, load_target_file, resolve_target
from harness.target.embedded import EmbeddedTarget, start_embedded
from harness.target.mail import MailMark, MailMessage, MailReader
from harness.target.model import (
    ApiAccess,
    Capability,
    MailAccess,
    MissingCapability,
    SipEndpoint,
    SipTransport,
    Target,
    TargetKind,
)
from harness.target.probe import TargetUnreachable, require_reachable
from harness.target.provisioning import (
    CallRecord,
    Health,
    ProvisioningClient,
    ProvisioningError,
    PstnRegistration,
    Registration,
    TenantInfo,
    VoicemailMessage,
)

__all__ = [
    "EMBEDDED",
    "ApiAccess",
    "CallRecord",
    "Capability",
    "EmbeddedTarget",
    "Health",
    "MailAccess",
    "MailMark",
    "MailMessage",
    "MailReader",
    "MissingCapability",
    "ProvisioningClient",
    "ProvisioningError",
    "PstnRegistration",
    "Registration",
    "SipEndpoint",
    "SipTransport",
    "Target",
    "TargetKind",
    "TargetUnreachable",
    "TenantInfo",
    "VoicemailMessage",
    "load_target_file",
    "require_reachable",
    "resolve_target",
    "start_embedded",
]
