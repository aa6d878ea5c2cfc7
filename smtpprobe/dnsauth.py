"""DNS authentication of a From domain for the servers that send its mail: the lookups.

Gmail refuses mail that passes neither SPF nor DKIM (550-5.7.26) and mail that fails the From
domain's DMARC policy; all three live in DNS, so they can be judged before a message bounces.
``check_domain`` asks, concurrently, for the addresses of the sending servers, the domain's MX,
its SPF record, SPF ``check_host()`` (RFC 7208 §4) for every sending address, the DMARC policy
(RFC 9989 tree walk), the DKIM key of each known selector (RFC 6376 §3.6.2) and the
forward-confirmed reverse DNS of each address; ``smtpprobe.core.dnsverdict`` (pure) turns the
answers into the verdict and the SPF record to publish. ``dns_auth_for`` runs the same checks
beside ``check``.

The SPF identity judged is the From domain itself (``postmaster@DOMAIN``): mail sent through
a submission server normally carries the From address as its envelope sender, and then SPF
passing means SPF is aligned for DMARC (RFC 9989 §4.4) as well.

The verdict's data types and pure functions are re-exported here for the callers that import
them from this module.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, TypeVar

from smtpprobe.core.dnsdata import DnsError, DnsErrorKind, Resolver
from smtpprobe.core.dnsverdict import (
    GMAIL_GUIDELINES,
    GOOGLE_DKIM_SELECTOR_PAGE,
    SAKURA_SPF_NOTICE,
    SPF_LOOKUP_LIMIT,
    DkimCheck,
    DmarcCheck,
    DnsAuth,
    Requirement,
    Sender,
    SpfCheck,
    conclude,
    decide,
    dedupe,
    dns_finding,
    gmail_requirements,
    is_custom_domain,
    known_selectors,
    mechanism_for,
    per_contract_server,
    reason_text,
    record_to_publish,
)
from smtpprobe.core.rules import Text

if TYPE_CHECKING:
    from smtpprobe.api import CheckOptions
    from smtpprobe.core.profile import Profile
    from smtpprobe.core.spec import ProbeSpec

__all__ = [
    "ENV_NAMESERVERS",
    "GMAIL_GUIDELINES",
    "GOOGLE_DKIM_SELECTOR_PAGE",
    "SAKURA_SPF_NOTICE",
    "SPF_LOOKUP_LIMIT",
    "DkimCheck",
    "DmarcCheck",
    "DnsAuth",
    "Requirement",
    "Sender",
    "SpfCheck",
    "check_domain",
    "configured_nameservers",
    "decide",
    "dns_auth_for",
    "dns_finding",
    "fcrdns",
    "gmail_requirements",
    "is_custom_domain",
    "known_selectors",
    "mechanism_for",
    "per_contract_server",
    "plain_address",
    "reason_text",
    "record_to_publish",
]

ENV_NAMESERVERS = "SMTPPROBE_NAMESERVERS"  # "IP[:PORT],…": the resolvers when none is given
# Example domains (RFC 2606 §3, RFC 6761 §6.5; JPRS's 例示用ドメイン名 example.jp and
# example.<sld>.jp) have no public DNS worth asking: only a nameserver given explicitly is.
_RESERVED_TLDS = ("example", "test", "invalid", "localhost")
_RESERVED = re.compile(r"(^|\.)example\.(com|net|org|jp|[a-z]{2}\.jp)$")
_T = TypeVar("_T")


# --------------------------------------------------------------------------- the lookups


async def _void_ok(call: Awaitable[list[_T]]) -> tuple[list[_T], str]:
    """The answer and "found"; [] and "none" for a void answer; "temperror" for a failure."""
    try:
        return await call, "found"
    except DnsError as exc:
        return [], "none" if exc.kind is DnsErrorKind.VOID else "temperror"


async def fcrdns(ip: str, resolver: Resolver) -> tuple[str, str, tuple[str, ...]]:
    """Forward-confirmed reverse DNS: a PTR name whose A/AAAA records include ``ip``."""
    names, state = await _void_ok(resolver.ptr(ip))
    if state != "found":
        return ip, "fail" if state == "none" else "unknown", ()
    version = ipaddress.ip_address(ip).version
    unknown = False
    for name in names[:10]:  # RFC 7208 §5.5 stops at 10 names as well
        addresses, how = await _void_ok(resolver.a(name) if version == 4 else resolver.aaaa(name))
        unknown = unknown or how == "temperror"
        if any(ipaddress.ip_address(a) == ipaddress.ip_address(ip) for a in addresses):
            return ip, "pass", tuple(names)
    return ip, "unknown" if unknown else "fail", tuple(names)


_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


def plain_address(ip: str) -> str:
    """``ip`` as the sending address it is: an IPv4-mapped IPv6 address (``::ffff:192.0.2.10``)
    is the IPv4 address, as SPF evaluates it (RFC 7208 section 5), for the reverse-DNS check
    and the record to publish too."""
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def _public(ip: str) -> bool:
    """Not an address of this machine or an internal network (RFC 1918, RFC 6598, RFC 4193).

    The documentation ranges (RFC 5737, RFC 3849) count as public: they stand for public
    addresses in examples and tests.
    """
    address = ipaddress.ip_address(ip)
    if address.is_loopback or address.is_link_local or address.is_unspecified:
        return False
    if address.is_multicast:
        return False
    return not any(address.version == n.version and address in n for n in _INTERNAL)


async def _senders(
    servers: Sequence[tuple[str, bool]],
    ips: Sequence[str],
    resolver: Resolver,
    public_only: bool = False,
) -> tuple[list[Sender], list[tuple[str, str]], list[Text]]:
    """The addresses to judge, the servers without one (host, "none"/"temperror"), notes."""
    notes: list[Text] = []
    unresolved: list[tuple[str, str]] = []
    found = [Sender(ip=plain_address(ip)) for ip in ips]
    for host, by_name in servers:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            found.append(Sender(ip=str(literal)))
            continue
        (v4, s4), (v6, s6) = await asyncio.gather(
            _void_ok(resolver.a(host)), _void_ok(resolver.aaaa(host))
        )
        if not v4 and not v6:
            unresolved.append((host, "temperror" if "temperror" in (s4, s6) else "none"))
        elif "temperror" in (s4, s6):
            # One family answered, the other failed for now: judging only the addresses that
            # came back could say "passes for every sending address" of a server whose other
            # address fails (RFC 7208 section 2.6.6: a transient error is temperror).
            unresolved.append((host, "temperror:AAAA" if s6 == "temperror" else "temperror:A"))
        found.extend(Sender(ip=ip, host=host, by_name=by_name) for ip in [*v4, *v6])
    unique: dict[str, Sender] = {}
    for sender in found:
        if public_only and not _public(sender.ip):
            notes.append(
                Text(
                    f"{sender.ip}: not a public address, so not the one Gmail sees; not evaluated",
                    f"{sender.ip}: 公開アドレスではなく Gmail から見える送信元ではないため、"
                    "評価していません",
                )
            )
            continue
        unique.setdefault(sender.ip, sender)
    return list(unique.values()), unresolved, notes


async def _spf_one(sender: Sender, domain: str, helo: str, resolver: Resolver) -> SpfCheck:
    from smtpprobe.core.spf import check_host

    outcome = await check_host(
        sender.ip, domain, f"postmaster@{domain}", helo=helo, resolver=resolver
    )
    return SpfCheck(
        sender=sender,
        result=str(outcome.result.value),
        mechanism=outcome.mechanism,
        explanation=outcome.explanation,
        reason=outcome.reason,
        lookups=outcome.lookups,
        void_lookups=outcome.void_lookups,
        trace=outcome.to_dict(),
    )


async def _spf_records(domain: str, resolver: Resolver) -> tuple[list[str], str]:
    texts, state = await _void_ok(resolver.txt(domain))
    # RFC 7208 §4.5: the record starts with "v=spf1" followed by a space or its end.
    records = [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]
    return records, state


async def check_domain(
    domain: str,
    resolver: Resolver,
    *,
    servers: Sequence[tuple[str, bool]] = (),
    ips: Sequence[str] = (),
    selectors: Sequence[str] = (),
    helo: str | None = None,
    public_only: bool = False,
) -> DnsAuth:
    """Every check for ``domain``, concurrently, and the verdict (``core.dnsverdict.conclude``).

    ``servers``: (host, by_name) pairs whose A/AAAA addresses send the mail (by_name: a server
    named per contract, published as ``a:HOST``); ``ips``: addresses given as such. With
    neither, or none that resolves, nothing shows the mail authenticates: never ``ok``.
    """
    domain = domain.lower().rstrip(".")
    helo = helo or (servers[0][0] if servers else domain)
    (
        (senders, unresolved, notes),
        (mx, mx_state),
        (records, spf_lookup),
        dmarc,
        dkim,
    ) = await asyncio.gather(
        _senders(servers, ips, resolver, public_only),
        _void_ok(resolver.mx(domain)),
        _spf_records(domain, resolver),
        _dmarc(domain, resolver),
        asyncio.gather(*(_dkim(domain, s, resolver) for s in dedupe(selectors))),
    )
    spf, ptrs = await asyncio.gather(
        asyncio.gather(*(_spf_one(s, domain, helo, resolver) for s in senders)),
        asyncio.gather(*(fcrdns(s.ip, resolver) for s in senders)),
    )
    return conclude(
        domain,
        helo,
        mx=mx,
        mx_status=mx_state,
        spf_records=records,
        spf=spf,
        dmarc=dmarc,
        dkim=dkim,
        fcrdns=ptrs,
        unresolved=unresolved,
        notes=notes,
        spf_lookup=spf_lookup,
    )


async def _dmarc(domain: str, resolver: Resolver) -> DmarcCheck:
    """The DMARC policy for ``domain`` (``smtpprobe.core.dmarc.find_policy``) as a DmarcCheck."""
    from smtpprobe.core.dmarc import DmarcError, find_policy
    from smtpprobe.psl import organizational_domain_psl

    try:
        found = await find_policy(domain, resolver, org_domain_psl=organizational_domain_psl)
    except DmarcError as exc:
        return DmarcCheck(status="invalid", reason=str(exc))
    record = found.record
    if record is None:
        if found.uncertain:
            return DmarcCheck(
                status="temperror",
                org_domain=found.org_domain,
                reason="; ".join(found.notes) or "a DNS query failed temporarily",
            )
        discarded = tuple(step.domain for step in found.org.steps if step.outcome == "multiple")
        reason = f"no record at _dmarc.{domain} or its organisational domain"
        if discarded:
            names = ", ".join(f"_dmarc.{name}" for name in discarded)
            reason = f"several DMARC records at {names}: all discarded"
        return DmarcCheck(
            status="none",
            org_domain=found.org_domain,
            psl_org_domain=found.psl_org_domain,
            reason=reason,
            discarded=discarded,
        )
    return DmarcCheck(
        status="found",
        record=record.text,
        found_at=found.policy_domain,
        policy=found.enforced,
        org_domain=found.org_domain,
        psl_org_domain=found.psl_org_domain,
        adkim=record.adkim,
        aspf=record.aspf,
        warnings=(*record.warnings, *found.notes),
    )


async def _dkim(domain: str, selector: str, resolver: Resolver) -> DkimCheck:
    """One selector's key (``smtpprobe.core.dkim.check_selector``) as a DkimCheck."""
    from smtpprobe.core.dkim import DkimKey, check_selector

    found = await check_selector(domain, selector, resolver)
    if isinstance(found, DkimKey):
        return DkimCheck(
            selector=selector,
            status="revoked" if found.revoked else "valid",
            key_type=found.key_type,
            bits=found.bits,
            reason="; ".join(found.warnings),
            testing=found.testing,
        )
    status = {"temporary": "temperror"}.get(str(found.kind), str(found.kind))
    return DkimCheck(selector=selector, status=status, reason=found.reason)


