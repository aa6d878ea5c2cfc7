"""A closed standard output ends a command quietly, as it ends ``ls`` in ``ls | head -1``.

When the reader of a pipe goes away, the next write raises ``BrokenPipeError``. That is the
user's choice, not smtpprobe's error: no traceback, no "internal error", exit status 141 (128 +
SIGPIPE), the status a shell with ``pipefail`` reports for any Unix tool ended that way. Python
ignores SIGPIPE so that a socket's EPIPE is an exception the probe maps to a verdict; that must
stay so (``signal(SIGPIPE, SIG_DFL)`` would let a server that resets kill the probe), hence
this Python-level handling.

``run_quietly_on_broken_pipe(fn)`` wraps the whole command line (``cli.main``);
``quiet_on_broken_pipe()`` wraps one block.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from smtpprobe.core.exitcode import ExitCode

__all__ = [
    "EXIT_BROKEN_PIPE",
    "output_failed",
    "quiet_on_broken_pipe",
    "run_quietly_on_broken_pipe",
    "stdout_reader_gone",
]

EXIT_BROKEN_PIPE = ExitCode.BROKEN_PIPE  # 128 + SIGPIPE (13)

T = TypeVar("T")


def stdout_reader_gone() -> bool:
    """True when standard output is a pipe or socket whose reading end has closed.

    Without poll() (Windows) it cannot tell and says True: the caller has a BrokenPipeError
    in hand, which there can only come from a pipe.
    """
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return False
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return False
    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    # Linux flags the writing end of a pipe without readers POLLERR; BSDs and sockets, POLLHUP.
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so that the interpreter's last flush of what is
    still buffered cannot fail again ("Exception ignored … BrokenPipeError", exit 120)."""
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):
        return
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _quiet_exit() -> SystemExit:
    _silence_stdout()
    return SystemExit(EXIT_BROKEN_PIPE)


@contextmanager
def quiet_on_broken_pipe() -> Iterator[None]:
    """Inside the block, a write to a standard output nobody reads ends the process with 141.

    ``SystemExit`` passes through ``except Exception`` handlers and typer, and runs every
    ``finally`` on its way out. A BrokenPipeError from anything else (a socket) is re-raised.
    """
    try:
        yield
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        raise _quiet_exit() from None


# What only writing the output can raise: a full disk (``> /dev/full``), a quota, a file
# over its size limit, a terminal gone away. Not smtpprobe's error, nor the server's.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def output_failed(exc: BaseException) -> bool:
    """True for an error that writing the output raised (a full disk), not a bug."""
    return (
        isinstance(exc, OSError)
        and not isinstance(exc, BrokenPipeError)
        and exc.errno in _OUTPUT_ERRNOS
    )


_CLOSED_EN = "smtpprobe: error: cannot write the output: standard output is closed\n"
_CLOSED_JA = "smtpprobe: エラー: 出力を書き込めません（標準出力が閉じられています）\n"


def run_quietly_on_broken_pipe(fn: Callable[[], T]) -> T:
    """Run ``fn`` (a whole command line); if its output's reader has gone, end quietly, 141.

    Besides BrokenPipeError, this catches typer's own handling: typer (like click) turns an
    EPIPE into exit 1, the code of a failed check, after swapping ``sys.stdout`` for a
    ``PacifyFlushWrapper``; that swap tells a lost output from a real failure.
    """
    if sys.stdout is None:
        # Started with standard output closed (">&-"): whatever it would print is lost, and
        # exit 0 would say all was well (a red-team round). As a full disk is: one line, exit 2.
        from smtpprobe.cli_usage import language_of

        if sys.stderr is not None:
            if language_of(sys.argv[1:]) == "ja":
                sys.stderr.write(_CLOSED_JA)
            else:
                sys.stderr.write(_CLOSED_EN)
        raise SystemExit(ExitCode.USAGE)
    for stream in (sys.stdout, sys.stderr):
        # A console in cp932, EUC-JP or Latin-1 cannot show every character (◉, ✓, kana): a
        # replacement mark, not an exit 4, for what it cannot encode.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        with quiet_on_broken_pipe():
            try:
                return fn()
            finally:
                # What is still buffered is written at exit; a reader gone by then fails here.
                if sys.stdout is not None:
                    sys.stdout.flush()
    except SystemExit as exc:
        if exc.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            raise _quiet_exit() from None
        raise
    except OSError as exc:
        if not output_failed(exc):
            raise
        # One line, exit 2 (fix the environment); nothing more is written to the output,
        # whose last flush at exit would fail again.
        _silence_stdout()
        reason = exc.strerror or str(exc)
        from smtpprobe.cli_usage import language_of

        if language_of(sys.argv[1:]) == "ja":
            sys.stderr.write(f"smtpprobe: エラー: 出力を書き込めません（{reason}）\n")
        else:
            sys.stderr.write(f"smtpprobe: error: cannot write the output: {reason}\n")
        raise SystemExit(ExitCode.USAGE) from None
