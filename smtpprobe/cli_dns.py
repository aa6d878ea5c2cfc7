"""``smtpprobe dns DOMAIN`` and ``smtpprobe spf``: the From domain's DNS authentication.

Wiring only: options → ``smtpprobe.resolver.DnsResolver`` → ``smtpprobe.dnsauth`` (or
``smtpprobe.core.spf.check_host``) → ``smtpprobe.render.dnsauth``. Cheap to import:
everything heavy loads inside the commands. A DNS failure is a verdict (exit 3), never a
traceback; a bad option is one line and exit 2 (``cli_support.guard``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from smtpprobe import cli_params as opt

if TYPE_CHECKING:
    from smtpprobe.api import CheckOptions

__all__ = [
    "DNS_HELP",
    "ENV_NAMESERVERS",
    "SPF_HELP",
    "NoDnsChecks",
    "dns_flag",
    "nameservers",
    "register",
]

ENV_NAMESERVERS = "SMTPPROBE_NAMESERVERS"  # also smtpprobe.dnsauth.ENV_NAMESERVERS

DNS_HELP = f"""Check a From domain's SPF, DKIM and DMARC for the servers that send its mail.

Evaluates SPF (RFC 7208 check_host) for every address of --server (its A/AAAA
records) and every --ip (give at least one: SPF is judged for the address that
sends), finds the DMARC policy (RFC 9989 tree walk), checks each
DKIM selector's key (--dkim-selector, or the one the server's profile is known to
use, e.g. Google Workspace's 'google'), the domain's MX and the addresses'
reverse DNS, then predicts Gmail's 550-5.7.26: unauthenticated-sender, dmarc-rejected
or ok, with the SPF record to publish. Google's sender requirements that DNS cannot
show are listed as "not checkable from here".

\b
Examples:
  smtpprobe dns example.jp --server www1234.sakura.ne.jp
  smtpprobe dns example.jp --ip 192.0.2.10 --dkim-selector default --json
  smtpprobe dns example.jp --server smtp.example.jp --nameserver 192.0.2.53

Exit codes: 0 ok, 1 unauthenticated-sender or dmarc-rejected (Gmail would refuse),
2 usage error, 3 a lookup failed temporarily (SERVFAIL, timeout: temperror) or a
--server has no address in DNS (dns-failure).

