"""The process exit codes of every command, defined once (README, "Exit codes").

Its own module so that the command line can name them without importing the
classifier (``smtpprobe --help`` stays fast).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a ``smtpprobe`` process ends with; scripts and monitoring depend on these."""

    ACCEPTED = 0  # the server accepted everything asked; explain: a reply explained
    REFUSED = 1  # the server refused; explain: no reply found; rules check: an example failed
    USAGE = 2  # usage or configuration error: one line on stderr
    INCOMPLETE = 3  # the dialogue could not be completed (DNS, connect, TLS, timeout…)
    INTERNAL = 4  # a bug: one line on stderr, never a secret
    INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
    BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of standard output went away (``| head``)
