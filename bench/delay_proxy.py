"""A loopback TCP proxy that adds a fixed network delay, to count a client's round trips.

Every chunk read from one side is written to the other ``delay`` seconds later, in
order, independently in each direction (default 25 ms each way: a 50 ms round trip).
The bytes are never looked at, so TLS (STARTTLS or implicit) passes through untouched.

The TCP handshake is emulated too. On loopback the client's ``connect()`` returns at
once, where on a real network it takes one round trip (SYN, SYN-ACK; RFC 9293 §3.5)
and the server's ``accept()`` returns half a round trip later still, when the client's
ACK arrives. So the proxy opens its connection to the server one round trip plus one
one-way delay after it accepts the client: the server's greeting, or the ServerHello
of an implicit-TLS port, then reaches the client two round trips after its
``connect()``, as it would over the wire, and bytes the client sends before that are
held until the server side is open, as the network would have held them.

What it does not delay is TCP's own acknowledgements: the kernel sends them on loopback.
A server that writes a reply, then another small one before the first is acknowledged,
has the second held by Nagle's algorithm until the ACK comes; here that is the receiving
kernel's delayed ACK (up to 40 ms on Linux), where over the wire it would be a round
trip plus that delay. ``--quickack`` acknowledges every read at once (Linux), which shows
how much of a figure is that wait rather than the client's own round trips.

Loopback only: the listening address and the target must be loopback addresses.

    python bench/delay_proxy.py --target 127.0.0.1:587 [--port 0] [--delay-ms 25] [--quickack]

prints ``listening on 127.0.0.1:PORT`` once ready, and runs until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["DelayProxy", "loopback_only", "main"]

_CHUNK = 65536
# The event loop's timers wake up to a millisecond late (epoll's timeout is whole
# milliseconds, rounded up), and a round trip crosses the proxy twice: over a dialogue of
# seven round trips that alone added 0.2 of one to every client's count. So the proxy
# sleeps until this long before a chunk is due and yields in a loop for the rest.
_SPIN = 0.0015


def loopback_only(host: str) -> str:
    """``host`` if it is a loopback IP address literal; ValueError otherwise."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address: give a loopback literal") from None
    if not address.is_loopback:
        raise ValueError(f"{host} is not a loopback address; the proxy never leaves this machine")
    return host


@dataclass(slots=True)
class _Pipe:
    """One direction: chunks queued with the time they may be delivered, and EOF as None."""

    queue: asyncio.Queue[tuple[float, bytes | None]] = field(default_factory=asyncio.Queue)
    lateness: list[float] = field(default_factory=list)  # seconds past due, per chunk

    async def read_from(
        self, reader: asyncio.StreamReader, delay: float, quickack: socket.socket | None = None
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while chunk := await reader.read(_CHUNK):
                if quickack is not None:  # not sticky: set again after every read
                    quickack.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                self.queue.put_nowait((loop.time() + delay, chunk))
        except OSError:
            pass  # a reset ends this direction like an EOF
        self.queue.put_nowait((loop.time() + delay, None))

    async def write_to(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        broken = False  # this side is gone: the other direction still delivers what it has
        while True:
            due, chunk = await self.queue.get()
            wait = due - loop.time()
            if wait > _SPIN:
                await asyncio.sleep(wait - _SPIN)
            while loop.time() < due:
                await asyncio.sleep(0)  # other tasks run; this one is back within microseconds
            if chunk is not None:
                self.lateness.append(loop.time() - due)
            if broken:
                if chunk is None:
                    return
                continue
            try:
                if chunk is None:
                    # Pass the half-close on: SMTP clients and servers read to EOF.
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(chunk)
                await writer.drain()
            except OSError:
                broken = True


@dataclass(slots=True)
class DelayProxy:
    """Listen on ``host``:``port`` (0: any free port), forward to ``target``, delayed."""

    target: tuple[str, int]
    delay: float = 0.025  # one way, in seconds
    host: str = "127.0.0.1"
    port: int = 0
    quickack: bool = False  # acknowledge every read at once (Linux TCP_QUICKACK)
    lateness: list[float] = field(default_factory=list)  # per chunk delivered, seconds
    _server: asyncio.Server | None = field(default=None, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        loopback_only(self.host)
        loopback_only(self.target[0])
        if not 0 <= self.delay < 10:
            raise ValueError(f"delay {self.delay} s is not between 0 and 10 s")
        if self.quickack and not hasattr(socket, "TCP_QUICKACK"):
            raise ValueError("--quickack needs Linux (TCP_QUICKACK)")

    async def start(self) -> tuple[str, int]:
        """Start listening; returns the address clients should connect to."""
        self._server = await asyncio.start_server(self._accepted, self.host, self.port)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.port = int(port)
        return str(host), self.port

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> DelayProxy:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _ack(self, writer: asyncio.StreamWriter) -> socket.socket | None:
        return writer.get_extra_info("socket") if self.quickack else None

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._relay(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relay(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        upstream_at = loop.time() + 3 * self.delay  # SYN, SYN-ACK, then the ACK arrives
        outbound, inbound = _Pipe(lateness=self.lateness), _Pipe(lateness=self.lateness)
        tasks: list[asyncio.Future[None]] = [
            asyncio.ensure_future(
                outbound.read_from(client_reader, self.delay, self._ack(client_writer))
            )
        ]
        server_writer: asyncio.StreamWriter | None = None
        try:
            await asyncio.sleep(max(0.0, upstream_at - loop.time()))
            try:
                server_reader, server_writer = await asyncio.open_connection(*self.target)
            except OSError:
                return  # the client sees the connection close, as after a refused SYN
            tasks += [
                asyncio.ensure_future(outbound.write_to(server_writer)),
                asyncio.ensure_future(
                    inbound.read_from(server_reader, self.delay, self._ack(server_writer))
                ),
                asyncio.ensure_future(inbound.write_to(client_writer)),
            ]
            await asyncio.gather(*tasks)  # both directions delivered up to their EOF
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_writer, server_writer):
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return loopback_only(host.strip("[]")), int(port)


async def _serve(proxy: DelayProxy, ready: Callable[[tuple[str, int]], Awaitable[None]]) -> None:
    async with proxy:
        await ready((proxy.host, proxy.port))
        await asyncio.Event().wait()  # until interrupted


def main(argv: list[str] | None = None) -> int:
    """Run a proxy until interrupted; prints ``listening on HOST:PORT`` when ready."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="loopback HOST:PORT to forward to")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any)")
    parser.add_argument("--delay-ms", type=float, default=25.0, help="delay each way (ms)")
    parser.add_argument("--quickack", action="store_true", help="ACK every read at once")
    args = parser.parse_args(argv)
    try:
        proxy = DelayProxy(
            _address(args.target), args.delay_ms / 1000, args.host, args.port, args.quickack
        )
    except ValueError as exc:
        parser.error(str(exc))

    async def ready(address: tuple[str, int]) -> None:
        print(f"listening on {address[0]}:{address[1]}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(proxy, ready))
    return 0


if __name__ == "__main__":
    sys.exit(main())
