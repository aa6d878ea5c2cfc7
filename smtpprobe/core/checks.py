"""The checks file (issue 10): named health checks, validated from already-parsed YAML data.

Pure: ``smtpprobe.checks.load_checks`` reads the file and hands the data here. A
checks document has two keys, ``defaults`` (applied to every check; ``labels`` are
merged, the check's own winning) and ``checks`` (a list of mappings). The key names
are an interface: monitoring configurations depend on them, so a key this module
does not know is an error, never ignored (a typo such as ``secuirty`` would
otherwise probe the wrong port for months). Every error is one line naming the
file, the check and the key::

    checks.yaml: check 'ocn-main': key 'port': must be a number from 1 to 65535

A secret never lives in the file: ``password`` says where to find it, one of
``{env: VAR}``, ``{keyring: SERVICE}`` (optionally ``username:``, default the
check's ``user``) or ``{command: "pass show ocn"}`` (a string, or a list of
arguments). Values that need the loaded profiles (a profile's name, mail
addresses against their profile) are checked by ``smtpprobe.core.spec`` when
the checks are loaded; this module checks each value's shape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any, Literal

from smtpprobe.core.errors import ConfigError
from smtpprobe.core.record import record
from smtpprobe.core.rules import CATEGORIES
from smtpprobe.core.spec import coerce_security, validate_host

__all__ = [
    "CHECK_KEYS",
    "DEFAULT_INTERVAL",
    "DEFAULT_PHASE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "CheckDef",
    "ChecksError",
    "ChecksFile",
    "SecretRef",
    "needs_shell",
    "parse_checks",
]

DEFAULT_TIMEOUT = 60.0  # as `check --timeout`
DEFAULT_PHASE_TIMEOUT = 15.0  # as `check --phase-timeout`
DEFAULT_INTERVAL = 300.0  # seconds between runs of one check (the exporter, timers)

# The keys of one check. Those of the issue are fixed; the rest mirror `check`'s options.
CHECK_KEYS = frozenset(
    {
        "name", "profile", "host", "port", "security", "user", "from", "to", "password",
        "ca_file", "source_address", "proxy", "labels",
        "expect", "no_auth", "ehlo", "insecure", "allow_plaintext_auth", "egress_lookup",
        "interval", "timeout", "phase_timeout",
    }
)  # fmt: skip
_TOP_KEYS = frozenset({"defaults", "checks"})
_DEFAULT_KEYS = CHECK_KEYS - {"name"}
_SECRET_KINDS = ("env", "keyring", "command")
# A check's name is the exporter's target (`/probe?target=NAME`) and a history key:
# something that needs no quoting in a URL, a shell or a file name.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*), "__" prefix reserved.
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Characters that only a shell gives a meaning to: a command line holding one runs
# through `/bin/sh -c` (a pipe, `$HOME`, a glob); any other runs as its words.
_SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?~\[\]{}!#\\]")


class ChecksError(ConfigError):
    """The checks file is missing, malformed or names a value that cannot work (exit 2)."""


@record
class SecretRef:
    """Where a check's password comes from; never the password itself."""

    kind: Literal["env", "keyring", "command"]
    value: str  # the variable name, the keyring service, or the command line
    username: str | None = None  # keyring's username (default: the check's user)
    argv: tuple[str, ...] = ()  # a command given as a list: its arguments, run without a shell

    def describe(self) -> str:
        """Where the secret comes from, for messages (a command's words are not secret)."""
        if self.kind == "env":
            return f"environment variable {self.value}"
        if self.kind == "keyring":
            return f"keyring service {self.value!r}"
        return f"command {self.value!r}"


