"""The public egress address over DNS, and an address's country from offline data.

Egress: ask servers that answer with the address a query came from —
``TXT o-o.myaddr.l.google.com`` at Google's authoritative ``ns1.google.com``,
and ``A myip.opendns.com`` at OpenDNS's resolver — concurrently, with a short
overall timeout, from the probe's own source address. The first valid answer
wins. Each query uses a *connected* UDP socket so that an ICMP "port
unreachable" (no DNS server there, e.g. offline) ends it at once instead of
after the timeout.

``SMTPPROBE_EGRESS_RESOLVERS="host:port,[v6]:port"`` replaces the servers
(each is then asked both questions): the tests point it at loopback.

Country: ``iptocc`` (see pyproject.toml for why), whose data is built into the
wheel from the five RIRs' delegation files; the data date is its build date.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from smtpprobe.core.record import record
from smtpprobe.errors import ConfigError

if TYPE_CHECKING:
    import dns.message

# dnspython is imported where a query is made: it costs ~20 ms of start-up, which a
# probe with --no-egress-lookup (or through a proxy) never needs.

__all__ = [
    "DEFAULT_EGRESS_SERVERS",
    "ENV_RESOLVERS",
    "EgressQuery",
    "EgressResult",
    "country_of",
    "egress_queries",
    "lookup_egress",
]

ENV_RESOLVERS = "SMTPPROBE_EGRESS_RESOLVERS"


@record
class EgressQuery:
    """One question to one server: ``name``/``rdtype`` asked of ``server``:``port``."""

    server: str
    port: int
    name: str
    rdtype: str  # "TXT" or "A"

    @property
    def method(self) -> str:
        return f"dns:{self.name}"


GOOGLE = ("o-o.myaddr.l.google.com", "TXT")
OPENDNS = ("myip.opendns.com", "A")
# Google's answer comes from its authoritative server, so it is the querying
# address itself, not a recursive resolver's; OpenDNS's resolver answers its own name.
DEFAULT_EGRESS_SERVERS: tuple[EgressQuery, ...] = (
    EgressQuery("216.239.32.10", 53, *GOOGLE),  # ns1.google.com
    EgressQuery("208.67.222.222", 53, *OPENDNS),  # resolver1.opendns.com
)


@record
class EgressResult:
    """The learned address and how (``dns:<name>``), or None with the reason."""

    address: str | None
    method: str | None
    note: str


def _parse_server(item: str) -> tuple[str, int]:
    item = item.strip()
    host, sep, port = item.rpartition(":") if not item.startswith("[") else item.partition("]:")
    if item.startswith("["):
        host = host.lstrip("[")
        sep = ":" if port else ""
    try:
        ipaddress.ip_address(host)
        number = int(port) if sep else 53
    except ValueError:
        raise ConfigError(
            f"{ENV_RESOLVERS}: {item!r} is not IP:PORT (e.g. 127.0.0.1:5353 or [::1]:53)"
        ) from None
    if not 1 <= number <= 65535:
        raise ConfigError(f"{ENV_RESOLVERS}: port {number} is out of range")
    return host, number


def egress_queries(spec: str | None = None) -> tuple[EgressQuery, ...]:
    """The queries to send: from ``spec`` or the environment, else the defaults."""
    spec = spec if spec is not None else os.environ.get(ENV_RESOLVERS)
    if spec is None:
        return DEFAULT_EGRESS_SERVERS
    queries: list[EgressQuery] = []
    for item in spec.split(","):
        if item.strip():
            host, port = _parse_server(item)
            queries += [EgressQuery(host, port, *GOOGLE), EgressQuery(host, port, *OPENDNS)]
    if not queries:
        # Set but naming no server ('' or ','): whoever set it meant to keep the lookup off
        # the public servers, so it never falls back to them silently.
        raise ConfigError(
            f"{ENV_RESOLVERS} names no server: give HOST:PORT,… or unset it "
            "(or use --no-egress-lookup)"
        )
    return tuple(queries)


def _answer_address(response: dns.message.Message, query: EgressQuery) -> str | None:
    import dns.rdatatype

    wanted = dns.rdatatype.from_text(query.rdtype)
    for rrset in response.answer:
        if rrset.rdtype != wanted:
            continue
        for rdata in rrset:
            # Google may add a second TXT ("edns0-client-subnet …"); take the one that
            # is an address.
            text = (
                b"".join(rdata.strings).decode("ascii", "replace")
                if wanted == dns.rdatatype.TXT
                else rdata.to_text()
            )
            try:
                return str(ipaddress.ip_address(text.strip()))
            except ValueError:
                continue
    return None


async def _ask(query: EgressQuery, source: str | None) -> tuple[EgressQuery, str | None]:
    import asyncio

    import dns.exception
    import dns.message

    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in query.server else socket.AF_INET
    message = dns.message.make_query(query.name, query.rdtype)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if source is not None and (":" in source) == (family == socket.AF_INET6):
            sock.bind((source, 0))  # the same source as the probe: the same NAT mapping
        sock.connect((query.server, query.port))
        await loop.sock_sendall(sock, message.to_wire())
        while True:
            wire = await loop.sock_recv(sock, 65535)
            try:
                response = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                continue
            if message.is_response(response):
                return query, _answer_address(response, query)
    finally:
        sock.close()


async def lookup_egress(
    queries: Sequence[EgressQuery], *, timeout: float, source: str | None = None
) -> EgressResult:
    """Ask every server at once; return the first address, or why there is none."""
    import asyncio  # here: a probe with no lookup never loads it

    tasks = [asyncio.ensure_future(_ask(q, source)) for q in queries]
    errors: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            for finished in asyncio.as_completed(tasks):
                try:
                    query, address = await finished
                except OSError as exc:
                    errors.append(exc.strerror or type(exc).__name__)
                    continue
                if address is not None:
                    return EgressResult(address, query.method, "")
    except TimeoutError:
        return EgressResult(None, None, f"no egress DNS answer within {timeout:g} s")
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
    reason = "; ".join(dict.fromkeys(errors)) or "no usable answer"
    return EgressResult(None, None, f"egress DNS lookup failed ({reason})")


# --------------------------------------------------------------------------- country


@cache
def _iptocc_data_date() -> str | None:
    """The date iptocc's embedded data was built: its wheel's SBOM timestamp."""
    from importlib import metadata

    try:
        dist = metadata.distribution("iptocc")
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name.endswith(".cyclonedx.json"):
            try:
                stamp = json.loads(file.read_text())["metadata"]["timestamp"]
            except (OSError, ValueError, KeyError, TypeError):
                return None
            return str(stamp)[:10]
    return None


def country_of(address: str) -> tuple[str | None, str | None]:
    """ISO 3166-1 alpha-2 country of ``address`` and the data's date; (None, None) if unknown."""
    try:
        from iptocc import country_code
    except ImportError:
        return None, None
    code = country_code(address)
    return (str(code) if code else None), _iptocc_data_date()
