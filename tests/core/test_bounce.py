"""Finding replies in pasted text: plain data in, values out (no I/O)."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smtpprobe.core.bounce as bounce
from smtpprobe.core.bounce import find_replies
from smtpprobe.core.pasted import decode_pasted

GMAIL_MULTILINE = """\
<friend@gmail.com>: host gmail-smtp-in.l.google.com[192.0.2.27] said:

    550-5.7.26 This mail is unauthenticated, which poses a security risk to the
    550-5.7.26 sender and Gmail users, and has been blocked. The sender must

for

    550 5.7.26 instructions on setting up authentication. - gsmtp (in reply to
    end of DATA command)
"""


@pytest.mark.parametrize(
    ("text", "code", "enhanced", "stage", "wrapper"),
    [
        ("550 5.7.1 <you@example.jp>... Command rejected", 550, "5.7.1", None, ""),
        (
            "リモート サーバーからの応答: 550 5.7.1 … Command rejected",
            550,
            "5.7.1",
            None,
            "リモート サーバーからの応答:",
        ),
        (
            "The response from the remote server was:\n553 5.7.1 : relay denied (E041)",
            553,
            "5.7.1",
            None,
            "",
        ),
        (
            "host mx.example.jp[192.0.2.1] said: 550 5.1.1 <a@example.jp>: Recipient address "
            "rejected: User unknown (in reply to RCPT TO command)",
            550,
            "5.1.1",
            "rcpt",
            "host mx.example.jp[192.0.2.1] said:",
        ),
        (
            "Diagnostic-Code: smtp; 452 4.2.2 The email account that you tried to reach is over "
            "quota",
            452,
            "4.2.2",
            None,
            "Diagnostic-Code: smtp;",
        ),
        (
            "5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM",
            550,
            "5.7.57",
            None,
            "",
        ),
        (GMAIL_MULTILINE, 550, "5.7.26", "data", ""),
    ],
    ids=[
        "plain",
        "gmail-ja-wrapper",
        "next-line",
        "postfix-said",
        "dsn",
        "enhanced-only",
        "gmail-multiline",
    ],
)
def test_finds_the_reply(
    text: str, code: int, enhanced: str, stage: str | None, wrapper: str
) -> None:
    found = find_replies(text)
    assert len(found) == 1
    assert (found[0].reply.code, found[0].reply.enhanced, found[0].stage) == (code, enhanced, stage)
    assert found[0].wrapper == wrapper


def test_multiline_is_one_reply_without_inline_codes_or_postfix_tail() -> None:
    (found,) = find_replies(GMAIL_MULTILINE)
    assert found.host == "gmail-smtp-in.l.google.com"
    assert "550" not in found.reply.text
    assert "in reply to" not in found.reply.text
    assert found.reply.text.startswith("This mail is unauthenticated")


@pytest.mark.parametrize(
    "text",
    [
        # An Exchange delivery report cut after its "->" (learn.microsoft.com/en-us/answers/
        # questions/1656850, development corpus), with a blank line between
        "421 4.2.1 Unable to connect ->\n\nSocketError: Failed to connect. Winsock error code: "
        "10051, Win32 error code: 10051",
        # the same, quoted in a delay notice (lore.kernel.org/qemu-devel, development corpus)
        "2024/10/1 上午 06:43:04 - Server at nongnu.org (2001:470:142:3::10) returned '451 "
        "4.4.397 Error communicating with target host. -> 421 4.2.1 Unable to connect ->\n"
        "SocketError: Failed to connect. Winsock error code: 10051, Win32 error code: 10051'",
    ],
)
def test_a_reply_cut_after_exchanges_arrow_goes_on(text: str) -> None:
    (found,) = find_replies(text)
    assert found.reply.text.endswith("Win32 error code: 10051")
    # Without the arrow, a blank line ends a final reply as before.
    (alone, *_) = find_replies("421 4.2.1 Unable to connect\n\nSocketError: 10051")
    assert "SocketError" not in alone.reply.text


def test_several_replies_and_duplicates() -> None:
    text = (
        "550-5.1.1 The email account that you tried to reach does not exist.\n"
        "550 5.1.1 Please try double-checking.\n\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not "
        "exist. 550 5.1.1 Please try double-checking.\n\n"
        "452 4.2.2 The email account that you tried to reach is over quota.\n"
    )
    found = find_replies(text)
    assert [(f.reply.code, f.reply.enhanced) for f in found] == [(550, "5.1.1"), (452, "4.2.2")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        "ポート 465 で SSL を使用",
        "465 SSL",
        "2026 年 1 月 30 日",
        "500\n550\n",
        "200 OK",
    ],
)
def test_no_reply_in_prose(text: str) -> None:
    assert find_replies(text) == []


def test_japanese_commentary_after_a_reply_is_not_part_of_it() -> None:
    text = (
        "550-5.7.26 The MAIL FROM domain [example.jp] has an SPF record with a hard fail\n"
        "but it fails to pass SPF checks.\n"
        "このエラーは、SPFレコードで許可されていないIPアドレスから送信している場合に発生します。\n"
        "DMARC も確認してください。\n"
    )
    (found,) = find_replies(text)
    assert "DMARC" not in found.reply.text


def test_decodes_iso_2022_jp_shift_jis_and_encoded_words() -> None:
    line = "553 5.7.1 : クライアントホストが拒否されました: リレーアクセスが拒否されました(E041)"
    for encoding in ("iso-2022-jp", "cp932", "euc-jp", "utf-8"):
        pasted = decode_pasted(line.encode(encoding))
        assert pasted.text == line, encoding
    assert "配信不能" in decode_pasted("Subject: =?UTF-8?B?6YWN5L+h5LiN6IO9?=\n").text


def test_mime_dsn_skips_the_returned_original() -> None:
    from pathlib import Path

    raw = (
        Path(__file__).parents[1] / "data" / "bounces" / "postfix-dsn-iso2022jp.eml"
    ).read_bytes()
    pasted = decode_pasted(raw)
    assert pasted.kind == "mime"
    found = find_replies(pasted.text)
    assert [(f.reply.code, f.reply.enhanced) for f in found] == [(550, "5.1.1")]
    assert found[0].recipient == "friend@gmail.com"
    assert found[0].status == "5.1.1"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_never_raises_on_any_bytes(data: bytes) -> None:
    for found in find_replies(decode_pasted(data).text):
        assert 200 <= found.reply.code < 600


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_never_raises_on_any_text(text: str) -> None:
    find_replies(text)


def test_a_long_line_is_wrapped_not_lost() -> None:
    # Issue 7: lines are bounded (MAX_LINE) so that no pattern sees a 400 KB line.
    from smtpprobe.core.bounce import MAX_LINE

    text = "The response was: 550 5.7.1 " + "relay denied " * 40_000 + "\nthe end"
    (found,) = find_replies(text)
    assert (found.reply.code, found.reply.enhanced) == (550, "5.7.1")
    assert found.reply.text.startswith("relay denied relay denied")
    assert all(len(line) <= MAX_LINE for line in found.reply.lines)


def test_the_number_of_replies_is_bounded() -> None:
    from smtpprobe.core.bounce import MAX_REPLIES

    text = "".join(f"550 5.1.1 <user{i}@example.jp>: unknown\n" for i in range(MAX_REPLIES * 3))
    assert len(find_replies(text)) == MAX_REPLIES


def test_encoded_words_split_inside_a_character_and_in_unknown_charsets() -> None:
    # "宛先" in UTF-8 split between two encoded words (RFC 2047 forbids it; mailers do it).
    import base64

    first, second = "宛".encode(), "先".encode()
    word1 = base64.b64encode(first + second[:1]).decode()
    word2 = base64.b64encode(second[1:]).decode()
    pasted = decode_pasted(f"Subject: =?utf-8?B?{word1}?= =?utf-8?B?{word2}?=\n".encode())
    assert "宛先" in pasted.text
    assert "abc" in decode_pasted(b"=?x-no-such?Q?abc?= =?punycode?B?YWJj?=\n").text


def test_a_pathological_html_part_is_fast() -> None:
    import time

    raw = b"Content-Type: text/html\n\n" + b"<" * 300_000 + b"<br>550 5.7.1 relay denied"
    start = time.thread_time()
    (found,) = find_replies(decode_pasted(raw).text)
    assert time.thread_time() - start < 5
    assert found.reply.code == 550


def test_deeply_nested_multiparts_do_not_raise() -> None:
    level = 'Content-Type: multipart/mixed; boundary="b{0}"\n\n--b{0}\n'
    head = "".join(level.format(i) for i in range(2000))
    raw = (head + "Content-Type: text/plain\n\n550 5.7.1 relay denied\n").encode()
    find_replies(decode_pasted(raw).text)


def test_an_endless_multiline_reply_is_cut() -> None:
    import time

    start = time.thread_time()
    # 400 KB, the paste the regex guard's promise is about (tests/core/test_regex_safety.py)
    (found,) = find_replies("550-5.7.1 again\n" * 25_000 + "550 5.7.1 last\n")
    assert time.thread_time() - start < 10
    assert (found.reply.code, found.reply.enhanced) == (550, "5.7.1")
    assert 1 < len(found.reply.lines) <= 100


# --- issue 8: a reply from every shape people paste ------------------------------------------
# Each text is copied verbatim from the development corpus (tests/data/corpus/development/*.yaml,
# its source cited beside it) or, for a shape that part lacks, from the public page cited.
# The expected text is the reply's words as ``Reply.text`` gives them (lines joined).

PASTE_SHAPES = [
    pytest.param(
        # https://github.com/hacky1997/voice-based-email-for-blind/issues/22
        "    raise SMTPAuthenticationError(code, resp)\nsmtplib.SMTPAuthenticationError: (535, "
        "b'5.7.8 Username and Password not accepted. Learn more at\\n5.7.8  https://support.goo"
        "gle.com/mail/?p=BadCredentials j10sm5731558pfn.207 - gsmtp')",
        535,
        "5.7.8",
        "Username and Password not accepted. Learn more at https://support.google.com/mail/?p="
        "BadCredentials j10sm5731558pfn.207 - gsmtp",
        "auth",
        id="smtplib-tuple-escaped-lines",
    ),
    pytest.param(
        # https://github.com/ae-utbm/sith/issues/91
        "SMTPRecipientsRefused: {'user@example.com': (550, b'5.1.1 <user@example.com>: Recipient "
        "address rejected: User unknown in local recipient table')}\n(11 additional frame(s) were "
        "not displayed)",
        550,
        "5.1.1",
        "<user@example.com>: Recipient address rejected: User unknown in local recipient table",
        "rcpt",
        id="smtplib-recipients-dict",
    ),
    pytest.param(
        # https://github.com/sabuhish/fastapi-mail/issues/75
        "aiosmtplib.errors.SMTPDataError: (432, '4.3.2 Concurrent connections limit exceeded. "
        "Visit https://aka.ms/concurrent_sending for more information. [Hostname=OS0PR01MB6099."
        "jpnprd01.prod.outlook.com]')",
        432,
        "4.3.2",
        "Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more "
        "information. [Hostname=OS0PR01MB6099.jpnprd01.prod.outlook.com]",
        "data",
        id="smtplib-data-error",
    ),
    pytest.param(
        # https://github.com/metomi/rose/issues/946
        "smtplib.SMTPSenderRefused: (553, '5.5.4 ... Domain name required for sender address "
        "oliverh', 'oliverh')\nERROR: process failed: 255",
        553,
        "5.5.4",
        "... Domain name required for sender address oliverh",
        "mail",
        id="smtplib-sender-refused",
    ),
    pytest.param(
        # smtplib's set_debuglevel output, from PyMOTW's smtplib page ("Verifying an Email
        # Address"): https://github.com/dhellmann/pymotw/blob/master/PyMOTW/smtplib/index.rst
        "    send: 'vrfy <notthere>\\r\\n'\n"
        "    reply: '550 5.1.1 <notthere>... User unknown\\r\\n'\n"
        "    reply: retcode (550); Msg: 5.1.1 <notthere>... User unknown\n"
        "    send: 'quit\\r\\n'\n"
        "    reply: '221 2.0.0 mail.example.com closing connection\\r\\n'\n"
        "    reply: retcode (221); Msg: 2.0.0 mail.example.com closing connection\n"
        "    dhellmann: (250, '2.1.5 Doug Hellmann <dhellmann@mail.example.com>')\n"
        "    notthere : (550, '5.1.1 <notthere>... User unknown')",
        550,
        "5.1.1",
        "<notthere>... User unknown",
        None,
        id="smtplib-debug-retcode",
    ),
    pytest.param(
        # https://github.com/nodemailer/nodemailer/issues/922
        "code: 'EAUTH', response: '535 5.7.3 Authentication unsuccessful', responseCode: 535, "
        "command: 'AUTH LOGIN' }",
        535,
        "5.7.3",
        "Authentication unsuccessful",
        "auth",
        id="nodemailer-error-object",
    ),
    pytest.param(
        # https://github.com/jef/streetmerchant/issues/1190
        '"code: AUTH",\n  "response": "535-5.7.8 Username and Password not accepted. Learn more '
        'at\\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials PASSWORD - gsmtp",\n  '
        '"responseCode": 535,\n  "command": "AUTH PLAIN",',
        535,
        "5.7.8",
        "Username and Password not accepted. Learn more at https://support.google.com/mail/?p="
        "BadCredentials PASSWORD - gsmtp",
        "auth",
        id="nodemailer-json-escaped-lines",
    ),
    pytest.param(
        # https://github.com/rpremraj/mailR/issues/107
        "DEBUG SMTP: AUTH LOGIN failed\njavax.mail.AuthenticationFailedException: 535 5.7.139 "
        "Authentication unsuccessful, basic authentication is disabled. [BM1P287CA0015.INDP287."
        "PROD.OUTLOOK.COM]",
        535,
        "5.7.139",
        "Authentication unsuccessful, basic authentication is disabled. [BM1P287CA0015.INDP287."
        "PROD.OUTLOOK.COM]",
        "auth",
        id="javamail-exception",
    ),
    pytest.param(
        # https://github.com/Cloud9Developer/Jellyfin-Newsletter-Plugin/issues/130
        "[NLP]: [2025-06-14] :: [20:23:22] - [ERR] An error has occured: System.Net.Mail.Smtp"
        "FailedRecipientException: Mailbox name not allowed. The server response was: 5.7.1 "
        "<example@example.com>: Sender address rejected: not logged in",
        553,  # .NET's "Mailbox name not allowed." is its name for 553
        "5.7.1",
        "<example@example.com>: Sender address rejected: not logged in",
        "rcpt",
        id="dotnet-server-response-was",
    ),
    pytest.param(
        # https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/6099
        "Remote Server returned '550 5.7.708 Service unavailable. Access denied, traffic not "
        "accepted from this IP. For more information please go to http://go.microsoft.com/fwlink"
        "/?LinkId=526653 AS(7171) [DM6PR09MB5976.namprd09.prod.outlook.com]'",
        550,
        "5.7.708",
        "Service unavailable. Access denied, traffic not accepted from this IP. For more "
        "information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7171) "
        "[DM6PR09MB5976.namprd09.prod.outlook.com]",
        None,
        id="exchange-ndr-remote-server-returned",
    ),
    pytest.param(
        # https://github.com/Xilinx/embeddedsw/issues/176
        "Diagnostic information for administrators:\nGenerating server: BYAPR02MB5606.namprd02"
        ".prod.outlook.com\nsvemula-all-emp@xilinx.com\nRemote Server returned '554 5.7.0 < #5.7"
        ".133 smtp;550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication "
        "required; Delivery restriction check failed because the sender was not authenticated "
        "when sending to this group>'",
        550,
        "5.7.133",
        "RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; Delivery "
        "restriction check failed because the sender was not authenticated when sending to this "
        "group",
        None,
        id="exchange-ndr-nested-reply",
    ),
    pytest.param(
        # A Windows SMTP service's log, quoted in Microsoft Q&A question 2276469:
        # https://learn.microsoft.com/en-us/answers/questions/2276469/smtp-send-to-exchange-online-with-inbound-connecto
        "Once we have it set it works fine for a bit but then we start getting errors in the SMTP "
        "logs for\n\n550+5.7.64+TenantAttribution;+Relay+Access+Denied+ localservername+is+"
        "untrustedroot. \n\nSo it is trying to use the servers local cert",
        550,
        "5.7.64",
        "TenantAttribution; Relay Access Denied localservername is untrustedroot.",
        None,
        id="iis-plus-encoded",
    ),
    pytest.param(
        # qmail-send's report quoted from a bounce, in a mail to the Linux kernel list:
        # https://lore.kernel.org/all/Pine.LNX.4.60.0510112325410.19291@poirot.grange/
        "<petero2@telia.com>:\n81.228.8.84_does_not_like_recipient./Remote_host_said:_553_RCPT_TO:"
        "<petero2@telia.com>_refused/G\niving_up_on_81.228.8.84./",
        553,
        None,
        "RCPT TO:<petero2@telia.com> refused",
        "rcpt",
        id="qmail-underscore-report",
    ),
    pytest.param(
        # https://github.com/notqmail/notqmail/blob/master/qmail-smtpd.c (mta.yaml)
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        553,
        "5.7.1",
        "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        None,
        id="qmail-enhanced-at-the-end",
    ),
    pytest.param(
        # https://github.com/codeforamerica/clean/issues/331
        "Reason: 552 #5.3.4 message size exceeds limit",
        552,
        "5.3.4",
        "message size exceeds limit",
        None,
        id="hash-enhanced-after-the-code",
    ),
    pytest.param(
        # qmail-local's own bounce has no basic code (qmail-local.c); a real one quoted on the
        # netdev list: https://lore.kernel.org/netdev/Z14-sYvgzEPZSTyR@gallifrey/
        "Note the hippi list address bounces:\n\n<linux-hippi@sunsite.dk>:\nSorry, no mailbox "
        "here by that name. (#5.1.1)\n\nDave",
        550,
        "5.1.1",
        "Sorry, no mailbox here by that name. (#5.1.1)",
        None,
        id="qmail-local-no-basic-code",
    ),
    pytest.param(
        # Exchange 2003's NDR: the reason's sentence, then the server and the enhanced code on
        # a line of their own (development corpus):
        # http://thebackroomtech.com/2008/03/28/troubleshooting-exchange-error-447-delivery-delay-and-failures/
        "Your message did not reach some or all of the intended recipients.\n"
        " The following recipient(s) could not be reached:\n"
        " user@domain.com on 3/27/2008 9:11 AM \n"
        "Could not deliver the message in the time limit specified. Please retry or contact "
        "your administrator.\n<originating.mailserver.hostname #4.4.7>",
        450,
        "4.4.7",
        "Could not deliver the message in the time limit specified. Please retry or contact "
        "your administrator.",
        None,
        id="exchange-ndr-tail",
    ),
    pytest.param(
        # https://github.com/jeffpar/kbarchive/blob/master/kb/304/Q304897/README.md
        ">>> MAIL FROM:<spamtest@contoso.net>\n<<< 250 2.1.0 spamtest@contoso.net....Sender OK\n"
        ">>> RCPT TO:<relaytest@contoso.net>\n<<< 550 5.7.1 Unable to relay for relaytest@"
        "contoso.net",
        550,
        "5.7.1",
        "Unable to relay for relaytest@contoso.net",
        "rcpt",
        id="sendmail-transcript",
    ),
    pytest.param(
        # https://github.com/jetmore/swaks/issues/15
        " -> AUTH LOGIN\n<** 530 Must issue a STARTTLS command first\n -> AUTH PLAIN \n****"
        "credentials removed***********\n<** 530 Must issue a STARTTLS command first\n*** No "
        "authentication type succeeded",
        530,
        None,
        "Must issue a STARTTLS command first",
        "auth",
        id="swaks-transcript",
    ),
    pytest.param(
        # https://github.com/jetmore/swaks/issues/38 ("<~*": an error reply over TLS)
        " ~> AUTH CRAM-MD5\n<~  334 PDI...Pg==\n ~> cG9...Mw==\n<~* 535 authentication failed\n"
        "*** No authentication type succeeded\n ~> QUIT\n<~  221 ...\n=== Connection closed with "
        "remote host.",
        535,
        None,
        "authentication failed",
        "auth",
        id="swaks-tls-transcript",
    ),
    pytest.param(
        # https://github.com/curl/curl/issues/4080
        "> AUTH PLAIN\n< 535 Incorrect authentication data\n* Closing connection 0\ncurl: (67) "
        "Login denied",
        535,
        None,
        "Incorrect authentication data",
        "auth",
        id="curl-verbose",
    ),
    pytest.param(
        # https://github.com/namshi/docker-smtp/issues/85
        "MAIL FROM:<y_nk@some-domain-i-own.com>\n250 OK\nRCPT TO:<y_nk@gmail.com>\n550 relay not "
        "permitted",
        550,
        None,
        "relay not permitted",
        "rcpt",
        id="bare-transcript",
    ),
    pytest.param(
        # https://github.com/OpenSMTPD/OpenSMTPD/issues/546
        'smtp-in: Failed command on session a6ee64eda205f046: "RCPT TO:<foo@example.com>" => 451 '
        "Temporary failure",
        451,
        None,
        "Temporary failure",
        "rcpt",
        id="opensmtpd-arrow",
    ),
    pytest.param(
        # https://github.com/testssl/testssl.sh/issues/2089
        "    S: 421 4.7.0 is-comm2.is-ol.de Error: too many connections from [my_server_ip]",
        421,
        "4.7.0",
        "is-comm2.is-ol.de Error: too many connections from [my_server_ip]",
        None,
        id="server-prefix",
    ),
    pytest.param(
        # https://github.com/jeffpar/kbarchive/blob/master/kb/305/Q305007/README.md
        "The message could not be sent because one of the recipients was rejected by\nthe server. "
        "The rejected e-mail address was 'XXX@XXX.XXX'. Subject 'XXXX',\nAccount: 'XXX', Server: "
        "'XXX.XXX.XXX.XXX', Protocol: SMTP, Server Response:\n'550 Requested action not taken: "
        "mailbox unavailable', Port: 25, Secure(SSL):\nNo, Server Error: 550, Error Number: "
        "0x800CCC79",
        550,
        None,
        "Requested action not taken: mailbox unavailable",
        "rcpt",
        id="single-quotes-outlook-dialog",
    ),
    pytest.param(
        # https://github.com/balping/ticketit-app/issues/7
        'Expected response code 250 but got code "530", with message "530 5.7.1 Authentication '
        'required\n" getting error in fresh package',
        530,
        "5.7.1",
        "Authentication required",
        None,
        id="double-quotes-swiftmailer",
    ),
    pytest.param(
        # https://www.hostpapa.com/knowledgebase/email-bounceback-mean/
        "Bounceback messages will usually include numeric error codes like “550-5.1.1”.",
        550,
        "5.1.1",
        "",
        None,
        id="curly-quotes",
    ),
    pytest.param(
        # https://m32006400n.xsrv.jp/infrastructure/outlook-1159
        "今日は、メールを送信した際に遭遇することがある「550 5.1.1」"
        "というエラーについてお話しします。",
        550,
        "5.1.1",
        "",
        None,
        id="japanese-corner-brackets",
    ),
    pytest.param(
        # https://github.com/andris9/simplesmtp/pull/7
        "└──553 5.3.0 Auth failure\n{ [AuthError: Invalid login - 553 5.3.0 Auth failure] name: "
        "'AuthError'",
        553,
        "5.3.0",
        "Auth failure",
        "auth",
        id="after-prose-with-enhanced-code",
    ),
    pytest.param(
        # https://github.com/sisimai/rb-sisimai/issues/77
        "Aug 12 21:56:59 7018869c144e postfix/smtp[592]: F180CB7A: to=<[redacted]@[redacted].br>, "
        "relay=[redacted]-br.mail.protection.outlook.com[207.46.163.74]:25, delay=5.5, delays="
        "0.09/0/0.43/5, dsn=5.4.1, status=bounced (host [redacted]-br.mail.protection.outlook.com"
        "[207.46.163.74] said: 550 5.4.1 [[redacted]@[redacted].br]: Recipient address rejected: "
        "Access denied [BL2NAM02FT061.eop-nam02.prod.protection.outlook.com] (in reply to RCPT TO "
        "command))",
        550,
        "5.4.1",
        "[[redacted]@[redacted].br]: Recipient address rejected: Access denied [BL2NAM02FT061."
        "eop-nam02.prod.protection.outlook.com]",
        "rcpt",
        id="postfix-maillog",
    ),
    pytest.param(
        # https://pastebin.com/dDQSj00E
        "<user@hotmail.de>: host mx4.hotmail.com[104.44.194.236] said: 550\nSC-001 (SNT004-MC10F17)"
        " Unfortunately, messages from 192.0.2.110 weren't\nsent. Please contact your Internet "
        "service provider since part of their\nnetwork is on our block list. You can also refer "
        "your provider to\nhttp://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to "
        "MAIL\nFROM command)",
        550,
        None,
        "SC-001 (SNT004-MC10F17) Unfortunately, messages from 192.0.2.110 weren't sent. Please "
        "contact your Internet service provider since part of their network is on our block list."
        " You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx"
        "#errors.",
        "mail",
        id="postfix-said-code-alone",
    ),
    pytest.param(
        # https://pastebin.com/UHskrjFA
        "Failed Recipient: user@live.com.au\nReason: Remote host said: 550 5.7.1 Unfortunately, "
        "messages from\n[192.0.2.237] weren't sent. Please contact your Internet service provider"
        "\nsince part of their network is on our block list (AS3150). You can also\nrefer your "
        "provider to\nhttp://mail.live.com/mail/troubleshooting.aspx#errors.\n[SG2APC01FT054.eop-"
        "APC01.prod.protection.outlook.com]",
        550,
        "5.7.1",
        "Unfortunately, messages from [192.0.2.237] weren't sent. Please contact your Internet "
        "service provider since part of their network is on our block list (AS3150). You can "
        "also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors.",
        None,
        id="rewrapped-sentence",
    ),
    pytest.param(
        # https://bloggerblog0.blogspot.com/2021/09/smtp.html (Google's SMTP error reference)
        '421, "4.4.5", Server busy, try again later.(421, "4.4.5", サーバーがビジーです。しばらく'
        "してからもう一度お試しください。)",
        421,
        "4.4.5",
        'Server busy, try again later.(421, "4.4.5", サーバーがビジーです。しばらくしてからもう一度'
        "お試しください。)",
        None,
        id="google-reference-row",
    ),
    pytest.param(
        # https://support.google.com/a/answer/3726730?hl=de (the reference's older German
        # edition: a dash after the quoted enhanced code; development corpus)
        '421, "4.4.5" – Server ist ausgelastet. Bitte versuchen Sie es später noch einmal.',
        421,
        "4.4.5",
        "Server ist ausgelastet. Bitte versuchen Sie es später noch einmal.",
        None,
        id="google-reference-row-german",
    ),
    pytest.param(
        # https://netcomplete.ch/bwl-knowledge-base/general/ueberblick-ueber-smtp-fehler (the
        # reference quoted in Swiss German, with guillemets; development corpus)
        "450, «4.2.1» – Der Nutzer, den Sie kontaktieren möchten, erhält zu rasch E-Mails.",
        450,
        "4.2.1",
        "Der Nutzer, den Sie kontaktieren möchten, erhält zu rasch E-Mails.",
        None,
        id="google-reference-row-guillemets",
    ),
    pytest.param(
        # https://github.com/roundcube/roundcubemail/issues/7448
        "Error SMTP (451): (Temporary local problem - please try later).",
        451,
        None,
        "(Temporary local problem - please try later).",
        None,
        id="roundcube-code-in-parentheses",
    ),
    pytest.param(
        # https://github.com/gen-smtp/gen_smtp/issues/140
        '{{nocatch,{permanent_failure,<<"550 5.4.5 Daily user sending quota exceeded. '
        'o65sm25351206pga.71 - gsmtp\\r\\n">>}}',
        550,
        "5.4.5",
        "Daily user sending quota exceeded. o65sm25351206pga.71 - gsmtp",
        None,
        id="erlang-binary",
    ),
    pytest.param(
        # https://github.com/axllent/mailpit/issues/596
        'time="2025/12/21 00:52:05" level=error msg="[relay] error: error sending MAIL command: '
        "530 5.7.0 Authentication Required. For more information, go to\\n5.7.0 https://support"
        ".google.com/accounts/troubleshooter/2402620. d9443c01a7336-2a2f3c65d66sm50829075ad.20 - "
        'gsmtp"',
        530,
        "5.7.0",
        "Authentication Required. For more information, go to https://support.google.com/"
        "accounts/troubleshooter/2402620. d9443c01a7336-2a2f3c65d66sm50829075ad.20 - gsmtp",
        "mail",
        id="go-log-escaped-lines",
    ),
    pytest.param(
        # https://github.com/PHPMailer/PHPMailer/issues/2070
        "SMTP -> FROM SERVER:421 Too many concurrent SMTP connections; please try again later. "
        'CLIENT -> SMTP: EHLO "domainname" SMTP -> FROM SERVER: SMTP -> ERROR: EHLO not accepted '
        "from server:",
        421,
        None,
        "Too many concurrent SMTP connections; please try again later.",
        None,
        id="phpmailer-debug-on-one-line",
    ),
    pytest.param(
        # https://github.com/mailpile/Mailpile/issues/2251
        '  "last_error": "5.7.0 Must issue a STARTTLS command first (530 5.7.0 Must issue a '
        'STARTTLS command first)", \n  "last_error_details": {\n   "smtp_error": "530: 5.7.0 Must '
        'issue a STARTTLS command first"\n  }, ',
        530,
        "5.7.0",
        "Must issue a STARTTLS command first",
        None,
        id="json-code-colon-and-parentheses",
    ),
    pytest.param(
        # https://github.com/M66B/FairEmail/blob/master/FAQ.md (a code outside 4x0-4x5/5x0-5x5)
        "571 5.7.1 Relay access denied",
        571,
        "5.7.1",
        "Relay access denied",
        None,
        id="code-outside-rfc-with-enhanced",
    ),
    pytest.param(
        # http://mahoro-ba.net/index.php?j=530 (Outlook's Japanese dialog)
        "受信者の 1 人がサーバーによって拒否されたため、メッセージを 送信できませんでした。 "
        "拒否された電子メール アドレス : ***@*******, 件名 '******', アカウント : "
        "'mbp.nifty.com', サーバー : 'mbp.nifty.com', プロトコル : SMTP, サーバーの応答 : "
        "'554 sorry, you must get POP/APOP authorization.', ポート : 25, セキュリティ (SSL): "
        "なし, サーバー エラー : 554, エラー番号 : 0x800CCC79",
        554,
        None,
        "sorry, you must get POP/APOP authorization.",
        "rcpt",
        id="outlook-dialog-japanese",
    ),
    pytest.param(
        # http://support.microsoft.com/kb/290842/fr (Outlook's dialog, Microsoft's French page)
        "Impossible d'envoyer le message car l'un des destinataires a été refusé par le "
        "serveur. L'adresse de messagerie refusée était '<personne@exemple.com>'. Objet : "
        "'<Test>', Compte : '<Test>', Serveur : '<smtp.exemple.com>', Protocole : SMTP, "
        "Réponse du serveur : '550 <personne@exemple.com>... Relais refusé', Port : 25, "
        "Sécurisé (SSL) : Non, Erreur du serveur : 550, Numéro d'erreur : 0x800CCC79",
        550,
        None,
        "<personne@exemple.com>... Relais refusé",
        "rcpt",
        id="outlook-dialog-french",
    ),
    pytest.param(
        # Exim's log of a failed delivery, wrapped after the codes ("Delivery failures", the
        # Exim specification, doc/doc-docbook/spec.xfpt at 13835a3c; "pipelined": the command
        # went in a pipelined group, transports/smtp.c)
        "2002-07-11 07:14:17 17SXDU-000189-00 ** ace400@pb.example\nR=dnslookup T=remote_smtp: "
        "SMTP error from remote mailer\nafter pipelined RCPT TO:<ace400@pb.example>: host\n"
        "pbmail3.py.example [192.168.63.111]: 553 5.3.0\n<ace400@pb.example>...Addressee unknown",
        553,
        "5.3.0",
        "<ace400@pb.example>...Addressee unknown",
        "rcpt",
        id="exim-log-wrapped-after-codes",
    ),
    pytest.param(
        # https://github.com/schleuder/schleuder/blob/878fdba4c3c3f5982e183a9b144424025e94510d/spec/fixtures/mails/bounce.eml
        # (Exim's bounce, its reason on the line after "rejected:", then Exim's own "retry
        # timeout exceeded"; development corpus, the address replaced)
        "  user@example.com\n    host 127.0.0.1 [127.0.0.1]\n    SMTP error from remote mail "
        "server after RCPT TO:<user@example.com>:\n    450 4.7.1 <user@example.com>: Recipient "
        "address rejected:\n    Sorry, your message cannot be delivered to that person because "
        "their mailbox is full. If you can contact them another way, you may wish to tell them "
        "of this problem:\n    retry timeout exceeded",
        450,
        "4.7.1",
        "<user@example.com>: Recipient address rejected: Sorry, your message cannot be delivered "
        "to that person because their mailbox is full. If you can contact them another way, you "
        "may wish to tell them of this problem:",
        "rcpt",
        id="exim-bounce-reason-after-colon",
    ),
    pytest.param(
        # https://pastebin.com/HJQ7Mvep (development corpus, providers.yaml) re-wrapped at 60
        # columns, as a forum post does: the reply's first line ends on "rejected:", and the
        # reason on the next line, not indented, is the reply's too.
        "554 5.7.1 <user@example.com>: Recipient address rejected:\nQuota exceeded",
        554,
        "5.7.1",
        "<user@example.com>: Recipient address rejected: Quota exceeded",
        None,
        id="reply-reason-after-colon-rewrapped",
    ),
]


@pytest.mark.parametrize(("text", "code", "enhanced", "words", "stage"), PASTE_SHAPES)
def test_a_reply_from_each_paste_shape(
    text: str, code: int, enhanced: str | None, words: str, stage: str | None
) -> None:
    found = find_replies(decode_pasted(text).text)
    assert len(found) == 1, [f.reply.display() for f in found if f.reply]
    reply = found[0].reply
    assert reply is not None
    assert (reply.code, reply.enhanced, reply.text, found[0].stage) == (
        code,
        enhanced,
        words,
        stage,
    )


def test_escaped_line_breaks_become_the_replys_lines() -> None:
    # https://github.com/hacky1997/voice-based-email-for-blind/issues/22: smtplib keeps each
    # line's enhanced code and joins the lines with "\n" inside the bytes literal.
    text = (
        "smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted. "
        "Learn more at\\n5.7.8  https://support.google.com/mail/?p=BadCredentials "
        "j10sm5731558pfn.207 - gsmtp')"
    )
    (found,) = find_replies(text)
    assert found.reply is not None
    assert found.reply.lines == (
        "Username and Password not accepted. Learn more at",
        "https://support.google.com/mail/?p=BadCredentials j10sm5731558pfn.207 - gsmtp",
    )
    assert found.wrapper == "smtplib.SMTPAuthenticationError:"


def test_an_iis_command_line_names_the_stage_of_the_next_reply() -> None:
    # IIS's NCSA-format SMTP log, from OSSEC's log samples:
    # https://github.com/ossec/ossec-docs/blob/master/docs/log_samples/email/exchange2000.rst
    text = (
        '  205.188.158.121 - OutboundConnectionCommand [11/Oct/2006:13:17:02 -0600] "MAIL -?FROM:'
        '<pbourque@meelift.com> SMTP" 0 4\n'
        "  205.188.158.121 - OutboundConnectionResponse [11/Oct/2006:13:17:02 -0600] "
        '"- -?250+OK SMTP" 0 6'
    )
    (found,) = find_replies(text)
    assert found.reply is not None
    assert (found.reply.code, found.reply.text, found.stage) == (250, "OK", "mail")


def test_a_byte_order_mark_and_utf16_text() -> None:
    # https://github.com/notqmail/notqmail/blob/master/qmail-smtpd.c (mta.yaml), saved the ways
    # Windows saves text: UTF-8 with a byte order mark, and UTF-16 with and without one.
    line = "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n"
    for raw, encoding in (
        (codecs.BOM_UTF8 + line.encode(), "utf-8"),
        (line.encode("utf-16"), "utf-16"),
        (line.encode("utf-16-le"), "utf-16-le"),
        (line.encode("utf-16-be"), "utf-16-be"),
    ):
        pasted = decode_pasted(raw)
        assert pasted.encoding == encoding
        (found,) = find_replies(pasted.text)
        assert found.reply is not None
        assert (found.reply.code, found.reply.enhanced) == (553, "5.7.1"), encoding
    (found,) = find_replies("\ufeff" + line)  # a BOM kept in already decoded text
    assert found.reply is not None and found.reply.code == 553


def test_a_net_smtp_debug_line_is_a_transcript_line() -> None:
    # https://lore.kernel.org/git/7vfx433l9x.fsf@alter.siamese.dyndns.org/ (development
    # corpus): git send-email's Net::SMTP debug output names the object before the arrow.
    text = (
        "Net::SMTP=GLOB(0x267ec28)>>> EHLO localhost.localdomain\n"
        "Net::SMTP=GLOB(0x267ec28)<<< 550 EHLO argument does not match calling host"
    )
    found = find_replies(text)
    assert [(f.reply.code if f.reply else None, f.stage) for f in found] == [(550, "ehlo")]


def test_positive_replies_of_a_transcript_are_left_out() -> None:
    # https://github.com/CyberNinjas/pam_aad/issues/35: the 250 is the dialogue, the 550 the answer.
    text = (
        "MAIL FROM: noreply@example.com\n250 2.1.0 Sender OK\nRCPT TO: email\n550 5.7.1 Service "
        "unavailable, Client host [203.0.113.40] blocked using Spamhaus. To request removal from "
        "this list see https://www.spamhaus.org/query/ip/[203.0.113.40] (AS16012611) [DM3NAM03FT051"
        ".eop-NAM03.prod.protection.outlook.com]"
    )
    found = find_replies(text)
    assert [(f.reply.code if f.reply else None, f.stage) for f in found] == [(550, "rcpt")]


@pytest.mark.parametrize(
    "text",
    [
        "port 465",
        "Use port 587 or 465 (SSL)",
        "2021 年 1 月",
        "Error 500 in line 3",
        "Error: 404 Not Found",  # HTTP: SMTP has no 40x reply
        "HTTP/1.1 503 Service Unavailable",
        "(500 emails per day)",
        "Version 2.5.1 released",
        "if code < 500 or code >= 600:",  # pasted code: "<" is a comparison, not curl's arrow
        "if mx >= 300 and mx <= 500 and my >= 490 and my <= 535 then",
        "x = (550, 7)",
        "Permanent error (foo): retry later",
        "Step one - 550 Points",  # a dash and a number: a reply needs a sentence after it
        "Page 2 - 450 Emails per day",
    ],
)
def test_prose_numbers_are_not_replies(text: str) -> None:
    assert find_replies(text) == []


def test_lettres_error_keeps_the_code_with_or_without_words() -> None:
    # lettre's Display: "permanent error (535)" and "transient error (421): <the reply>"
    # (https://github.com/pimalaya/himalaya/issues/294 pastes the first).
    (bare,) = find_replies("Error: permanent error (535)")
    assert bare.reply is not None and bare.reply.code == 535
    (worded,) = find_replies("Error: transient error (421): 4.7.0 Try again later")
    assert worded.reply is not None and worded.reply.code == 421
    assert worded.reply.enhanced == "4.7.0"


def test_lettres_debug_form_that_keeps_only_the_code() -> None:
    # lettre's error kind in Debug form, with no message: the code is spelled out in words
    # (https://github.com/YunoHost-Apps/vaultwarden_ynh/issues/145 pastes it).
    text = (
        "SMTP 5xx error: lettre::transport::smtp::Error { kind: Permanent(Code { severity: "
        "PermanentNegativeCompletion, category: Unspecified3, detail: Five }) }"
    )
    (found,) = find_replies(text)
    assert found.reply is not None and (found.reply.code, found.reply.lines) == (535, ())
    # A positive code spelled so is no refusal (built here).
    assert find_replies(text.replace("PermanentNegativeCompletion", "PositiveCompletion")) == []


def test_postfix_keeps_its_indented_lines_up_to_in_reply_to() -> None:
    # A Postfix bounce re-wraps the reply and indents the rest: a line after a full stop is
    # still the reply, up to "(in reply to MAIL\n    FROM command)", wrapped as it is here
    # (https://github.com/mailcow/mailcow/issues/374, verbatim).
    text = (
        "<example@hotmail.de>: host mx1.hotmail.com[65.54.188.72] said: 550 SC-001\n"
        "    (BAY004-MC1F10) Unfortunately, messages from 85.192.293.100 weren't sent.\n"
        "    Please contact your Internet service provider since part of their network\n"
        "    is on our block list. You can also refer your provider to\n"
        "    http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL\n"
        "    FROM command)"
    )
    (found,) = find_replies(text)
    assert found.reply is not None and found.stage == "mail"
    assert "is on our block list." in " ".join(found.reply.lines)
    # After the tail, an indented sentence of its own is not the reply (built here).
    (ended,) = find_replies(text + "\n    This Indented Line Is Not Part Of It.")
    assert ended.reply is not None and "Indented" not in " ".join(ended.reply.lines)


def test_a_client_message_that_keeps_only_the_code() -> None:
    # Swift Mailer leaves the message out when the reply had none; its expected code names
    # the stage (https://github.com/swiftmailer/swiftmailer/issues/1240, verbatim).
    (swift,) = find_replies(
        'Uncaught Swift_TransportException: Expected response code 354 but got code "503"'
    )
    assert swift.reply is not None and swift.reply.code == 503 and swift.stage == "data"
    # curl's failf() of a refused MAIL (https://github.com/rstudio/blastula/issues/169).
    (curl,) = find_replies("Error in curl::curl_fetch_memory(url, handle = h) : MAIL failed: 530")
    assert curl.reply is not None and curl.reply.code == 530 and curl.stage == "mail"
    # Prose is not curl: "mail failed" in lower case names no stage and no code-only reply.
    assert not find_replies("Sending mail failed: 530")
    assert [f.stage for f in find_replies("Sending mail failed: 550 5.7.1 relay denied")] == [None]


# --- replies inside sentences, Postfix's dsn=, summaries, providers' codeless texts ---------
# Each text is verbatim from the development corpus (its source cited beside it).

INLINE_SHAPES = [
    pytest.param(
        # https://github.com/haraka/Haraka/issues/2321 (Haraka's log of Exchange Online's reply:
        # a key=value field whose quoted value opens with the enhanced code)
        "2018-01-22T13:37:01.457Z [INFO] [960286F2-16F2-48DF-B2A5-6BEB06B76F7D.1] [core]  "
        'hook=queue plugin=queue/smtp_forward function=queue_forward params="" retval=DENYSOFT '
        'msg="4.4.1 Connection timed out. Total session duration: 00:20:55.2872355 '
        '[xxx.xxx.xxx.protection.outlook.com]"',
        450,
        "4.4.1",
        "Connection timed out. Total session duration: 00:20:55.2872355 "
        "[xxx.xxx.xxx.protection.outlook.com]",
        id="haraka-log-msg-field",
    ),
    pytest.param(
        # https://github.com/afterlogic/webmail-lite-8/issues/77
        "(535 Incorrect authentication data)",
        535,
        None,
        "Incorrect authentication data",
        id="reply-in-parentheses",
    ),
    pytest.param(
        # https://github.com/zone-eu/zone-mta/issues/447 (ZoneMTA's log)
        "Jul 28 12:59:52 zonemta[4133539]: info Sender/default/4133539[6] id=svd5unyzzguhz22p "
        "1984e8a65b30004db0.001 DEFERRED[network] from=bookings@example.com to=to@example.net "
        "src={MYSERVERIP} mx=example.net id=<bec241b7-94e5-419a-af9b-c6308d12ec1d@example.com> "
        "(554 Blocked - see https://ipcheck.proofpoint.com/?ip={MYSERVERIP})",
        554,
        None,
        "Blocked - see https://ipcheck.proofpoint.com/?ip={MYSERVERIP}",
        id="zonemta-log-parentheses",
    ),
    pytest.param(
        # https://docs.trendmicro.com/en-us/documentation/article/deep-discovery-email-inspector-51-online-help-smtp-error-codes
        "Temporary denial of connection (450) for Zombie matches (ERS)",
        450,
        None,
        "Temporary denial of connection for Zombie matches (ERS)",
        id="code-alone-in-parentheses",
    ),
    pytest.param(
        # https://github.com/Wynncraft/Issues/issues/3158 (PEAR Mail's exception text)
        "The Mailer returned: Failed to add recipient: {EMAIL ADDRESS} [SMTP: Invalid response "
        "code received from server (code: 451, response: Temporary local problem - please try "
        "later)]",
        451,
        None,
        "Temporary local problem - please try later",
        id="pear-mail-code-and-response",
    ),
    pytest.param(
        # https://github.com/forwardemail/free-email-forwarding/issues/294 (Exchange Online's
        # diagnostics; development corpus, round 544)
        "Reason: [{LED=421 Timeout - closing connection};{MSG=};{FQDN=104.248.224.170};"
        "{IP=104.248.224.170};{LRT=8/3/2024 4:58:56 PM}]. OutboundProxyTargetIP: "
        "104.248.224.170.",
        421,
        None,
        "Timeout - closing connection",
        id="exchange-last-error-field",
    ),
    pytest.param(
        # https://github.com/knadh/listmonk/issues/1300
        "error sending message to campaign xyz - 450 Too many recipient attempts",
        450,
        None,
        "Too many recipient attempts",
        id="reply-after-a-spaced-dash",
    ),
    pytest.param(
        # https://github.com/mattermost/mattermost/issues/13224
        "Connection unsuccessful: Connection unsuccessful: SendMail: Failed to close connection "
        "to SMTP server, 553 Relaying disallowed as @ - undefined",
        553,
        None,
        "Relaying disallowed as @ - undefined",
        id="after-a-comma",
    ),
    pytest.param(
        # https://github.com/emersion/hydroxide/issues/173
        "SMTP Delivery Error: 554, b'5.0.0 Error: transaction failed: unknown sender address')",
        554,
        "5.0.0",
        "Error: transaction failed: unknown sender address",
        id="tuple-without-its-bracket",
    ),
    pytest.param(
        # https://github.com/YoRyan/mailrise/issues/117
        "2024-04-25T22:16:21.664823+02:00 MYDESKTOP postfix/error[70721]: B5D7A1858: "
        "to=<all@remote>, relay=none, delay=734, delays=734/0.02/0/0, dsn=4.3.0, "
        "status=deferred (mail transport unavailable)",
        450,
        "4.3.0",
        "mail transport unavailable",
        id="postfix-dsn-status",
    ),
    pytest.param(
        # http://neosoft.com./email/help.php (a host's list of its replies)
        "Error 550: Relay is not permitted",
        550,
        None,
        "Relay is not permitted",
        id="error-word-code-colon",
    ),
    pytest.param(
        # https://vn.godaddy.com/help/email-ca-toi-tr-li-co-y-ngha-gi-3568 (GoDaddy's IB101 in
        # Vietnamese, "Lỗi" being "error")
        "Lỗi 421: Máy chủ tạm thời không sẵn sàng. Vui lòng thử lại sau. IB101",
        421,
        None,
        "Máy chủ tạm thời không sẵn sàng. Vui lòng thử lại sau. IB101",
        id="translated-error-word-code-colon",
    ),
]


def test_no_break_spaces_and_typographic_apostrophes_are_read_as_plain() -> None:
    # A reply copied from a web page keeps its &nbsp; (U+00A0) and a typographer's "’": the
    # words are the same words (Postfix's smtpd_check.c reply; Gmail's 4.7.29 reply as
    # Google's page writes it, with "wasn’t").
    pasted = decode_pasted("554 5.7.1 <user@example.com>:\u00a0Relay\u00a0access\u00a0denied")
    assert pasted.text == "554 5.7.1 <user@example.com>: Relay access denied"
    assert "wasn't" in decode_pasted("421 4.7.29 … this message wasn\u2019t sent over TLS").text


def test_postfix_status_sent_holds_the_next_servers_reply() -> None:
    # A Postfix delivery log line of a message the relay took (the linode/docs repository's
    # Postfix, Dovecot and MySQL guide): the parenthesis is the relay's reply to the end of
    # the message, a positive one.
    text = (
        "Mar 22 18:20:29 host postfix/smtp[22601]: AA10A2839B: to=<support@linode.com>, "
        "relay=mail1.linode.com[96.126.108.55]:25, delay=0.14, delays=0.08/0.01/0.05/0.01, "
        "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as C4232266C9)"
    )
    (found,) = find_replies(text)
    assert found.reply is not None
    assert (found.reply.code, found.reply.enhanced, found.reply.text) == (
        250,
        "2.0.0",
        "Ok: queued as C4232266C9",
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(
            # https://github.com/ShareX/ShareX/issues/6699 (development corpus)
            "System.Net.Mail.SmtpException: The SMTP server requires a secure connection or the "
            "client was not authenticated. The server response was: 5.7.57 Client not "
            "authenticated to send mail.",  # (the paste goes on with a second reply)
            530,
            id="must-issue-starttls-first",
        ),
        pytest.param(
            # https://github.com/PatchMyPCTeam/kbs.patchmypc.com/blob/7032e9e8bf09b044374dbc8bda2ce8a72a9b2a19/advanced-insights/log-collection-and-analysis/patch-my-pc-smtp-authentication-for-exchange-online.md
            "An error occurred while sending the test mail: The SMTP server requires a secure "
            "connection, or the client was not authenticated. The server response was: 5.7.57 "
            "Client not authenticated to send mail.",
            530,
            id="with-a-comma",
        ),
        pytest.param(
            # https://github.com/Cloud9Developer/Jellyfin-Newsletter-Plugin/issues/129
            "[NLP]: [2025-06-07] :: [17:42:47] - [ERR] An error has occured: "
            "System.Net.Mail.SmtpException: Syntax error in parameters or arguments. The server "
            "response was: 5.6.0 The email body must have at least 10 characters",
            501,
            id="syntax-error",
        ),
        pytest.param(
            # https://github.com/zelanko/sql-docs.pt-br/blob/08a00d1aed45801054328459c3b97be37365dda4/docs/reporting-services/install-windows/configure-e-mail-for-a-reporting-services-service-application.md
            # (development corpus): .NET in Brazilian Portuguese, its sentence in lower case
            "Falha ao enviar o email: o servidor SMTP requer uma conexão segura ou o cliente não "
            "foi autenticado. A resposta do servidor foi: 5.7.1 O cliente não estava autenticado. "
            "O email não será reenviado.",
            530,
            id="portuguese",
        ),
        pytest.param(
            # https://github.com/zelanko/sql-docs.fr-fr/blob/0ae392d882de4e5ae13151ef4aa300c6d90b2260/docs/reporting-services/install-windows/configure-e-mail-for-a-reporting-services-service-application.md
            # (development corpus): in French, with a typographic apostrophe and the space
            # French puts before a colon
            "Échec de l\u2019envoi du message électronique : le serveur SMTP requiert une "
            "connexion sécurisée ou le client n\u2019était pas authentifié. La réponse du "
            "serveur était : 5.7.1 Le client n\u2019était pas authentifié. Le message ne sera "
            "pas renvoyé.",
            530,
            id="french",
        ),
        pytest.param(
            # https://github.com/ChristophMuthmann/sql-docs.de-de/blob/25e2f29e69540a0719a35309f432da28bf459d4a/docs/reporting-services/subscriptions/monitor-reporting-services-subscriptions.md
            # (development corpus): in German, the reply's words broken by the stack frame
            "E-Mail-Sendefehler. Ausnahme: System.Net.Mail.SmtpException: Für den SMTP-Server "
            "ist eine sichere Verbindung erforderlich, oder der Client wurde nicht "
            "authentifiziert. Die Serverantwort war: 5.7.1 Client wurde nicht auf "
            "System.Net.Mail.MailCommand.CheckResponse(SmtpStatusCode statusCode, String "
            "response) authentifiziert.",
            530,
            id="german",
        ),
    ],
)
def test_dotnet_names_the_code_its_server_response_lacks(text: str, code: int) -> None:
    # dotnet/runtime, System.Net.Mail: SmtpException writes SmtpStatusCode's sentence, then
    # "The server response was: " and the reply without its code.
    found = find_replies(text)[0]
    assert found.reply is not None
    assert (found.reply.code, found.code_inferred) == (code, True)


@pytest.mark.parametrize(("text", "code", "enhanced", "words"), INLINE_SHAPES)
def test_a_reply_inside_a_sentence(text: str, code: int, enhanced: str | None, words: str) -> None:
    (found,) = find_replies(text)
    assert found.reply is not None
    assert (found.reply.code, found.reply.enhanced, found.reply.text) == (code, enhanced, words)


@pytest.mark.parametrize(
    "text",
    [
        "(500 emails per day)",
        "(500 Emails per day)",
        "(450 Emails/day)",
        "(500 Internal Server Error)",  # HTTP's reason phrase of that code
        "The request failed, 503 Service Unavailable",
        "In total, 500 emails were sent",
        "see page (500) for details",  # a code alone in parentheses needs a refusal before it
        "Sent 550 Messages, 421 a day",
        "HTTP Error 500: Internal Server Error",  # HTTP's reason phrase after "Error NNN:"
        "Error 503: Service Unavailable",
        "Error 404: Not Found",  # no SMTP reply has that code
        # a quoted enhanced code needs a key that names a reply, and a subject RFC 3463 defines
        'version="4.2.1 beta"',
        'msg="4.9.1 build"',
        # a program's own failure to connect with its own status (AtroCore, development corpus)
        "Error 500: Unable to connect with STARTTLS: stream_socket_enable_crypto(): Peer "
        "certificate CN=`electric.net' did not match expected CN=`<my e-mail server address "
        "that works>'",
    ],
)
def test_numbers_in_sentences_are_not_replies(text: str) -> None:
    assert find_replies(text) == []


def test_postfix_smtp_clients_own_reasons_are_left_to_client_errors() -> None:
    # https://github.com/YoRyan/mailrise/issues/117's shape, written by the SMTP client: its
    # reason is its own account of the login (a client-side error), not the server's reply.
    text = (
        "Oct  8 08:19:01 fw-scar postfix/smtp[19884]: 2467B284D8C: to=<destinationaddress@gmail"
        ".com>, relay=smtp.gmail.com[142.251.9.109]:587, delay=0.72, delays=0.1/0.03/0.58/0, "
        "dsn=4.7.0, status=deferred (SASL authentication failed; cannot authenticate to server "
        "smtp.gmail.com[142.251.9.109]: bad protocol / cancel)"
    )
    assert find_replies(text) == []
    # Without the process name, the reason's first words say it is the client's.
    assert find_replies("dsn=4.4.1, status=deferred (connect to 192.0.2.1[192.0.2.1]:25: x)") == []


def test_a_programs_summary_gives_way_to_the_more_specific_reply() -> None:
    # https://github.com/matrix-org/synapse/issues/7715 (Twisted)
    text = (
        "twisted.mail._except.SMTPDeliveryError: 450 No recipients accepted\n"
        "akhil@example.com: 450 4.1.8 <ubuntu@ip-172-26-13-215.ap-south-1.compute.internal>: "
        "Sender address rejected: Domain not found\n"
    )
    found = find_replies(text)
    assert [(f.reply.code, f.reply.enhanced) for f in found if f.reply] == [(450, "4.1.8")]


def test_twisteds_summary_gives_way_to_a_reply_without_an_enhanced_code() -> None:
    # https://github.com/globaleaks/globaleaks-whistleblowing-software/issues/3413 (Twisted's
    # log as the app prints it, with escaped line breaks; development corpus): the server's
    # own reply is shorter than the summary and carries no enhanced code.
    text = (
        "SMTP connection failed (Exception: 550 No recipients accepted\\nuser@example.com: 550 "
        "No Such User Here\\n>>> MAIL FROM:<user@example.com>\\n<<< 250 OK\\n>>> RCPT "
        "TO:<user@example.com>"
    )
    found = find_replies(text)
    assert [f.reply.text for f in found if f.reply] == ["No Such User Here"]


_WARN_IF_REJECT_LOG = (
    # https://pastebin.com/0kNp29ff (Postfix's log; development corpus, round 545)
    "Mar 7 12:45:32 holmser postfix/smtpd[11849]: NOQUEUE: reject_warning: RCPT from "
    "m620e36d0.tmodns.net[208.54.14.98]: 504 5.5.2 <localhost>: Helo command rejected: need "
    "fully-qualified hostname; from=<user@example.com> to=<user@example.com> proto=ESMTP "
    "helo=<localhost>\n"
    "Mar 7 12:45:32 holmser postfix/smtpd[11849]: NOQUEUE: reject: RCPT from "
    "m620e36d0.tmodns.net[208.54.14.98]: 554 5.7.1 <user@example.com>: Relay access denied; "
    "from=<user@example.com> to=<user@example.com> proto=ESMTP helo=<localhost>\n"
)


def test_a_reply_postfix_only_logged_gives_way_to_the_one_it_sent() -> None:
    # warn_if_reject logs "reject_warning" and sends nothing (postconf(5)): the refusal the
    # client got is the "reject" line's.
    found = find_replies(_WARN_IF_REJECT_LOG)
    assert [(f.reply.code, f.reply.enhanced) for f in found if f.reply] == [(554, "5.7.1")]


def test_a_reply_postfix_only_logged_is_no_reply_even_alone() -> None:
    # Nothing was refused; client_errors.yaml's hint postfix-reject-warning says so.
    assert find_replies(_WARN_IF_REJECT_LOG.splitlines()[0]) == []


def test_postfix_losing_its_sasl_back_end_is_the_temporary_refusal_it_sends() -> None:
    # https://pastebin.com/iQAJuzTF (development corpus, round 554): smtpd logs this reason
    # and answers the client 454 with it (Postfix's smtpd_sasl_glue.c); the next syslog line,
    # Dovecot's own, is another program's and not part of it.
    text = (
        "Dec 1 18:29:03 msniblets postfix/smtpd[921422]: warning: unknown[45.142.120.149]: SASL "
        "LOGIN authentication failed: Connection lost to authentication server\n"
        "Dec 1 18:29:03 msniblets dovecot: auth: Warning: auth client 0 disconnected with 1 "
        "pending requests: Connection reset by peer\n"
    )
    found = find_replies(text)
    assert [(f.reply.code, f.reply.text) for f in found if f.reply] == [
        (454, "Connection lost to authentication server")
    ]


def test_a_shorter_summary_after_the_reply_does_not_hide_it() -> None:
    # https://luxsci.com/blog/?p=16857 (sendmail's transcript, then its own summary)
    text = (
        "... while talking to mail.gmail.com.:\n>>> DATA\n<<< 554 Service unavailable; Client "
        "host [server1.mail.com] blocked using Barracuda Reputation; http://bbl.barracudacentral"
        ".com/q.cgi?ip=192.168.1.1\n554 5.0.0 Service unavailable"
    )
    found = find_replies(text)
    assert found[0].reply is not None and "Barracuda" in found[0].reply.text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # https://github.com/leemunroe/grunt-email-workflow/issues/81 (Mailgun)
        (
            "Rejected: 'This is a test email' Sandbox subdomains are for test purposes only. "
            "Please add your own domain or add the address to authorized recipients in Account "
            "Settings.: ",
            550,
        ),
        # https://github.com/mailgun/wordpress-plugin/issues/68 (Mailgun)
        ("free accounts are for test purposes only", 550),
        # https://github.com/ActiveCampaign/postmark-rails/issues/31
        ("Postmark::InvalidMessageError (Sender signature not defined for From address.):", 550),
        # https://github.com/bwya77/O365-Admin-Center/issues/12 (Microsoft 365)
        (
            "Your message to request@o365admin.center couldn't be delivered.\n\n"
            "request wasn't found at o365admin.center.",
            550,
        ),
        # https://faq.support.nifty.com/?p=4076 (@nifty)
        ("you have no account here", 550),
        # https://hardwaresecrets.com/understanding-email-bounce-messages/4/ (Trend Micro)
        (
            "Mail from [ip address] deferred using Trend Micro Email Reputation database. Please "
            "see https://www.mail-abuse.com/cgi-bin/lookup?[ip address]",
            450,
        ),
        # https://docs.hetrixtools.com/how-to-remove-your-ip-from-the-comcast-blacklist/ (Comcast)
        (
            "BL000000 Email from your mail server has been sent in patterns that are "
            "characteristic of spam.",
            554,
        ),
    ],
)
def test_a_providers_codeless_text_is_a_reply_with_an_inferred_code(text: str, code: int) -> None:
    (found,) = find_replies(text)
    assert found.reply is not None and found.code_inferred
    assert found.reply.code == code


def test_a_providers_codeless_text_starts_after_the_programs_wrapper() -> None:
    # https://support.mozilla.org/en-US/questions/1542792 (Comcast's words in Thunderbird's
    # dialog): the reply is the provider's words, not Thunderbird's sentence before them.
    text = (
        "Sending of the message failed.  An error occurred while sending mail: Outgoing server "
        "(SMTP) error.  The server responded: resomta-h2p-540626.sys.comcast.net "
        "resomta-h2p-540626.comcast.net Excessive failed authentication, ESMTP server "
        "temporarily not available."
    )
    (found,) = find_replies(text)
    assert found.reply is not None and found.code_inferred and found.reply.code == 450
    assert found.reply.text.startswith("resomta-h2p-540626.sys.comcast.net")
    # https://support.mozilla.org/en-US/questions/1558211 (Telstra's words after a
    # semicolon, as the asker typed Thunderbird's dialog)
    (found,) = find_replies(
        "An error occured while sending email. Outgoing server SMTP error. The server "
        "responded; Connection refused - OB119 .192.0.2.1 is  blacklisted in Abusix Mail "
        "Intelligence"
    )
    assert found.reply is not None and found.reply.text.startswith("Connection refused - OB119")


@pytest.mark.parametrize(
    "text",
    [
        "Our sandbox is for tests only",
        "The article explains why you have no account here and there.",
        "The user wasn't found at all",
        "Ticket BL000012",  # Comcast's code must begin the line and have words after it
    ],
)
def test_provider_wordings_need_their_whole_fixed_words(text: str) -> None:
    assert find_replies(text) == []


@pytest.mark.parametrize(
    ("text", "code", "stage"),
    [
        # https://github.com/TryGhost/Ghost/issues/12819 (Node's simplesmtp wording)
        (
            "MESSAGE: Failed to send email. Reason: Mail from command failed - 501 Mail from "
            "address must be same as authorization user..",
            501,
            "mail",
        ),
    ],
)
def test_simplesmtp_joins_its_words_and_the_reply_with_a_dash(
    text: str, code: int, stage: str
) -> None:
    (found,) = find_replies(text)
    assert found.reply is not None and found.reply.code == code
    assert found.stage == stage


@pytest.mark.parametrize(
    "text",
    ["The build failed - 550 tests passed", "Shipping - 421 parcels sent today"],
)
def test_a_dash_before_a_number_is_not_a_reply_without_simplesmtps_words(text: str) -> None:
    assert find_replies(text) == []


def test_the_provider_text_prefilter_changes_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    # find_replies looks for each provider text's literals once in the whole paste and
    # searches its lines only for the texts that may be there: over every development
    # text, and each provider text's own words, the replies found are those of searching
    # every line for every provider text.
    import sys
    from pathlib import Path

    import smtpprobe.core.bounce as bounce
    import smtpprobe.core.reply_starts as reply_starts

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from corpus_split import DEVELOPMENT, load

    texts = [item["text"] for path in sorted(DEVELOPMENT.glob("*.yaml")) for item in load(path)]
    texts += [
        "Sandbox subdomains are for test purposes only. Please add your own domain.",
        "user@example.com wasn't found at example.com.",
        "無効な受信者",
        "you have no account here",
    ]
    filtered = [find_replies(decode_pasted(text).text) for text in texts]
    monkeypatch.setattr(bounce, "providers_in", lambda lowered: reply_starts._PROVIDER_TEXTS)
    assert [find_replies(decode_pasted(text).text) for text in texts] == filtered
    assert all(filtered[-4:]), "each provider text's own words are found"


# A PHP stack trace's "File.php:457 Stack trace: #0" is a source line, not a reply: it once
# hid the 535 before it and made the answer retryable.
# https://github.com/freescout-help-desk/freescout/issues/2703 (addresses masked there)
SWIFT_TRACE = (
    "Send error. Failed to authenticate on SMTP server with username ***@***.******@***.***> "
    "using 2 possible authenticators. Authenticator LOGIN returned Swift_TransportException: "
    'Expected response code 235 but got code "535", with message "535 5.7.139 Authentication '
    "unsuccessful, account has an issue. Contact your administrator. "
    '[LO4P123CA0669.GBRP123.PROD.OUTLOOK.COM 2023-02-08T11:00:28.022Z 08DB094EB9DF4489] " in '
    "/var/www/html/vendor/swiftmailer/swiftmailer/lib/classes/Swift/Transport/"
    "AbstractSmtpTransport.php:457 Stack trace: #0"
)


def test_a_source_files_line_number_is_not_a_reply() -> None:
    (found,) = find_replies(SWIFT_TRACE)
    assert found.reply is not None
    assert (found.reply.code, found.reply.enhanced) == (535, "5.7.139")
    assert not find_replies("at smtplib.py:421 Service not available, lost")  # only a line


def test_a_count_after_its_label_is_not_a_reply() -> None:
    # A red-team round's paste (a status line, not a server's reply) read "452 messages"
    # as a temporary refusal. A count's label before the colon keeps it out unless an
    # enhanced code follows.
    assert not find_replies("Queue size: 452 messages pending")
    assert not find_replies("Recipients: 550 accepted, 3 refused")
    (found,) = find_replies("Limit: 550 5.7.1 Relay access denied")
    assert found.reply is not None and found.reply.code == 550
    (said,) = find_replies("Server said: 452 4.5.3 Too many recipients")
    assert said.reply is not None and said.reply.code == 452


def test_mailsends_expected_and_got_codes() -> None:
    # mailsend keeps only the code it got (smtp.c: "Expected smtp code 250, got %d");
    # https://github.com/muquit/mailsend/issues/164
    (found,) = find_replies("Error: Expected smtp code 250, got 552")
    assert found.reply is not None and found.reply.code == 552


def test_commons_nets_closed_connection_keeps_its_code() -> None:
    # Apache Commons Net's SMTPConnectionClosedException (SMTP.java) after a 421
    (found,) = find_replies("SMTP response 421 received.  Server closed connection.")
    assert found.reply is not None and found.reply.code == 421


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        # https://github.com/go-gomail/gomail/issues/205 (the Chinese log prefix left out)
        ("2025/02/26 19:10:27 gomail: could not send email 1: 502 5.3.3 Command not "
         "implemented\nexit status 1", ("Command not implemented",)),
        # https://github.com/jstedfast/MailKit/issues/453 (first frame)
        ("SmtpSender: Error sending message MailKit.Net.Smtp.SmtpCommandException: 4.4.1 "
         "Connection timed out\n   at MailKit.Net.Smtp.SmtpClient.ProcessMailFromResponse("
         "SmtpResponse response, MailboxAddress mailbox)", ("Connection timed out",)),
    ],
    ids=["go-exit-status", "dotnet-stack-frame"],
)  # fmt: skip
def test_a_programs_next_line_is_not_part_of_the_reply(text: str, lines: tuple[str, ...]) -> None:
    (found,) = find_replies(text)
    assert found.reply is not None and found.reply.lines == lines


# --- a bounce for several recipients (red-team round, 2026-12-02) --------------------------
# Postfix's bounce form ("<rcpt>: host H[ip] said: … (in reply to RCPT TO command)") and an
# RFC 3464 report with one block per recipient; the replies are Postfix's own texts
# (smtpd_check.c's "User unknown in virtual mailbox table", "Insufficient system storage").
SEVERAL = (
    "<bob@example.com>: host mx.example.com[198.51.100.5] said: 550 5.1.1 <bob@example.com>:\n"
    "    Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT\n"
    "    TO command)\n"
    "\n"
    "<carol@example.org>: host mx.example.org[198.51.100.6] said: 452 4.3.1 Insufficient\n"
    "    system storage (in reply to RCPT TO command)\n"
)
DSN = (
    "From: MAILER-DAEMON@mail.example.jp (Mail Delivery System)\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
    "--B\nContent-Type: text/plain\n\nThis is the mail system at host mail.example.jp.\n\n"
    "--B\nContent-Type: message/delivery-status\n\n"
    "Reporting-MTA: dns; mail.example.jp\n\n"
    "Final-Recipient: rfc822; alice@example.org\nAction: failed\nStatus: 5.1.1\n"
    "Remote-MTA: dns; mx.example.org\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <alice@example.org>: Recipient address rejected: User\n"
    " unknown in virtual mailbox table\n\n"
    "Final-Recipient: rfc822; dave@example.net\nAction: failed\nStatus: 4.3.1\n"
    "Remote-MTA: dns; mx.example.net\n"
    "Diagnostic-Code: smtp; 452 4.3.1 Insufficient system storage\n\n"
    "--B--\n"
)


def test_each_recipient_of_a_postfix_bounce_keeps_its_own_host_and_address() -> None:
    found = find_replies(SEVERAL)
    assert [(f.reply.code, f.host, f.recipient) for f in found if f.reply] == [
        (550, "mx.example.com", "bob@example.com"),
        (452, "mx.example.org", "carol@example.org"),  # was mx.example.com, bob's
    ]


def test_each_block_of_a_delivery_status_report_belongs_to_its_own_reply() -> None:
    found = find_replies(decode_pasted(DSN.encode()).text)
    assert [(f.reply.code, f.host, f.status) for f in found if f.reply] == [
        (550, "mx.example.org", "5.1.1"),
        (452, "mx.example.net", "4.3.1"),  # was the first block's mx.example.org and 5.1.1
    ]


def test_gmails_remote_mta_comment_is_not_part_of_the_host() -> None:
    # Gmail writes "Remote-MTA: dns; HOST. (IP, the server for the domain D.)".
    text = (
        "Status: 5.7.1\n"
        "Remote-MTA: dns; www1234.sakura.ne.jp. (203.0.113.10, the server for the domain "
        "example.jp.)\n"
        "Diagnostic-Code: smtp; 550 5.7.1 <me@example.jp>... Command rejected\n"
    )
    assert [f.host for f in find_replies(text)] == ["www1234.sakura.ne.jp"]


@pytest.mark.parametrize(
    "separator",
    [
        "----- Original message -----",  # Gmail
        "-----Original Message-----",  # Outlook
        "--- Below this line is a copy of the message.",  # qmail-send.c
        "------ This is a copy of the message, including all the headers. ------",  # Exim
        "Original message headers:",  # Exchange
        "Content-Type: message/rfc822",  # a MIME part pasted as text
    ],
)
def test_the_returned_original_is_not_read_for_replies(separator: str) -> None:
    # The user's own mail below the bounce may quote an older error: it is not a reply.
    bounce = "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown\n\n"
    own = "Subject: hi\n\nmy server said 535 5.7.8 Error: authentication failed\n"
    text = f"{bounce}{separator}\n\n{own}"
    assert [f.reply.code for f in find_replies(text) if f.reply] == [550]
    # A bounce that is itself below such a line (forwarded) is still found.
    assert [f.reply.code for f in find_replies(f"{separator}\n{bounce}") if f.reply] == [550]


def test_a_line_that_introduces_the_next_reply_is_not_part_of_the_last() -> None:
    # Postfix's 535 ends without a full stop, so the next line read as its re-wrapped
    # words: "535 5.7.8 Then after fixing the password I got:" was shown as a server line.
    text = (
        "First I got this:\n"
        "535 5.7.8 Error: authentication failed: authentication failure\n"
        "Then after fixing the password I got:\n"
        "550 5.7.1 <bob@example.com>: Relay access denied\n"
    )
    found = [f.reply for f in find_replies(text) if f.reply]
    assert [r.lines for r in found] == [
        ("Error: authentication failed: authentication failure",),
        ("<bob@example.com>: Relay access denied",),
    ]


@pytest.mark.parametrize(
    "typed",
    [
        "550\u30005.1.1\u3000<bob@example.com>... User unknown",  # ideographic spaces
        "\uff15\uff15\uff10 \uff15\uff0e\uff11\uff0e\uff11 <bob@example.com>... User unknown",
        # full-width letters as well: the words are read as the rules know them
        "\uff15\uff15\uff10 \uff15\uff0e\uff11\uff0e\uff11 <bob@example.com>... "
        "\uff35\uff53\uff45\uff52 \uff55\uff4e\uff4b\uff4e\uff4f\uff57\uff4e",
    ],
    ids=["ideographic-space", "full-width-digits", "full-width-letters"],
)
def test_a_reply_typed_through_a_japanese_input_method_is_found(typed: str) -> None:
    found = find_replies(decode_pasted(typed.encode()).text)
    assert [(f.reply.code, f.reply.enhanced) for f in found if f.reply] == [(550, "5.1.1")]
    reply = found[0].reply
    assert reply is not None and reply.text == "<bob@example.com>... User unknown"


def test_a_tab_after_the_code_is_a_separator() -> None:
    # Postfix's "554 5.7.1 <…>: Relay access denied" (smtpd_check.c) as a spreadsheet or a
    # tab-separated log export keeps it: the code, a tab, the rest. Still a reply, words intact.
    for text in ("554\t5.7.1 Relay access denied", "error:\t554\t5.7.1 Relay access denied"):
        (found,) = find_replies(text)
        assert found.reply is not None
        assert (found.reply.code, found.reply.enhanced) == (554, "5.7.1")
        assert found.reply.lines[-1].endswith("Relay access denied")
    # Not a count in a table: a number and a tab with prose around it is no reply (a
    # red-team round's key-value and port tables were read as replies, exit 0).
    for table in (
        "messages\t250\tdelivered today",
        "Queue size:\t452\tmessages",
        "uptime:\t421\tdays",
        "501\tAlice\t3.5",
        "443\tHTTPS",
    ):
        assert find_replies(table) == [], table


def test_a_refusal_far_down_a_log_of_deliveries_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # Past _MAX_FOUND positive replies (10,000 in use; 20 here), a log's lines are looked
    # through for a refusal only: the one bounce of a day's mail log was lost behind the
    # deliveries before it. It is read from its own line, not its neighbours' recipients.
    monkeypatch.setattr(bounce, "_MAX_FOUND", 20)
    lines = [
        f"Dec  4 03:00:{i:02d} mx postfix/smtp[{2000 + i}]: 4B1D{i:03X}: to=<u{i}@example.net>, "
        "relay=mx.example.net[192.0.2.1]:25, dsn=2.0.0, status=sent (250 2.0.0 Ok)"
        for i in range(60)
    ]
    lines.insert(
        45,
        "Dec  4 03:30:00 mx postfix/smtp[2345]: 4B24530: to=<a@example.jp>, relay=mx.example.jp"
        "[192.0.2.2]:25, dsn=5.1.1, status=bounced (host mx.example.jp[192.0.2.2] said: 550 "
        "5.1.1 <a@example.jp>: Recipient address rejected: User unknown (in reply to RCPT TO "
        "command))",
    )
    found = bounce.find_replies("\n".join(lines))
    assert [f.reply.code for f in found if f.reply is not None] == [550]
    assert found[0].recipient == "a@example.jp" and found[0].host == "mx.example.jp"
    assert found[0].stage == "rcpt"
    # With no refusal, the first positive replies are what is found, as before.
    del lines[45]
    assert {f.reply.code for f in bounce.find_replies("\n".join(lines)) if f.reply} == {250}


# A delivery report's recipient block with a Status and no Diagnostic-Code: Yahoo's delay
# warning for an Xtra address (http://www.velocityreviews.com/forums/t867866-xtra-email-
# failed-again.html, development corpus; the address masked there).
XTRA_DELAYED = (
    "This is an automatically generated Delivery Status Notification.\n\n"
    "THIS IS A WARNING MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n"
    "Delivery to the following recipients has been delayed.\n\n****@xtra.co.nz\n\n"
    "Final-Recipient: rfc822;****@xtra.co.nz\nAction: delayed\nStatus: 4.4.7"
)


def test_a_dsn_status_without_a_diagnostic_code_is_the_reply_of_its_class() -> None:
    (found,) = find_replies(XTRA_DELAYED)
    assert found.reply is not None
    assert (found.reply.code, found.reply.enhanced, found.code_inferred) == (450, "4.4.7", True)
    assert found.status == "4.4.7"


@pytest.mark.parametrize(
    "text",
    [
        # delivered: no failure to report
        "Final-Recipient: rfc822;a@example.com\nAction: delivered\nStatus: 2.0.0",
        # no Action: not a recipient block RFC 3464 would write
        "Final-Recipient: rfc822;a@example.com\nStatus: 5.1.1",
        # a Diagnostic-Code that is no SMTP reply says more than the Status: read it instead
        # (a bounce of round 112, development corpus: "Diagnostic-Code: DNS; Host not found")
        "Final-Recipient: rfc822;a@example.com\nAction: failed\nStatus: 5.4.4\n"
        "Diagnostic-Code: DNS; Host not found",
    ],
)
def test_a_dsn_status_alone_is_read_only_for_a_failed_or_delayed_recipient(text: str) -> None:
    assert not [found for found in find_replies(text) if found.reply is not None]


def test_a_dsn_status_yields_to_a_reply_in_the_text() -> None:
    text = (
        "host mx.example.com said: 550 5.1.1 <a@example.com>: User unknown\n\n"
        "Final-Recipient: rfc822;a@example.com\nAction: failed\nStatus: 5.1.1"
    )
    (found,) = find_replies(text)
    assert found.reply is not None
    assert (found.reply.code, found.code_inferred) == (550, False)
    assert found.reply.text.startswith("<a@example.com>: User unknown")


# Sendmail's DSN to Gmail: "(reason: …)" quotes the first line of Gmail's five-line reply,
# which the transcript then gives whole (sendgrid/go-gmime's fixture gmime/fixtures/DSN-spam.eml
# at 9326dd0, lines 26-39; development corpus).
SENDMAIL_REASON_CUT = """   ----- The following addresses had permanent fatal errors -----
foobar@du.ac.bd
    (reason: 550-5.7.1 [180.211.214.199       7] Our system has detected that this message is)
    (expanded from: <foobar@univdhaka.edu>)

   ----- Transcript of session follows -----
