"""What every test server here shares: a loopback listener served from its own loop and thread.

``LoopbackServer`` binds one socket on a loopback address (port 0: a free one), runs
``_serve(sock)`` in ``asyncio.run`` on a daemon thread and returns from ``start()`` once the
subclass's ``_listen`` has its server up; ``stop()`` ends the loop, closes the listener and every
connection, joins the thread and calls ``_cleanup`` (the subclass's CA files) on every way out.
``DoubleServer``, ``FaultServer``, ``EchoServer`` and ``SocksProxy`` are all built on it.
``LineRecorder`` is the thread-safe, optionally bounded list of the lines a server received;
``require_loopback`` refuses any other address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from types import TracebackType
from typing import Self

__all__ = ["LineRecorder", "LoopbackServer", "require_loopback"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


def require_loopback(owner: str, name: str, value: str) -> None:
    """Raise ValueError unless ``value`` is a loopback IP address (127.0.0.0/8, ::1)."""
    if not ipaddress.ip_address(value).is_loopback:
        raise ValueError(f"{owner} {name} must be a loopback address, not {value}")


class LineRecorder:
    """Thread-safe list of received lines, at most ``limit`` of ``max_chars`` each if given.

    The server's loop adds; tests read ``snapshot()`` from their own thread. Lines over the
    limit are counted in ``dropped``, never kept.
    """

    def __init__(self, limit: int | None = None, max_chars: int | None = None) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._limit = limit
        self._max_chars = max_chars
        self.dropped = 0

    def add(self, line: str | bytes) -> None:
        """Keep ``line`` (bytes lose their CRLF and are decoded as UTF-8, errors replaced)."""
        if isinstance(line, bytes):
            line = line.rstrip(b"\r\n").decode("utf-8", errors="replace")
        with self._lock:
            if self._limit is not None and len(self._lines) >= self._limit:
                self.dropped += 1
            else:
                self._lines.append(line[: self._max_chars])

    def snapshot(self) -> list[str]:
        """The lines kept so far, in order."""
        with self._lock:
            return list(self._lines)


class LoopbackServer:
    """A listener on ``host:port`` (port 0: a free one), served from its own loop and thread.

    Subclasses implement ``_listen`` and may override ``_close_connections`` (run at stop,
    before pending tasks are cancelled) and ``_cleanup`` (run once, by ``stop()`` or by a
    ``start()`` that fails). A server starts once; ``stop()`` is idempotent.
    """

    _backlog = 100

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            # The kernel would take 70000 as 4464 and 131097 as 25.
            raise ValueError(f"port {port!r}: give a number from 0 (any free port) to 65535")
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stopped = False

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._thread is not None and self._thread.is_alive()

    # ---- lifecycle

    def start(self) -> Self:
        """Bind, start the loop thread and return once the server is listening."""
        if self._thread is not None or self._stopped:
            raise RuntimeError(f"{self!r} was already started")
        try:
            sock = self._bind()
        except BaseException:  # a server that never ran keeps no files behind
            self._stopped = True
            self._cleanup()
            raise
        self.port = int(sock.getsockname()[1])
        self._thread = threading.Thread(
            target=self._thread_main, args=(sock,), name=self._thread_name(), daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"{self!r} did not start listening")
        if self._startup_error is not None:
            self.stop()
            raise RuntimeError(f"{self!r} failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, join the thread, clean up. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            loop, event, thread = self._loop, self._stop_event, self._thread
            if loop is not None and event is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed in between
                    loop.call_soon_threadsafe(event.set)
            if thread is not None:
                thread.join(_STOP_TIMEOUT)
        finally:  # even when interrupted while joining
            self._cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- for subclasses

    async def _listen(self, sock: socket.socket) -> asyncio.Server:
        """Start serving on ``sock`` (already bound and listening)."""
        raise NotImplementedError

    def _close_connections(self) -> None:
        """Abort the connections still open at stop (default: leave them to task cancelling)."""

    def _cleanup(self) -> None:
        """Remove what the server made for itself (its CA files)."""

    def _thread_name(self) -> str:
        return f"{type(self).__name__}-{self.port}"

    # ---- internals

    def _bind(self) -> socket.socket:
        # One address only: "localhost" would otherwise bind 127.0.0.1 and ::1 on two
        # different ephemeral ports.
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        require_loopback(type(self).__name__, "host", str(address[0]))
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(self._backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _thread_main(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._serve(sock))
        except BaseException as error:  # reported to start() if it happened before ready
            if not self._ready.is_set():
                self._startup_error = error
                self._ready.set()

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        try:
            server = await self._listen(sock)
        except BaseException:
            sock.close()
            raise
        self._ready.set()
        if self._stopped:  # stop() raced with start-up
            self._stop_event.set()
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            self._close_connections()
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await server.wait_closed()
            await asyncio.sleep(0)  # let connection_lost callbacks run before the loop closes
