"""The Python API: build a probe from options and a profile, run it, classify it.

>>> from smtpprobe import CheckOptions, check
>>> report = check(CheckOptions(profile="ocn", user="me@example.ocn.ne.jp", password=...))
>>> report.verdict.category, report.verdict.exit_code

The CLI is a thin layer over ``check``; everything it prints comes from a
``Report`` through ``smtpprobe.render``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import socket
from dataclasses import dataclass, field
from pathlib import Path

from smtpprobe.core.bounce import Pasted, decode_pasted, find_replies
from smtpprobe.core.classify import ExitCode, Verdict, classify
from smtpprobe.core.compare import Conclusion, RouteOutcome, conclude, exit_code_of
from smtpprobe.core.explain import Explanation, explain_found
from smtpprobe.core.origin import build_origin, echoed_address
from smtpprobe.core.profile import Profile
from smtpprobe.core.readiness import GmailReadiness, gmail_readiness
from smtpprobe.core.redact import Redactor
from smtpprobe.core.rules import Rule
from smtpprobe.core.spec import (
    Family,
    PasswordSource,
    ProbeSpec,
    default_recipient,
    parse_proxy,
    resolve_spec,
)
from smtpprobe.core.transcript import Security, Transcript
from smtpprobe.errors import ConfigError
from smtpprobe.loading import load_profile_file, load_profiles, load_rulebook

__all__ = [
    "MAX_PASTE_BYTES",
    "CheckOptions",
    "Comparison",
    "Explained",
    "GmailSettings",
    "Report",
    "Route",
    "check",
    "compare",
    "default_recipient",
    "explain",
    "parse_route",
    "probe",
    "resolve",
]


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class GmailSettings:
    """The values to type into Gmail's "Send mail as" dialog after a successful probe."""

    smtp_server: str
    port: int
    username: str
    security: str  # "ssl" or "tls", as Gmail's two radio buttons

    @property
    def label(self) -> dict[str, str]:
        """The radio button's caption in English and Japanese."""
        if self.security == "ssl":
            return {
                "en": "Secured connection using SSL",
                "ja": "SSL を使用したセキュリティで保護された接続",
            }
        return {
            "en": "Secured connection using TLS",
            "ja": "TLS を使用したセキュリティで保護された接続",
        }


@dataclass(frozen=True, slots=True)
class Report:
    """One finished probe: what happened, the verdict, and what to type into Gmail."""

    transcript: Transcript
    verdict: Verdict
    profile: Profile | None
    started_at: str
    redactor: Redactor = field(repr=False)
    gmail_readiness: GmailReadiness | None = None
    expect: tuple[str, ...] = ()

    @property
    def expect_met(self) -> bool | None:
        """With ``expect``: whether the verdict's category is one of them; else None."""
        if not self.expect:
            return None
        return self.verdict.category in self.expect

    @property
    def exit_code(self) -> int:
        """The process exit code: the verdict's, or with ``expect``, 0 when it was met.

        An unmet expectation is 1 (the server behaved otherwise), or the
        verdict's own 3 when the dialogue could not be completed.
        """
        if not self.expect:
            return int(self.verdict.exit_code)
        if self.expect_met:
            return int(ExitCode.ACCEPTED)
        if self.verdict.exit_code is ExitCode.INCOMPLETE:
            return int(ExitCode.INCOMPLETE)
        return int(ExitCode.REFUSED)

    @property
    def gmail_settings(self) -> GmailSettings | None:
        """Only when everything passed with authentication over TLS: Gmail refuses plaintext."""
        target = self.transcript.target
        if not self.verdict.ok or self.transcript.no_auth or target.security is Security.PLAIN:
            return None
        return GmailSettings(
            smtp_server=target.host,
            port=target.port,
            username=self.transcript.username or "",
            security="ssl" if target.security is Security.IMPLICIT_TLS else "tls",
        )


def _family(value: Family | str | int) -> Family | str:
    # socket's constants differ between systems; the pure spec takes names.
    if isinstance(value, Family | str):
        return value
    names = {
        int(socket.AF_UNSPEC): "any",
        int(socket.AF_INET): "ipv4",
        int(socket.AF_INET6): "ipv6",
    }
    return names.get(int(value), str(value))


