"""A refusal's words without their code: judged by the rules that decide by words alone.

Apps' dialogs, logs and forum posts often quote a server's words and drop the code.
When a paste holds no reply and no client-side error, ``explain_text`` tries the
rules that need no code, enhanced code or failure kind on its words. The texts here
are real (development corpus items, sources cited), never validation texts.
"""

from __future__ import annotations

import time

import pytest

from smtpprobe.core.explain import CODELESS, explain_text
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors, explain
from smtpprobe.render.explain import explanations_to_dict, format_explain_text

RULES = load_rulebook()

# (text, category) as their sources show them; all in tests/data/corpus/development/.
REAL = [
    # https://github.com/itprojects/InboxPager/issues/36 (Tiscali's refusal of the EHLO
    # argument, in an app's dialog; no trouble word needed: "requires valid address" says it)
    ("EHLO requires valid address", "protocol-error"),
    # https://yandex.com/support/mail/bounces/yandex/mailbox-size-limit-exceeded.html?lang=en
    ("Mailbox size limit exceeded", "mailbox-full"),
    # https://snapoverflow.com/server/question/758971/explanation-of-various-smtp-error-codes-bounced-by-mailservers
    ("we do not relay", "relay-denied"),
    # https://attrise.blog/ceo/?p=12873 (Google Apps Script's daily MailApp quota, in Japanese)
    ("1 日にサービス email を実行した回数が多すぎます。", "rate-limited"),
    # https://github.com/docker-mailserver/docker-mailserver/issues/1471 (amavis's notice to
    # the sender: "unsolicited" needs no trouble word once "considered" says it is a verdict)
    (
        "was considered unsolicited bulk e-mail (UBE).\n\n"
        "Our internal reference code for your message is 2543112-06/Q8cmmCBHhq9r",
        "content-rejected",
    ),
    # https://github.com/Mailu/Mailu/issues/2879 (Mailu's nginx login front: its rate limit,
    # not auth-temporary-failure's unavailable authentication service)
    (
        '2023/07/06 02:04:54 [info] 17#17: *591 client login failed: "Temporary authentication '
        'failure (rate-limit)" while in http auth state, client: 172.18.0.1, server: 0.0.0.0:465, '
        'login: "screenscreen0"',
        "rate-limited",
    ),
    # https://support.mozilla.org/en-US/questions/1531129 (PlusNet's words in Thunderbird's
    # dialog: the sender address on the server's own list, not a DNSBL)
    (
        "Sending of the message failed. An error occurred while sending mail. The mail server "
        "responded: <user@example.com> sender rejected (blacklisted by local policy). Please "
        "verify that your email address is correct in your account settings and try again.",
        "sender-rejected",
    ),
    # https://support.mozilla.org/en-US/questions/1538714 (Gmail's words as the user typed
    # them, "STARTLS" and all)
    (
        "Sending of the message failed. An error occurred while sending mail. The mail server "
        "responded: Must issue a STARTLS command first. For more information go to: "
        "https://support.google.com/a/answer/3221692 and review RFC 3207 specifications. "
        "00721157ae682-765bb916a90sm38332507b3.4-gsmtp. Please verify that your email address "
        "is correct in your account settings and try again.",
        "tls-required",
    ),
    # https://support.mozilla.org/en-US/questions/1576841 (Orange's words in Thunderbird's
    # French dialog: the login and the From address belong to two different users)
    (
        "L’envoi du message a échoué. Une erreur est survenue lors de l’envoi de l’e-mail. Le "
        "serveur a répondu\xa0: DfERwzp30T90v Mail rejete. Identifiant et adresse mail "
        "appartiennent a 2 utilisateurs differents. OFR203_528 [528]. Veuillez vérifier le "
        "message et essayer à nouveau.",
        "sender-rejected",
    ),
    # https://support.mozilla.org/en-US/questions/1490496 (Orange's words in Thunderbird's
    # French dialog)
    (
        "l'envoi du message a échoué. Une erreur est survenue lors de l'envoi de l'e-mail. Le "
        "serveur e-mail a répondu\xa0: etySt1BRCUbA0 StartTLS obligatoire. StartTLS "
        "mandatory.OFR103_199[199]. Veuillez vérifier que votre adresse e-mail dans les "
        "paramètres du compte est correcte et essayer à nouveau",
        "tls-required",
    ),
    # https://support.mozilla.org/en-US/questions/1572996 (a relay's words for a session that
    # did not log in, in Thunderbird's dialog for a refused sender)
    (
        "Sending of the message failed. An error occurred while sending mail. The mail server "
        "responded: This system is not configured to relay mail for anonymous sender.. Please "
        "verify that your email address is correct in your account settings and try again.",
        "relay-denied",
    ),
    # https://support.mozilla.org/en-US/questions/1410993 (BT's words in Thunderbird's dialog)
    (
        "Sending of the message failed. An error occurred while sending mail: Outgoing server "
        "(SMTP) error. The server responded:  IP Address rejected for policy reasons.",
        "client-ip-rejected",
    ),
    # https://support.mozilla.org/en-US/questions/1561345 (a server refusing the client's
    # address, in Thunderbird's dialog; the address masked by the asker)
    (
        "An error occurred while sending mail: Outgoing server (SMTP) error. The server "
        "responded:  Connection from xx.xxx.xx.xxx refused.",
        "client-ip-rejected",
    ),
    # https://support.mozilla.org/it/questions/1488820 (Aruba's bilingual refusal of the
    # client's address, in Thunderbird's Italian dialog)
    (
        "Invio del messaggio non riuscito. Si è verificato un errore durante l’invio della posta. "
        "Il server di posta ha risposto: <user@example.com> Connessione da 192.0.2.1 "
        "temporaneamente rifiutata / Connection from 192.0.2.1 temporarily rejected. Verificare "
        "l’indirizzo email nelle impostazioni dell’account e riprovare.",
        "client-ip-rejected",
    ),
    # Sending accounts the provider blocked: https://support.mozilla.org/en-US/questions/1413634,
    # https://support.mozilla.org/it/questions/1525992, https://support.mozilla.org/es/questions/1410142
    (
        "An account has been blocked by administrator due to suspected SPAM activity",
        "sender-rejected",
    ),
    (
        "Errore di invio: Si è verificato un errore durante l’invio della posta. Il server di "
        "posta ha risposto:  Invio disabilitato per la casella, modificare la password / Sending "
        "disabled for this mailbox, please change password. Verificare l’indirizzo email nelle "
        "impostazioni dell’account e riprovare.",
        "sender-rejected",
    ),
    (
        "Falló el envío del mensaje. Ha ocurrido un error al enviar el mensaje. El servidor de "
        "correo respondió:  Cuenta bloqueada por envio de Spam. Entre en contacto con su "
        "proveedor de Hosting para desbloqueo.",
        "sender-rejected",
    ),
    # https://support.mozilla.org/pt-BR/questions/1416437 (Spamhaus's CSS listing in Portuguese)
    (
        "Seu endereço IP está exibindo um comportamento suspeito, está configurado incorretamente "
        "ou tem uma reputação de envio ruim.\nComo resultado, o IP é listado noLista de bloqueio "
        "de CSS (CSS)",
        "blocklisted",
    ),
    # Amazon SES's own status for a suppressed recipient (a delivery report's fixture):
    # https://github.com/nodemailer/mailparser/blob/bb1881eb35c0d406c68c8613443827ccbad00065/test/fixtures/delivery-status.eml
    (
        "Diagnostic-Code: Amazon SES did not send the message to this address because it is on "
        "the suppression list for your account.",
        "recipient-unknown",
    ),
    # Outlook's size refusal: https://github.com/MicrosoftDocs/OfficeDocs-Support/blob/36878e0e10fbe834858d06a771a7e51e570469d3/Outlook/Client/message-body/attachment-size-exceeds-the-allowable-limit-error.md
    (
        "The file you're attaching is bigger than the server allows. Try putting the file in a "
        "shared location and sending a link instead.",
        "message-too-large",
    ),
    # Kerio Connect's log of a refused relay (fail2ban's test log):
    # https://github.com/fail2ban/fail2ban/blob/deffcbcd1712a3a0cbd79c1da324096ebf36d306/fail2ban/tests/files/logs/kerio
    (
        "[30/Dec/2013 05:27:59] Relay attempt from IP address 192.0.2.1, mail from "
        "<user@example.com> to <user@example.com> rejected",
        "relay-denied",
    ),
    # https://support.mozilla.org/en-US/questions/1423430 (Bell's refusal of a session that
    # was not encrypted, in Thunderbird's dialog)
    (
        "Sending of the message failed. An error occurred while sending mail: Outgoing server "
        "(SMTP) error. The server responded:  Your message has not been sent as you are "
        "accessing your email over an unsecure or untrusted connection",
        "tls-required",
    ),
    # Rebol 3's SMTP scheme: no 235 after the password (github.com/Oldes/Rebol3,
    # src/mezz/prot-smtp.reb; development corpus)
    ("Failed authentication", "auth-failed"),
    # NetAlertX's log in its except smtplib.SMTPAuthenticationError branch
    # (github.com/netalertx/NetAlertX, server/plugins/_publisher_email; development corpus)
    ("ERROR: Couldn't connect to the SMTP server (SMTPAuthenticationError)", "auth-failed"),
    # The SMTP2GO WordPress plugin: the provider did not accept the key
    # (github.com/smtp2go-oss/wordpress-plugin, app/WordpressPluginAdmin.php; development)
    (
        "Invalid API key entered. Unable to make a successful call to the API with the "
        "provided key.",
        "auth-failed",
    ),
    # eMundus's mail test, the server's "Authentication required" behind it, in English and
    # French (github.com/emundus/tchooz, com_emundus.ini; development corpus)
    ("SMTP ERROR: Please check enable the SMTP authentication", "auth-required"),
    ("ERREUR SMTP : Veuillez activer l'authentification SMTP", "auth-required"),
    # Japanese bounces kept in fml8's test data (github.com/fmlorg/fml8, regress/errormails;
    # development corpus): DDI Pocket's suspended recipient, pakeo's unknown address
    (
        "***********@pdx.ne.jpはメールの受取を停止しているため送信できませんでした。\n"
        "We failed to deliver mail. Recipient suspend the service. ***********@pdx.ne.jp",
        "recipient-disabled",
    ),
    (
        "あなたが送ろうとしたアドレス「*********@i.pakeo.ne.jp」は、登録されていません。\n"
        "もう一度確認して、送信しなおして下さい。",
        "recipient-unknown",
    ),
    # fml4's Japanese notice of a post over the list's size limit (github.com/fmlorg/fml4,
    # messages/Japanese/resource; development corpus)
    (
        "あなたのメールはこのメーリングリストが許すメールのサイズを越えています。",
        "message-too-large",
    ),
    # Rebol 3 and Crystal's smtp.cr: no 250 after MAIL FROM (development corpus)
    ("FROM address rejected by server", "sender-rejected"),
    ("Invalid from address", "sender-rejected"),
]


