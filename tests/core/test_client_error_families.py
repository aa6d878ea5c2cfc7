"""Word families: the last resort for a client-side error no signature knows.

``client_errors.yaml``'s ``families`` say which kind of failure general words describe
("socks5 error", "connection … timed out"). They are tried only when a paste holds
nothing else; the report says the reading came from general words. Examples are real
texts with their sources (in the data file); the texts here come from them.
"""

from __future__ import annotations

import pytest

from smtpprobe.core.client_errors import ClientErrors, parse_client_errors
from smtpprobe.core.explain import FAMILY, explain_text
from smtpprobe.core.rules import RuleError
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors, explain
from smtpprobe.render.explain import format_explain_text

RULES = load_rulebook()
ERRORS = client_errors()

# The category each family's failure kind is explained as (pasted rules of rules.yaml).
CATEGORY = {
    "family-proxy": "proxy-failed",
    "family-network-unreachable": "network-unreachable",
    "family-dns": "dns-failure",
    "family-connect-refused": "connect-refused",
    "family-certificate": "tls-certificate-invalid",
    "family-starttls-unavailable": "starttls-unavailable",
    "family-mechanism": "auth-mechanism-unsupported",
    "family-auth-not-offered": "auth-unavailable",
    "family-tls": "tls-handshake-failed",
    "family-connect-timeout": "connect-timeout",
    "family-timeout": "timeout",
    "family-connection-lost": "connection-lost",
    "family-auth-temporary": "temporary-failure",
    "family-auth-required": "auth-required",
    "family-encryption-required": "tls-required",
    "family-auth-failed": "auth-failed",
    "family-message-too-large": "message-too-large",
    "family-sender-rejected": "sender-rejected",
    "family-sending-limit": "rate-limited",
    "family-delivery-delayed": "temporary-failure",
    "family-no-greeting": "timeout",
    "family-en-mailbox-over-quota": "mailbox-full",
    "family-ja-mailbox-full": "mailbox-full",
    "family-ja-encryption-required": "tls-required",
    "family-ja-service-unavailable": "server-busy",
    "family-ja-recipient": "recipient-unknown",
    "family-ja-sender": "sender-rejected",
}


def _explain(text: str, errors: ClientErrors = ERRORS) -> list:  # type: ignore[type-arg]
    return explain_text(text, lambda _: RULES, errors)


def test_every_family_is_tested() -> None:
    assert sorted(f.id for f in ERRORS.families) == sorted(CATEGORY)


@pytest.mark.parametrize(
    ("family", "text"),
    [(f.id, e.text) for f in ERRORS.families for e in f.examples],
)
def test_each_example_alone_is_read_as_its_family(family: str, text: str) -> None:
    only_families = ClientErrors(signatures=(), families=ERRORS.families)
    explained = _explain(text, only_families)
    assert explained, text
    item = explained[0]
    # An example that quotes a reply (RFC 4954's 504) is explained as the reply it is.
    assert (FAMILY in item.found.facts) == (item.found.reply is None)
    assert item.verdict.category == CATEGORY[family], (family, item.verdict.rule_id)


def test_a_family_reads_words_no_signature_knows() -> None:
    # https://github.com/reacherhq/check-if-email-exists/issues/1523
    (item,) = _explain('"message": "io: socks5 error: Received malformed reply"')
    assert FAMILY in item.found.facts
    assert item.verdict.category == "proxy-failed"


def test_a_reply_or_a_signature_comes_before_any_family() -> None:
    reply = _explain("535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6")
    assert reply and reply[0].found.reply is not None
    assert FAMILY not in reply[0].found.facts
    known = _explain("Error: connect ECONNREFUSED 127.0.0.1:587")
    assert known and FAMILY not in known[0].found.facts


def test_the_more_specific_family_names_the_error() -> None:
    # A connection that timed out is a connect timeout, not a timeout mid-dialogue.
    (item,) = _explain("gomail: could not send email (connection timed out)")
    assert item.verdict.category == "connect-timeout"


