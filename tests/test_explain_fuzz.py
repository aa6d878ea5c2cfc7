"""``explain`` on random MIME trees, random text with replies in it, and repetitive text.

Whatever is pasted, ``smtpprobe.api.explain`` either explains it or raises the
one documented error (``ConfigError``: empty, binary or oversized input), and
each input is done within ``BOUND`` seconds. The MIME trees are built by hand,
not by the email package, so that they can be as broken as real pastes:
charsets Python has no text codec for (``punycode``, ``base64``, made-up names),
transfer encodings that lie, truncated base64, bad quoted-printable escapes,
encoded words in any charset, deep nesting, missing boundaries.
"""

from __future__ import annotations

import base64
import quopri
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpprobe.api import explain
from smtpprobe.errors import ConfigError
from smtpprobe.render.explain import format_explain_json, format_explain_text

BOUND = 3.0  # seconds per input: a hang guard, not a benchmark

# Test-only synthetic replies (not any provider's real text), in the shapes explain reads.
REPLIES = [
    "550 5.7.1 <you@example.jp>... Command rejected",
    "553 5.7.1 : relay access denied (E999)",
    "552-5.2.2 The mailbox is over quota.\n552 5.2.2 Try again later.",
    "Diagnostic-Code: smtp; 550 5.1.1 <a@example.jp>: Recipient address rejected",
    "host mx.example.jp[192.0.2.1] said: 451 4.7.1 greylisted (in reply to RCPT TO command)",
    "リモート サーバーからの応答: 550 5.7.1 宛先のユーザーは存在しません",
    "5.7.57 SMTP; Client was not authenticated",
    "421 4.7.0 Try again later, closing connection.",
]
CHARSETS = [
    "utf-8",
    "us-ascii",
    "iso-2022-jp",
    "shift_jis",
    "cp932",
    "euc-jp",
    "iso-8859-1",
    "utf-16",
    "utf-7",
    "punycode",
    "idna",
    "undefined",
    "base64",
    "rot13",
    "zlib",
    "hex",
    "uu",
    "unicode_escape",
    "raw_unicode_escape",
    "x-unknown-charset",
    "",
    '"utf-8"',
    "utf-8*ja",
    "a" * 200,
]
ENCODINGS = ["7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "bogus"]
TYPES = [
    "text/plain",
    "text/html",
    "message/delivery-status",
    "message/rfc822",
    "text/rfc822-headers",
    "application/octet-stream",
]

words = st.sampled_from(
    ["quota exceeded ", "client host [", "relay ", "550 ", "=?", "> ", "<", "(in reply to "]
)
texts = st.lists(
    st.one_of(st.text(max_size=80), st.sampled_from(REPLIES), words),
    max_size=8,
).map("\n".join)


def _encode_text(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset.strip('"').split("*")[0] or "utf-8")
    except (LookupError, UnicodeError, TypeError, ValueError):
        return text.encode("utf-8")


@st.composite
def bodies(draw: Any, charset: str, encoding: str) -> bytes:
    data = _encode_text(draw(texts), charset)
    if encoding == "base64":
        encoded = base64.encodebytes(data)
        if draw(st.booleans()):  # truncated or with garbage inside
            cut = draw(st.integers(0, len(encoded)))
            encoded = encoded[:cut] + draw(st.sampled_from([b"", b"!!", b"=", b"\xff", b"===="]))
        return encoded
    if encoding == "quoted-printable":
        encoded = quopri.encodestring(data)
        if draw(st.booleans()):
            encoded += draw(st.sampled_from([b"=", b"=Z", b"=4", b"=\xff", b"=\r\n="]))
        return encoded
    return data


@st.composite
def encoded_words(draw: Any) -> str:
    charset = draw(st.sampled_from(CHARSETS)) or "x"
    kind = draw(st.sampled_from("BbQq"))
    payload = _encode_text(draw(texts), charset)
    if kind in "Bb":
        text = base64.b64encode(payload).decode()
        if draw(st.booleans()):
            text = text[: draw(st.integers(0, len(text)))] + draw(st.sampled_from(["", "!", "="]))
    else:
        text = quopri.encodestring(payload, header=True).decode("ascii", "replace")
        text = text.replace("?", "=3F").replace(" ", "_").replace("\n", "")
    return f"=?{charset}?{kind}?{text}?="


@st.composite
def leaves(draw: Any) -> bytes:
    content_type = draw(st.sampled_from(TYPES))
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    header = f"Content-Type: {content_type}"
    if charset or draw(st.booleans()):
        header += f"; charset={charset}"
    head = f"{header}\r\nContent-Transfer-Encoding: {encoding}\r\n"
    if content_type == "message/delivery-status":
        fields = "\r\n".join(
            [
                "Reporting-MTA: dns; mx.example.jp",
                "",
                "Final-Recipient: rfc822; a@example.jp",
                f"Status: {draw(st.sampled_from(['5.1.1', '4.2.2', 'x.y.z', '']))}",
                f"Diagnostic-Code: smtp; {draw(st.sampled_from(REPLIES)).splitlines()[0]}",
                f"Remote-MTA: {draw(st.text(max_size=20))}",
            ]
        )
        return (head + "\r\n" + fields + "\r\n").encode("utf-8", "surrogatepass")
    body: bytes = draw(bodies(charset, encoding))
    return head.encode() + b"\r\n" + body


def _multipart(children: list[bytes], boundary: str, closed: bool, kind: str) -> bytes:
    parts = [f'Content-Type: multipart/{kind}; boundary="{boundary}"\r\n\r\npreamble\r\n'.encode()]
    for child in children:
        parts.append(f"--{boundary}\r\n".encode() + child + b"\r\n")
    if closed:
        parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


trees = st.recursive(
    leaves(),
    lambda children: st.builds(
        _multipart,
        st.lists(children, max_size=4),
        st.sampled_from(["b1", "b2", "=_x", "b1"]),  # a reused boundary confuses the parser
        st.booleans(),
        st.sampled_from(["mixed", "report", "alternative", "digest"]),
    ),
    max_leaves=10,
)


@st.composite
def messages(draw: Any) -> bytes:
    subject = " ".join(draw(st.lists(st.one_of(encoded_words(), st.text(max_size=20)), max_size=4)))
    head = (
        "From: MAILER-DAEMON@example.jp\r\n"
        f"Subject: {subject}\r\n"
        f"X-Other: {draw(encoded_words())}\r\n"
        "MIME-Version: 1.0\r\n"
    )
    tree: bytes = draw(trees)
    return head.encode("utf-8", "surrogatepass") + tree


def _explain_within_bound(data: bytes | str) -> None:
    start = time.thread_time()
    try:
        result = explain(data)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    format_explain_json(result.pasted, result.explanations)
    for lang in ("en", "ja"):
        format_explain_text(result.explanations, lang)
    elapsed = time.thread_time() - start
    assert elapsed < BOUND, f"{elapsed:.1f} s for {len(data)} characters"


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: Any) -> None:
    monkeypatch.setenv("SMTPPROBE_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=150, deadline=None, suppress_health_check=_HEALTH)
@given(messages())
def test_random_mime_trees(data: bytes) -> None:
    _explain_within_bound(data)


@settings(max_examples=150, deadline=None, suppress_health_check=_HEALTH)
@given(st.one_of(texts, texts.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_random_text_with_replies(data: bytes | str) -> None:
    _explain_within_bound(data)


@settings(max_examples=25, deadline=None, suppress_health_check=_HEALTH)
@given(
    start=st.sampled_from(["", "550 5.7.1 ", "550-5.7.1 ", "Diagnostic-Code: smtp; 550 "]),
    word=st.one_of(words, st.sampled_from(REPLIES), st.text(min_size=1, max_size=12)),
    size=st.integers(1_000, 150_000),
    newline=st.booleans(),
)
def test_highly_repetitive_text(start: str, word: str, size: int, newline: bool) -> None:
    unit = word + ("\n" if newline else "")
    _explain_within_bound(start + unit * (size // len(unit)))


@pytest.mark.parametrize(
    "data",
    [
        b"Content-Type: text/plain; charset=punycode\r\n\r\n550 5.7.1 relay denied-99999\r\n",
        b"Content-Type: text/plain; charset=undefined\r\n\r\n550 5.7.1 relay denied\r\n",
        b"Content-Type: text/plain; charset=idna\r\n\r\n550 5.7.1 relay denied\xe3\x81\x82\r\n",
        b"Content-Type: text/plain; charset=base64\r\n\r\n550 5.7.1 relay denied\r\n",
        b"Content-Type: text/plain; charset=no-such-thing\r\n\r\n550 5.7.1 relay denied\r\n",
        b"550 5.7.1 relay denied =?utf-8?B?NTUwa?=\r\n",  # base64 of a wrong length
        b"550 5.7.1 relay denied =?undefined?Q?abc?= =?punycode?B?YWJjLTk5OTk5?=\r\n",
        b"Subject: =?utf-8?B?5a6b5YWI?\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nNTUwIDUuNy4xIHJlbGF5IGRlbmllZA=!=\r\n",
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"550 5.7.1 relay =ZZ denied=\r\n=",
    ],
    ids=[
        "punycode",
        "undefined",
        "idna",
        "base64",
        "unknown",
        "b64-word",
        "bogus-words",
        "b64-body",
        "qp-body",
    ],
)
def test_bogus_charsets_and_broken_encodings(data: bytes) -> None:
    # Issue 7 item 6: punycode, undefined and b64-word were internal errors (exit 4) before.
    result = explain(data)
    assert [e.found.reply.code for e in result.explanations] == [550]
    assert "relay" in result.explanations[0].found.reply.text