def _explain(text: str) -> list:  # type: ignore[type-arg]
    return explain_text(text, lambda _: RULES, client_errors())


@pytest.mark.parametrize(("text", "category"), REAL)
def test_real_words_without_a_code_get_their_category(text: str, category: str) -> None:
    explained = _explain(text)
    assert len(explained) == 1
    item = explained[0]
    assert item.found.reply is None and item.found.failure is None
    assert CODELESS in item.found.facts
    assert item.verdict.category == category
    assert item.verdict.rule_id != "unmatched"


@pytest.mark.parametrize(
    "text",
    [
        # https://support.mozilla.org/en-US/questions/1505666 (Telstra's refusal, quoted by
        # Thunderbird as the server's reply: "Connection refused" is its word, not a refused
        # TCP connection; the client IP is on Abusix's list)
        "Sending of the message failed. An error occurred while sending mail: Outgoing server "
        "(SMTP) error. The server responded:  Connection refused - OB119. 192.0.2.1 is "
        "blacklisted in Abusix Mail Intelligence. See https://lookup.abusix.com/search?q=192.0.2.1 "
        "e{13a44773-d11c-4474-b4df-ab1147816018}.",
        # https://support.getmailbird.com/hc/en-us/articles/39690426358679-SMTP-server-rejected-
        # the-connection-because-your-IP-is-blacklisted (the same refusal, no list named)
        "Connection refused - OB115.",
    ],
)
def test_telstras_ob_refusal_is_its_reply_not_a_refused_connection(text: str) -> None:
    (item,) = _explain(text)
    assert item.found.reply is not None and item.found.code_inferred
    assert item.found.reply.text.startswith("Connection refused - OB1")
    assert item.verdict.category == "blocklisted"


