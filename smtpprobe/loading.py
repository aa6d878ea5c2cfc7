"""The only module that reads YAML or looks for files: profiles and rules.

Where things come from, later ones overriding earlier ones by name:

1. built in: ``profiles/`` shipped inside the package, ``smtpprobe/data/rules.yaml``;
2. the user's config directory (``$SMTPPROBE_CONFIG_DIR``, else
   ``$XDG_CONFIG_HOME/smtpprobe``, else ``~/.config/smtpprobe``): ``profiles/*.yaml``
   and ``rules/*.yaml``;
3. files named on the command line (``--profile FILE``, ``--rules FILE``).

Every error names the file, and where YAML itself is broken, the line. A file
over ``MAX_FILE_BYTES``, YAML nested too deeply or otherwise pathological is
an error like any other, never a hang or a traceback.

A broken file in the user's folder does not stop smtpprobe: it is skipped and
reported in ``ProfileSet.problems`` / ``rule_problems()`` (the CLI prints each
as a warning), and only a command that needs that very profile fails, with the
file's own error. A file named on the command line must load, or the command fails.

Start-up: the built-in rule base, profiles and client-error signatures
(``smtpprobe/data/client_errors.yaml``, what ``explain`` recognises in a paste that
quotes no reply), parsed and validated, are kept in a compiled cache (a pickle in
``cache_dir()``), keyed on each file's path, mtime, ctime and size and on the parsing
code itself, so that a process that probes once does not parse 140 KB of YAML and
check some 250 patterns first. The patterns are kept as source (``LazyPattern``) and
compiled when a reply or paste first reaches them. The cache is an optimisation only:
a file that cannot be read or written, or that is not the current user's own, is
ignored and the YAML is parsed (and every pattern and example checked) as before.
Files in the user's folders and those named on the command line are small and always
parsed.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, overload

from smtpprobe.core.errors import SmtpprobeError
from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.profile import Profile, ProfileError, parse_profile
from smtpprobe.core.record import record
from smtpprobe.core.rules import Example, Rule, RuleError, parse_rules

if TYPE_CHECKING:  # imported when first needed: it brings the bounce finder, which check never uses
    from smtpprobe.core.client_errors import ClientErrors

__all__ = [
    "MAX_FILE_BYTES",
    "ProfileSet",
    "builtin_client_errors_file",
    "builtin_profiles_dir",
    "cache_dir",
    "config_dir",
    "load_client_errors",
    "load_profile_file",
    "load_profiles",
    "load_rule_file",
    "load_rulebook",
    "read_yaml",
    "rule_problems",
]

# A profile or rule file of the user's is a few KB; anything over 1 MB is not one, and
# reading it whole would only make YAML's parser the thing that hangs. The built-in data
# files are larger (the client error signatures, with a cited example for each wording and
# locale, passed 1 MB in 2026-12) and read once into the compiled cache: their own limit.
MAX_FILE_BYTES = 1024 * 1024
BUILTIN_MAX_BYTES = 8 * 1024 * 1024
_T = TypeVar("_T")
_CONTROL = LazyPattern(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never in YAML text (YAML 1.1 §5.1)
_MAX_MESSAGE = 300  # characters of a validation message: a value quoted in it may be huge

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


def cache_dir() -> Path | None:
    """Where the compiled cache lives (``$SMTPPROBE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/smtpprobe``, else ``~/.cache/smtpprobe``); None without a home."""
    explicit = os.environ.get("SMTPPROBE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    try:
        base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    except RuntimeError:  # no HOME and no passwd entry: run without a cache
        return None
    return base / "smtpprobe"


# (mtime, ctime, size): an edit changes the first, a replaced file or restored
# mtime (cp -p, tar) the second.
_Stamp = tuple[int, int, int]


def _stamp(path: Path | str) -> _Stamp | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL in the name, as Path.stat raises it
        return None
    return info.st_mtime_ns, info.st_ctime_ns, info.st_size


# None: libyaml's loader when PyYAML has it (faster, and it refuses nesting past
# 1000 levels itself; the pure-Python one would recurse until RecursionError).
# Imported on first use: with the compiled cache, a probe never loads PyYAML.
_LOADER: Any = None


def _loader() -> Any:
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class UniqueKeyLoader(base):  # type: ignore[misc, valid-type]
        """The safe loader, refusing a key given twice in one mapping: YAML keeps the last
        silently, and a second ``port:`` or ``password:`` would probe something else."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in getattr(node, "value", ()):
                if getattr(key_node, "tag", "") == "tag:yaml.org,2002:merge":
                    continue  # "<<: *defaults" merges; its keys may be given again
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:
                    break  # an unhashable key: the base constructor says so
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep)

    _LOADER = UniqueKeyLoader
    return _LOADER


