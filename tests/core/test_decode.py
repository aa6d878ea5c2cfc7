"""Decoding reply bytes: UTF-8, ISO-2022-JP, Shift_JIS (cp932) and EUC-JP each read back exactly.

The sentences are real Japanese text: the reply in the labeled corpus and the
lines of the user's seed documents (tests/data/seeds), each encoded in every
encoding that can hold it.
"""

from __future__ import annotations

import functools
import re
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