def test_a_reply_with_its_code_is_preferred_to_the_words_alone() -> None:
    explained = _explain("550 5.7.1 we do not relay")
    assert len(explained) == 1 and explained[0].found.reply is not None
    assert CODELESS not in explained[0].found.facts


def test_words_no_rule_knows_are_still_not_found() -> None:
    assert _explain("I changed the port to 465 and it still does not work") == []


def test_words_across_a_window_edge_are_found() -> None:
    # Windows of 4096 characters overlap by 512: words cut by one window's end are whole
    # in the next.
    text = "x" * 4090 + " we do not relay"
    explained = _explain(text)
    assert [e.verdict.category for e in explained] == ["relay-denied"]
    assert explained[0].found.evidence.endswith("we do not relay")


def test_a_megabyte_of_unknown_words_is_answered_quickly() -> None:
    began = time.thread_time()
    assert _explain("no reply here at all " * 50_000) == []
    assert time.thread_time() - began < 10  # a hang guard: the first and last 64 KB only


# A log pasted whole ends with its error: the words are read in the last 64 KB too (a
# red-team round: relay words after 64 KB of log got "nothing found"). The words between
# are not read; the text report says so where it found nothing.
FILLER = "hello world filler line\n" * 3000  # 72,000 characters


def test_words_at_the_end_of_a_long_log_are_read() -> None:
    explained = _explain(FILLER + "Sending failed: the relay said we do not relay\n")
    assert [e.verdict.category for e in explained] == ["relay-denied"]


