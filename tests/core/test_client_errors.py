"""Client-side errors in pasted text (issue 8 item 2): signatures, incidents, explanations.

The signatures of ``smtpprobe/data/client_errors.yaml`` are data; these tests hold them
to their own real examples, keep them off the replies of the development corpus, check
that an example taken from the development corpus is verbatim, and run whole pastes
through what ``smtpprobe explain`` does (``explain_text``): a client error is explained
by the rules of the "pasted client-side errors" section, a reply quoted next to it wins,
and Gmail's "Send mail as" dialog is named as the verification step with the field to
change. Texts are real ones from the cited sources (the corpus' development part or the
examples of the signature file); the few combinations built here say so.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.core.bounce import Found, find_replies
from smtpprobe.core.client_errors import (
    REPORTED,
    Signature,
    SignatureExample,
    _unwrapped,
    find_client_errors,
    find_hints,
    fold,
    parse_client_errors,
    scan,
)
from smtpprobe.core.explain import Explanation, explain_found, explain_text
from smtpprobe.core.pasted import decode_pasted
from smtpprobe.core.rules import RuleError, Situation, first_match
from smtpprobe.core.written_forms import plain_form
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_split import DEVELOPMENT, load

SIGNATURES = client_errors().signatures
RULES = load_rulebook()
EXAMPLES: list[tuple[Signature, SignatureExample]] = [
    (signature, example) for signature in SIGNATURES for example in signature.examples
]
EXAMPLE_IDS = [f"{s.id}#{i}" for s in SIGNATURES for i in range(len(s.examples))]


@functools.cache
def _dev() -> list[dict[str, Any]]:
    """The development corpus, read by the tests that use it (not at collection)."""
    return [item for path in sorted(DEVELOPMENT.glob("*.yaml")) for item in load(path)]


def _explain(text: str) -> list[Explanation]:
    return explain_text(decode_pasted(text).text, lambda _: RULES, client_errors())


def _named(explanation: Explanation) -> tuple[str, str | None]:
    """An explanation's category and the rule that gave it."""
    return explanation.verdict.category, explanation.verdict.rule_id


def _dev_text(source: str, contains: str) -> str:
    """The development corpus text of ``source`` that holds ``contains`` (a real text)."""
    texts = [i["text"] for i in _dev() if i["source"] == source and contains in i["text"]]
    assert texts, f"no development text from {source} holds {contains!r}"
    return str(texts[0])


# --- the signature file ------------------------------------------------------------------


def test_the_file_is_read_and_covers_the_families() -> None:
    failures = {s.failure for s in SIGNATURES if s.failure}
    assert len(SIGNATURES) >= 40
    assert failures >= {
        "dns-failure",
        "connect-refused",
        "connect-timeout",
        "network-unreachable",
        "tls-handshake-failed",
        "tls-certificate-invalid",
        "timeout",
        "connection-lost",
        "starttls-not-offered",
        "auth-not-offered",
        "no-common-mechanism",
        "proxy-refused",
        "proxy-auth-failed",
        "proxy-target-unreachable",
        "proxy-timeout",
        REPORTED,
    }


# Data-driven checks run as one test per table (each lists every failing entry by its id):
# thousands of one-line test items cost more in pytest's bookkeeping than in the checks.


def test_every_signature_matches_its_own_examples() -> None:
    failures = []
    for (signature, example), case in zip(EXAMPLES, EXAMPLE_IDS, strict=True):
        # Patterns and pastes are read with apostrophes and no-break spaces folded, and
        # without diacritics.
        text = plain_form(fold(example.text))
        lowered = text.lower()
        if not signature.pattern.search(text):
            failures.append(f"{case}: the pattern does not match")
        elif signature.anchors and not any(a in lowered for a in signature.anchors):
            # The literal pre-check would skip a text the pattern matches.
            failures.append(f"{case}: no anchor in the text")
    assert failures == []


def test_every_signature_and_hint_has_literal_anchors() -> None:
    # A pattern with no literal every match must contain is searched over every paste (a
    # 10 MB one took 7 s instead of 3 when two signatures lost theirs to an alternative the
    # anchor reader cannot see into). Only the word families, scanned over the start of a
    # paste, may do without.
    loaded = client_errors()
    assert [s.id for s in (*loaded.signatures, *loaded.hints) if not s.pattern.anchors] == []


def _named_by_its_signature(signature: Signature, example: SignatureExample) -> str | None:
    incidents = scan(example.text, client_errors())
    if not incidents:
        return "no incident"
    found = incidents[0].found
    if found.reply is not None:
        return f"read as a reply: {found.reply}"
    if not found.facts >= signature.facts:
        return f"facts {sorted(found.facts)} lack {sorted(signature.facts - found.facts)}"
    if signature.is_error and found.failure != signature.failure:
        return f"failure {found.failure}, not {signature.failure} ({found.evidence!r})"
    return None


def test_an_example_alone_is_named_by_its_signature() -> None:
    failures = [
        f"{case}: {problem}"
        for (signature, example), case in zip(EXAMPLES, EXAMPLE_IDS, strict=True)
        if (problem := _named_by_its_signature(signature, example))
    ]
    assert failures == []


def test_an_example_from_the_development_corpus_is_verbatim() -> None:
    failures = []
    sources = {str(i["source"]) for i in _dev()}
    for (_, example), case in zip(EXAMPLES, EXAMPLE_IDS, strict=True):
        if example.source in sources:
            texts = [str(i["text"]) for i in _dev() if i["source"] == example.source]
            if not any(example.text in text for text in texts):
                failures.append(f"{case}: {example.text!r}")
    assert failures == []


def test_a_signature_without_a_real_example_is_refused() -> None:
    signature: dict[str, Any] = {"id": "x", "regex": "refused", "failure": "timeout"}
    with pytest.raises(RuleError, match="examples"):
        parse_client_errors({"version": 1, "signatures": [signature]}, "test.yaml")
    signature["examples"] = [{"text": "nothing here", "source": "https://e.org/"}]
    with pytest.raises(RuleError, match="does not match its example"):
        parse_client_errors({"version": 1, "signatures": [signature]}, "test.yaml")


# --- no false hits on replies --------------------------------------------------------------


def _reply_items() -> list[dict[str, Any]]:
    return [i for i in _dev() if i.get("shape", "reply") == "reply"]


TRANSPORT = [s for s in SIGNATURES if s.is_error and s.failure != REPORTED]


def _case(item: dict[str, Any]) -> str:
    return f"{str(item['source'])[-40:]}:{str(item['text'])[:30]!r}"


def test_no_transport_signature_matches_a_development_reply() -> None:
    failures = []
    for item in _reply_items():
        hits = [s.id for s in TRANSPORT if s.pattern.search(str(item["text"]))]
        if hits:
            failures.append(f"{_case(item)}: {hits}")
    assert failures == []


