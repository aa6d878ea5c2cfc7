"""Decoding reply bytes: UTF-8, ISO-2022-JP, Shift_JIS (cp932) and EUC-JP each read back exactly.

The sentences are real Japanese text: the reply in the labeled corpus and the
lines of the user's seed documents (tests/data/seeds), each encoded in every
encoding that can hold it.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpprobe.core.bounce import find_replies
from smtpprobe.core.pasted import decode_pasted
from smtpprobe.core.reply import decode_reply_text, guess_encoding

# The C parser where PyYAML has it (as smtpprobe.loading uses): the same data, 10x faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DATA = Path(__file__).resolve().parents[1] / "data"
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@functools.cache
def _sentences() -> list[str]:
    lines: list[str] = []
    for path in sorted((DATA / "corpus").rglob("*.yaml")):
        items = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        lines.extend(item["text"] for item in items)
    for path in sorted((DATA / "seeds").glob("*.txt")):
        lines.extend(path.read_text(encoding="utf-8").splitlines())
    return list(dict.fromkeys(line.strip() for line in lines if _JAPANESE.search(line)))


ENCODINGS = ["utf-8", "iso-2022-jp", "shift_jis", "cp932", "euc-jp"]


def _encodable(encoding: str) -> list[str]:
    chosen = []
    for sentence in _sentences():
        try:
            data = sentence.encode(encoding)
        except UnicodeEncodeError:
            continue
        if data.decode(encoding) != sentence:
            continue  # the codec itself does not round-trip it (〜 in cp932 becomes ～)
        if encoding == "shift_jis" and data.decode("cp932") != sentence:
            # Bytes valid in both are read as cp932, the superset Windows servers send;
            # JIS and Microsoft map five symbols differently (〜/～, ‖/∥, −/－, ¢, £, ¬).
            continue
        chosen.append(sentence)
    return chosen


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_real_japanese_sentences_read_back_exactly(encoding: str) -> None:
    sentences = _encodable(encoding)
    assert len(sentences) >= 100, "the seeds and the corpus should give plenty of text"
    # Reported by position, never by text: the sentences include the validation corpus,
    # which nobody writing rules may read.
    wrong = [
        (index, guess_encoding(s.encode(encoding)))
        for index, s in enumerate(sentences)
        if decode_reply_text(s.encode(encoding)) != s
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "text",
    [
        # Lines of seed 002 that were read as cp932 before EUC-JP was weighed against it.
        "2. 今すぐ試すべき対処法",
        "2. Gmail設定の再保存",
        "553 5.7.1 : クライアントホストが拒否されました: リレーアクセスが拒否されました(E041)",
        "550 5.1.1 <a@example.jp>: 宛先のユーザーは存在しません",
    ],
)
def test_euc_jp_is_read_as_euc_jp(text: str) -> None:
    data = text.encode("euc-jp")
    assert guess_encoding(data) == "euc-jp"
    assert decode_reply_text(data) == text
    pasted = decode_pasted(data)
    assert (pasted.text, pasted.encoding) == (text, "euc-jp")


def test_an_euc_jp_reply_is_found_and_read() -> None:
    line = "553 5.7.1 : クライアントホストが拒否されました: リレーアクセスが拒否されました(E041)"
    (found,) = find_replies(decode_pasted(line.encode("euc-jp")).text)
    assert (found.reply.code, found.reply.enhanced) == (553, "5.7.1")
    assert "リレーアクセスが拒否" in found.reply.text


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("宛先のユーザーは存在しません".encode("iso-2022-jp"), "iso-2022-jp"),
        ("宛先のユーザーは存在しません".encode(), "utf-8"),
        ("宛先のユーザーは存在しません".encode("cp932"), "cp932"),
        ("宛先のユーザーは存在しません".encode("euc-jp"), "euc-jp"),
        (b"550 5.1.1 User unknown", "utf-8"),
        (b"\xff\xfe\x00\x81garbage\xfd", "utf-8"),  # nothing fits: replacement characters
    ],
)
def test_guess_encoding(data: bytes, encoding: str) -> None:
    assert guess_encoding(data) == encoding


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_decode_without_raising(data: bytes) -> None:
    text = decode_reply_text(data)
    assert isinstance(text, str)
    assert not re.search(r"[\ud800-\udfff]", text)


def test_escaped_characters_in_a_programs_strings_are_read() -> None:
    # Every real Japanese sentence as PHP's json_encode and Python's json.dumps write it
    # ("\u30b5\u30fc..."), and as the UTF-8 bytes of Python's bytes repr ("\xe3\x82\xb5...").
    for sentence in _sentences():
        as_json = decode_pasted(json.dumps(sentence)).text
        assert as_json == decode_pasted(json.dumps(sentence, ensure_ascii=False)).text
        if not any(c in sentence for c in "\\'\"") and sentence.isprintable():
            as_bytes = decode_pasted(repr(sentence.encode("utf-8"))).text
            assert as_bytes == "b'" + decode_pasted(sentence).text + "'"
    # A reply inside a Python exception, its words escaped as bytes (smtplib keeps the reply
    # as bytes).
    pasted = (
        "smtplib.SMTPAuthenticationError: (535, "
        "b'5.7.8 \\xe8\\xaa\\x8d\\xe8\\xa8\\xbc\\xe5\\xa4\\xb1\\xe6\\x95\\x97')"
    )
    assert "(535, b'5.7.8 認証失敗')" in decode_pasted(pasted).text
    # What stands for no character is left as written: a lone surrogate, a control, bytes
    # that are no UTF-8, an escaped backslash before "u".
    for left in ("\\ud83d x", "\\u0001", "b'\\xff\\xfe'", "C:\\\\u30b5"):
        assert decode_pasted(left).text == left
    # A character beyond the BMP, written as a surrogate pair.
    assert decode_pasted('"\\ud83d\\ude00"').text == '"\U0001f600"'


@given(st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=200))
@settings(max_examples=200, deadline=None)
def test_any_text_json_escaped_reads_as_written_plainly(text: str) -> None:
    escaped = json.dumps(text)  # non-ASCII as \uXXXX
    assert decode_pasted(escaped).text == decode_pasted(json.dumps(text, ensure_ascii=False)).text


@pytest.mark.parametrize(
    ("pasted", "read"),
    [
        # Docker Compose's service prefix on every line (pastebin.com/index/CAKEe17E,
        # development corpus)
        (
            "emailer_1 | { Error: Invalid login: 535 Authentication Credentials Invalid\n"
            "emailer_1 | code: 'EAUTH',\n"
            "emailer_1 | response: '535 Authentication Credentials Invalid',",
            "{ Error: Invalid login: 535 Authentication Credentials Invalid\ncode: 'EAUTH',\n"
            "response: '535 Authentication Credentials Invalid',",
        ),
        # PM2's process number and name (github.com/xuess/puppeteer-sign/issues/2)
        (
            "0|main  | Error: Invalid login: 535 Error: authentication failed\n"
            "0|main  |     at SMTPConnection._formatError (/root/x/index.js:605:19)",
            "Error: Invalid login: 535 Error: authentication failed\n"
            "    at SMTPConnection._formatError (/root/x/index.js:605:19)",
        ),
        # A logger's stamp before every line of one message: a Bukkit server's log
        # (github.com/CatSeed/CatSeedLogin/issues/33, development corpus) ...
        (
            "[14:56:56 WARN]: javax.mail.MessagingException: Could not connect to SMTP host:"
            " smtp-mail.outlook.com, port: 587;\n[14:56:56 WARN]:   nested exception is:",
            "javax.mail.MessagingException: Could not connect to SMTP host:"
            " smtp-mail.outlook.com, port: 587;\n  nested exception is:",
        ),
        # ... and Python's logging, levels differing (github.com/dgtlmoon/changedetection.io
        # /issues/518, development corpus): the stamp goes, the levels stay
        (
            "2022-04-04 10:25:35,358 - DEBUG - Socket Exception: Connection unexpectedly "
            "closed: timed out\n2022-04-04 10:25:35,358 - WARNING - A Connection error "
            "occurred sending Email notification to smtp.mail.yahoo.com.",
            "DEBUG - Socket Exception: Connection unexpectedly closed: timed out\nWARNING - "
            "A Connection error occurred sending Email notification to smtp.mail.yahoo.com.",
        ),
        # A delivery report's fields joined on one line by a forum
        # (support.mozilla.org/en-US/questions/1410612, development corpus): one field a line
        (
            "Action: failed Status: 5.0.0 Remote-MTA: dns; smtp.antispamcloud.com "
            "Diagnostic-Code: smtp; 550 High probability of spam",
            "Action: failed\nStatus: 5.0.0\nRemote-MTA: dns; smtp.antispamcloud.com\n"
            "Diagnostic-Code: smtp; 550 High probability of spam",
        ),
        # HTML-escaped text (a page's source)
        (
            "Can&#x27;t send mail - all recipients were rejected",
            "Can't send mail - all recipients were rejected",
        ),
        (
            "550 5.1.1 &lt;user@example.jp&gt;: Recipient address rejected",
            "550 5.1.1 <user@example.jp>: Recipient address rejected",
        ),
    ],
)
def test_a_programs_wrapping_of_the_text_is_read_through(pasted: str, read: str) -> None:
    assert decode_pasted(pasted).text == read


def test_what_only_looks_like_a_wrapping_stays() -> None:
    for text in (
        "mailer_1 | one line only",
        "a | x\nb | y",  # two services: their lines are told apart by the prefix
        "| a | b |\n| c | d |",  # a table
        "https://example.jp/?a=1&copy=2",  # no reference without its semicolon
        # stamps that differ are separate entries; a program's name after the stamp says
        # which side spoke (Postfix's smtp or smtpd), so a syslog prefix stays
        "10:21:07 ERROR: a\n10:21:08 ERROR: b",
        "Sep  5 11:16:03 mail postfix/smtpd[20448]: a\n"
        "Sep  5 11:16:03 mail postfix/smtpd[20448]: b",
        "12:00 one line only",
        # a sentence that names a status and an action is no delivery report
        "Status: failed. Action: none taken, see the Status: line below",
    ):
        assert decode_pasted(text).text == text


def _half_width(text: str) -> str:
    """``text`` with its katakana and Japanese punctuation in half-width forms."""
    half = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF61, 0xFF9E)}
    out: list[str] = []
    for c in unicodedata.normalize("NFD", text):
        if c in "\u3099\u309a" and out and out[-1] in half.values():
            out.append("ﾞ" if c == "\u3099" else "ﾟ")  # a voiced mark after a half-width letter
        else:
            out.append(half.get(c, c))
    return unicodedata.normalize("NFC", "".join(out))


def test_half_width_katakana_is_read_in_its_usual_form() -> None:
    # nPOP's Japanese strings (github.com/gjcoram/npopuk, JP/Strtbl.h; development corpus)
    # are written in half-width katakana, as older Japanese programs and carriers' bounces
    # are; a voiced mark joins its letter (ﾊﾞ as バ).
    assert decode_pasted("SMTPｻｰﾊﾞのﾛｸﾞｲﾝに失敗しました").text == "SMTPサーバのログインに失敗しました"
    assert decode_pasted("IPｱﾄﾞﾚｽ取得に失敗しました｡").text == "IPアドレス取得に失敗しました。"
    # Every real Japanese sentence, written in half-width katakana, reads as the sentence.
    for sentence in _sentences():
        if unicodedata.normalize("NFC", sentence) == sentence:
            assert decode_pasted(_half_width(sentence)).text == decode_pasted(sentence).text
