"""A small authoritative DNS server on loopback, for tests that need real DNS over the wire.

``DnsServer(zone)`` answers from a dict of the same shape as ``ZoneResolver``'s::

    {"example.jp": {"TXT": ["v=spf1 mx -all"], "MX": [(10, "mx.example.jp")],
                    "A": ["192.0.2.1"], "AAAA": ["2001:db8::1"]},
     "www.example.jp": {"CNAME": ["example.jp"]},
     "1.2.0.192.in-addr.arpa": {"PTR": ["mail.example.jp"]},
     "broken.example.jp": "SERVFAIL",     # every query for this name: rcode SERVFAIL
     "slow.example.jp": "TIMEOUT",        # every query for this name: no answer at all
     "txt.example.jp": {"TXT": "TIMEOUT", "A": ["192.0.2.9"]}}  # only TXT queries fail

over UDP and TCP on the same port (RFC 1035 §4.2: TCP messages carry a two-byte length). Names
are case-insensitive and written without the trailing dot. A ``TXT`` value that is a ``str`` is
split into 255-byte character-strings (RFC 1035 §3.3.14; RFC 7208 §3.3: the receiver joins
them); a list or tuple of ``str`` is served as exactly those strings. An ``MX`` value is a
``(preference, exchange)`` pair or ``"preference exchange"``. Any other type is given in
presentation format (``dns.rdata.from_text``).

Answers follow what an authoritative server (and the recursive one a stub talks to) does:
NXDOMAIN for a name that does not exist, NOERROR with an empty answer (NODATA) for a name that
exists without the asked type — including an empty non-terminal (RFC 8020 §2), a CNAME in the
answer followed by its target's records while the target is in the zone (RFC 1034 §3.6.2,
§4.3.2). ``truncate_udp = True`` answers every UDP query with TC set and no records, so a client
must retry over TCP (RFC 7766 §6.2.1); an answer bigger than the client's UDP limit (512, or its
EDNS payload size, RFC 6891 §6.2.5) is truncated the same way. Each query is recorded in
``queries`` as ``(transport, name, type)``.

Message handling is dnspython's (``dns.message.from_wire``, ``make_response``); the sockets are
``LoopbackServer``'s loop and thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.TXT
import dns.rrset

from smtpprobe.testing.loopback import LoopbackServer, require_loopback

__all__ = ["DnsServer", "Query", "ZoneData"]

ZoneData = Mapping[str, Any]
"""name -> {TYPE: [values] | "SERVFAIL" | "REFUSED" | "TIMEOUT"} or one of those (every type)."""

_TTL = 300
_MAX_CNAME_CHAIN = 16
_UDP_DEFAULT_PAYLOAD = 512  # RFC 1035 §4.2.1, when the query carries no EDNS OPT record
_BIND_ATTEMPTS = 50
_FAILURES = ("SERVFAIL", "REFUSED", "TIMEOUT")


@dataclass(frozen=True, slots=True)
class Query:
    """One query the server received."""

    transport: Literal["udp", "tcp"]
    name: str
    rdtype: str


def _normal(name: str) -> str:
    return name.rstrip(".").lower()


def _chunks(text: str) -> list[bytes]:
    """``text`` as UTF-8 in character-strings of at most 255 bytes (RFC 1035 §3.3.14)."""
    data = text.encode("utf-8")
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]


def _rdata(rdtype: dns.rdatatype.RdataType, value: object) -> dns.rdata.Rdata:
    """One zone value as rdata of ``rdtype``."""
    cls = dns.rdataclass.IN
    if rdtype == dns.rdatatype.TXT:
        if isinstance(value, str):
            strings = _chunks(value)
        elif isinstance(value, list | tuple):
            strings = [str(part).encode("utf-8") for part in value]
        else:
            raise ValueError(f"TXT value must be a str or a list of str, not {value!r}")
        return dns.rdtypes.ANY.TXT.TXT(cls, rdtype, strings)
    if rdtype == dns.rdatatype.MX and isinstance(value, list | tuple):
        preference, exchange = value
        return dns.rdata.from_text(cls, rdtype, f"{int(preference)} {_normal(str(exchange))}.")
    if rdtype in (dns.rdatatype.CNAME, dns.rdatatype.PTR, dns.rdatatype.NS):
        return dns.rdata.from_text(cls, rdtype, _normal(str(value)) + ".")
    if rdtype == dns.rdatatype.MX:
        preference, _, exchange = str(value).partition(" ")
        return dns.rdata.from_text(cls, rdtype, f"{preference} {_normal(exchange.strip())}.")
    return dns.rdata.from_text(cls, rdtype, str(value))


class _Zone:
    """The zone dict compiled to rdata, and the answer to one question."""

    def __init__(self, data: ZoneData) -> None:
        self.failures: dict[str, str] = {}
        self.type_failures: dict[tuple[str, dns.rdatatype.RdataType], str] = {}
        self.records: dict[str, dict[dns.rdatatype.RdataType, list[dns.rdata.Rdata]]] = {}
        for raw_name, entry in data.items():
            name = _normal(raw_name)
            if isinstance(entry, str):
                if entry not in _FAILURES:
                    raise ValueError(
                        f"{raw_name}: a name's entry is a dict, SERVFAIL, REFUSED or TIMEOUT"
                    )
                self.failures[name] = entry
                continue
            types = self.records.setdefault(name, {})
            for type_name, values in entry.items():
                rdtype = dns.rdatatype.from_text(type_name.upper())
                if values in _FAILURES:  # only this type fails
                    self.type_failures[name, rdtype] = str(values)
                    continue
                if isinstance(values, str):  # one value given without its list
                    values = [values]
                types.setdefault(rdtype, []).extend(_rdata(rdtype, v) for v in values)

    def exists(self, name: str) -> bool:
        """The name has records, or names below it do (an empty non-terminal, RFC 8020 §2)."""
        if name in self.records or name in self.failures:
            return True
        suffix = "." + name
        return any(other.endswith(suffix) for other in (*self.records, *self.failures))

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        """The response to ``query``; None means "do not answer" (a TIMEOUT name)."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        qname = question.name
        rdtype = question.rdtype
        for _ in range(_MAX_CNAME_CHAIN):
            name = _normal(qname.to_text())
            failure = self.failures.get(name) or self.type_failures.get((name, rdtype))
            if failure == "TIMEOUT":
                return None
            if failure in ("SERVFAIL", "REFUSED"):
                response.answer = []
                response.set_rcode(dns.rcode.from_text(failure))
                return response
            types = self.records.get(name)
            if types is None:
                if not self.exists(name):
                    response.set_rcode(dns.rcode.NXDOMAIN)
                return response  # NXDOMAIN, or NODATA for an empty non-terminal
            cname = types.get(dns.rdatatype.CNAME)
            if cname and rdtype not in (dns.rdatatype.CNAME, dns.rdatatype.ANY):
                # RFC 1034 §4.3.2 step 3a: the CNAME goes in the answer and the search goes on
                # with its target.
                response.answer.append(self._rrset(qname, dns.rdatatype.CNAME, cname))
                target = cname[0]
                assert isinstance(target, dns.rdtypes.ANY.CNAME.CNAME)
                qname = target.target
                continue
            found = types.get(rdtype)
            if found:
                response.answer.append(self._rrset(qname, rdtype, found))
            return response
        response.set_rcode(dns.rcode.SERVFAIL)  # a CNAME loop
        return response

    @staticmethod
    def _rrset(
        name: dns.name.Name, rdtype: dns.rdatatype.RdataType, rdatas: list[dns.rdata.Rdata]
    ) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
        for rdata in rdatas:
            rrset.add(rdata, _TTL)
        return rrset


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's selector datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        wire = self._server._handle(data, "udp")
        if wire is not None and self.transport is not None:
            self.transport.sendto(wire, addr)