def test_a_development_reply_is_explained_as_a_reply() -> None:
    failures = []
    for item in _reply_items():
        text = decode_pasted(str(item["text"])).text
        if not find_replies(text):
            continue  # a reply text the finder does not read (yet): nothing to compare
        explained = _explain(str(item["text"]))
        if not all(e.found.reply is not None for e in explained):
            failures.append(_case(item))
    assert failures == []


# --- incidents: one explanation per error, with the host and the port it names -------------


@pytest.mark.parametrize(
    ("source", "contains", "failure", "host", "port"),
    [
        (
            "https://github.com/nodemailer/nodemailer/issues/1538",
            "ECONNREFUSED",
            "connect-refused",
            "10.0.0.1",
            "587",
        ),
        (
            "https://github.com/jhipster/generator-jhipster/issues/4329",
            "Connection timed out",
            "connect-timeout",
            "smtp.mail.yahoo.com",
            "587",
        ),
        (
            "https://github.com/support-project/knowledge/issues/598",
            "response: -1",
            "connection-lost",
            "smtp.gmail.com",
            "465",
        ),
        (
            "https://github.com/nodemailer/nodemailer/issues/573",
            "ENOTFOUND",
            "dns-failure",
            None,
            "465",
        ),
        (
            "https://github.com/grails-plugins/grails-mail/issues/27",
            "Unrecognized SSL message",
            "tls-handshake-failed",
            "smtp.xxxxxxxx.com",
            "587",
        ),
    ],
    ids=["node-refused", "javamail-timeout", "javamail-response-1", "node-enotfound", "java"],
)
def test_one_incident_per_error_with_its_server(
    source: str, contains: str, failure: str, host: str | None, port: str
) -> None:
    found = find_client_errors(_dev_text(source, contains), client_errors())
    assert [f.failure for f in found] == [failure]
    assert found[0].host == host
    assert f"port:{port}" in found[0].facts


def test_a_stack_trace_names_no_class_as_a_server() -> None:
    text = _dev_text("https://github.com/triplea-game/triplea/issues/10134", "timed out")
    (found,) = find_client_errors(text, client_errors())
    assert found.host == "smtp.live.com"  # not "com.sun.mail.util" nor "java.net"


def test_a_web_address_is_not_the_server() -> None:
    text = _dev_text("https://github.com/ruffrey/mailsac/issues/21", "did not accept")
    (found,) = find_client_errors(text, client_errors())
    assert found.host != "support.google.com"


def test_the_reply_wins_and_the_client_error_gives_way() -> None:
    # nodemailer's error object: "Invalid login" (its own words) around the server's 535.
    text = _dev_text("https://github.com/nodemailer/nodemailer/issues/1167", "Invalid login")
    explained = _explain(text)
    assert [e.found.reply is not None for e in explained] == [True]
    assert explained[0].verdict.category == "auth-failed"


def test_positive_replies_alone_give_way_to_words_of_an_error() -> None:
    # curl's verbose log: the 220 to STARTTLS worked, the handshake after it did not. The
    # paste is never "ok" (https://github.com/datawookie/emayili/issues/147, verbatim).
    text = _dev_text("https://github.com/datawookie/emayili/issues/147", "schannel")
    explained = _explain(text)
    assert [e.verdict.category for e in explained] == ["tls-handshake-failed"]
    # A positive reply with nothing else in the paste is still read as what it is.
    (alone,) = _explain("220 2.0.0 SMTP server ready")
    assert alone.verdict.category == "ok"
    # Error-like words BEFORE the replies are not an error: PHPMailer's debug output opens
    # with "Connection: opening to …, timeout=300" (its format; this transcript is built
    # here, not a server's real text) and then shows a message accepted.
    built = (
        "Connection: opening to smtp.example.com:587, timeout=300, options=array ()\n"
        "Connection: opened\n"
        "SERVER -> CLIENT: 220 smtp.example.com ESMTP\n"
        "SERVER -> CLIENT: 250 2.0.0 Ok: queued as 12345\n"
    )
    assert {e.verdict.category for e in _explain(built)} == {"ok"}


def test_a_plaintext_answer_to_tls_is_the_wrong_security_mode() -> None:
    for source, contains in (
        ("https://github.com/nodemailer/nodemailer/issues/1461", "wrong version number"),
        ("https://github.com/voodoodyne/subethasmtp/issues/84", "Unrecognized SSL message"),
        ("https://github.com/datalust/seq-app-htmlemail/issues/85", "plain-text connections"),
        ("https://github.com/duplicati/duplicati/issues/3232", "unexpected packet"),
    ):
        (item,) = _explain(_dev_text(source, contains))
        assert item.verdict.category == "wrong-security-mode", source
        assert "smtpprobe check" in item.verdict.remedy.en
        assert "--security starttls" in item.verdict.remedy.ja


def test_no_greeting_on_465_is_the_wrong_security_mode() -> None:
    text = _dev_text("https://github.com/teprinciple/MailSender/issues/3", "response: -1")
    (item,) = _explain(text)
    assert item.verdict.category == "wrong-security-mode"
    assert "--host smtp.gmail.com --port 465 --security implicit-tls" in item.verdict.remedy.en


def test_a_delivery_report_blames_the_recipient_server() -> None:
    text = _dev_text("https://github.com/forwardemail/free-email-forwarding/issues/142", "Despite")
    (item,) = _explain(text)
    assert (item.verdict.category, item.verdict.retryable, item.refuser) == (
        "connect-timeout",
        True,
        "recipient",
    )


def test_a_pasted_connect_timeout_is_final_with_or_without_a_named_port() -> None:
    # A named port (also Go's "dial tcp <masked>:25") is that port being dropped; a bare
    # timeout (Ruby's "execution expired", Python's "[Errno 110]") cannot say which, but a
    # pasted one is the one that kept failing: neither is called retryable, and each says why.
    named = _dev_text("https://github.com/gophish/gophish/issues/1935", "i/o timeout")
    bare = _dev_text("https://github.com/yegor256/mailanes/issues/95", "execution expired")
    ((one,), (two,)) = _explain(named), _explain(bare)
    assert (one.verdict.category, one.verdict.retryable) == ("connect-timeout", False)
    assert "port:25" in one.found.facts
    assert (two.verdict.category, two.verdict.retryable) == ("connect-timeout", False)
    assert one.verdict.rule_id != two.verdict.rule_id  # the bare one does not claim a port


def test_a_greeting_timeout_is_not_a_connect_timeout() -> None:
    # nodemailer labels its greeting timeout "stage: 'connect'": the connection was open.
    text = _dev_text("https://github.com/Strider-CD/docker-strider/issues/13", "Greeting")
    (item,) = _explain(text)
    assert (item.found.failure, item.found.stage) == ("timeout", "greeting")


