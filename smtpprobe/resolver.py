"""The real ``Resolver`` (smtpprobe.core.dnsdata) over dnspython's asynchronous stub resolver.

``DnsResolver()`` asks the system's resolvers (/etc/resolv.conf); ``DnsResolver(["IP[:PORT]"])``
asks only the given ones (``--nameserver``; IPv6 as ``[::1]:53``). dnspython's exceptions are
mapped to ``DnsError`` in one place, ``_query``:

- NXDOMAIN and NoAnswer (NODATA) -> ``DnsErrorKind.VOID``: RFC 7208 §4.6.4 counts these as
  void lookups, RFC 9989's tree walk steps past them;
- NoNameservers (every server answered SERVFAIL or REFUSED), timeouts and any other failure ->
  ``DnsErrorKind.TEMPORARY``, which RFC 7208 §2.6.6 turns into ``temperror``.

A name that cannot be a DNS name (an empty or 64-octet label, RFC 1035 §2.3.4), as a macro
expansion may produce, is VOID: no record can exist for it, and nothing is sent.

CNAMEs are followed by the resolver: the answer is the canonical name's records (RFC 1034
§3.6.2), and the caller counts one query (RFC 7208 §4.6.4). A UDP answer with TC set is asked
again over TCP by dnspython itself (RFC 7766 §6.2.1; ``dns.nameserver.Do53Nameserver`` queries
with ``raise_on_truncation``, and the resolution retries the server over TCP).
"""

from __future__ import annotations

import ipaddress

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
import dns.reversename

from smtpprobe.core.dnsdata import DnsError, DnsErrorKind
from smtpprobe.core.errors import ConfigError

__all__ = ["DEFAULT_TIMEOUT", "DnsResolver", "parse_nameserver"]

DEFAULT_TIMEOUT = 5.0
# A query that waits longer answers nothing a check could use; infinity waited forever.
_MAX_DNS_TIMEOUT = 300.0
_DNS_PORT = 53


def parse_nameserver(value: str) -> tuple[str, int]:
    """``"IP"``, ``"IP:PORT"``, ``"[IPv6]:PORT"`` or a bare IPv6 address -> (ip, port).

    Raises ConfigError naming the option and the expected form.
    """
    text = value.strip()
    host, port_text, ok = text, "", True
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        ok = bool(bracket) and (rest == "" or (rest.startswith(":") and len(rest) > 1))
        port_text = rest[1:]
    elif text.count(":") == 1:  # IPv4:PORT (a bare IPv6 address has two or more colons)
        host, _, port_text = text.partition(":")
        ok = bool(port_text)
    port = int(port_text) if port_text.isascii() and port_text.isdigit() else _DNS_PORT
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        ok = False
    if port_text and not (port_text.isascii() and port_text.isdigit()):
        ok = False
    if not ok or not 0 < port < 65536:
        raise ConfigError(
            f"--nameserver {value!r}: give an IP address with an optional port, "
            "e.g. 192.0.2.53, 127.0.0.1:5353 or [::1]:53"
        )
    return str(address), port