# msmtp's and KSMTP's own translations (po/fr.po, po/hu/libksmtp6.po, po/ru/libksmtp6.po).
@pytest.mark.parametrize(
    ("text", "category"),
    [
        # https://github.com/marlam/msmtp/blob/933d35be8ab6e35a7ea3f78df54b64230177590b/po/fr.po
        # The handshake's words name it, not the closed connection that is its reason.
        (
            "msmtp: Échec de la poignée de main TLS : la connexion a été fermée prématurément",
            "tls-handshake-failed",
        ),
        # https://github.com/KDE/ksmtp/blob/5fae8d141a46184b00891a1dd94acdee7e370170/po/hu/libksmtp6.po
        # "Could not log in, no matching method": the method, not the login.
        (
            "Nem sikerült bejelentkezni az SMTP kiszolgálóra, mert nem található egyező"
            " hitelesítési módszer",
            "auth-mechanism-unsupported",
        ),
        # https://github.com/KDE/ksmtp/blob/5fae8d141a46184b00891a1dd94acdee7e370170/po/ru/libksmtp6.po
        (
            "Не удалось пройти проверку подлинности на SMTP-сервере: не найден подходящий"
            " метод проверки подлинности",
            "auth-mechanism-unsupported",
        ),
    ],
)
def test_the_more_specific_words_win_in_other_languages(text: str, category: str) -> None:
    (item,) = _explain(text)
    assert item.verdict.category == category


def test_a_french_connection_failure_alone_is_not_a_failed_login() -> None:
    # Thunderbird's French says "La connexion a échoué" for a failed login, but the words
    # alone are a connection's: no family reads them as a login.
    assert all(e.verdict.category != "auth-failed" for e in _explain("La connexion a échoué."))


@pytest.mark.parametrize(
    "prose",
    [
        "I set the timeout to 30 seconds and the port to 587",
        "Which password should I type here?",
        "The certificate was renewed yesterday.",
    ],
)
def test_one_word_of_a_family_alone_is_not_an_error(prose: str) -> None:
    assert _explain(prose) == []


def test_a_tls_version_not_supported_is_not_a_missing_starttls() -> None:
    # Built here: "does not support TLS" is STARTTLS missing; a TLS version is the handshake's.
    assert all(
        e.verdict.category != "starttls-unavailable"
        for e in _explain("the server does not support TLS 1.0")
    )
    (item,) = _explain("Your SMTP server does not support TLS.")
    assert item.verdict.category == "starttls-unavailable"


def test_the_report_says_it_is_a_likely_reading_in_both_languages() -> None:
    explained = explain("io: socks5 error: Received malformed reply")
    english = format_explain_text(explained.explanations, "en")
    japanese = format_explain_text(explained.explanations, "ja")
    assert "read from its general words" in english.splitlines()[0]
    assert "一般的な語句から推定" in japanese.splitlines()[0]


def _file(families: object) -> dict[str, object]:
    signature = {
        "id": "known",
        "regex": "known words",
        "failure": "timeout",
        "examples": [{"text": "known words", "source": "https://example.org/"}],
    }
    return {"version": 1, "signatures": [signature], "families": families}


def test_a_family_file_is_checked_like_signatures() -> None:
    family = {
        "id": "fam",
        "regex": "general words",
        "failure": "timeout",
        "examples": [{"text": "general words", "source": "https://example.org/"}],
    }
    parsed = parse_client_errors(_file([family]), "test.yaml")
    assert [f.id for f in parsed.families] == ["fam"]
    with pytest.raises(RuleError, match="families"):
        parse_client_errors(_file({"id": "x"}), "test.yaml")
    with pytest.raises(RuleError, match="defined twice"):
        parse_client_errors(_file([{**family, "id": "known"}]), "test.yaml")
    with pytest.raises(RuleError, match="every family needs"):
        context = {k: v for k, v in family.items() if k != "failure"} | {"facts": ["gmail"]}
        parse_client_errors(_file([context]), "test.yaml")
    with pytest.raises(RuleError, match="does not match its example"):
        parse_client_errors(_file([{**family, "regex": "other words"}]), "test.yaml")


# https://github.com/gjcoram/npopuk/blob/69550abb5510cebaa89ed4a8846eb75cd0a12bb5/JP/Strtbl.h
# (nPOP's Japanese messages, in half-width katakana as the program prints them)
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("SMTPｻｰﾊﾞのﾛｸﾞｲﾝに失敗しました", "auth-failed"),
        ("ｻｰﾊﾞから切断しました", "connection-lost"),
        ("IPｱﾄﾞﾚｽ取得に失敗しました\nｻｰﾊﾞ名を確認してください", "dns-failure"),
    ],
)
def test_half_width_katakana_is_read_like_the_usual_forms(text: str, category: str) -> None:
    (item,) = _explain(text)
    assert FAMILY in item.found.facts
    assert item.verdict.category == category
