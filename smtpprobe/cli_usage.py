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
# option names and values are carried over, and what it says of a value (``_VALUE_JA``) is
# in Japanese too (kept in quotes when it is not known).
_JA: tuple[tuple[str, str], ...] = (
    (r"No such option: (?P<o>\S+?)(?: \(Possible options: (?P<p>[^)]*)\))?(?: Did you mean "
     r"(?P<d>\S+?)\?)?", "そのようなオプションはありません: {o}"),
    (r"No such command '(?P<o>[^']*)'\.", "そのようなコマンドはありません: {o}"),
    (r"Option '(?P<o>[^']*)' requires an argument\.", "オプション {o} には値が必要です"),
    (r"Option '(?P<o>[^']*)' does not take a value\.", "オプション {o} は値を取りません"),
    (r"Missing argument '(?P<o>[^']*)'\.", "引数 {o} がありません"),
    (r"Missing option '(?P<o>[^']*)'\.", "オプション {o} がありません"),
    (r"Invalid value for '(?P<o>[^']*)': (?P<m>.*)", "{o} の値が正しくありません: {m}"),
    (r"Invalid value: (?P<m>.*)", "値が正しくありません: {m}"),
    (r"Got unexpected extra arguments? \((?P<o>.*)\)", "余分な引数があります: {o}"),
)  # fmt: skip

# What click says of a value (typer._click.types, typer._types; click 8's own wording too:
# "integer" for "int", "invalid choice" of click 7), after "Invalid value for '--port':".
_VALUE_JA: tuple[tuple[str, str], ...] = (
    (r"(?P<v>.+?) is not in the range (?P<r>\S+?)\.?", "{v} は範囲外です。{r}を指定してください"),
    (r"(?P<v>.+?) is not a valid (?:int|integer)(?: range)?\.?", "{v} は整数ではありません"),
    (r"(?P<v>.+?) is not a valid float(?: range)?\.?", "{v} は数ではありません"),
    (r"(?P<v>.+?) is not a valid boolean\.?(?: Recognized values: (?P<k>.*))?",
     "{v} は真偽値（true か false）ではありません"),
    (r"(?P<v>.+?) is not one of (?P<k>.*?)\.?",
     "{v} は使えません。次のいずれかを指定してください: {k}"),
    (r"invalid choice: (?P<v>.*?)\. \(choose from (?P<k>.*)\)",
     "{v} は使えません。次のいずれかを指定してください: {k}"),
    (r"(?:File|Directory|Path|Filename) (?P<v>.+?) does not exist\.?", "{v} がありません"),
    (r"(?:File|Directory|Path|Filename) (?P<v>.+?) is a directory\.?", "{v} はフォルダーです"),
    (r"(?:File|Directory|Path|Filename) (?P<v>.+?) is a file\.?",
     "{v} はファイルです（フォルダーを指定してください）"),
    (r"(?:File|Directory|Path|Filename) (?P<v>.+?) is not readable\.?", "{v} を読み取れません"),
    (r"(?:File|Directory|Path|Filename) (?P<v>.+?) is not writable\.?", "{v} に書き込めません"),
    (r"(?P<n>\d+) values are required, but (?P<g>\d+) (?:was |were )?given\.?",
     "値が {n} 個必要です（指定されたのは {g} 個）"),
)  # fmt: skip
# click's range ("1<=x<=65535", "x>=0", "0<x<3600") in words.
_LOWER = {"<=": "以上", "<": "より大きく"}
_UPPER = {"<=": "以下", "<": "未満"}
_ONE_SIDE = {">=": "以上の", ">": "より大きい", "<=": "以下の", "<": "未満の"}


def _range_ja(text: str) -> str:
    """``1<=x<=65535`` as "1〜65535 の値", ``x>=0`` as "0 以上の値"."""
    both = re.fullmatch(r"(?P<a>[^<>=x]+)(?P<l><=?)x(?P<r><=?)(?P<b>[^<>=x]+)", text)
    if both is not None:
        if both["l"] == both["r"] == "<=":
            return f"{both['a']}〜{both['b']} の値"
        return f"{both['a']} {_LOWER[both['l']]} {both['b']} {_UPPER[both['r']]}の値"
    one = re.fullmatch(r"x(?P<op>[<>]=?)(?P<n>[^<>=x]+)", text)
    if one is not None:
        return f"{one['n']} {_ONE_SIDE[one['op']]}値"
    return f"{text} の値"


def _value_ja(message: str) -> str:
    """click's words about a value in Japanese; quoted when they are not known."""
    for pattern, ja in _VALUE_JA:
        match = re.fullmatch(pattern, message)
        if match is not None:
            values = {k: v or "" for k, v in match.groupdict().items()}
            if "r" in values:
                values["r"] = _range_ja(values["r"])
            if "k" in values:  # the choices, listed as Japanese lists them
                values["k"] = values["k"].replace(", ", "、")
            return ja.format(**values)
    return f"「{message}」"


def usage_line(message: str, command: str, lang: str) -> str:
    """One line for a usage error of ``command`` ("smtpprobe check")."""
    message = " ".join(message.split())
    if command.endswith(" explain") and message.startswith("Got unexpected extra argument"):
        # "smtpprobe explain 535 5.7.8 failed": the words of a reply typed without quotes (a
        # red-team round: the error named the extra words, not the fix).
        if lang == "ja":
            return (
                f"{command}: エラー: 説明する文章は 1 つの引数として引用符で囲んでください"
                f'（例: {command} "535 5.7.8 ..."）。標準入力から貼り付けることもできます'
            )
        return (
            f"{command}: error: put the text to explain in quotes, as one argument "
            f'({command} "535 5.7.8 ..."), or paste it on standard input'
        )
    if lang == "ja":
        for pattern, ja in _JA:
            match = re.fullmatch(pattern, message)
            if match is not None:
                values = {k: v or "" for k, v in match.groupdict().items()}
                if "m" in values:
                    values["m"] = _value_ja(values["m"])
                said = ja.format(**values)
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
