"""Five-fold cross-validation of ``explain`` over the development corpus, split by source.

``python tests/cross_validate.py [FALLBACK_GUESS_MIN ...]`` trains the learned guess
(``smtpprobe/core/guess.py``) on four fifths of the development sources (with the negative
corpus's development part and the data files' examples, as ``train_guess.py`` does, less
any example found inside a held-out text), explains the fifth with it, and prints how many
development texts get their labeled category and retryability, by the path that answered
(a rule or signature, a code fallback, the guess, nothing). Each value given for
``smtpprobe.core.explain.FALLBACK_GUESS_MIN`` gets a line; 1.01 turns the guess over a
code fallback off.

The validation corpus is never read: this is how a setting of the guess is chosen without it.
Development figures favour the code fallbacks (rules were written where a fallback was
wrong, so the texts left to them are those it gets right); read a tie as a gain.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_guess
from corpus_split import DEVELOPMENT, load, source_key

import smtpprobe.core.explain as explain_module
from smtpprobe.core.guess import Guesser, GuessFunction, train
from smtpprobe.core.pasted import decode_pasted
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors

FOLDS = 5


def fold_of(item: dict[str, Any]) -> int:
    """The fold of an item's source (whole sources in one fold)."""
    digest = hashlib.sha1(source_key(str(item["source"])).encode()).hexdigest()
    return int(digest, 16) % FOLDS


def fold_models(development: list[dict[str, Any]]) -> dict[int, Guesser]:
    """One guess per fold, trained on everything but that fold."""
    negative = train_guess.negative_examples()
    examples = train_guess.example_texts()
    models = {}
    for k in range(FOLDS):
        held = [str(i["text"]) for i in development if fold_of(i) == k]
        texts = [
            (str(i["text"]), str(i["category"]))
            for i in development
            if fold_of(i) != k and i["category"] != "ok"
        ]
        kept = [(t, c) for t, c in examples if not any(t in h for h in held)]
        models[k] = Guesser(train(texts + negative + kept))
    return models


def classify(item: dict[str, Any], rules: list[Any], guess: GuessFunction) -> tuple[Any, ...]:
    """(category, retryable, path) as ``tests/core/test_corpus.py`` classifies an item."""
    text = decode_pasted(str(item["text"])).text
    # As tests/core/test_corpus.py's _classify: the source's stage for replies that name
    # none, read with the words around them.
    found = explain_module.explain_text(
        text, lambda _: rules, client_errors(), guess=guess, stage=item.get("phase")
    )
    if not found:
        return (None, None, "nothing")
    first = found[0]
    if item.get("phase") and not first.found.stage:
        staged = dataclasses.replace(first.found, stage=item["phase"])
        first = explain_module.explain_found(staged, rules, guess=guess)
    return (first.verdict.category, first.verdict.retryable, first.verdict.fallback or "rule")


def main(thresholds: list[float]) -> int:
    development = [item for path in sorted(DEVELOPMENT.glob("*.yaml")) for item in load(path)]
    rules = list(load_rulebook())
    models = fold_models(development)
    for threshold in thresholds or [explain_module.FALLBACK_GUESS_MIN]:
        explain_module.FALLBACK_GUESS_MIN = threshold
        right: collections.Counter[str] = collections.Counter()
        seen: collections.Counter[str] = collections.Counter()
        for item in development:
            category, retryable, path = classify(item, rules, models[fold_of(item)].guess)
            seen[path] += 1
            right[path] += (category, retryable) == (item["category"], item["retryable"])
        paths = ", ".join(f"{p} {right[p]}/{seen[p]}" for p in sorted(seen))
        total = sum(right.values())
        print(f"FALLBACK_GUESS_MIN {threshold}: {total}/{len(development)} right ({paths})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main([float(a) for a in sys.argv[1:]]))