def read_yaml(
    path: Path,
    error: type[SmtpprobeError],
    what: str = "profile or rule file",
    limit: int = MAX_FILE_BYTES,
) -> Any:
    """The YAML of one file under the size, encoding and control-character limits.

    Every problem is ``error`` with one line naming the file (and line); ``what`` names
    the kind of file in those lines. Used for profiles, rules and checks files; ``limit``
    is larger only for the built-in data files.
    """
    try:
        with path.open("rb") as file:
            # One byte past the limit tells an oversized file apart; reading no
            # more also bounds files whose size stat() cannot tell (/dev/zero, pipes).
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        # An empty argument (`--rules "$UNSET"`) reaches here as "." once typer makes it a Path.
        empty = " (an empty path is read as the current folder)" if str(path) == "." else ""
        raise error(
            f"{path}: is a folder{empty}, not a {what}: give the path of the file"
        ) from None
    except OSError as exc:
        raise error(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(
            f"{path}: over the {limit // 1024 // 1024} MB limit for a {what}; is it the right file?"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save it as UTF-8") from None
    control = _CONTROL.search(text)
    if control:
        # YAML refuses these too, but only by position; say the line and the key.
        line_no = text.count("\n", 0, control.start()) + 1
        line = text[text.rfind("\n", 0, control.start()) + 1 : control.start()]
        key = line.split(":", 1)[0].strip(" -") if ":" in line else ""
        raise error(
            f"{path}:{line_no}: {f'{key!r} holds' if key else 'holds'} a control character "
            f"(U+{ord(control.group()):04X}); remove it"
        )
    if _deepest_flow(text) > _DEEPEST_FLOW:
        raise error(f"{path}: malformed YAML: nested too deeply")
    loader = _loader()
    import yaml

    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: malformed YAML: {_one_line(problem)}") from None
    except RecursionError:
        raise error(f"{path}: malformed YAML: nested too deeply") from None
    except Exception as exc:  # a constructor's own error, e.g. a date like 2024-13-45
        raise error(f"{path}: malformed YAML: {_one_line(str(exc))}") from None


# Flow collections opened one inside another with nothing between ("[[[[…"): no profile or
# rule nests past a few levels. libyaml refuses past 1000, but the pure-Python loader reads a
# whole 1 MB of them before it fails (a second), and 900 then take a third of a second to
# unwind from RecursionError; past 200 the file is refused before any parsing, by either.
_DEEPEST_FLOW = 200
_FLOW_RUN = LazyPattern(r"[\[{][\[{ \t\r\n]*")


def _deepest_flow(text: str) -> int:
    """The most flow openers in one run of openers and spaces (each character seen once)."""
    if "[" not in text and "{" not in text:
        return 0
    return max((run.count("[") + run.count("{") for run in _FLOW_RUN.findall(text)), default=0)


def _one_line(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= _MAX_MESSAGE else f"{line[:_MAX_MESSAGE]}…"


def _validated(
    path: Path, error: type[ProfileError] | type[RuleError], build: Callable[[], _T]
) -> _T:
    """``build()``, with errors made one short line (a quoted value may be huge or deep)."""
    try:
        return build()
    except (ProfileError, RuleError) as exc:
        raise type(exc)(_one_line(str(exc))) from None
    except RecursionError:
        raise error(f"{path}: a value is nested too deeply") from None


def load_profile_file(path: Path | str) -> Profile:
    """Read and validate one profile file (parsed once while the file is unchanged)."""
    return _load_profile_file(str(path), _stamp(path))


@functools.lru_cache(maxsize=256)
def _load_profile_file(path: str, stamp: _Stamp | None) -> Profile:
    # Keyed on the file's mtime and size: many probes in one process (compare,
    # health checks over many accounts) must not re-parse YAML on the event loop.
    compiled = _COMPILED.get(path, stamp)
    if isinstance(compiled, Profile):
        return compiled
    return _parse_profile_file(path)


def _parse_profile_file(path: str) -> Profile:
    data = read_yaml(Path(path), ProfileError)
    return _validated(
        Path(path),
        ProfileError,
        lambda: parse_profile(data, path, default_name=Path(path).stem),
    )


@record
class ProfileSet:
    """All known profiles by name, and the user's profile files that could not be read.

    ``problems`` has one line per skipped file (the file and what is wrong);
    ``broken`` maps each such file's stem to its error, so that asking for that
    profile fails with the precise message instead of "unknown profile".
    """

    profiles: dict[str, Profile]
    problems: tuple[str, ...] = ()
    broken: dict[str, ProfileError] = field(default_factory=dict)

    def get(self, name: str) -> Profile:
        """The profile called ``name``; ProfileError says why not otherwise.

        A broken user file overrides a built-in profile of the same name: its
        own error is raised rather than silently using the built-in one.
        """
        if name in self.broken:
            raise ProfileError(str(self.broken[name]))
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

    def __iter__(self) -> Iterator[Profile]:
        return iter(sorted(self.profiles.values(), key=lambda p: p.name))


def _profile_files(directory: Path) -> list[str]:
    # os.scandir and names, not Path.iterdir and Paths: every explain and probe lists these
    # folders, and a Path per entry, a stat per is_file and Path comparisons were most of it.
    try:
        with os.scandir(directory) as entries:
            # Regular files only: opening a FIFO named like one waited for a writer forever
            # (a red-team round), and a device or a folder holds no profile or rule.
            names = sorted(
                entry.name
                for entry in entries
                if entry.name.endswith((".yaml", ".yml")) and entry.is_file()
            )
    except OSError:  # an unreadable or missing folder is treated as an empty one
        return []
    return [os.path.join(directory, name) for name in names]


def load_profiles(extra: Sequence[Path | str] = ()) -> ProfileSet:
    """Built-in profiles, then the user's, then ``extra`` files; later names win.

    A broken file in the user's folder is skipped and recorded (``problems``,
    ``broken``); a broken built-in or ``extra`` file raises ProfileError.
    """
    profiles: dict[str, Profile] = {}
    problems: list[str] = []
    broken: dict[str, ProfileError] = {}
    for path in _profile_files(builtin_profiles_dir()):
        profile = load_profile_file(path)
        profiles[profile.name] = profile
    for path in _profile_files(config_dir() / "profiles"):
        try:
            profile = load_profile_file(path)
        except ProfileError as exc:
            problems.append(str(exc))
            broken[Path(path).stem] = exc
            continue
        profiles[profile.name] = profile
        broken.pop(profile.name, None)
    for named in extra:
        profile = load_profile_file(named)
        profiles[profile.name] = profile
        broken.pop(profile.name, None)  # a file given by name replaces a broken one
    return ProfileSet(profiles, tuple(problems), broken)


def load_rule_file(path: Path | str) -> list[Rule]:
    """Read and validate one rule file: a mapping with ``rules:``, or a bare list."""
    return list(_rule_file(path))


def _rule_file(path: Path | str) -> tuple[Rule, ...]:
    """``load_rule_file``'s rules as the cache holds them (the same tuple while unchanged)."""
    return _load_rule_file(str(path), _stamp(path))


@functools.lru_cache(maxsize=64)
def _load_rule_file(name: str, stamp: _Stamp | None) -> tuple[Rule, ...]:
    compiled = _COMPILED.get(name, stamp)
    if isinstance(compiled, tuple):
        return compiled
    return _parse_rule_file(name)


def _parse_rule_file(name: str) -> tuple[Rule, ...]:
    path = Path(name)
    limit = BUILTIN_MAX_BYTES if path == builtin_rules_file() else MAX_FILE_BYTES
    data = read_yaml(path, RuleError, limit=limit)
    if isinstance(data, dict):
        items = data.get("rules")
        if not isinstance(items, list):
            raise RuleError(f"{path}: expected a 'rules:' list")
    elif isinstance(data, list):
        items = data
    else:
        raise RuleError(f"{path}: expected a 'rules:' list")
    return tuple(_validated(path, RuleError, lambda: parse_rules(items, str(path))))


def builtin_rules_file() -> Path:
    """The path of the built-in rule base."""
    return _PACKAGE / "data" / "rules.yaml"


def load_rulebook(
    profile: Profile | None = None, extra: Sequence[Path | str] = ()
) -> tuple[Rule, ...]:
    """All rules in precedence order: ``extra`` files, the user's, the profile's, built-in.

    A tuple: ``first_match`` works out once which rules of a book that cannot change apply
    to each kind of situation.

    A broken ``extra`` file raises RuleError; a broken file in the user's
    folder is skipped (``rule_problems()`` says which and why).
    """
    parts: list[tuple[Rule, ...]] = [_rule_file(path) for path in extra]
    for path in _profile_files(config_dir() / "rules"):
        try:
            parts.append(_rule_file(path))
        except RuleError:
            continue  # reported by rule_problems()
    if profile is not None:
        parts.append(tuple(profile.rules))
    parts.append(_rule_file(builtin_rules_file()))
    book = tuple(rule for part in parts for rule in part)
    # The same rules give back the same tuple, so that what first_match and classify work
    # out once per book (an identity cache) serves every probe of a run, not one.
    key = tuple(map(id, book))
    kept = _BOOKS.get(key)
    if kept is None:
        if len(_BOOKS) >= _BOOKS_KEPT:
            _BOOKS.clear()
        kept = _BOOKS[key] = book  # holds the rules, so that their ids stay theirs
    return kept


_BOOKS: dict[tuple[int, ...], tuple[Rule, ...]] = {}
_BOOKS_KEPT = 16


def builtin_client_errors_file() -> Path:
    """The path of the built-in client-side error signatures."""
    return _PACKAGE / "data" / "client_errors.yaml"


def load_client_errors(path: Path | str | None = None) -> ClientErrors:
    """The client-side error signatures of ``path`` (the built-in file by default).

    Parsed once while the file is unchanged, and for the built-in file kept in the
    compiled cache. RuleError names the file and the signature of a malformed file.
    """
    file = builtin_client_errors_file() if path is None else Path(path)
    return _load_client_errors_file(str(file), _stamp(file))


@functools.lru_cache(maxsize=8)
def _load_client_errors_file(name: str, stamp: _Stamp | None) -> ClientErrors:
    from smtpprobe.core.client_errors import ClientErrors

    compiled = _COMPILED.get(name, stamp)
    if isinstance(compiled, ClientErrors):
        return compiled
    return _parse_client_errors_file(name)


def _parse_client_errors_file(name: str) -> ClientErrors:
    from smtpprobe.core.client_errors import parse_client_errors

    path = Path(name)
    limit = BUILTIN_MAX_BYTES if path == builtin_client_errors_file() else MAX_FILE_BYTES
    data = read_yaml(path, RuleError, "client error signature file", limit)
    # The file's name in messages, as before: it is built in, its folder says nothing.
    return _validated(path, RuleError, lambda: parse_client_errors(data, path.name))


def rule_problems() -> tuple[str, ...]:
    """One line per rule file in the user's folder that ``load_rulebook`` skips."""
    problems: list[str] = []
    for path in _profile_files(config_dir() / "rules"):
        try:
            load_rule_file(path)
        except RuleError as exc:
            problems.append(str(exc))
    return tuple(problems)


# --- the compiled cache of the built-in files --------------------------------------------
# Only the built-in set is kept: it is what every start pays for, it is one file per
# installed copy (so the cache never grows with temporary --profile/--rules paths), and
# its entries are checked against the files' stamps on every use.

# 2: each file's content is a pickle of its own inside the file, and patterns are
# kept as source (LazyPattern), not as re.Pattern (which recompiles when unpickled).
# 3: each rule's examples are a pickle of their own (DeferredExamples).
_CACHE_FORMAT = 3
_Parsed: TypeAlias = "Profile | tuple[Rule, ...] | ClientErrors"
# A file's content (its reader checks the type), or its pickle until that file is asked for.
_Entry: TypeAlias = "tuple[_Stamp, object]"


def _code_stamp() -> tuple[object, ...]:
    """What the pickled objects depend on besides the YAML: Python, smtpprobe, and the
    code that parses and defines them (an edit in a checkout invalidates the cache)."""
    from smtpprobe import __version__

    files = [Path(__file__)]
    try:
        with os.scandir(_PACKAGE / "core") as entries:
            files.extend(Path(e.path) for e in entries if e.name.endswith(".py"))
    except OSError:
        pass
    return (
        _CACHE_FORMAT,
        sys.version,
        __version__,
        str(_PACKAGE),
        tuple(sorted((f.name, _stamp(f)) for f in files)),
    )


def _builtin_files() -> list[tuple[Path, Callable[[str], _Parsed]]]:
    files: list[tuple[Path, Callable[[str], _Parsed]]] = [(builtin_rules_file(), _parse_rule_file)]
    files.extend((Path(p), _parse_profile_file) for p in _profile_files(builtin_profiles_dir()))
    signatures = builtin_client_errors_file()
    if signatures.is_file():  # a stripped-down copy without ``explain``'s data
        files.append((signatures, _parse_client_errors_file))
    return files


class _CompiledCache:
    """The built-in files, parsed, from one pickle; rebuilt (at most once a process)
    when a file or the code changed. Every failure means "parse the YAML as before"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] | None = None
        self._rebuilt = False

    def get(self, path: str, stamp: _Stamp | None) -> object | None:
        """The parsed content of built-in file ``path`` if its stamp is still ``stamp``."""
        if stamp is None or not _is_builtin(path):
            return None
        with self._lock:
            if self._entries is None:
                self._entries = _read_cache() or {}
            entry = self._entries.get(path)
            if (entry is None or entry[0] != stamp) and not self._rebuilt:
                self._rebuilt = True
                self._entries = _rebuild_cache()
                entry = self._entries.get(path)
            if entry is None or entry[0] != stamp:
                return None
            value = entry[1]
            if isinstance(value, bytes):
                # Unpickled when first asked for: a probe never loads the signatures, nor the
                # bounce finder that their module imports.
                loaded = _unpickle(value)
                if loaded is None:
                    del self._entries[path]
                    return None
                self._entries[path] = (stamp, loaded)
                return loaded
            return value


def _unpickle(data: bytes) -> object | None:
    """One file's content (its callers check its type), or None for a damaged entry."""
    try:
        import pickle

        value: object = pickle.loads(data)
    except Exception:
        return None
    return value


def _is_builtin(path: str) -> bool:
    if path in (str(builtin_rules_file()), str(builtin_client_errors_file())):
        return True
    try:
        return os.path.dirname(path) == str(builtin_profiles_dir())
    except ProfileError:
        return False


def _cache_file() -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    import zlib

    tag = zlib.crc32(f"{_PACKAGE}|{sys.version}".encode("utf-8", "surrogateescape"))
    return directory / f"compiled-{tag:08x}.pickle"


def _read_cache() -> dict[str, _Entry] | None:
    try:
        file = _cache_file()
        if file is None:
            return None
        import pickle

        with open(file, "rb") as handle:
            info = os.fstat(handle.fileno())
            # Unpickling runs code named in the file: only a file this user wrote and
            # nobody else could have changed (a shared XDG_CACHE_HOME, a planted file).
            getuid = getattr(os, "geteuid", None)
            if getuid is not None and (info.st_uid != getuid() or info.st_mode & 0o022):
                return None
            data = pickle.loads(handle.read())
        if not isinstance(data, dict) or data.get("code") != _code_stamp():
            return None
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else None
    except Exception:  # a damaged, foreign or outdated cache is a cache miss
        return None


def _rebuild_cache() -> dict[str, _Entry]:
    """Parse every built-in file and save the result; {} when one of them is broken
    (the caller then parses as before and reports that file's own error)."""
    entries: dict[str, _Entry] = {}
    try:
        for path, parse in _builtin_files():
            stamp = _stamp(path)
            value = parse(str(path))
            if stamp is None or stamp != _stamp(path):
                return {}  # changed while being read: do not keep a mixed state
            entries[str(path)] = (stamp, value)
    except Exception:
        return {}
    _write_cache(entries)
    return entries


class DeferredExamples(Sequence[Example]):
    """A cached rule's examples, unpickled when first read.

    A probe never reads them (``smtpprobe rules check`` and the tests do), and they were
    half the records the rule base unpickled at every start: 838 examples and their 839
    situations of ~2,900 records, 1.5 ms of the 3.3 ms the rules took to load.
    """

    __slots__ = ("_data", "_items")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._items: tuple[Example, ...] | None = None

    def _loaded(self) -> tuple[Example, ...]:
        items = self._items
        if items is None:
            import pickle

            items = self._items = tuple(pickle.loads(self._data))
        return items

    @overload
    def __getitem__(self, index: int) -> Example: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Example, ...]: ...
    def __getitem__(self, index: int | slice) -> Example | tuple[Example, ...]:
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())

    def __iter__(self) -> Iterator[Example]:
        return iter(self._loaded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self._loaded() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as a list's: equal to tuples, not one

    def __repr__(self) -> str:
        return repr(self._loaded())

    def __reduce__(self) -> tuple[type[DeferredExamples], tuple[bytes]]:
        return (DeferredExamples, (self._data,))


def _dumps(value: object, protocol: int) -> bytes:
    """``pickle.dumps``, each rule's examples pickled apart as ``DeferredExamples``."""
    import io
    import pickle

    class Pickler(pickle.Pickler):
        def reducer_override(self, obj: object) -> Any:
            if type(obj) is Rule and obj.examples and type(obj.examples) is tuple:
                deferred = DeferredExamples(pickle.dumps(obj.examples, protocol))
                return replace(obj, examples=deferred).__reduce__()
            return NotImplemented

    buffer = io.BytesIO()
    Pickler(buffer, protocol).dump(value)
    return buffer.getvalue()


def _write_cache(entries: dict[str, _Entry]) -> None:
    try:
        file = _cache_file()
        if file is None:
            return
        import pickle

        protocol = pickle.HIGHEST_PROTOCOL
        stored = {  # one pickle per file, so that reading the cache unpickles none of them
            path: (stamp, value if isinstance(value, bytes) else _dumps(value, protocol))
            for path, (stamp, value) in entries.items()
        }
        data = pickle.dumps({"code": _code_stamp(), "entries": stored}, protocol=protocol)
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, file)  # atomic: a concurrent reader sees old or new
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except Exception:  # read-only home, full disk, unpicklable value: run without it
        return


_COMPILED = _CompiledCache()