@record
class CheckDef:
    """One named check, defaults applied. ``sender``/``recipient`` are the YAML ``from``/``to``."""

    name: str
    profile: str | None = None
    host: str | None = None
    port: int | None = None
    security: str | None = None
    user: str | None = None
    sender: str | None = None
    recipient: str | None = None
    password: SecretRef | None = None
    ca_file: str | None = None
    source_address: str | None = None
    proxy: str | None = field(default=None, repr=False)  # a proxy URL may hold a password
    labels: Mapping[str, str] = field(default_factory=dict)
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    phase_timeout: float = DEFAULT_PHASE_TIMEOUT
    no_auth: bool = False
    expect: tuple[str, ...] = ()
    ehlo: str | None = None
    insecure: bool = False
    egress_lookup: bool = True
    allow_plaintext_auth: bool = False
    source: str = ""  # the file it came from, for messages

    @property
    def server_key(self) -> str:
        """The per-host limit's key: the host, else the profile's name, lower-cased."""
        return (self.host or self.profile or "").lower()

    def where(self, key: str | None = None) -> str:
        """``FILE: check 'NAME'`` (and ``: key 'KEY'``), the start of every message about it."""
        text = f"{self.source}: check '{self.name}'" if self.source else f"check '{self.name}'"
        return f"{text}: key '{key}'" if key else text