def resolve(
    options: CheckOptions, password_source: PasswordSource | None = None
) -> tuple[ProbeSpec, Profile | None]:
    """Load the profiles and validate ``options`` into a ProbeSpec (``resolve_spec``).

    Raises ``ConfigError``/``ProfileError`` for anything that cannot work,
    before any connection is made.
    """
    profiles = load_profiles(options.profile_files)
    if options.profile is None and options.profile_files:
        # `--profile FILE` alone: that file's profile is the one to use.
        options = dataclasses.replace(
            options, profile=load_profile_file(options.profile_files[-1]).name
        )
    return resolve_spec(
        dataclasses.replace(options, family=_family(options.family)), profiles, password_source
    )


async def probe(options: CheckOptions, password_source: PasswordSource | None = None) -> Report:
    """Run one probe as asked and classify it. Raises SmtpprobeError for bad options."""
    spec, profile = resolve(options, password_source)
    return await probe_spec(spec, profile, options)


async def probe_spec(spec: ProbeSpec, profile: Profile | None, options: CheckOptions) -> Report:
    """Run a validated spec: the probe, the egress lookup beside it, the verdict."""
    from smtpprobe.driver import run_probe
    from smtpprobe.egress import country_of, egress_queries, lookup_egress

    rules = load_rulebook(profile, options.rule_files)
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    queries = (
        egress_queries(options.egress_resolvers)
        if options.egress_lookup and spec.proxy is None
        else ()
    )
    secrets: list[str] = []
    if spec.credentials is not None:
        secrets.extend(spec.credentials.secrets())
    if spec.proxy is not None and spec.proxy.password:
        secrets.append(spec.proxy.password)
    if queries:
        # Concurrently: the egress lookup's short timeout never lengthens a probe
        # that takes longer than it, and offline it ends at the first ICMP refusal.
        transcript, egress = await asyncio.gather(
            run_probe(spec, secrets),
            lookup_egress(queries, timeout=options.egress_timeout, source=spec.source_address),
        )
    else:
        transcript, egress = await run_probe(spec, secrets), None
    target = transcript.target
    if spec.proxy is not None:
        egress_note = "no DNS egress lookup through a proxy (UDP cannot follow the route)"
    elif egress is None:
        egress_note = "egress lookup off (--no-egress-lookup)"
    else:
        egress_note = egress.note
    transcript.origin = build_origin(
        local_address=target.source_address,
        route=options.route or spec.route,
        egress=(egress.address, egress.method)
        if egress is not None and egress.address and egress.method
        else None,
        egress_note=egress_note,
        proxy_address=target.proxy_address,
        echoed=echoed_address(transcript),
        server_address=target.address_used,
        country_of=country_of,
    )
    verdict = classify(transcript, rules)
    readiness = None
    if options.for_gmail or (profile is not None and profile.geo_ip_filter):
        readiness = gmail_readiness(
            category=verdict.category,
            profile=profile,
            host=spec.host,
            origin=transcript.origin,
            authenticated=spec.credentials is not None,
        )
    return Report(
        transcript=transcript,
        verdict=verdict,
        profile=profile,
        started_at=started_at,
        redactor=Redactor(secrets),
        gmail_readiness=readiness,
        expect=spec.expect,
    )


def check(options: CheckOptions, password_source: PasswordSource | None = None) -> Report:
    """Synchronous ``probe``: runs its own event loop."""
    return asyncio.run(probe(options, password_source))


# --- compare: the same check over several routes -----------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One way out: ``direct``, ``source:IP`` (bind) or ``proxy:URL``."""

    name: str
    source_address: str | None = None
    proxy: str | None = field(default=None, repr=False)


