"""``smtpprobe explain`` on a client-side error: no SMTP reply, still an answer (issue 8).

Texts are real ones from the development corpus (sources in comments).
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from typer.testing import CliRunner, Result

from smtpprobe.cli import app

ENV = {"SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config", "NO_COLOR": "1"}
# https://github.com/nodemailer/nodemailer/issues/1538
REFUSED = "Error: connect ECONNREFUSED 10.0.0.1:587"
# https://github.com/docker-mailserver/docker-mailserver/issues/3048 (Gmail's dialog)
GMAIL = "Couldn't reach server. Please double-check the server and port number"
_ENGLISH = re.compile(r"\b[a-z]+(?:\s+[a-z]+){2,}\b")
_QUOTED = re.compile(r"「[^」]*」|'[^'\s][^']*'")
_NAMES = re.compile(r"\S*[-./@:_=<>\[\]#$*]\S*")


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["explain", *args], env=ENV)


def _only(text: str) -> dict[str, Any]:
    """The one explanation ``explain --json`` gives for ``text``."""
    (item,) = json.loads(_run("--json", text).stdout)["replies"]
    return cast(dict[str, Any], item)


def test_a_client_error_is_explained_with_exit_code_0() -> None:
    result = _run(REFUSED)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Client error 1 of 1")
    assert "Category: connect-refused" in out
    assert "Server: 10.0.0.1 port 587" in out
    assert "smtpprobe check --host 10.0.0.1 --port 587 --security starttls" in out


def test_the_json_has_no_reply_and_a_failure() -> None:
    result = _run("--json", REFUSED)
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    (item,) = document["replies"]
    assert item["reply"] is None
    assert item["failure"] == {"kind": "connect-refused", "detail": REFUSED}
    assert "port:587" in item["facts"]
    assert item["verdict"]["category"] == "connect-refused"
    assert document["exit_code"] == 0


def test_gmail_dialog_in_japanese() -> None:
    result = _run("--lang", "ja", GMAIL)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "分類: 接続のタイムアウト（connect-timeout）" in out
    assert "「他のメールアドレスを追加」の確認で" in out
    assert "「SMTP サーバー」" in out and "「ポート」" in out
    # Japanese throughout: Gmail's own English words are quoted, commands and names stay.
    for line in out.splitlines():
        text = _NAMES.sub(" ", _QUOTED.sub(" ", line))
        assert not _ENGLISH.search(text), line


# https://github.com/forwardemail/free-email-forwarding/issues/123: the dialog says
# "Authentication failed" and quotes Gmail's DNS error for the SMTP Server it was given.
GMAIL_DNS = (
    "Authentication failed. Please check your username/password. Server returned error: "
    "\"DNS Error: 5563650 DNS type 'aaaa' lookup of smtp.mydomain.com responded with code "
    "NXDOMAIN 5563650 DNS type 'a' lookup of smtp.mydomain.com responded with code NXDOMAIN , "
    'code: 0"'
)


def test_gmail_dialogs_quoted_dns_error_is_the_cause_not_the_login() -> None:
    item = _only(GMAIL_DNS)
    assert item["verdict"]["category"] == "dns-failure"
    assert item["verdict"]["rule"] == "pasted-gmail-dialog-dns"
    assert item["send_mail_as"] is True and item["refuser"] != "submission"
    assert "SMTP Server" in item["verdict"]["remedy"]["en"]
    assert "「SMTP サーバー」" in item["verdict"]["remedy"]["ja"]


# https://github.com/libertempo/web/issues/848: PHPMailer's French debug log, retyped with a
# straight apostrophe and a plain space before ":" (PHPMailer writes "’" and U+202F).
PHPMAILER_FR = (
    "2019-09-05 07:58:20 SERVER -> CLIENT: 250-VI1PR0701CA0036.outlook.office365.com Hello "
    "[192.0.2.1]250-SIZE 157286400250-PIPELINING250-DSN250-ENHANCEDSTATUSCODES250-STARTTLS"
    "250-8BITMIME250-BINARYMIME250-CHUNKING250 SMTPUTF8\n"
    "Erreur SMTP : échec de l'authentification.\n"
    "2019-09-05 07:58:20 CLIENT -> SERVER: QUIT\n"
    "2019-09-05 07:58:20 SERVER -> CLIENT: 221 2.0.0 Service closing transmission channel\n"
)


def test_a_retyped_apostrophe_and_space_still_name_the_error_and_no_ok_is_given() -> None:
    item = _only(PHPMAILER_FR)
    assert item["verdict"]["category"] != "ok"
    # The log shows why the login "failed": AUTH is offered only after STARTTLS, never sent.
    assert item["verdict"]["category"] == "tls-required"
    assert item["verdict"]["rule"] == "pasted-reported-auth-failed-before-starttls"
    # With STARTTLS sent (and AUTH offered after it) the report is a refused login.
    sent = PHPMAILER_FR.replace(
        "Erreur SMTP", "2019-09-05 07:58:20 CLIENT -> SERVER: STARTTLS\nErreur SMTP"
    )
    item = _only(sent)
    assert item["verdict"]["category"] == "auth-failed"


def test_positive_replies_beside_a_programs_smtp_error_are_not_ok() -> None:
    # The same log with PHPMailer's own message for a refused message (src/PHPMailer.php,
    # 'data_not_accepted'): the refusing reply is not in the paste, so nothing here is "ok".
    text = PHPMAILER_FR.replace(
        "Erreur SMTP : échec de l'authentification.", "SMTP Error: data not accepted."
    )
    document = json.loads(_run("--json", text).stdout)
    assert document["replies"]
    assert all(item["verdict"]["category"] != "ok" for item in document["replies"])


def test_gos_local_end_is_not_the_servers_port() -> None:
    # https://github.com/linagora/cozy-stack/issues/2009: Go's "read tcp LOCAL->REMOTE".
    text = (
        'level=error msg="error while performing job: read tcp '
        '172.22.0.3:41874->193.70.18.144:465: i/o timeout"'
    )
    item = _only(text)
    assert item["host"] == "193.70.18.144" and "port:465" in item["facts"]
    assert item["verdict"]["category"] == "wrong-security-mode"


def test_text_without_reply_or_client_error_still_exits_1() -> None:
    result = _run("just some words, no reply here")
    assert result.exit_code == 1
    assert "no client-side error" in result.output


# PHPMailer's own words (src/PHPMailer.php, language/phpmailer.lang-ja.php)
GENERIC = "SMTP connect() failed. https://github.com/PHPMailer/PHPMailer/wiki/Troubleshooting"
GENERIC_JA = "SMTPエラー: SMTPホストに接続できませんでした。"


def test_a_message_that_says_only_it_failed_gets_a_hint_and_no_verdict() -> None:
    result = _run(GENERIC)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("No SMTP reply")
    assert "Note: PHPMailer's message says only that it could not open the SMTP session" in (
        result.stderr
    )
    assert "SMTPDebug = 2" in result.stderr and "Category" not in result.stderr


def test_the_hint_in_japanese_and_in_json() -> None:
    result = _run("--lang", "ja", GENERIC_JA)
    assert result.exit_code == 1
    assert (
        "補足: PHPMailer のこのメッセージは、SMTP の接続を開けなかったことだけを示し"
        in result.stderr
    )
    document = json.loads(_run("--json", GENERIC_JA).stdout)
    assert document["replies"] == [] and document["exit_code"] == 1
    (hint,) = document["hints"]
    assert hint["id"] == "phpmailer-connect-failed" and hint["en"] and hint["ja"]
    assert json.loads(_run("--json", REFUSED).stdout)["hints"] == []


# PHP's mail() on Windows (php-src win32/sendmail.c): aimed at this machine, as php.ini's
# defaults aim it, nothing listens (https://github.com/forkbb/forkbb/issues/17); aimed
# elsewhere, the words do not say why.
PHP_LOCAL = (
    "PHP E_WARNING: mail(): Failed to connect to mailserver at &quot;localhost&quot; port 25, "
    "verify your &quot;SMTP&quot; and &quot;smtp_port&quot; setting in php.ini or use ini_set()"
)
PHP_REMOTE = (
    'mail(): Failed to connect to mailserver at "smtp.example.jp" port 25, verify your "SMTP" '
    'and "smtp_port" setting in php.ini or use ini_set()'
)


def test_php_mail_on_windows_at_localhost_is_refused_and_needs_a_library() -> None:
    item = _only(PHP_LOCAL)
    assert item["verdict"]["category"] == "connect-refused"
    assert item["verdict"]["rule"] == "pasted-php-mail-localhost-refused"
    assert "PHPMailer" in item["verdict"]["remedy"]["en"]
    # Elsewhere the same words cover a name that does not resolve and a blocked port too.
    result = _run("--json", PHP_REMOTE)
    document = json.loads(result.stdout)
    assert document["replies"] == [] and document["exit_code"] == 1
    (hint,) = document["hints"]
    assert hint["id"] == "php-mail-windows-connect-failed"


def test_qmail_remotes_own_line_names_the_step_and_gives_way_to_the_reply() -> None:
    # qmail-remote's report lines (notqmail's qmail-remote.c, smtp()); the reply after
    # "Remote host said:" is a test-only synthetic one.
    alone = _run("--json", "Connected to 192.0.2.1 but sender was rejected.")
    assert alone.exit_code == 0, alone.output
    (answer,) = json.loads(alone.stdout)["replies"]
    assert answer["verdict"]["category"] == "sender-rejected"
    bounce = (
        "<bob@example.net>:\n192.0.2.1 does not like recipient.\n"
        "Remote host said: 550 5.7.1 <bob@example.net>: Relay access denied\n"
        "Giving up on 192.0.2.1.\n"
    )
    quoted = _run("--json", bounce)
    assert quoted.exit_code == 0, quoted.output
    (answer,) = json.loads(quoted.stdout)["replies"]
    assert answer["verdict"]["category"] == "relay-denied"  # the server's words, not qmail's
    assert answer["verdict"]["stage"] == "rcpt"


def test_gos_resolver_error_names_the_looked_up_server_not_the_dns_server() -> None:
    # Go's net package: "lookup NAME on RESOLVER:53: no such host". The DNS server was
    # taken for the SMTP server, and the suggested check aimed at 127.0.0.53.
    result = _run("--json", "dial tcp: lookup smtp.gmial.com on 127.0.0.53:53: no such host")
    found = json.loads(result.stdout)["replies"][0]
    assert found["failure"]["kind"] == "dns-failure"
    assert found["host"] == "smtp.gmial.com" and "port:53" not in found["facts"]


def test_who_refused_is_said_to_be_inferred_when_nothing_says_it() -> None:
    # A 5.7.1 whose words no rule knows: the category's usual refuser, said to be a guess;
    # Postfix's "554 5.7.1 … Relay access denied" has its rule's refuser: said plainly.
    unknown = "550 5.7.1 Zorglub policy 42"
    english = _run(unknown).stdout
    assert "Refused by (most likely; the text does not say):" in english
    assert "拒否したのは（推定。本文には書かれていません）" in _run("--lang", "ja", unknown).stdout
    (item,) = json.loads(_run("--json", unknown).stdout)["replies"]
    assert item["refuser_inferred"] is True
    known = "554 5.7.1 <a@example.net>: Relay access denied"
    assert "Refused by: your provider's" in _run(known).stdout
    (item,) = json.loads(_run("--json", known).stdout)["replies"]
    assert item["refuser_inferred"] is False


def test_a_guess_exits_1_in_json_as_the_command_does() -> None:
    # A red-team round: every guess's JSON said "exit_code": 0 while the command exited 1.
    result = _run("--json", "level=error msg=EOF fields.level=Error")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["exit_code"] == 1


def test_a_bounce_that_names_the_remote_host_says_the_recipients_server_refused() -> None:
    # Postfix's "host X said: … Relay access denied (in reply to RCPT TO command)": the
    # recipient domain's server refused, not the user's provider, whatever the rule's usual.
    bounce = (
        "<user@example.net>: host mx1.example.net[203.0.113.7] said: 554 5.7.1 "
        "<user@example.net>: Relay access denied (in reply to RCPT TO command)"
    )
    (item,) = json.loads(_run("--json", bounce).stdout)["replies"]
    assert (item["refuser"], item["refuser_inferred"]) == ("recipient", False)


def test_a_positive_reply_names_no_refuser_and_no_retry() -> None:
    # Postfix's delivery line of a message the relay took (linode/docs' Postfix guide): no
    # one refused, and there is nothing to retry; the reply and its "ok" are all it says.
    line = "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as C4232266C9)"
    for lang, refused, retry in (("en", "Refused by", "Retry"), ("ja", "拒否したのは", "再試行")):
        result = _run("--lang", lang, line)
        assert result.exit_code == 0
        assert "250 2.0.0 Ok: queued as C4232266C9" in result.stdout
        assert refused not in result.stdout and retry not in result.stdout


def test_a_programs_own_mistake_is_not_called_a_refusal() -> None:
    # Go's net/smtp: "Hello called after other methods" (pocket-id/pocket-id#179): the
    # program called its library out of order; no server refused anything.
    line = "Error #01: failed to say hello to SMTP server: smtp: Hello called after other methods"
    english = _run(line).stdout
    assert "the program's own mistake" in english and "refusal," not in english.splitlines()[0]
    assert "Refused by: no server" in english
    japanese = _run("--lang", "ja", line).stdout
    assert "プログラム自身の誤り" in japanese.splitlines()[0]
    (item,) = json.loads(_run("--json", line).stdout)["replies"]
    assert item["refuser"] == "client" and item["verdict"]["category"] == "protocol-error"
