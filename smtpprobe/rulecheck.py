"""``smtpprobe rules check FILE``: a rule file's own examples, each run through its rules.

Every rule must match each of its examples, and no rule of another category
above it may take one first (a rule above of the same category may: the verdict
is the same). A malformed file raises ``RuleError`` from the loader.
"""

from __future__ import annotations

from pathlib import Path

from smtpprobe.core.record import record
from smtpprobe.core.rules import Text

__all__ = ["RuleCheck", "check_rule_file"]


@record
class RuleCheck:
    """What ``check_rule_file`` found."""

    file: Path
    rules: int
    examples: int
    problems: tuple[Text, ...]

    def lines(self, lang: str = "en") -> list[str]:
        """The report in ``lang``: one line per problem, then the summary."""
        count = len(self.problems)
        if lang == "ja":
            verdict = "すべて一致しました" if not count else f"問題 {count} 件"
            summary = f"ルール {self.rules} 件、例 {self.examples} 件、{verdict}"
        else:
            verdict = "all match" if not count else f"{count} problem(s)"
            summary = f"{self.rules} rules, {self.examples} examples, {verdict}"
        return [
            *(f"{self.file}: {problem.get(lang)}" for problem in self.problems),
            f"{self.file}: {summary}",
        ]


def check_rule_file(file: Path) -> RuleCheck:
    """Load ``file`` and run every rule's examples."""
    from smtpprobe.core.rules import first_match
    from smtpprobe.loading import load_rule_file

    rules = load_rule_file(file)
    problems: list[Text] = []
    examples = 0
    for rule in rules:
        for example in rule.examples:
            examples += 1
            shown = example.reply or example.situation.failure or "?"
            if not rule.matches(example.situation):
                problems.append(
                    Text(
                        f"rule '{rule.id}' does not match its example {shown!r}",
                        f"ルール「{rule.id}」が自分の例 {shown!r} に一致しません",
                    )
                )
                continue
            winner = first_match(rules, example.situation)
            if winner is not None and winner[0].category != rule.category:
                problems.append(
                    Text(
                        f"rule '{rule.id}' ({rule.category}): its example {shown!r} is taken "
                        f"first by rule '{winner[0].id}' ({winner[0].category}) above it",
                        f"ルール「{rule.id}」（{rule.category}）の例 {shown!r} を、上にある"
                        f"ルール「{winner[0].id}」（{winner[0].category}）が先に取ります",
                    )
                )
    return RuleCheck(file, len(rules), examples, tuple(problems))
