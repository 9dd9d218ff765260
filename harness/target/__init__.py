"""What a run is pointed at (DESIGN.md): the target model, target files, the embedded target
that starts ``smartpbx-harness serve`` as a process, the typed provisioning client, the mail
reader and the phone factory. Never imports ``harness.sim``: the embedded simulator is reached
only through its public surfaces, exactly like a real deployment."""

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

__all__ = [
    "ApiAccess",
    "Capability",
    "MailAccess",
    "MissingCapability",
    "SipEndpoint",
    "SipTransport",
    "Target",
    "TargetKind",
]
