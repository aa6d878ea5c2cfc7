"""The corpus split: which texts may be used to write rules, and which only measure them.

Issue 8: a figure on texts the rules were tuned to is not a figure. So the
labeled corpus is split BY SOURCE (every text of one cited page on the same side)
into a development part, which rule writers may read, and a validation part,
which they may not. The rule, fixed before any rule was written for the new
texts:

- every text gathered before the split (issue 3's corpus, whose texts the rules
  were written from) is development, and so is every text whose source is one of
  those pages;
- any other source goes to validation when the first 8 hex digits of the SHA-256
  of its normalised address, read as a number, are below ``VALIDATION_SHARE`` of
  the range — a coin toss nobody can steer by looking at the text;
- a validation text may be moved to development only with a ``moved:`` reason in
  its entry (and never back), and must be moved with every other text of its
  source.

``python tests/corpus_split.py`` sorts newly gathered files (``tests/data/corpus/*.yaml``)
into ``development/`` and ``validation/``; ``tests/core/test_corpus.py`` checks that
the data follows the rule.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
DEVELOPMENT = CORPUS / "development"
VALIDATION = CORPUS / "validation"
# Real texts that report no failure (docs, settings, code, successful logs), on which
# ``explain`` must name no cause: split by the same rule, measured apart
# (tests/core/test_negative_corpus.py).
NEGATIVE = CORPUS.parent / "negative"
# Gathered before the split: the rules were written from these files' texts.
BEFORE_SPLIT = ("mta.yaml", "providers.yaml")
VALIDATION_SHARE = 0.5  # of new sources; with the old ones all development, ≥ 30 % of texts


_FORGES = {
    "github.com": "github.com",
    "raw.githubusercontent.com": "github.com",
    "gitlab.com": "gitlab.com",
}
_THREADS = frozenset({"issues", "pull", "pulls", "discussions", "merge_requests", "commit"})


def source_key(source: str) -> str:
    """One key per source: an address without scheme, ``www.``, query, fragment or slash.

    Files of one repository are one source (a bounce collection, a project's
    translations: one author, one origin), while each issue or discussion thread
    is its own (its pastes come from different people).
    """
    if "://" not in source:
        return source.strip()
    parts = urlsplit(source.strip())
    host = parts.netloc.lower().removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s]
    if host in _FORGES and len(segments) >= 2:
        owner, repo = segments[0].lower(), segments[1].lower()
        if len(segments) >= 4 and segments[2] == "-":  # gitlab.com/o/r/-/issues/1
            segments = [segments[0], segments[1], *segments[3:]]
        if len(segments) >= 4 and segments[2] in _THREADS:
            return f"{_FORGES[host]}/{owner}/{repo}/{segments[2]}/{segments[3]}"
        return f"{_FORGES[host]}/{owner}/{repo}"
    return f"{host}{parts.path.rstrip('/')}"


def coin(source: str) -> str:
    """``validation`` or ``development`` for a new source, by its hash alone."""
    digest = hashlib.sha256(source_key(source).encode("utf-8")).hexdigest()
    return "validation" if int(digest[:8], 16) < VALIDATION_SHARE * 16**8 else "development"


def load(path: Path) -> list[dict[str, Any]]:
    """The items of one corpus file (each a new dict: a caller may change its own)."""
    info = path.stat()
    key = (str(path), info.st_mtime_ns, info.st_size)
    items = _LOADED.get(key)
    if items is None:
        # A dozen tests read the whole development corpus; parsed once per process, not each.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        items = list(yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or [])
        _LOADED[key] = items
    return [dict(item) for item in items]


_LOADED: dict[tuple[str, int, int], list[dict[str, Any]]] = {}


def tuned_sources() -> set[str]:
    """The sources of the texts gathered before the split (all development)."""
    keys: set[str] = set()
    for name in BEFORE_SPLIT:
        for folder in (CORPUS, DEVELOPMENT):
            path = folder / name
            if path.exists():
                keys.update(source_key(str(i["source"])) for i in load(path))
    return keys


def expected_split(item: dict[str, Any], tuned: set[str]) -> str:
    """Where ``item`` belongs by the rule (``moved:`` aside)."""
    if source_key(str(item["source"])) in tuned:
        return "development"
    return coin(str(item["source"]))


def _comments(path: Path) -> str:
    """The comment lines that open a file (its description), kept when it is split."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def _dump(items: list[dict[str, Any]], path: Path, header: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(header + body, encoding="utf-8")


