"""Who refused, read from a paste: the relay a bounce names, the sender a log names first,
the server a library talks to (a red-team round, 2026-12-03)."""

from __future__ import annotations

from smtpprobe.core.explain import REMOTE_MTA
from smtpprobe.paste import explain

# https://github.com/ossec/ossec-hids/issues/558: Postfix relaying through smtp.gmail.com:587
# without a login; the relay asks for one.
RELAYHOST = (
    "duycuong postfix/smtp[19648]: 50E8A2AFEA7: to=<duycuongxxx@gmail.com>, "
    "relay=smtp.gmail.com[64.233.187.109]:587, delay=1.3, delays=0.11/0.04/0.98/0.     18, "
    "dsn=5.5.1, status=bounced (host smtp.gmail.com[64.233.187.109] said: 530-5.5.1 "
    "Authentication Required. Learn more at 530 5.5.1  https://support.google.com/mail/answer/"
    "14257 t17sm30699194pfi.17 - gsmtp (in reply to MAIL FR"
)


def test_a_relay_that_asks_for_a_login_is_the_submission_server() -> None:
    (item,) = explain(RELAYHOST).explanations
    assert item.verdict.category == "auth-required"
    assert (item.refuser, item.refuser_inferred) == ("submission", False)
    assert REMOTE_MTA not in item.found.facts  # on its submission port: not on the way


def test_a_relay_on_its_submission_port_refusing_to_relay_gets_the_login_remedy() -> None:
    # The same log shape with the relay's own "Relay access denied" (Postfix's words,
    # smtpd_check.c): the user's server must log in to its relay.
    text = RELAYHOST.replace(
        "530-5.5.1 Authentication Required. Learn more at 530 5.5.1  "
        "https://support.google.com/mail/answer/14257 t17sm30699194pfi.17 - gsmtp",
        "554 5.7.1 <duycuongxxx@gmail.com>: Relay access denied",
    )
    (item,) = explain(text).explanations
    assert item.verdict.rule_id == "relay-denied"
    assert item.refuser == "submission"


def test_relaying_refused_on_the_way_to_the_recipient_is_not_a_login_problem() -> None:
    # https://mediarium.hatenadiary.org/entry/20070906 (moved to development): a Postfix
    # bounce; the recipient's side does not take mail for the domain.
    text = (
        ": host abc.co.jp[111.111.245.000] said: 550 5.7.1\n"
        "... Relaying denied (in reply to RCPT TO command)"
    )
    (item,) = explain(text).explanations
    assert item.verdict.rule_id == "relay-denied-by-recipient-server"
    assert item.refuser == "recipient"
    assert "SMTP authentication" not in item.verdict.remedy.en
    assert "Treat as an alias" not in item.verdict.remedy.en


def test_the_sender_a_log_names_first_is_not_the_recipient() -> None:
    # https://blog.denet.co.jp/maillog_error_1 (moved to development): Postfix's "from=<…>"
    # comes before "to=<…>".
    text = (
        "Jul 25 XX:XX:XX *** postfix/qmgr[XXXXX]: A123B45678C: from=<test@monikura.rei.com>, "
        "size=123456, nrcpt=1 (queue active)\n"
        "Jul 25 XX:XX:XX *** postfix/smtp[XXXXX]: A123B45678C: to=<test@monikura.rei.jp>, "
        "relay=monikura.rei.jp[XXX.XXX.XXX.XXX]:25, delay=0.55, delays=0.15/0.1/0.2/0.33, "
        "dsn=4.5.1, status=deferred (host monikura.rei.jp[XXX.XXX.XXX.XXX] said: 451 4.5.1 "
        "Mailbox full (in reply to end of DATA command))"
    )
    (item,) = explain(text).explanations
    assert item.found.recipient == "test@monikura.rei.jp"
    # Exim's "F=<sender> rejected RCPT <recipient>"
    # (https://github.com/appwrite/docker-smtp/issues/9, moved to development).
    exim = (
        "9 LOG: MAIN REJECT\n9   H=(localhost) [172.22.0.1] F=<no-reply@saocloud.com> rejected "
        "RCPT <admin11@test.com>: relay not permitted"
    )
    (refusal,) = explain(exim).explanations
    assert refusal.found.recipient == "admin11@test.com"


