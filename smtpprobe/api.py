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
from typing import TYPE_CHECKING

from smtpprobe.core.auth import Credentials
from smtpprobe.core.bounce import Pasted, decode_pasted, find_replies
from smtpprobe.core.classify import Verdict, classify
from smtpprobe.core.compare import Conclusion, RouteOutcome, conclude, exit_code_of
from smtpprobe.core.explain import Explanation, explain_found
from smtpprobe.core.origin import build_origin, echoed_address
from smtpprobe.core.profile import Profile
from smtpprobe.core.readiness import GmailReadiness, gmail_readiness
from smtpprobe.core.redact import Redactor
from smtpprobe.core.rules import Rule
from smtpprobe.core.transcript import Security, Transcript
from smtpprobe.errors import ConfigError
from smtpprobe.loading import load_profile_file, load_profiles, load_rulebook

if TYPE_CHECKING:
    from smtpprobe.driver import ProxySpec

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
]

_GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """What to probe and how. Unset values come from the profile.

    ``password`` and ``oauth_token`` are the secrets themselves; the CLI reads
    them from the environment, standard input or a hidden prompt, never from
    a command-line value.
    """

    profile: str | None = None
    host: str | None = None
    port: int | None = None
    security: Security | None = None
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
    family: int = socket.AF_UNSPEC
    # Where the probe comes from (issue 4): a proxy URL (socks5/socks5h/socks4/http),
    # the egress-address lookup, and whether to judge readiness for Gmail.
    proxy: str | None = field(default=None, repr=False)  # may hold the proxy's password
    egress_lookup: bool = True
    egress_timeout: float = 2.0
    egress_resolvers: str | None = None  # "host:port,…"; None: $SMTPPROBE_EGRESS_RESOLVERS
    for_gmail: bool = False
    route: str | None = None  # the route's name in ``compare``; default from the options


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


def default_recipient(sender: str) -> str:
    """A recipient outside the sender's domain, so relaying is really exercised.

    ``postmaster`` must exist at every mail domain (RFC 5321 section 4.5.1),
    and without ``--send`` no message is ever sent to it.
    """
    domain = sender.rpartition("@")[2].lower()
    if domain in _GMAIL_DOMAINS:
        return "postmaster@outlook.com"
    return "postmaster@gmail.com"


def _resolve_target(options: CheckOptions) -> tuple[Profile | None, str, int, Security]:
    profiles = load_profiles(options.profile_files)
    profile: Profile | None = None
    if options.profile is not None:
        profile = profiles.get(options.profile)
    elif options.profile_files:
        profile = load_profile_file(options.profile_files[-1])
    elif options.host is not None:
        profile = profiles.for_host(options.host)
    host = options.host or (profile.host if profile else None)
    if host is None:
        if profile is not None and profile.host_pattern:
            raise ConfigError(
                f"profile '{profile.name}' has no fixed server: give yours with --host "
                f"(it must look like {profile.host_pattern})"
            )
        raise ConfigError("no server to probe: name a PROFILE or give --host")
    # A --host outside the profile's pattern is allowed on purpose: providers let
    # customers use their own domain as the server name, and tests use loopback.
    port = options.port or (profile.port if profile else None)
    security = options.security or (profile.security if profile else None)
    if security is None:
        security = {465: Security.IMPLICIT_TLS, 25: Security.PLAIN}.get(
            port or 587, Security.STARTTLS
        )
    if port is None:
        port = {Security.IMPLICIT_TLS: 465, Security.STARTTLS: 587, Security.PLAIN: 25}[security]
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port {port}: a port is a number from 1 to 65535")
    return profile, host, port, security


def _credentials(options: CheckOptions) -> Credentials | None:
    if options.no_auth:
        return None
    if not options.user:
        raise ConfigError("--user is required (or --no-auth to probe without logging in)")
    if options.password is None and options.oauth_token is None:
        raise ConfigError(
            "no password: use --password-env NAME, --password-stdin, or run on a terminal "
            "to be asked"
        )
    return Credentials(options.user, options.password, options.oauth_token)


def _sender(options: CheckOptions) -> str:
    if options.sender:
        return options.sender
    if options.user and "@" in options.user:
        return options.user
    raise ConfigError("--from ADDRESS is required when the user name is not a mail address")


