"""Train the learned guess (``smtpprobe/core/guess.py``) from the development corpus.

``python tests/train_guess.py`` writes ``smtpprobe/data/guess_model.json``. Only
``tests/data/corpus/development`` is read: the validation part measures the guess as
it measures the rules, so no validation text may be in its counts.
``tests/core/test_guess.py`` trains again and fails when the shipped file differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_split import DEVELOPMENT, load

from smtpprobe.core.guess import train

MODEL = Path(__file__).resolve().parents[1] / "smtpprobe" / "data" / "guess_model.json"


def development_examples() -> list[tuple[str, str]]:
    """``(text, category)`` for every development text; a guess never says "ok"."""
    return [
        (str(item["text"]), str(item["category"]))
        for path in sorted(DEVELOPMENT.glob("*.yaml"))
        for item in load(path)
        if item["category"] != "ok"
    ]


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
    examples = development_examples()
    model = train(examples)
    MODEL.write_text(model_json(model), encoding="utf-8")
    print(f"{MODEL}: {len(examples)} texts, {len(model['words'])} words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
