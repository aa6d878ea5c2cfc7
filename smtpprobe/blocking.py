"""The transport seam on blocking sockets: one probe per process, with no event loop.

``smtpprobe check`` runs one probe and exits. On asyncio that costs the event loop's
import and set-up, a resolver thread and asyncio's TLS layer before the first byte,
which is most of a loopback probe's time (``bench/bench_rtt.py``'s floor rows); here
the same ``Transport``/``Connection`` contract is met with ``socket`` and ``ssl``
alone. Its coroutines never suspend, so ``drive`` runs the unchanged driver to the
end with one ``send``; concurrent probes (compare, health checks, the exporter) keep
``smtpprobe.transport.NetworkTransport``.

The probe's overall time limit is a deadline here: every wait is cut to what is left
of it, and a wait cut short by it raises ``ProbeDeadline``, which, like asyncio's
cancellation, is a ``BaseException`` that no network handler catches, so the driver
records the same "whole probe" timeout as on the event loop. Replies are framed by
``smtpprobe.core.wire.ReplyReader`` and errors raised as the asyncio connection
raises them, so both transports give the same transcript (tests/test_faults.py runs
its whole table both ways).
"""

from __future__ import annotations

import collections
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Generic, TypeVar

from smtpprobe.core.spec import Family, ProxySpec
from smtpprobe.core.transcript import TLSInfo
from smtpprobe.core.wire import ReplyReader, WireReply
from smtpprobe.tls import describe_tls
from smtpprobe.transport import (
    Address,
    ConnectionClosed,
    ReplyTimeout,
    acknowledge_at_once,
    addresses_of,
    bind_source,
    check_nothing_pending,
    literal_address,
    proxy_connector,
    reply_timeout,
    socket_family,
)

__all__ = [
    "Background",
    "BlockingConnection",
    "BlockingTransport",
    "ProbeDeadline",
    "Unfinished",
    "drive",
]

T = TypeVar("T")


class ProbeDeadline(BaseException):
    """The probe's overall time limit ran out during a wait (not a network error)."""


def drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (one on a ``BlockingTransport``) to its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a coroutine on the blocking transport waited for an event loop")


class Unfinished(Exception):
    """``Background.result`` waited its time and the work has not ended."""


class Background(Generic[T]):
    """``work`` on a daemon thread; ``result()`` waits for it and raises what it raised.

    Daemon: work that never ends (a resolver that hangs) must not keep the process alive.
    """

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._answer: list[T] = []
        self._error: list[BaseException] = []

        def run() -> None:
            try:
                self._answer.append(work())
            except BaseException as exc:  # raised again in the waiting thread
                self._error.append(exc)

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def result(self, timeout: float | None = None) -> T:
        """The work's result, waiting at most ``timeout`` seconds (Unfinished after that)."""
        self._thread.join(timeout)
        if self._error:
            raise self._error[0]
        if not self._answer:
            raise Unfinished(f"{self._thread.name} still running")
        return self._answer[0]


class _Clock:
    """The overall deadline, and each wait cut to what is left of it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def budget(self, timeout: float) -> tuple[float, bool]:
        """(seconds this wait may take, whether the deadline rather than ``timeout`` bounds it)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ProbeDeadline
        return (left, True) if left < timeout else (timeout, False)


class BlockingTransport:
    """The real network on blocking sockets, within one overall ``deadline`` (monotonic)."""

    def __init__(self, deadline: float) -> None:
        self.clock = _Clock(deadline)

    async def resolve(self, host: str, port: int, family: Family, timeout: float) -> list[Address]:
        literal = literal_address(host, port)
        if literal is not None:
            return [literal]
        wait, by_deadline = self.clock.budget(timeout)
        # getaddrinfo cannot be given a time limit: ask on a thread and stop waiting.
        kind = socket_family(family)
        asking = Background(
            lambda: socket.getaddrinfo(host, port, kind, socket.SOCK_STREAM), "smtpprobe-resolve"
        )
        try:
            infos = asking.result(wait)
        except Unfinished:
            if by_deadline:
                raise ProbeDeadline from None
            raise TimeoutError(f"no answer from the resolver within {timeout:g} s") from None
        return addresses_of(infos, port)

    async def connect(
        self,
        address: Address,
        *,
        source: str | None,
        proxy: ProxySpec | None,
        timeout: float,
    ) -> BlockingConnection:
        wait, by_deadline = self.clock.budget(timeout)
        try:
            if proxy is not None:
                sock = _through_proxy(proxy, address, source, wait)
            else:
                sock = _direct(address, source, wait)
        except TimeoutError:
            if by_deadline:
                raise ProbeDeadline from None
            raise
        return BlockingConnection(sock, self.clock)