Environment: {ENV_NAMESERVERS}=IP[:PORT],... resolvers to ask when --nameserver is
not given (default: the system's).
"""

SPF_HELP = """Would this IP pass SPF for this sender? RFC 7208 check_host(), alone.

Prints the result, the term that decided it, the include/redirect chain with the
running DNS-lookup and void-lookup counts, and the domain's explanation (exp=).
--sender "" is the null reverse path (a bounce): the identity is postmaster@HELO
(RFC 7208 §2.4), so --helo is then required.

\b
Examples:
  smtpprobe spf --ip 192.0.2.10 --sender info@example.jp
  smtpprobe spf --ip 2001:db8::25 --sender "" --helo mail.example.jp --json

Exit codes: 0 pass; 1 fail, softfail, neutral, none or permerror (the address would
not pass SPF); 2 usage error; 3 temperror (a lookup failed temporarily).
"""

Domain = Annotated[str, typer.Argument(metavar="DOMAIN", help="The From address's domain.")]
Servers = Annotated[
    list[str] | None,
    typer.Option(
        "--server",
        metavar="HOST",
        help="A server that sends the mail: its A/AAAA addresses are evaluated (repeatable).",
    ),
]
Ips = Annotated[
    list[str] | None,
    typer.Option("--ip", metavar="IP", help="An address that sends the mail (repeatable)."),
]
Selectors = Annotated[
    list[str] | None,
    typer.Option("--dkim-selector", metavar="S", help="A DKIM selector to check (repeatable)."),
]
Helo = Annotated[
    str | None,
    typer.Option("--helo", metavar="NAME", help="The HELO/EHLO name the server sends."),
]
Nameservers = Annotated[
    list[str] | None,
    typer.Option(
        "--nameserver",
        metavar="IP[:PORT]",
        help="Ask this resolver instead of the system's (repeatable).",
    ),
]
DnsTimeout = Annotated[
    float,
    typer.Option("--dns-timeout", metavar="SECONDS", help="Time limit for one DNS query."),
]
SpfIp = Annotated[str, typer.Option("--ip", metavar="IP", help="The sending address.")]
SpfSender = Annotated[
    str,
    typer.Option(
        "--sender", metavar="ADDRESS", help='The MAIL FROM address ("" : the null reverse path).'
    ),
]


def nameservers(given: list[str] | None) -> list[str] | None:
    """``--nameserver`` values, else ``$SMTPPROBE_NAMESERVERS`` (comma-separated), else None."""
    from smtpprobe.dnsauth import configured_nameservers

    return configured_nameservers(given or ())


def _ip(value: str, option: str) -> str:

    from smtpprobe.dnsauth import plain_address
    from smtpprobe.errors import ConfigError

    try:
        return plain_address(value.strip())
    except ValueError:
        raise ConfigError(
            f"{option} {value!r}: give an IPv4 or IPv6 address, e.g. 192.0.2.10"
        ) from None


def _name(value: str, option: str, *, ip_ok: bool = False) -> str:
    """A domain or host name, checked as ``--host`` is (RFC 1035 labels); no port."""
    import ipaddress

    from smtpprobe.core.spec import validate_host
    from smtpprobe.errors import ConfigError

    name, port = validate_host(value.strip().rstrip("."), option)
    is_ip = True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        is_ip = False
    if port is not None or (is_ip and not ip_ok):
        raise ConfigError(f"{option} {value!r}: give a domain name, e.g. example.jp")
    return name


def _selector(value: str) -> str:
    """A DKIM selector: one or more labels (RFC 6376 section 3.1), e.g. ``default``."""
    import re

    from smtpprobe.errors import ConfigError

    if not re.fullmatch(r"[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*", value.strip()):
        raise ConfigError(
            f"--dkim-selector {value!r}: give a selector such as 'default' or 'rs20250101' "
            "(letters, digits, '-', '_', labels joined by '.')"
        )
    return value.strip()


def register(app: typer.Typer) -> None:
    """Add ``dns`` and ``spf`` to the command line."""

    @app.command(help=DNS_HELP)
    def dns(
        domain: Domain,
        server: Servers = None,
        ip: Ips = None,
        dkim_selector: Selectors = None,
        helo: Helo = None,
        nameserver: Nameservers = None,
        dns_timeout: DnsTimeout = 5.0,
        json_output: opt.Json = False,
        lang: opt.Language = None,
        version: opt.Version = False,
    ) -> None:
        import asyncio

        from smtpprobe.cli_support import emit, guard
        from smtpprobe.dnsauth import check_domain, known_selectors, per_contract_server
        from smtpprobe.errors import ConfigError
        from smtpprobe.loading import load_profiles
        from smtpprobe.render.dnsauth import dns_lines, format_dns_json
        from smtpprobe.resolver import DnsResolver

        chosen = opt.lang_of(lang)
        with guard(lang=chosen):
            if not domain.strip() or "@" in domain:
                raise ConfigError(f"DOMAIN {domain!r}: give a domain name, e.g. example.jp")
            name = _name(domain, "DOMAIN")
            addresses = [_ip(value, "--ip") for value in ip or ()]
            hosts = [_name(h, "--server", ip_ok=True) for h in server or () if h.strip()]
            helo = _name(helo, "--helo", ip_ok=True) if helo is not None else None
            if not hosts and not addresses:
                raise ConfigError(
                    "give --server HOST (your submission server) or --ip IP: SPF is judged for "
                    "the address that sends"
                )
            profiles = load_profiles(())
            servers = [(h, per_contract_server(profiles.for_host(h), h)) for h in hosts]
            selectors = [_selector(value) for value in dkim_selector or ()]
            for host in hosts:
                selectors.extend(known_selectors(profiles.for_host(host)))
            resolver = DnsResolver(nameservers(nameserver), timeout=dns_timeout)
            auth = asyncio.run(
                check_domain(
                    name,
                    resolver,
                    servers=servers,
                    ips=addresses,
                    selectors=selectors,
                    helo=helo,
                )
            )
        code = int(auth.verdict.exit_code)
        if json_output:
            typer.echo(format_dns_json(auth))
            raise typer.Exit(code)
        emit(dns_lines(auth, chosen), code)

    @app.command(help=SPF_HELP)
    def spf(
        ip: SpfIp,
        sender: SpfSender,
        helo: Helo = None,
        nameserver: Nameservers = None,
        dns_timeout: DnsTimeout = 5.0,
        json_output: opt.Json = False,
        lang: opt.Language = None,
        version: opt.Version = False,
    ) -> None:
        import asyncio

        from smtpprobe.cli_support import emit, guard
        from smtpprobe.core.exitcode import ExitCode
        from smtpprobe.core.spf import check_host, spf_domain
        from smtpprobe.errors import ConfigError
        from smtpprobe.render.dnsauth import format_spf_json, spf_lines
        from smtpprobe.resolver import DnsResolver

        chosen = opt.lang_of(lang)
        with guard(lang=chosen):
            address = _ip(ip, "--ip")
            if not sender.strip() and not helo:
                raise ConfigError(
                    '--sender "" is the null reverse path: give --helo NAME, the identity is '
                    "then postmaster@NAME (RFC 7208 §2.4)"
                )
            local, _, sender_domain = sender.strip().rpartition("@")
            if sender.strip() and not (local and sender_domain):
                raise ConfigError(f"--sender {sender!r}: give a mail address, e.g. info@example.jp")
            if sender.strip():
                _name(sender_domain, "--sender's domain")
            if helo is not None:
                helo = _name(helo, "--helo", ip_ok=True)
            hello = helo or sender.rpartition("@")[2]
            full_sender, domain = spf_domain(sender.strip(), hello)
            resolver = DnsResolver(nameservers(nameserver), timeout=dns_timeout)
            outcome = asyncio.run(
                check_host(address, domain, full_sender, helo=hello, resolver=resolver)
            )
        result = str(outcome.result.value)
        code = int(
            ExitCode.ACCEPTED
            if result == "pass"
            else ExitCode.INCOMPLETE
            if result == "temperror"
            else ExitCode.REFUSED
        )
        if json_output:
            typer.echo(
                format_spf_json(outcome, ip=address, sender=full_sender, helo=hello, exit_code=code)
            )
            raise typer.Exit(code)
        emit(spf_lines(outcome, ip=address, sender=full_sender, helo=hello, lang=chosen), code)


NoDnsChecks = Annotated[
    bool,
    typer.Option(
        "--no-dns-checks",
        help="Do not check the From domain's SPF, DKIM and DMARC (see 'smtpprobe dns').",
    ),
]


def dns_flag(options: CheckOptions, params: Mapping[str, Any]) -> CheckOptions:
    """``check``'s options with ``--no-dns-checks`` applied."""
    import dataclasses

    return dataclasses.replace(options, dns_checks=not params.get("no_dns_checks", False))
