"""``smtpprobe rules check FILE``: a rule file's own examples, each run through its rules.

Every rule must match each of its examples, and no rule of another category
above it may take one first (a rule above of the same category may: the verdict
is the same). A malformed file raises ``RuleError`` from the loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RuleCheck", "check_rule_file"]


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """What ``check_rule_file`` found."""

    file: Path
    rules: int
    examples: int
    problems: tuple[str, ...]

    def lines(self) -> list[str]:
        """The report: one line per problem, then the summary."""
        verdict = "all match" if not self.problems else f"{len(self.problems)} problem(s)"
        return [
            *(f"{self.file}: {problem}" for problem in self.problems),
            f"{self.file}: {self.rules} rules, {self.examples} examples, {verdict}",
        ]


def check_rule_file(file: Path) -> RuleCheck:
    """Load ``file`` and run every rule's examples."""
    from smtpprobe.core.rules import first_match
    from smtpprobe.loading import load_rule_file

    rules = load_rule_file(file)
    problems: list[str] = []
    examples = 0
    for rule in rules:
        for example in rule.examples:
            examples += 1
            shown = example.reply or example.situation.failure or "?"
            if not rule.matches(example.situation):
                problems.append(f"rule '{rule.id}' does not match its example {shown!r}")
                continue
            winner = first_match(rules, example.situation)
            if winner is not None and winner[0].category != rule.category:
                problems.append(
                    f"rule '{rule.id}' ({rule.category}): its example {shown!r} is taken "
                    f"first by rule '{winner[0].id}' ({winner[0].category}) above it"
                )
    return RuleCheck(file, len(rules), examples, tuple(problems))
