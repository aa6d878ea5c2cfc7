"""The Python API: build a probe from options and a profile, run it, classify it.

>>> from smtpprobe import CheckOptions, check
>>> report = check(CheckOptions(profile="ocn", user="me@example.ocn.ne.jp", password=...))
>>> report.verdict.category, report.verdict.exit_code

The CLI is a thin layer over ``check``; everything it prints comes from a
``Report`` through ``smtpprobe.render``.
"""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from smtpprobe.core.profile import Profile
from smtpprobe.core.record import record
from smtpprobe.core.spec import Family, PasswordSource, ProbeSpec, default_recipient, resolve_spec
from smtpprobe.core.transcript import Security
from smtpprobe.errors import ConfigError
from smtpprobe.loading import ProfileSet, load_profile_file, load_profiles
from smtpprobe.probing import check_spec, probe_spec
from smtpprobe.report import GmailSettings, Report

if TYPE_CHECKING:
    from smtpprobe.driver import PhaseListener
    from smtpprobe.paste import MAX_PASTE_BYTES, Explained, explain
    from smtpprobe.routes import Comparison, Route, compare, parse_route, route_outcome
    from smtpprobe.transport import Transport

__all__ = [
    "MAX_PASTE_BYTES",
    "CheckOptions",
    "Comparison",
    "Explained",
    "GmailSettings",
    "Report",
    "Route",
    "check",
    "check_spec",
    "compare",
    "default_recipient",
    "explain",
    "parse_route",
    "probe",
    "probe_spec",
    "resolve",
    "route_outcome",
]


@record
class CheckOptions:
    """What to probe and how. Unset values come from the profile.

    Plain values are accepted where natural (``security="starttls"``, or
    Gmail's words "ssl"/"tls"; ``family="ipv4"``); every value is coerced and
    checked by ``smtpprobe.core.spec.resolve_spec`` before anything is sent,
    and a bad one raises ``ConfigError``. ``password`` and ``oauth_token`` are
    the secrets themselves; the CLI reads them from the environment, standard
    input or a hidden prompt, never from a command-line value. ``expect``
    lists the categories that count as success (exit code 0), for negative
    checks such as ``expect=("relay-denied",)`` with ``no_auth=True``.
    """

    profile: str | None = None
    host: str | None = None
    port: int | None = None
    security: Security | str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    oauth_token: str | None = field(default=None, repr=False)
    sender: str | None = None
    recipient: str | None = None
    no_auth: bool = False
    send: bool = False
    timeout: float = 60.0
    phase_timeout: float = 15.0
    ca_file: Path | None = None
    insecure: bool = False
    source_address: str | None = None
    ehlo_name: str | None = None
    allow_plaintext_auth: bool = False
    profile_files: tuple[Path, ...] = ()
    rule_files: tuple[Path, ...] = ()
    family: Family | str | int = Family.ANY  # also socket.AF_INET / AF_INET6
    # Where the probe comes from (issue 4): a proxy URL (socks5/socks5h/socks4/http),
    # the egress-address lookup, and whether to judge readiness for Gmail.
    proxy: str | None = field(default=None, repr=False)  # may hold the proxy's password
    egress_lookup: bool = True
    egress_timeout: float = 2.0
    egress_resolvers: str | None = None  # "host:port,…"; None: $SMTPPROBE_EGRESS_RESOLVERS
    for_gmail: bool = False
    route: str | None = None  # the route's name in ``compare``; default from the options
    expect: tuple[str, ...] | str = ()
    pipelining: bool = True  # RFC 2920, when the server offers it; False: --no-pipelining
    # Issue 11: SPF/DKIM/DMARC of a custom From domain, beside the probe; off with
    # egress_lookup=False too (offline), or through a proxy. Nameservers: "IP[:PORT]", else
    # $SMTPPROBE_NAMESERVERS, else the system's.
    dns_checks: bool = True
    nameservers: tuple[str, ...] = ()


def _family(value: Family | str | int) -> Family | str:
    # socket's constants differ between systems; the pure spec takes names.
    if isinstance(value, Family | str):
        return value
    if not isinstance(value, int):  # a float such as nan: the spec names it
        return str(value)
    names = {
        int(socket.AF_UNSPEC): "any",
        int(socket.AF_INET): "ipv4",
        int(socket.AF_INET6): "ipv6",
    }
    return names.get(int(value), str(value))


_FLAGS = (
    "no_auth", "send", "insecure", "allow_plaintext_auth", "egress_lookup", "for_gmail",
    "pipelining", "dns_checks",
)  # fmt: skip
_TEXTS = ("profile", "host", "user", "sender", "recipient", "source_address", "ehlo_name",
          "proxy", "egress_resolvers", "route")  # fmt: skip


