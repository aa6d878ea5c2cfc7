"""Finding replies in pasted text: plain data in, values out (no I/O)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpprobe.core.bounce import decode_pasted, find_replies

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
    start = time.perf_counter()
    (found,) = find_replies(decode_pasted(raw).text)
    assert time.perf_counter() - start < 5
    assert found.reply.code == 550


def test_deeply_nested_multiparts_do_not_raise() -> None:
    level = 'Content-Type: multipart/mixed; boundary="b{0}"\n\n--b{0}\n'
    head = "".join(level.format(i) for i in range(2000))
    raw = (head + "Content-Type: text/plain\n\n550 5.7.1 relay denied\n").encode()
    find_replies(decode_pasted(raw).text)


def test_an_endless_multiline_reply_is_cut() -> None:
    import time

    start = time.perf_counter()
    (found,) = find_replies("550-5.7.1 again\n" * 200_000 + "550 5.7.1 last\n")
    assert time.perf_counter() - start < 10
    assert (found.reply.code, found.reply.enhanced) == (550, "5.7.1")
    assert 1 < len(found.reply.lines) <= 100