def test_gmail_says_which_way_the_recipient_server_did_not_accept() -> None:
    text = _dev_text("https://github.com/rubima/rubima/issues/133", "timed out")
    (item,) = _explain(text)
    assert (item.verdict.category, item.verdict.retryable, item.refuser) == (
        "connect-timeout",
        True,
        "recipient",
    )


# Programs' own texts from the signature file's examples (msmtp's smtp.c, net.c and
# mtls-openssl.c at 933d35b; KDE KSMTP at 5fae8d1, kio_smtp at ecab7a6 and its Japanese).
@pytest.mark.parametrize(
    ("text", "category"),
    [
        # The SOCKS proxy's answer about the mail server, not our own connection refused.
        ("msmtp: proxy failure: connection refused", "proxy-failed"),
        # An end of file in the handshake: the handshake failed, not a dialogue cut short.
        ("msmtp: TLS handshake failed: a protocol violating EOF occurred", "tls-handshake-failed"),
        # A read that timed out after the connection opened is not a connect timeout.
        ("msmtp: network read error: the operation timed out", "timeout"),
        # Nothing read at all where a reply was due: the server closed the connection.
        ("msmtp: the server sent an empty reply", "connection-lost"),
        ("msmtp: the server sent an invalid reply", "protocol-error"),
        # "Could not authenticate … because no matching authentication method": the method.
        (
            "Could not authenticate to the SMTP server because no matching authentication"
            " method has been found",
            "auth-mechanism-unsupported",
        ),
        # Authentication not offered at all, or a method of it (方式) not offered.
        ("お使いの SMTP サーバは認証をサポートしていません。", "auth-unavailable"),
        (
            "お使いの SMTP サーバは CRAM-MD5 をサポートしていません。\n"
            "他の認証方式を選択してください。",
            "auth-mechanism-unsupported",
        ),
        ("msmtp: der Server unterstützt keine Authentifizierung", "auth-unavailable"),
        (
            "msmtp: der Server unterstützt Authentifizierungsmethode CRAM-MD5 nicht",
            "auth-mechanism-unsupported",
        ),
        ("msmtp: 服务器不支持身份验证", "auth-unavailable"),
        ("msmtp: 服务器不支持认证方法 CRAM-MD5", "auth-mechanism-unsupported"),
        # Both EHLO and HELO refused.
        ("msmtp: SMTP server does not accept EHLO or HELO commands", "protocol-error"),
    ],
)
def test_the_more_specific_words_name_the_error(text: str, category: str) -> None:
    (item,) = _explain(text)
    assert item.verdict.category == category, item.verdict.rule_id


