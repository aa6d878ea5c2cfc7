"""LazyPattern: compiled on first use, the same answers as re, pickled as its source.

Rules and client-error signatures hold their patterns this way so that a start from
the compiled cache compiles only the patterns a reply or paste reaches (issue 9).
"""

from __future__ import annotations

import pickle
import re
import re._parser
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpprobe.core.client_errors import fold
from smtpprobe.core.lazyre import (
    _GRAMS_UP_TO,
    AnchorIndex,
    GuardedPattern,
    LazyPattern,
    _stretches,
    alternative_anchors,
    literal_anchors,
    match_reach,
    text_grams,
)
from smtpprobe.core.rules import MAX_MATCH_TEXT, Situation, parse_rule
from smtpprobe.core.written_forms import plain_form
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_split import DEVELOPMENT, load

TEXT = "550 5.7.1 Relay access denied; 550 5.7.1 relay ACCESS denied again"


def test_it_compiles_on_first_use_only() -> None:
    lazy = LazyPattern(r"relay (access )?denied", re.IGNORECASE)
    assert not lazy.is_compiled
    assert lazy.pattern == r"relay (access )?denied" and lazy.flags == re.IGNORECASE
    first = lazy.compiled
    assert lazy.is_compiled and lazy.compiled is first


@pytest.mark.parametrize("source", [r"relay (access )?denied", r"(\d)\.(\d)\.(\d)", r"^550"])
def test_every_method_answers_as_re_does(source: str) -> None:
    lazy, real = LazyPattern(source, re.IGNORECASE), re.compile(source, re.IGNORECASE)

    def spans(found: re.Match[str] | None) -> tuple[int, int] | None:
        return found.span() if found else None

    assert spans(lazy.search(TEXT)) == spans(real.search(TEXT))
    assert spans(lazy.search(TEXT, 5, 40)) == spans(real.search(TEXT, 5, 40))
    assert spans(lazy.match(TEXT)) == spans(real.match(TEXT))
    assert spans(lazy.fullmatch("550")) == spans(real.fullmatch("550"))
    assert [m.span() for m in lazy.finditer(TEXT)] == [m.span() for m in real.finditer(TEXT)]
    assert lazy.findall(TEXT) == real.findall(TEXT)
    assert lazy.sub("-", TEXT) == real.sub("-", TEXT)
    assert lazy.split(TEXT, 1) == real.split(TEXT, 1)


def test_it_pickles_as_its_source_without_compiling() -> None:
    lazy = LazyPattern(r"user unknown", re.IGNORECASE)
    lazy.search("550 user unknown")  # compiled here; the pickle must not carry it
    data = pickle.dumps(lazy, protocol=pickle.HIGHEST_PROTOCOL)
    assert b"_compile" not in data  # what a pickled re.Pattern calls when loaded
    loaded = pickle.loads(data)
    assert isinstance(loaded, LazyPattern) and not loaded.is_compiled
    assert loaded == lazy and hash(loaded) == hash(lazy)
    assert loaded.search("550 USER UNKNOWN")


def test_equality_is_by_source_and_flags() -> None:
    assert LazyPattern("a") == LazyPattern("a", 0, re.compile("a"))
    assert LazyPattern("a") != LazyPattern("a", re.IGNORECASE)
    assert LazyPattern("a") != LazyPattern("b")
    assert LazyPattern("a") != re.compile("a")


def test_a_compiled_pattern_of_another_source_is_refused() -> None:
    with pytest.raises(ValueError):
        LazyPattern("a", 0, re.compile("b"))


def _rule() -> dict[str, object]:
    return {
        "id": "t",
        "category": "relay-denied",
        "retryable": False,
        "match": {"codes": [554], "text": "relay (access )?denied"},
        "cause": {"en": "c", "ja": "c"},
        "remedy": {"en": "r", "ja": "r"},
        "examples": ["554 5.7.1 Relay access denied"],
    }


