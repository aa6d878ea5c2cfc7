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

from smtpprobe.core.lazyre import LazyPattern, literal_anchors
from smtpprobe.core.rules import MAX_MATCH_TEXT, Situation, parse_rule
from smtpprobe.loading import load_rulebook

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


def test_a_rule_not_searched_for_want_of_its_anchors_could_not_have_matched() -> None:
    # Every rule's text and not_text, against every rule's examples and every development
    # text: where the compiled pattern matches, the anchors let the search happen.
    rules = load_rulebook()
    texts = [e.situation.text for r in rules for e in r.examples if e.situation.text]
    texts += [
        str(item["text"]) for path in sorted(DEVELOPMENT.glob("*.yaml")) for item in load(path)
    ]
    seen = [(text[:MAX_MATCH_TEXT], text[:MAX_MATCH_TEXT].lower()) for text in texts]
    skipped_matches = [
        (rule.id, text[:60])
        for rule in rules
        for pattern in (rule.text, rule.not_text)
        if pattern is not None and pattern.anchors
        for text, lowered in seen
        if not pattern.may_match(lowered) and pattern.compiled.search(text)
    ]
    assert skipped_matches == []
    assert sum(1 for r in rules if r.text is not None and r.text.anchors) >= 50