class DnsServer(LoopbackServer):
    """An authoritative DNS server for ``zone`` on ``host:port``, UDP and TCP (port 0: any free).

    Use as a context manager or with ``start()``/``stop()``; ``nameserver`` is the
    ``"IP:PORT"`` (``"[::1]:PORT"``) to hand to a resolver. ``truncate_udp`` may be switched
    while the server runs.
    """

    def __init__(
        self,
        zone: ZoneData,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        truncate_udp: bool = False,
    ) -> None:
        require_loopback(type(self).__name__, "host", host)
        super().__init__(host, port)
        self._zone = _Zone(zone)
        self.truncate_udp = truncate_udp
        self._lock = threading.Lock()
        self._queries: list[Query] = []
        self._udp_sock: socket.socket | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._tcp_writers: set[asyncio.StreamWriter] = set()

    @property
    def nameserver(self) -> str:
        """``IP:PORT`` of this server, IPv6 in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def queries(self) -> list[Query]:
        """The queries received so far, in order."""
        with self._lock:
            return list(self._queries)

    # ---- message handling

    def _handle(self, wire: bytes, transport: Literal["udp", "tcp"]) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not a DNS message: drop it, as servers do
        if query.question:
            question = query.question[0]
            with self._lock:
                self._queries.append(
                    Query(
                        transport,
                        _normal(question.name.to_text()),
                        dns.rdatatype.to_text(question.rdtype),
                    )
                )
        response = self._zone.answer(query)
        if response is None:
            return None
        if transport == "tcp":
            return response.to_wire()
        limit = max(query.payload, _UDP_DEFAULT_PAYLOAD) if query.edns >= 0 else 512
        if not self.truncate_udp:
            with contextlib.suppress(dns.exception.TooBig):
                return response.to_wire(max_size=limit)
        # RFC 2181 §9 / RFC 7766 §6.2.1: TC set and the records left out; the client retries
        # over TCP.
        response.answer = []
        response.authority = []
        response.additional = []
        response.flags |= dns.flags.TC
        return response.to_wire()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tcp_writers.add(writer)
        try:
            while True:
                header = await reader.readexactly(2)
                (length,) = struct.unpack("!H", header)
                wire = self._handle(await reader.readexactly(length), "tcp")
                if wire is not None:
                    writer.write(struct.pack("!H", len(wire)) + wire)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tcp_writers.discard(writer)
            writer.close()

    # ---- LoopbackServer hooks

    def _bind(self) -> socket.socket:
        # The TCP listener takes a free port, then UDP must get the same one; another process
        # may hold that UDP port, so try again with a new TCP port.
        attempts = 1 if self.port else _BIND_ATTEMPTS
        for attempt in range(attempts):
            tcp = super()._bind()
            family = tcp.family
            address = tcp.getsockname()
            udp = socket.socket(family, socket.SOCK_DGRAM)
            try:
                udp.bind(address)
            except OSError as error:
                udp.close()
                tcp.close()
                if error.errno != errno.EADDRINUSE or attempt == attempts - 1:
                    raise
                continue
            udp.setblocking(False)
            self._udp_sock = udp
            return tcp
        raise RuntimeError("unreachable")  # pragma: no cover

    async def _listen(self, sock: socket.socket) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        udp = self._udp_sock
        assert udp is not None
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=udp)
        self._udp_transport = transport
        return await asyncio.start_server(self._tcp_client, sock=sock)

    def _close_connections(self) -> None:
        if self._udp_transport is not None:
            self._udp_transport.close()
        for writer in list(self._tcp_writers):
            writer.transport.abort()

    def _cleanup(self) -> None:
        if self._udp_transport is None and self._udp_sock is not None:
            self._udp_sock.close()  # start() failed before the loop took the socket
