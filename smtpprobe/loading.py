"""The only module that reads YAML or looks for files: profiles and rules.

Where things come from, later ones overriding earlier ones by name:

1. built in: ``profiles/`` shipped inside the package, ``smtpprobe/data/rules.yaml``;
2. the user's config directory (``$SMTPPROBE_CONFIG_DIR``, else
   ``$XDG_CONFIG_HOME/smtpprobe``, else ``~/.config/smtpprobe``): ``profiles/*.yaml``
   and ``rules/*.yaml``;
3. files named on the command line (``--profile FILE``, ``--rules FILE``).

Every error names the file, and where YAML itself is broken, the line.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from smtpprobe.core.profile import Profile, ProfileError, parse_profile
from smtpprobe.core.rules import Rule, RuleError, parse_rules

__all__ = [
    "ProfileSet",
    "builtin_profiles_dir",
    "config_dir",
    "load_profile_file",
    "load_profiles",
    "load_rule_file",
    "load_rulebook",
]

_PACKAGE = Path(__file__).resolve().parent


def builtin_profiles_dir() -> Path:
    """``profiles/`` inside the installed wheel, or beside the package in a checkout."""
    for candidate in (_PACKAGE / "profiles", _PACKAGE.parent / "profiles"):
        if candidate.is_dir():
            return candidate
    raise ProfileError(f"the built-in profiles are missing (looked in {_PACKAGE / 'profiles'})")


def config_dir() -> Path:
    """The user's smtpprobe configuration directory (it need not exist)."""
    explicit = os.environ.get("SMTPPROBE_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "smtpprobe"


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _read_yaml(path: Path, error: type[ProfileError] | type[RuleError]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise error(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: malformed YAML: {problem}") from None


def load_profile_file(path: Path) -> Profile:
    """Read and validate one profile file (parsed once while the file is unchanged)."""
    return _load_profile_file(str(path), _stamp(path))


@functools.lru_cache(maxsize=256)
def _load_profile_file(path: str, stamp: tuple[int, int] | None) -> Profile:
    # Keyed on the file's mtime and size: many probes in one process (compare,
    # health checks over many accounts) must not re-parse YAML on the event loop.
    return parse_profile(_read_yaml(Path(path), ProfileError), path, default_name=Path(path).stem)


@dataclass(frozen=True, slots=True)
class ProfileSet:
    """All known profiles by name, and where each came from."""

    profiles: dict[str, Profile]

    def get(self, name: str) -> Profile:
        """The profile called ``name``; ProfileError lists the known ones otherwise."""
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise ProfileError(
                f"unknown profile '{name}'; known profiles: {known} "
                "(or give a file with --profile FILE)"
            ) from None

    def for_host(self, host: str) -> Profile | None:
        """The profile whose host or host pattern fits ``host``, if exactly one does."""
        matches = [p for p in self.profiles.values() if p.accepts_host(host)]
        return matches[0] if len(matches) == 1 else None

    def __iter__(self) -> Iterable[Profile]:  # type: ignore[override]
        return iter(sorted(self.profiles.values(), key=lambda p: p.name))


def _profile_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))


def load_profiles(extra: Sequence[Path] = ()) -> ProfileSet:
    """Built-in profiles, then the user's, then ``extra`` files; later names win."""
    profiles: dict[str, Profile] = {}
    sources = [
        *_profile_files(builtin_profiles_dir()),
        *_profile_files(config_dir() / "profiles"),
        *extra,
    ]
    for path in sources:
        profile = load_profile_file(path)
        profiles[profile.name] = profile
    return ProfileSet(profiles)


def load_rule_file(path: Path) -> list[Rule]:
    """Read and validate one rule file: a mapping with ``rules:``, or a bare list."""
    return list(_load_rule_file(str(path), _stamp(path)))


@functools.lru_cache(maxsize=64)
def _load_rule_file(name: str, stamp: tuple[int, int] | None) -> tuple[Rule, ...]:
    path = Path(name)
    data = _read_yaml(path, RuleError)
    if isinstance(data, dict):
        items = data.get("rules")
        if not isinstance(items, list):
            raise RuleError(f"{path}: expected a 'rules:' list")
    elif isinstance(data, list):
        items = data
    else:
        raise RuleError(f"{path}: expected a 'rules:' list")
    return tuple(parse_rules(items, str(path)))


def builtin_rules_file() -> Path:
    """The path of the built-in rule base."""
    return _PACKAGE / "data" / "rules.yaml"


def load_rulebook(profile: Profile | None = None, extra: Sequence[Path] = ()) -> list[Rule]:
    """All rules in precedence order: ``extra`` files, the user's, the profile's, built-in."""
    user: list[Rule] = []
    for path in extra:
        user.extend(load_rule_file(path))
    for path in _profile_files(config_dir() / "rules"):
        user.extend(load_rule_file(path))
    provider = list(profile.rules) if profile is not None else []
    return [*user, *provider, *load_rule_file(builtin_rules_file())]
