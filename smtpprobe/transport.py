"""The seam to the network: how the driver resolves, connects and talks.

``Transport`` and ``Connection`` are the only things ``smtpprobe.driver``
knows of the network; ``NetworkTransport`` is the real one (sockets,
getaddrinfo, python-socks for ``--proxy``, ``smtpprobe.connection`` for SMTP
over asyncio), and ``smtpprobe.testing.transport.MockTransport`` replaces it in
tests, as httpx's ``MockTransport`` does; ``smtpprobe.blocking.BlockingTransport``
is the same network on blocking sockets, for one probe per process with no event
loop. Every exception any of them raises is turned into a failure by
``smtpprobe.failures.failure_from_exception``; the seam's own are defined here:

    ReplyTimeout        no whole reply within the time limit (TimeoutError)
    ConnectionClosed    the server closed or reset the connection (ConnectionError)
    StartTLSInjection   plaintext where the TLS handshake should begin (RFC 3207 §4.2)
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from smtpprobe.core.record import record
from smtpprobe.core.spec import Family, ProxySpec
from smtpprobe.core.transcript import TLSInfo
from smtpprobe.core.wire import WireReply
from smtpprobe.errors import ConfigError

P = TypeVar("P")

__all__ = [
    "Address",
    "Connection",
    "ConnectionClosed",
    "EarlyTLSData",
    "NetworkTransport",
    "ReplyTimeout",
    "StartTLSInjection",
    "Transport",
    "acknowledge_at_once",
    "bind_source",
    "check_nothing_pending",
    "proxy_connector",
    "reply_timeout",
    "scope_index",
]


class ReplyTimeout(TimeoutError):
    """No complete reply arrived within the time limit."""


def reply_timeout(timeout: float, pending: int, bare_cr: bool = False) -> ReplyTimeout:
    """The timeout of a reply wait; ``pending`` bytes of an unfinished reply are told,
    so that a server that was still sending is not said to have sent nothing, and so is
    a line ended by CR alone (``bare_cr``), which no wait would complete."""
    if pending and bare_cr:
        return ReplyTimeout(
            f"no complete reply within {timeout:g} s ({pending} bytes of an unfinished reply, "
            "its lines ended by CR alone, without LF)"
        )
    if pending:
        return ReplyTimeout(
            f"no complete reply within {timeout:g} s ({pending} bytes of an unfinished reply)"
        )
    return ReplyTimeout(f"no reply within {timeout:g} s")


class ConnectionClosed(ConnectionError):
    """The server closed (FIN) or reset (RST) the connection; ``str()`` says which."""


class EarlyTLSData(ssl.SSLError):
    """The server's TLS records came before our ClientHello (an alert): no handshake."""

    def __str__(self) -> str:
        # SSLError's own str() of a one-argument instance is the args tuple's repr.
        return str(self.args[0]) if self.args else ""


class StartTLSInjection(EarlyTLSData):
    """Plaintext arrived where the TLS handshake should begin (RFC 3207 section 4.2)."""


_FAMILIES = {
    Family.ANY: socket.AF_UNSPEC,
    Family.IPV4: socket.AF_INET,
    Family.IPV6: socket.AF_INET6,
}


@record
class Address:
    """One address to connect to: an IP (or, through a remote-DNS proxy, the name)."""

    host: str
    port: int
    family: int = socket.AF_UNSPEC
    sockaddr: tuple[object, ...] = ()


class Connection(Protocol):
    """One open connection to an SMTP server."""

    @property
    def encrypted(self) -> bool:
        """Whether TLS protects the connection right now."""

    @property
    def local_address(self) -> str | None:
        """This side's IP address."""

    @property
    def peer_address(self) -> str | None:
        """The other side's IP address: the server's, or the proxy's through a proxy."""

    def send(self, line: bytes) -> None:
        """Write one command line; CRLF is added."""

    def send_flight(self, lines: Sequence[bytes]) -> None:
        """Write several command lines (CRLF added to each) in one write.

        One write is one TLS record: a server that flushes its replies when its
        input runs dry (Postfix) then answers the whole flight in one segment.
        """

    def write(self, data: bytes) -> None:
        """Write raw bytes (the message after DATA)."""

    async def read_reply(self, timeout: float) -> WireReply:
        """The next whole reply; raises on timeout, close or a malformed reply."""

    async def unread(self) -> bool:
        """Whether a reply, or part of one, has arrived that no command has asked for yet.

        RFC 5321 section 4.2: one reply per command. Bytes waiting before a command is sent
        are one reply too many, and the next command would read them as its own."""

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str, timeout: float
    ) -> None:
        """Run the TLS handshake on the connection."""

    def describe_tls(self, *, verified: bool, error: str | None = None) -> TLSInfo:
        """What the handshake negotiated and the server's certificate."""

    def close(self) -> None:
        """Drop the connection at once."""


class Transport(Protocol):
    """Resolves names and opens connections, directly or through a proxy."""

    async def resolve(self, host: str, port: int, family: Family, timeout: float) -> list[Address]:
        """Every address of ``host`` (raises ``socket.gaierror`` or ``TimeoutError``)."""

    async def connect(
        self,
        address: Address,
        *,
        source: str | None,
        proxy: ProxySpec | None,
        timeout: float,
    ) -> Connection:
        """Open a connection to ``address``, through ``proxy`` if given, bound to ``source``."""


def acknowledge_at_once(sock: socket.socket) -> None:
    """Have the kernel acknowledge what arrives next at once (Linux's TCP_QUICKACK).

    After a TLS 1.3 handshake the server sends its session tickets and then, on implicit
    TLS, its greeting: a server that does not set TCP_NODELAY (Postfix) holds the small
    greeting until the tickets are acknowledged (Nagle), and the client's delayed ACK
    waited its ~40 ms. The bench's Postfix greeted 35 ms after the handshake, 0.4–4 ms
    with this. Not sticky, and where the option is missing or refused nothing changes.
    """
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def socket_family(family: Family) -> int:
    """The ``socket`` constant for an address family."""
    return int(_FAMILIES[family])


def literal_address(host: str, port: int) -> Address | None:
    """The address itself for an IP literal (no lookup), or None for a name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name, or a scoped IPv6 address that getaddrinfo must resolve
    if address.version == 4:
        return Address(host, port, socket.AF_INET, (host, port))
    bare = host.partition("%")[0]
    return Address(host, port, socket.AF_INET6, (bare, port, 0, scope_index(host)))


def scope_index(host: str) -> int:
    """The interface index of an IPv6 literal's zone (``fe80::1%eth0``; RFC 4007 section 11),
    0 without one. ConfigError when this machine has no such interface: connecting with
    the zone left in the address fails with a misleading "Name or service not known"."""
    _, percent, zone = host.partition("%")
    if not percent:
        return 0
    if zone.isdigit():
        return int(zone)
    try:
        return socket.if_nametoindex(zone)
    except OSError:
        from smtpprobe.errors import ConfigError

        raise ConfigError(
            f"--host {host}: this machine has no network interface {zone!r} "
            "(the part after '%' names one; see `ip link`)"
        ) from None


class NetworkTransport:
    """The real network: the system resolver, TCP sockets, python-socks, asyncio TLS."""

    async def resolve(self, host: str, port: int, family: Family, timeout: float) -> list[Address]:
        literal = literal_address(host, port)
        if literal is not None:
            # No resolver thread for an IP address: under load it could time out
            # and turn a literal into a "dns-failure".
            return [literal]
        import asyncio

        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(
                host, port, family=_FAMILIES[family], type=socket.SOCK_STREAM
            )
        return addresses_of(infos, port)

    async def connect(
        self,
        address: Address,
        *,
        source: str | None,
        proxy: ProxySpec | None,
        timeout: float,
    ) -> Connection:
        from smtpprobe.connection import open_connection

        if proxy is not None:
            sock = await _through_proxy(proxy, address, source, timeout)
        else:
            sock = await _direct(address, source, timeout)
        return await open_connection(sock, timeout=timeout)


def addresses_of(infos: Sequence[tuple[Any, ...]], port: int) -> list[Address]:
    """``getaddrinfo``'s answers as addresses, each once, in the resolver's order."""
    unique = dict.fromkeys((info[0], info[4]) for info in infos)
    return [Address(str(addr[0]), port, fam, addr) for fam, addr in unique]


def bind_source(sock: socket.socket, source: str | None, address: Address) -> None:
    """Bind ``sock`` to ``--source-address``; ConfigError if this machine cannot."""
    if source is None:
        return
    try:
        sock.bind((source, 0))
    except OSError as exc:
        raise _unbindable(source, exc, f"of the same family as {address.host}") from None


async def _direct(address: Address, source: str | None, timeout: float) -> socket.socket:
    import asyncio

    sock = socket.socket(address.family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        bind_source(sock, source, address)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, address.sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


async def _through_proxy(
    proxy: ProxySpec, address: Address, source: str | None, timeout: float
) -> socket.socket:
    from python_socks.async_.asyncio import Proxy

    connector = proxy_connector(proxy, source, Proxy)
    local = (source, 0) if source else None
    sock: socket.socket = await connector.connect(
        address.host, address.port, timeout=timeout, local_addr=local
    )
    return sock


def proxy_connector(proxy: ProxySpec, source: str | None, factory: Callable[..., P]) -> P:
    """python-socks' connector for ``proxy``: ``factory`` is its asyncio or its sync ``Proxy``.

    A ``source`` address this machine cannot bind fails first, with a ConfigError.
    """
    from python_socks import ProxyType

    check_bind(source, proxy.host)
    kinds = {
        "socks5": ProxyType.SOCKS5,
        "socks5h": ProxyType.SOCKS5,
        "socks4": ProxyType.SOCKS4,
        "socks4a": ProxyType.SOCKS4,
        "http": ProxyType.HTTP,
    }
    return factory(
        kinds[proxy.scheme],
        proxy.host,
        proxy.port,
        username=proxy.username,
        password=proxy.password,
        rdns=proxy.remote_dns,
    )


def check_bind(source: str | None, proxy_host: str) -> None:
    """Fail early and clearly on a --source-address this machine does not have."""
    if source is None:
        return
    family = socket.AF_INET6 if ":" in source else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((source, 0))
    except OSError as exc:
        raise _unbindable(
            source, exc, f"from which the proxy {proxy_host} can be reached"
        ) from None


def check_nothing_pending(pending: bool, head: bytes = b"") -> None:
    """StartTLSInjection if bytes came where the TLS handshake should begin.

    After STARTTLS's 220 such bytes are a broken server or an injection (RFC 3207 section
    4.2); on an implicit-TLS port, a plaintext greeting. Bytes that begin a TLS record
    (content type 20-24, version 3.x: RFC 8446 section 5.1) are the server's TLS, sent
    before our ClientHello (an alert from a server that takes no modern TLS): a failed
    handshake, not plaintext.
    """
    if not pending:
        return
    if len(head) >= 2 and 20 <= head[0] <= 24 and head[1] == 3:
        raise EarlyTLSData("the server sent TLS data (an alert) before the handshake began")
    raise StartTLSInjection("the server sent plaintext where the TLS handshake should begin")


def _unbindable(source: str, exc: OSError, which: str) -> ConfigError:
    return ConfigError(
        f"--source-address {source}: cannot bind it ({exc.strerror}); use an address of "
        f"this machine {which}"
    )
