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

``reach`` is the most characters a match, with what its lookarounds read beyond it, can
span (``match_reach``; None when unbounded). With the anchors it lets ``finditer_near``
search a long text only near the places an anchor occurs: in a 9 MB mail log where a
signature's anchor ("10061", a Windows socket error number) occurs once, inside a queue
id, the pattern was run over all 9 MB (seconds per signature) to find nothing.
"""

from __future__ import annotations

import re
import re._constants as _sre  # type: ignore[import-not-found]  # parsed patterns
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

__all__ = [
    "AnchorIndex",
    "GuardedPattern",
    "IdentityCache",
    "LazyPattern",
    "alternative_anchors",
    "literal_anchors",
    "match_reach",
    "text_grams",
    "top_alternatives",
]

# Each top-level alternative's source (self-contained: global inline flags made scoped) and
# its anchors.
Alternatives: TypeAlias = tuple[tuple[str, tuple[str, ...]], ...]

_END = sys.maxsize  # re's own default for endpos
# A string longer than this is searched without GuardedPattern's look for its anchors: lowering
# it on every call would cost more than the search (a loop over one long text would be square).
_GUARDED_UP_TO = 4_096
_GUARD_AFTER = 64  # uses of a GuardedPattern before it works out its anchors
# A text shorter than this is searched whole: windows would save nothing worth their cost.
_WINDOWLESS = 16_384
# A reach above this is taken as unbounded (no windows): near it the windows are the text.
_MAX_REACH = 4_096
# may_match looks an anchor up by its first _GRAM characters among the text's own
# (text_grams, made once per text) in a text up to _GRAMS_UP_TO characters long; in a longer
# one making them would cost more than looking for each anchor.
_GRAM = 3
_GRAMS_UP_TO = 16_384
# A pattern of more top-level alternatives than this is narrowed (``alternative_anchors``);
# a few narrowed alternations are kept per pattern.
_NARROW_ABOVE = 4
_NARROWED_KEPT = 64


class LazyPattern:
    """A ``str`` pattern compiled the first time it is used; equal by source and flags.

    Safe to share between threads and tasks without a lock: compiling is idempotent,
    so two first uses that race both compile the same pattern and one result is kept.
    """

    __slots__ = (
        "_alternatives_index",
        "_compiled",
        "_heads",
        "_narrowed",
        "alternatives",
        "anchors",
        "flags",
        "pattern",
        "reach",
    )

    pattern: str
    flags: int  # the flags given, not those set inline in the source ("(?x)")
    anchors: tuple[str, ...]  # lower-case literals, one in every match; (): always search
    reach: int | None  # the most characters a match and its lookarounds span; None: unbounded
    # Each top-level alternative's own source and anchors (``alternative_anchors``); ():
    # finditer_near searches the whole pattern.
    alternatives: Alternatives

    def __init__(
        self,
        pattern: str,
        flags: int = 0,
        compiled: re.Pattern[str] | None = None,
        anchors: tuple[str, ...] = (),
        reach: int | None = None,
        alternatives: Alternatives = (),
    ) -> None:
        if compiled is not None and compiled.pattern != pattern:
            raise ValueError("the compiled pattern is not the compiled form of this source")
        self.pattern = pattern
        self.flags = flags
        self.anchors = anchors
        self.reach = reach
        self.alternatives = alternatives
        self._compiled = compiled
        self._heads: dict[str, tuple[str, ...]] | None = None  # made on first use
        # The alternations of some alternatives only, by their positions (made when needed).
        self._narrowed: dict[tuple[int, ...], re.Pattern[str]] = {}
        self._alternatives_index: AnchorIndex | None = None  # made on first use with grams

    def may_match(self, lowered: str, grams: set[str] | None = None) -> bool:
        """False when ``lowered`` (a text in lower case) holds none of the anchors.

        ``grams`` is ``text_grams(lowered)``, from a caller that asks this of many patterns
        (a rule book, a signature file: a thousand anchors in all): an anchor is then looked
        for only where the text holds its first characters.
        """
        anchors = self.anchors
        if not anchors:
            return True
        if grams is not None:
            heads = self._heads
            if heads is None:
                heads = self._heads = _heads_of(anchors)
            if heads:
                return any(a in lowered for head in grams.intersection(heads) for a in heads[head])
        return any(anchor in lowered for anchor in anchors)

    @property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (compiling it now if no one has yet)."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.pattern, self.flags)
        return compiled

    @property
    def is_compiled(self) -> bool:
        """Whether the pattern, or a narrowed form of it (``narrowed``), has been compiled
        in this process."""
        return self._compiled is not None or bool(self._narrowed)

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

    def finditer_near(
        self, string: str, lowered: str, grams: set[str] | None = None
    ) -> Iterator[re.Match[str]]:
        """``finditer(string)``'s matches, searched for only near the anchors in ``lowered``.

        ``lowered`` is ``string.lower()``. Every match holds an anchor and spans at most
        ``reach`` characters, so it starts at most ``reach`` characters before an anchor's
        occurrence: only those stretches are searched, each with ``endpos`` past its end
        by ``reach`` (so that the match and its lookarounds fit). A match found there is
        taken again from the whole string (``match``: the match ``finditer`` gives at that
        place), so that a window's end can never change an answer, even were a reach short.
        A short text, a pattern without anchors or reach, and a text whose lower case
        changed its length are searched whole.

        A pattern with ``alternatives`` is searched as the alternation of only those whose
        anchors ``lowered`` holds: an alternative that cannot match anywhere in the text
        changes no match of the others, and a family of a hundred alternatives searched
        whole tries each of them at every character (most of the time ``explain`` spent
        on a paste). The spans are ``finditer``'s; the groups are the narrowed pattern's.
        ``grams`` is ``text_grams(lowered)``, when the caller has it.
        """
        compiled = self.narrowed(lowered, grams) if self.alternatives else self.compiled
        if compiled is None:
            return
        reach = self.reach
        if (
            reach is None
            or not self.anchors
            or len(string) <= _WINDOWLESS
            or len(lowered) != len(string)
        ):
            yield from compiled.finditer(string)
            return
        position = 0  # where finditer would search next
        for low, high in _stretches(lowered, self.anchors, reach):
            start = max(low, position)
            while start <= high:
                found = compiled.search(string, start, min(len(string), high + reach + 2))
                if found is None or found.start() > high:
                    break
                whole = compiled.match(string, found.start())
                if whole is None or whole.end() == whole.start():
                    start = found.start() + 1  # the window's end made it match: go on
                    continue
                yield whole
                position = start = whole.end()

    def search_narrowed(
        self, string: str, lowered: str, grams: set[str] | None = None
    ) -> re.Match[str] | None:
        """``search(string)``'s match (its span; the groups are the narrowed pattern's),
        searched with only the ``alternatives`` whose anchors ``lowered`` (``string`` in
        lower case) holds; ``grams`` is ``text_grams(lowered)``, when the caller has it."""
        if not self.alternatives:
            return self.compiled.search(string)
        compiled = self.narrowed(lowered, grams)
        return compiled.search(string) if compiled is not None else None

    def narrowed(self, lowered: str, grams: set[str] | None = None) -> re.Pattern[str] | None:
        """The alternation of the ``alternatives`` whose anchors ``lowered`` holds, and of
        those without anchors (the whole pattern when that is all of them); None when
        there is none, so nothing can match. With ``grams`` (``text_grams(lowered)``) the
        anchors are looked up by their heads among the text's grams (an ``AnchorIndex``
        over the alternatives), not each looked for through the text."""
        if grams is not None:
            index = self._alternatives_index
            if index is None:
                index = self._alternatives_index = AnchorIndex.of_anchors(
                    [anchors for _, anchors in self.alternatives]
                )
            kept = tuple(sorted(index.candidates(lowered, grams)))
        else:  # a text too long for grams: each anchor looked for through it (the index
            # would make every piece's grams again, once for each pattern)
            kept = tuple(
                index
                for index, (_, anchors) in enumerate(self.alternatives)
                if not anchors or any(anchor in lowered for anchor in anchors)
            )
        if not kept:
            return None
        if len(kept) == len(self.alternatives):
            return self.compiled
        found = self._narrowed.get(kept)
        if found is None:
            if len(self._narrowed) >= _NARROWED_KEPT:
                self._narrowed.clear()  # a long run's odd mixes: start again, not grow
            source = "|".join(self.alternatives[index][0] for index in kept)
            found = self._narrowed[kept] = re.compile(source, self.flags)
        return found

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        """``re.Pattern.sub``."""
        return self.compiled.sub(repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> list[str | Any]:
        """``re.Pattern.split``."""
        return self.compiled.split(string, maxsplit)

    def __reduce__(
        self,
    ) -> tuple[type[LazyPattern], tuple[str, int, None, tuple[str, ...], int | None, Alternatives]]:
        # The source, flags, anchors, reach and alternatives: compiling is what a cache hit
        # must not pay for.
        return (
            LazyPattern,
            (self.pattern, self.flags, None, self.anchors, self.reach, self.alternatives),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LazyPattern):
            return NotImplemented
        return self.pattern == other.pattern and self.flags == other.flags

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}, {re.RegexFlag(self.flags)!r})"


class GuardedPattern(LazyPattern):
    """A ``LazyPattern`` that, once it has been used a few times, works out its own anchors
    and then answers "no match" for a short string (a line) that holds none of them.

    For the finder's patterns, each tried on every line of a paste: a mail log's lines each
    hold a code ("status=sent (250 2.0.0 Ok)") and went through every way a reply can
    start, tens of regular expressions a line, where most need a word the line lacks
    ("retcode", "got code", "failed:"). The anchors are those of ``literal_anchors`` (one of
    them is in every match). Working them out parses the pattern, which a one-line paste
    would pay at start-up for every pattern it meets: so only a pattern used
    ``_GUARD_AFTER`` times, in a long paste, does it. A string longer than
    ``_GUARDED_UP_TO`` is searched as it is.
    """

    __slots__ = ("_uses",)

    def __init__(
        self,
        pattern: str,
        flags: int = 0,
        compiled: re.Pattern[str] | None = None,
        anchors: tuple[str, ...] = (),
        reach: int | None = None,
        alternatives: Alternatives = (),
    ) -> None:
        super().__init__(pattern, flags, compiled, anchors, reach, alternatives)
        self._uses = 0  # -1 once the anchors are worked out

    def find_anchors(self) -> tuple[str, ...]:
        """Work out the anchors now (if not done yet), and return them."""
        if self._uses >= 0:
            self.anchors = literal_anchors(_parse(self.pattern, self.flags | re.IGNORECASE))
            self._heads = None  # made again from these anchors when first needed
            self._uses = -1
        return self.anchors

    def _absent(self, string: str) -> bool:
        if self._uses >= 0:
            self._uses += 1
            if self._uses < _GUARD_AFTER:
                return False
            self.find_anchors()
        if not self.anchors or len(string) > _GUARDED_UP_TO:
            return False
        lowered = string.lower()
        return not any(anchor in lowered for anchor in self.anchors)

    def search(self, string: str, pos: int = 0, endpos: int = _END) -> re.Match[str] | None:
        """``re.Pattern.search``."""
        return None if self._absent(string) else self.compiled.search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = _END) -> re.Match[str] | None:
        """``re.Pattern.match``."""
        return None if self._absent(string) else self.compiled.match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = _END) -> re.Match[str] | None:
        """``re.Pattern.fullmatch``."""
        return None if self._absent(string) else self.compiled.fullmatch(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = _END) -> Iterator[re.Match[str]]:
        """``re.Pattern.finditer``."""
        return iter(()) if self._absent(string) else self.compiled.finditer(string, pos, endpos)

    def __reduce__(
        self,
    ) -> tuple[type[LazyPattern], tuple[str, int, None, tuple[str, ...], int | None, Alternatives]]:
        return (GuardedPattern, (self.pattern, self.flags, None, (), self.reach, ()))


class AnchorIndex:
    """Which of many patterns may match a text, worked out for all of them at once.

    ``may_match`` asked of each of a hundred signatures costs a hundred calls a paste; the
    index looks each anchor up by its first ``_GRAM`` characters among the text's own
    grams, once, and checks only the anchors whose heads the text holds. The answer is the
    set of those of whose ``may_match`` is true.
    """

    __slots__ = ("_always", "_by_head", "_count", "_heads", "_longest", "_piece", "_short")

    def __init__(self, patterns: Sequence[LazyPattern | None], piece: int = _GRAMS_UP_TO) -> None:
        """``piece``: how much of a text without grams (a long one) is looked through at
        once."""
        # None: no pattern, always a candidate (as a pattern without anchors).
        self._index([p.anchors if p is not None else () for p in patterns], piece)

    @classmethod
    def of_anchors(
        cls, anchor_sets: Sequence[tuple[str, ...]], piece: int = _GRAMS_UP_TO
    ) -> AnchorIndex:
        """The index of things known by their anchors alone (a pattern's alternatives);
        () is always a candidate."""
        index = cls.__new__(cls)
        index._index(anchor_sets, piece)
        return index

    def _index(self, anchor_sets: Sequence[tuple[str, ...]], piece: int) -> None:
        self._count = len(anchor_sets)
        self._piece = piece
        self._always = frozenset(i for i, anchors in enumerate(anchor_sets) if not anchors)
        by_head: dict[str, list[tuple[int, str, tuple[str, ...]]]] = {}
        short: list[tuple[int, str]] = []  # anchors too short to have a head
        for index, anchors in enumerate(anchor_sets):
            for anchor in anchors:
                if len(anchor) < _GRAM:
                    short.append((index, anchor))
                else:
                    # Its other grams too: a text that lacks one cannot hold the anchor, and a
                    # set lookup costs less than looking for the anchor through the text.
                    rest = tuple(sorted(_grams(anchor) - {anchor[:_GRAM]}))
                    by_head.setdefault(anchor[:_GRAM], []).append((index, anchor, rest))
        self._by_head = {head: tuple(found) for head, found in by_head.items()}
        self._longest = max((len(a) for anchors in anchor_sets for a in anchors), default=1)
        self._heads = frozenset(by_head)
        self._short = tuple(short)

    def candidates(
        self, lowered: str, grams: set[str] | None, seen: set[str] | None = None
    ) -> set[int]:
        """The positions of the patterns whose anchors ``lowered`` holds (or that have
        none); ``grams`` is ``text_grams(lowered)``. For a text too long for grams,
        ``seen`` (when given) gets every gram of it, made here piece by piece anyway, so
        that the caller can narrow other patterns by them without making them again."""
        found = set(self._always)
        if grams is not None:
            self._add_present(lowered, grams, found)
            return found
        # A long text (a mailbox pasted whole): a thousand anchors each looked for through
        # megabytes cost seconds. Piece by piece instead, each piece with its own grams and
        # long enough past its end for an anchor that starts in it; a pattern already found
        # is not looked for again.
        overlap = max(self._longest, _GRAM) - 1  # a gram across a piece's end is whole
        size = self._piece
        for start in range(0, len(lowered), size):
            piece = lowered[start : start + size + overlap]
            # Every gram of the piece, what it shares with the next included: an anchor is
            # looked for only where all its grams are.
            piece_grams = _grams(piece)
            self._add_present(piece, piece_grams, found)
            if seen is not None:
                seen |= piece_grams
            elif len(found) == self._count:
                break
        return found

    def _add_present(self, lowered: str, grams: set[str], found: set[int]) -> None:
        by_head = self._by_head
        for head in grams.intersection(self._heads):
            for index, anchor, rest in by_head[head]:
                if index not in found and all(gram in grams for gram in rest) and anchor in lowered:
                    found.add(index)
        for index, anchor in self._short:
            if index not in found and anchor in lowered:
                found.add(index)


_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


class IdentityCache(Generic[_Key, _Value]):
    """``make(key)`` worked out once for each object in use, looked up by identity: for
    values made from a rule book or a signature list (an ``AnchorIndex``), which a process
    holds one or two of and asks about on every paste. The object is kept with its value,
    so that its id stays its own; past ``size`` objects (tests that make their own) the
    cache starts again rather than grow."""

    __slots__ = ("_known", "_make", "_size")

    def __init__(self, make: Callable[[_Key], _Value], size: int = 16) -> None:
        self._make = make
        self._size = size
        self._known: dict[int, tuple[_Key, _Value]] = {}

    def __call__(self, key: _Key) -> _Value:
        known = self._known.get(id(key))
        if known is not None and known[0] is key:
            return known[1]
        if len(self._known) >= self._size:
            self._known.clear()
        value = self._make(key)
        self._known[id(key)] = (key, value)
        return value


def text_grams(lowered: str) -> set[str] | None:
    """Every run of ``_GRAM`` characters in ``lowered``, for ``LazyPattern.may_match`` over
    many patterns; None for a text so long that making them costs more than they save."""
    global _last_grams
    if len(lowered) > _GRAMS_UP_TO:
        return None
    # The same text is often asked for twice in a row (a reply's rules, then the signatures
    # or another book): the last text's grams are kept. Callers only read them.
    last = _last_grams
    if last is not None and last[0] == lowered:
        return last[1]
    grams = _grams(lowered)
    _last_grams = (lowered, grams)
    return grams


def _grams(text: str) -> set[str]:
    """Every run of ``_GRAM`` characters in ``text``: the characters zipped with themselves
    shifted, joined (twice as fast as slicing at each position, which long pastes felt)."""
    # strict=False: the shifted copies are shorter by design; zip stops at the shortest.
    return set(map("".join, zip(*(text[shift:] for shift in range(_GRAM)), strict=False)))


_last_grams: tuple[str, set[str]] | None = None


def _heads_of(anchors: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The anchors by their first ``_GRAM`` characters; empty when one is shorter."""
    heads: dict[str, tuple[str, ...]] = {}
    for anchor in anchors:
        if len(anchor) < _GRAM:
            return {}
        heads[anchor[:_GRAM]] = (*heads.get(anchor[:_GRAM], ()), anchor)
    return heads


def _parse(pattern: str, flags: int) -> Any:
    import re._parser as parser  # type: ignore[import-not-found]  # on first use only

    return parser.parse(pattern, flags)


def _stretches(lowered: str, anchors: tuple[str, ...], reach: int) -> list[tuple[int, int]]:
    """Where a match can start: up to ``reach`` characters before each anchor's occurrence
    (and no later than it), as sorted, merged (first, last) intervals."""
    spans: list[tuple[int, int]] = []
    for anchor in anchors:
        at = lowered.find(anchor)
        while at >= 0:
            spans.append((max(0, at + len(anchor) - reach), at))
            at = lowered.find(anchor, at + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def top_alternatives(source: str) -> list[str]:
    """The top-level alternatives of a pattern's source ("a|(b|c)|d" -> a, (b|c), d)."""
    parts: list[str] = []
    depth, start, index = 0, 0, 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":  # a class: up to its "]" (a "]" first in it is a member)
            index += 1
            if source[index : index + 1] == "^":
                index += 1
            if source[index : index + 1] == "]":
                index += 1
            while index < len(source) and source[index] != "]":
                index += 2 if source[index] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:index])
            start = index + 1
        index += 1
    parts.append(source[start:])
    return parts


