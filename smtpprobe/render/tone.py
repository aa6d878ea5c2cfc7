"""Lines of output with a tone: what a terminal may colour, decided where the line is made.

The renderers build ``Line``s; ``join`` gives the plain text every pipe, file and
``--json`` run gets, and ``smtpprobe.render.terminal.paint`` the coloured one for a
terminal. Colour never carries meaning on its own: the text says the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum

from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.record import record

__all__ = ["Line", "Tone", "exit_tone", "join", "redact", "reply_tone", "visible"]


class Tone(StrEnum):
    """How a line should stand out on a terminal."""

    PLAIN = "plain"
    GOOD = "good"  # green: the verdict ok, an expectation met
    BAD = "bad"  # red: a failure line, a permanent refusal (5xx), the verdict refused
    WARN = "warn"  # yellow: a temporary refusal (4xx), the verdict incomplete


@record
class Line:
    """One line of output and its tone."""

    text: str
    tone: Tone = Tone.PLAIN


def exit_tone(code: int) -> Tone:
    """The verdict's tone from its exit code: green accepted, red refused, yellow incomplete."""
    return {0: Tone.GOOD, 1: Tone.BAD}.get(int(code), Tone.WARN)


def reply_tone(code: int) -> Tone:
    """A server reply's tone: negative replies stand out (RFC 5321 section 4.2.1)."""
    if code >= 500:
        return Tone.BAD
    return Tone.WARN if code >= 400 else Tone.PLAIN


def join(lines: Iterable[Line]) -> str:
    """The plain text."""
    return "\n".join(line.text for line in lines)


# What a server's words must not do to a terminal: control characters (ESC starts a
# sequence that can clear the screen, retitle the window or hide the text after it; CR
# overwrites a line) and the bidirectional overrides and isolates that reorder a line.
# Tabs and line breaks are kept.
_INVISIBLE = LazyPattern("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with each control character written as an escape (``\\x1b``) instead."""
    return _INVISIBLE.sub(_escape, text)


def redact(lines: Sequence[Line], *scrubbers: Callable[[str], str]) -> list[Line]:
    """The lines with every scrubber applied to the whole text, tones kept.

    Scrubbed as one text, so a secret that spans a line break is found too; if
    masking changed the number of lines, the tones can no longer be placed and
    every line is plain.
    """
    text = join(lines)
    for scrub in scrubbers:
        text = scrub(text)
    parts = text.split("\n")
    if len(parts) != len(lines):
        return [Line(part) for part in parts]
    return [Line(part, line.tone) for part, line in zip(parts, lines, strict=True)]
