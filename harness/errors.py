"""Typed failures shared by every package.

The split follows h11's LocalProtocolError / RemoteProtocolError and Allure's "broken" vs
"failed": a problem in the harness or its set-up is never reported as a conformance failure of
the target, and bad user input is neither — it is refused with what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


class HarnessError(Exception):
    """The harness itself could not do its job (a bug, a missing component, a crashed peer).

    Reported as *broken*, never as a verdict on the target.
    """


class ConformanceFailure(AssertionError):
    """The target did something other than the reference model / manual says.

    Reported as *failed*: this is the verdict the harness exists to give.
    """


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with user input, located precisely enough to fix it.

    ``where`` is a human path such as ``ご利用内容.yaml › 内線番号情報1 › row 2 (No 2) › 端末ID``;
    ``rule`` states what is required; ``value`` is what was found, when there is one.
    ``rule_id`` names the broken rule stably (``inbound.routed_once``; docs/guide-format.md
    lists them) so that other surfaces — the settings site's Japanese messages, the
    provisioning API — can refer to the rule without parsing its English text.
    """

    where: str
    rule: str
    value: str | None = None
    rule_id: str | None = None

    def __str__(self) -> str:
        found = f" (found {self.value})" if self.value is not None else ""
        return f"{self.where}: {self.rule}{found}"


class InputError(Exception):
    """Bad user input (a document, scenario, target file or option): all problems at once.

    The CLI prints every problem and exits 2; nothing is half-applied.
    """

    def __init__(self, problems: list[Problem], *, subject: str = "input") -> None:
        self.problems = list(problems)
        self.subject = subject
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{subject}: {count} {noun}\n{lines}")