_GLOBAL_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")


def alternative_anchors(source: str, flags: int, parsed: Any = None) -> Alternatives:
    """Each top-level alternative of a pattern with its own ``literal_anchors``, for
    ``LazyPattern.narrowed`` (an alternative without anchors has (): it is always kept);
    () where the pattern has too few alternatives with anchors or cannot be narrowed
    safely: a verbose pattern (its comments may hold "|"), an alternative that does not
    compile alone, a named group or a back reference (renumbered or broken in an
    alternation of some alternatives only). ``parsed``: the source's parse with ``flags``
    and ``re.IGNORECASE``, where the caller has it already."""
    prefix = ""
    rest = source
    while (leading := _GLOBAL_FLAGS.match(rest)) is not None:
        prefix += leading.group(1)
        rest = rest[leading.end() :]
    if flags & re.VERBOSE or "x" in prefix or "(?P" in rest:
        return ()
    parts = top_alternatives(rest)
    if len(parts) <= _NARROW_ABOVE:
        return ()
    # The whole pattern compiles, so each of its top-level branches does alone, given its
    # flags and no group it refers back to (checked below): one compile, not one per branch,
    # which made building the compiled cache take seconds (the signatures' catalogs hold
    # thousands of alternatives).
    try:
        re.compile(source, flags)
    except (re.error, RecursionError, OverflowError):
        return ()
    try:
        whole = _parse(source, flags | re.IGNORECASE) if parsed is None else parsed
    except (re.error, RecursionError, OverflowError):
        return ()
    if _refers_back(_items(whole)):
        return ()
    # The whole pattern's parse holds each branch as parsing it alone would give it, unless
    # re's parser took a prefix common to all of them out of the alternation: then each is
    # parsed alone (thousands of branches parsed twice made up most of the build's time).
    branches = _branches(whole, len(parts))
    found: list[tuple[str, tuple[str, ...]]] = []
    for index, part in enumerate(parts):
        own = f"(?{prefix}:{part})" if prefix else part
        if branches:
            branch = branches[index]
        else:
            try:
                branch = _parse(own, flags | re.IGNORECASE)
            except (re.error, RecursionError, OverflowError):
                return ()
        found.append((own, literal_anchors(branch)))
    if sum(1 for _, anchors in found if anchors) <= _NARROW_ABOVE:
        return ()
    return tuple(found)


