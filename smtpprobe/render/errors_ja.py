"""The Japanese of smtpprobe's own one-line error messages (``--lang ja``).

The table is data, ``smtpprobe/data/errors_ja.yaml``: each entry is the English message's
template as a regular expression over the whole message (``en``), and its Japanese
(``ja``); named groups (options, values, file names) are carried over as they are, a
group named ``why`` (a system's or a library's reason) in Japanese where it is known. The
file is read on the first Japanese error only: an English run, or one without an error,
never parses it.

A message about one place in a file ("FILE: check 'NAME': key 'KEY': PROBLEM", "FILE: rule
'ID': PROBLEM") has that place in Japanese and its problem through the table like any
message. A message without an entry keeps its English words inside Japanese quotes, so a
Japanese line never reads as an English sentence (``tests/core/test_errors_ja.py`` finds
every message of the source without an entry).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

__all__ = ["error_ja"]

_TABLE_FILE = Path(__file__).resolve().parent.parent / "data" / "errors_ja.yaml"
_JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ENGLISH = re.compile(r"[A-Za-z]{2,}[\s,:;]+[A-Za-z]{2,}")
# A message longer than this holds a huge value (a pasted file as --host): it is quoted as
# it is, as matching it against every entry could take seconds (lazy groups on each side
# of a ": " are quadratic in the number of ": " the value holds).
_LONGEST = 8192


@functools.cache
def _table() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The entries of ``errors_ja.yaml``, compiled (once, on the first Japanese error)."""
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with _TABLE_FILE.open(encoding="utf-8") as file:
        entries = yaml.load(file, Loader=loader)
    return tuple((re.compile(str(e["en"]), re.DOTALL), str(e["ja"])) for e in entries)


# Where in a file a message is about, before its problem: the place in Japanese, the
# problem through the table. A checks file's key says ``key 'from'::`` when ``check``'s
# message named the option without a value (``checks._as_key``).
_FRAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), ja)
    for pattern, ja in (
        (
            r"(?:(?P<f>.+?): )?check '(?P<c>[^']*)': key '(?P<k>[^']*)':+ (?P<rest>.+)",
            "チェック「{c}」のキー「{k}」",
        ),
        (r"(?:(?P<f>.+?): )?key '(?P<k>[^']*)':+ (?P<rest>.+)", "キー「{k}」"),
        (r"(?:(?P<f>.+?): )?check '(?P<c>[^']*)': (?P<rest>.+)", "チェック「{c}」"),
        (r"(?P<f>.+?): rule '(?P<r>[^']*)': (?P<rest>.+)", "ルール「{r}」"),
        (r"(?P<f>.+?): rule #(?P<n>\d+): (?P<rest>.+)", "{n} 番目のルール"),
    )
)


def _fill(ja: str, match: re.Match[str]) -> str:
    """``ja`` with each ``{group}`` of ``match`` (an absent one empty; ``why`` translated)."""
    values = {name: value or "" for name, value in match.groupdict().items()}
    if values.get("why"):
        values["why"] = _reason(values["why"])
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), ja)


def _reason(text: str) -> str:
    """A reason inside a message: the system's words or ours in Japanese, else quoted."""
    from smtpprobe.render.system_ja import system_message_ja

    known = system_message_ja(text) or _lookup(text)
    if known is not None:
        return known
    return f"「{text}」" if _ENGLISH.search(text) else text


def _framed(message: str) -> tuple[str, str, str | None] | None:
    """``(the place in Japanese, the problem, the key)`` of a message about a place."""
    for frame, ja in _FRAMES:
        match = frame.fullmatch(message)
        if match is not None:
            place = _fill(ja, match)
            if match["f"]:
                place = f"{match['f']}: {place}"
            return place, match["rest"], match.groupdict().get("k")
    return None


def _lookup(message: str) -> str | None:
    """``message`` in Japanese, or None when neither the table nor a frame knows it."""
    framed = _framed(message)
    if framed is not None:
        place, rest, key = framed
        problem = _lookup(rest) or (_as_option(rest, key) if key else None)
        if problem is not None:
            return f"{place}: {problem}"
    for pattern, ja in _table():
        match = pattern.fullmatch(message)
        if match is not None:
            return _fill(ja, match)
    return None


def _as_option(rest: str, key: str) -> str | None:
    """A checks file's ``key 'from': 'x': …`` read as ``check``'s ``--from 'x': …``, the
    option then left out again (the key names it)."""
    option = "--" + key.replace("_", "-")
    for head in (f"{option} ", f"{option}: "):
        said = _lookup(head + rest)
        if said is not None:
            return said.removeprefix(head) if said.startswith(head) else said
    return None


def _already_japanese(message: str) -> bool:
    """Whether ``message`` is worded in Japanese: more Japanese characters than Latin letters
    (an English sentence around a Japanese value has far fewer)."""
    japanese = len(_JAPANESE.findall(message))
    return japanese > 0 and japanese >= sum(c.isascii() and c.isalpha() for c in message)


def error_ja(message: str) -> str:
    """``message`` in Japanese, or its English quoted where the table has no entry."""
    if len(message) > _LONGEST:
        return message if _already_japanese(message) else f"「{message}」"
    # Looked up first: an English message may quote a Japanese value ("unknown profile
    # 'さくら'"), and was once taken for Japanese and shown in English (a red-team round).
    said = _lookup(message)
    if said is not None:
        return said
    if _already_japanese(message):
        return message  # a command that words its own errors
    framed = _framed(message)
    if framed is not None:
        return f"{framed[0]}: 「{framed[1]}」"
    if message.startswith("internal error, please report it: "):
        return "内部エラーです。お手数ですが報告してください: " + message.split(": ", 1)[1]
    return f"「{message}」"
