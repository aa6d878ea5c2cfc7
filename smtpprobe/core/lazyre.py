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
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["LazyPattern"]

_END = sys.maxsize  # re's own default for endpos


class LazyPattern:
    """A ``str`` pattern compiled the first time it is used; equal by source and flags.

    Safe to share between threads and tasks without a lock: compiling is idempotent,
    so two first uses that race both compile the same pattern and one result is kept.
    """

    __slots__ = ("_compiled", "flags", "pattern")

    pattern: str
    flags: int  # the flags given, not those set inline in the source ("(?x)")

    def __init__(
        self, pattern: str, flags: int = 0, compiled: re.Pattern[str] | None = None
    ) -> None:
        if compiled is not None and compiled.pattern != pattern:
            raise ValueError("the compiled pattern is not the compiled form of this source")
        self.pattern = pattern
        self.flags = flags
        self._compiled = compiled

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

    def __reduce__(self) -> tuple[type[LazyPattern], tuple[str, int]]:
        # The source and flags only: compiling is what a cache hit must not pay for.
        return (LazyPattern, (self.pattern, self.flags))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LazyPattern):
            return NotImplemented
        return self.pattern == other.pattern and self.flags == other.flags

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}, {re.RegexFlag(self.flags)!r})"
