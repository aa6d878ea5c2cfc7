"""Doubles in the foreground: stop them in order when the user or the system says so.

A process ended by SIGTERM or SIGHUP (default action: die at once) runs no ``finally`` and no
``atexit``, so a double's temporary CA folder would stay behind. ``stop_on_signals`` (for
``smtpprobe double``, whose normal end is a signal) turns SIGINT, SIGTERM and SIGHUP into a
flag that the waiting loop reads; the caller's ``finally`` then stops the server, which removes
the folder. ``exit_on_signals`` (for ``smtpprobe demo``, which a signal cuts short) makes
SIGTERM and SIGHUP raise ``SystemExit(128 + signal)`` as Ctrl-C raises KeyboardInterrupt, so
every ``finally`` runs on the way out. SIGKILL cannot be caught; nothing cleans up after it.
``signals_deferred`` marks a step that must not be cut in two (a folder made and its cleanup
not yet registered): such a signal then raises when the step is done.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

__all__ = [
    "STOP_SIGNALS",
    "StopRequest",
    "cancelled_by_signals",
    "exit_on_signals",
    "signals_deferred",
    "stop_on_signals",
]

#: The signals that stop a foreground double (SIGHUP does not exist on Windows).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
_EXIT_SIGNALS = tuple(s for s in STOP_SIGNALS if s is not signal.SIGINT)
_POLL = 0.1  # seconds between looks at the flag
T = TypeVar("T")


class StopRequest:
    """Which stop signal arrived, if any."""

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: only record. (A threading.Event's set() takes a lock that
        the interrupted main thread may hold, so it is not safe here.)"""
        self.signal = signal.Signals(signum)

    def wait(self, duration: float | None = None) -> signal.Signals | None:
        """Block until a stop signal arrives or ``duration`` seconds pass; the signal or None."""
        deadline = None if duration is None else time.monotonic() + duration
        while self.signal is None:
            remaining = _POLL if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(_POLL, remaining))
        return self.signal


@contextmanager
def stop_on_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[StopRequest]:
    """Record ``signals`` instead of dying of them, inside the block; restore the old handlers.

    Enter it before anything that needs cleaning up exists, so that no signal can fall
    between creating the CA folder and installing the handlers. A signal the process
    ignores stays ignored. Outside the main thread Python cannot install handlers; the block
    then runs with the process's own.
    """
    request = StopRequest()
    previous = _install(signals, request.handle)
    try:
        yield request
    finally:
        _restore(previous)


def _install(signals: tuple[signal.Signals, ...], handler: Any) -> dict[signal.Signals, Any]:
    """Set ``handler`` for each signal not ignored; the previous handlers (main thread only)."""
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for signum in signals:
        # An ignored signal stays ignored: `nohup` ignores SIGHUP, a shell ignores SIGINT
        # for a background job, and both mean "do not stop on this".
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    return previous


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for signum, handler in previous.items():
        if handler is not None:  # None: set outside Python, cannot be put back
            signal.signal(signum, handler)


# Signal handlers run in the main thread only, between two bytecodes, so plain module state
# is enough: the depth of nested ``signals_deferred`` blocks and the signal that waited.
_deferring = 0
_deferred: list[int] = []


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    if _deferring:
        _deferred.append(signum)
        return
    raise SystemExit(128 + signum)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Inside the block, an ``exit_on_signals`` signal waits; it raises when the block ends.

    For a step whose two halves must both happen or neither: ``tempfile.mkdtemp`` and the
    finalizer that removes the folder (``TemporaryDirectory`` does them one after the other,
    and a signal between them would leave the folder behind for good).
    """
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _deferred:
            signum = _deferred[0]
            _deferred.clear()
            raise SystemExit(128 + signum)


async def cancelled_by_signals(
    work: Coroutine[Any, Any, T], signals: tuple[signal.Signals, ...] = _EXIT_SIGNALS
) -> T:
    """Await ``work``; SIGTERM or SIGHUP cancel it, then raise ``SystemExit(128 + signal)``.

    Raised by a handler in the middle of the event loop (inside a task, a callback or the
    selector), SystemExit left "exception was never retrieved" tracebacks and once a loop
    that waited for ever; a cancelled task unwinds through every ``finally`` instead, as
    asyncio does for Ctrl-C. On the loop's own thread only (else ``work`` runs as it is).
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    got: list[int] = []

    def stop(signum: int) -> None:
        got.append(signum)
        task.cancel()

    installed: dict[signal.Signals, Any] = {}  # the handler each one had before
    if threading.current_thread() is threading.main_thread():
        for signum in signals:
            before = signal.getsignal(signum)
            if before is not signal.SIG_IGN:
                loop.add_signal_handler(signum, stop, int(signum))
                installed[signum] = before
    try:
        return await task
    except asyncio.CancelledError:
        if got:
            raise SystemExit(128 + got[0]) from None
        raise
    finally:
        for signum, before in installed.items():
            loop.remove_signal_handler(signum)  # leaves SIG_DFL: put the old one back
            if before is not None:
                signal.signal(signum, before)


@contextmanager
def exit_on_signals(signals: tuple[signal.Signals, ...] = _EXIT_SIGNALS) -> Iterator[None]:
    """Inside the block, ``signals`` (SIGTERM, SIGHUP) raise ``SystemExit(128 + signal)``.

    SIGINT is left alone: Python already raises KeyboardInterrupt for it, and asyncio.run
    turns that into cancelling the running task. Outside the main thread this does nothing.
    """
    previous = _install(signals, _raise_exit)
    try:
        yield
    finally:
        _restore(previous)