def parse_route(text: str) -> Route:
    """Parse ``direct``, ``source:IP`` or ``proxy:URL``; raises ConfigError otherwise."""
    kind, _, value = text.partition(":")
    kind = kind.strip().lower()
    if kind == "direct" and not value:
        return Route("direct")
    if kind == "source" and value:
        return Route(f"source:{value}", source_address=value)
    if kind == "proxy" and value:
        return Route(f"proxy:{parse_proxy(value).display}", proxy=value)
    raise ConfigError(
        f"--route {text!r}: use direct, source:IP (e.g. source:192.0.2.7) or proxy:URL "
        "(e.g. proxy:socks5h://127.0.0.1:1080)"
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every route's report, what their agreement or disagreement means, and the exit code."""

    routes: tuple[Route, ...]
    reports: tuple[Report, ...]
    conclusion: Conclusion
    exit_code: int


def route_outcome(route: Route, report: Report) -> RouteOutcome:
    """A report reduced to what ``conclude`` compares."""
    origin = report.transcript.origin
    address = None
    if origin is not None:
        address = origin.public_address or origin.local_address
    return RouteOutcome(
        route=route.name,
        category=report.verdict.category,
        stage=report.verdict.stage,
        exit_code=int(report.verdict.exit_code),
        address=address,
        country=origin.country if origin else None,
        no_auth=report.transcript.no_auth,
    )


async def compare(
    options: CheckOptions,
    routes: tuple[Route, ...],
    password_source: PasswordSource | None = None,
) -> Comparison:
    """Run ``options`` over every route concurrently and compare the verdicts.

    Every route is validated before any connection is made; the password is
    asked for once.
    """
    if len(routes) < 2:
        raise ConfigError("compare needs at least two --route options (e.g. direct and a proxy)")
    names = [r.name for r in routes]
    if len(set(names)) != len(names):
        raise ConfigError("each --route must be different")
    if options.send:
        raise ConfigError("compare never sends a message: drop --send")
    first, _ = resolve(options, password_source)
    if first.credentials is not None:
        options = dataclasses.replace(
            options,
            password=first.credentials.password,
            oauth_token=first.credentials.oauth_token,
        )
    resolved = [
        resolve(
            dataclasses.replace(
                options, source_address=r.source_address, proxy=r.proxy, route=r.name
            )
        )
        for r in routes
    ]
    reports = await asyncio.gather(
        *(
            probe_spec(
                spec,
                profile,
                dataclasses.replace(options, route=r.name),
            )
            for r, (spec, profile) in zip(routes, resolved, strict=True)
        )
    )
    outcomes = [route_outcome(r, rep) for r, rep in zip(routes, reports, strict=True)]
    return Comparison(
        routes=routes,
        reports=tuple(reports),
        conclusion=conclude(outcomes),
        exit_code=exit_code_of(outcomes),
    )


# --- explain: pasted replies and bounces -------------------------------------------------

MAX_PASTE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Explained:
    """What ``explain`` found in a paste: the decoded input and one explanation per reply."""

    pasted: Pasted
    explanations: list[Explanation]


def explain(
    data: bytes | str,
    *,
    profile: str | None = None,
    rule_files: tuple[Path, ...] = (),
    profile_files: tuple[Path, ...] = (),
) -> Explained:
    """Find every SMTP reply in a pasted text or bounce and explain each one.

    Raises ``ConfigError`` for input that cannot be a bounce: empty, binary,
    or larger than ``MAX_PASTE_BYTES`` (and ProfileError/RuleError for a bad
    file in ``profile_files``/``rule_files``). Any other text, however
    malformed or repetitive, is explained or found to hold no reply, in time
    linear in its size.
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that never was a byte
            raw = data.encode("utf-8", "replace")
    else:
        raw = data
    if len(raw) > MAX_PASTE_BYTES:
        raise ConfigError(
            f"the input is {len(raw) / 1048576:.1f} MB, over the "
            f"{MAX_PASTE_BYTES // 1048576} MB limit: paste only the bounce message or the reply"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Windows' "Unicode" text is UTF-16
        raw = raw.decode("utf-16", errors="replace").encode("utf-8")
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark is not text
    if not raw.strip():
        raise ConfigError("the input is empty: paste the error text or the bounce message")
    if _looks_binary(raw):
        raise ConfigError(
            "the input looks like binary data, not text: paste the bounce as text "
            "(or save the message as .eml and pipe it in)"
        )
    profiles = load_profiles(profile_files)
    chosen = profiles.get(profile) if profile else None
    rulebook_cache: dict[str | None, list[Rule]] = {}

    def rules_for(name: str | None) -> list[Rule]:
        if name not in rulebook_cache:
            owner = profiles.profiles.get(name) if name else None
            rulebook_cache[name] = load_rulebook(owner, rule_files)
        return rulebook_cache[name]

    def profile_for_host(host: str) -> str | None:
        match = profiles.for_host(host)
        return match.name if match else None

    pasted = decode_pasted(raw)
    explanations = []
    for found in find_replies(pasted.text):
        name = chosen.name if chosen else profile_for_host(found.host) if found.host else None
        explanations.append(explain_found(found, rules_for(name), profile=name))
    return Explained(pasted=pasted, explanations=explanations)


def _looks_binary(raw: bytes) -> bool:
    """NUL bytes, or more than 5 % control characters in the first 64 KB (ESC is ISO-2022-JP's)."""
    sample = raw[:65536]
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(
        sample.translate(None, bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)))
    )
    return controls > len(sample) // 20