def test_a_parsed_rule_was_compiled_to_check_it_and_a_cached_one_is_not() -> None:
    rule = parse_rule(_rule(), "test.yaml", 0)
    assert rule.text is not None and rule.text.is_compiled  # validation compiled it
    cached = pickle.loads(pickle.dumps(rule))
    assert cached == rule and cached.text is not None and not cached.text.is_compiled
    # A reply whose code the rule does not take never reaches the pattern.
    assert not cached.matches(Situation(code=550, text="relay access denied"))
    assert not cached.text.is_compiled
    found = cached.matches(Situation(code=554, text="Relay access denied"))
    assert isinstance(found, re.Match) and found.group() == "Relay access denied"


# --- anchors: the literals a match cannot do without --------------------------------------


@pytest.mark.parametrize(
    ("source", "anchors"),
    [
        (r"relay (access )?denied", ("relay ",)),
        (r"user unknown|no such user", ("user unknown", "no such user")),
        (r"(mailbox|folder) (is )?full", ("mailbox", "folder")),  # one of a group, longer
        (r"(?<!\d)\d{1,9} (e-?mails|messages|rcpts) per", ("mails", "messages", "rcpts")),
        (r"x (is )?full", ("full",)),  # an optional group is not needed: the run is
        (r"\d{3} ok|quota", (" ok", "quota")),
        (r"(no|bad) user|x{2}", ()),  # an alternative without a literal: always searched
        (r"ok|quota", ()),  # "ok" is too short to skip anything
        (r"SENDER (address )?Rejected", ("rejected",)),  # ignore-case: kept in lower case
        # alternatives re's parser took a common prefix from ("\b" of each): still anchored
        (
            r"\bunexpected packet|\brecord layer failure",
            ("unexpected packet", "record layer failure"),
        ),
        (
            r"<[^<>]{1,9}>: (?:recipient rejected|empfänger abgelehnt)",
            ("recipient rejected", "empfänger abgelehnt"),
        ),
        # the prefix re's parser factored out ("re" of revoked|rejected) joins the run, which is
        # kept over the group's fragments ("voked", "jected")
        (r"cert (?:revoked|rejected)", ("cert re",)),
    ],
)
def test_literal_anchors(source: str, anchors: tuple[str, ...]) -> None:
    assert literal_anchors(re._parser.parse(source, re.IGNORECASE)) == anchors  # type: ignore[attr-defined]


def test_anchors_are_pickled_and_skip_only_texts_that_cannot_match() -> None:
    lazy = LazyPattern(
        r"user unknown|no such user", re.IGNORECASE, None, ("user unknown", "no such user")
    )
    loaded = pickle.loads(pickle.dumps(lazy))
    assert loaded.anchors == lazy.anchors
    assert not loaded.may_match("550 relay access denied") and not loaded.is_compiled
    assert loaded.may_match("550 5.1.1 no such user here")


# A small alphabet, so that anchors are often in the text, at its ends, overlapping.
_LETTERS = st.text(alphabet="abé ", max_size=40)


@given(st.lists(st.text(alphabet="abé ", min_size=1, max_size=5), min_size=1, max_size=6), _LETTERS)
def test_may_match_over_the_texts_grams_answers_as_a_look_for_each_anchor(
    anchors: list[str], text: str
) -> None:
    pattern = LazyPattern("x", 0, None, tuple(anchors))
    want = any(anchor in text for anchor in anchors)
    assert pattern.may_match(text) is want
    assert pattern.may_match(text, text_grams(text)) is want


@given(
    st.lists(
        st.lists(st.text(alphabet="abé \n", min_size=1, max_size=6), max_size=4),
        min_size=1,
        max_size=6,
    ),
    st.lists(_LETTERS, max_size=6),
)
def test_an_anchor_index_answers_as_each_pattern_does(
    anchor_lists: list[list[str]], words: list[str]
) -> None:
    # Through the text's grams; and, as a long text is, piece by piece (pieces of 8 here),
    # the words placed across the pieces' ends.
    patterns = [LazyPattern("x", 0, None, tuple(a)) if a else None for a in anchor_lists]
    index = AnchorIndex(patterns, piece=8)
    joined = " ".join(words)
    for text in [joined] + ["x" * k + joined for k in range(1, 9)]:
        want = {i for i, p in enumerate(patterns) if p is None or p.may_match(text)}
        assert index.candidates(text, text_grams(text)) == want
        assert index.candidates(text, None) == want
        # Asked for them, the pieces' grams add up to the whole text's, for narrowing others.
        seen: set[str] = set()
        assert index.candidates(text, None, seen) == want
        assert seen == {text[i : i + 3] for i in range(len(text) - 2)}


