"""Where a reply starts on a line: the record every kind of start returns.

``Start`` is what ``smtpprobe.core.reply_starts`` and ``smtpprobe.core.codeless_starts`` say
about a line, and ``smtpprobe.core.bounce`` assembles into replies. The conventions they share
live here too: where a quoted string closes, what ends a wrapper, what counts as a word. Pure.
"""

from __future__ import annotations

from smtpprobe.core.lazyre import GuardedPattern
from smtpprobe.core.record import record
from smtpprobe.core.reply_context import ENHANCED_CODE

__all__ = ["CLOSE_QUOTE", "LETTER", "WRAPPER_ENDS", "Start", "closing_at"]

# Where a straight quote closes a string: before ")", ",", "}", … or at the end of the line;
# an apostrophe inside the text ("isn't", "users' accounts") is followed by a word.
CLOSE_QUOTE = {
    "'": GuardedPattern(r"'(?=\s{0,8}(?:[)\]},;>\"'.:]|$))"),
    '"': GuardedPattern(r"\"(?=\s{0,8}(?:[)\]},;>\"'.:]|$))"),
    "’": GuardedPattern(r"’(?=\s{0,8}(?:[)\]},;>\"'.:]|$))"),
}
# A wrapper ends with one: "said:", "smtp;", "応答：", and a log's field separator ("Got: 503 |
# 503 Bad sequence of commands").
WRAPPER_ENDS = (":", ";", "：", "|")
LETTER = GuardedPattern(r"[^\W\d_]")


@record
class Start:
    """Where a reply starts on a line, and how."""

    wrapper: str  # the words before it ("said:", "Remote Server returned")
    code: int
    separator: str  # "-" when more lines of the reply follow (RFC 5321 section 4.2.1)
    rest: str  # the text after the code: enhanced code and words
    inferred: bool = False  # only an enhanced code: ``code`` is X50
    quote: str | None = None  # the closing quote still awaited (a string not closed yet)
    sealed: bool = False  # the reply's string closed on this line
    whole: bool = False  # the string holds the whole reply (smtplib): it ends with it
    weak: bool = False  # found after prose, by its enhanced code
    pending: bool = False  # "said: 550": the words are on the next lines

    @property
    def enhanced(self) -> str | None:
        match = ENHANCED_CODE.match(self.rest)
        return match.group(0) if match else None


def closing_at(closer: str, text: str) -> int | None:
    """Where the string closes in ``text``, if it does."""
    if text.startswith(closer):
        return 0  # a line that starts with the closing quote: the string ended with the last
    pattern = CLOSE_QUOTE.get(closer)
    if pattern is not None:
        match = pattern.search(text)
        return match.start() if match else None
    index = text.find(closer)
    return index if index >= 0 else None
