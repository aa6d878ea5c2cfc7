"""Train the learned guess (``smtpprobe/core/guess.py``) from development texts.

``python tests/train_guess.py`` writes ``smtpprobe/data/guess_model.json`` from the
texts rule writers may read: ``tests/data/corpus/development``, the development part of
the negative corpus (``tests/data/negative``: texts that report no failure, as the
category ``no-failure``), and the real, cited
examples of ``smtpprobe/data/rules.yaml`` (each reply with its rule's category) and of
``smtpprobe/data/client_errors.yaml`` (each text with the category ``explain`` gives
it). Never the validation part: it measures the guess as it measures the rules (and
``tests/core/test_corpus.py`` fails when a data file cites a validation source).
``tests/core/test_guess.py`` trains again and fails when the shipped file differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_split import DEVELOPMENT, NEGATIVE, load

from smtpprobe.core.guess import NO_FAILURE, train
from smtpprobe.paste import CLIENT_ERRORS_FILE, explain

DATA = Path(__file__).resolve().parents[1] / "smtpprobe" / "data"
MODEL = DATA / "guess_model.json"

# libyaml where PyYAML has it: the pure-Python loader takes seconds on the rule base.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def development_examples() -> list[tuple[str, str]]:
    """``(text, category)`` for every development text; a guess never says "ok"."""
    return [
        (str(item["text"]), str(item["category"]))
        for path in sorted(DEVELOPMENT.glob("*.yaml"))
        for item in load(path)
        if item["category"] != "ok"
    ]


def negative_examples() -> list[tuple[str, str]]:
    """``(text, NO_FAILURE)`` for every development text of the negative corpus."""
    return [
        (str(item["text"]), NO_FAILURE)
        for path in sorted((NEGATIVE / "development").glob("*.yaml"))
        for item in load(path)
    ]


def example_texts() -> list[tuple[str, str]]:
    """``(text, category)`` for the rule base's and the client-error signatures' examples."""
    examples: list[tuple[str, str]] = []
    rules = yaml.load((DATA / "rules.yaml").read_text(encoding="utf-8"), Loader=_LOADER)["rules"]
    for rule in rules:
        for example in rule.get("examples") or ():
            if isinstance(example, dict) and example.get("reply") and rule["category"] != "ok":
                examples.append((str(example["reply"]), str(rule["category"])))
    signatures = yaml.load(CLIENT_ERRORS_FILE.read_text(encoding="utf-8"), Loader=_LOADER)[
        "signatures"
    ]
    for signature in signatures:
        for example in signature.get("examples") or ():
            text = str(example["text"] if isinstance(example, dict) else example)
            result = explain(text)  # only what is recognised: a guess would count itself
            first = result.explanations[0] if result.explanations else None
            if (
                result.recognised
                and first is not None
                and first.verdict.category != "ok"
                and first.verdict.fallback != "guess"  # never a guess counted as a reading
            ):
                examples.append((text, first.verdict.category))
    return examples


def training_texts() -> list[tuple[str, str]]:
    """Everything the model is counted from."""
    return development_examples() + negative_examples() + example_texts()


def model_json(model: dict[str, Any]) -> str:
    """The file's text: one word per line, so that a retraining's diff is readable."""
    head = {k: v for k, v in model.items() if k != "words"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "words": {']
    words = list(model["words"].items())
    for n, (word, pairs) in enumerate(words):
        comma = "," if n < len(words) - 1 else ""
        lines.append(f"{json.dumps(word, ensure_ascii=False)}: {json.dumps(pairs)}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Write the model file; print its size."""
    examples = training_texts()
    model = train(examples)
    MODEL.write_text(model_json(model), encoding="utf-8")
    print(f"{MODEL}: {len(examples)} texts, {len(model['words'])} words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
