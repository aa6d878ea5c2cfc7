"""A rule's sentences where a paste leaves values unknown.

A rule's cause and remedy name the values of a live probe ("{host} refused the sender
{sender}"); a pasted reply has only some of them. ``UNKNOWN_EN`` / ``UNKNOWN_JA`` fill the
others with slot markers, and ``tidy`` rewrites each sentence without them: "refused the sender
{sender}" becomes "refused the sender", "Google ({host}) refused" becomes "Google refused",
"; it offered: {mechanisms}." goes, and a value the sentence cannot do without gets a plain
word ("the server", 「宛先」). Never an empty slot in an answer (issue 8). Pure.
"""

from __future__ import annotations

import functools
import re

from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.rules import Text

__all__ = ["UNKNOWN_EN", "UNKNOWN_JA", "tidy"]

# Placeholders a pasted reply cannot fill (there was no live dialogue) are filled with
# a slot marker, and tidy writes the sentence without the value: "refused the sender
# {sender}" becomes "refused the sender", "Google ({host}) refused" becomes "Google
# refused", "; it offered: {mechanisms}." goes, and a value the sentence cannot do
# without gets a plain word ("the server", 「宛先」). Never an empty slot (issue 8).
_SLOT = "\x00"
UNKNOWN_EN = {
    name: f"{_SLOT}{name}{_SLOT}"
    for name in (
        "host",
        "port",
        "security",
        "user",
        "sender",
        "recipient",
        "mechanisms",
        "stage",
        "code",
        "expected",
    )
}
UNKNOWN_JA = dict(UNKNOWN_EN)
# The plain words for a value a sentence needs; a value with no word here is left out.
_WORDS_EN = {
    "host": "the server",
    "port": "the port",
    "user": "the account",
    "sender": "the sender address",
    "recipient": "the recipient",
    "code": "an unexpected reply",
    "expected": "a different reply",
}
_WORDS_JA = {
    "host": "サーバー",
    "port": "ポート",
    "user": "このアカウント",
    "sender": "送信者アドレス",
    "recipient": "宛先",
    "code": "想定外の応答",
    "expected": "別の応答",
}


def _slot(*names: str) -> str:
    return f"{_SLOT}(?:{'|'.join(names)}){_SLOT}"


_ANY = f"{_SLOT}\\w+{_SLOT}"
_INSERTED = "\x01"  # marks a plain word put in for a value, until the sentence is capitalised
# Each step rewrites one shape of sentence around an unknown value, most specific first.
_STEPS_EN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # "{host}:{port}" and "{host} port {port}": the server, once.
        (_slot("host") + r"(?::| port )" + _slot("port"), UNKNOWN_EN["host"]),
        (":" + _slot("port"), ""),
        # A value in brackets of its own ("Google ({host})"), or after a label
        # ("(offered: {mechanisms})", "; it offered: {mechanisms}.").
        (r" ?\(\s*" + _ANY + r"\s*\)", ""),
        (r" ?\([^()]{0,40}:\s*" + _ANY + r"\s*\)", ""),
        (r"[;,] [^;,.:()]{1,40}:\s*" + _ANY, ""),
        (r"(?:^|(?<=[.!?] ))[^.;:()]{1,60}:\s*" + _ANY + r"\.? ?", ""),
        # The stage: "at the {stage} stage" goes, "the {stage} stage" is "this stage".
        (r" (?:at|in|during) the " + _slot("stage") + r" (?:stage|step)", ""),
        (r"\bthe " + _slot("stage") + r" (stage|step)", "this \\1"),
        (r"\bPort " + _slot("port"), "This port"),
        (r"\bport " + _slot("port"), "this port"),
        # A label already says what the value was: "the sender {sender}" -> "the sender".
        (r"\b(sender|recipient|address|account|mailbox|login|user|name) " + _ANY, "\\1"),
    )
)
_STEPS_JA: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (_slot("host") + r"\s*(?::|のポート\s*)" + _slot("port"), UNKNOWN_EN["host"]),
        (":" + _slot("port"), ""),
        # "Google（{host}）は" -> "Google は"; "平文（{security}）" -> "平文".
        (r"(?<=[A-Za-z0-9])\s*[（(]\s*" + _ANY + r"\s*[)）]\s*(?=[^\sA-Za-z0-9])", " "),
        (r"\s*[（(]\s*" + _ANY + r"\s*[)）]", ""),
        (r"\s*[（(][^（）()]{0,40}[:：]\s*" + _ANY + r"\s*[)）]", ""),
        (r"(?:^|(?<=。))[^。]{0,60}[:：]\s*" + _ANY + r"\s*。?", ""),
        (r"\s*[（(]?\s*" + _slot("stage") + r"\s*の段階(?:で|の)?\s*[)）]?", ""),
        (r"ポート\s*" + _slot("port") + r"\s*", "このポート"),
        # 「送信者 {sender} を」 -> 「送信者を」: the label stays, with its particle.
        (r"(者|先|アドレス|名|アカウント|メールボックス)\s*" + _ANY + r"\s*", "\\1"),
    )
)
_VALUE = re.compile(f"{_SLOT}(\\w+){_SLOT}")
_VALUE_JA = re.compile(f"\\s*{_SLOT}(\\w+){_SLOT}\\s*")
# An option's value on a command line: "--host {host}" -> "--host HOST".
_OPTION = re.compile(f"(--[\\w-]+)[ =]{_SLOT}(\\w+){_SLOT}")


