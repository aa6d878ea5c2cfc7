"""One SMTP client connection: commands out, strictly parsed replies in, TLS on demand.

This replaces aiosmtplib's ``SMTP``/``SMTPProtocol`` pair, which was in the
way of a probe that must never call a broken server "ok": it reads a reply
code with ``int(line[:3])`` (so ``" 250"`` is 25 and ``"-50"`` is -50), keeps
only the last line's code, drops bytes that arrive while a reply is already
parsed (so pipelined replies are lost), and lets the STARTTLS reply and the
handshake that follows fail with the same exceptions, told apart only by
their message text. Here the framing is ``smtpprobe.core.wire.ReplyReader``
(pure, RFC 5321 section 4.2), and each failure is its own exception: the seam's
(``smtpprobe.transport``: ReplyTimeout, ConnectionClosed, StartTLSInjection) and
``MalformedReply`` (the bytes are not an SMTP reply).

``smtpprobe.failures`` maps these, ``ssl`` and ``OSError`` to failure kinds in
its one table.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
from collections.abc import Sequence
from typing import cast

from smtpprobe.core.transcript import TLSInfo
from smtpprobe.core.wire import MalformedReply, ReplyReader, WireReply
from smtpprobe.tls import describe_tls
from smtpprobe.transport import (
    ConnectionClosed,
    ReplyTimeout,
    StartTLSInjection,
    acknowledge_at_once,
    check_nothing_pending,
    reply_timeout,
)

__all__ = [
    "ConnectionClosed",
    "MalformedReply",
    "ReplyTimeout",
    "SMTPConnection",
    "StartTLSInjection",
    "open_connection",
]


class SMTPConnection(asyncio.Protocol):
    """The asyncio protocol of one connection. Create it with ``open_connection``."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._reader = ReplyReader()
        self._replies: collections.deque[WireReply] = collections.deque()
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        replies, error = self._reader.feed(data)
        self._replies.extend(replies)
        if error is not None:
            self._fail(error)
        self._wake()

    def eof_received(self) -> bool:
        self._fail(ConnectionClosed("the server closed the connection"))
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is None:
            self._fail(ConnectionClosed("the server closed the connection"))
        else:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            self._fail(ConnectionClosed(f"connection lost ({reason})"))
        self.transport = None

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # --- the client side -------------------------------------------------------------------

    @property
    def ssl_object(self) -> ssl.SSLObject | None:
        """The TLS session, once TLS is up."""
        if self.transport is None:
            return None
        return cast("ssl.SSLObject | None", self.transport.get_extra_info("ssl_object"))

    @property
    def encrypted(self) -> bool:
        """Whether the connection is protected by TLS right now."""
        return self.ssl_object is not None

    @property
    def local_address(self) -> str | None:
        """This side's IP address."""
        if self.transport is None:
            return None
        name = self.transport.get_extra_info("sockname")
        return str(name[0]) if name else None

    @property
    def peer_address(self) -> str | None:
        """The other side's IP address (the proxy's, through a proxy)."""
        if self.transport is None:
            return None
        name = self.transport.get_extra_info("peername")
        return str(name[0]) if name else None

    def send(self, line: bytes) -> None:
        """Write one command line (CRLF added). The caller has checked it for CR/LF."""
        if self.transport is None or self.transport.is_closing():
            raise self._error or ConnectionClosed("the connection is closed")
        self.transport.write(line + b"\r\n")

    def send_flight(self, lines: Sequence[bytes]) -> None:
        """Write several command lines as one write (one TLS record when encrypted)."""
        self.write(b"".join(line + b"\r\n" for line in lines))

    def write(self, data: bytes) -> None:
        """Write raw bytes (the message body after DATA)."""
        if self.transport is None or self.transport.is_closing():
            raise self._error or ConnectionClosed("the connection is closed")
        self.transport.write(data)

    async def read_reply(self, timeout: float) -> WireReply:
        """The next reply; replies that arrived before an error are still returned first."""
        try:
            async with asyncio.timeout(timeout):
                while not self._replies:
                    if self._error is not None:
                        raise self._error
                    self._waiter = self._loop.create_future()
                    await self._waiter
        except TimeoutError:
            raise reply_timeout(timeout, self._reader.pending, self._reader.bare_cr) from None
        finally:
            self._waiter = None
        return self._replies.popleft()

    async def unread(self) -> bool:
        """Whether reply bytes arrived that no command asked for (one event-loop pass first,
        so that data already on the socket is read)."""
        await asyncio.sleep(0)
        return bool(self._replies or self._reader.pending)

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str, timeout: float
    ) -> None:
        """The TLS handshake: from the first byte (RFC 8314) or after STARTTLS's 220 (RFC 3207)."""
        check_nothing_pending(bool(self._replies or self._reader.pending), self._reader.head)
        if self.transport is None:
            raise self._error or ConnectionClosed("the connection is closed")
        try:
            async with asyncio.timeout(timeout):
                transport = await self._loop.start_tls(
                    self.transport,
                    self,
                    context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=timeout + 1,
                )
        except TimeoutError:
            raise ReplyTimeout(f"no TLS handshake within {timeout:g} s") from None
        if transport is None:
            raise ConnectionClosed("the connection closed during the TLS handshake")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            acknowledge_at_once(sock)
        self.transport = transport

    def describe_tls(self, *, verified: bool, error: str | None = None) -> TLSInfo:
        """Version, cipher and the server certificate's names, as data."""
        return describe_tls(self.ssl_object, verified=verified, error=error)

    def close(self) -> None:
        """Drop the connection at once (no QUIT is owed after a failure)."""
        if self.transport is not None:
            self.transport.abort()
            self.transport = None


async def open_connection(sock: socket.socket, *, timeout: float) -> SMTPConnection:
    """Wrap a connected socket (TLS, if any, comes with ``start_tls``)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            _, protocol = await loop.create_connection(SMTPConnection, sock=sock)
    except BaseException:
        sock.close()
        raise
    return protocol
