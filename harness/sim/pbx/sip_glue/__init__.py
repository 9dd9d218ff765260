"""SIP glue: the registrar and the call engine on a real SIP endpoint (a small B2BUA).

Theory of operation (docs/pbx.md "The SIP side"). One ``PbxSipService`` per tenant
owns a sipphone ``Endpoint`` (transactions, retransmissions, CANCEL matching), the pure
``Registrar`` and the reactive ``Pbx``. Incoming requests:

- REGISTER → ``Registrar.handle`` (``now`` = real loop time: registrations are SIP soft state,
  refreshed by phones in real seconds, never scaled); each binding keeps the transport its
  REGISTER came over;
- INVITE outside a dialog from a terminal, proven by digest (407 challenge, same throttling
  as REGISTER) → ``Pbx.incoming`` with a ``_CallSession`` as the call's ``LegDriver``; calls
  from outside come only through the carrier side's port (carrier.py → ``start_call``);
  CANCEL → ``caller_cancelled`` then 487;
- BYE inside a dialog → relayed to the other side, ``hung_up``;
- re-INVITE, UPDATE, INFO inside a dialog → relayed as a new transaction on the other side's
  dialog with the body, the other side's final response (SDP answer included) relayed back,
  each 2xx ACKed on its own dialog, a CANCEL of a relayed re-INVITE relayed too; 481
  without a dialog, 491 while a re-INVITE is pending;
- anything else outside a dialog: OPTIONS 200, the rest 405 (RFC 3261 §8.2.1).

Each engine action becomes SIP on the spot (INVITE/CANCEL/BYE, final responses to the caller);
each SIP outcome comes back to the engine from an asyncio task, never re-entrantly from inside
an action, so the ``Call`` is always between two steps when it hears news.

Forking (RFC 3261 §16.7, done here, not in the engine): a leg to an extension INVITEs every
live contact of its terminal in parallel, over TCP when the contact was registered over TCP
(or says ``;transport=tcp``). 180 from any contact is the leg ringing; the first 2xx wins and
the other forks get CANCEL (BYE when a 2xx crosses); when every fork fails, ``leg_failure``
says what the engine hears. The engine sees one leg per extension and never learns about
contacts.

``end_all_calls`` (a reset or a new tenant) ends every call in progress: BYE to answered
parties, CANCEL to ringing legs, 487 to their callers.

Known simplifications (documented in docs/pbx.md "Known limits"): media is not anchored — SDP
offers and answers (initial and re-INVITE) pass through unchanged; forks are separate INVITEs
with their own Call-IDs; a TCP contact is reached by a new connection to its Contact address
(no RFC 5626 outbound); external numbers are reached only when a PSTN resolver is given.

Layout, one module per job (the names below are re-exported here, where importers find them):
``b2bua`` the service (``PbxSetup``, ``PbxSipService``: plumbing, legs' targets, requests in);
``dispatch`` where a request goes (``dispatch``, ``ALLOW``); ``auth`` digest of REGISTER and of
the INVITE from a terminal; ``session`` a call and its legs forked over a terminal's devices
(``_CallSession``, ``Contact``, ``leg_failure``); ``relay`` each side's dialog (the SIP core's
``Dialog``) and in-dialog re-INVITE/UPDATE/INFO relay.
"""

from harness.sim.pbx.sip_glue.b2bua import PbxSetup, PbxSipService
from harness.sim.pbx.sip_glue.dispatch import ALLOW, dispatch
from harness.sim.pbx.sip_glue.relay import RELAYED, SDP, VOICEMAIL_SDP
from harness.sim.pbx.sip_glue.session import Contact, PstnResolver, _CallSession, leg_failure

__all__ = [
    "ALLOW",
    "RELAYED",
    "SDP",
    "VOICEMAIL_SDP",
    "Contact",
    "PbxSetup",
    "PbxSipService",
    "PstnResolver",
    "_CallSession",
    "dispatch",
    "leg_failure",
]