def checked_options(options: CheckOptions) -> CheckOptions:
    """``options`` with each field of the type it needs, or ConfigError naming the field.

    A Python caller's ``password=b"..."`` once went on the wire as the text ``b'...'`` (a
    wrong password, counted against the account) and ``no_auth="no"`` meant True. One
    path or a string becomes a one-element ``profile_files``/``rule_files``; a number
    given as text is a number, as on the command line.
    """
    if not isinstance(options, CheckOptions):
        raise TypeError(f"give a CheckOptions, not {type(options).__name__}")
    for name in _FLAGS:
        value = getattr(options, name)
        if not isinstance(value, bool):
            raise ConfigError(f"{name}={value!r}: give True or False")
    for name in _TEXTS:
        value = getattr(options, name)
        if value is not None and not isinstance(value, str):
            shown = "a value" if name == "proxy" else repr(value)  # a proxy URL may hold a password
            raise ConfigError(f"{name}={shown}: give a str")
    for name in ("password", "oauth_token"):
        value = getattr(options, name)
        if value is not None and not isinstance(value, str):
            # Never the value itself: it is the secret.
            raise ConfigError(f"{name}: give the secret as a str, not {type(value).__name__}")
    if not isinstance(options.expect, str) and not (
        isinstance(options.expect, tuple | list) and all(isinstance(e, str) for e in options.expect)
    ):
        raise ConfigError(f"expect={options.expect!r}: give category names (str)")
    changes: dict[str, object] = {}
    for name, flag in (("profile_files", "--profile"), ("rule_files", "--rules")):
        value = getattr(options, name)
        if isinstance(value, str | Path) and "\0" in str(value):
            raise ConfigError(f"{name}: a path holds no NUL character")
        paths = [value] if isinstance(value, str | Path) else value
        if isinstance(paths, tuple | list) and any(
            isinstance(v, str) and not v.strip() for v in paths
        ):  # Path("") is ".", the current folder: say what was given instead
            raise ConfigError(f"{flag} '': give the path of a YAML file")
        if isinstance(value, str | Path):
            changes[name] = (Path(value),)
        elif not isinstance(value, tuple | list) or not all(
            isinstance(v, str | Path) for v in value
        ):
            raise ConfigError(f"{name}={value!r}: give a tuple of paths")
        elif any("\0" in str(v) for v in value):
            raise ConfigError(f"{name}: a path holds no NUL character")
        else:
            changes[name] = tuple(Path(v) for v in value)
    if isinstance(options.family, bool) or not isinstance(options.family, Family | str | int):
        raise ConfigError(f"family={options.family!r}: use any, ipv4 or ipv6")
    if options.ca_file is not None and (
        not isinstance(options.ca_file, str | Path)
        or not str(options.ca_file).strip()
        or "\0" in str(options.ca_file)
    ):
        raise ConfigError(f"--ca-file {options.ca_file!r}: give the path of a CA file (PEM)")
    try:
        egress = float(options.egress_timeout)
    except (TypeError, ValueError):
        raise ConfigError(f"egress_timeout={options.egress_timeout!r}: give seconds") from None
    changes["egress_timeout"] = egress
    return dataclasses.replace(options, **changes)  # type: ignore[arg-type]


def resolve(
    options: CheckOptions,
    password_source: PasswordSource | None = None,
    *,
    profiles: ProfileSet | None = None,
) -> tuple[ProbeSpec, Profile | None]:
    """Load the profiles and validate ``options`` into a ProbeSpec (``resolve_spec``).

    ``profiles`` are the loaded built-in and user profiles when the caller already has
    them (health checks resolve many checks against one set); ignored when
    ``options.profile_files`` names files of its own. Raises ``ConfigError``/``ProfileError``
    for anything that cannot work, before any connection is made.
    """
    options = checked_options(options)
    if profiles is None or options.profile_files:
        profiles = load_profiles(options.profile_files)
    if options.profile is None and options.profile_files:
        # `--profile FILE` alone: that file's profile is the one to use.
        options = dataclasses.replace(
            options, profile=load_profile_file(options.profile_files[-1]).name
        )
    spec, profile = resolve_spec(
        dataclasses.replace(options, family=_family(options.family)), profiles, password_source
    )
    if spec.ca_file is not None:
        from smtpprobe.tls import check_ca_file

        check_ca_file(spec.ca_file)  # a CA file that cannot be read: exit 2, now
    if "%" in spec.host:
        from smtpprobe.transport import scope_index

        scope_index(spec.host)  # `::1%eth9` with no eth9 here: exit 2, now
    return spec, profile


async def probe(
    options: CheckOptions,
    password_source: PasswordSource | None = None,
    *,
    on_phase: PhaseListener | None = None,
    transport: Transport | None = None,
) -> Report:
    """Run one probe as asked and classify it. Raises SmtpprobeError for bad options.

    ``on_phase(phase, seconds)`` hears each wait begin (for a status line);
    ``transport`` replaces the network (``smtpprobe.testing.transport.MockTransport``).
    """
    options = checked_options(options)
    spec, profile = resolve(options, password_source)
    return await probe_spec(spec, profile, options, on_phase=on_phase, transport=transport)


def check(
    options: CheckOptions,
    password_source: PasswordSource | None = None,
    *,
    on_phase: PhaseListener | None = None,
) -> Report:
    """Synchronous ``probe``, on blocking sockets with no event loop (``check_spec``).

    The same verdict as ``probe``; an egress lookup or DNS checks, when they apply, run
    on a thread beside it. Use ``probe`` to run many probes concurrently.
    """
    options = checked_options(options)
    spec, profile = resolve(options, password_source)
    return check_spec(spec, profile, options, on_phase=on_phase)


def __getattr__(name: str) -> object:
    # explain's names load on first use: a probe need not import the email package.
    if name in ("MAX_PASTE_BYTES", "Explained", "explain"):
        from smtpprobe import paste

        return getattr(paste, name)
    # compare's names too: a single check does not compare routes.
    if name in ("Comparison", "Route", "compare", "parse_route", "route_outcome"):
        from smtpprobe import routes

        return getattr(routes, name)
    raise AttributeError(f"module 'smtpprobe.api' has no attribute {name!r}")
