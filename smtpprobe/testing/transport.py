"""``MockTransport``: the network replaced by a function, for fast driver tests.

Like httpx's ``MockTransport(handler)``: the handler is called for each event
of the dialogue and answers it, so the driver runs in-process, without
sockets, with replies parsed by the same strict reader as on the wire::

    def server(event: str) -> bytes | BaseException | None:
        if event == "<greeting>":
            return b"220 mx ESMTP\\r\\n"
        if event.startswith("EHLO"):
            return b"250-mx\\r\\n250 AUTH PLAIN\\r\\n"
        if event.startswith("MAIL"):
            return ConnectionResetError(104, "Connection reset by peer")
        return b"250 ok\\r\\n"

    transcript = asyncio.run(run_probe(spec, transport=MockTransport(server)))

Events: ``"<resolve>"``, ``"<connect>"``, ``"<greeting>"``, ``"<tls>"`` and each
command line as sent. The handler returns the reply's bytes, an exception to
raise (any class of ``smtpprobe.failures.failure_table()``), or None — success
for the bracketed events, silence (a read that times out) for a command.
``sent`` keeps every line as it went out, secrets included: for tests only.
"""

from __future__ import annotations

import collections
import socket
import ssl
from collections.abc import Callable, Sequence

from smtpprobe.core.spec import Family, ProxySpec
from smtpprobe.core.transcript import TLSInfo
from smtpprobe.core.wire import ReplyReader, WireReply
from smtpprobe.transport import Address, Connection, ConnectionClosed, ReplyTimeout

__all__ = ["Handler", "MockConnection", "MockTransport"]

Handler = Callable[[str], bytes | BaseException | None]
_TLS = TLSInfo(
    version="TLSv1.3",
    cipher="TLS_AES_256_GCM_SHA384",
    subject="CN=mock.smtpprobe.invalid",
    issuer="CN=smtpprobe mock CA",
    san=("DNS:mock.smtpprobe.invalid",),
    not_after="2099-01-01T00:00:00Z",
)


class MockTransport:
    """A transport whose every answer comes from ``handler``."""

    def __init__(
        self,
        handler: Handler,
        *,
        addresses: tuple[str, ...] = ("192.0.2.25",),
        tls: TLSInfo = _TLS,
    ) -> None:
        self.handler = handler
        self.addresses = addresses
        self.tls = tls
        self.sent: list[str] = []
        self.events: list[str] = []
        self.log: list[str] = []  # "> line" written, "< code" read: shows what was pipelined
        self.connections = 0

    def answer(self, event: str) -> bytes | BaseException | None:
        self.events.append(event)
        return self.handler(event)

    async def resolve(self, host: str, port: int, family: Family, timeout: float) -> list[Address]:
        outcome = self.answer("<resolve>")
        if isinstance(outcome, BaseException):
            raise outcome
        return [Address(a, port, socket.AF_INET, (a, port)) for a in self.addresses]

    async def connect(
        self,
        address: Address,
        *,
        source: str | None,
        proxy: ProxySpec | None,
        timeout: float,
    ) -> Connection:
        outcome = self.answer("<connect>")
        if isinstance(outcome, BaseException):
            raise outcome
        self.connections += 1
        peer = proxy.host if proxy is not None else address.host
        return MockConnection(self, source or "192.0.2.1", peer)


class MockConnection:
    """One mock connection: commands go to the handler, its answers queue as replies."""

    def __init__(self, transport: MockTransport, local: str, peer: str) -> None:
        self._transport = transport
        self._reader = ReplyReader()
        self._answers: collections.deque[bytes | BaseException | None] = collections.deque()
        self._replies: collections.deque[WireReply] = collections.deque()
        self._greeted = False
        self._commands = 0
        self._closed = False
        self._encrypted = False
        self._local = local
        self._peer = peer

    @property
    def encrypted(self) -> bool:
        return self._encrypted

    @property
    def local_address(self) -> str | None:
        return self._local

    @property
    def peer_address(self) -> str | None:
        return self._peer

    def send(self, line: bytes) -> None:
        if self._closed:
            raise ConnectionClosed("the connection is closed")
        text = line.decode("utf-8", "replace")
        self._transport.sent.append(text)
        self._transport.log.append(f"> {text}")
        self._commands += 1
        self._greeted = True
        self._answers.append(self._transport.answer(text))

    def send_flight(self, lines: Sequence[bytes]) -> None:
        for line in lines:
            self.send(line)

    def write(self, data: bytes) -> None:
        self.send(b"<message>" if data else b"")

    async def read_reply(self, timeout: float) -> WireReply:
        if not self._greeted:
            self._greeted = True
            self._answers.append(self._transport.answer("<greeting>"))
        while not self._replies:
            if self._closed:
                raise ConnectionClosed("the connection is closed")
            if not self._answers:
                raise ReplyTimeout(f"no reply within {timeout:g} s")
            answer = self._answers.popleft()
            if isinstance(answer, BaseException):
                self._closed = True
                raise answer
            if answer is None:
                raise ReplyTimeout(f"no reply within {timeout:g} s")
            replies, error = self._reader.feed(answer)
            self._replies.extend(replies)
            if error is not None and not self._replies:
                self._closed = True
                raise error
        reply = self._replies.popleft()
        self._transport.log.append(f"< {reply.code}")
        return reply

    async def unread(self) -> bool:
        return bool(self._replies or self._reader.pending)

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str, timeout: float
    ) -> None:
        outcome = self._transport.answer("<tls>")
        if isinstance(outcome, BaseException):
            self._closed = True
            raise outcome
        # Implicit TLS (nothing sent yet): the greeting comes after the handshake.
        self._greeted = self._commands > 0
        self._encrypted = True

    def describe_tls(self, *, verified: bool, error: str | None = None) -> TLSInfo:
        info = self._transport.tls
        return TLSInfo(
            version=info.version,
            cipher=info.cipher,
            verified=verified,
            verify_error=error,
            subject=info.subject,
            issuer=info.issuer,
            san=info.san,
            not_after=info.not_after,
        )

    def close(self) -> None:
        self._closed = True
