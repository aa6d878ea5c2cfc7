"""Reply parsing and decoding, on plain strings and bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpprobe.core.reply import Reply, decode_reply_text, from_code_and_message, parse_reply


@pytest.mark.parametrize(
    ("text", "code", "enhanced", "lines"),
    [
        pytest.param("250 2.1.0 Ok", 250, "2.1.0", ("Ok",), id="single-enhanced"),
        pytest.param("220 smtp.example ESMTP", 220, None, ("smtp.example ESMTP",), id="greeting"),
        pytest.param(
            "550-5.7.26 This mail is unauthenticated\n550 5.7.26 more text",
            550,
            "5.7.26",
            ("This mail is unauthenticated", "more text"),
            id="multi-line",
        ),
        pytest.param(
            "553 5.7.1 <a@b>: Client host rejected: Relay access denied (E041)",
            553,
            "5.7.1",
            ("<a@b>: Client host rejected: Relay access denied (E041)",),
            id="ocn-e041",
        ),
        pytest.param(
            "  535 5.7.8 Error: authentication failed  ",
            535,
            "5.7.8",
            ("Error: authentication failed",),
            id="padded",
        ),
        pytest.param("421", 421, None, (), id="code-only"),
        pytest.param(
            # a colon after the enhanced code (development corpus, support.rocketspark.com's
            # article 115010278407, "Why did my email bounce")
            "451 4.3.0: Temporary lookup failure",
            451,
            "4.3.0",
            ("Temporary lookup failure",),
            id="enhanced-with-colon",
        ),
        pytest.param("250 2.0.0:", 250, "2.0.0", ("",), id="enhanced-colon-alone"),
        pytest.param("550 5.1.1:x", 550, None, ("5.1.1:x",), id="colon-then-word-is-text"),
    ],
)
def test_parse_reply(text: str, code: int, enhanced: str | None, lines: tuple[str, ...]) -> None:
    reply = parse_reply(text)
    assert (reply.code, reply.enhanced, reply.lines) == (code, enhanced, lines)


def test_rewrapped_continuation_lines_are_kept() -> None:
    text = "550-5.7.26 DKIM checks did not pass and SPF check for [x] did\nnot 550-5.7.26 pass"
    reply = parse_reply(text)
    assert reply.code == 550
    assert "did" in reply.text and "pass" in reply.text


def test_parse_reply_without_code_raises() -> None:
    with pytest.raises(ValueError, match="three-digit"):
        parse_reply("hello world")


def test_reply_classes() -> None:
    assert Reply(250, ("Ok",)).is_positive
    assert Reply(451, ("later",)).is_transient
    assert Reply(550, ("no",)).is_permanent


def test_display_round_trip() -> None:
    reply = from_code_and_message(250, "smtp.example\nSTARTTLS\nAUTH PLAIN LOGIN")
    assert reply.display() == "250-smtp.example\n250-STARTTLS\n250 AUTH PLAIN LOGIN"
    assert parse_reply(reply.display()) == reply


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "iso-2022-jp", "euc-jp"], ids=lambda e: e)
def test_decode_japanese_replies(encoding: str) -> None:
    text = "宛先のユーザーは存在しません"
    assert decode_reply_text(text.encode(encoding)) == text


@pytest.mark.parametrize("text", ["宛先不明", "容量", "ユ"], ids=["kanji", "two-kanji", "one-kana"])
def test_short_japanese_is_still_japanese(text: str) -> None:
    assert decode_reply_text(f"550 5.1.1 {text}".encode("cp932")) == f"550 5.1.1 {text}"


def test_a_latin_1_reply_is_not_read_as_a_made_up_kanji() -> None:
    # "\xe4n" is one cp932 kanji (舅): a lone kanji among Latin letters is no Japanese text.
    decoded = decode_reply_text("550 5.1.1 Empfänger unbekannt".encode("latin-1"))
    assert "舅" not in decoded
    assert decoded == "550 5.1.1 Empf\ufffdnger unbekannt"


def test_decode_undecodable_bytes_does_not_raise() -> None:
    assert "\ufffd" in decode_reply_text(b"\xff\xfe\x00\x81garbage\xfd")


@given(
    code=st.integers(200, 599),
    lines=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40)
        .map(str.strip)
        .filter(lambda s: s and not s[:1].isdigit()),
        min_size=1,
        max_size=5,
    ),
)
def test_parse_display_round_trip_property(code: int, lines: list[str]) -> None:
    reply = Reply(code, tuple(lines))
    parsed = parse_reply(reply.display())
    assert parsed.code == code
    assert parsed.text.split() == " ".join(lines).split() or parsed.enhanced is not None


def test_display_keeps_a_colon_after_the_enhanced_code() -> None:
    text = "451 4.3.0: Temporary lookup failure"
    assert parse_reply(text).display() == text
    assert parse_reply("250 2.0.0:").display() == "250 2.0.0:"


def test_display_gives_each_line_as_it_came() -> None:
    # A red-team server's "250-2.1.5 first ok / 250-no code here / 250 2.1.5 third" was
    # shown with 2.1.5 on the middle line too, and "250-2.1.0 ok / 250 2.1.5 ok" as
    # "250 2.1.0 2.1.5 ok": the transcript is the evidence a user sends the provider.
    for wire in (
        "250-2.1.5 first ok\n250-no code here\n250 2.1.5 third",
        "250-2.1.0 ok\n250 2.1.5 ok",
        "550-5.7.1 a\n550 5.7.1 b",
        "550 no enhanced code",
    ):
        assert parse_reply(wire).display() == wire
    # Equal replies are equal whatever their lines carried on the wire.
    assert parse_reply("250-2.1.5 a\n250 b") == parse_reply("250-2.1.5 a\n250 2.1.5 b")
