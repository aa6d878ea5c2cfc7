"""A CLI that feels native (issue 9, item 7): in-process through typer's CliRunner.

``--version`` and ``-h`` everywhere; help with examples, the environment variables
and where the egress lookup goes; readable metavars; shell completion; colour only
on a terminal (and never with NO_COLOR or --json); a live status line only on a
terminal's stderr; ``--no-pipelining``; Gmail's words for ``--security``; the demo
table in 80 columns with each case's remedy; exit codes from one enum.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import smtpprobe
from smtpprobe import cli
from smtpprobe.cli import app
from smtpprobe.core.exitcode import ExitCode
from smtpprobe.render import terminal
from smtpprobe.render.columns import clip, pad, width, wrap
from smtpprobe.render.terminal import StatusLine, paint, use_colour
from smtpprobe.render.tone import Line, Tone, redact
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

ENV = {
    "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config",
    "SMTPPROBE_PASSWORD": DEFAULT_PASSWORD,
    "LANG": "C.UTF-8",
    "LC_ALL": "",
    "NO_COLOR": "",
}
COMMANDS = [
    ["check"], ["compare"], ["explain"], ["demo"], ["double"], ["profiles"],
    ["profiles", "show"], ["rules", "check"],
]  # fmt: skip
ANSI = "\x1b["


def _invoke(*args: str, env: dict[str, str] | None = None, **kw: Any) -> Any:
    return CliRunner().invoke(app, list(args), env={**ENV, **(env or {})}, **kw)


def _check(server: Any, *extra: str, env: dict[str, str] | None = None) -> Any:
    return _invoke(
        "check", "--host", server.host, "--port", str(server.port), "--security", server.security,
        "--ca-file", str(server.ca_file), "--user", DEFAULT_USER, "--no-egress-lookup",
        "--phase-timeout", "3", "--timeout", "20", *extra, env=env,
    )  # fmt: skip


# ------------------------------------------------------------------ --version, -h, help


@pytest.mark.parametrize("command", [[], *COMMANDS], ids=lambda c: " ".join(c) or "smtpprobe")
def test_version_on_the_app_and_every_command(command: list[str]) -> None:
    result = _invoke(*command, "--version")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"smtpprobe {smtpprobe.__version__}\n"


@pytest.mark.parametrize("command", [[], *COMMANDS], ids=lambda c: " ".join(c) or "smtpprobe")
def test_dash_h_is_help(command: list[str]) -> None:
    short, long = _invoke(*command, "-h"), _invoke(*command, "--help")
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout and "Usage: smtpprobe" in short.stdout
    assert "-h, --help" in short.stdout


@pytest.mark.parametrize("command", [[], *COMMANDS], ids=lambda c: " ".join(c) or "smtpprobe")
def test_help_has_examples_and_readable_metavars(command: list[str]) -> None:
    text = _invoke(*command, "--help").stdout
    if command not in (["profiles", "show"], ["demo"]):
        assert "Example" in text
    options = text.split("Options:", 1)[1]
    # typer's own type names (<str>, <path>, <list[Path]>, <float>) never name an option value.
    assert not re.search(r"<[a-z]", options), options
    assert "<list[" not in text


@pytest.mark.parametrize("command", ["check", "compare"])
def test_help_names_the_environment_and_where_the_egress_lookup_goes(command: str) -> None:
    text = " ".join(_invoke(command, "--help").stdout.split())
    for needed in (
        "SMTPPROBE_PASSWORD", "password_env", "SMTPPROBE_CONFIG_DIR", "SMTPPROBE_EGRESS_RESOLVERS",
        "ns1.google.com (216.239.32.10)", "OpenDNS's resolver (208.67.222.222)",
        "--no-egress-lookup", "--no-pipelining", "--security MODE", "Gmail's 'SSL'", "ssl and tls",
        "--rules FILE",
    ):  # fmt: skip
        assert needed in text, needed
    if command == "compare":
        assert "--route ROUTE" in text


def test_shell_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "--install-completion" in _invoke("--help").stdout
    # typer finds the shell in the process tree (shellingham); a pytest started
    # without a shell among its parents has none, so name it here.
    import shellingham

    monkeypatch.setattr(shellingham, "detect_shell", lambda: ("bash", "/bin/bash"))
    script = _invoke("--show-completion")
    assert script.exit_code == 0 and "_SMTPPROBE_COMPLETE" in script.stdout, script.output


# ------------------------------------------------------------------ options kept and added


def test_no_pipelining_sends_one_command_at_a_time(smtp_double: Any) -> None:
    server = smtp_double("ok", security="starttls")
    pipelined = json.loads(_check(server, "--json").stdout)
    one_by_one = _check(server, "--json", "--no-pipelining")
    assert one_by_one.exit_code == 0, one_by_one.output
    notes = [step["note"] for step in json.loads(one_by_one.stdout)["steps"]]
    assert "pipelined" in [step["note"] for step in pipelined["steps"]]
    assert "pipelined" not in notes
    assert pipelined["verdict"]["category"] == "ok"


@pytest.mark.parametrize(("word", "mode"), [("ssl", "implicit-tls"), ("tls", "starttls")])
def test_gmails_words_for_the_security_mode(smtp_double: Any, word: str, mode: str) -> None:
    server = smtp_double("ok", security=mode)
    result = _check(server, "--json", "--security", word)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["target"]["security"] == mode


def test_exit_codes_are_one_enum() -> None:
    from smtpprobe.core.classify import ExitCode as VerdictExitCode
    from smtpprobe.pipes import EXIT_BROKEN_PIPE

    assert VerdictExitCode is ExitCode and EXIT_BROKEN_PIPE is ExitCode.BROKEN_PIPE
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130, 141]


def test_guard_one_line_errors_and_scrubbed_bugs(monkeypatch: pytest.MonkeyPatch) -> None:
    usage = _invoke("check", "nosuch", "--user", "u@example.jp")
    assert usage.exit_code == ExitCode.USAGE and usage.stdout == ""
    assert usage.stderr.count("\n") == 1 and "unknown profile 'nosuch'" in usage.stderr

    def broken(options: Any, password_source: Any, **kwargs: Any) -> Any:
        password = password_source(None)  # the password is known from here on
        raise RuntimeError(f"bug holding {password}")

    monkeypatch.setattr("smtpprobe.api.check", broken)
    bug = _invoke("check", "--host", "127.0.0.1", "--user", "u@example.jp", "--no-egress-lookup")
    assert bug.exit_code == ExitCode.INTERNAL
    assert "internal error, please report it: RuntimeError" in bug.stderr
    assert DEFAULT_PASSWORD not in bug.stderr and bug.stderr.count("\n") == 1


def test_cli_is_wiring_only() -> None:
    assert len(Path(cli.__file__).read_text(encoding="utf-8").splitlines()) <= 300


# ------------------------------------------------------------------ colour


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("environ", "stream", "expected"),
    [
        ({}, _Terminal(), True),
        ({"NO_COLOR": "1"}, _Terminal(), False),
        ({"NO_COLOR": ""}, _Terminal(), True),  # no-color.org: set and not empty
        ({"TERM": "dumb"}, _Terminal(), False),
        ({}, io.StringIO(), False),  # a pipe or a file
        ({}, None, False),
    ],
    ids=["terminal", "no-color", "no-color-empty", "dumb", "pipe", "closed"],
)
def test_colour_only_on_a_terminal(environ: dict[str, str], stream: Any, expected: bool) -> None:
    assert use_colour(stream, environ) is expected


def test_paint_colours_by_tone_and_keeps_the_text() -> None:
    lines = [Line("Verdict: ok", Tone.GOOD), Line("  ! tls  timeout", Tone.BAD), Line("plain")]
    painted = paint(lines)
    assert "\x1b[1;32mVerdict: ok" in painted and "\x1b[1;31m  ! tls  timeout" in painted
    assert re.sub(r"\x1b\[[0-9;]*m", "", painted) == "Verdict: ok\n  ! tls  timeout\nplain"
    assert paint([Line("plain")]) == "plain"


def test_redaction_keeps_tones_unless_lines_change() -> None:
    lines = [Line("C: AUTH secret", Tone.PLAIN), Line("S: 535 secret", Tone.BAD)]
    assert redact(lines, lambda s: s.replace("secret", "***")) == [
        Line("C: AUTH ***"),
        Line("S: 535 ***", Tone.BAD),
    ]
    merged = redact([Line("a", Tone.BAD), Line("b")], lambda s: s.replace("a\nb", "*"))
    assert merged == [Line("*")]


@pytest.mark.parametrize(
    ("scenario", "security", "code", "verdict_colour"),
    [
        ("ok", "starttls", 0, "\x1b[1;32m"),  # green
        ("auth-failed", "starttls", 1, "\x1b[1;31m"),  # red
        ("drop-after-ehlo", "starttls", 3, "\x1b[33m"),  # yellow
    ],
)
def test_colour_on_a_terminal_and_never_in_json_or_with_no_color(
    smtp_double: Any, monkeypatch: pytest.MonkeyPatch, scenario: str, security: str, code: int,
    verdict_colour: str,
) -> None:  # fmt: skip
    server = smtp_double(scenario, security=security)
    monkeypatch.setattr(terminal, "is_terminal", lambda stream: True)
    text = _check(server)
    assert text.exit_code == code, text.output
    assert f"{verdict_colour}Verdict: " in text.stdout
    if code:
        assert "\x1b[1;31m  " in text.stdout  # the failure line or the negative reply
    assert ANSI not in _check(server, "--json").stdout
    assert ANSI not in _check(server, env={"NO_COLOR": "1"}).stdout
    monkeypatch.undo()
    assert ANSI not in _check(server).stdout  # not a terminal: plain


# ------------------------------------------------------------------ status line


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "waiting for the greeting… 6 s of 15"),
        ("ja", "最初の応答（220）を待っています… 15 秒中 6 秒"),
    ],
)
def test_status_line_says_what_it_waits_for(lang: str, expected: str) -> None:
    clock, stream = _Clock(), _Terminal()
    status = StatusLine(stream, lang, clock=clock, columns=lambda: 80)
    assert status.text() is None  # before the first phase: nothing (a prompt may be showing)
    status.on_phase("greeting", 15.0)
    clock.now += 0.5
    assert status.text() is None  # a fast server shows nothing
    clock.now += 5.6
    assert status.text() == expected
    status.draw()
    assert stream.getvalue() == f"\r\x1b[2K{expected}"
    status.__exit__(None, None, None)
    assert stream.getvalue().endswith("\r\x1b[2K")  # erased before the report is printed


def test_status_line_fits_the_terminal() -> None:
    clock, stream = _Clock(), _Terminal()
    status = StatusLine(stream, "en", clock=clock, columns=lambda: 20)
    status.on_phase("security-check", 15.0)
    clock.now += 3
    status.draw()
    drawn = stream.getvalue().removeprefix("\r\x1b[2K")
    assert width(drawn) <= 19 and drawn.endswith("…")


def test_status_line_only_on_a_terminals_stderr(
    smtp_double: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_double("hang-after-connect", security="starttls")
    monkeypatch.setattr(terminal, "is_terminal", lambda stream: True)
    quick = lambda stream, lang: StatusLine(stream, lang, delay=0, interval=0.05)  # noqa: E731
    monkeypatch.setattr(terminal, "status_line", quick)  # drawn at once, not after 1 s
    # The double never greets: each run waits out the greeting, then the second look.
    text = _check(server, "--phase-timeout", "0.3")  # drawn every 0.05 s from the start
    assert text.exit_code == 3, text.output
    assert "waiting for the greeting… 0 s of 0.3" in text.stderr
    assert "waiting" not in text.stdout and "\r" not in text.stdout
    as_json = _check(server, "--json", "--phase-timeout", "0.3")
    assert as_json.exit_code == 3 and as_json.stderr == ""  # never with --json
    json.loads(as_json.stdout)
    monkeypatch.undo()
    assert _check(server, "--phase-timeout", "0.3").stderr == ""  # not a terminal: none


# ------------------------------------------------------------------ the demo table


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_demo_fits_80_columns_and_shows_each_remedy(demo_rows: Any, lang: str) -> None:
    # demo_rows: the session's one real run of the demo (tests/conftest.py).
    from smtpprobe.demo import format_demo

    text = format_demo(demo_rows, lang)
    lines = text.splitlines()
    assert max(width(line) for line in lines) <= 80
    remedies = [line for line in lines if line.startswith("    → ")]
    assert len(remedies) == len(demo_rows)
    for row, shown in zip(demo_rows, remedies, strict=True):
        assert row.report is not None, row.error
        remedy = " ".join(row.report.verdict.remedy.get(lang).splitlines())
        assert remedy.startswith(shown.removeprefix("    → ").removesuffix("…"))


def test_columns_count_wide_characters_twice() -> None:
    assert width("判定") == 4 and width("ok") == 2 and width("ｶ") == 1  # half-width kana
    assert pad("判定", 6) == "判定  "
    assert clip("あいうえお", 7) == "あいう…" and width(clip("あいうえお", 7)) == 7
    assert clip("short", 10) == "short"


def test_wrap_breaks_english_at_spaces_and_japanese_between_characters() -> None:
    assert wrap("one two three four", 9) == ["one two", "three", "four"]
    assert wrap("あいうえおかきくけこ", 8) == ["あいうえ", "おかきく", "けこ"]
    # A closing mark never begins a line: it takes the character before it along.
    assert wrap("あいう。えお", 6) == ["あい", "う。え", "お"]
    assert wrap("a-very-long-word x", 5) == ["a-very-long-word", "x"]  # kept whole
    assert wrap("", 10) == [] and wrap("  a  b ", 10) == ["a b"]


def test_profiles_show_labels_in_english() -> None:
    shown = _invoke("profiles", "show", "ocn")
    assert shown.exit_code == 0
    for label in ("server", "port", "user name", "AUTH", "password", "source", "file"):
        assert re.search(rf"^  {label} +\S", shown.stdout, re.M), label


def test_explain_colours_negative_replies_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal, "is_terminal", lambda stream: True)
    result = _invoke("explain", "550 5.7.1 <you@example.jp>... Command rejected")
    assert result.exit_code == 0
    assert "\x1b[1;31m  S: 550 5.7.1" in result.stdout


def _on_a_pty(args: list[str], env: dict[str, str]) -> bytes:
    """Run the installed script with a pseudo-terminal as stdout; what it wrote."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    script = Path(sys.executable).parent / "smtpprobe"
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    proc = subprocess.Popen([str(script), *args], stdout=slave, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env={**full_env, **ENV, **env})  # fmt: skip
    os.close(slave)
    seen = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        proc.wait(30)
    return bytes(seen)