def test_a_client_error_family_at_the_end_of_a_long_log_is_read() -> None:
    # The family's own cited example (client_errors.yaml, family-dns: telus.com's help page).
    family = _explain(FILLER + "host could not be found\n")
    assert family and family[0].found.failure is not None


def test_a_long_paste_whose_middle_was_not_read_says_so() -> None:
    text = FILLER + "we do not relay\n" + FILLER  # the words at 72 KB of 144 KB
    explained = explain(text)
    assert not explained.explanations
    english = format_explain_text(explained.explanations, "en", chars=len(text))
    japanese = format_explain_text(explained.explanations, "ja", chars=len(text))
    assert "first and last 64 KB" in english and "144,016 characters" in english
    assert "最初と最後の 64 KB" in japanese
    short = format_explain_text([], "en", chars=1000)
    assert "64 KB" not in short


def test_the_report_says_it_judged_by_the_words_in_both_languages() -> None:
    explained = explain("Mailbox size limit exceeded")
    english = format_explain_text(explained.explanations, "en")
    japanese = format_explain_text(explained.explanations, "ja")
    assert english.startswith("Refusal 1 of 1") and "without their SMTP code" in english
    assert "Client error" not in english
    assert japanese.startswith("拒否の文面 1 / 1") and "応答コードがなく" in japanese
    document = explanations_to_dict(explained.pasted, explained.explanations)
    (reply,) = document["replies"]
    assert reply["reply"] is None and reply["failure"] is None
    assert reply["facts"] == [CODELESS]
    assert reply["verdict"]["category"] == "mailbox-full"


