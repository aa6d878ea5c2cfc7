"""A minimal HTTP/1.1 server on asyncio for the exporter: one GET per connection, bounded.

Why not ``http.server`` in a thread handing coroutines to the loop with
``run_coroutine_threadsafe``: that needs two concurrency models, a thread per request
blocked on a future, and cross-thread cancellation when Prometheus hangs up; every shared
structure (the cache, the per-host clocks, the counters) would need locks. With one loop
all state is touched by one thread, and the server's whole job is small and fixed — one
``GET`` per connection, no body, answer and close (HTTP/1.1 ``Connection: close``, RFC 9112
section 9.6), which Prometheus's client handles. What a public-facing server must bound is
bounded: the request head (``max_request_bytes``; 431 beyond), the time to send it
(``header_timeout``), and the connections served at once (``max_connections``; 503 beyond,
never an unbounded queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smtpprobe.core.record import record

__all__ = ["Request", "Response", "parse_request", "serve", "start_http"]


@record
class Request:
    """One parsed request head; header names lower-cased."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]


@record
class Response:
    """One answer: status, body, content type, extra headers."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, status: int, line: str, headers: Mapping[str, str] | None = None) -> Response:
        """A one-line plain-text answer."""
        return cls(status, (line + "\n").encode(), headers=dict(headers or {}))


_REASONS = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


def parse_request(head: bytes) -> Request:
    """Parse a request head (request line and header fields, RFC 9112 sections 3 and 5).

    Raises ValueError for anything malformed.
    """
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError("version")
    parts = urlsplit(target)
    query = parse_qs(parts.query, max_num_fields=20)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError("header")
        headers[name.lower()] = value.strip()
    return Request(method, parts.path, query, headers)


def _serialise(response: Response) -> bytes:
    head = [
        f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Status')}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Cache-Control: no-store",
        "Connection: close",
        *(f"{name}: {value}" for name, value in response.headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body


async def start_http(
    handler: Callable[[Request], Awaitable[Response]],
    host: str,
    port: int,
    *,
    max_connections: int = 64,
    max_request_bytes: int = 8192,
    header_timeout: float = 10.0,
) -> asyncio.Server:
    """Serve ``handler`` on ``host:port``: one GET per connection, bounded (module docstring)."""
    active = 0

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active
        try:
            if active >= max_connections:
                response = Response.text(503, "too many connections, try again")
            else:
                active += 1
                try:
                    response = await _one(reader)
                finally:
                    active -= 1
            writer.write(_serialise(response))
            await writer.drain()
        except (ConnectionError, TimeoutError):
            pass  # the client went away; nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 5)

    async def _one(reader: asyncio.StreamReader) -> Response:
        try:
            async with asyncio.timeout(header_timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return Response.text(431, f"request head larger than {max_request_bytes} bytes")
        except TimeoutError:
            return Response.text(408, "request head not received in time")
        except asyncio.IncompleteReadError as exc:
            raise ConnectionResetError from exc
        try:
            request = parse_request(head[:-4])
        except ValueError:
            return Response.text(400, "malformed request")
        try:
            return await handler(request)
        except Exception as exc:  # a bug must not kill the server, nor show a traceback
            print(f"smtpprobe serve: internal error ({type(exc).__name__})", file=sys.stderr)
            return Response.text(500, "internal error, please report it")

    return await asyncio.start_server(
        connection, host, port, limit=max_request_bytes, reuse_address=True
    )


def _quiet_on_cancel(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler: a scrape cut short by SIGTERM (its handler cancelled
    as the loop stops) is no error to print a traceback for; anything else is."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


async def serve(
    handler: Callable[[Request], Awaitable[Response]],
    host: str,
    port: int,
    *,
    announce: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop``); ``announce`` hears the URL once listening."""
    import signal

    server = await start_http(handler, host, port)
    bound = server.sockets[0].getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    announce(f"http://{shown}:{bound[1]}/")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_on_cancel)
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        server.close()
        await server.wait_closed()
