"""Command-line usage errors (an unknown option, a value of the wrong type) as one line.

click prints four lines (usage, hint, a blank line, "Error: …"), always in English. The
tool's other errors are one line with exit code 2, in Japanese under ``--lang ja`` or a
Japanese locale; a mistyped option is the same kind of mistake, so it reads the same way:
``smtpprobe check: error: No such option: --bogus; see 'smtpprobe check -h'``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import IO, Any

__all__ = ["language_of", "one_line_usage_errors", "usage_line"]

# click's own wordings (typer._click: parser.py, core.py, exceptions.py) in Japanese; the
# option names and values are carried over, click's inner English words kept in quotes.
_JA: tuple[tuple[str, str], ...] = (
    (r"No such option: (?P<o>\S+?)(?: \(Possible options: (?P<p>[^)]*)\))?(?: Did you mean "
     r"(?P<d>\S+?)\?)?", "そのようなオプションはありません: {o}"),
    (r"No such command '(?P<o>[^']*)'\.", "そのようなコマンドはありません: {o}"),
    (r"Option '(?P<o>[^']*)' requires an argument\.", "オプション {o} には値が必要です"),
    (r"Option '(?P<o>[^']*)' does not take a value\.", "オプション {o} は値を取りません"),
    (r"Missing argument '(?P<o>[^']*)'\.", "引数 {o} がありません"),
    (r"Missing option '(?P<o>[^']*)'\.", "オプション {o} がありません"),
    (r"Invalid value for '(?P<o>[^']*)': (?P<m>.*)", "{o} の値が正しくありません: 「{m}」"),
    (r"Got unexpected extra arguments? \((?P<o>.*)\)", "余分な引数があります: {o}"),
)  # fmt: skip


def usage_line(message: str, command: str, lang: str) -> str:
    """One line for a usage error of ``command`` ("smtpprobe check")."""
    message = " ".join(message.split())
    if lang == "ja":
        for pattern, ja in _JA:
            match = re.fullmatch(pattern, message)
            if match is not None:
                said = ja.format(**{k: v or "" for k, v in match.groupdict().items()})
                extra = match.groupdict().get("p") or match.groupdict().get("d")
                if extra:
                    said += f"（候補: {extra}）"
                return f"{command}: エラー: {said}。使い方は '{command} -h' をご覧ください"
        return f"{command}: エラー: 「{message}」。使い方は '{command} -h' をご覧ください"
    return f"{command}: error: {message.rstrip('.')}; see '{command} -h'"


def language_of(args: Sequence[str]) -> str:
    """``--lang`` as written on the command line (parsing failed), else the locale's."""
    for index, arg in enumerate(args):
        if arg == "--lang" and index + 1 < len(args):
            return "ja" if args[index + 1] == "ja" else "en"
        if arg.startswith("--lang="):
            return "ja" if arg == "--lang=ja" else "en"
    from smtpprobe.render.labels import default_lang

    return default_lang()


def one_line_usage_errors(args: Sequence[str]) -> None:
    """Make click's usage errors print one line (in the language ``args`` ask for)."""
    from typer._click.exceptions import UsageError

    lang = language_of(args)

    def show(self: UsageError, file: IO[Any] | None = None) -> None:
        import typer

        command = self.ctx.command_path if self.ctx is not None else "smtpprobe"
        typer.echo(usage_line(self.format_message(), command, lang), err=True)

    UsageError.show = show  # type: ignore[method-assign]