@given(st.text(alphabet="abé \n", max_size=40))
def test_the_grams_are_every_run_of_gram_characters(text: str) -> None:
    # Made by zipping the text with itself shifted: the same set as a slice at each position.
    assert text_grams(text) == {text[i : i + 3] for i in range(len(text) - 2)}


def test_a_text_too_long_for_grams_is_looked_through_anchor_by_anchor() -> None:
    assert text_grams("x" * (_GRAMS_UP_TO + 1)) is None
    assert text_grams("abcd") == {"abc", "bcd"} and text_grams("ab") == set()


def test_the_last_texts_grams_are_kept_and_only_for_that_text() -> None:
    first = text_grams("relay access denied")
    assert text_grams("relay access denied") is first
    assert text_grams("relay access denies") == text_grams("relay access denies") != first
    assert text_grams("relay access denied") == first


def _development_sample() -> list[str]:
    # Every second development text, from every file: the whole-pattern searches these
    # soundness tests compare with are most of their time (about 6 s for every text), and a
    # wrong anchor shows on many texts of its kind, not on one (the corpus test and the
    # anchor index's own property test see every text through the narrowed patterns).
    texts = [  # as scan() reads them: without their diacritics
        plain_form(str(item["text"]))
        for path in sorted(DEVELOPMENT.glob("*.yaml"))
        for item in load(path)
    ]
    return texts[::2]


def test_a_rule_not_searched_for_want_of_its_anchors_could_not_have_matched() -> None:
    # Every rule's text and not_text, against every rule's examples and every development
    # text: where the compiled pattern matches, the anchors let the search happen.
    rules = load_rulebook()
    texts = [e.situation.text for r in rules for e in r.examples if e.situation.text]
    texts += _development_sample()
    # As first_match asks: the text as matched, in lower case, with its grams.
    seen = [(text[:MAX_MATCH_TEXT], text[:MAX_MATCH_TEXT].lower()) for text in texts]
    seen_grams = [(text, lowered, text_grams(lowered)) for text, lowered in seen]
    # Asked through the index, as first_match asks (the index answers as may_match does: its
    # own property test).
    patterns = [
        (rule.id, pattern)
        for rule in rules
        for pattern in (rule.text, rule.not_text)
        if pattern is not None and pattern.anchors
    ]
    index = AnchorIndex([pattern for _, pattern in patterns])
    skipped_matches = [
        (patterns[position][0], text[:60])
        for text, lowered, grams in seen_grams
        for position in set(range(len(patterns))) - index.candidates(lowered, grams)
        if patterns[position][1].compiled.search(text)
    ]
    assert skipped_matches == []
    assert sum(1 for r in rules if r.text is not None and r.text.anchors) >= 50


# --- finditer_near: the matches of finditer, searched for only near the anchors --------------


def _parsed(source: str) -> re._parser.SubPattern:  # type: ignore[name-defined]
    return re._parser.parse(source, re.IGNORECASE)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "reach"),
    [
        (r"connection refused", 18),
        (r"errno 1006[01]", 11),
        (r"host.{0,40}not found", 53),
        (r"refused(?=.{0,8}port)", 7 + 12),  # what the lookahead reads past the match
        (r"(?<!\w)10061(?!\d)", 5 + 1 + 1),  # lookarounds counted whole (enough, if more)
        (r"(?:(?=.{0,4}x)ab){0,3}", 6 + 5),
        (r"refused.*port", None),  # unbounded
        (r"refused(?=.*port)", None),  # bounded match, unbounded lookahead
        (r"a{0,5000}", None),  # over the longest reach windows are worth
    ],
)
def test_match_reach(source: str, reach: int | None) -> None:
    assert match_reach(_parsed(source)) == reach


def test_only_the_stretches_before_each_anchor_are_searched() -> None:
    text = "x" * 50_000 + "ECONNREFUSED" + "y" * 50_000 + "econnrefused" + "z" * 10
    lowered = text.lower()
    assert _stretches(lowered, ("econnrefused",), 40) == [
        (50_000 + 12 - 40, 50_000),
        (100_012 + 12 - 40, 100_012),
    ]
    # Overlapping or touching stretches merge.
    assert _stretches("ab ab", ("ab",), 4) == [(0, 3)]


