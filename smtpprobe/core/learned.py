"""The learned fallback: a small model that reads the words no rule recognised.

Issue 8 welcomes "an offline learned fallback (a small model shipped as data,
explainable by the words that weighed most)" where it beats the hand rules. This
is that model's pure half: its features, its weights as plain data, and a
prediction that says which words decided it. The weights are made by
``tests/tools/train_fallback.py`` from the development part of the labeled
corpus only, and read by ``smtpprobe.loading.load_fallback_model``.

The model is a naive Bayes classifier over word presence (Laplace-smoothed
``log P(word | category)``): for two categories the difference of their scores is
a plain sum over the words of the text, so "the words that weighed most" are
exactly the terms of that sum, nothing approximated. A model of this kind is
over-confident; the threshold that decides when to believe it is chosen by
cross-validation on development data and stored with the weights.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FORMAT", "Model", "ModelError", "Prediction", "features", "predict"]

FORMAT = "smtpprobe/fallback-model/v1"

# Reply codes and enhanced status codes keep their meaning at two levels of detail
# (RFC 5321 section 4.2: the first digit is the class; RFC 3463 section 3: class,
# subject, detail); any other number is only "a number". Their own digits would make a
# feature of every port, date and queue id.
_ENHANCED = r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w.]|\.\d)"
_CODE = r"(?<![\w.])([245][0-5]\d)(?![\w.]|\.\d)"
# Words (an identifier's underscores kept: net_io_connectionclosed, SSL_ERROR_SYSCALL);
# Japanese and Chinese are written without spaces, so their text is read as runs of
# ideographs and kana, cut into character pairs.
_WORD = r"[^\W\d_](?:[^\W_]|_(?=[^\W_]))*"
_CJK = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]+"
_NUMBER = r"\d+"
_TOKEN = re.compile(f"(?P<enh>{_ENHANCED})|(?P<code>{_CODE})|(?P<cjk>{_CJK})|(?P<word>{_WORD})|"
                    f"(?P<num>{_NUMBER})")  # fmt: skip
_DIGITS = re.compile(r"\d+")
_KANA_ONLY = re.compile(r"[\u3040-\u309f]+$")  # hiragana: particles and endings
# The parts of an identifier: SMTPAuthenticationError -> SMTP, Authentication, Error.
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "and",
        "or",
        "but",
        "if",
        "then",
        "than",
        "so",
        "not",
        "no",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "i",
        "you",
        "your",
        "we",
        "our",
        "they",
        "their",
        "he",
        "she",
        "my",
        "me",
        "us",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "there",
        "here",
        "which",
        "who",
        "what",
        "when",
        "where",
        "how",
        "all",
        "any",
        "some",
        "such",
        "into",
        "out",
        "up",
        "about",
        "over",
        "via",
        "per",
    ]
)
# Text beyond this is not read: a reply says why in its first lines, and a paste of
# megabytes must not cost more than a rule's match does (rules.MAX_MATCH_TEXT).
MAX_TEXT = 4096


class ModelError(ValueError):
    """A model file that is not one (wrong format, missing or malformed weights)."""


def features(text: str) -> list[str]:
    """The features of ``text``, in order of first appearance, each once.

    Lower-cased words and pairs of neighbouring words (digits inside a word generalised:
    ``s3150`` is ``s#``; an identifier's parts too: ``SocketTimeoutException`` also gives
    ``socket``, ``timeout``, ``exception``); a reply code as ``code:5xx`` and ``code:550``;
    an enhanced code as ``enh:5.7.x`` and ``enh:5.7.1``; Japanese as pairs of characters.
    Function words (``the``, ``of``; a pair of two of them; a pair of kana alone:
    ``した``) and other numbers carry no meaning of their own and are left out.
    """
    tokens: list[str] = []
    found: list[str] = []
    for match in _TOKEN.finditer(text[:MAX_TEXT]):
        kind = match.lastgroup
        if kind == "enh":
            klass, subject, detail = match.group(2), match.group(3), match.group(4)
            found += [f"enh:{klass}.{subject}.x", f"enh:{klass}.{subject}.{detail}"]
            tokens.append(f"enh:{klass}.{subject}.x")
        elif kind == "code":
            code = match.group(6)
            found += [f"code:{code[0]}xx", f"code:{code}"]
            tokens.append(f"code:{code[0]}xx")
        elif kind == "cjk":
            run = match.group()
            pairs = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
            found += [pair for pair in pairs if not _KANA_ONLY.match(pair)]
            tokens.append("")  # a Japanese run ends an English phrase
        elif kind == "word":
            word = _DIGITS.sub("#", match.group().lower())
            parts = _PARTS.findall(match.group())
            if len(parts) > 1:
                found += [_DIGITS.sub("#", p.lower()) for p in parts if len(p) > 2]
            found.append(word)
            tokens.append(word)
        else:
            tokens.append("#")  # a number: it ends a phrase too
    found += [
        f"{a} {b}"
        for a, b in itertools.pairwise(tokens)
        if a and b and "#" not in a and "#" not in b and not (a in _STOP and b in _STOP)
    ]
    return list(dict.fromkeys(f for f in found if f not in _STOP and f != "#"))


@dataclass(frozen=True, slots=True)
class Prediction:
    """The model's reading of a text: a category, how sure, and the words that decided it."""

    category: str
    confidence: float  # the model's posterior probability of ``category`` (0..1)
    top_words: tuple[str, ...]  # most weight for ``category`` over the runner-up first
    runner_up: str | None = None


