"""The Python API: build a probe from options and a profile, run it, classify it.

>>> from smtpprobe import CheckOptions, check
>>> report = check(CheckOptions(profile="ocn", user="me@example.ocn.ne.jp", password=...))
>>> report.verdict.category, report.verdict.exit_code

The CLI is a thin layer over ``check``; everything it prints comes from a
``Report`` through ``smtpprobe.render``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from dataclasses import dataclass, field
from pathlib import Path

from smtpprobe.core.auth import Credentials
from smtpprobe.core.classify import Verdict, classify
from smtpprobe.core.profile import Profile
from smtpprobe.core.redact import Redactor
from smtpprobe.core.transcript import Security, Transcript
from smtpprobe.errors import ConfigError
from smtpprobe.loading import load_profile_file, load_profiles, load_rulebook

__all__ = ["CheckOptions", "GmailSettings", "Report", "check", "default_recipient", "probe"]

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
    from smtpprobe.driver import ProbeRequest, run_probe

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
    )
    transcript = await run_probe(request)
    verdict = classify(transcript, rules)
    secrets = credentials.secrets() if credentials else ()
    return Report(
        transcript=transcript,
        verdict=verdict,
        profile=profile,
        started_at=started_at,
        redactor=Redactor(secrets),
    )


def check(options: CheckOptions) -> Report:
    """Synchronous ``probe``: runs its own event loop."""
    return asyncio.run(probe(options))