def test_a_broken_sequence_a_library_quotes_is_its_own_servers() -> None:
    # https://github.com/swiftmailer/swiftmailer/issues/1181 (moved to development)
    text = (
        'Uncaught PHP Exception Swift_TransportException: "Expected response code 354 but got '
        'code "503", with message "503 5.5.2 Need rcpt command [mail.server.com]'
    )
    (item,) = explain(text).explanations
    assert item.verdict.category == "protocol-error"
    assert (item.refuser, item.refuser_inferred) == ("submission", True)


def test_the_suggested_compare_command_keeps_the_port_and_ca_file_checked() -> None:
    # A red-team round: the command compared the profile's 587 after a check of port 41249.
    from smtpprobe.core.readiness import gmail_readiness

    readiness = gmail_readiness(
        category="ok",
        profile=None,
        host="127.0.0.1",
        origin=None,
        port=41249,
        ca_file="/tmp/my ca.pem",
    )
    assert "--host 127.0.0.1 --port 41249 --ca-file '/tmp/my ca.pem'" in readiness.test_command


# https://kozyatagibilisim.com/blog/exchange-ndr-no-such-user-550-5-1-10 (development corpus,
# round23_south.yaml): Microsoft's report tells one refusal twice, in words and with its code.
MICROSOFT_NDR = """Undeliverable
Your message to emre.demir@firma.com.tr couldn't be delivered.
emre.demir@firma.com.tr wasn't found at firma.com.tr.
Diagnostic information for administrators:
Generating server: DC01.corp.firma.com.tr
emre.demir@firma.com.tr
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound;
not found'"""


def test_a_refusal_told_in_words_and_again_with_its_code_is_one_refusal() -> None:
    # A red-team round: "Reply 1 of 2" and "Reply 2 of 2" for one recipient not found.
    (item,) = explain(MICROSOFT_NDR).explanations
    assert item.verdict.category == "recipient-unknown"
    assert item.found.reply is not None and item.found.reply.enhanced == "5.1.10"
    # The words alone, with no coded reply beside them, are still read.
    (words,) = explain("\n".join(MICROSOFT_NDR.splitlines()[:3])).explanations
    assert words.verdict.category == "recipient-unknown"


def test_a_5_1_0_with_japanese_sender_words_is_the_sender() -> None:
    # A red-team round: X.1.0 names either address (RFC 3463 section 3.2); Japanese words
    # for the sender were read as the recipient's (recipient-unknown).
    for words, category in (
        ("送信者のアドレスが不正です", "sender-rejected"),
        ("差出人のメールアドレスが拒否されました", "sender-rejected"),
        ("宛先のアドレスが不正です", "recipient-unknown"),
    ):
        (item,) = explain(f"550 5.1.0 <foo@example.jp>... {words}").explanations
        assert item.verdict.category == category, words


def test_an_unknown_refusal_by_the_recipient_s_server_is_not_blamed_on_relaying() -> None:
    # https://github.com/RotherOSS/otobo/blob/9f0e4d921d0b6458275e68e50ebb882ac48a9261/scripts/test/sample/PostMaster/PostMaster-Test10.box
    # (development corpus): a Postfix bounce; the recipient's own server refused at RCPT TO
    # in words no rule knows. No submission server was asked to relay.
    text = (
        "<asdfasdfasdfasd@example.com>: host mx00.XXXXund.de[127.0.15.169] said:\n"
        "    550 <asdfasdfasdfasd@example.com>: invalid address (in reply to RCPT TO\n"
        "    command)"
    )
    (item,) = explain(text).explanations
    assert (item.verdict.category, item.verdict.rule_id) == (
        "recipient-unknown",
        "code-rcpt-refused-remote",
    )
    assert item.refuser == "recipient"
    assert "relay" not in item.verdict.cause.en
    # The same words from the user's own server, without the bounce: relaying comes first.
    (own,) = explain("550 <asdfasdfasdfasd@example.com>: invalid address").explanations
    assert own.verdict.rule_id != "code-rcpt-refused-remote"
