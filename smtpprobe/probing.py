"""One probe with what runs beside it (the egress lookup, DNS checks) and its verdict.

``probe_spec`` runs on an event loop, beside other probes (compare, health checks);
``check_spec`` runs one probe in its own process on blocking sockets
(``smtpprobe.blocking``), with the lookups beside it on a thread. Both prepare the
same way, and both turn the transcript and the lookups' answers into a ``Report``
the same way, so their verdicts are the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smtpprobe.blocking import Background
from smtpprobe.core.classify import classify
from smtpprobe.core.exitcode import ExitCode
from smtpprobe.core.origin import build_origin, echoed_address
from smtpprobe.core.profile import Profile
from smtpprobe.core.readiness import gmail_readiness
from smtpprobe.core.redact import Redactor
from smtpprobe.core.rules import Rule
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import Transcript
from smtpprobe.loading import load_rule_file, load_rulebook
from smtpprobe.report import Report

if TYPE_CHECKING:
    from smtpprobe.api import CheckOptions
    from smtpprobe.core.dnsverdict import DnsAuth
    from smtpprobe.driver import PhaseListener
    from smtpprobe.egress import EgressQuery, EgressResult
    from smtpprobe.transport import Transport

__all__ = ["check_spec", "probe_spec"]


@dataclass(slots=True)
class _Beside:
    """What a probe needs besides the dialogue, decided before it starts."""

    started_at: str
    secrets: list[str]
    queries: tuple[EgressQuery, ...]
    dns_check: Awaitable[DnsAuth | None] | None


def _prepare(spec: ProbeSpec, profile: Profile | None, options: CheckOptions) -> _Beside:
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    queries: tuple[EgressQuery, ...] = ()
    if options.egress_lookup and spec.proxy is None:
        from smtpprobe.egress import egress_queries

        queries = egress_queries(options.egress_resolvers)
    secrets: list[str] = []
    if spec.credentials is not None:
        secrets.extend(spec.credentials.secrets())
    if spec.proxy is not None and spec.proxy.password:
        secrets.append(spec.proxy.password)
    dns_check = None
    if options.dns_checks and options.egress_lookup and spec.proxy is None:
        # Imported only when DNS may be asked: dnspython's resolver costs ~35 ms to load.
        from smtpprobe.dnsauth import dns_auth_for

        dns_check = dns_auth_for(spec, profile, options)  # a bad nameserver raises here
    return _Beside(started_at, secrets, queries, dns_check)


async def _lookups(
    beside: _Beside, options: CheckOptions, spec: ProbeSpec
) -> tuple[EgressResult | None, DnsAuth | None]:
    """The egress lookup and the DNS checks, concurrently (either may be absent)."""
    import asyncio

    from smtpprobe.egress import lookup_egress

    async def nothing() -> None:
        return None

    egress, dns_auth = await asyncio.gather(
        lookup_egress(beside.queries, timeout=options.egress_timeout, source=spec.source_address)
        if beside.queries
        else nothing(),
        beside.dns_check if beside.dns_check is not None else nothing(),
    )
    return egress, dns_auth


async def probe_spec(
    spec: ProbeSpec,
    profile: Profile | None,
    options: CheckOptions,
    *,
    on_phase: PhaseListener | None = None,
    transport: Transport | None = None,
) -> Report:
    """Run a validated spec on the event loop: the probe, the lookups beside it, the verdict."""
    import asyncio

    from smtpprobe.driver import run_probe

    rules = load_rulebook(profile, options.rule_files)
    beside = _prepare(spec, profile, options)
    # Concurrently: the egress lookup's short timeout never lengthens a probe
    # that takes longer than it, and offline it ends at the first ICMP refusal.
    transcript, (egress, dns_auth) = await asyncio.gather(
        run_probe(spec, beside.secrets, transport=transport, on_phase=on_phase),
        _lookups(beside, options, spec),
    )
    return _report(spec, profile, options, rules, beside, transcript, egress, dns_auth)


def check_spec(
    spec: ProbeSpec,
    profile: Profile | None,
    options: CheckOptions,
    *,
    on_phase: PhaseListener | None = None,
) -> Report:
    """Run a validated spec in this thread on blocking sockets; lookups on a thread beside.

    The rules load on a thread too, started when the probe first waits for the server (a
    thread started earlier would hold the GIL for its first 5 ms, delaying the connection):
    they are not needed before its last reply. A broken ``--rules`` file still fails first.
    """
    from smtpprobe.driver import run_probe_blocking

    for path in options.rule_files:
        load_rule_file(path)  # RuleError before any connection (kept: loads are cached)
    beside = _prepare(spec, profile, options)
    lookups = None
    if beside.queries or beside.dns_check is not None:

        def look() -> tuple[EgressResult | None, DnsAuth | None]:
            import asyncio

            return asyncio.run(_lookups(beside, options, spec))

        lookups = Background(look, "smtpprobe-lookups")
    rules: list[Background[tuple[Rule, ...]]] = []

    def load_rules() -> None:
        if not rules:
            work = functools.partial(load_rulebook, profile, options.rule_files)
            rules.append(Background(work, "smtpprobe-rules"))

    def heard(phase: str, seconds: float) -> None:
        if phase == "greeting":
            load_rules()
        if on_phase is not None:
            on_phase(phase, seconds)

    transcript = run_probe_blocking(spec, beside.secrets, on_phase=heard)
    load_rules()  # the probe ended before a greeting
    # Bounded: the lookups have their own time limits.
    egress, dns_auth = lookups.result() if lookups is not None else (None, None)
    return _report(spec, profile, options, rules[0].result(), beside, transcript, egress, dns_auth)


def _country_of(address: str) -> tuple[str | None, str | None]:
    from smtpprobe.egress import country_of  # its data loads only for a public address

    return country_of(address)


def _report(
    spec: ProbeSpec,
    profile: Profile | None,
    options: CheckOptions,
    rules: Sequence[Rule],
    beside: _Beside,
    transcript: Transcript,
    egress: EgressResult | None,
    dns_auth: DnsAuth | None,
) -> Report:
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
        country_of=_country_of,
    )
    verdict = classify(transcript, rules, detail_ja=_detail_ja)
    if dns_auth is not None:
        from smtpprobe.core.dnsverdict import dns_finding

        if (finding := dns_finding(dns_auth)) is not None:
            verdict = dataclasses.replace(verdict, findings=(*verdict.findings, finding))
    readiness = None
    if options.for_gmail or (profile is not None and profile.geo_ip_filter):
        readiness = gmail_readiness(
            category=verdict.category,
            profile=profile,
            host=spec.host,
            origin=transcript.origin,
            authenticated=spec.credentials is not None,
            dns_refusal=(
                dns_auth.verdict.category
                if dns_auth is not None and dns_auth.verdict.exit_code == ExitCode.REFUSED
                else None
            ),
            dns_unchecked=_unchecked_domain(spec, profile) if dns_auth is None else None,
            port=spec.port,
            ca_file=spec.ca_file,
        )
    return Report(
        transcript=transcript,
        verdict=verdict,
        profile=profile,
        started_at=beside.started_at,
        redactor=Redactor(beside.secrets),
        gmail_readiness=readiness,
        expect=spec.expect,
        dns_auth=dns_auth,
    )


def _detail_ja(detail: str) -> str:
    """A failure's detail in Japanese, for the verdict's Japanese cause (render.labels)."""
    from smtpprobe.render.labels import note, quote

    translated = note(detail, "ja")
    # Words no table knows stay as they are: the rules' Japanese texts quote {detail}
    # themselves where it is a library's or the system's words (no 「「…」」).
    return detail if translated == quote(detail) else translated


def _unchecked_domain(spec: ProbeSpec, profile: Profile | None) -> str | None:
    """The sender's custom domain, whose DNS authentication this run did not check."""
    from smtpprobe.core.dnsverdict import is_custom_domain
    from smtpprobe.psl import organizational_domain_psl

    domain = spec.sender.rpartition("@")[2].lower().rstrip(".")
    return (
        domain if is_custom_domain(domain, spec.host, profile, organizational_domain_psl) else None
    )