# --------------------------------------------------------------------------- beside check


def configured_nameservers(given: Sequence[str] = ()) -> list[str] | None:
    """``given``, else ``$SMTPPROBE_NAMESERVERS`` (comma-separated), else None (the system's)."""
    if given:
        return list(given)
    env = os.environ.get(ENV_NAMESERVERS, "")
    found = [part.strip() for part in env.split(",") if part.strip()]
    from smtpprobe.errors import SmtpprobeError
    from smtpprobe.resolver import parse_nameserver

    for part in found:
        try:
            parse_nameserver(part)
        except SmtpprobeError as exc:  # it names --nameserver; the value came from here
            raise type(exc)(str(exc).replace("--nameserver", ENV_NAMESERVERS, 1)) from None
    return found or None


def _reserved(domain: str) -> bool:
    return domain.rsplit(".", 1)[-1] in _RESERVED_TLDS or bool(_RESERVED.search(domain))


def _on_this_machine(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dns_auth_for(
    spec: ProbeSpec, profile: Profile | None, options: CheckOptions
) -> Awaitable[DnsAuth | None] | None:
    """The DNS checks ``check`` runs beside the probe, or None when they do not apply.

    They apply to a custom From domain (not the provider's own, ``is_custom_domain``) when
    DNS may be asked: not with ``--no-dns-checks``, not offline (``--no-egress-lookup``), not
    through a proxy (the user keeps traffic off the direct path), not for a server on this
    machine (its address is not the one mail leaves by), and for an example domain only at a
    nameserver given explicitly. A bad nameserver raises ConfigError here, before the probe.
    """
    if not options.dns_checks or not options.egress_lookup or spec.proxy is not None:
        return None
    domain = spec.sender.rpartition("@")[2].lower().rstrip(".")
    if _on_this_machine(spec.host):
        return None
    from smtpprobe.psl import organizational_domain_psl
    from smtpprobe.resolver import DnsResolver

    if not is_custom_domain(domain, spec.host, profile, organizational_domain_psl):
        return None
    servers = configured_nameservers(options.nameservers)
    if servers is None and _reserved(domain):
        return None
    resolver = DnsResolver(servers, timeout=min(options.phase_timeout, 5.0))
    checks = check_domain(
        domain,
        resolver,
        servers=[(spec.host, per_contract_server(profile, spec.host))],
        selectors=known_selectors(profile),
        public_only=True,
    )
    return _bounded(checks, min(options.timeout, 20.0))


async def _bounded(checks: Awaitable[DnsAuth], seconds: float) -> DnsAuth | None:
    # The probe waits for these at the end: never longer than this.
    try:
        async with asyncio.timeout(seconds):
            auth = await checks
    except TimeoutError:
        return None
    # No address evaluated (the server has no public address, or no address at all, which
    # the probe reports itself): SPF was not judged, so no DNS verdict, never an "ok".
    return auth if auth.spf else None
