"""A regular expression compiled on first use.

Start-up compiled every pattern of the rule base and of the client-error signatures
(about 250 of them) whether or not a run ever reached one: rules are tried in order
and stop at the first that matches, most fail on the reply code or the phase before
their text is looked at, and a signature is only searched when one of its literal
anchors is in the paste. ``LazyPattern`` keeps the source and flags and compiles when
a method first needs the compiled pattern.

It pickles as ``(source, flags)``: the compiled cache of ``smtpprobe.loading`` stores
rules and signatures without their compiled code (a pickled ``re.Pattern`` is compiled
again when it is loaded, which is exactly the cost this avoids).

Validation stays where it was: the parsers compile each pattern once to check it and
hand the compiled pattern in (``LazyPattern(source, flags, compiled)``), so a file that
is parsed never compiles twice, and a pattern that does not compile is refused when
the file is read, never on first use.

``anchors`` (``literal_anchors``) are lower-case literals one of which every match
contains: a text that holds none of them cannot match, and is not searched, so the
pattern is not even compiled. The parsers compute them from the parse they already make,
and they are pickled with the source.
"""

from __future__ import annotations

import re
import re._constants as _sre  # type: ignore[import-not-found]  # parsed patterns
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["LazyPattern", "literal_anchors"]

_END = sys.maxsize  # re's own default for endpos


class LazyPattern:
    """A ``str`` pattern compiled the first time it is used; equal by source and flags.

    Safe to share between threads and tasks without a lock: compiling is idempotent,
    so two first uses that race both compile the same pattern and one result is kept.
    """

    __slots__ = ("_compiled", "anchors", "flags", "pattern")

    pattern: str
    flags: int  # the flags given, not those set inline in the source ("(?x)")
    anchors: tuple[str, ...]  # lower-case literals, one in every match; (): always search

    def __init__(
        self,
        pattern: str,
        flags: int = 0,
        compiled: re.Pattern[str] | None = None,
        anchors: tuple[str, ...] = (),
    ) -> None:
        if compiled is not None and compiled.pattern != pattern:
            raise ValueError("the compiled pattern is not the compiled form of this source")
        self.pattern = pattern
        self.flags = flags
        self.anchors = anchors
        self._compiled = compiled

    def may_match(self, lowered: str) -> bool:
        """False when ``lowered`` (a text in lower case) holds none of the anchors."""
        return not self.anchors or any(anchor in lowered for anchor in self.anchors)

    @property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (compiling it now if no one has yet)."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.pattern, self.flags)
        return compiled

    @property
    def is_compiled(self) -> bool:
        """Whether the pattern has been compiled in this process."""
        return self._compiled is not None

    def search(self, string: str, pos: int = 0, endpos: int = _END) -> re.Match[str] | None:
        """``re.Pattern.search``."""
        return self.compiled.search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = _END) -> re.Match[str] | None:
        """``re.Pattern.match``."""
        return self.compiled.match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = _END) -> re.Match[str] | None:
        """``re.Pattern.fullmatch``."""
        return self.compiled.fullmatch(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = _END) -> Iterator[re.Match[str]]:
        """``re.Pattern.finditer``."""
        return self.compiled.finditer(string, pos, endpos)

    def findall(self, string: str, pos: int = 0, endpos: int = _END) -> list[Any]:
        """``re.Pattern.findall``."""
        return self.compiled.findall(string, pos, endpos)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        """``re.Pattern.sub``."""
        return self.compiled.sub(repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> list[str | Any]:
        """``re.Pattern.split``."""
        return self.compiled.split(string, maxsplit)

    def __reduce__(
        self,
    ) -> tuple[type[LazyPattern], tuple[str, int, None, tuple[str, ...]]]:
        # The source, flags and anchors only: compiling is what a cache hit must not pay for.
        return (LazyPattern, (self.pattern, self.flags, None, self.anchors))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LazyPattern):
            return NotImplemented
        return self.pattern == other.pattern and self.flags == other.flags

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}, {re.RegexFlag(self.flags)!r})"