# TLS libraries' own words (the signature file's examples: OpenSSL's openssl.txt and
# x509_txt.c, GnuTLS's errors.c, rustls, Go, OpenJDK, .NET's System.Net.Security strings,
# Node's certificate error codes), read as the failure they name with the fact that picks
# the rule's advice.
@pytest.mark.parametrize(
    ("text", "category", "fact"),
    [
        # .NET's alert sentence starts with "Authentication failed": a handshake, not a login.
        (
            "Authentication failed because the remote party sent a TLS alert: 'HandshakeFailure'.",
            "tls-handshake-failed",
            None,
        ),
        ("error:0A0000B5:SSL routines::no ciphers available", "tls-handshake-failed", None),
        ("No common key share with peer.", "tls-handshake-failed", None),
        ("error:0A00018A:SSL routines::dh key too small", "tls-handshake-failed", None),
        ("Unsafe renegotiation denied.", "tls-handshake-failed", None),
        ("An unexpected TLS packet was received.", "tls-handshake-failed", None),
        # An end of file in TLS words is the handshake cut off, not a dialogue cut short.
        (
            "error:0A000126:SSL routines::unexpected eof while reading",
            "tls-handshake-failed",
            "tls-closed",
        ),
        ("The TLS connection was non-properly terminated.", "tls-handshake-failed", "tls-closed"),
        ("Error in the pull function.", "tls-handshake-failed", "tls-closed"),
        ("error:0A00009C:SSL routines::http request", "wrong-security-mode", "plaintext-record"),
        ("hostname mismatch", "tls-certificate-invalid", "certificate:name-mismatch"),
        ("HOSTNAME_MISMATCH", "tls-certificate-invalid", "certificate:name-mismatch"),
        ("CERT_NOT_YET_VALID", "tls-certificate-invalid", "certificate:expired"),
        ("unable to get issuer certificate", "tls-certificate-invalid", "certificate:untrusted"),
        ("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "tls-certificate-invalid", "certificate:untrusted"),
        ("certificate chain too long", "tls-certificate-invalid", None),
        ("INVALID_CA", "tls-certificate-invalid", None),
        ("CERT_REVOKED", "tls-certificate-invalid", None),
    ],
)
def test_tls_library_words_name_the_tls_failure(text: str, category: str, fact: str | None) -> None:
    (item,) = _explain(text)
    assert item.verdict.category == category, item.verdict.rule_id
    assert item.found.stage == "tls"
    if fact is not None:
        assert fact in item.found.facts, sorted(item.found.facts)


def test_a_peers_alert_about_a_certificate_is_a_failed_handshake() -> None:
    # The server's alert "certificate revoked" is about this side's certificate; Node's
    # CERT_REVOKED is the server's certificate failing the check. Texts built from Java's
    # 'Received fatal alert: ' + description and Python's ssl error format.
    for text in (
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_revoked",
        "[SSL: SSLV3_ALERT_CERTIFICATE_REVOKED] sslv3 alert certificate revoked (_ssl.c:1000)",
    ):
        (item,) = _explain(text)
        assert item.verdict.category == "tls-handshake-failed", text


def test_an_end_of_file_without_tls_words_is_a_lost_connection() -> None:
    # Built here: OpenSSL's reason words alone, with nothing that says TLS.
    (item,) = _explain("read failed: unexpected eof while reading")
    assert item.verdict.category == "connection-lost"


def test_a_program_reports_the_greeting_refused() -> None:
    # msmtp's and kio_smtp's own sentences (smtp.c; smtp.cpp with smtp.example.jp), alone.
    for text in (
        "msmtp: cannot get initial OK message from server",
        "The server (smtp.example.jp) did not accept the connection.",
    ):
        (item,) = _explain(text)
        assert (item.verdict.category, item.found.stage) == ("greeting-rejected", "greeting")
    # CakePHP's sentence says less (EHLO, STARTTLS or TLS may have failed): still a hint.
    from smtpprobe.paste import explain

    cake = explain("SMTP server did not accept the connection.")
    assert not cake.recognised
    assert [h.id for h in cake.hints] == ["cakephp-did-not-accept-connection"]


def test_a_refusal_told_in_passing_does_not_hide_the_reply() -> None:
    # Seed 001 (a blog post) mentions 「認証エラー」 in its prose; OCN's E041 reply is the answer.
    seed = Path(__file__).resolve().parents[1] / "data" / "seeds" / "001_4fd508d8b4469860.txt"
    if not seed.is_file():
        pytest.fail(f"the seed document is missing: {seed}")
    assert _explain(seed.read_text(encoding="utf-8"))[0].verdict.category == "relay-denied"


# --- Gmail's "Send mail as" dialog (issue 8 item 3) ------------------------------------------

GMAIL_DIALOG = [
    pytest.param(
        "https://github.com/docker-mailserver/docker-mailserver/issues/3048",
        "Couldn't reach server",
        "connect-timeout",
        ("SMTP Server", "Port"),
        ("「SMTP サーバー」", "「ポート」"),
        id="couldnt-reach",
    ),
    pytest.param(
        "https://runaroundtech.com/2020/08/19/gmail-tls-negotiation-failed-explained/",
        "TLS Negotiation failed",
        "tls-certificate-invalid",
        ("SMTP Server",),
        ("「SMTP サーバー」",),
        id="tls-negotiation",
    ),
    pytest.param(
        "https://github.com/forwardemail/free-email-forwarding/issues/117",
        "unable to read banner",
        "timeout",
        ("Port 465", "'Secured connection using SSL'"),
        ("ポート 465", "「SSL を使用したセキュリティで保護された接続」"),
        id="no-banner",
    ),
]


@pytest.mark.parametrize(("source", "contains", "category", "en", "ja"), GMAIL_DIALOG)
def test_gmail_dialog_is_the_verification_step_and_names_the_field(
    source: str, contains: str, category: str, en: tuple[str, ...], ja: tuple[str, ...]
) -> None:
    (item,) = _explain(_dev_text(source, contains))
    verdict = item.verdict
    assert (verdict.category, verdict.retryable, item.refuser) == (category, False, "submission")
    assert "gmail-dialog" in item.found.facts
    said_en = f"{verdict.cause.en} {verdict.remedy.en}"
    said_ja = f"{verdict.cause.ja} {verdict.remedy.ja}"
    assert "'Send mail as'" in said_en and "verif" in said_en
    assert "「他のメールアドレスを追加」" in said_ja and "確認" in said_ja
    assert all(field in verdict.remedy.en for field in en)
    assert all(field in verdict.remedy.ja for field in ja)
    assert "smtpprobe check" in verdict.remedy.en and "smtpprobe check" in verdict.remedy.ja


def test_gmail_send_mail_as_bounce_in_japanese_names_the_field() -> None:
    text = _dev_text("https://mindtech.jp/?p=1216", "TLS Negotiation failed")
    (item,) = _explain(text)
    assert (item.verdict.category, item.refuser) == ("tls-certificate-invalid", "submission")
    assert item.found.send_mail_as and "gmail-send-mail-as" in item.found.facts
    assert "「SMTP サーバー」" in item.verdict.remedy.ja
    assert "「他のメールアドレスを追加」" in item.verdict.cause.ja


def test_gmail_dialog_quoting_a_login_refusal() -> None:
    # Built here, not a pasted text: Gmail's dialog sentences (forwardemail issue 117) around
    # Postfix's real 535 reply (its smtpd_sasl_glue.c format, in the development corpus).
    reply = "535 5.7.8 Error: authentication failed: authentication failure"
    text = (
        "Authentication failed. Please check your username/password.\n"
        f'Server returned an error: "{reply}, code: 535"'
    )
    (item,) = _explain(text)
    said = item.verdict.cause.en + item.verdict.remedy.en
    said += "".join(f.message.en for f in item.verdict.findings)
    said_ja = item.verdict.cause.ja + item.verdict.remedy.ja
    said_ja += "".join(f.message.ja for f in item.verdict.findings)
    assert (item.verdict.category, item.refuser) == ("auth-failed", "submission")
    assert "gmail-dialog" in item.found.facts
    assert "verif" in said and "Username" in said and "Password" in said
    assert "「ユーザー名」" in said_ja and "「パスワード」" in said_ja


# --- what the pasted rules say (issue 8 item 5) ----------------------------------------------

PASTED_RULES = [r for r in RULES if r.id.startswith("pasted-")]


@pytest.mark.parametrize("rule", PASTED_RULES, ids=[r.id for r in PASTED_RULES])
def test_a_pasted_rule_reads_well_without_values(rule: Any) -> None:
    situation: Situation = rule.examples[0].situation
    found = Found(
        reply=None,
        stage=situation.phase,
        failure=situation.failure,
        facts=situation.facts - {"pasted"},
        evidence="an error",
    )
    item = explain_found(found, RULES)
    assert item.verdict.rule_id == rule.id
    for text in (item.verdict.cause.en, item.verdict.remedy.en, item.verdict.cause.ja,
                 item.verdict.remedy.ja):  # fmt: skip
        assert "{" not in text and "\x00" not in text
        assert "  " not in text and "()" not in text and "（）" not in text
        assert " ." not in text and " ," not in text
    # The retry advice never contradicts the remedy: a change is asked, so retrying alone
    # does not help; or nothing is asked but patience.
    if not item.verdict.retryable:
        assert not item.verdict.remedy.en.startswith("Try again"), rule.id


@pytest.mark.parametrize("rule", PASTED_RULES, ids=[r.id for r in PASTED_RULES])
def test_a_pasted_rule_needs_a_paste(rule: Any) -> None:
    # A live probe never reaches these rules (except the catch-all for a reported refusal,
    # a failure kind the driver never records).
    assert "pasted" in rule.facts or rule.failures == frozenset({REPORTED})
    probe = rule.examples[0].situation
    # The same step without what only a paste has (its words' facts); a reply the paste
    # quoted is one a live probe could receive too.
    live = dataclasses.replace(probe, facts=frozenset())
    found = first_match(RULES, live)
    assert found is not None and (found[0] is not rule or rule.failures == {REPORTED})


def test_a_go_resolver_timeout_is_a_dns_failure_not_a_connect_timeout() -> None:
    # "dial tcp: lookup X: i/o timeout" is the DNS query timing out, before any connection;
    # a program's own look-up that fails so is most often a machine without working DNS,
    # which a retry alone does not change (rule pasted-dns-temporary).
    text = _dev_text("https://github.com/knadh/listmonk/issues/1859", "lookup")
    (item,) = _explain(text)
    assert (item.verdict.category, item.verdict.retryable) == ("dns-failure", False)
    assert "dns-temporary" in item.found.facts


def test_a_mail_servers_deferred_lookup_is_retried_by_the_server() -> None:
    # Postfix keeps the message and looks the name up again by itself (client_errors.yaml's
    # example from https://github.com/mail-in-a-box/mailinabox/issues/1607).
    text = (
        "status=deferred (Host or domain name not found. Name service error for "
        "name=fontarboleas.es type=MX: Host not found, try again)"
    )
    (item,) = _explain(text)
    assert (item.verdict.rule_id, item.verdict.retryable) == ("dns-temporary-mta-queue", True)


def test_mailkits_list_of_possible_causes_is_not_a_certificate_verdict() -> None:
    # MailKit's fixed list names "a self-signed certificate" as one possibility; with "a port
    # which does not support SSL/TLS" beside it (SSL on connect) the answer is the port first.
    for source in (
        "https://github.com/OrchardCMS/OrchardCore/issues/3556",
        "https://github.com/cloudscribe/cloudscribe/issues/755",
    ):
        (item,) = _explain(_dev_text(source, "possibility"))
        assert item.verdict.category == "wrong-security-mode", source
        assert "certificate" in item.verdict.cause.en and "SslOnConnect" in item.verdict.remedy.en
    # With a certificate it could check, MailKit names its errors: a certificate verdict.
    text = _dev_text("https://github.com/bitwarden/server/issues/1218", "CRL")
    assert _explain(text)[0].verdict.category == "tls-certificate-invalid"


def test_a_non_smtp_greeting_in_gos_words_is_a_protocol_error() -> None:
    # Go's textproto "short response: * OK …": an IMAP server answered on the SMTP port.
    text = _dev_text("https://github.com/mattermost/mattermost-docker/issues/455", "short")
    (item,) = _explain(text)
    assert item.found.failure == "malformed-reply"
    assert item.verdict.category == "protocol-error"


# msmtp names the step, then prints the server's reply on its own line (smtp.c:
# "the server refuses to send the mail to %s", then "server message: %s"). The two
# msmtp messages are its own; the reply lines are built here (marked as such).
MSMTP_RCPT = "msmtp: the server refuses to send the mail to user@example.jp"
MSMTP_GREETING = "msmtp: cannot get initial OK message from server"
MSMTP_END = "msmtp: could not send mail (account default from /etc/msmtprc)"


def test_words_that_name_the_step_give_the_reply_its_stage() -> None:
    built = "msmtp: server message: 554 5.7.1 <user@example.jp>: Relay access denied"
    (item,) = _explain(f"{MSMTP_RCPT}\n{built}\n{MSMTP_END}")
    assert item.found.stage == "rcpt" and item.verdict.category == "relay-denied"
    built = "msmtp: server message: 554 5.7.1 go away"
    (item,) = _explain(f"{MSMTP_GREETING}\n{built}")
    assert item.found.stage == "greeting" and item.verdict.category == "greeting-rejected"


def test_a_programs_next_log_line_is_not_part_of_the_reply() -> None:
    built = "msmtp: server message: 550 5.1.1 <user@example.jp>: Recipient address rejected"
    (found,) = find_replies(f"{built}\n{MSMTP_END}")
    assert found.reply is not None
    assert found.reply.lines == ("<user@example.jp>: Recipient address rejected",)


def test_postfixs_own_connect_failure_wrapped_after_connect_is_no_reply() -> None:
    # A Postfix delivery log line (development corpus, round330_selfhost_docs.yaml) re-wrapped
    # at 60 columns, its reason broken after "(connect": still Postfix's own connect timeout,
    # not a 4.4.1 reply of a server.
    text = (
        "Oct 30 13:08:09 ebox011101 postfix/smtp[16770]: 6E06752608:\n"
        "to=<user@example.com>, relay=none, delay=30,\n"
        "delays=0.06/0.02/30/0, dsn=4.4.1, status=deferred (connect\n"
        "to 192.168.45.120[192.168.45.120]:25: Connection timed out)"
    )
    rules = load_rulebook()
    (explained,) = explain_text(text, lambda _: rules, client_errors())
    assert explained.found.reply is None
    assert explained.verdict.category == "connect-timeout"


def test_a_dsn_x_diagnostic_is_read_as_the_mtas_words() -> None:
    # RFC 3464's "X-" diagnostic types: the code comes from Status, the words are Postfix's.
    text = _dev_text(
        "https://github.com/mitio/bounce_email/blob/master/test/bounces/tt_1234211929.txt",
        "X-Postfix",
    )
    (item,) = _explain(text)
    assert item.found.reply is not None and item.found.reply.enhanced == "5.2.3"
    assert item.verdict.category == "mailbox-full"


def test_an_x_diagnostic_that_names_a_client_failure_is_that_failure() -> None:
    # "X-Postfix; connect to …: Operation timed out" is Postfix failing to connect, not a
    # reply it got: the client-error words decide, as without the DSN around them.
    text = _dev_text("https://github.com/jeboehm/docker-mailserver/issues/141", "X-Postfix")
    (item,) = _explain(text)
    assert item.found.reply is None and item.verdict.category == "connect-timeout"


# --- hints: messages that say only that something failed -----------------------------------


def test_every_hint_matches_its_examples_and_speaks_both_languages() -> None:
    hints = client_errors().hints
    assert [h.id for h in hints] == [
        "postfix-reject-warning",
        "evolution-bad-auth-response",
        "nextcloud-mail-smtp-host-refused",
        "php-mail-windows-connect-failed",
        "ruby-smtp-authentication-error",
        "mailcore-send-not-allowed",
        "k9-autocrypt-send-failed",
        "mailcore-connection",
        "mailcore-send-failed",
        "mailcore-needs-webmail",
        "cdo-failed-to-connect",
        "phpmailer-connect-failed",
        "dotnet-failure-sending-mail",
        "phpmailer-data-not-accepted",
        "phpmailer-mail-function",
        "codeigniter-smtp-send-failure",
        "email-sender-smtp-connect-failed",
        "bamboo-smtp-error",
        "symfony-connection-not-established",
        "swiftmailer-address-not-rfc",
        "javamail-could-not-connect",
        "commons-email-send-failed",
        "spring-mail-connection-failed",
        "postal-no-smtp-servers",
        "cakephp-did-not-accept-connection",
        "thunderbird-send-failed-unknown-reason",
        "thunderbird-password-unavailable",
        "thunderbird-sent-copy-failed",
        "thunderbird-folder-copy-failed",
        "thunderbird-attachment-unreadable",
        "geary-send-problem",
        "rainloop-sent-copy-failed",
        "roundcube-smtp-connect-failed",
        "roundcube-server-unreachable",
        "horde-smtp-554",
        "app-cannot-connect",
    ]
    for hint in hints:
        assert hint.examples and hint.text.en and hint.text.ja
        for example in hint.examples:
            assert find_hints(example.text, client_errors()) == [hint], example.text


def test_a_hint_is_found_in_a_wrapped_message() -> None:
    # A dialog or a mail client wraps its message (a red-team paste): each hint's own
    # examples, wrapped after every word but the first, are still found.
    for hint in client_errors().hints:
        for example in hint.examples:
            first, _, rest = example.text.partition(" ")
            if not rest:
                continue
            wrapped = first + " " + "\n  ".join(rest.split(" "))
            assert find_hints(wrapped, client_errors()) == [hint], wrapped


def test_a_hint_is_only_for_a_paste_where_nothing_else_was_found() -> None:
    from smtpprobe.paste import explain

    generic = "SMTPエラー: SMTPホストに接続できませんでした。"
    alone = explain(generic)
    assert not alone.recognised and [h.id for h in alone.hints] == ["phpmailer-connect-failed"]
    # PHPMailer's debug line before it names the failure: that is the answer, with no hint.
    specific = explain(
        "2022-11-29 19:28:46 SMTP ERROR: Failed to connect to server: Connection refused (111)\n"
        "SMTP connect() failed. https://github.com/PHPMailer/PHPMailer/wiki/Troubleshooting"
    )
    assert [e.verdict.category for e in specific.explanations] == ["connect-refused"]
    assert specific.hints == ()


def test_a_line_postfix_only_logged_gets_no_verdict_but_its_hint() -> None:
    from smtpprobe.paste import explain

    # https://pastebin.com/0kNp29ff (development corpus): warn_if_reject refused nothing, so
    # neither its reply nor its words ("Helo command rejected") nor a guess is an answer.
    line = (
        "Mar 7 12:45:32 holmser postfix/smtpd[11849]: NOQUEUE: reject_warning: RCPT from "
        "m620e36d0.tmodns.net[208.54.14.98]: 504 5.5.2 <localhost>: Helo command rejected: "
        "need fully-qualified hostname; from=<user@example.com> to=<user@example.com> "
        "proto=ESMTP helo=<localhost>"
    )
    alone = explain(line)
    assert alone.explanations == [] and [h.id for h in alone.hints] == ["postfix-reject-warning"]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"id": "h", "regex": "x", "hint": {"en": "e"}, "examples": []}, "'en' and 'ja'"),
        ({"id": "h", "regex": "x", "hint": {"en": "e", "ja": "j"}, "oops": 1}, "unknown key"),
        (
            {
                "id": "h",
                "regex": "abc",
                "hint": {"en": "e", "ja": "j"},
                "examples": [{"text": "zzz", "source": "https://example.org/"}],
            },
            "does not match its example",
        ),
    ],
)
def test_a_bad_hint_is_one_line_naming_it(raw: dict[str, Any], problem: str) -> None:
    data = {
        "version": 1,
        "signatures": [
            {
                "id": "s",
                "regex": "ECONNREFUSED",
                "failure": "connect-refused",
                "examples": [{"text": "ECONNREFUSED", "source": "https://example.org/"}],
            }
        ],
        "hints": [raw],
    }
    with pytest.raises(RuleError, match=problem) as info:
        parse_client_errors(data, "test.yaml")
    assert "test.yaml: hint 'h'" in str(info.value) and "\n" not in str(info.value)