def _both(pattern: LazyPattern, text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    whole = [m.span() for m in pattern.compiled.finditer(text)]
    near = [m.span() for m in pattern.finditer_near(text, text.lower())]
    return whole, near


@pytest.mark.parametrize(
    "source",
    [
        r"connection refused",
        r"(?<![\w.])10061(?!\d)",  # a lookbehind that looks before the searched stretch
        r"refused(?=.{0,8}port)",  # a lookahead past the match
        r"refused\s{0,3}$",  # "$" where the stretch's end is not the text's
        r"(?m)^\s{0,4}refused\b",
        r"refused(?:,? port \d{1,5})?",  # greedy: the whole text decides how far it reaches
    ],
)
def test_finditer_near_finds_what_finditer_finds(source: str) -> None:
    parsed = _parsed(source)
    pattern = LazyPattern(source, re.IGNORECASE, None, literal_anchors(parsed), match_reach(parsed))
    assert pattern.anchors and pattern.reach is not None
    filler = "lorem ipsum 10061x refusedx " * 1_500  # anchors everywhere, most not matching
    found = 0
    for text in (
        filler + "Connection refused, port 587 refused\n" + filler,
        "refused" + filler + "\n  refused  \n" + filler + " refused",
        filler + ".10061 port refused port" + filler[:-1] + "refused",
    ):
        whole, near = _both(pattern, text)
        assert near == whole
        found += len(whole)
    assert found


def test_a_text_whose_lower_case_is_longer_is_searched_whole() -> None:
    # "İ".lower() is two characters: the lower-cased text's places are not the text's.
    parsed = _parsed("refused")
    pattern = LazyPattern(
        "refused", re.IGNORECASE, None, literal_anchors(parsed), match_reach(parsed)
    )
    text = "İ" * 20_000 + "refused" + "x" * 10
    assert len(text.lower()) != len(text)
    assert _both(pattern, text) == ([(20_000, 20_007)], [(20_000, 20_007)])


def test_every_client_error_signature_finds_near_its_anchors_what_it_finds_anywhere() -> None:
    # The development corpus's texts that hold a signature's anchors as one long paste, and
    # each signature's examples inside 18 KB of text made of its own anchors (so that its
    # stretches are many and close together).
    signatures = client_errors().signatures
    assert sum(1 for s in signatures if s.pattern.reach is not None) >= len(signatures) // 2
    texts = [  # as scan() reads them: without their diacritics
        plain_form(str(item["text"]))
        for path in sorted(DEVELOPMENT.glob("*.yaml"))
        for item in load(path)
    ]
    lowered = [text.lower() for text in texts]
    head = "\n".join(texts)[:20_000]  # past _WINDOWLESS: the windows are what is tested
    for signature in signatures:
        # Each signature over the texts that hold its anchors, one paste (the others, which
        # it cannot match, would only make the whole-text search it is compared with slower).
        # The first 60 (each text alone is compared in the narrowed test below): enough
        # to put windows around anchors of many kinds in a paste past _WINDOWLESS.
        held = [
            text
            for text, low in zip(texts, lowered, strict=True)
            if signature.pattern.may_match(low)
        ][:60]
        if held:
            paste = head + "\n" + "\n".join(held)
            whole, near = _both(signature.pattern, paste)
            assert near == whole, signature.id
    for signature in signatures:
        anchors = " x".join(signature.pattern.anchors) + "\n"
        filler = anchors * (9_000 // len(anchors) + 1)
        for example in signature.examples[:3]:
            # folded as scan() folds a paste: the patterns are (a typographic apostrophe in a
            # translation's example is a plain one in its pattern, an accent none)
            text = filler + plain_form(fold(example.text)) + "\n" + filler
            whole, near = _both(signature.pattern, text)
            assert near == whole and whole, signature.id


# --- narrowed: a family searched as the alternatives whose anchors the text holds ----------

_FIVE = "connection refused|connection reset|timed out|no route to host|network is unreachable"


@pytest.mark.parametrize(
    ("source", "sources"),
    [
        ("refused|reset|timed out", []),  # too few alternatives to be worth it
        (_FIVE, _FIVE.split("|")),
        (  # global flags become each alternative's own
            "(?m)^refused|^reset|^timed out|^no route|^unreachable",
            ["(?m:^refused)", "(?m:^reset)", "(?m:^timed out)", "(?m:^no route)",
             "(?m:^unreachable)"],
        ),
        ("(?x) refused | reset | timed\\ out | no\\ route | unreachable", []),  # comments
        (r"(re)fused\1|reset|timed out|no route|unreachable", []),  # a back reference
        (r"(?P<w>refused)|reset|timed out|no route|unreachable", []),  # a named group
        (r"refused|reset|timed out|no route|\d+", []),  # too few with anchors
        (  # an alternative without an anchor is always kept
            r"refused|reset|timed out|no route|unreachable|\d+",
            ["refused", "reset", "timed out", "no route", "unreachable", r"\d+"],
        ),
        (r"(?:refused|reset)|(timed|out)|[|]xray|no route|unreachable|a\|b", [
            "(?:refused|reset)", "(timed|out)", "[|]xray", "no route", "unreachable", r"a\|b"]),
    ],
)  # fmt: skip
def test_alternative_anchors_split_where_the_pattern_does(source: str, sources: list[str]) -> None:
    found = alternative_anchors(source, re.IGNORECASE)
    assert [own for own, _ in found] == sources
    assert all(bool(anchors) != (own == r"\d+") for own, anchors in found)


@pytest.mark.parametrize(
    "source",
    [
        _FIVE,
        r"\bconnection refused|\bconnection reset|\btimed out|\bno route|\bunreachable",  # a prefix
        "(?s)refused.{0,9}port|reset (?:by|from) peer|timed out|no route|(un)?reachable",
        r"(?:refused|reset)|(timed|out)|[|]xray|no route|unreachable|a\|b|\d+",
    ],
)
def test_alternative_anchors_read_from_the_whole_parse_are_each_branchs_own(source: str) -> None:
    # Each branch is read from the whole pattern's parse (the caller's, or one made here),
    # or parsed alone where re's parser took a prefix common to all out of the alternation:
    # the anchors are those of each branch parsed alone either way.
    alone = tuple(
        (own, literal_anchors(_parsed(own))) for own, _ in alternative_anchors(source, re.I)
    )
    assert alone
    assert alternative_anchors(source, re.I) == alone
    assert alternative_anchors(source, re.I, _parsed(source)) == alone


def test_a_text_is_searched_with_the_alternatives_whose_anchors_it_holds() -> None:
    pattern = LazyPattern(
        _FIVE, re.IGNORECASE, None, literal_anchors(_parsed(_FIVE)), None,
        alternative_anchors(_FIVE, re.IGNORECASE),
    )  # fmt: skip
    assert not pattern.is_compiled
    narrowed = pattern.narrowed("smtp: connection reset by peer")
    assert narrowed is not None and narrowed.pattern == "connection reset"
    assert pattern.is_compiled and pattern.narrowed("connection reset!") is narrowed  # kept
    assert pattern.narrowed("all good") is None
    digits = "refused|reset|timed out|no route|unreachable|\\d+"
    some = LazyPattern(digits, re.I, None, (), None, alternative_anchors(digits, re.I))
    kept = some.narrowed("error 42")
    assert kept is not None and kept.pattern == "\\d+"  # the one without anchors
    every = "connection refused connection reset timed out no route to host network is unreachable"
    assert pattern.narrowed(every) is pattern.compiled
    text = "Connection RESET; timed out\n" * 2
    assert [m.span() for m in pattern.finditer_near(text, text.lower())] == [
        m.span() for m in pattern.compiled.finditer(text)
    ]
    assert pickle.loads(pickle.dumps(pattern)).alternatives == pattern.alternatives


def test_every_narrowed_pattern_finds_in_each_text_what_the_whole_finds() -> None:
    # Each development text and rule example that holds some of a family's (or a rule's long
    # alternation's) anchors, searched with the pattern narrowed to those and whole: the same
    # spans. (A text that holds none is not searched at all: the anchors' own tests.)
    rules = load_rulebook()
    patterns = [(s.id, s.pattern) for s in client_errors().signatures if s.pattern.alternatives] + [
        (r.id, p) for r in rules for p in (r.text, r.not_text) if p is not None and p.alternatives
    ]
    assert len(patterns) >= 60
    texts = [e.situation.text for r in rules for e in r.examples if e.situation.text]
    texts += _development_sample()
    lowered = [text.lower() for text in texts]
    narrowed = 0
    for name, pattern in patterns:
        for text, low in zip(texts, lowered, strict=True):
            if not pattern.may_match(low):
                continue
            kept = pattern.narrowed(low)
            # Through the text's grams (an index over the alternatives), the same alternatives.
            assert pattern.narrowed(low, text_grams(low)) is kept, name
            whole = [m.span() for m in pattern.compiled.finditer(text)]
            if kept is None:
                assert whole == [], name
                continue
            narrowed += kept is not pattern.compiled
            assert [m.span() for m in kept.finditer(text)] == whole, name
            found = pattern.search_narrowed(text, low)
            assert (found.span() if found else None) == (whole[0] if whole else None), name
    assert narrowed > 1_000


def test_reach_is_pickled() -> None:
    lazy = LazyPattern("refused", re.IGNORECASE, None, ("refused",), 7)
    assert pickle.loads(pickle.dumps(lazy)).reach == 7


# --- GuardedPattern: the finder's patterns skip a line that holds none of their anchors -------


def _guarded_patterns() -> list[tuple[str, GuardedPattern]]:
    # The finder's, and those of the modules it reads a paste with (each pattern once).
    import smtpprobe.core.bounce as bounce
    import smtpprobe.core.codeless_starts as codeless_starts
    import smtpprobe.core.line_start as line_start
    import smtpprobe.core.pasted as pasted
    import smtpprobe.core.reply_context as reply_context
    import smtpprobe.core.reply_starts as reply_starts

    found: list[tuple[str, GuardedPattern]] = []
    seen: set[int] = set()

    def walk(name: str, value: object) -> None:
        if isinstance(value, GuardedPattern):
            if id(value) not in seen:
                seen.add(id(value))
                found.append((name, value))
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                walk(f"{name}[{index}]", item)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(f"{name}[{key!r}]", item)

    for module in (bounce, pasted, reply_context, reply_starts, codeless_starts, line_start):
        for name, value in vars(module).items():
            walk(name, value)
    return found


def test_a_guarded_pattern_finds_its_anchors_and_skips_only_lines_that_cannot_match() -> None:
    patterns = _guarded_patterns()
    assert len(patterns) >= 80
    texts = _development_sample()
    lines = {line for text in texts for line in text.splitlines() if line.strip()}
    lines |= {text for text in texts if len(text) <= 4_096}
    anchored = 0
    for name, pattern in patterns:
        compiled = pattern.compiled
        anchored += bool(pattern.find_anchors())
        for line in lines:
            if compiled.search(line) is not None:
                assert pattern.search(line) is not None, (name, pattern.anchors, line[:80])
    assert anchored >= 30  # most of the finder's patterns have a word to look for


def test_a_guarded_pattern_answers_as_re_does() -> None:
    guarded = GuardedPattern(r"retcode\s{0,8}\((?P<code>[2-5][0-5]\d)\)", re.I)
    real = re.compile(guarded.pattern, re.I)
    assert guarded.anchors == ()  # worked out only once the pattern has been used a while
    for _ in range(100):
        guarded.search("a line of a long paste")
    assert guarded.anchors == ("retcode",)
    for text in ("reply: retcode (550); Msg: b'5.1.1'", "RETCODE (421)", "no code here", ""):
        assert [m.span() for m in guarded.finditer(text)] == [m.span() for m in real.finditer(text)]
        for method in ("search", "match", "fullmatch"):
            ours, theirs = getattr(guarded, method)(text), getattr(real, method)(text)
            assert (ours and ours.span()) == (theirs and theirs.span())
    assert guarded.anchors == ("retcode",)
    long = "x" * 5_000 + " retcode (550)"  # past the guard's length: searched as it is
    assert guarded.search(long) is not None
    loaded = pickle.loads(pickle.dumps(guarded))
    assert isinstance(loaded, GuardedPattern) and loaded.search("RETCODE (250)")