@dataclass(frozen=True, slots=True)
class Model:
    """Naive Bayes weights: ``log P(category)`` and ``log P(feature | category)``.

    ``weights[feature]`` lists ``(category index, log P)`` where the feature was seen
    with the category; elsewhere it is ``unseen[index]`` (the Laplace-smoothed value of a
    count of zero). ``threshold`` is the confidence below which the model is not used.
    """

    categories: tuple[str, ...]
    priors: tuple[float, ...]
    unseen: tuple[float, ...]
    weights: Mapping[str, tuple[tuple[int, float], ...]] = field(compare=False)
    threshold: float = 1.0
    min_features: int = 1  # fewer known features than this: too little to read
    trained_on: str = ""  # what the weights were learned from, for the record

    @classmethod
    def from_dict(cls, data: Any) -> Model:
        """The model of a ``smtpprobe/fallback-model/v1`` document (parsed JSON)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ModelError(f"not a {FORMAT} document")
        try:
            categories = tuple(str(c) for c in data["categories"])
            priors = tuple(float(p) for p in data["priors"])
            unseen = tuple(float(u) for u in data["unseen"])
            weights = {
                str(feature): tuple((int(i), float(w)) for i, w in cells)
                for feature, cells in data["weights"].items()
            }
            threshold = float(data["threshold"])
            min_features = int(data.get("min_features", 1))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"malformed {FORMAT} document: {exc}") from None
        n = len(categories)
        if not n or len(priors) != n or len(unseen) != n:
            raise ModelError(f"malformed {FORMAT} document: one prior and one unseen per category")
        if any(not 0 <= i < n for cells in weights.values() for i, _ in cells):
            raise ModelError(f"malformed {FORMAT} document: a weight names no category")
        return cls(
            categories=categories,
            priors=priors,
            unseen=unseen,
            weights=weights,
            threshold=threshold,
            min_features=min_features,
            trained_on=str(data.get("trained_on", "")),
        )

    def known(self, found: Iterable[str]) -> list[str]:
        """The features the model has weights for."""
        return [f for f in found if f in self.weights]


def predict(text: str, model: Model, *, top: int = 3) -> Prediction | None:
    """The category ``model`` reads in ``text``, or None when it knows none of its words.

    ``top_words`` are the known words of the text that favour the chosen category
    over the runner-up most (``log P(w | chosen) - log P(w | runner-up)``, the exact
    terms of the difference of their scores), strongest first.
    """
    known = model.known(features(text))
    if len(known) < max(1, model.min_features):
        return None
    n = len(model.categories)
    scores = list(model.priors)
    for i in range(n):
        scores[i] += model.unseen[i] * len(known)
    for feature in known:
        for i, weight in model.weights[feature]:
            scores[i] += weight - model.unseen[i]
    order = sorted(range(n), key=lambda i: (-scores[i], model.categories[i]))
    best, second = order[0], order[1] if n > 1 else None
    peak = scores[best]
    total = math.fsum(math.exp(s - peak) for s in scores)
    confidence = 1.0 / total
    if second is None:
        return Prediction(model.categories[best], confidence, tuple(known[:top]))
    cells = {f: dict(model.weights[f]) for f in known}

    def log_p(feature: str, i: int) -> float:
        return cells[feature].get(i, model.unseen[i])

    margins = [(log_p(f, best) - log_p(f, second), f) for f in known]
    margins = [m for m in margins if m[0] > 0]
    margins.sort(key=lambda m: (-m[0], m[1]))
    return Prediction(
        category=model.categories[best],
        confidence=confidence,
        top_words=tuple(f for _, f in margins[:top]),
        runner_up=model.categories[second],
    )