def test_a_reported_refusal_gives_way_to_the_servers_words_it_quotes() -> None:
    # PHPMailer reports the refused recipients and keeps the server's words without their
    # code: those words say what was refused (a relay denial, not an unknown recipient).
    text = _dev_text("https://github.com/themosis/themosis/issues/322", "Relaying denied")
    (item,) = _explain(text)
    assert item.verdict.category == "relay-denied"


# BookStack's .env pasted above Swift Mailer's error (https://github.com/BookStackApp/BookStack/
# issues/3116, round32_mixed.yaml, development): STARTTLS ("tls") on Mailgun's port 465.
BOOKSTACK_ENV = (
    "MAIL_DRIVER=smtp\n"
    "MAIL_FROM=info@domain.com\n"
    "\n"
    "# SMTP mail options\n"
    '# These settings can be checked using the "Send a Test Email"\n'
    '# feature found in the "Settings > Maintenance" area of the system.\n'
    "MAIL_HOST=smtp.mailgun.org\n"
    "MAIL_PORT={port}\n"
    "MAIL_ENCRYPTION=tls\n"
    "\n"
    "but still if i try to test the mail function from maintenance section i am getting this "
    "below error\n"
    "Error thrown when sending a test email: Expected response code 220 but got an empty "
    "response"
)


