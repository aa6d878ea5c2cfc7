"""Where a probe came from: the addresses learned, which one the server saw, and its country.

Pure: the driver and ``smtpprobe.egress`` collect the observations (the local
socket address, an egress DNS answer, the proxy's address, the server's echo
of our address); ``build_origin`` decides what to report and says honestly
when nothing was learned. A geo-IP filter judges the address the server sees,
so that is the one whose country matters.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.transcript import Origin, Phase, Transcript

__all__ = ["CountryLookup", "address_scope", "build_origin", "echoed_address"]

# (country code or None, data date or None) for an address; None when no data set is installed.
CountryLookup = Callable[[str], tuple[str | None, str | None]]

# An address literal in brackets, as Exim, Sendmail, Exchange and Gmail echo the
# client ("250-mx.example Hello [203.0.113.5]", "at your service, [203.0.113.5]").
_LITERAL = LazyPattern(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{2,45})\]")


def echoed_address(transcript: Transcript) -> str | None:
    """The client address the server echoed in its greeting or first EHLO line, if any."""
    for step in transcript.steps:
        if step.phase not in (Phase.GREETING, Phase.EHLO) or step.reply is None:
            continue
        if step.reply.code not in (220, 250) or not step.reply.lines:
            continue
        found = _address_literals(step.reply.lines[0])
        if found:
            return found[-1]
    return None


def _address_literals(line: str) -> list[str]:
    out = []
    for match in _LITERAL.finditer(line):
        try:
            out.append(str(ipaddress.ip_address(match.group(1))))
        except ValueError:
            continue
    return out


def address_scope(address: str) -> str | None:
    """Why an address has no country ("loopback", "private"…), or None for a global one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private or getattr(ip, "is_shared", False):
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def build_origin(
    *,
    local_address: str | None,
    route: str = "direct",
    egress: tuple[str, str] | None = None,
    egress_note: str | None = None,
    proxy_address: str | None = None,
    echoed: str | None = None,
    server_address: str | None = None,
    country_of: CountryLookup | None = None,
) -> Origin:
    """Choose the public address the server saw and look up its country.

    ``egress`` is ``(address, method)`` from a DNS egress query. Through a
    proxy the egress query (UDP) cannot follow the route, so the server's echo
    wins, then the proxy's own address. Directly, the DNS answer wins, then the
    echo, then a local address that is itself global (no NAT) or that a server
    on a local network (loopback, private) sees as it is.
    """
    notes: list[str] = []
    public: str | None = None
    method = "unknown"
    if proxy_address is not None:
        # An echo equal to our own local address may just repeat our EHLO literal.
        if echoed is not None and (address_scope(echoed) is None or echoed != local_address):
            public, method = echoed, "smtp-greeting"
        else:
            public, method = proxy_address, "proxy"
            if address_scope(proxy_address) == "loopback":
                notes.append(
                    "the proxy is on this machine (e.g. ssh -D): its exit is the far end of the "
                    "tunnel, which only the server's echo or the far host can show"
                )
    elif egress is not None:
        public, method = egress
        if echoed is not None and echoed not in (public, local_address):
            notes.append(f"the server echoed {echoed}, not {public}")
    elif echoed is not None:
        public, method = echoed, "smtp-greeting"
    elif local_address is not None and (
        address_scope(local_address) is None
        or (server_address is not None and address_scope(server_address) is not None)
    ):
        public, method = local_address, "local-address"
    if egress is None and egress_note and proxy_address is None:
        notes.append(egress_note)
    if (
        public is not None
        and local_address is not None
        and _family(public) != _family(local_address)
    ):
        notes.append(
            f"the public address is IPv{_family(public)} but the probe connected over "
            f"IPv{_family(local_address)}"
        )
    country: str | None = None
    data_date: str | None = None
    if public is None:
        notes.append("public address unknown")
    else:
        scope = address_scope(public)
        if scope is not None:
            notes.append(f"{public} is a {scope} address: it has no country")
        elif country_of is None:
            notes.append("no IP-to-country data set is installed")
        else:
            country, data_date = country_of(public)
            if country is None:
                notes.append(f"{public} is not in the IP-to-country data")
    return Origin(
        local_address=local_address,
        public_address=public,
        method=method,
        country=country,
        data_date=data_date,
        echoed_address=echoed,
        route=route,
        notes=tuple(_unique(notes)),
    )


def _family(address: str) -> int:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return 0


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
