"""Terminal columns: how wide a text is on screen, padding and clipping by that width.

A terminal gives East Asian wide and fullwidth characters (``W``/``F`` in Unicode's
East Asian Width property, UAX #11: kanji, kana, 「」, full-width parentheses) two
columns and combining marks none; ``len()`` counts one for each, so tables with
Japanese text drift out of line without this.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from smtpprobe.core.lazyre import LazyPattern

__all__ = ["clip", "pad", "table", "width", "wrap"]

ELLIPSIS = "…"  # East Asian Ambiguous: one column in the terminals we target


def _cells(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    """The number of terminal columns ``text`` takes."""
    if text.isascii():
        return len(text)
    return sum(_cells(char) for char in text)


def pad(text: str, columns: int) -> str:
    """``text`` followed by spaces up to ``columns`` (``str.ljust`` by screen width)."""
    return text + " " * max(0, columns - width(text))


def clip(text: str, columns: int) -> str:
    """``text`` on one line (line breaks become spaces), cut with "…" to ``columns`` columns."""
    text = " ".join(text.splitlines())
    if width(text) <= columns:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        cells = _cells(char)
        if used + cells > columns - width(ELLIPSIS):
            break
        kept.append(char)
        used += cells
    return "".join(kept).rstrip() + ELLIPSIS


# Characters a line may not begin with in Japanese (kinsoku: closing marks, small kana are
# left out for simplicity); a break before one moves the character before it down too.
_NO_LINE_START = frozenset("、。，．・：；？！」』）】〕〉》ー…")
# Lazy: this wide a character class takes milliseconds to compile, and most runs wrap nothing.
_ATOM = LazyPattern(r"\s+|[\u1100-\uffff]|[^\s\u1100-\uffff]+")


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` columns (a longer word keeps its own line).

    English breaks at spaces; Japanese between any two characters, except before a closing
    mark such as 、。」） (which stays on the line with the character before it).
    """
    lines: list[str] = []
    line: list[str] = []
    used = 0
    for atom in _ATOM.findall(" ".join(text.split())):
        if atom == " ":
            if line:
                line.append(atom)
                used += 1
            continue
        cells = width(atom)
        if line and used + cells > columns:
            carried: list[str] = []
            if atom in _NO_LINE_START and len(line) > 1 and line[-1] != " ":
                carried = [line.pop()]
            lines.append("".join(line).rstrip())
            line, used = carried, sum(width(a) for a in carried)
        line.append(atom)
        used += cells
    if line:
        lines.append("".join(line).rstrip())
    return lines


def table(rows: Sequence[Sequence[str]], *, rule: bool = True) -> list[str]:
    """Rows aligned in columns two spaces apart; the first row is the header.

    With ``rule``, a line of dashes under the header, as wide as each column.
    """
    if not rows:
        return []
    count = len(rows[0])
    widths = [max(width(row[i]) for row in rows) for i in range(count)]
    lines = ["  ".join(pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return lines