def test_the_port_the_pasted_settings_name_is_the_error_s_port() -> None:
    from smtpprobe.paste import explain

    (found,) = explain(BOOKSTACK_ENV.format(port="465")).explanations
    assert found.verdict.category == "wrong-security-mode"
    assert "port:465" in found.found.facts
    # Settings that name two ports say nothing of which one the error was on.
    two = BOOKSTACK_ENV.format(port="465") + "\nSMTP_PORT=587"
    (found,) = explain(
        two.replace("MAIL_PORT=465\n", "MAIL_PORT=465\nIMAP_PORT=993\n")
    ).explanations
    assert not any(f.startswith("port:") for f in found.found.facts)
    assert found.verdict.category == "connection-lost"


# https://github.com/Chocobozzz/PeerTube/issues/3913 (development corpus): each log line
# starts with the app's own web address; the mail server is the other host:port named.
PEERTUBE_LOG = (
    "peertube_1   | [example.com:443] 2021-04-01 22:28:08.653 info: Connection established "
    "to 109.234.161.20:465 {\n"
    "peertube_1   | [example.com:443] 2021-04-01 22:28:38.657 error: Greeting never "
    "received {\n"
    "peertube_1   | [example.com:443] 2021-04-01 22:28:38.658 error: Failed to connect to "
    "SMTP abricot.o2switch.net:465. {"
)


def test_a_web_port_in_a_log_prefix_is_not_the_mail_server_s() -> None:
    from smtpprobe.paste import explain

    (found,) = explain(PEERTUBE_LOG).explanations
    assert "port:465" in found.found.facts and "port:443" not in found.found.facts
    assert found.verdict.category == "wrong-security-mode"
    # A web port alone is still named: nothing else is.
    (alone,) = explain("error: Greeting never received at mail.example.com:443").explanations
    assert "port:443" in alone.found.facts


def test_thunderbird_s_czech_timeout_and_lost_connection_are_told_apart() -> None:
    from smtpprobe.paste import explain

    # Both of Thunderbird's Czech messages open with the same words; only the end differs
    # (thunderbird-l10n cs composeMsgs.properties: smtpSendTimeout, smtpSendInterrupted).
    lost = (  # https://support.mozilla.org/cs/questions/1451536 (development corpus)
        "Zprávu se nepodařilo odeslat, protože spojení se SMTP serverem smtp.domena.cz bylo "
        "ztraceno uprostřed transakce."
    )
    timed_out = (
        "Zprávu se nepodařilo odeslat, protože spojení se SMTP serverem smtp.example.jp "
        "vypršelo. Zkuste to znovu, nebo kontaktujte správce sítě."
    )
    assert [e.verdict.category for e in explain(lost).explanations] == ["connection-lost"]
    assert [e.verdict.category for e in explain(timed_out).explanations] == ["connect-timeout"]


