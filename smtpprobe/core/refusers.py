"""Who refused a pasted reply: the user's submission server, the recipient's, Gmail itself,
or no server at all (the program's own error).

The rule that explained a reply may say; otherwise the text does (Gmail's "Send mail as"
dialog or bounce means the user's own provider; "host X said" names a server on the way to
the recipient, unless it refused a login or is named with a submission port), and failing
that the category and the stage say what such a refusal usually is (marked as inferred).
Pure.
"""

from __future__ import annotations

import re

from smtpprobe.core.bounce import Found
from smtpprobe.core.classify import Verdict
from smtpprobe.core.paste_facts import GUESSED
from smtpprobe.core.rules import Text

__all__ = ["REFUSERS", "refuser_of", "remote_mta"]

REFUSERS = {
    "submission": Text(
        en="your provider's submission server (the SMTP server you or Gmail send through)",
        ja="ご利用のプロバイダーの送信サーバー（あなたや Gmail が経由する SMTP サーバー）",
    ),
    "recipient": Text(
        en="the recipient's mail server",
        ja="宛先のメールサーバー",
    ),
    "gmail": Text(
        en="Gmail itself, sending on your behalf",
        ja="あなたの代わりに送信している Gmail 自身",
    ),
    # No server refused: the program broke its own library's rules (a bug in the program).
    "client": Text(
        en="no server: your program itself (its own error)",
        ja="サーバーではなく、ご利用のプログラム自身（プログラムのエラー）",
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


# Refusals only a server that takes logins gives: a server a bounce names that asks for a
# login or refuses one is a relay (a smarthost the sending server logs in to: Postfix's
# relayhost smtp.gmail.com:587), never the recipient's (a red-team round: "530-5.5.1
# Authentication Required" from smtp.gmail.com was laid at the recipient's door).
_LOGIN_REFUSALS = frozenset(
    {
        "auth-required",
        "auth-unavailable",
        "auth-failed",
        "auth-method-disabled",
        "auth-mechanism-unsupported",
    }
)


# Failures where no server was found to refuse anything: the name did not resolve.
_NO_SERVER = frozenset({"dns-failure"})


def refuser_of(found: Found, verdict: Verdict, on_the_way: bool) -> tuple[str, bool]:
    """Who refused, and whether that is only inferred (from the category or the stage).
    ``on_the_way``: the reply is a server's on the way to the recipient (``remote_mta``)."""
    if ("gmail-dialog" in found.facts or found.send_mail_as) and verdict.category not in _NO_SERVER:
        # Gmail's "Send mail as" dialog, or its bounce: Gmail logged in to the provider's
        # server the user entered, whose reply it quotes, whatever the rule says of the same
        # words elsewhere (unless that server's name did not even resolve).
        return "submission", False
    if GUESSED in found.facts:
        return "unknown", False  # a guess from words names no server
    if found.reply is not None and found.host:
        # A bounce or a log that says which server answered ("host mx.example.net said:",
        # Remote-MTA): a server the sending one reached on the way to the recipient; unless
        # it refused a login, or the text names its submission port (Postfix's
        # "relay=smtp.gmail.com[…]:587"): then it is the relay the sender submits through.
        if verdict.category in _LOGIN_REFUSALS or not on_the_way:
            return "submission", False
        return "recipient", False
    if verdict.refuser:
        return verdict.refuser, False
    if verdict.category in _SUBMISSION:
        return "submission", True
    if verdict.category in _RECIPIENT:
        return "recipient", True
    if found.stage in ("auth", "ehlo", "greeting"):
        return "submission", True
    if verdict.category == "protocol-error":
        # A broken sequence ("503 5.5.2 Need rcpt command" to DATA) is the answer of the
        # server the program talks to, whatever the stage.
        return "submission", True
    if found.stage in ("rcpt", "data"):
        return "recipient", True
    return "unknown", False


def remote_mta(found: Found, context: str) -> bool:
    """Whether the reply is a server's a bounce names on the way to the recipient ("host
    mx.example.net said:"): not Gmail's dialog or bounce (the user's own provider), nor a
    relay on its submission port."""
    return (
        found.reply is not None
        and found.host is not None
        and not found.send_mail_as
        and "gmail-dialog" not in found.facts
        and not _submission_port(found.host, context)
    )


def _submission_port(host: str, context: str) -> bool:
    """Whether ``context`` names ``host`` with port 587 or 465 (RFC 6409, RFC 8314)."""
    return bool(
        re.search(re.escape(host) + r"(?:\[[^\]\s]{0,64}\])?:(?:587|465)\b", context, re.IGNORECASE)
    )
