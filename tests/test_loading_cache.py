"""The compiled cache of the built-in rules and profiles (issue 9, item 4).

It must give exactly what parsing gives, follow every change of a file or of the
parsing code, and never be the reason smtpprobe fails or runs someone else's pickle.
No timing here: the benchmark (bench/bench_rtt.py) measures what it saves.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

import smtpprobe.loading as loading
from smtpprobe.errors import RuleError
from smtpprobe.loading import load_profiles, load_rulebook

RULES = """\
rules:
  - id: fake-{n}
    category: relay-denied
    retryable: false
    match: {{text: 'relay (access )?denied {n}'}}
    cause: {{en: "Cause {n}.", ja: "原因{n}。"}}
    remedy: {{en: "Remedy {n}.", ja: "対処{n}。"}}
    examples: ["554 5.7.1 relay access denied {n}"]
"""
PROFILE = """\
name: fake
title: Fake provider {n}
host: smtp.fake.example
port: 587
security: starttls
"""


def _fresh() -> None:
    """A new process, as far as loading is concerned: no parsed file in memory."""
    loading._COMPILED = loading._CompiledCache()
    loading._load_rule_file.cache_clear()
    loading._load_profile_file.cache_clear()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("SMTPPROBE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SMTPPROBE_CONFIG_DIR", str(tmp_path / "config"))
    saved = loading._COMPILED
    _fresh()
    yield
    loading._COMPILED = saved
    loading._load_rule_file.cache_clear()
    loading._load_profile_file.cache_clear()


@pytest.fixture
def package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A stand-in for the installed package: data/rules.yaml and profiles/fake.yaml."""
    root = tmp_path / "pkg" / "smtpprobe"
    (root / "data").mkdir(parents=True)
    (root / "profiles").mkdir()
    (root / "core").mkdir()
    (root / "data" / "rules.yaml").write_text(RULES.format(n=1), encoding="utf-8")
    (root / "profiles" / "fake.yaml").write_text(PROFILE.format(n=1), encoding="utf-8")
    monkeypatch.setattr(loading, "_PACKAGE", root)
    return root


def _cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("compiled-*.pickle"))


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str) -> object:
        raise AssertionError(f"{name} was parsed, not read from the cache")

    monkeypatch.setattr(loading, "_parse_rule_file", refuse)
    monkeypatch.setattr(loading, "_parse_profile_file", refuse)


def test_the_real_built_ins_come_back_equal_without_parsing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rules, profiles = load_rulebook(), load_profiles()
    (cache,) = _cache_files(tmp_path)
    assert cache.stat().st_mode & 0o077 == 0  # private to the user
    _fresh()
    _no_parsing(monkeypatch)
    cached_rules, cached_profiles = load_rulebook(), load_profiles()
    assert cached_rules == rules
    assert [r.text.pattern if r.text else None for r in cached_rules] == [
        r.text.pattern if r.text else None for r in rules
    ]
    assert [r.examples for r in cached_rules] == [r.examples for r in rules]
    assert cached_profiles.profiles == profiles.profiles
    sakura = cached_profiles.get("sakura")
    assert [r.id for r in sakura.rules] == [r.id for r in profiles.get("sakura").rules]


def test_cached_examples_are_unpickled_only_when_read(package: Path, tmp_path: Path) -> None:
    (parsed,) = load_rulebook()
    assert isinstance(parsed.examples, tuple)
    _fresh()
    (cached,) = load_rulebook()
    examples = cached.examples
    assert isinstance(examples, loading.DeferredExamples)
    assert examples._items is None  # a probe that never reads them never unpickles them
    assert examples == parsed.examples and len(examples) == 1
    assert examples[0].reply == "554 5.7.1 relay access denied 1"
    assert [e.reply for e in examples[:1]] == [e.reply for e in parsed.examples]
    assert pickle.loads(pickle.dumps(cached)).examples == parsed.examples
    assert repr(examples) == repr(parsed.examples)


def test_a_changed_file_is_parsed_again(package: Path, tmp_path: Path) -> None:
    assert [r.id for r in load_rulebook()] == ["fake-1"]
    assert load_profiles().get("fake").title == "Fake provider 1"
    (package / "data" / "rules.yaml").write_text(RULES.format(n=22), encoding="utf-8")
    (package / "profiles" / "fake.yaml").write_text(PROFILE.format(n=22), encoding="utf-8")
    _fresh()
    assert [r.id for r in load_rulebook()] == ["fake-22"]
    assert load_profiles().get("fake").title == "Fake provider 22"
    _fresh()  # and the rewritten cache holds the new content
    assert [r.id for r in load_rulebook()] == ["fake-22"]
    assert len(_cache_files(tmp_path)) == 1


