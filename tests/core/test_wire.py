"""The strict reply reader: the same bytes give the same replies however they are split."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpprobe.core.reply import Reply, parse_reply
from smtpprobe.core.transcript import Phase, Step
from smtpprobe.core.wire import MAX_LINE, ReplyReader, WireReply


def _read(chunks: list[bytes]) -> tuple[list[WireReply], str | None]:
    reader = ReplyReader()
    replies: list[WireReply] = []
    for chunk in chunks:
        got, error = reader.feed(chunk)
        replies += got
        if error is not None:
            return replies, str(error)
    return replies, None


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def test_a_longest_line_is_one_verdict_whether_its_lf_comes_late_or_not() -> None:
    # A red-team server sent an 8192-byte line and its CR, then the LF half a second later:
    # the CR counted as text while the line was unfinished, and the reply was refused.
    line = b"250 " + b"x" * (MAX_LINE - 4)
    assert _read([line + b"\r\n"]) == _read([line + b"\r", b"\n"])
    assert _read([line + b"\r", b"\n"])[1] is None
    assert _read([line + b"y\r", b"\n"])[1] is not None  # one byte over, either way


LINES = st.sampled_from(
    [b"220 ready", b"250-mx.example.jp", b"250 PIPELINING", b"550 5.1.1 no such user",
     b"250-2.1.5 ok", b"250 5.7.1 denied", b"garbage", b"999 bad", b"334 VXNlcm5hbWU6",
     b"x" * 300, b"421-4.7.0 closing", b"421 4.7.0 bye"]
)  # fmt: skip


@given(st.lists(LINES, min_size=1, max_size=8), st.lists(st.integers(0, 4000), max_size=6))
def test_any_split_of_the_same_bytes_reads_the_same(lines: list[bytes], cuts: list[int]) -> None:
    data = b"".join(line + b"\r\n" for line in lines)
    assert _read(_split(data, cuts)) == _read([data])


def test_a_failure_enhanced_code_on_any_line_of_a_success_contradicts_it() -> None:
    # RFC 2034 section 3 puts the enhanced code on every line: "250-2.1.5 ok" then
    # "250 5.7.1 Relay access denied" says accepted and refused at once.
    reply = Reply(250, ("<x@example.jp> ok", "5.7.1 <x@example.jp>: Relay access denied"), "2.1.5")
    assert Step(Phase.RCPT, "RCPT TO:<x@example.jp>", reply=reply).contradictory
    fine = Reply(250, ("ok", "2.1.5 still fine, 5.7.1 in the middle is text"), "2.1.5")
    assert not Step(Phase.RCPT, "RCPT TO:<x@example.jp>", reply=fine).contradictory


@pytest.mark.parametrize("line", ["250 5.1.1: user unknown", "250 5.1.1;no", "250 5.7.1"])
def test_a_failure_code_the_grammar_does_not_allow_still_contradicts_a_success(line: str) -> None:
    # A red-team server: "250 5.1.1:" (no space after the code, so RFC 2034's grammar
    # makes it text) was an acceptance, "ok", exit 0.
    reply = parse_reply(line)
    assert Step(Phase.RCPT, "RCPT TO:<x@example.jp>", reply=reply).contradictory
    fine = parse_reply("250 2.1.5: ok, 5.1.1: is only quoted")
    assert not Step(Phase.RCPT, "RCPT TO:<x@example.jp>", reply=fine).contradictory


def test_a_line_ended_by_cr_alone_is_named_when_the_wait_runs_out() -> None:
    from smtpprobe.transport import reply_timeout

    reader = ReplyReader()
    reader.feed(b"220 hello\r")
    assert reader.bare_cr
    message = str(reply_timeout(3, reader.pending, reader.bare_cr))
    assert "ended by CR alone" in message and "10 bytes" in message
    slow = ReplyReader()
    slow.feed(b"220 hel")
    assert not slow.bare_cr
    assert "CR alone" not in str(reply_timeout(3, slow.pending, slow.bare_cr))


def test_a_cr_that_ends_what_arrived_after_crlf_lines_is_a_stall_not_bare_cr() -> None:
    # A red-team server sent EHLO lines ending in CR LF, then "250 ENHANCEDSTATUSCODES\r"
    # and stalled: that was diagnosed as a server ending its lines with CR alone.
    reader = ReplyReader()
    assert reader.feed(b"250-smtp.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r") == (
        [],
        None,
    )
    assert not reader.bare_cr
    # A CR followed by more text, or a first line ended by CR alone, is CR alone.
    for data in (b"250-a\r250 b\r", b"220 smtp.test ready\r", b"250-a\r\n250-b\r250 c"):
        fresh = ReplyReader()
        fresh.feed(data)
        assert fresh.bare_cr, data