# https://digitallife2015.blogspot.com/2021/07/cant-create-output.html (development corpus)
PROCMAIL = """----- The following addresses had permanent fatal errors -----
<************ji@tt.em-net.ne.jp>
(reason: Can't create output)
----- Transcript of session follows -----
procmail: Quota exceeded while writing "/mb/tt.em-net.ne.jp************ji/Mailbox"
550 5.0.0 <************ji@tt.em-net.ne.jp>... Can't create output"""


def test_words_around_a_reply_decide_where_its_own_leave_only_the_code() -> None:
    (item,) = _explain(PROCMAIL)
    assert item.found.reply is not None and item.found.reply.code == 550
    assert item.verdict.category == "mailbox-full"
    assert item.verdict.fallback is None  # a rule that knows the words, not the code alone
    alone = _explain(PROCMAIL.splitlines()[-1])
    assert alone[0].verdict.fallback == "code"  # without the words around it: the code only


def test_words_around_never_override_a_rule_that_knows_the_reply() -> None:
    text = "procmail: Quota exceeded while writing\n550 5.1.1 <a@example.jp>: User unknown"
    (item,) = _explain(text)
    assert item.verdict.category == "recipient-unknown"


def test_words_around_name_a_mailbox_trouble_only_where_the_code_allows_one() -> None:
    # The same procmail words above a security/policy code (RFC 3463 subject 7) whose words
    # no rule knows: the code says what kind of refusal it is, the words beside it do not.
    policy = PROCMAIL.replace("550 5.0.0", "550 5.7.1")
    (item,) = _explain(policy)
    assert item.found.reply is not None and item.found.reply.enhanced == "5.7.1"
    assert item.verdict.category != "mailbox-full"
    assert item.verdict.fallback is not None  # the code's reading, said to be only that


# http://mail.spinics.net/lists/info-cyrus/msg03617.html (development corpus; elided by its poster)
LMTP = (
    "Feb 13 13:05:48 HOST postfix/lmtp[11370]: DBC8F384FC: to=<...>, orig_to=<...>, "
    "relay=public/lmtp[public/lmtp], delay=1, status=bounced (host public/lmtp[public/lmtp] "
    "said: 250 2.1.5 ok (in reply to DATA command))"
)


def test_a_positive_reply_in_a_failed_delivery_is_never_ok() -> None:
    (item,) = _explain(LMTP)
    assert item.found.reply is not None and item.found.reply.code == 250
    assert item.verdict.category == "protocol-error"
    assert item.verdict.rule_id == "positive-reply-in-failure"
    (alone,) = _explain("250 2.1.5 ok")
    assert alone.verdict.category == "ok"  # without the failure's words it is an acceptance


# iOS Mail's dialog as a page quotes it, one phrase a line
# (https://techzillo.com/how-to-fix-server-does-not-allow-relaying/).
WRAPPED_DIALOG = (
    "Cannot Send Mail\n\nA copy has been placed in your Outbox.\n\nThe recipient was rejected by"
    "\n\nthe server because it does\n\nnot allow relaying\u201d"
)


def test_a_dialog_pasted_over_several_lines_is_read_as_one() -> None:
    # Nothing is found line by line; the joined reading finds the dialog's words.
    (first,) = _explain(WRAPPED_DIALOG)
    assert first.verdict.category == "relay-denied"


