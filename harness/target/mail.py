"""Reader of the e-mails a target sends (one-time codes). INTERIM SHELL: the `target` helper
branch replaces this with the full reader."""

from __future__ import annotations


class MailReader:
    """Reads mail sent to an address through the target's ``[mail] api``."""