def test_a_real_terminal_gets_colour_unless_no_color() -> None:
    reply = "550 5.7.1 <you@example.jp>... Command rejected"
    assert ANSI.encode() in _on_a_pty(["explain", reply], {"TERM": "xterm"})
    assert ANSI.encode() not in _on_a_pty(["explain", reply], {"TERM": "xterm", "NO_COLOR": "1"})
    assert ANSI.encode() not in _on_a_pty(["explain", reply], {"TERM": "dumb"})


def test_a_named_command_is_built_alone_with_the_same_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import typer.main

    from smtpprobe.cli_support import lean_app

    full = typer.main.get_command(app)
    for name in ("check", "explain", "profiles", "rules", "run", "dns"):
        lean = typer.main.get_command(lean_app(app, [name, "--help"]))
        assert list(lean.commands) == [name]  # type: ignore[attr-defined]
        want = full.commands[name]  # type: ignore[attr-defined]
        got = lean.commands[name]  # type: ignore[attr-defined]
        assert [p.opts for p in got.params] == [p.opts for p in want.params]
        assert got.help == want.help
    for args in ([], ["--version"], ["chek"], ["-h"]):
        assert lean_app(app, args) is app  # no command, an option, a misspelling: all of it
    monkeypatch.setenv("_SMTPPROBE_COMPLETE", "bash_complete")
    assert lean_app(app, ["check"]) is app  # completion lists every command