def _items(node: Any) -> list[Any]:
    """The items of a parsed (sub)pattern: its list itself, not a copy made item by item
    through ``SubPattern.__getitem__`` (millions of calls when the cache is built)."""
    data = getattr(node, "data", None)
    return data if isinstance(data, list) else list(node)


def _branches(parsed: Any, count: int) -> list[Any]:
    """The ``count`` branches of a parsed top-level alternation, in order; [] when the
    parse is not one alternation of that many branches."""
    items = _items(parsed)
    if len(items) == 1 and items[0][0] is _sre.BRANCH and len(items[0][1][1]) == count:
        return list(items[0][1][1])
    return []


def _refers_back(items: list[Any]) -> bool:
    for op, av in items:
        if op in (_sre.GROUPREF, _sre.GROUPREF_EXISTS, _sre.GROUPREF_IGNORE):
            return True
        nested: list[Any] = []
        if op is _sre.SUBPATTERN:
            nested = [av[-1]]
        elif op is _sre.BRANCH:
            nested = list(av[1])
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            nested = [av[2]]
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            nested = [av[1]]
        elif op is _sre.ATOMIC_GROUP:
            nested = [av]
        if any(_refers_back(_items(sub)) for sub in nested):
            return True
    return False


def match_reach(parsed: Any) -> int | None:
    """The most characters a match of a parsed pattern spans, with what its lookarounds read
    past its end; None when that is unbounded.

    A lookaround at a place inside the match reads at most its own width past the match's
    end, so the widest match plus every lookaround's width (their sum: more than enough)
    bounds what a search must see.
    """
    width = parsed.getwidth()[1] + _lookaround_widths(_items(parsed))
    return width if width <= _MAX_REACH else None


