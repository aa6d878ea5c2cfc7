"""From a transcript to a verdict, through the rule base: a pure function.

The decisive step is the first one that stopped the dialogue. It becomes a
``Situation`` (phase, code, enhanced code, text or failure, plus facts drawn
from the whole transcript), and the first matching rule names the category,
the cause and the remedy. The code holds no knowledge of what a reply means:
the same ``5.7.1`` is a foreign-IP filter at Sakura's MAIL and a relay denial
at OCN's RCPT, and only the rules say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace

from smtpprobe.core.exitcode import ExitCode  # defined once, re-exported here
from smtpprobe.core.lazyre import IdentityCache, LazyPattern
from smtpprobe.core.record import record
from smtpprobe.core.rules import Rule, Situation, Text, first_match
from smtpprobe.core.stage_names import stage_ja
from smtpprobe.core.transcript import (
    AFTER_SASL_ERROR,
    BEFORE_CREDENTIALS,
    RETRIED,
    UNSOLICITED,
    FailureKind,
    Phase,
    Step,
    Transcript,
    shown_host,
)

__all__ = ["ExitCode", "Finding", "Verdict", "classify", "evidence_of", "fill", "situation_of"]


@record
class Finding:
    """Something worth knowing beyond pass/fail, such as an open relay."""

    id: str
    message: Text


@record
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


_SENTENCE_END = LazyPattern(r"(\{\w+\})[.。]")


def _ends_sentence(value: str) -> bool:
    return value.endswith(".") and not value.endswith("..")


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: Text, values: Mapping[str, str], ja_values: Mapping[str, str] | None = None) -> Text:
    """Fill ``{placeholders}``; ``ja_values`` overrides words for the Japanese text."""

    def one(template: str, mapping: Mapping[str, str]) -> str:
        # A value that ends a sentence itself ("… not valid for '127.0.0.1'.") takes the
        # template's own full stop after it: one period, not two (and in Japanese no "。"
        # after the English ".": a space keeps the next words apart).
        template = _SENTENCE_END.sub(
            lambda m: (
                (m[1] + ("" if m[0].endswith(".") else " "))
                if _ends_sentence(mapping.get(m[1][1:-1], ""))
                else m[0]
            ),
            template,
        )
        try:
            # str.format_map, not string.Formatter: importing ``string`` compiles
            # string.Template's pattern, a few milliseconds of every start-up.
            return template.format_map(_Placeholders(mapping))
        except (ValueError, IndexError, KeyError):
            return template  # a stray brace in a user rule must not break the verdict

    ja = {**values, **(ja_values or {})}
    return Text(en=one(text.en, values), ja=one(text.ja, ja))


def _facts(transcript: Transcript, decisive: Step | None) -> frozenset[str]:
    # "live": the dialogue was this probe's own, so the answering server is the one probed
    # and "your" in its words means this client (a paste's "your" is someone else's).
    facts = {"live", f"security:{transcript.target.security.value}"}
    if transcript.target.proxy:
        facts.add("via-proxy")  # the other end of the socket is the proxy, not the server
    if transcript.no_auth:
        facts.add("no-auth")
    if decisive is None:
        # "ok" only when every stage got the reply it needs, up to an accepted RCPT
        # (and the message with --send); a dialogue that stopped short is not a pass.
        facts.add("ok" if transcript.complete else "incomplete")
    elif decisive.out_of_step:
        facts.add("out-of-step")  # QUIT answered 250, RSET 550: a reply missing or one too many
        if decisive.note == UNSOLICITED:
            facts.add("reply-before-command")  # a reply already waiting: one too many
    elif decisive.refused_after_acceptance:
        # RSET or QUIT decides only so: refused after every stage was accepted.
        facts.add("refused-after-acceptance")
    elif decisive.reply is not None and decisive.reply.code < 400:
        facts.add("unexpected-reply")  # e.g. 250 to AUTH, where RFC 4954 needs 235
        if decisive.contradictory:
            facts.add("contradictory-reply")  # 250 5.1.1: success and failure at once
        if decisive.note == BEFORE_CREDENTIALS:
            facts.add("before-credentials")  # 235 to AUTH LOGIN's user name: no password seen
        if decisive.note == AFTER_SASL_ERROR:
            facts.add("after-sasl-error")  # 235 after XOAUTH2's error challenge
    if decisive is not None and decisive.note == "pipelined":
        facts.add("pipelined")  # the decisive command went out in a flight (RFC 2920)
    if decisive is not None and _accepted_again(transcript, decisive):
        # The pipelined flight's replies were out of step, and the dialogue run again one
        # command at a time was accepted: the server breaks RFC 2920, not the submission.
        facts.add("accepted-one-at-a-time")
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


def _accepted_again(transcript: Transcript, decisive: Step) -> bool:
    """Whether ``decisive`` came before a retry one command at a time that was accepted."""
    if not (decisive.out_of_step or decisive.refused_after_acceptance):
        return False
    steps = transcript.steps
    retried = [i for i, s in enumerate(steps) if s.note == RETRIED]
    start = steps.index(decisive)
    if not retried or retried[-1] < start:
        return False
    again = steps[retried[-1] + 1 :]
    closing = (Phase.RSET, Phase.QUIT)  # may go unanswered; anything but 250 / 221 is not fine
    return any(
        s.phase is Phase.RCPT and s.reply is not None and s.reply.code in (250, 251) for s in again
    ) and not any(
        s.out_of_step  # a closing reply it never gets, or a reply before its command
        or (
            s.refused_after_acceptance
            if s.phase in closing
            else s.failure is not None or (s.unexpected and not _continues_sasl(s))
        )
        for s in again
    )


def _continues_sasl(step: Step) -> bool:
    return step.phase is Phase.AUTH and step.reply is not None and step.reply.code == 334


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


def _placeholders(
    transcript: Transcript, situation: Situation, decisive: Step | None
) -> dict[str, str]:
    target = transcript.target
    required = decisive.required if decisive is not None else None
    offered = ""
    for step in reversed(transcript.steps):
        if step.phase is Phase.EHLO and step.reply is not None and step.reply.code == 250:
            # Here, not at the top: explain classifies replies without loading capabilities.
            from smtpprobe.core.capabilities import parse_ehlo

            offered = " ".join(parse_ehlo(step.reply).auth_mechanisms)
            break
    return {
        "host": shown_host(target.host),
        "port": str(target.port),
        "security": target.security.value,
        "user": transcript.username or "",
        "sender": transcript.sender or "",
        "recipient": transcript.recipient or "",
        "detail": situation.text,
        "stage": situation.phase or "-",
        "mechanisms": offered or "-",
        "code": str(situation.code) if situation.code is not None else "-",
        "expected": " or ".join(str(c) for c in sorted(required)) if required else "-",
    }


_UNMATCHED = Text(
    en="No rule explains this outcome; the transcript above shows exactly what happened.",
    ja="この結果を説明するルールがありません。上の記録に実際のやり取りがすべて残っています。",
)


def _exit_code(transcript: Transcript, decisive: Step | None) -> ExitCode:
    if decisive is None:
        return ExitCode.ACCEPTED if transcript.complete else ExitCode.INCOMPLETE
    if decisive.failure is not None:
        if decisive.failure.kind is FailureKind.TLS_CERTIFICATE_INVALID and _went_on(
            transcript, decisive
        ):
            # --insecure: the dialogue was completed without verification, and the
            # server's certificate is what is refused (Gmail would refuse it).
            return ExitCode.REFUSED
        return ExitCode.INCOMPLETE if decisive.failure.kind.is_transport else ExitCode.REFUSED
    assert decisive.reply is not None
    # A positive reply the stage does not allow breaks the protocol: not a refusal; nor is
    # any reply that shows the replies out of step (RSET answered 550).
    if decisive.reply.code < 400 or decisive.out_of_step or decisive.refused_after_acceptance:
        return ExitCode.INCOMPLETE
    return ExitCode.REFUSED


def _went_on(transcript: Transcript, decisive: Step) -> bool:
    after = transcript.steps[transcript.steps.index(decisive) + 1 :]
    return any(s.phase is Phase.GREETING for s in after)


def classify(
    transcript: Transcript,
    rules: Sequence[Rule],
    *,
    detail_ja: Callable[[str], str] | None = None,
) -> Verdict:
    """Decide the verdict for ``transcript`` with ``rules`` in precedence order.

    ``rules`` must already be ordered: the user's own rules, then the active
    profile's, then the built-in base (``smtpprobe.loading.load_rulebook``).
    ``detail_ja`` gives the Japanese of a failure's detail (the transport's own English
    words) for the Japanese cause and remedy; without it they quote the English.
    """
    decisive = transcript.decisive_step()
    situation = situation_of(transcript)
    exit_code = _exit_code(transcript, decisive)
    stage = None if decisive is None and exit_code is ExitCode.ACCEPTED else situation.phase
    values = _placeholders(transcript, situation, decisive)
    # The stage named in a Japanese sentence: "宛先の指定の段階で", not "rcpt の段階で".
    ja_values: dict[str, str] = {"stage": stage_ja(values["stage"])}
    if detail_ja is not None and decisive is not None and decisive.failure and values["detail"]:
        ja_values["detail"] = detail_ja(values["detail"])
    required = decisive.required if decisive is not None else None
    if required and len(required) > 1:
        ja_values["expected"] = " か ".join(str(c) for c in sorted(required))  # "250 か 251"
    # "ok" is for a dialogue that got every reply it needs, and only then: a user's rule
    # may not call a refusal ok, nor an accepted dialogue a failure.
    accepted = exit_code is ExitCode.ACCEPTED
    found = first_match(_verdicts_of(rules)[accepted], situation)
    if found is None:
        return Verdict(
            category="ok" if exit_code is ExitCode.ACCEPTED else "protocol-error",
            stage=stage,
            retryable=False,
            cause=_UNMATCHED,
            remedy=_UNMATCHED,
            exit_code=exit_code,
            rule_id="unmatched",
            evidence=situation.text,
        )
    rule, match = found
    findings: list[Finding] = []
    if decisive is None and "no-auth" in situation.facts and rule.category == "ok":
        findings.append(Finding(id="relay-without-auth", message=fill(rule.cause, values)))
    if decisive is not None and decisive.failure is not None and _went_on(transcript, decisive):
        findings.append(_rest_of_dialogue(transcript, decisive, rules))
    return Verdict(
        category=rule.category,
        stage=stage,
        retryable=rule.retryable_for(situation),
        cause=fill(rule.cause, values, ja_values),
        remedy=fill(rule.remedy, values, ja_values),
        exit_code=exit_code,
        rule_id=rule.id,
        evidence=evidence_of(rule, situation, match),
        fallback=rule.fallback,
        refuser=rule.refuser,
        findings=tuple(findings),
    )


def _rest_of_dialogue(transcript: Transcript, decisive: Step, rules: Sequence[Rule]) -> Finding:
    """What happened after an invalid certificate when ``--insecure`` let the dialogue go on."""
    index = transcript.steps.index(decisive)
    rest = replace(transcript, steps=transcript.steps[index + 1 :])
    verdict = classify(rest, rules)
    where = f" ({verdict.stage})" if verdict.stage else ""
    return Finding(
        id="insecure-continued",
        message=Text(
            en="With certificate checking off (--insecure), the dialogue went on over a new "
            f"connection: {verdict.category}{where}. {verdict.cause.en}",
            ja="証明書の検証を無効にして（--insecure）新しい接続でやり取りを続けた結果："
            f"{verdict.category}{where}。{verdict.cause.ja}",
        ),
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


def _split_by_verdict(rules: Sequence[Rule]) -> dict[bool, tuple[Rule, ...]]:
    """The rules that may call a dialogue ok (True) and those that name a failure (False):
    tuples, so that ``first_match`` works out once which apply to a kind of situation."""
    return {
        accepted: tuple(r for r in rules if (r.category == "ok") == accepted)
        for accepted in (True, False)
    }


_by_verdict: IdentityCache[Sequence[Rule], dict[bool, tuple[Rule, ...]]] = IdentityCache(
    _split_by_verdict
)


def _verdicts_of(rules: Sequence[Rule]) -> dict[bool, tuple[Rule, ...]]:
    # A rule book that cannot change (a tuple) is split once; a list each time.
    return _by_verdict(rules) if isinstance(rules, tuple) else _split_by_verdict(rules)
