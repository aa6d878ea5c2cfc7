"""From a transcript to a verdict, through the rule base: a pure function.

The decisive step is the first one that stopped the dialogue. It becomes a
``Situation`` (phase, code, enhanced code, text or failure, plus facts drawn
from the whole transcript), and the first matching rule names the category,
the cause and the remedy. The code holds no knowledge of what a reply means:
the same ``5.7.1`` is a foreign-IP filter at Sakura's MAIL and a relay denial
at OCN's RCPT, and only the rules say so.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from smtpprobe.core.capabilities import parse_ehlo
from smtpprobe.core.rules import Rule, Situation, Text, first_match
from smtpprobe.core.transcript import Phase, Step, Transcript

__all__ = ["ExitCode", "Finding", "Verdict", "classify", "evidence_of", "fill", "situation_of"]


class ExitCode(IntEnum):
    """The process exit codes, documented in README."""

    ACCEPTED = 0
    REFUSED = 1
    USAGE = 2
    INCOMPLETE = 3


@dataclass(frozen=True, slots=True)
class Finding:
    """Something worth knowing beyond pass/fail, such as an open relay."""

    id: str
    message: Text


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happened, why, and what to do: the tool's answer."""

    category: str
    stage: str | None
    retryable: bool
    cause: Text
    remedy: Text
    exit_code: ExitCode
    rule_id: str
    evidence: str = ""
    fallback: str | None = None
    refuser: str | None = None
    findings: tuple[Finding, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the server accepted everything asked of it."""
        return self.category == "ok"


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: Text, values: Mapping[str, str], ja_values: Mapping[str, str] | None = None) -> Text:
    """Fill ``{placeholders}``; ``ja_values`` overrides words for the Japanese text."""
    formatter = string.Formatter()

    def one(template: str, mapping: Mapping[str, str]) -> str:
        try:
            return formatter.vformat(template, (), _Placeholders(mapping))
        except (ValueError, IndexError, KeyError):
            return template  # a stray brace in a user rule must not break the verdict

    ja = {**values, **(ja_values or {})}
    return Text(en=one(text.en, values), ja=one(text.ja, ja))


def _facts(transcript: Transcript, decisive: Step | None) -> frozenset[str]:
    facts = {f"security:{transcript.target.security.value}"}
    if transcript.no_auth:
        facts.add("no-auth")
    if decisive is None:
        facts.add("ok")
    for step in transcript.steps:
        if step.phase is Phase.SECURITY_CHECK and step.failure is None and step.note:
            facts.add(step.note)
    for step in transcript.steps:
        if step is decisive:
            break
        if step.phase is Phase.AUTH and step.reply is not None and step.reply.code == 235:
            facts.add("authenticated")
        if step.phase is Phase.TLS and step.failure is None:
            facts.add("tls-active")
    return frozenset(facts)


def situation_of(transcript: Transcript, profile: str | None = None) -> Situation:
    """The decisive step of ``transcript`` as a Situation for the rules."""
    decisive = transcript.decisive_step()
    facts = _facts(transcript, decisive)
    profile = profile if profile is not None else transcript.profile
    if decisive is None:
        last = next(
            (s for s in reversed(transcript.steps) if s.phase not in (Phase.RSET, Phase.QUIT)),
            None,
        )
        reply = last.reply if last else None
        return Situation(
            phase=last.phase.value if last else None,
            code=reply.code if reply else None,
            enhanced=reply.enhanced if reply else None,
            text=reply.text if reply else "",
            facts=facts,
            profile=profile,
        )
    if decisive.failure is not None:
        return Situation(
            phase=decisive.phase.value,
            failure=decisive.failure.kind.value,
            text=decisive.failure.detail,
            facts=facts,
            profile=profile,
        )
    assert decisive.reply is not None
    return Situation(
        phase=decisive.phase.value,
        code=decisive.reply.code,
        enhanced=decisive.reply.enhanced,
        text=decisive.reply.text,
        facts=facts,
        profile=profile,
    )


def _placeholders(transcript: Transcript, situation: Situation) -> dict[str, str]:
    target = transcript.target
    offered = ""
    for step in reversed(transcript.steps):
        if step.phase is Phase.EHLO and step.reply is not None and step.reply.code == 250:
            offered = " ".join(parse_ehlo(step.reply).auth_mechanisms)
            break
    return {
        "host": target.host,
        "port": str(target.port),
        "security": target.security.value,
        "user": transcript.username or "",
        "sender": transcript.sender or "",
        "recipient": transcript.recipient or "",
        "detail": situation.text,
        "stage": situation.phase or "-",
        "mechanisms": offered or "-",
    }


_UNMATCHED = Text(
    en="No rule explains this outcome; the transcript above shows exactly what happened.",
    ja="この結果を説明するルールがありません。上の記録に実際のやり取りがすべて残っています。",
)


def classify(transcript: Transcript, rules: Sequence[Rule]) -> Verdict:
    """Decide the verdict for ``transcript`` with ``rules`` in precedence order.

    ``rules`` must already be ordered: the user's own rules, then the active
    profile's, then the built-in base (``smtpprobe.loading.load_rulebook``).
    """
    decisive = transcript.decisive_step()
    situation = situation_of(transcript)
    if decisive is None:
        exit_code = ExitCode.ACCEPTED
    elif decisive.failure is not None and decisive.failure.kind.is_transport:
        exit_code = ExitCode.INCOMPLETE
    else:
        exit_code = ExitCode.REFUSED
    stage = situation.phase if decisive is not None else None
    values = _placeholders(transcript, situation)
    found = first_match(rules, situation)
    if found is None:
        return Verdict(
            category="ok" if decisive is None else "protocol-error",
            stage=stage,
            retryable=False,
            cause=_UNMATCHED,
            remedy=_UNMATCHED,
            exit_code=exit_code,
            rule_id="unmatched",
            evidence=situation.text,
        )
    rule, match = found
    findings: tuple[Finding, ...] = ()
    if decisive is None and "no-auth" in situation.facts and rule.category == "ok":
        findings = (Finding(id="open-relay", message=fill(rule.cause, values)),)
    return Verdict(
        category=rule.category,
        stage=stage,
        retryable=rule.retryable_for(situation),
        cause=fill(rule.cause, values),
        remedy=fill(rule.remedy, values),
        exit_code=exit_code,
        rule_id=rule.id,
        evidence=evidence_of(rule, situation, match),
        fallback=rule.fallback,
        refuser=rule.refuser,
        findings=findings,
    )


def evidence_of(rule: Rule, situation: Situation, match: object) -> str:
    parts: list[str] = []
    if situation.failure:
        parts.append(f"failure={situation.failure}")
    if rule.codes and situation.code is not None:
        parts.append(f"code={situation.code}")
    if rule.enhanced and situation.enhanced:
        parts.append(f"enhanced={situation.enhanced}")
    if match is not None and hasattr(match, "group"):
        parts.append(f'text="{match.group(0)}"')
    needed = sorted(rule.facts)
    if needed:
        parts.append("facts=" + ",".join(needed))
    return " ".join(parts)
