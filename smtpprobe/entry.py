"""The console script's entry point: Ctrl-C at any moment ends quietly with 130, and the
process ends as soon as its work is done.

``smtpprobe.cli`` takes a few tenths of a second to import (typer, the command modules);
an interrupt in that time raised KeyboardInterrupt outside every handler, a traceback.

Once the command has returned, the interpreter's own shutdown (tearing down every module
and collecting the rules, signatures, typer's commands and the TLS objects one by one)
took 20 ms after ``--help``, 35 ms after ``explain`` and 45 ms after ``check`` on a 2-core
host: a fifth of a probe's wall time, spent after its answer was printed. So, the output
flushed and the ``atexit`` handlers run (smtpprobe's own waits for a trust-store read
still running; a coverage tool saves its data), the process ends with ``os._exit``. Where
that could lose work — a thread that is not a daemon still running, or output that cannot
be flushed — the interpreter's normal exit runs instead.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing, and the exit code enum, load only when needed (see below)
if TYPE_CHECKING:
    from sys import UnraisableHookArgs
    from typing import NoReturn

__all__ = ["main"]


def main() -> NoReturn:
    """Import the command line, run it and end the process with its exit status."""
    try:
        code = _run()
    except SystemExit as exc:
        code = exc.code
    _end(code)


def _run() -> object:
    # Nothing is imported at this module's top: an interrupt while it loads is outside
    # every handler, so that time is kept to the least (130: ExitCode.INTERRUPTED).
    import sys

    previous, sys.unraisablehook = sys.unraisablehook, _unraisable
    try:
        try:
            from smtpprobe.cli import main as run_command_line
        except KeyboardInterrupt:
            return _INTERRUPTED
        if _swallowed:
            return _INTERRUPTED
        try:
            code = run_command_line()
        except KeyboardInterrupt:
            return _INTERRUPTED
        return _INTERRUPTED if _swallowed else code
    finally:
        sys.unraisablehook = previous  # the interpreter's exit is left as it was


# An interrupt that lands in code the interpreter runs for itself (a weakref callback of
# the import system's module locks, a __del__) is "unraisable": the interpreter printed
# "Exception ignored in: …" with a traceback and carried on, and `explain -` went on to
# read its input as if Ctrl-C had never been pressed (seen under load in
# tests/e2e/test_offline.py). It is taken for what it was: the command is interrupted.
_swallowed: list[BaseException] = []


def _unraisable(unraisable: UnraisableHookArgs) -> None:
    import sys

    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _swallowed.append(unraisable.exc_value)
        return
    sys.__unraisablehook__(unraisable)


def _end(code: object) -> NoReturn:
    """End with ``code`` as ``sys.exit(code)`` would, skipping the interpreter's teardown."""
    import os
    import sys
    import threading

    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        others = [t for t in threading.enumerate() if t is not threading.main_thread()]
        if any(not t.daemon for t in others):
            raise SystemExit(code)  # the interpreter waits for them, as it always has
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr, flush=True)  # sys.exit("message"): shown, status 1
        status = code if isinstance(code, int) else 0 if code is None else 1

        import atexit

        atexit._run_exitfuncs()
    except KeyboardInterrupt:
        raise SystemExit(_INTERRUPTED) from None
    except (OSError, ValueError):
        raise SystemExit(code) from None  # a stream that cannot be flushed: the usual exit
    os._exit(status & 0xFF)


_INTERRUPTED = 130  # ExitCode.INTERRUPTED, without its import (tests/e2e/test_offline.py)
