"""Explaining pasted replies with the same rules the probe uses.

A ``Found`` reply (from ``smtpprobe.core.bounce``) becomes a ``Situation``
with the stage the bounce names, if any, and the profile whose server sent
it, if the bounce names one; the first matching rule decides the verdict, as
for a probe. Without a stage the rules still decide: rules that need one (or
need facts only a live probe knows) simply do not match, and the enhanced
status code and basic code fallbacks at the end of the rule base catch the rest.

Who refused matters as much as why: your provider's submission server (fix
your account or its settings), the recipient's server (fix your domain's
SPF/DKIM, or the address), or Gmail itself sending on your behalf.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from smtpprobe.core.bounce import Found
from smtpprobe.core.classify import ExitCode, Verdict, evidence_of, fill
from smtpprobe.core.rules import Rule, Situation, Text, first_match

__all__ = ["REFUSERS", "Explanation", "explain_found"]

REFUSERS = {
    "submission": Text(
        en="your provider's submission server (the SMTP server you or Gmail send through)",
        ja="ご利用のプロバイダーの送信サーバー(あなたや Gmail が経由する SMTP サーバー)",
    ),
    "recipient": Text(
        en="the recipient's mail server",
        ja="宛先のメールサーバー",
    ),
    "gmail": Text(
        en="Gmail itself, sending on your behalf",
        ja="あなたの代わりに送信している Gmail 自身",
    ),
    "unknown": Text(en="not stated in the text", ja="本文からは判断できません"),
}

# Where a category's refusal normally comes from when neither the rule nor the
# bounce says: session-level refusals (login, TLS, relay, sender, client IP)
# come from the server you submit to; mailbox and authentication-of-domain
# refusals come from the recipient's side (RFC 3463 subjects 1-2 vs 7).
_SUBMISSION = frozenset(
    {
        "tls-required",
        "starttls-unavailable",
        "auth-required",
        "auth-unavailable",
        "auth-failed",
        "auth-method-disabled",
        "auth-mechanism-unsupported",
        "client-ip-rejected",
        "relay-denied",
        "sender-rejected",
        "wrong-security-mode",
    }
)
_RECIPIENT = frozenset(
    {
        "recipient-unknown",
        "recipient-disabled",
        "mailbox-full",
        "unauthenticated-sender",
        "dmarc-rejected",
        "greylisted",
        "blocklisted",
    }
)

# Words for placeholders a pasted reply cannot fill (no live dialogue).
_UNKNOWN_EN = {
    "host": "the server",
    "port": "the port",
    "security": "the connection",
    "user": "",
    "sender": "",
    "recipient": "",
    "mechanisms": "-",
    "stage": "the SMTP dialogue",
}
_UNKNOWN_JA = {
    "host": "サーバー",
    "port": "ポート",
    "security": "接続",
    "user": "",
    "sender": "",
    "recipient": "",
    "mechanisms": "-",
    "stage": "SMTP のやり取り",
}


@dataclass(frozen=True, slots=True)
class Explanation:
    """One pasted reply and what it means."""

    found: Found
    verdict: Verdict
    refuser: str  # a key of REFUSERS
    profile: str | None = None


def explain_found(
    found: Found,
    rules: Sequence[Rule],
    *,
    profile: str | None = None,
    profile_for_host: Callable[[str], str | None] | None = None,
) -> Explanation:
    """Classify one found reply. ``profile_for_host`` maps a server name to a profile."""
    if profile is None and found.host and profile_for_host is not None:
        profile = profile_for_host(found.host)
    reply = found.reply
    situation = Situation(
        phase=found.stage,
        code=reply.code,
        enhanced=reply.enhanced,
        text=reply.text,
        # "pasted": no live dialogue, so no facts a probe would know (authenticated, …).
        facts=frozenset({"pasted"}),
        profile=profile,
    )
    values = {**_UNKNOWN_EN, "detail": reply.text}
    ja_values = dict(_UNKNOWN_JA)
    if found.host:
        values["host"] = ja_values["host"] = found.host
    if found.stage:
        values["stage"] = ja_values["stage"] = found.stage
    if found.recipient:
        values["recipient"] = ja_values["recipient"] = found.recipient
    match = first_match(rules, situation)
    if match is None:
        verdict = Verdict(
            category="protocol-error",
            stage=found.stage,
            retryable=reply.is_transient,
            cause=Text(en="No rule knows this reply.", ja="この応答を説明するルールがありません。"),
            remedy=Text(
                en="Read the reply text itself; add a rule with --rules FILE.",
                ja="応答の本文をご確認ください。--rules FILE でルールを追加できます。",
            ),
            exit_code=ExitCode.REFUSED,
            rule_id="unmatched",
            evidence=reply.text,
            fallback="code",
        )
    else:
        rule, text_match = match
        verdict = Verdict(
            category=rule.category,
            stage=found.stage,
            retryable=rule.retryable_for(situation),
            cause=_tidy(fill(rule.cause, values, ja_values)),
            remedy=_tidy(fill(rule.remedy, values, ja_values)),
            exit_code=ExitCode.REFUSED,
            rule_id=rule.id,
            evidence=evidence_of(rule, situation, text_match),
            fallback=rule.fallback,
            refuser=rule.refuser,
        )
    return Explanation(
        found=found,
        verdict=verdict,
        refuser=_refuser(found, verdict),
        profile=profile,
    )


def _tidy(text: Text) -> Text:
    """Close the gaps a placeholder that a paste cannot fill leaves behind."""

    def one(value: str) -> str:
        value = re.sub(r"[(（]\s*[)）]", "", value)
        value = re.sub(r"(?<=\S) {2,}", " ", value)
        return re.sub(r" +(?=[.,、。])", "", value)

    return Text(en=one(text.en), ja=one(text.ja))


def _refuser(found: Found, verdict: Verdict) -> str:
    if verdict.refuser:
        return verdict.refuser
    if found.send_mail_as:
        # Gmail's "Send mail as" bounce quotes the user's own provider's reply.
        return "submission"
    if verdict.category in _SUBMISSION:
        return "submission"
    if verdict.category in _RECIPIENT:
        return "recipient"
    if found.stage in ("auth", "ehlo", "greeting"):
        return "submission"
    if found.stage in ("rcpt", "data"):
        return "recipient"
    return "unknown"