def test_a_hint_whose_words_lie_inside_another_hints_is_left_out() -> None:
    # Roundcube's Japanese smtpconnerror holds the generic "サーバーへの接続に失敗しました"
    # of app-cannot-connect; the message is Roundcube's, and only its hint is said.
    text = "SMTPエラー (-1): サーバーへの接続に失敗しました。"
    assert [hint.id for hint in find_hints(text, client_errors())] == [
        "roundcube-smtp-connect-failed"
    ]
    # The generic words alone keep their hint, and two messages side by side keep both.
    assert [h.id for h in find_hints("サーバーへの接続に失敗しました。", client_errors())] == [
        "app-cannot-connect"
    ]
    both = "SMTPエラー (-1): サーバーへの接続に失敗しました。\nSMTP connect() failed."
    assert [h.id for h in find_hints(both, client_errors())] == [
        "phpmailer-connect-failed",
        "roundcube-smtp-connect-failed",
    ]


@pytest.mark.parametrize(
    ("source", "contains", "category"),
    [
        # Swift Mailer's read timeout on a connection opened with SSL on 465: the mode was
        # right (development corpus, relabelled from its Swift Mailer source: HISTORY.md)
        ("https://github.com/ssrpanel/SSRPanel/issues/1380", "ssl://", "timeout"),
        # the same timeout on a plain "tcp://" connection to 465 is the wrong mode
        (
            "https://www.github.com/alchemy-fr/Phraseanet/issues/3638",
            "tcp://",
            "wrong-security-mode",
        ),
    ],
)
def test_the_scheme_a_program_names_tells_the_mode_it_used_on_465(
    source: str, contains: str, category: str
) -> None:
    (found,) = _explain(_dev_text(source, contains))
    assert found.verdict.category == category
    assert ("implicit-tls-url" in found.found.facts) == (contains == "ssl://")


@pytest.mark.parametrize(
    ("source", "contains"),
    [
        # nginx's mail proxy and Postfix's smtpd, each logging a client's failed handshake
        ("https://github.com/Sonarr/Sonarr/issues/2690", "ACCEPT_SR_CLNT_HELLO"),
        ("https://github.com/pentacent/keila/issues/462", "SSL_accept error"),
    ],
)
def test_a_server_s_own_tls_log_is_the_client_s_handshake_not_a_plaintext_answer(
    source: str, contains: str
) -> None:
    (found,) = _explain(_dev_text(source, contains))
    assert found.verdict.category == "tls-handshake-failed"
    assert found.verdict.rule_id == "pasted-tls-accept-failed"
    # A client's own "wrong version number" is still the plaintext answer to SSL.
    (client,) = _explain("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1000)")
    assert client.verdict.category == "wrong-security-mode"


def test_a_server_that_closed_an_idle_session_is_a_timeout_not_a_reply_out_of_step() -> None:
    (found,) = _explain(_dev_text("https://github.com/laravel/docs/pull/10518", "Waiting command"))
    assert _named(found) == ("timeout", "pasted-client-idle-timeout")
    assert "NOOP" in found.verdict.remedy.en and "NOOP" in found.verdict.remedy.ja


def test_a_localized_send_as_refusal_is_the_sender_not_a_relay() -> None:
    # Exchange's "Client does not have permissions to send as this sender" in German, as a
    # localized Reporting Services page quotes it after .NET's "mailbox unavailable"
    text = _dev_text(
        "https://github.com/ChristophMuthmann/sql-docs.de-de/blob/25e2f29e69540a0719a35309f432da28bf459d4a/docs/reporting-services/subscriptions/monitor-reporting-services-subscriptions.md",
        "als dieser Absender",
    )
    (found,) = _explain(text)
    assert _named(found) == ("sender-rejected", "sender-rejected-not-owned")


def test_exim_s_words_without_their_reply_still_see_the_tls_record_before_the_greeting() -> None:
    # A log pasted from "(input sent without waiting for greeting)" on has no reply code:
    # the words are read alone, and the TLS record Exim logged beside them still decides.
    text = _dev_text(
        "http://devblog.drall.com.br/smtp-protocol-synchronization-error-input-sent-without-waiting-for-greeting-rejected-connection-from-hlocalhost-127-0-0-1-input026003001002",
        "input=",
    )
    (found,) = _explain(text)
    assert found.found.reply is None
    assert _named(found) == ("wrong-security-mode", "pasted-wrong-mode-tls-record-before-greeting")
    # Without the record, the same words are the client talking out of turn.
    (early,) = _explain('(input sent without waiting for greeting) ... input="EHLO x"')
    assert early.verdict.category == "protocol-error"


@pytest.mark.parametrize(
    ("text", "category", "rule_id", "retryable"),
    [
        (
            "ORA-29277: invalid SMTP operation",
            "protocol-error",
            "pasted-oracle-invalid-smtp-operation",
            False,
        ),
        (
            "ORA-29278 - SMTP transient error: string",
            "temporary-failure",
            "pasted-oracle-transient-error",
            True,
        ),
    ],
)
def test_oracle_utl_smtp_errors_name_their_cause(
    text: str, category: str, rule_id: str, retryable: bool
) -> None:
    (found,) = _explain(text)
    assert (found.verdict.category, found.verdict.rule_id, found.verdict.retryable) == (
        category,
        rule_id,
        retryable,
    )
    # With the server's reply after ORA-29278, the reply is explained instead.
    (replied,) = _explain("ORA-29278: SMTP transient error: 421 Service not available")
    assert replied.found.reply is not None and replied.found.reply.code == 421


def test_postfix_s_own_timeout_log_is_the_client_going_quiet() -> None:
    # smtpd.c's "timeout after %s from %s": the server waited for the client, not the other
    # way round, so the cause must not say the server did not answer.
    (found,) = _explain(
        _dev_text("https://github.com/qbittorrent/qBittorrent/issues/1205", "timeout after")
    )
    assert _named(found) == ("timeout", "pasted-server-log-client-timeout")
    assert "client went quiet" in found.verdict.cause.en
    assert "did not answer in time" not in found.verdict.cause.en


@pytest.mark.parametrize(
    ("source", "contains"),
    [
        ("https://github.com/stonith404/pingvin-share/issues/592", "Missing credentials"),
        ("https://github.com/huginn/huginn/issues/3415", "SMTP-AUTH requested"),
    ],
)
def test_missing_client_credentials_say_no_login_was_sent(source: str, contains: str) -> None:
    # nodemailer and Ruby net-smtp stop before AUTH when they hold no user name or
    # password: no server refused anything, so the refuser is the program itself.
    (found,) = _explain(_dev_text(source, contains))
    assert _named(found) == ("auth-failed", "pasted-reported-auth-credentials-missing")
    assert found.verdict.refuser == "client"
    assert "never sent" in found.verdict.cause.en


