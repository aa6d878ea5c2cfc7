"""The stage a paste's replies answered, given from elsewhere, and Gmail's 5.7.26 split in two.

``explain_text(stage=…)`` stands for what a log's metadata or the reader knows (the
corpus's ``phase``): replies that name no stage of their own get it, and are still read
with the words around them. The bounces are development corpus items (sources cited); the
stage test uses Exim's "after RCPT TO:" line with example values.
"""

from __future__ import annotations

from smtpprobe.core.explain import explain_text
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors

RULES = load_rulebook()

# http://eolo.it/home/assistenza/serve-aiuto/guide-tec/posta-elettronica/blacklist-mancata-ricezione-messaggio.html
# (round41_refusal.yaml): the reply's own words say only "Service unavailable"; the
# blocklist is on the next line.
RBL = (
    "Error transferring to smtp.provider.it; \n"
    "SMTP Protocol Returned a Permanent Error 554 Service unavailable;\n"
    "Client host [127.0.0.1] blocked using rbl-plus.mail-abuse.org \n"
    "For more information see\n"
    "http://www.mail-abuse.com/cgi-bin/lookup?ip_address=127.0.0.1"
)

# https://github.com/PHPMailer/PHPMailer/issues/2843 (round45_spf.yaml): Postfix's wrapping
# splits Gmail's reply, and the second half speaks of spam without the SPF words.
GMAIL_5726 = """host gmail-smtp-in.l.google.com[142.250.138.26] said:
    550-5.7.26 This message does not pass authentication checks (SPF and DKIM
    both 550-5.7.26 do not pass). SPF check for [aspades.xyz] does not pass
    with ip: 550-5.7.26 [75.127.7.127].To best protect our users from spam, the
    message has 550-5.7.26 been blocked. Please visit 550-5.7.26
    https://support.google.com/mail/answer/81126#authentication for more 550
    5.7.26 information. 23-20020aca1117000000b00354eb46fddfsi4821773oir.110 -
    gsmtp (in reply to end of DATA command)"""


def _categories(text: str, stage: str | None = None) -> list[str]:
    explained = explain_text(text, lambda _: RULES, client_errors(), stage=stage)
    return [e.verdict.category for e in explained]


def test_a_given_stage_keeps_the_words_around_the_reply() -> None:
    assert _categories(RBL) == ["blocklisted"]
    assert _categories(RBL, stage="rcpt") == ["blocklisted"]
    (first,) = explain_text(RBL, lambda _: RULES, client_errors(), stage="rcpt")
    assert first.found.stage == "rcpt"


def test_a_stage_the_text_names_is_not_overridden() -> None:
    text = (
        "SMTP error from remote mail server after RCPT TO:<user@example.com>:\n"
        "550 5.1.1 User unknown"
    )
    (first,) = explain_text(text, lambda _: RULES, client_errors(), stage="data")
    assert first.found.stage == "rcpt"


def test_gmail_5726_split_by_a_bounce_is_unauthenticated_in_both_halves() -> None:
    assert set(_categories(GMAIL_5726)) == {"unauthenticated-sender"}


# https://github.com/Cc050511/Computer-Networking-A-Top-Down-Approach/blob/06dcc24924bf6711227522d75165a7719d0b0a96/smtp/READMM.md
# (round87_zh.yaml): the textbook socket client prints the code it waited for; read as a
# 220 reply, the paste was an "ok".
TEXTBOOK = (
    "220 reply not received from server.\n"
    "Traceback (most recent call last):\n"
    "    recv = clientSocket.recv(1024).decode()\n"
    "ConnectionAbortedError: [WinError 10053] "
    "你的主机中的软件中止了一个已建立的连接。"
)


def test_a_reply_that_was_not_received_is_not_a_reply() -> None:
    assert _categories(TEXTBOOK) == ["connection-lost"]
    assert _categories("250 reply not received from server.") == []
    assert _categories("220 smtp.example.jp ESMTP ready") == ["ok"]


# https://github.com/Enough-Software/enough_mail/issues/53 (round30_tls_auth.yaml): the
# client's echoed "AUTH PLAIN <base64 …>" is not the server's reason for the 504 below it.
FLUTTER = (
    "flutter: C: AUTH PLAIN <base64 code scrambled>\n"
    "flutter: S: 504 PLAIN authentication is not permitted by this server."
)


def test_the_clients_echoed_command_is_not_words_around_the_reply() -> None:
    assert _categories(FLUTTER, stage="auth") == ["auth-mechanism-unsupported"]


def test_codeigniter_names_the_auth_stage_of_the_reply_it_quotes() -> None:
    # CodeIgniter's failedSMTPLogin ("Failed to send AUTH LOGIN command. Error: {0}",
    # codeigniter4/CodeIgniter4 system/Language/en/Email.php) quotes the reply to AUTH LOGIN:
    # a 502 there is no login on this connection, not a protocol error; with no reply after
    # it, the method was not taken (the password never went out), not a wrong password.
    quoted = "Failed to send AUTH LOGIN command. Error: 502 5.5.1 Command not implemented"
    (first,) = explain_text(quoted, lambda _: RULES, client_errors())
    assert (first.found.stage, first.verdict.category) == ("auth", "auth-unavailable")
    assert _categories("Failed to send AUTH LOGIN command. Error: ") == [
        "auth-mechanism-unsupported"
    ]
