"""A program's failed login read with the EHLO answer its own log shows above it.

The log is a WordPress debug paste (https://pastebin.com/mCJnxPkH, round363_wporg.yaml,
development corpus): Exchange offers only NTLM and PHPMailer, which logs in with CRAM-MD5,
LOGIN, PLAIN or XOAUTH2, reports "Could not authenticate" without sending AUTH.
"""

from __future__ import annotations

from smtpprobe.core.explain import explain_text
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors

RULES = load_rulebook()

LOG = """2017-04-07 15:22:59 SERVER -> CLIENT: 250-SKYEX02.xxxx.montreal Hello [199.115.127.83]
250-SIZE 37748736
250-PIPELINING
250-DSN
250-ENHANCEDSTATUSCODES
250-XXXXXXXA
250-XXXXXXXXXXXXXB
250-AUTH NTLM
250-XXXXXXXXXXXXXXXXXC
250-8BITMIME
250-BINARYMIME
250-XXXXXXXD
250 XXXXE
2017-04-07 15:22:59 SMTP Error: Could not authenticate."""


def _answers(text: str) -> list[tuple[str, str]]:
    explained = explain_text(text, lambda _: RULES, client_errors())
    return [(e.verdict.category, e.verdict.rule_id) for e in explained]


def test_only_ntlm_offered_is_no_usable_mechanism_not_a_wrong_password() -> None:
    # The EHLO answer, thirteen lines above the error, is part of its incident: a positive
    # reply there is a step that worked, not "a positive reply in a failure".
    assert _answers(LOG) == [
        ("auth-mechanism-unsupported", "pasted-reported-auth-failed-no-usable-mechanism")
    ]


def test_a_password_mechanism_offered_leaves_the_failed_login() -> None:
    text = LOG.replace("250-AUTH NTLM", "250-AUTH NTLM LOGIN")
    assert _answers(text) == [("auth-failed", "pasted-reported-auth-failed")]
