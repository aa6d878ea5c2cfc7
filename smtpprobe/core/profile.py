"""Provider profiles: the schema and its validation from plain dicts.

A profile says where a provider's submission server is and how to talk to it:
host (or a host pattern the user completes), port, security mode, the form of
the user name, preferred AUTH mechanisms, notes, and provider-specific
diagnosis rules. ``smtpprobe.loading`` reads the YAML; this module validates.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from smtpprobe.core.errors import SmtpprobeError
from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.record import record
from smtpprobe.core.rules import Rule, Text, parse_rules
from smtpprobe.core.transcript import Security

__all__ = [
    "AUTH_MECHANISMS",
    "UNVERIFIABLE",
    "USERNAME_FORMS",
    "Profile",
    "ProfileError",
    "parse_profile",
]

AUTH_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")
_NOT_IN_HOST = LazyPattern(r"[\x00-\x20\x7f-\x9f]")
USERNAME_FORMS = ("email", "local-part", "account-id", "any")
_KEYS = frozenset(
    {
        "name",
        "title",
        "title_ja",
        "host",
        "host_pattern",
        "port",
        "security",
        "username",
        "auth_mechanisms",
        "password_env",
        "alternatives",
        "notes",
        "sources",
        "rules",
        "geo_ip_filter",
        "geo_ip_filter_setting",
        "gmail",
        "unverified",
    }
)
# The keys whose value a provider's own page should confirm. A profile lists under
# ``unverified`` those that no page of the provider confirmed, and ``profiles show``
# marks them, so a user knows which value to doubt first when the probe fails.
UNVERIFIABLE = (
    "host",
    "host_pattern",
    "port",
    "security",
    "alternatives",
    "username",
    "auth_mechanisms",
    "geo_ip_filter",
    "geo_ip_filter_setting",
    "notes",
    "gmail",
)
# Keys with a default: they may be marked unverified even when the file omits them.
_DEFAULTED = frozenset({"username", "auth_mechanisms", "geo_ip_filter"})


class ProfileError(SmtpprobeError, ValueError):
    """A profile that cannot be used; the message names file, key and problem."""


@record
class Alternative:
    """Another port/security pair the provider documents (e.g. 587 STARTTLS beside 465)."""

    port: int
    security: Security


@record
class Profile:
    """One provider's submission settings."""

    name: str
    title: str
    port: int
    security: Security
    host: str | None = None
    host_pattern: str | None = None
    username: str = "email"
    auth_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    password_env: str | None = None
    alternatives: tuple[Alternative, ...] = ()
    notes: Text | None = None
    sources: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = field(default=(), compare=False)
    geo_ip_filter: bool = False
    geo_ip_filter_setting: Text | None = None  # how to turn that filter off, in the panel
    gmail_notes: Text | None = None
    title_ja: str = ""  # the title in Japanese, where the English one has words, not names
    source: str = ""
    unverified: frozenset[str] = frozenset()  # keys no page of the provider confirmed

    def accepts_host(self, host: str) -> bool:
        """Whether ``host`` fits this profile's fixed host or host pattern."""
        host = host.lower().rstrip(".")
        if self.host is not None and host == self.host.lower():
            return True
        return self.host_pattern is not None and fnmatch.fnmatch(host, self.host_pattern.lower())