def _message(sender: str, recipient: str, started_at: str) -> bytes:
    # The smallest RFC 5322 message a server will take: the two required
    # headers (Date, From), a Subject that says what this is, and one line.
    lines = [
        f"From: <{sender}>",
        f"To: <{recipient}>",
        "Subject: smtpprobe test message",
        f"Date: {dt.datetime.fromisoformat(started_at).strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        f"Message-ID: <smtpprobe.{started_at.replace(':', '').replace('-', '')}@smtpprobe.invalid>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "This is a test message sent by smtpprobe --send.",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


async def probe(options: CheckOptions) -> Report:
    """Run one probe as asked and classify it. Raises SmtpprobeError for bad options."""
    from smtpprobe.driver import ProbeRequest, parse_proxy, run_probe
    from smtpprobe.egress import country_of, egress_queries, lookup_egress

    profile, host, port, security = _resolve_target(options)
    rules = load_rulebook(profile, options.rule_files)
    credentials = _credentials(options)
    if credentials is not None and security is Security.PLAIN and not options.allow_plaintext_auth:
        raise ConfigError(
            "refusing to send the password over an unencrypted connection: use --security "
            "starttls or implicit-tls, or pass --allow-plaintext-auth"
        )
    sender = _sender(options)
    if options.send and not options.recipient:
        raise ConfigError("--send needs --to ADDRESS: the one recipient of the test message")
    recipient = options.recipient or default_recipient(sender)
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if options.timeout <= 0 or options.phase_timeout <= 0:
        raise ConfigError("--timeout and --phase-timeout must be positive numbers of seconds")
    if options.egress_timeout <= 0:
        raise ConfigError("--egress-timeout must be a positive number of seconds")
    proxy = parse_proxy(options.proxy) if options.proxy else None
    queries = (
        egress_queries(options.egress_resolvers) if options.egress_lookup and proxy is None else ()
    )
    request = ProbeRequest(
        host=host,
        port=port,
        security=security,
        sender=sender,
        recipient=recipient,
        credentials=credentials,
        preferred_mechanisms=profile.auth_mechanisms if profile else ("PLAIN", "LOGIN"),
        profile=profile.name if profile else None,
        timeout=options.timeout,
        phase_timeout=min(options.phase_timeout, options.timeout),
        ca_file=options.ca_file,
        insecure=options.insecure,
        source_address=options.source_address,
        ehlo_name=options.ehlo_name,
        message=_message(sender, recipient, started_at) if options.send else None,
        family=options.family,
        proxy=proxy,
    )
    if queries:
        # Concurrently: the egress lookup's short timeout never lengthens a probe
        # that takes longer than it, and offline it ends at the first ICMP refusal.
        transcript, egress = await asyncio.gather(
            run_probe(request),
            lookup_egress(queries, timeout=options.egress_timeout, source=options.source_address),
        )
    else:
        transcript, egress = await run_probe(request), None
    target = transcript.target
    if proxy is not None:
        egress_note = "no DNS egress lookup through a proxy (UDP cannot follow the route)"
    elif egress is None:
        egress_note = "egress lookup off (--no-egress-lookup)"
    else:
        egress_note = egress.note
    transcript.origin = build_origin(
        local_address=target.source_address,
        route=options.route or _route_name(options, proxy),
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
    secrets = [*(credentials.secrets() if credentials else ())]
    if proxy is not None and proxy.password:
        secrets.append(proxy.password)
    readiness = None
    if options.for_gmail or (profile is not None and profile.geo_ip_filter):
        readiness = gmail_readiness(
            category=verdict.category, profile=profile, host=host, origin=transcript.origin
        )
    return Report(
        transcript=transcript,
        verdict=verdict,
        profile=profile,
        started_at=started_at,
        redactor=Redactor(secrets),
        gmail_readiness=readiness,
    )


def _route_name(options: CheckOptions, proxy: ProxySpec | None) -> str:
    if proxy is not None:
        return f"proxy:{proxy.display}"
    if options.source_address:
        return f"source:{options.source_address}"
    return "direct"


def check(options: CheckOptions) -> Report:
    """Synchronous ``probe``: runs its own event loop."""
    return asyncio.run(probe(options))


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
        from smtpprobe.driver import parse_proxy

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
    )


async def compare(options: CheckOptions, routes: tuple[Route, ...]) -> Comparison:
    """Run ``options`` over every route concurrently and compare the verdicts."""
    if len(routes) < 2:
        raise ConfigError("compare needs at least two --route options (e.g. direct and a proxy)")
    names = [r.name for r in routes]
    if len(set(names)) != len(names):
        raise ConfigError("each --route must be different")
    if options.send:
        raise ConfigError("compare never sends a message: drop --send")
    reports = await asyncio.gather(
        *(
            probe(
                dataclasses.replace(
                    options, source_address=r.source_address, proxy=r.proxy, route=r.name
                )
            )
            for r in routes
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
    or larger than ``MAX_PASTE_BYTES``.
    """
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    if len(raw) > MAX_PASTE_BYTES:
        raise ConfigError(
            f"the input is {len(raw) / 1048576:.1f} MB, over the "
            f"{MAX_PASTE_BYTES // 1048576} MB limit: paste only the bounce message or the reply"
        )
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
    sample = raw[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(sample) // 20