def test_a_change_in_the_parsing_code_invalidates_it(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_rulebook()
    _fresh()
    original = loading._code_stamp
    monkeypatch.setattr(loading, "_code_stamp", lambda: (*original(), "edited"))
    parsed: list[str] = []
    real = loading._parse_rule_file

    def counting(name: str) -> tuple[loading.Rule, ...]:
        parsed.append(name)
        return real(name)

    monkeypatch.setattr(loading, "_parse_rule_file", counting)
    assert [r.id for r in load_rulebook()] == ["fake-1"]
    assert parsed == [str(package / "data" / "rules.yaml")]


def test_a_broken_built_in_still_fails_with_its_own_error(package: Path) -> None:
    (package / "data" / "rules.yaml").write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"rules\.yaml.*malformed YAML"):
        load_rulebook()


@pytest.mark.parametrize("damage", ["truncated", "not-a-pickle", "wrong-shape"])
def test_a_damaged_cache_is_a_miss_and_is_rewritten(
    package: Path, tmp_path: Path, damage: str
) -> None:
    load_rulebook()
    (cache,) = _cache_files(tmp_path)
    good = cache.read_bytes()
    cache.write_bytes(
        {
            "truncated": good[: len(good) // 2],
            "not-a-pickle": b"\x00garbage",
            "wrong-shape": pickle.dumps(["entries"]),
        }[damage]
    )
    _fresh()
    assert [r.id for r in load_rulebook()] == ["fake-1"]
    assert pickle.loads(cache.read_bytes())["code"] == loading._code_stamp()


def test_a_cache_others_could_write_is_never_unpickled(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_rulebook()
    (cache,) = _cache_files(tmp_path)
    unpickled: list[bytes] = []
    monkeypatch.setattr(loading, "_rebuild_cache", lambda: {})  # so nothing rewrites it
    real_loads = pickle.loads
    monkeypatch.setattr(pickle, "loads", lambda data: unpickled.append(data) or real_loads(data))
    cache.chmod(0o662)  # group- and world-writable: anyone could have planted it
    _fresh()
    assert [r.id for r in load_rulebook()] == ["fake-1"]  # parsed from the YAML instead
    assert unpickled == []


def test_no_cache_folder_is_no_problem(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("SMTPPROBE_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    assert [r.id for r in load_rulebook()] == ["fake-1"]
    assert load_profiles().get("fake").port == 587
    monkeypatch.delenv("SMTPPROBE_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME")
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: (_ for _ in ()).throw(RuntimeError)))
    _fresh()
    assert loading.cache_dir() is None
    assert [r.id for r in load_rulebook()] == ["fake-1"]


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMTPPROBE_CACHE_DIR", str(tmp_path / "explicit"))
    assert loading.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("SMTPPROBE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert loading.cache_dir() == tmp_path / "xdg" / "smtpprobe"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert loading.cache_dir() == tmp_path / "home" / ".cache" / "smtpprobe"


def test_user_and_named_files_are_not_cached(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(RULES.format(n=7), encoding="utf-8")
    assert [r.id for r in load_rulebook(extra=(mine,))] == ["fake-7", "fake-1"]
    (cache,) = _cache_files(tmp_path)
    assert str(mine) not in pickle.loads(cache.read_bytes())["entries"]


def test_the_same_rules_are_the_same_book_until_a_file_changes(
    package: Path, tmp_path: Path
) -> None:
    # One tuple for the same rules, so that what classify and first_match work out per book
    # (by identity) is worked out once a run, not once a probe; a changed file is a new book.
    mine = tmp_path / "mine.yaml"
    mine.write_text(RULES.format(n=7), encoding="utf-8")
    fake = load_profiles().get("fake")
    book = load_rulebook(fake, extra=(mine,))
    assert load_rulebook(fake, extra=(mine,)) is book
    assert load_rulebook() is not book and load_rulebook() is load_rulebook()
    mine.write_text(RULES.format(n=8) + "# longer\n", encoding="utf-8")
    changed = load_rulebook(fake, extra=(mine,))
    assert changed is not book
    assert [r.id for r in changed] == ["fake-8", "fake-1"]
