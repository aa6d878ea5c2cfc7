"""Helpers for gathering: is a source new, is a text a duplicate? Never prints corpus texts.

python tests/corpus_tools_check.py URL [URL ...]
python tests/corpus_tools_check.py --text-file new.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_split import CORPUS, load, source_key


def _corpus() -> tuple[set[str], set[str]]:
    sources: set[str] = set()
    texts: set[str] = set()
    for path in sorted(CORPUS.rglob("*.yaml")):
        for item in load(path):
            sources.add(source_key(str(item["source"])))
            texts.add(str(item["text"]).strip())
    return sources, texts


def main(argv: list[str]) -> int:
    """Answer for each URL, or list the duplicate indexes of a file's texts."""
    sources, texts = _corpus()
    if argv[:1] == ["--text-file"]:
        path = Path(argv[1]).resolve()
        own = [p for p in CORPUS.rglob("*.yaml") if p.resolve() == path]
        if own:  # a file already inside the corpus: compare with the other files only
            texts = set()
            for other in sorted(CORPUS.rglob("*.yaml")):
                if other.resolve() != path:
                    texts.update(str(i["text"]).strip() for i in load(other))
        seen: set[str] = set()
        for index, item in enumerate(load(path)):
            text = str(item["text"]).strip()
            if text in texts or text in seen:
                print(f"duplicate: item {index}")
            seen.add(text)
        return 0
    for url in argv:
        print(f"{'already used' if source_key(url) in sources else 'new'}: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
