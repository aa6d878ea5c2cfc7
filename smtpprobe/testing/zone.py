"""An in-memory ``Resolver`` (smtpprobe.core.dnsdata) for tests: zone data from a plain dict.

::

    zone = ZoneResolver({
        "example.jp": {"TXT": ["v=spf1 mx -all"], "A": ["192.0.2.1"],
                       "MX": [[10, "mx.example.jp"]]},
        "mx.example.jp": {"A": ["192.0.2.25"], "AAAA": ["2001:db8::25"]},
        "www.example.jp": {"CNAME": ["example.jp"]},
        "1.2.0.192.in-addr.arpa": {"PTR": ["example.jp"]},
        "bad.example.jp": "SERVFAIL",        # every query for the name fails temporarily
        "slow.example.jp": {"TXT": "TIMEOUT"},  # only TXT queries time out
    })

A TXT entry is a string, or a list of strings that are one RR's character-strings (joined,
RFC 7208 §3.3). Names match case-insensitively, with or without a trailing dot. A missing name
is NXDOMAIN and a missing type NODATA: both raise ``DnsError(VOID)``. CNAMEs are followed
(up to 8 links; a loop is a temporary error, as a recursive resolver reports SERVFAIL).
Every query is appended to ``queries`` as ``(type, name)`` so tests can count lookups.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from smtpprobe.core.dnsdata import DnsError, DnsErrorKind

__all__ = ["ZoneResolver"]

_FAILURES = {"SERVFAIL", "TIMEOUT"}
_MAX_CNAME_CHAIN = 8


def _key(name: str) -> str:
    return name.rstrip(".").lower()


class ZoneResolver:
    """Answers ``txt``/``a``/``aaaa``/``mx``/``ptr`` from ``zone``; see the module docstring."""

    def __init__(self, zone: Mapping[str, Any]) -> None:
        self._zone: dict[str, Any] = {_key(name): data for name, data in zone.items()}
        self.queries: list[tuple[str, str]] = []

    def _records(self, name: str, rtype: str) -> list[Any]:
        self.queries.append((rtype, name))
        current = name
        for _ in range(_MAX_CNAME_CHAIN + 1):
            entry = self._zone.get(_key(current))
            if entry is None:
                raise DnsError(DnsErrorKind.VOID, name, "NXDOMAIN")
            if isinstance(entry, str):
                if entry.upper() in _FAILURES:
                    raise DnsError(DnsErrorKind.TEMPORARY, name, entry.upper())
                raise ValueError(f"zone entry for {current!r} must be a dict or SERVFAIL/TIMEOUT")
            data = entry.get(rtype)
            if isinstance(data, str) and data.upper() in _FAILURES:
                raise DnsError(DnsErrorKind.TEMPORARY, name, data.upper())
            if data:
                return list(data)
            cname = entry.get("CNAME")
            if cname and rtype != "CNAME":
                target = cname if isinstance(cname, str) else cname[0]
                current = str(target)
                continue
            raise DnsError(DnsErrorKind.VOID, name, "NODATA")
        raise DnsError(DnsErrorKind.TEMPORARY, name, "CNAME chain too long")

    async def txt(self, name: str) -> list[str]:
        """TXT records, each RR's strings joined (RFC 7208 §3.3)."""
        out: list[str] = []
        for rr in self._records(name, "TXT"):
            out.append(rr if isinstance(rr, str) else "".join(str(part) for part in rr))
        return out

    async def a(self, name: str) -> list[str]:
        """IPv4 addresses."""
        return [str(rr) for rr in self._records(name, "A")]

    async def aaaa(self, name: str) -> list[str]:
        """IPv6 addresses."""
        return [str(rr) for rr in self._records(name, "AAAA")]

    async def mx(self, name: str) -> list[tuple[int, str]]:
        """(preference, exchange) pairs, exchange without trailing dot."""
        out: list[tuple[int, str]] = []
        for rr in self._records(name, "MX"):
            if isinstance(rr, str):
                pref, _, host = rr.partition(" ")
                out.append((int(pref), host.strip().rstrip(".")))
            else:
                pair: Sequence[Any] = rr
                out.append((int(pair[0]), str(pair[1]).rstrip(".")))
        return out

    async def ptr(self, address: str) -> list[str]:
        """PTR names for ``address``, looked up under in-addr.arpa / ip6.arpa."""
        try:
            reverse = ipaddress.ip_address(address).reverse_pointer
        except ValueError as exc:
            raise DnsError(DnsErrorKind.VOID, address, "not an IP address") from exc
        return [str(rr).rstrip(".") for rr in self._records(reverse, "PTR")]