def _port(value: Any, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ProfileError(f"{where}: '{key}' must be a port number from 1 to 65535, not {value!r}")
    return value


def _security(value: Any, where: str, key: str) -> Security:
    try:
        return Security(value)
    except ValueError:
        choices = ", ".join(s.value for s in Security)
        raise ProfileError(f"{where}: '{key}' must be one of {choices}, not {value!r}") from None


def _text(value: Any, where: str, key: str) -> Text | None:
    if value is None:
        return None
    if (
        isinstance(value, Mapping)
        and isinstance(value.get("en"), str)
        and isinstance(value.get("ja"), str)
    ):
        return Text(en=value["en"].strip(), ja=value["ja"].strip())
    raise ProfileError(f"{where}: '{key}' must be a mapping with 'en' and 'ja' strings")


def _unverified(data: Mapping[Any, Any], source: str) -> frozenset[str]:
    value = data.get("unverified", []) or []
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ProfileError(f"{source}: 'unverified' must be a list of key names")
    for key in value:
        if key not in UNVERIFIABLE:
            raise ProfileError(
                f"{source}: 'unverified' names {key!r}; it may name: {', '.join(UNVERIFIABLE)}"
            )
        if key not in data and key not in _DEFAULTED:
            raise ProfileError(
                f"{source}: 'unverified' names {key!r}, which this profile does not set"
            )
    return frozenset(value)


def parse_profile(data: Any, source: str, *, default_name: str | None = None) -> Profile:
    """Validate one profile dict; ``source`` (a file path) is named in every error."""
    from smtpprobe.core.rules import RuleError

    if not isinstance(data, Mapping):
        raise ProfileError(f"{source}: a profile must be a YAML mapping")
    unknown = set(data) - _KEYS
    if unknown:
        raise ProfileError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    name = data.get("name", default_name)
    if name is not None and not isinstance(name, str):
        raise ProfileError(f"{source}: 'name' must be a word such as my-isp, not {name!r}")
    if not name:
        raise ProfileError(f"{source}: 'name' is required")
    host, pattern = data.get("host"), data.get("host_pattern")
    if host is None and pattern is None:
        raise ProfileError(f"{source}: one of 'host' or 'host_pattern' is required")
    for key, value in (("host", host), ("host_pattern", pattern)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ProfileError(f"{source}: '{key}' must be a host name")
        # A host name never holds a space or a control character (RFC 1123 section 2.1);
        # a NUL would otherwise reach the resolver and fail there as an internal error.
        if value is not None and (len(value) > 253 or _NOT_IN_HOST.search(value)):
            raise ProfileError(
                f"{source}: '{key}' {value[:80]!r} is not a host name (no spaces or "
                "control characters, at most 253 characters)"
            )
    if "port" not in data:
        raise ProfileError(f"{source}: 'port' is required")
    port = _port(data["port"], source, "port")
    if "security" not in data:
        raise ProfileError(f"{source}: 'security' is required")
    security = _security(data["security"], source, "security")
    username = data.get("username", "email")
    if username not in USERNAME_FORMS:
        raise ProfileError(
            f"{source}: 'username' must be one of {', '.join(USERNAME_FORMS)}, not {username!r}"
        )
    mechanisms = data.get("auth_mechanisms", ["PLAIN", "LOGIN"])
    if not isinstance(mechanisms, list) or not mechanisms:
        raise ProfileError(f"{source}: 'auth_mechanisms' must be a non-empty list")
    for mech in mechanisms:
        if str(mech).upper() not in AUTH_MECHANISMS:
            raise ProfileError(
                f"{source}: 'auth_mechanisms' has {mech!r}; supported: {', '.join(AUTH_MECHANISMS)}"
            )
    alternatives: list[Alternative] = []
    for i, alt in enumerate(data.get("alternatives", []) or []):
        where = f"{source}: alternatives[{i}]"
        if not isinstance(alt, Mapping):
            raise ProfileError(f"{where}: must be a mapping with 'port' and 'security'")
        alternatives.append(
            Alternative(
                port=_port(alt.get("port"), where, "port"),
                security=_security(alt.get("security"), where, "security"),
            )
        )
    sources = data.get("sources", []) or []
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise ProfileError(f"{source}: 'sources' must be a list of URLs")
    password_env = data.get("password_env")
    if password_env is not None and not isinstance(password_env, str):
        raise ProfileError(f"{source}: 'password_env' must be an environment variable name")
    rules_raw = data.get("rules", []) or []
    if not isinstance(rules_raw, list):
        raise ProfileError(f"{source}: 'rules' must be a list of rules")
    try:
        rules = parse_rules(rules_raw, source, profile=name)
    except RuleError as exc:
        raise ProfileError(str(exc)) from None
    geo = data.get("geo_ip_filter", False)
    if not isinstance(geo, bool):
        raise ProfileError(f"{source}: 'geo_ip_filter' must be true or false")
    return Profile(
        name=name,
        title=str(data.get("title", name)),
        title_ja=str(data.get("title_ja", "")),
        host=host,
        host_pattern=pattern,
        port=port,
        security=security,
        username=username,
        auth_mechanisms=tuple(str(m).upper() for m in mechanisms),
        password_env=password_env,
        alternatives=tuple(alternatives),
        notes=_text(data.get("notes"), source, "notes"),
        sources=tuple(sources),
        rules=tuple(rules),
        geo_ip_filter=geo,
        geo_ip_filter_setting=_text(
            data.get("geo_ip_filter_setting"), source, "geo_ip_filter_setting"
        ),
        gmail_notes=_text(data.get("gmail"), source, "gmail"),
        source=source,
        unverified=_unverified(data, source),
    )