def test_postal_reaching_no_mx_host_points_at_outgoing_port_25() -> None:
    (bare,) = _explain(_dev_text("https://github.com/postalserver/postal/issues/113", "Tried"))
    assert _named(bare) == ("connect-timeout", "pasted-own-mta-mx-unreachable")
    assert "port 25" in bare.verdict.cause.en
    # With Ruby's "execution expired" logged under it, the same rule reads it.
    (timed_out,) = _explain(
        _dev_text("https://github.com/postalserver/postal/issues/3444", "execution expired")
    )
    assert _named(timed_out) == ("connect-timeout", "pasted-own-mta-mx-unreachable")
    # A TLS error logged under it names the failure instead.
    (tls,) = _explain(_dev_text("https://github.com/postalserver/postal/issues/943", "dh key"))
    assert tls.verdict.category == "tls-handshake-failed"


def test_a_dotnet_smtpclient_timeout_reads_the_port() -> None:
    # SmtpClient cannot do SSL on connect: its timeout with no port named reads as 465's
    # security mode; with 465 named the same; with 587 named, a plain wait.
    text = _dev_text("https://github.com/dubeaud/bugnet/issues/27", "The operation has timed out")
    (bare,) = _explain(text)
    assert _named(bare) == ("wrong-security-mode", "pasted-dotnet-smtpclient-timeout")
    (on_465,) = _explain("Port = 465\n" + text)
    assert on_465.verdict.category == "wrong-security-mode"
    (on_587,) = _explain("Port = 587\n" + text)
    assert _named(on_587) == ("timeout", "pasted-dotnet-smtpclient-timeout-port-named")
    assert on_587.verdict.retryable


def test_a_timeout_mid_dialogue_on_465_keeps_its_stage() -> None:
    # A dialogue that reached AUTH on 465 had its security mode right: the stage's rule
    # answers, not the 465 mode rule that a greeting timeout gets.
    (found,) = _explain("Port = 465\nSystem.Net.Mail.SmtpException: The operation has timed out.")
    mid = explain_found(dataclasses.replace(found.found, stage="auth"), RULES)
    assert _named(mid) == ("timeout", "pasted-timeout-mid-dialogue")
    greeting = explain_found(dataclasses.replace(found.found, stage="greeting"), RULES)
    assert greeting.verdict.category == "wrong-security-mode"


# Inside a sentence: after 30 characters or more that stop on a word or a comma, before a
# word in lower case that is no name before a colon (a new field or exception line).
_WRAP_AT = re.compile(r"(?<=[^\n]{29}[\w,]) (?=[a-z])(?![a-z][\w.]{0,40}: )")


def test_an_example_wrapped_inside_a_sentence_is_still_named() -> None:
    # A page, a mail client or a terminal wraps a long message inside a sentence ("… connect:
    # connection" / "timed out"): each one-line example, broken at its first such space, is
    # named as it is whole.
    failures = []
    for (signature, example), case in zip(EXAMPLES, EXAMPLE_IDS, strict=True):
        if "\n" in example.text or not signature.is_error:
            continue
        wrapped = _WRAP_AT.sub("\n", example.text, count=1)
        if wrapped == example.text or _named_by_its_signature(signature, example) is not None:
            continue
        incidents = scan(wrapped, client_errors())
        if not incidents or incidents[0].found.failure != signature.failure:
            failures.append(f"{case}: {wrapped!r}")
    assert failures == []


def test_a_sentence_wrapped_before_a_capital_or_after_a_bracket_is_read_whole() -> None:
    # Thunderbird's dialog (support.mozilla.org/en-US/questions/1543063, development
    # corpus) re-wrapped at 60 columns, as a mail quoting it does: a line ends on "(SMTP)"
    # before the host name; re-wrapped elsewhere, on "to", which no sentence ends on,
    # before "Outgoing".
    whole = (
        "Sending of the message failed. The message could not be sent because the "
        "connection to Outgoing server (SMTP) smtp.gmail.com timed out. Try again."
    )
    (expected,) = scan(whole, client_errors())
    assert expected.found.failure == "connect-timeout"
    for wrapped in (
        "Sending of the message failed. The message could not be sent\n"
        "because the connection to Outgoing server (SMTP)\nsmtp.gmail.com timed out. "
        "Try again.",
        "Sending of the message failed. The message could not be sent because the "
        "connection to\nOutgoing server (SMTP) smtp.gmail.com timed out. Try again.",
    ):
        (found,) = scan(wrapped, client_errors())
        assert found.found.failure == "connect-timeout", wrapped
    # A capital after a word a sentence may end on starts a line of its own.
    for kept in ("a line of thirty characters or more\nNext", "x" * 40 + " ends on to.\nNext"):
        assert _unwrapped(kept) == kept


def test_a_possessive_before_a_capital_goes_on_and_words_split_by_a_wrap_are_read() -> None:
    # Development texts re-wrapped at 60 columns: MailKit's host-name mismatch breaks after
    # "the server's" (round133_dotnet_apps.yaml), PHP's "Peer certificate" before "CN="
    # (japanese2.yaml), Postfix's TLS alert between "alert bad" and "certificate"
    # (round328_admin_logs.yaml) and curl's "port 465:" before "Timed out"
    # (round265_langs.yaml). Each is still the failure it is on one line.
    cases = {
        "The host name did not match the name given in the server's\nSSL certificate.": (
            "tls-certificate-invalid"
        ),
        "Unable to connect with STARTTLS:\nstream_socket_enable_crypto(): Peer certificate\n"
        "CN=`*.xxx.ne.jp' did not match expected CN=`localhost'": "tls-certificate-invalid",
        "postfix/smtps/smtpd[366779]: SSL_accept error from\nlocalhost[127.0.0.1]: -1\n"
        " warning: TLS library problem: error:0A000412:SSL\nroutines::sslv3 alert bad\n"
        "certificate:../ssl/record/rec_layer_s3.c:1584:SSL alert\nnumber 42:": (
            "tls-certificate-invalid"
        ),
        "Error in curl_fetch_memory(smtp_server, handle = h) :\n  Failed to connect to\n"
        "outlook.office365.com.office.johndeere.myshn.net port 465:\nTimed out": (
            "connect-timeout"
        ),
    }
    rules = load_rulebook()
    for text, category in cases.items():
        explained = explain_text(text, lambda _: rules, client_errors())
        assert explained and explained[0].verdict.category == category, text
    assert _unwrapped("x" * 40 + " given in the server's\nSSL") == "x" * 40 + (
        " given in the server's SSL"
    )


def test_a_match_over_a_soft_break_takes_both_lines_as_its_words() -> None:
    # Microsoft's 535 5.7.139 words (development corpus, providers_en.yaml) wrapped inside the
    # sentence: the report's words are both lines, so the refusal they name is read whole
    # (the first line alone, "Authentication unsuccessful, …", read as a wrong password).
    text = "Authentication unsuccessful, basic authentication is\ndisabled."
    (incident,) = scan(text, client_errors())
    assert (
        incident.found.evidence == "Authentication unsuccessful, basic authentication is disabled."
    )
    (explained,) = _explain(text)
    assert explained.verdict.category == "auth-method-disabled"