def test_a_servers_control_characters_never_reach_the_terminal() -> None:
    # ESC could clear the screen or hide the refusal behind an unterminated OSC; CR and the
    # bidirectional overrides rewrite or reorder a line. They are shown as escapes.
    from smtpprobe.render.terminal import for_stream
    from smtpprobe.render.tone import Line, Tone, visible

    reply = "550 5.7.1 \x1b[2J\x1b]0;PWNED\x07hidden\r\u202eok\x9b\tend"
    shown = "550 5.7.1 \\x1b[2J\\x1b]0;PWNED\\x07hidden\\x0d\\u202eok\\x9b\tend"
    assert visible(reply) == shown
    assert for_stream([Line(reply, Tone.BAD)], None) == shown
    assert visible("ふつうの日本語の応答 550") == "ふつうの日本語の応答 550"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["check", "--bogus"], ["smtpprobe check: error: No such option: --bogus", "-h'"]),
        (["check", "--port", "abc"], ["Invalid value for '--port'"]),
        (["explain", "--lang", "ja", "--nope"],
         ["smtpprobe explain: エラー: そのようなオプションはありません: --nope", "-h'"]),
        (["check", "--lang", "ja", "--port", "abc"], ["--port の値が正しくありません"]),
        (["no-such-command"], ["smtpprobe: error: No such command"]),
    ],
    ids=["option", "value", "ja-option", "ja-value", "command"],
)  # fmt: skip
def test_a_usage_error_is_one_line_in_the_language_asked(
    cli: Any, args: list[str], words: list[str]
) -> None:
    # click prints four lines (usage, hint, blank, "Error: …"), always in English.
    result = cli.run(*args)
    assert result.code == ExitCode.USAGE, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["dns", "example.jp", "--ip", "192.0.2.1", "--dns-timeout", "inf"], "--dns-timeout inf"),
        (["spf", "--ip", "192.0.2.1", "--sender", "a@example.jp", "--dns-timeout", "1e9"],
         "--dns-timeout"),
        (["serve", "CHECKS", "--timeout-offset", "inf"], "--timeout-offset inf"),
        (["serve", "CHECKS", "--min-interval", "nan"], "--min-interval must be finite"),
        (["check", "--host", "127.0.0.1", "--user", "u@example.jp", "--proxy",
          "socks5://a..b:1080"], "--proxy host"),
        (["check", "--host", "127.0.0.1", "--user", "u@example.jp", "--proxy",
          "socks5://127.0.0.1:0"], "port 0 is not a port"),
        (["check", "--host", "127.0.0.1", "--user", "u@example.jp", "--phase-timeout",
          "1e-9"], "give at least 0.01 seconds"),
    ],
    ids=["dns-inf", "spf-huge", "serve-offset-inf", "serve-interval-nan", "proxy-host",
         "proxy-port-0", "phase-timeout-tiny"],
)  # fmt: skip
def test_values_that_would_hang_or_crash_are_usage_errors(
    cli: Any, tmp_path: Path, args: list[str], words: str
) -> None:
    # A red-team round: --dns-timeout inf never ended, serve --timeout-offset inf answered
    # probe_success 0 for good, a proxy host of "a..b" was an internal error (exit 4).
    checks = tmp_path / "checks.yaml"
    checks.write_text("checks:\n  - name: a\n    host: 127.0.0.1\n    no_auth: true\n"
                      "    from: a@example.jp\n", encoding="utf-8")  # fmt: skip
    args = [str(checks) if a == "CHECKS" else a for a in args]
    result = cli.run(*args, env={"SMTPPROBE_PASSWORD": "x"}, timeout=30)
    assert result.code == ExitCode.USAGE, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.err


def test_a_reply_typed_without_quotes_is_told_to_be_quoted(cli: Any) -> None:
    # A red-team round: "Got unexpected extra argument(s) (5.7.8 failed)" named no fix.
    result = cli.run("explain", "535", "5.7.8", "failed")
    assert result.code == ExitCode.USAGE, result
    assert "put the text to explain in quotes" in result.err
    japanese = cli.run("explain", "--lang", "ja", "535", "5.7.8", "failed")
    assert "引用符で囲んで" in japanese.err
