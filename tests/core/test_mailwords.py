"""A paste with no SMTP reply that is not about mail says so (smtpprobe.core.mailwords).

The non-mail texts are real pastes from the cited issue threads (npm and Docker errors,
which share their words with a mail program's: ECONNREFUSED, "waiting for connection").
Every development corpus text is a real mail error: none may get the note.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.core.client_errors import read_text
from smtpprobe.core.explain import Explanation, explain_text
from smtpprobe.core.mailwords import NOT_MAIL, not_about_mail
from smtpprobe.core.pasted import decode_pasted
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_split import DEVELOPMENT, load

NOT_MAIL_TEXTS = [
    # https://github.com/ipfs-shipyard/npm-on-ipfs/issues/72
    "npm ERR! code ECONNREFUSED\nnpm ERR! errno ECONNREFUSED\nnpm ERR! FetchError: request to "
    "https://localhost/chunky/-/chunky-0.0.0.tgz failed, reason: connect ECONNREFUSED "
    "127.0.0.1:443",
    # https://github.com/npm/npm/issues/14053
    "npm ERR! code ECONNREFUSED\nnpm ERR! errno ECONNREFUSED\nnpm ERR! syscall connect\n\n"
    "npm ERR! Error: connect ECONNREFUSED 151.101.8.162:443",
    # https://github.com/remy/nodemon/issues/1908
    "npm ERR! FetchError: request to http://localhost:4873/nodemon failed, reason: connect "
    "ECONNREFUSED 127.0.0.1:4873",
    # https://github.com/exadel-inc/CompreFace/issues/1277
    'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: request '
    "canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)",
]


def _explained(text: str) -> list[Explanation]:
    rules = load_rulebook()
    return list(explain_text(decode_pasted(text).text, lambda _: rules, client_errors()))


@pytest.mark.parametrize("text", NOT_MAIL_TEXTS, ids=lambda t: t[:30])
def test_a_network_error_of_another_program_is_read_with_the_note(text: str) -> None:
    explained = _explained(text)
    assert explained, "still read as the client-side error its words are"
    for item in explained:
        assert NOT_MAIL in item.verdict.findings


# Development texts that do get the note, each with why it is right to: a mail program's
# log whose only address is the program's own web address.
NOTED_SOURCES = {
    # PeerTube prefixes each log line with its instance's web address ("[host:443]"); the
    # line itself is OpenSSL's and names no mail word, so the reading is rightly qualified
    # (and is still the right one: wrong-security-mode).
    "https://github.com/Chocobozzz/PeerTube/issues/1224",
    "https://github.com/Chocobozzz/PeerTube/issues/2248",
    # Windows' text for a refused connection as a Microsoft bounce quotes it, with only its
    # help link (go.microsoft.com) and no mail word: qualified, and still connect-refused.
    "https://support.mozilla.org/en-US/questions/1407786",
    # Politeia's web server logs the mail library's TLS error inside the HTTP request that
    # sent it ("POST /v1/user/new HTTP/1.1 … tls: first record does not look like a TLS
    # handshake"): no mail word, an HTTP line; qualified, and still wrong-security-mode.
    "https://github.com/decred/politeia/issues/199",
    # ReadyMail's connect timeout (an Arduino mail library) names no mail word, only its help
    # link: qualified, and still connect-timeout.
    "https://github.com/mobizt/ReadyMail/blob/f15b4e22bae58ddfbd307e8666b0f8085301fd2a/src/core/ReadyError.h#L28",
}


def test_no_development_text_gets_the_note() -> None:
    # Only texts the words alone would flag are explained (the note needs them too).
    flagged = [
        item
        for path in sorted(DEVELOPMENT.glob("*.yaml"))
        for item in load(path)
        if not_about_mail(read_text(decode_pasted(str(item["text"])).text))
    ]
    noted = {
        str(item["source"])
        for item in flagged
        if any(NOT_MAIL in e.verdict.findings for e in _explained(str(item["text"])))
    }
    assert noted == NOTED_SOURCES


def test_a_mail_word_or_a_reply_keeps_the_note_away() -> None:
    # The same npm paste, asked about while installing nodemailer (nodejs/help#1887):
    # a mail word is enough to leave the reading unqualified.
    text = (
        "npm ERR! FetchError: request to http://registry.npmjs.org/nodemailer failed, "
        "reason: connect ECONNREFUSED 127.0.0.1:3000"
    )
    assert not not_about_mail(text)
    assert all(NOT_MAIL not in e.verdict.findings for e in _explained(text))


def test_the_note_reaches_the_json_and_japanese_output(cli: Any) -> None:
    run = cli.run("explain", "--json", NOT_MAIL_TEXTS[3])
    findings = run.json()["replies"][0]["verdict"]["findings"]
    assert [f["id"] for f in findings] == ["not-about-mail"]
    ja = cli.run("explain", "--lang", "ja", NOT_MAIL_TEXTS[3])
    assert "メールの送信で出たエラーの場合だけです" in ja.out
