"""The negative corpus: real texts that report no failure, on which ``explain`` names no cause.

Settings, documentation, code, successful dialogues and setup questions share every word
of a refusal ("requires authentication = true", "p=reject", "App Password") and report
none; a cause named for one of them is a false answer. The texts come from cited public
pages, gathered by helpers who did not run smtpprobe on them, and are split by source as
the labeled corpus is (``tests/corpus_split.py --negative``): the development part may be
read (and trains the guess's ``no-failure`` category, ``tests/train_guess.py``); the
validation part only measures. A text passes when every explanation ``explain`` gives is
``ok`` (the positive replies of a successful log) or there is none.
"""

from __future__ import annotations

import collections
import functools
import sys
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.paste import explain

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_split import NEGATIVE, cited_sources, coin, load, source_key

# Negative round 1 (2026-12-04, 195 texts of 188 sources) measured at 70 of 98 validation
# texts without a false answer (71.4 %); with the guess's no-failure category, trained on its
# 97 development texts, and DMARC a topic word: 93 of 98 (94.9 %). A ratchet, as FLOOR of
# tests/core/test_corpus.py is.
FLOOR = 0.94
SHAPES = frozenset({"docs", "config", "code", "success-log", "question", "prose"})


@functools.cache
def _part(name: str) -> list[dict[str, Any]]:
    folder = NEGATIVE / name
    return [
        {**item, "file": f"{name}/{path.name}"}
        for path in sorted(folder.glob("*.yaml"))
        for item in load(path)
    ]


def _false_answers(items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    found = []
    for item in items:
        categories = [e.verdict.category for e in explain(item["text"]).explanations]
        if any(c != "ok" for c in categories):
            found.append((item, categories))
    return found


def test_negative_corpus_is_sourced_and_well_formed() -> None:
    items = _part("development") + _part("validation")
    assert len(items) >= 150
    texts = [str(i["text"]).strip() for i in items]
    assert all(texts) and len(set(texts)) == len(texts), "an empty or duplicate text"
    for item in items:
        assert item["shape"] in SHAPES, item["source"]
        assert str(item["source"]).startswith(("https://", "http://")), item
        assert item.get("note") and item.get("lang"), item["source"]


def test_the_negative_split_follows_the_rule() -> None:
    # As the labeled corpus: whole sources on one side, validation where the coin put it,
    # development otherwise only with a reason; no data file cites a validation source.
    dev, val = _part("development"), _part("validation")
    dev_sources = {source_key(str(i["source"])) for i in dev}
    val_sources = {source_key(str(i["source"])) for i in val}
    assert not dev_sources & val_sources, "a source on both sides"
    for item in val:
        assert coin(str(item["source"])) == "validation" and "moved" not in item, item["source"]
    for item in dev:
        assert coin(str(item["source"])) == "development" or item.get("moved"), item["source"]
    assert sorted(val_sources & cited_sources()) == []


def test_texts_that_report_no_failure_get_no_cause(capsys: pytest.CaptureFixture[str]) -> None:
    dev, val = _part("development"), _part("validation")
    dev_false, val_false = _false_answers(dev), _false_answers(val)
    rate = 1 - len(val_false) / len(val)
    with capsys.disabled():
        print(
            f"\nnegative corpus: development {len(dev) - len(dev_false)}/{len(dev)}, "
            f"validation {len(val) - len(val_false)}/{len(val)} = {rate:.1%} without a false "
            "answer"
        )
        for item, categories in dev_false:
            print(f"  dev false answer [{item['file']}] {categories}: {item['text'][:100]!r}")
        shapes = collections.Counter(item["shape"] for item, _ in val_false)
        if shapes:
            print(f"  validation false answers by shape (texts not shown): {dict(shapes)}")
    assert not dev_false, "a development text of the negative corpus got a cause"
    assert rate >= FLOOR


# Visma's release note (https://docs.vismasoftware.no/visma-net-erp/release-notes/
# 2025-05-13-office365-email-integration/, the negative corpus's development part): the
# words of auth-required, in a settings listing.
SETTINGS = (
    "It is now possible to use your Office365 account as SMTP email server in ERP.\n\n"
    "You need to provide this information in window:\n"
    "    Outgoing mail server = smtp.office365.com\n"
    "    My outgoing server requires authentication = true\n"
    "    Log in using = true\n"
    "    Login type = Microsoft OAuth2\n"
    "    Outgoing server encrypted connection = TLS\n"
    "    Outgoing server port(SMTP) = 587 (will be set from above)"
)


def test_a_refusal_s_words_in_settings_are_not_a_refusal() -> None:
    assert explain(SETTINGS).explanations == []
    # The same words as one message are the message (round7_lists.yaml, development).
    (alone,) = explain("SMTP AUTH is required for message submission on port 587").explanations
    assert alone.verdict.category == "auth-required"
