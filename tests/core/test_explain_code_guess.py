"""A reply only a code fallback explained may be named by the learned guess (issue 8).

Where no rule knows a reply's words, ``explain`` answers from its codes alone. When the
learned guess is all but sure of the words around the reply (``FALLBACK_GUESS_MIN``), and
its category is one a reply can carry and fits the enhanced code's subject, the guess
names the category; the retryability stays what the codes say, and the cause says it is
a guess. The gates are tested with a scripted guess; one real reply with the shipped model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from smtpprobe.core.explain import FALLBACK_GUESS_MIN, Explanation, explain_text
from smtpprobe.core.guess import Guess, GuessFunction
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors, explain, guesser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_split import DEVELOPMENT, load

# The reply quoted in an Exchange NDR line of a Sisimai pull request (development corpus,
# round 16; https://github.com/sisimai/p5-sisimai/pull/342): no rule knows these words, so
# the enhanced-code fallback (4.4.7: temporary) answers.
EXPIRED = "550 4.4.7 QUEUE.Expired; message expired"


def _explain(text: str, guess: GuessFunction | None) -> Explanation:
    rules = load_rulebook()
    return explain_text(text, lambda _: rules, client_errors(), guess=guess)[0]


def _scripted(category: str, probability: float) -> GuessFunction:
    said: list[str] = []

    def guess(text: str, failures_only: bool = False) -> Guess | None:
        assert failures_only, "weighed among the failures only: a reply is one"
        said.append(text)
        return Guess(category, probability, ("expired", "queue"))

    return guess


def test_without_a_guess_the_code_answers() -> None:
    explained = _explain(EXPIRED, None)
    assert explained.verdict.fallback == "enhanced"
    assert explained.verdict.category == "temporary-failure"


def test_a_sure_guess_names_the_category_and_keeps_the_codes_retryability() -> None:
    explained = _explain(EXPIRED, _scripted("rate-limited", 0.995))
    verdict = explained.verdict
    assert (verdict.category, verdict.fallback) == ("rate-limited", "guess")
    assert verdict.retryable is True  # 4.4.7, as the fallback had it
    assert explained.found.reply is not None and explained.found.reply.code == 550
    assert "550" in verdict.cause.en and "'expired', 'queue'" in verdict.cause.en
    assert "guess" in verdict.cause.en and "99 %" in verdict.cause.en
    assert "550" in verdict.cause.ja and "「expired」、「queue」" in verdict.cause.ja
    assert "推測" in verdict.cause.ja
    assert verdict.remedy.en and verdict.remedy.ja


@pytest.mark.parametrize(
    ("category", "probability", "why"),
    [
        ("rate-limited", FALLBACK_GUESS_MIN - 0.01, "not sure enough"),
        ("connect-timeout", 0.999, "a client-side failure carries no reply"),
        ("dns-failure", 0.999, "a client-side failure carries no reply"),
        ("recipient-unknown", 0.999, "5.1.x is an address's subject, not 4.4.x's"),
        ("temporary-failure", 0.999, "the code already says it"),
    ],
)
def test_the_code_stands_where_the_guess_may_not_decide(
    category: str, probability: float, why: str
) -> None:
    unguessed = _explain(EXPIRED, None)
    explained = _explain(EXPIRED, _scripted(category, probability))
    assert explained == unguessed, why


# Rocket.Chat's refusal of a notification's sender with no local part, beside a stack trace
# (development corpus, https://github.com/RocketChat/Rocket.Chat/issues/10672): 5.1.8 is the
# sender's address, RFC 3463's subject 1.
BAD_SENDER = "Error: Mail command failed: 501 5.1.8 Error bad address (missing local part)"


@pytest.mark.parametrize(
    "category",
    [
        "wrong-security-mode",
        "starttls-unavailable",
        "auth-unavailable",
        "auth-mechanism-unsupported",
    ],
)
def test_words_of_the_connection_never_decide_a_reply_about_an_address(category: str) -> None:
    unguessed = _explain(BAD_SENDER, None)
    assert unguessed.verdict.category == "sender-rejected"
    assert _explain(BAD_SENDER, _scripted(category, 0.999)) == unguessed
    # The same words may still decide a reply whose code is about security (subject 7).
    policy = "550 5.7.0 Refused"
    assert _explain(policy, _scripted(category, 0.999)).verdict.category == category


def test_a_reply_a_rule_knows_is_never_guessed_at() -> None:
    # OCN's E041 as the user's seed shows it (shared/seeds, tests/core/test_bounce.py): a
    # rule reads it, so no guess is asked for.
    asked: list[str] = []

    def guess(text: str, failures_only: bool = False) -> Guess | None:
        asked.append(text)
        return Guess("content-rejected", 1.0, ("a", "b"))

    text = "553 5.7.1 : クライアントホストが拒否されました: リレーアクセスが拒否されました(E041)"
    explained = _explain(text, guess)
    assert explained.verdict.fallback is None
    assert explained.verdict.category == "relay-denied"
    assert asked == []


def test_a_real_reply_no_rule_knows_with_the_shipped_model() -> None:
    # A list server's refusal of a sender whose From differs from the envelope's
    # (development corpus, round 233, labeled sender-rejected): the code alone read 550 as
    # a block of the sending IP.
    item = next(
        i
        for i in load(DEVELOPMENT / "round233_aaq_2024c.yaml")
        if "Edward needs reply-to or from" in str(i["text"])
    )
    assert item["category"] == "sender-rejected"
    text = str(item["text"])
    assert _explain(text, None).verdict.category == "blocklisted"
    verdict = _explain(text, guesser().guess).verdict
    assert (verdict.category, verdict.retryable, verdict.fallback) == (
        "sender-rejected",
        False,
        "guess",
    )
    # And through the API `smtpprobe explain` uses, in both languages' texts.
    answer = explain(text).explanations[0].verdict
    assert answer.category == "sender-rejected" and answer.cause.ja
