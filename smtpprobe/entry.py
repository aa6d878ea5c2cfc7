"""The console script's entry point: Ctrl-C at any moment ends quietly with 130.

``smtpprobe.cli`` takes a few tenths of a second to import (typer, the command modules);
an interrupt in that time raised KeyboardInterrupt outside every handler, a traceback.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing, and the exit code enum, load only when needed (see below)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["main"]


def main() -> Any:
    """Import the command line and run it; an interrupt before it can say so is exit 130."""
    # Nothing is imported at this module's top: an interrupt while it loads is outside
    # every handler, so that time is kept to the least (130: ExitCode.INTERRUPTED).
    try:
        from smtpprobe.cli import main as run_command_line
    except KeyboardInterrupt:
        raise SystemExit(_INTERRUPTED) from None
    try:
        return run_command_line()
    except KeyboardInterrupt:
        raise SystemExit(_INTERRUPTED) from None


_INTERRUPTED = 130  # ExitCode.INTERRUPTED, without its import (tests/e2e/test_offline.py)