# What smtpprobe's data files cite: a page a rule, signature or profile took its facts from.
_DATA_FOLDERS = ("smtpprobe/data", "smtpprobe/testing", "profiles")
_ADDRESS = re.compile(r"https?://[^\s'\"<>)\]]+")
CITED_REASON = "cited by smtpprobe's rules, signatures or profiles before it was gathered"


# Repositories the data files cite that are copies of another (the same program's files:
# forks with its history; Post SMTP's later home): citing the copy is citing the original.
SAME_HISTORY = {
    "github.com/yadikar-cloud/roundcube-webmail": "github.com/roundcube/roundcubemail",
    "github.com/shamim-emon/thunderbird-android": "github.com/thunderbird/thunderbird-android",
    "github.com/olafhering/claws": "github.com/eworm-de/claws-mail",
    "github.com/jan0sch/sylpheed": "github.com/sylpheed-mail/sylpheed",
    "github.com/ballihaut/rainloop-webmail": "github.com/rainloop/rainloop-webmail",
    "github.com/eduardo-bolognini/snappymail": "github.com/the-djmaze/snappymail",
    "github.com/flatcap/neomutt": "github.com/neomutt/neomutt",
    "github.com/wpexpertsio/post-smtp": "github.com/yehudah/post-smtp",
}


def cited_sources() -> set[str]:
    """The sources the data files cite (their facts came from those pages), a copy of a
    repository counting as the original (``SAME_HISTORY``)."""
    root = CORPUS.parents[2]
    keys: set[str] = set()
    for folder in _DATA_FOLDERS:
        for path in (root / folder).rglob("*.yaml"):
            for address in _ADDRESS.findall(path.read_text(encoding="utf-8")):
                key = source_key(address.rstrip(".,;"))
                keys.add(key)
                if key in SAME_HISTORY:
                    keys.add(SAME_HISTORY[key])
    return keys


# Repository names that many unrelated projects share: a namesake of a cited repository with
# one of them is no copy of it ("sendmail": the MTA's mirror, and many small scripts that
# send mail; "smtpd": separate small servers, mhale's, gleez's and siebenmann's Go packages
# among them, each with its own replies; "mailer": Dart's package and PHP's, Go's, Node's
# libraries of that name; "net-smtp": Ruby's library and Raku's module; "smtp": Go's, PHP
# frameworks' and others' separate client packages).
SHARED_NAMES = frozenset(
    {"core", "docs", "documentation", "mail", "mailer", "net-smtp", "sendmail", "smtp", "smtpd"}
)


def namesakes(keys: set[str], cited: set[str]) -> list[str]:
    """The GitHub repositories among ``keys`` (whole repositories: their files) that bear the
    name of a cited repository under another owner: likely copies of it, to be listed in
    ``SAME_HISTORY`` (or their texts moved) unless the name is a shared one."""
    names = {_repository_name(key) for key in cited} - SHARED_NAMES - {None}
    return sorted(key for key in keys - cited if _repository_name(key) in names)


def _repository_name(key: str) -> str | None:
    """The name of a whole GitHub repository's source key ("github.com/owner/name")."""
    parts = key.split("/")
    return parts[2] if len(parts) == 3 and parts[0] == "github.com" else None


def main(argv: list[str]) -> int:
    """Sort the gathered files at the top of the corpus folder into the two parts
    (``--negative``: of the negative corpus's folder).

    A new text whose source the data files already cite goes to development with a
    ``moved`` reason: the page was read to write them, so it cannot measure unseen words.
    """
    if argv not in ([], ["--negative"]):
        print("usage: python tests/corpus_split.py [--negative]", file=sys.stderr)
        return 2
    root = NEGATIVE if argv else CORPUS
    tuned = tuned_sources()
    cited = cited_sources()
    for name in () if argv else BEFORE_SPLIT:
        path = CORPUS / name
        if path.exists():
            DEVELOPMENT.mkdir(exist_ok=True)
            path.rename(DEVELOPMENT / name)
            print(f"{name}: all development (gathered before the split)")
    for path in sorted(root.glob("*.yaml")):
        parts: dict[str, list[dict[str, Any]]] = {"development": [], "validation": []}
        for item in load(path):
            split = expected_split(item, tuned)
            if split == "validation" and source_key(str(item["source"])) in cited:
                item["moved"] = CITED_REASON
                split = "development"
            parts[split].append(item)
        for split, items in parts.items():
            if items:
                header = (
                    f"# The {split} part of {path.name}, split by source (tests/corpus_split.py).\n"
                    + _comments(path)
                )
                _dump(items, root / split / path.name, header)
        print(
            f"{path.name}: {len(parts['development'])} development, "
            f"{len(parts['validation'])} validation"
        )
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