def _direct(address: Address, source: str | None, wait: float) -> socket.socket:
    sock = socket.socket(address.family, socket.SOCK_STREAM)
    try:
        bind_source(sock, source, address)
        sock.settimeout(wait)
        sock.connect(address.sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _through_proxy(
    proxy: ProxySpec, address: Address, source: str | None, wait: float
) -> socket.socket:
    from python_socks.sync import Proxy

    connector = proxy_connector(proxy, source, Proxy)
    local = (source, 0) if source else None
    sock: socket.socket = connector.connect(
        address.host, address.port, timeout=wait, local_addr=local
    )
    return sock


class BlockingConnection:
    """One SMTP connection on a blocking socket; raises as ``SMTPConnection`` does."""

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        # asyncio sets TCP_NODELAY too: a pipelined flight must not wait for an ACK.
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock: socket.socket | None = sock
        self.clock = clock
        self._reader = ReplyReader()
        self._replies: collections.deque[WireReply] = collections.deque()
        self._error: BaseException | None = None
        self._names = (_name(sock.getsockname), _name(sock.getpeername))

    @property
    def encrypted(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket)

    @property
    def local_address(self) -> str | None:
        return self._names[0]

    @property
    def peer_address(self) -> str | None:
        return self._names[1]

    def send(self, line: bytes) -> None:
        self.write(line + b"\r\n")

    def send_flight(self, lines: Sequence[bytes]) -> None:
        self.write(b"".join(line + b"\r\n" for line in lines))

    def write(self, data: bytes) -> None:
        if self.sock is None:
            raise self._error or ConnectionClosed("the connection is closed")
        if self._error is not None:
            return  # as a closing asyncio transport: the reply already read tells the rest
        # Only the overall deadline bounds a write, as asyncio's buffered writes are bounded.
        self.sock.settimeout(self.clock.budget(float("inf"))[0])
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise ProbeDeadline from None
        except OSError as exc:
            # Replies the server sent before it went away are still to be read first.
            self._error = _lost(exc)

    async def read_reply(self, timeout: float) -> WireReply:
        end = time.monotonic() + timeout
        while not self._replies:
            if self._error is not None:
                raise self._error
            if self.sock is None:
                raise ConnectionClosed("the connection is closed")
            wait, by_deadline = self.clock.budget(max(end - time.monotonic(), 0.0))
            if wait <= 0:
                raise reply_timeout(timeout, self._reader.pending, self._reader.bare_cr)
            self.sock.settimeout(wait)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                if by_deadline:
                    raise ProbeDeadline from None
                raise reply_timeout(timeout, self._reader.pending, self._reader.bare_cr) from None
            except OSError as exc:
                self._error = _lost(exc)
                continue
            if not data:
                self._error = ConnectionClosed("the server closed the connection")
                continue
            replies, error = self._reader.feed(data)
            self._replies.extend(replies)
            if error is not None:
                self._error = error
        return self._replies.popleft()

    async def unread(self) -> bool:
        """Whether reply bytes arrived that no command asked for: those already read, and
        any the socket (or its TLS layer) holds, read now without waiting."""
        if not (self._replies or self._reader.pending) and self.sock is not None:
            buffered = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
            if buffered or select.select([self.sock], [], [], 0)[0]:
                self.sock.settimeout(0.0)
                try:
                    data = self.sock.recv(65536)
                except (BlockingIOError, ssl.SSLWantReadError):
                    data = None  # a TLS record not yet whole: nothing to read yet
                except OSError as exc:
                    self._error = _lost(exc)
                    return False  # the next read reports it
                if data == b"":
                    return False  # closed: the next read reports it
                if data:
                    replies, error = self._reader.feed(data)
                    self._replies.extend(replies)
                    if error is not None:
                        self._error = error
        return bool(self._replies or self._reader.pending)

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str, timeout: float
    ) -> None:
        check_nothing_pending(bool(self._replies or self._reader.pending), self._reader.head)
        if self.sock is None or self._error is not None:
            raise self._error or ConnectionClosed("the connection is closed")
        wait, by_deadline = self.clock.budget(timeout)
        self.sock.settimeout(wait)
        try:
            wrapped = context.wrap_socket(self.sock, server_hostname=server_hostname)
        except TimeoutError:
            if by_deadline:
                raise ProbeDeadline from None
            raise ReplyTimeout(f"no TLS handshake within {timeout:g} s") from None
        acknowledge_at_once(wrapped)
        self.sock = wrapped

    def describe_tls(self, *, verified: bool, error: str | None = None) -> TLSInfo:
        sock = self.sock if isinstance(self.sock, ssl.SSLSocket) else None
        return describe_tls(sock, verified=verified, error=error)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _name(get: Any) -> str | None:
    try:
        name = get()
    except OSError:
        return None
    return str(name[0]) if name else None


def _lost(exc: BaseException) -> ConnectionClosed:
    """The words ``SMTPConnection.connection_lost`` uses for the same loss."""
    if isinstance(exc, ConnectionClosed):
        return exc
    if isinstance(exc, ssl.SSLZeroReturnError):
        return ConnectionClosed("the server closed the connection")
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return ConnectionClosed(f"connection lost ({reason})")