def test_white_space_runs_map_back_to_their_offsets() -> None:
    from smtpprobe.core.codeless_words import one_spaced as _one_spaced

    text = "a  b\n\n c\td"
    joined, where = _one_spaced(text)
    assert joined == "a b c d"
    assert [text[i] for i in where] == ["a", " ", "b", "\n", "c", "\t", "d"]
    assert _one_spaced("one line") == ("one line", list(range(8)))


def test_a_reply_is_not_decided_by_the_words_of_another_refusal() -> None:
    # Two refusals one after the other (a log): the second, whose words no rule knows, was
    # read with the first's "Relay access denied" around it and called relay-denied, with
    # "turn on SMTP authentication" for a server that only asked to come back later.
    text = (
        "550 5.7.1 <bob@example.com>: Relay access denied\n"
        "421 4.7.0 Try again later, closing connection.\n"  # Gmail's words
    )
    result = explain(text.encode())
    assert result.explanations[0].verdict.category == "relay-denied"
    assert result.explanations[1].verdict.category != "relay-denied"


def test_the_input_is_described_as_pasted_even_in_utf16() -> None:
    # UTF-16 was described by the UTF-8 text it was turned into (size and encoding).
    text = "550 5.7.1 <you@example.jp>... Command rejected"
    for codec, read_as in (("utf-16", "utf-16"), ("utf-16-le", "utf-16-le")):
        data = text.encode(codec)
        result = explain(data)
        assert (result.pasted.size, result.pasted.encoding) == (len(data), read_as)
    assert explain(text.encode()).pasted.size == len(text)


# Codeless texts that say the refusal is for now; development texts, sources cited.
TRANSIENT = [
    # https://www.pa-solution.net/as/scope3/chupicom/web/detail.aspx?id=921&a=102&isCrawler=1
    ("temporarily over quota.", "mailbox-full", True),
    # https://docs.myasp.jp/?p=7044
    ("配信先のメールボックス容量不足のため一時的に受信できません", "mailbox-full", True),
    # https://yandex.com/support/mail/bounces/yandex/mailbox-size-limit-exceeded.html?lang=en
    ("Mailbox size limit exceeded", "mailbox-full", False),
]


@pytest.mark.parametrize(("text", "category", "retryable"), TRANSIENT)
def test_with_no_code_the_words_say_whether_it_is_for_now(
    text: str, category: str, retryable: bool
) -> None:
    # With no code to read the class from, "temporarily" / "一時的" is the 4xx of prose.
    explained = _explain(text)
    assert explained and explained[0].verdict.category == category
    assert explained[0].verdict.retryable is retryable


def test_a_refusals_words_in_place_of_a_report_are_no_step_that_worked() -> None:
    # https://github.com/mailpile/Mailpile/issues/1333 (Postfix's submission log: SASL
    # refused the password, then the client hung up; development corpus). The words a rule
    # knows stand in for the program's report of a failure: they are never "steps that
    # worked", whose trailing words the guess would read instead.
    text = (
        "postfix/submission/smtpd[30114]: warning: SASL authentication failure: Password "
        "verification failed  \n"
        "postfix/submission/smtpd[30114]: warning: unknown[2001:????:????::1]: SASL PLAIN "
        "authentication failed: authentication failure  \n"
        "postfix/submission/smtpd[30114]: lost connection after AUTH from "
        "unknown[2001:????:????::1]"
    )
    explained = explain(text).explanations  # with the learned guess, as the command reads it
    assert [item.verdict.category for item in explained] == ["auth-failed"]
    assert CODELESS in explained[0].found.facts


# Claws Mail's Japanese catalog as the negative corpus's development part holds it
# (https://github.com/eworm-de/claws-mail/blob/dad7dea84ab94bc1a9e5a35bd755756ecccc5a21/po/ja.po)
CLAWS_CATALOG = "\n".join(
    [
        "#: src/send_message.c:365",
        'msgid "Doing POP before SMTP..."',
        'msgstr "SMTPの前にPOPを実行しています..."',
        "",
        "#: src/send_message.c:368",
        'msgid "POP before SMTP"',
        'msgstr "SMTPの前にPOPを行う"',
    ]
)