@record
class ChecksFile:
    """A validated checks file: its checks in file order, names unique."""

    path: str
    checks: tuple[CheckDef, ...]

    def get(self, name: str) -> CheckDef | None:
        """The check called ``name``, or None."""
        return next((c for c in self.checks if c.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        """The checks' names, in file order."""
        return tuple(c.name for c in self.checks)


def needs_shell(command: str) -> bool:
    """Whether a command line uses shell syntax (then it runs as ``/bin/sh -c LINE``).

    ``pass show ocn`` runs as the words ``pass``, ``show``, ``ocn`` (no shell:
    nothing in the line is interpreted); ``pass show ocn | head -1`` or
    ``cat $HOME/pw`` need a shell and get one.
    """
    return bool(_SHELL_SYNTAX.search(command))


# --------------------------------------------------------------------------- values


class _At:
    """Where a value sits, to name it in a message."""

    def __init__(self, source: str, check: str | None, key: str) -> None:
        self.source, self.check, self.key = source, check, key

    def error(self, message: str) -> ChecksError:
        parts = [self.source] if self.source else []
        if self.check is not None:
            parts.append(f"check '{self.check}'")
        parts.append(f"key '{self.key}'")
        return ChecksError(f"{': '.join(parts)}: {_short(message)}")


def _short(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= 300 else f"{line[:300]}…"


def _text(value: Any, at: _At) -> str:
    if not isinstance(value, str) or not value.strip():
        raise at.error("must be a non-empty string")
    if _CONTROL.search(value):
        raise at.error("must not contain control characters")
    return value.strip()


def _optional_text(value: Any, at: _At) -> str | None:
    return None if value is None else _text(value, at)


def _bool(value: Any, at: _At) -> bool:
    if not isinstance(value, bool):
        raise at.error(f"must be true or false, not {value!r}")
    return value


def _seconds(value: Any, at: _At) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise at.error(f"must be a number of seconds, not {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise at.error(f"must be a positive, finite number of seconds, not {value!r}")
    return seconds


def _port(value: Any, at: _At) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise at.error(f"must be a number from 1 to 65535, not {value!r}")
    return value


def _security(value: Any, at: _At) -> str | None:
    if value is None:
        return None
    try:
        return coerce_security(value).value
    except ConfigError:
        raise at.error(f"{value!r}: use implicit-tls (ssl), starttls (tls) or plain") from None


def _host(value: Any, at: _At) -> str | None:
    if value is None:
        return None
    try:
        validate_host(value, "host")
    except ConfigError as exc:
        raise at.error(str(exc).removeprefix("host").strip(" :")) from None
    return str(value).strip()


def _labels(value: Any, at: _At) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise at.error("must be a mapping of label names to values, e.g. {team: mail}")
    labels: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _LABEL_NAME.match(name) or name.startswith("__"):
            raise at.error(
                f"label name {name!r}: use letters, digits and '_', not starting with a "
                "digit or '__' (Prometheus label names)"
            )
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise at.error(f"label {name!r}: the value must be a string or a number")
        text = str(item)
        if _CONTROL.search(text):
            raise at.error(f"label {name!r}: the value must not contain control characters")
        labels[name] = text
    return labels


def _expect(value: Any, at: _At) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise at.error("must be a category or a list of categories, e.g. [relay-denied]")
    names = [p.strip() for item in items for p in item.split(",") if p.strip()]
    if items and not names:  # `expect: ''`: an empty expectation would pass on any verdict
        raise at.error("is empty: name one or more categories, e.g. [relay-denied]")
    unknown = [n for n in names if n not in CATEGORIES]
    if unknown:
        raise at.error(f"{', '.join(unknown)}: not a category; use one of {', '.join(CATEGORIES)}")
    return tuple(dict.fromkeys(names))


def _secret(value: Any, at: _At, user: str | None) -> SecretRef | None:
    if value is None:
        return None
    if isinstance(value, str | int | float):
        raise at.error(
            "a password never goes in the checks file; say where it is: {env: VAR}, "
            '{keyring: SERVICE} or {command: "pass show NAME"}'
        )
    if not isinstance(value, Mapping):
        raise at.error("must be one of {env: VAR}, {keyring: SERVICE}, {command: CMD}")
    kinds = [k for k in _SECRET_KINDS if k in value]
    extra = sorted(set(map(str, value)) - {*_SECRET_KINDS, "username"})
    if extra:
        raise at.error(f"unknown key {extra[0]!r}; use env, keyring or command")
    if len(kinds) != 1:
        raise at.error("give exactly one of env, keyring or command")
    kind = kinds[0]
    if "username" in value and kind != "keyring":
        raise at.error("'username' goes only with keyring")
    inner = _At(at.source, at.check, f"{at.key}.{kind}")
    raw = value[kind]
    if kind == "env":
        name = _text(raw, inner)
        if not _ENV_NAME.match(name):
            raise inner.error(f"{name!r} is not an environment variable name")
        return SecretRef("env", name)
    if kind == "keyring":
        service = _text(raw, inner)
        named = _At(at.source, at.check, f"{at.key}.username")
        username = _optional_text(value.get("username"), named)
        if (username or user) is None:
            raise inner.error("the keyring needs a user name: set 'user' or password.username")
        return SecretRef("keyring", service, username=username or user)
    if isinstance(raw, list):
        if not raw or not all(isinstance(a, str) and a and not _CONTROL.search(a) for a in raw):
            raise inner.error("a command given as a list holds non-empty strings")
        return SecretRef("command", " ".join(raw), argv=tuple(raw))
    return SecretRef("command", _text(raw, inner))


# --------------------------------------------------------------------------- the document


def _check(raw: Mapping[str, Any], defaults: Mapping[str, Any], source: str) -> CheckDef:
    name = raw["name"]
    merged = {**defaults, **raw}
    labels = {
        **_labels(defaults.get("labels"), _At(source, None, "defaults.labels")),
        **_labels(raw.get("labels"), _At(source, name, "labels")),
    }

    def at(key: str) -> _At:
        return _At(source, name, key)

    no_auth = _bool(merged.get("no_auth", False), at("no_auth"))
    user = _optional_text(merged.get("user"), at("user"))
    password = _secret(merged.get("password"), at("password"), user)
    if not no_auth:
        if user is None:
            raise at("user").error("required (or no_auth: true to probe without logging in)")
        if password is None:
            raise at("password").error(
                "required: {env: VAR}, {keyring: SERVICE} or {command: CMD} "
                "(or no_auth: true to probe without logging in)"
            )
    elif "password" in raw:
        raise at("password").error("no_auth: true sends no password; remove one of the two")
    profile = _optional_text(merged.get("profile"), at("profile"))
    host = _host(merged.get("host"), at("host"))
    if profile is None and host is None:
        raise ChecksError(f"{source}: check '{name}': give a profile or a host")
    timeout = _seconds(merged.get("timeout", DEFAULT_TIMEOUT), at("timeout"))
    phase_timeout = _seconds(
        merged.get("phase_timeout", DEFAULT_PHASE_TIMEOUT), at("phase_timeout")
    )
    return CheckDef(
        name=name,
        profile=profile,
        host=host,
        port=_port(merged.get("port"), at("port")),
        security=_security(merged.get("security"), at("security")),
        user=user,
        sender=_optional_text(merged.get("from"), at("from")),
        recipient=_optional_text(merged.get("to"), at("to")),
        password=password,
        ca_file=_optional_text(merged.get("ca_file"), at("ca_file")),
        source_address=_optional_text(merged.get("source_address"), at("source_address")),
        proxy=_optional_text(merged.get("proxy"), at("proxy")),
        labels=labels,
        interval=_seconds(merged.get("interval", DEFAULT_INTERVAL), at("interval")),
        timeout=timeout,
        phase_timeout=min(phase_timeout, timeout),
        no_auth=no_auth,
        expect=_expect(merged.get("expect"), at("expect")),
        ehlo=_optional_text(merged.get("ehlo"), at("ehlo")),
        insecure=_bool(merged.get("insecure", False), at("insecure")),
        egress_lookup=_bool(merged.get("egress_lookup", True), at("egress_lookup")),
        allow_plaintext_auth=_bool(
            merged.get("allow_plaintext_auth", False), at("allow_plaintext_auth")
        ),
        source=source,
    )


def _unknown(keys: Iterable[object], allowed: frozenset[str]) -> str | None:
    names = sorted(str(k) for k in keys if k not in allowed)
    return names[0] if names else None


def _suggest(key: str, allowed: frozenset[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_checks(data: object, *, source: str) -> ChecksFile:
    """Validate a parsed checks document into a ``ChecksFile``. Raises ``ChecksError``."""
    if not isinstance(data, Mapping):
        raise ChecksError(f"{source}: expected a mapping with 'checks:' (and optional 'defaults:')")
    if (key := _unknown(data, _TOP_KEYS)) is not None:
        raise ChecksError(
            f"{source}: key '{key}': unknown{_suggest(key, _TOP_KEYS)}; "
            "the top level holds 'defaults' and 'checks'"
        )
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise ChecksError(f"{source}: key 'defaults': must be a mapping")
    if (key := _unknown(defaults, _DEFAULT_KEYS)) is not None:
        hint = " (each check has its own name)" if key == "name" else _suggest(key, _DEFAULT_KEYS)
        raise ChecksError(f"{source}: key 'defaults.{key}': unknown{hint}")
    items = data.get("checks")
    if not isinstance(items, list) or not items:
        raise ChecksError(f"{source}: key 'checks': must be a non-empty list of checks")
    checks: list[CheckDef] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        where = f"{source}: checks[{index}]"
        if not isinstance(raw, Mapping):
            raise ChecksError(f"{where}: each check is a mapping with a 'name'")
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ChecksError(
                f"{where}: key 'name': {'required' if name is None else repr(name)}; a name "
                "is 1-64 letters, digits, '.', '_' or '-' (it is the exporter's target)"
            )
        if name in seen:
            raise ChecksError(f"{source}: check '{name}': key 'name': used twice; names are unique")
        seen.add(name)
        if (key := _unknown(raw, CHECK_KEYS)) is not None:
            raise ChecksError(
                f"{source}: check '{name}': key '{key}': unknown{_suggest(key, CHECK_KEYS)}"
            )
        checks.append(_check(raw, defaults, source))
    return ChecksFile(path=source, checks=tuple(checks))