... while talking to aspmx.l.google.com.:
>>> DATA
<<< 550-5.7.1 [180.211.214.199       7] Our system has detected that this message is
<<< 550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,
<<< 550-5.7.1 this message has been blocked. Please visit
<<< 550-5.7.1 http://support.google.com/mail/bin/answer.py?hl=en&answer=188131 for
<<< 550 5.7.1 more information. tk5si11604973pbc.381 - gsmtp
554 5.0.0 Service unavailable"""


def test_a_reply_cut_short_gives_way_to_the_whole_reply() -> None:
    found = [f for f in find_replies(SENDMAIL_REASON_CUT) if f.reply is not None]
    assert [f.reply.code for f in found if f.reply] == [550, 554]
    first = found[0].reply
    assert first is not None and len(first.lines) == 5
    assert "likely unsolicited mail" in first.text and found[0].stage == "data"
    # sendmail names the host it talked to on the line "... while talking to HOST.:"
    assert found[0].host == "aspmx.l.google.com"


@pytest.mark.parametrize(
    ("text", "host"),
    [
        # Exim's host and address before the reply (pastebin.com/jsKzESvf, development corpus)
        (
            "SMTP error from remote mail server after RCPT TO:<user@example.com>:\n"
            "host mx1.comcast.net [76.96.62.116]: 550 5.1.1 Not our Customer",
            "mx1.comcast.net",
        ),
        # ... and on a line of their own above it (pastebin.com/ytScn0aS, development corpus)
        (
            "ventas@eset.com.hn\nhost eset-com-hn.mail.protection.outlook.com [207.46.163.215]\n"
            "SMTP error from remote mail server after RCPT TO:<ventas@eset.com.hn>:\n"
            "550 5.7.1 Service unavailable, Client host [209.99.16.94] blocked using Spamhaus. "
            "To request removal from this list see http://www.spamhaus.org/lookup.lasso "
            "(AS16012611)",
            "eset-com-hn.mail.protection.outlook.com",
        ),
    ],
)
def test_exims_host_line_names_the_host(text: str, host: str) -> None:
    (found,) = find_replies(text)
    assert (found.host, found.stage) == (host, "rcpt")


def test_gmails_bounce_names_the_host_after_the_recipient_domain() -> None:
    # github.com/Gilwyad/mailnesia.com/issues/13 (development corpus)
    text = (
        "Delivery to the following recipient failed permanently:\n\n"
        "     khitupamarosu271@mailnesia.com\n\nTechnical details of permanent failure:\n"
        "Google tried to deliver your message, but it was rejected by the server for the "
        "recipient domain mailnesia.com by mailnesia.com. [162.250.144.109].\n\n"
        "The error that the other server returned was:\n500 Internal Server Error"
    )
    (found,) = find_replies(text)
    assert found.host == "mailnesia.com"


def test_a_copy_of_a_reply_with_a_programs_words_appended_is_no_whole_reply() -> None:
    # PHPMailer's debug line, then its own error quoting the reply with more words after it
    # (three lines of the paste in github.com/PHPMailer/PHPMailer/issues/826, development
    # corpus): the server's reply, as it sent it, stays first.
    text = (
        "SERVER -> CLIENT: 535 Incorrect authentication data\n"
        "SMTP ERROR: Password command failed: 535 Incorrect authentication data\n"
        "SMTP Error: Could not authenticate."
    )
    found = [f.reply.text for f in find_replies(text) if f.reply is not None]
    assert found[0] == "Incorrect authentication data"


def test_a_php_stack_frames_line_number_in_brackets_is_not_a_reply() -> None:
    # RainLoop's log of a read timeout (github.com/RainLoop/rainloop-webmail/issues/1542,
    # development corpus): "(513):" after a file name is the frame's line, once read as a 513.
    frame = (
        "#2 /var/www/mail/public_html/rainloop/v/1.11.3/app/libraries/MailSo/Smtp/"
        "SmtpClient.php(513): MailSo\\Smtp\\SmtpClient->sendRequestWithCheck('.', 250)"
    )
    assert not [found for found in find_replies(frame) if found.reply is not None]


# Gmail's multi-line reply re-wrapped into one paragraph: each line's "5.7.1" stayed where
# "550-" was lost (https://github.com/DefectDojo/django-DefectDojo/issues/1148, development
# corpus). The copies are line prefixes, not words.
GMAIL_REWRAPPED = (
    "550 5.7.1 [50.31.56.221 11] Our system has detected that this message is 5.7.1 not RFC"
    " 5322 compliant: 5.7.1 'From' header is missing. 5.7.1 To reduce the amount of spam sent"
    " to Gmail, this message has been 5.7.1 blocked. Please visit 5.7.1"
    " https://support.google.com/mail/?p=RfcMessageNonCompliant 5.7.1 and review RFC 5322"
    " specifications for more information. t11si1396600ejr.91 - gsmtp"
)


def test_a_replys_own_enhanced_code_between_its_words_is_a_lost_line_prefix() -> None:
    (found,) = find_replies(GMAIL_REWRAPPED)
    assert found.reply is not None and found.reply.enhanced == "5.7.1"
    text = found.reply.text
    assert "5.7.1" not in text
    assert "this message has been blocked. Please visit https://" in text
    assert text.startswith("[50.31.56.221 11] Our system has detected that this message is not RFC")


def test_another_enhanced_code_between_a_replys_words_is_kept() -> None:
    (found,) = find_replies("550 5.7.1 Message refused, see 5.7.26 for the reason")
    assert found.reply is not None and "see 5.7.26 for" in found.reply.text
