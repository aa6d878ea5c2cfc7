"""The console script's entry point: Ctrl-C at any moment ends quietly with 130.

``smtpprobe.cli`` takes a few tenths of a second to import (typer, the command modules);
an interrupt in that time raised KeyboardInterrupt outside every handler, a traceback.
"""

from __future__ import annotations

from typing import Any

from smtpprobe.core.exitcode import ExitCode

__all__ = ["main"]


def main() -> Any:
    """Import the command line and run it; an interrupt before it can say so is exit 130."""
    try:
        from smtpprobe.cli import main as run_command_line
    except KeyboardInterrupt:
        raise SystemExit(ExitCode.INTERRUPTED) from None
    try:
        return run_command_line()
    except KeyboardInterrupt:
        raise SystemExit(ExitCode.INTERRUPTED) from None