def test_a_pasted_catalog_names_no_cause() -> None:
    # its strings are an interface's words (POP before SMTP is a setting's name here); read
    # line by line or joined, they report no failure
    assert _explain(CLAWS_CATALOG) == []


def test_a_reply_pasted_under_a_catalog_is_still_read() -> None:
    explained = _explain(CLAWS_CATALOG + "\n\n550 5.7.1 Relaying denied")
    assert [e.verdict.category for e in explained] == ["relay-denied"]


def test_a_topic_word_needs_its_trouble_word_near() -> None:
    # "DMARC" as a page's heading; the failure it names comes a paragraph later (a DNS
    # checker's page in the negative corpus's development part, shortened)
    filler = "DMARC tells receivers what to do with mail from your domain. " * 3
    assert _explain("DNS · TXT (DMARC)\n\n" + filler + "Mail that fails SPF or DKIM ...") == []
    # the refusal's own sentence keeps its answer
    assert [e.verdict.category for e in _explain("Message rejected as spam")] == [
        "content-rejected"
    ]


def test_words_wrapped_over_lines_are_judged_as_on_one() -> None:
    # falcosidekick-ui's log (github.com/falcosecurity/falcosidekick-ui/issues/123,
    # development corpus), its message wrapped inside a sentence: the words the rules know
    # are found across the break, and judged the same when the answer is made.
    line = "[ERROR] : SMTP - Send Mail failure : Client not authenticated to send mail."
    wrapped = line.replace("Client not ", "Client not\n")
    (whole,) = _explain(line)
    (found,) = _explain(wrapped)
    assert CODELESS in found.found.facts
    assert found.verdict.category == whole.verdict.category == "auth-required"
    assert found.verdict.rule_id == whole.verdict.rule_id


def test_the_askers_question_around_a_reply_does_not_name_it() -> None:
    # A Microsoft KB article's "500 Huh?" (github.com/jeffpar/kbarchive, kb/099/Q99854;
    # development corpus), pasted with the question a user asks about it: the question's
    # words ("doing wrong") must not turn the code's answer into a guessed category.
    alone = explain("500 Huh?").explanations
    asked = explain(
        "Hi, when I try to send mail from my app I get this:\n\n500 Huh?\n\n"
        "What am I doing wrong? Thanks\n"
    ).explanations
    assert [e.verdict.category for e in asked] == [e.verdict.category for e in alone]
    assert asked[0].verdict.category == "protocol-error"


@pytest.mark.parametrize(
    ("error", "category"),
    [
        # development corpus: round212_sumo_a.yaml (support.mozilla.org), round102_sendas.yaml,
        # round220_sumo_g.yaml; each answered alone, and in the asker's own sentences
        (
            "Outgoing server (SMTP) error. The server responded:  "
            "smtp27.relay.iad3a.emailsrvr.com ESMTP not accepting connections.",
            "greeting-rejected",
        ),
        ("Server denied POP access for the given username and password.", "auth-failed"),
        ("Message rejected for policy reason Verify your messge and retry again.", None),
    ],
)
def test_the_askers_own_sentences_around_an_error_do_not_change_its_answer(
    error: str, category: str | None
) -> None:
    alone = explain(error).explanations
    assert alone
    if category is not None:
        assert alone[0].verdict.category == category
    for before, after in (
        ("When I try to send an email from our website I receive the following message:", ""),
        ("Hi, I get this error when my app sends mail:", "I already checked the password."),
    ):
        asked = explain(f"{before}\n{error}\n{after}\n").explanations
        assert [e.verdict.category for e in asked] == [e.verdict.category for e in alone]