# A literal shorter than this is in almost every text: it would skip nothing. Two kanji or
# kana ("送信", "制限") are a word, as rare in a paste as three Latin letters.
_MIN_ANCHOR = 3
_MIN_WIDE_ANCHOR = 2
_WIDE = 0x3000  # CJK symbols, kana, kanji, full-width forms and beyond


def _long_enough(run: str) -> bool:
    if len(run) >= _MIN_ANCHOR:
        return True
    return len(run) >= _MIN_WIDE_ANCHOR and all(ord(char) >= _WIDE for char in run)


def literal_anchors(parsed: Any) -> tuple[str, ...]:
    """The lower-case literals one of which every match of a parsed pattern contains.

    ``parsed`` is ``re._parser.parse(source, re.IGNORECASE)``. Each top-level
    alternative gives its longest run of plain characters, or, where a group of
    alternatives holds longer ones ("(e-?mails|messages|rcpts) per"), one from each of
    those; () when some alternative has neither of at least ``_MIN_ANCHOR`` characters,
    so the pattern is always searched.
    """
    anchors: list[str] = []
    for alternative in _top_alternatives(list(parsed)):
        needed = _needed(alternative)
        if not needed:
            return ()
        anchors.extend(needed)
    return tuple(dict.fromkeys(anchors))


def _top_alternatives(items: list[Any]) -> list[list[Any]]:
    if len(items) == 1 and items[0][0] is _sre.BRANCH:
        return [list(branch) for branch in items[0][1][1]]
    if len(items) == 1 and items[0][0] is _sre.SUBPATTERN:
        return _top_alternatives(list(items[0][1][-1]))
    return [items]


def _needed(items: list[Any], depth: int = 0) -> tuple[str, ...]:
    """Literals one of which every match of the sequence contains; () if none is known.

    The candidates: the longest run of plain characters, and each group of alternatives
    (not optional: an optional group is a repetition, not a plain group; capturing or
    not) whose every branch has literals of its own. The one whose shortest literal is
    longest wins.
    """
    best: tuple[str, ...] = ()
    run = _longest_literal(items)
    if _long_enough(run):
        best = (run,)
    if depth >= 4:  # deep nesting: the run is enough
        return best
    for op, av in items:
        # A group of alternatives is a SUBPATTERN holding a BRANCH, or, for "(?:a|b)" and
        # for the alternatives re's parser has taken a common prefix from ("\bx|\by" is
        # parsed as "\b" then "x|y"), a BRANCH standing in the sequence itself. The latter
        # only where nothing longer than the shortest anchor is known already: its branches
        # may be fragments ("voked" and "jected" of "re(?:voked|jected)"), longer than a
        # run like "cert" but found in more texts.
        if op is _sre.BRANCH:
            if best and min(map(len, best)) > _MIN_ANCHOR:
                continue
            branches = av[1]
        elif op is _sre.SUBPATTERN:
            inner = list(av[-1])
            if len(inner) != 1 or inner[0][0] is not _sre.BRANCH:
                continue
            branches = inner[0][1][1]
        else:
            continue
        union: list[str] = []
        for branch in branches:
            found = _needed(list(branch), depth + 1)
            if not found:
                union = []
                break
            union.extend(found)
        if union and (not best or min(map(len, union)) > min(map(len, best))):
            best = tuple(dict.fromkeys(union))
    return best


def _longest_literal(items: list[Any]) -> str:
    """The longest run of plain characters that every match of the sequence contains."""
    best = current = ""
    for op, av in items:
        # Only characters whose lower case is their case-folded form: str.lower() of the
        # text then holds them wherever an ignore-case match does.
        if op is _sre.LITERAL and chr(av).lower() == chr(av).upper().lower():
            current += chr(av).lower()
            best = max(best, current, key=len)
            continue
        current = ""
        if op is _sre.SUBPATTERN:
            inner = list(av[-1])
            if not any(sub[0] is _sre.BRANCH for sub in inner):
                best = max(best, _longest_literal(inner), key=len)
    return best