def _lookaround_widths(items: list[Any]) -> int:
    """The widths of the lookarounds in ``items`` (and in those nested in them), added up."""
    total = 0
    for op, av in items:
        if op in (_sre.ASSERT, _sre.ASSERT_NOT):
            total += av[1].getwidth()[1] + _lookaround_widths(_items(av[1]))
        elif op is _sre.SUBPATTERN:
            total += _lookaround_widths(_items(av[-1]))
        elif op is _sre.ATOMIC_GROUP:
            total += _lookaround_widths(_items(av))
        elif op is _sre.BRANCH:
            total += sum(_lookaround_widths(_items(branch)) for branch in av[1])
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            total += _lookaround_widths(_items(av[2]))
        elif op is _sre.GROUPREF_EXISTS:
            total += sum(_lookaround_widths(_items(b)) for b in av[1:] if b is not None)
        if total > _MAX_REACH:
            break
    return total


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
    for alternative in _top_alternatives(_items(parsed)):
        needed = _needed(alternative)
        if not needed:
            return ()
        anchors.extend(needed)
    return tuple(dict.fromkeys(anchors))


def _top_alternatives(items: list[Any]) -> list[list[Any]]:
    if len(items) == 1 and items[0][0] is _sre.BRANCH:
        return [_items(branch) for branch in items[0][1][1]]
    if len(items) == 1 and items[0][0] is _sre.SUBPATTERN:
        return _top_alternatives(_items(items[0][1][-1]))
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
            inner = _items(av[-1])
            if len(inner) != 1 or inner[0][0] is not _sre.BRANCH:
                continue
            branches = inner[0][1][1]
        else:
            continue
        union: list[str] = []
        for branch in branches:
            found = _needed(_items(branch), depth + 1)
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
        if op is _sre.LITERAL:
            char = chr(av)
            lowered = char.lower()
            if lowered == char.upper().lower():
                current += lowered
                if len(current) > len(best):
                    best = current
                continue
        current = ""
        if op is _sre.SUBPATTERN:
            inner = _items(av[-1])
            if not any(sub[0] is _sre.BRANCH for sub in inner):
                best = max(best, _longest_literal(inner), key=len)
    return best
