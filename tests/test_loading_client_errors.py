"""The client-error signatures in the compiled cache (issue 9, start-up of ``explain``).

Like the rules and profiles (tests/test_loading_cache.py): exactly what parsing gives,
anchors included; a changed file parsed (and every pattern and example checked) again;
a warm start reads no YAML and compiles only the signatures a paste's words reach.
The signature texts in the stand-in file are synthetic, made for these tests.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import smtpprobe.loading as loading
from smtpprobe.core.client_errors import find_client_errors, scan
from smtpprobe.errors import RuleError
from smtpprobe.loading import load_client_errors, load_rulebook

SIGNATURES = """\
version: 1
signatures:
  - id: fake-refused
    regex: 'connect ECONNREFUSED {n}'
    failure: connect-refused
    examples:
      - {{text: "Error: connect ECONNREFUSED {n}", source: "https://example.org/a"}}
  - id: fake-timeout
    regex: 'connect ETIMEDOUT'
    failure: connect-timeout
    examples:
      - {{text: "Error: connect ETIMEDOUT 192.0.2.1:587", source: "https://example.org/b"}}
"""
RULES = """\
rules:
  - id: fake-1
    category: relay-denied
    retryable: false
    match: {text: 'relay denied'}
    cause: {en: "Cause.", ja: "原因。"}
    remedy: {en: "Remedy.", ja: "対処。"}
    examples: ["554 5.7.1 relay denied"]
"""


def _fresh() -> None:
    """A new process, as far as loading is concerned: no parsed file in memory."""
    loading._COMPILED = loading._CompiledCache()
    loading._load_rule_file.cache_clear()
    loading._load_profile_file.cache_clear()
    loading._load_client_errors_file.cache_clear()


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
    loading._load_client_errors_file.cache_clear()


@pytest.fixture
def package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A stand-in for the installed package, with a signature file of its own."""
    root = tmp_path / "pkg" / "smtpprobe"
    for folder in ("data", "profiles", "core"):
        (root / folder).mkdir(parents=True)
    (root / "data" / "rules.yaml").write_text(RULES, encoding="utf-8")
    (root / "data" / "client_errors.yaml").write_text(SIGNATURES.format(n=1), encoding="utf-8")
    monkeypatch.setattr(loading, "_PACKAGE", root)
    return root


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str) -> object:
        raise AssertionError(f"{name} was parsed, not read from the cache")

    for parser in ("_parse_rule_file", "_parse_profile_file", "_parse_client_errors_file"):
        monkeypatch.setattr(loading, parser, refuse)
    monkeypatch.setattr(loading, "read_yaml", refuse)


def test_the_real_signatures_come_back_equal_without_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = load_client_errors()
    assert all(s.pattern.is_compiled for s in parsed.signatures)  # checked when parsed
    _fresh()
    _no_parsing(monkeypatch)
    cached = load_client_errors()
    assert cached == parsed
    assert [s.anchors for s in cached.signatures] == [s.anchors for s in parsed.signatures]
    assert [s.examples for s in cached.signatures] == [s.examples for s in parsed.signatures]
    assert not any(s.pattern.is_compiled for s in cached.signatures)
    # A paste compiles only the signatures whose anchors it holds (and those without any).
    text = "Error: connect ECONNREFUSED 10.0.0.1:587"
    assert [f.failure for f in find_client_errors(text, cached)] == ["connect-refused"]
    compiled = [s for s in cached.signatures if s.pattern.is_compiled]
    lowered = text.lower()
    assert compiled and all(not s.anchors or any(a in lowered for a in s.anchors) for s in compiled)
    assert len(compiled) < len(cached.signatures) // 4


def test_a_warm_start_answers_as_parsing_does(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = load_client_errors()
    _fresh()
    _no_parsing(monkeypatch)
    cached = load_client_errors()
    for signature in parsed.signatures:
        for example in signature.examples:
            assert scan(example.text, cached) == scan(example.text, parsed), signature.id


def test_a_changed_signature_file_is_parsed_and_checked_again(package: Path) -> None:
    assert [s.id for s in load_client_errors().signatures] == ["fake-refused", "fake-timeout"]
    assert load_client_errors().signatures[0].pattern.pattern == "connect ECONNREFUSED 1"
    signatures = package / "data" / "client_errors.yaml"
    signatures.write_text(SIGNATURES.format(n=22), encoding="utf-8")
    _fresh()
    assert load_client_errors().signatures[0].pattern.pattern == "connect ECONNREFUSED 22"
    _fresh()  # and the rewritten cache holds the new content
    assert load_client_errors().signatures[0].pattern.pattern == "connect ECONNREFUSED 22"
    # An example its pattern does not match: refused, by name, whenever the file is read.
    signatures.write_text(
        SIGNATURES.format(n=3).replace('ECONNREFUSED 3"', 'ECONNREFUSED 4"'), encoding="utf-8"
    )
    _fresh()
    with pytest.raises(RuleError, match=r"client_errors\.yaml: signature 'fake-refused'.*example"):
        load_client_errors()
    assert [r.id for r in load_rulebook()] == ["fake-1"]  # the rules still load


def test_the_cache_of_the_signatures_follows_the_parsing_code(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_client_errors()
    _fresh()
    original = loading._code_stamp
    monkeypatch.setattr(loading, "_code_stamp", lambda: (*original(), "edited"))
    parsed: list[str] = []
    real = loading._parse_client_errors_file

    def counting(name: str) -> object:
        parsed.append(name)
        return real(name)

    monkeypatch.setattr(loading, "_parse_client_errors_file", counting)
    assert [s.id for s in load_client_errors().signatures] == ["fake-refused", "fake-timeout"]
    assert parsed == [str(package / "data" / "client_errors.yaml")]


def test_a_probe_from_a_warm_cache_loads_neither_yaml_nor_the_signatures(tmp_path: Path) -> None:
    # A fresh interpreter: what a ``check`` process imports when it loads rules and profiles.
    code = (
        "import sys\n"
        "from smtpprobe.loading import load_profiles, load_rulebook\n"
        "load_rulebook(); load_profiles()\n"
        "print(sorted(m for m in ('yaml', 'smtpprobe.core.client_errors',"
        " 'smtpprobe.core.bounce') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTPPROBE_")}
    env.update(
        SMTPPROBE_CACHE_DIR=str(tmp_path / "cache"), SMTPPROBE_CONFIG_DIR=str(tmp_path / "c")
    )
    run = [sys.executable, "-c", code]
    subprocess.run(run, env=env, check=True, capture_output=True, timeout=60)  # fills it
    warm = subprocess.run(run, env=env, check=True, capture_output=True, text=True, timeout=60)
    assert warm.stdout.strip() == "[]"


def test_a_damaged_entry_is_a_miss(package: Path, tmp_path: Path) -> None:
    load_client_errors()
    (cache,) = sorted((tmp_path / "cache").glob("compiled-*.pickle"))
    data = pickle.loads(cache.read_bytes())
    name = str(package / "data" / "client_errors.yaml")
    stamp, _ = data["entries"][name]
    data["entries"][name] = (stamp, b"\x00garbage")
    cache.write_bytes(pickle.dumps(data))
    _fresh()
    assert [s.id for s in load_client_errors().signatures] == ["fake-refused", "fake-timeout"]
    assert [r.id for r in load_rulebook()] == ["fake-1"]  # the other entries still serve