def _options(value: str) -> str:
    return _OPTION.sub(lambda m: f"{m[1]} {m[2].upper()}", value)


# Compiled on first use (LazyPattern): most answers never need them, and start-up counts.
_CAPITALISE = LazyPattern(f"(?:^|(?<=[.!?] )){_INSERTED}([a-z])")
_SPACE_BEFORE_JA_STOP = LazyPattern(r"\s+(?=[、。）])")


# Pure, and asked again and again for the same sentences: a rule's cause and remedy filled
# with the same values (a log of many refusals, a run over many accounts, the corpus test).
@functools.lru_cache(maxsize=1024)
def _tidy_en(value: str) -> str:
    if _SLOT in value:  # a value left unknown: rewrite the sentence around it
        value = _options(value)
        for pattern, replacement in _STEPS_EN:
            value = pattern.sub(replacement, value)
        value = _VALUE.sub(
            lambda m: f"{_INSERTED}{_WORDS_EN[m[1]]}" if m[1] in _WORDS_EN else "", value
        )
        value = _CAPITALISE.sub(lambda m: m[1].upper(), value)
        value = value.replace(_INSERTED, "")
    return _close_gaps(value)


@functools.lru_cache(maxsize=1024)
def _tidy_ja(value: str) -> str:
    if _SLOT in value:
        value = _options(value)
        for pattern, replacement in _STEPS_JA:
            value = pattern.sub(replacement, value)
        value = _VALUE_JA.sub(lambda m: _WORDS_JA.get(m[1], ""), value)
    value = _SPACE_BEFORE_JA_STOP.sub("", value)  # also after a value that ends in a space
    return _close_gaps(value)


# What an empty value (a known but empty detail, or one left out) leaves behind.
_GAPS: tuple[tuple[LazyPattern, str], ...] = tuple(
    (LazyPattern(pattern), replacement)
    for pattern, replacement in (
        (r"([(（])\s*[;,、。]\s*", r"\1"),  # "(; x.5.x" -> "(x.5.x"
        (r"\s*[;,、。]\s*(?=[)）])", ""),  # "(temporary failure, )"
        (r"(?<![A-Za-z0-9_.])[(（]\s*[)）]", ""),  # not "starttls()"
        (r"(?<=\S) {2,}", " "),
        # A space before punctuation that ends a clause; not before "::1" or ".NET".
        (r" +(?=[.,;:、。)](?:\s|$|[)）」]))", ""),
        (r"\( +", "("),
        (r"[:：;,]+(?=\s*(?:[.。](?:\s|$)|$))", ""),  # not ", .js"
    )
)


def _close_gaps(value: str) -> str:
    """What an empty value (a known but empty detail, or one left out) leaves behind."""
    for pattern, replacement in _GAPS:
        value = pattern.sub(replacement, value)
    return value.strip()


def tidy(text: Text) -> Text:
    """Write each sentence without the values a paste cannot fill (see ``UNKNOWN_EN``)."""
    return Text(en=_tidy_en(text.en), ja=_tidy_ja(text.ja))