class DnsResolver:
    """``smtpprobe.core.dnsdata.Resolver`` over ``dns.asyncresolver``.

    ``nameservers``: ``"IP[:PORT]"`` strings to ask instead of the system's; ``timeout``: the
    seconds one query may take in all (retries and the TCP fallback included).
    """

    def __init__(
        self, nameservers: list[str] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        if not 0 < timeout <= _MAX_DNS_TIMEOUT:  # also refuses NaN and infinity
            raise ConfigError(
                f"--dns-timeout {timeout}: give a positive number of seconds, at most "
                f"{_MAX_DNS_TIMEOUT:g}"
            )
        if nameservers:
            servers = [parse_nameserver(value) for value in nameservers]
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(address, port) for address, port in servers
            ]
        else:
            try:
                resolver = dns.asyncresolver.Resolver()  # the system's: /etc/resolv.conf
            except (dns.resolver.NoResolverConfiguration, OSError) as error:
                raise ConfigError(
                    "no system DNS resolver is configured: give one with --nameserver IP[:PORT]"
                ) from error
        resolver.timeout = timeout
        resolver.lifetime = timeout
        # Our names are always fully qualified: no search list, no ndots.
        resolver.use_search_by_default = False
        self._resolver = resolver
        self.timeout = timeout

    @property
    def nameservers(self) -> list[str]:
        """The servers asked, as ``IP:PORT`` (IPv6 in brackets)."""
        out = []
        for server in self._resolver.nameservers:
            if isinstance(server, dns.nameserver.AddressAndPortNameserver):
                address, port = server.address, server.port
            else:  # a plain address string, as dnspython keeps the system's
                address, port = str(server), _DNS_PORT
            out.append(f"[{address}]:{port}" if ":" in address else f"{address}:{port}")
        return out

    async def _query(self, name: str, rdtype: dns.rdatatype.RdataType) -> dns.resolver.Answer:
        """The answer for ``name``/``rdtype``; every dnspython failure becomes a DnsError."""
        try:
            qname = dns.name.from_text(name.rstrip(".") + ".") if name.rstrip(".") else None
        except dns.exception.DNSException as error:  # EmptyLabel, LabelTooLong, NameTooLong
            raise DnsError(DnsErrorKind.VOID, name, f"not a valid DNS name: {error}") from error
        if qname is None:
            raise DnsError(DnsErrorKind.VOID, name, "empty name")
        try:
            return await self._resolver.resolve(qname, rdtype, search=False)
        except dns.resolver.NXDOMAIN as error:
            raise DnsError(DnsErrorKind.VOID, name, "NXDOMAIN") from error
        except dns.resolver.NoAnswer as error:
            raise DnsError(DnsErrorKind.VOID, name, "NODATA") from error
        except dns.resolver.NoNameservers as error:
            # SERVFAIL, REFUSED (a server that will not serve us: often an authoritative-only
            # one given as --nameserver) or another failure code from every server: named as
            # they answered, not all as SERVFAIL.
            raise DnsError(DnsErrorKind.TEMPORARY, name, _answered(error)) from error
        except dns.exception.Timeout as error:  # LifetimeTimeout included
            raise DnsError(
                DnsErrorKind.TEMPORARY, name, f"no answer within {self.timeout:g} s"
            ) from error
        except (dns.exception.DNSException, OSError) as error:
            detail = str(error) or type(error).__name__
            raise DnsError(DnsErrorKind.TEMPORARY, name, detail) from error

    async def txt(self, name: str) -> list[str]:
        """TXT records of ``name``, each RR's character-strings joined (RFC 7208 §3.3)."""
        answer = await self._query(name, dns.rdatatype.TXT)
        return [b"".join(rdata.strings).decode("utf-8", errors="replace") for rdata in answer]

    async def a(self, name: str) -> list[str]:
        """IPv4 addresses of ``name``."""
        return [rdata.to_text() for rdata in await self._query(name, dns.rdatatype.A)]

    async def aaaa(self, name: str) -> list[str]:
        """IPv6 addresses of ``name``."""
        return [rdata.to_text() for rdata in await self._query(name, dns.rdatatype.AAAA)]

    async def mx(self, name: str) -> list[tuple[int, str]]:
        """(preference, exchange without the trailing dot) of ``name``'s MX records."""
        answer = await self._query(name, dns.rdatatype.MX)
        return [(int(rdata.preference), rdata.exchange.to_text().rstrip(".")) for rdata in answer]

    async def ptr(self, address: str) -> list[str]:
        """PTR names of ``address`` under in-addr.arpa / ip6.arpa (RFC 1035 §3.5, RFC 3596 §2.5)."""
        try:
            reverse = dns.reversename.from_address(address).to_text()
        except (dns.exception.DNSException, ValueError) as error:
            raise DnsError(DnsErrorKind.VOID, address, "not an IP address") from error
        answer = await self._query(reverse, dns.rdatatype.PTR)
        return [rdata.target.to_text().rstrip(".") for rdata in answer]


def _answered(error: dns.resolver.NoNameservers) -> str:
    """The response codes the servers gave ("REFUSED", "SERVFAIL/REFUSED"), else SERVFAIL."""
    import dns.message
    import dns.rcode

    codes = sorted(
        {
            dns.rcode.to_text(entry[-1].rcode())
            for entry in error.kwargs.get("errors", ())
            if isinstance(entry, tuple) and entry and isinstance(entry[-1], dns.message.Message)
        }
    )
    return "/".join(codes) or "SERVFAIL"
