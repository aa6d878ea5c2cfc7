"""The DNS resolver interface the pure checks (SPF, DMARC, DKIM) are written against.

The core never talks to the network: a check receives an object implementing ``Resolver``
and awaits it. ``smtpprobe.resolver`` implements it over dnspython; ``smtpprobe.testing.zone``
implements it from an in-memory dict for tests.

Every method raises ``DnsError`` on failure:

- ``DnsErrorKind.VOID`` for NXDOMAIN or NODATA (no records of that type). RFC 7208 §4.6.4
  counts these as "void lookups", so the caller needs them apart from real answers.
- ``DnsErrorKind.TEMPORARY`` for SERVFAIL, timeouts, REFUSED and network errors, which
  RFC 7208 §2.6.6 turns into ``temperror``.

Names are passed and returned without a trailing dot; case is preserved, not forced.
CNAMEs are followed by the resolver: RFC 7208 §4.6.4 counts the query, not the chain.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

__all__ = ["DnsError", "DnsErrorKind", "Resolver"]


class DnsErrorKind(StrEnum):
    """Why a query gave no usable answer."""

    VOID = "void"  # NXDOMAIN, or the name exists with no records of the type (NODATA)
    TEMPORARY = "temporary"  # SERVFAIL, timeout, REFUSED, network failure


class DnsError(Exception):
    """A query that produced no records: ``kind`` says whether to retry or count it as void."""

    def __init__(self, kind: DnsErrorKind, name: str, detail: str = "") -> None:
        self.kind = kind
        self.name = name
        self.detail = detail
        super().__init__(f"{kind.value}: {name}" + (f" ({detail})" if detail else ""))

    def __reduce__(self) -> tuple[type[DnsError], tuple[DnsErrorKind, str, str]]:
        return (DnsError, (self.kind, self.name, self.detail))


class Resolver(Protocol):
    """The five queries the authentication checks need (RFC 7208 §5, RFC 6376 §3.6.2)."""

    async def txt(self, name: str) -> list[str]:
        """TXT records of ``name``; each RR's character-strings joined (RFC 7208 §3.3)."""
        ...

    async def a(self, name: str) -> list[str]:
        """IPv4 addresses of ``name`` as dotted-quad text."""
        ...

    async def aaaa(self, name: str) -> list[str]:
        """IPv6 addresses of ``name`` as text."""
        ...

    async def mx(self, name: str) -> list[tuple[int, str]]:
        """MX records of ``name`` as (preference, exchange without trailing dot)."""
        ...

    async def ptr(self, address: str) -> list[str]:
        """PTR names for an IPv4/IPv6 ``address`` (the resolver builds the reverse name)."""
        ...
