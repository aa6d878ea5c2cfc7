"""What every command shares: errors as one line with a documented exit code, coloured output.

Its own module so that each command module (``cli``, ``cli_run``, ``cli_history``,
``cli_serve``) uses the same guard without importing the command line itself.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

from smtpprobe.core.exitcode import ExitCode

if TYPE_CHECKING:
    from smtpprobe.render.tone import Line

__all__ = ["emit", "guard", "lean_app"]


@contextmanager
def guard(scrub: Callable[[str], str] = lambda s: s, lang: str = "en") -> Iterator[None]:
    """Turn our errors into one line on stderr and exit code 2; never a traceback.
    With ``lang`` "ja" the line is in Japanese (``smtpprobe.render.errors_ja``)."""
    from smtpprobe.errors import SmtpprobeError

    try:
        yield
    except (typer.Exit, typer.Abort, BrokenPipeError):
        raise  # a closed stdout is handled once, in main()
    except SmtpprobeError as exc:
        message, code = scrub(str(exc)), ExitCode.USAGE
    except KeyboardInterrupt:
        message, code = "interrupted", ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: say so in one line, without the secret
        from smtpprobe.pipes import output_failed

        if output_failed(exc):
            raise  # a full disk, not a bug: main() says so (exit 2)
        message = "internal error, please report it: " + scrub(f"{type(exc).__name__}: {exc}")
        code = ExitCode.INTERNAL
    else:
        return
    from smtpprobe.render.tone import visible

    message = visible(" ".join(message.splitlines()))  # one line, whatever a value held
    if lang == "ja":
        from smtpprobe.render.errors_ja import error_ja

        typer.echo(f"smtpprobe: エラー: {error_ja(message)}", err=True)
    else:
        typer.echo(f"smtpprobe: error: {message}", err=True)
    raise typer.Exit(code)


def emit(lines: Sequence[Line], code: int, *, err: bool = False) -> NoReturn:
    """Print the lines, coloured when they go to a terminal, and exit with ``code``."""
    from smtpprobe.render.terminal import for_stream

    typer.echo(for_stream(lines, sys.stderr if err else sys.stdout), err=err, color=True)
    raise typer.Exit(code)


def lean_app(app: typer.Typer, args: list[str]) -> typer.Typer:
    """``app`` with only the command that ``args`` name, when they name one; usage errors
    then print one line (``smtpprobe.cli_usage``).

    typer reads the signature of every command each time it builds the command line
    (about 20 ms for all of them); a run needs only its own. Anything else (no command,
    an option first, a misspelt name to suggest a correction for, shell completion)
    gets the whole app.
    """
    from typer.main import get_command_name

    from smtpprobe.cli_usage import one_line_usage_errors

    one_line_usage_errors(args)
    if not args or args[0].startswith("-") or "_SMTPPROBE_COMPLETE" in os.environ:
        return app
    commands = [
        c
        for c in app.registered_commands
        if c.callback is not None and (c.name or get_command_name(c.callback.__name__)) == args[0]
    ]
    groups = [g for g in app.registered_groups if g.name == args[0]]
    if not commands and not groups:
        return app
    lean = copy.copy(app)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean
