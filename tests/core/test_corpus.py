"""The labeled corpus: real reply texts from cited public sources, classified end to end.

Each text goes through what ``smtpprobe explain`` does (find the reply in the
text, classify it with the built-in rules) and must get the labeled category and
retryability. Accuracy must stay at or above 95 %; the figure is in README.
Rerun and see every miss: ``pytest tests/core/test_corpus.py -s``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from smtpprobe.core.bounce import find_replies
from smtpprobe.core.explain import explain_found
from smtpprobe.core.rules import CATEGORIES
from smtpprobe.loading import load_rulebook

# The C parser where PyYAML has it (as smtpprobe.loading uses): the same data, 10x faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
THRESHOLD = 0.95


def _load() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        for item in yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER):
            items.append({**item, "file": path.name})
    return items


ITEMS = _load()


def _classify(item: dict[str, Any], rules: list[Any]) -> tuple[str, bool] | None:
    found = find_replies(item["text"])
    if not found:
        return None
    first = found[0]
    if item.get("phase") and not first.stage:
        first = dataclasses.replace(first, stage=item["phase"])
    verdict = explain_found(first, rules).verdict
    return verdict.category, verdict.retryable


def test_corpus_is_large_sourced_and_well_formed() -> None:
    assert len(ITEMS) >= 200
    texts = [i["text"].strip() for i in ITEMS]
    assert len(set(texts)) == len(texts), "duplicate texts in the corpus"
    for item in ITEMS:
        assert item["category"] in CATEGORIES, item
        assert isinstance(item["retryable"], bool), item
        source = str(item.get("source", ""))
        assert source.startswith(("https://", "http://", "shared/seeds/")), item


def test_corpus_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    rules = load_rulebook()
    misses = []
    for item in ITEMS:
        got = _classify(item, rules)
        if got != (item["category"], item["retryable"]):
            misses.append((item, got))
    accuracy = 1 - len(misses) / len(ITEMS)
    with capsys.disabled():
        print(f"\ncorpus: {len(ITEMS) - len(misses)}/{len(ITEMS)} = {accuracy:.1%}")
        for item, got in misses:
            want = f"{item['category']}/{'retry' if item['retryable'] else 'final'}"
            have = "no reply found" if got is None else f"{got[0]}/{'retry' if got[1] else 'final'}"
            print(f"  miss [{item['file']}] want {want}, got {have}: {item['text'][:100]!r}")
    assert accuracy >= THRESHOLD
