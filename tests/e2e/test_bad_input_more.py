"""More bad input, each found by trying to break the command line: one line, a documented
exit code, never a traceback and never exit 4 (README, "Exit codes")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ..conftest import Result
from ..processes import BIN, environment

ENV = {"SMTPPROBE_PASSWORD": "x", "SMTPPROBE_EGRESS_RESOLVERS": "127.0.0.1:1"}
NO_AUTH = ["--no-auth", "--from", "a@example.jp"]


def _one_line(result: Result, code: int = 2) -> str:
    assert result.code == code, result.both
    assert "Traceback" not in result.both
    lines = [line for line in result.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    return lines[0]


def _rule_file(tmp_path: Path, cause: str) -> Path:
    """One relay-denied rule matching "zzqq", with ``cause`` (a YAML flow mapping)."""
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - id: r\n    category: relay-denied\n    retryable: false\n"
        f"    match: {{text: zzqq}}\n    cause: {cause}\n    remedy: {{en: 'x', ja: 'y'}}\n"
        '    examples:\n      - {phase: rcpt, reply: "550 zzqq"}\n',
        encoding="utf-8",
    )
    return rules


def test_check_with_no_arguments_asks_for_a_server(cli) -> None:  # type: ignore[no-untyped-def]
    # The --format nagios look-ahead once failed on an empty argument list (a traceback).
    line = _one_line(cli.run("check", env=ENV))
    assert "PROFILE" in line and "--host" in line


def test_completion_of_check_options_is_no_traceback(installed_cli) -> None:  # type: ignore[no-untyped-def]
    env = {**ENV, "_SMTPPROBE_COMPLETE": "complete_bash", "COMP_WORDS": "smtpprobe check --sec"}
    result = installed_cli.run(env={**env, "COMP_CWORD": "2"})
    assert "Traceback" not in result.both and result.code == 0, result.both
    assert "--security" in result.out


def _into_a_full_disk(args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    """The installed command with its standard output on /dev/full (every write: ENOSPC)."""
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [str(BIN), *args], stdout=full, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, env=environment(**{**ENV, **extra}), timeout=60,
        )  # fmt: skip


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ["explain", "550 5.7.1 Relay access denied"],
        ["explain", "--json", "550 5.7.1 Relay access denied"],
        ["--help"],
        ["profiles"],
        [
            "check",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
            "--no-auth",
            "--from",
            "a@example.jp",
            "--no-egress-lookup",
            "--no-dns-checks",
        ],
    ],
    ids=["explain", "explain-json", "help", "profiles", "check"],
)
def test_output_that_cannot_be_written_is_one_line_and_exit_2(args: list[str]) -> None:
    # A full disk is the environment's fault, not a bug (4) and not a traceback.
    proc = _into_a_full_disk(args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "smtpprobe: error: cannot write the output: No space left on device"
    ]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_said_in_japanese_when_asked() -> None:
    # A red-team round: the line stayed English under --lang ja and a Japanese locale.
    for args, extra in (
        (["profiles", "--lang", "ja"], {}),
        (["profiles"], {"LANG": "ja_JP.UTF-8"}),
    ):
        proc = _into_a_full_disk(args, **extra)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines() == [
            "smtpprobe: エラー: 出力を書き込めません（No space left on device）"
        ]


def test_explain_of_an_empty_argument_says_it_is_empty(cli) -> None:  # type: ignore[no-untyped-def]
    # '' once named the current directory: " is a directory", with an empty slot.
    line = _one_line(cli.run("explain", ""))
    assert "the input is empty" in line


def test_an_oversized_paste_names_the_limit_not_a_wrong_size(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(20 * 1024 * 1024)  # sparse: 20 MB of NUL bytes, read up to the limit
    line = _one_line(cli.run("explain", str(big)))
    assert "larger than the 16 MB limit" in line and "16.0" not in line


def test_run_only_with_an_empty_value_runs_nothing_and_fails(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "checks:\n  - name: a\n    host: 127.0.0.1\n    port: 1\n    no_auth: true\n"
        "    from: a@example.jp\n",
        encoding="utf-8",
    )
    line = _one_line(cli.run("run", "--no-history", str(checks), "--only", "", env=ENV))
    assert "--only" in line and "a" in line


@pytest.mark.parametrize("value", ["nan", "-1", "inf"])
def test_double_duration_must_be_finite_and_not_negative(cli, value: str) -> None:  # type: ignore[no-untyped-def]
    line = _one_line(cli.run("double", "--duration", value, timeout=10))
    assert "--duration" in line and "finite" in line


@pytest.mark.parametrize("args", [["serve", "--version"], ["rules", "--version"]])
def test_every_command_takes_version(cli, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = cli.run(*args)
    assert result.code == 0 and result.out.startswith("smtpprobe "), result.both


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a {host} {nonexistent}", ["unknown placeholder {nonexistent}", "{host}"]),
        ("b {", ["Single '{'", "'{{'"]),
        ("c {host!r}", ["unknown placeholder {host!r}"]),
    ],
    ids=["unknown-name", "lone-brace", "conversion"],
)
def test_rules_check_refuses_placeholders_no_verdict_fills(cli, tmp_path, text, words) -> None:  # type: ignore[no-untyped-def]
    # Such text once passed 'rules check' and reached the output as "{nonexistent}".
    rules = _rule_file(tmp_path, f"{{en: 'fine', ja: '{text}'}}")
    line = _one_line(cli.run("rules", "check", str(rules)))
    assert str(rules) in line and "'cause.ja'" in line
    for word in words:
        assert word in line


def test_a_literal_brace_written_twice_is_fine(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = _rule_file(tmp_path, "{en: 'set {{x}} on {host}', ja: '{host} の {{x}}'}")
    assert cli.run("rules", "check", str(rules)).code == 0
    result = cli.run("explain", "--rules", str(rules), "550 zzqq")
    assert "set {x} on" in result.out, result.both


def test_control_characters_in_a_paste_are_shown_as_escapes(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli.run("explain", "550 5.7.1 \x1b[2J\x1b]0;PWNED\x07 Relay access denied")
    assert result.code == 0, result.both
    assert "\x1b" not in result.out and "\x07" not in result.out
    assert "\\x1b[2J\\x1b]0;PWNED\\x07" in result.out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["dns", "a" * 300, "--ip", "127.0.0.1"], ["DOMAIN", "253"]),
        (["dns", "192.0.2.1", "--ip", "127.0.0.1"], ["DOMAIN", "domain name"]),
        (["dns", "example.jp", "--server", "a b"], ["--server 'a b'"]),
        (["dns", "example.jp", "--ip", "127.0.0.1", "--helo", "a\x01"], ["--helo"]),
        (["dns", "example.jp", "--ip", "127.0.0.1", "--dkim-selector", ""], ["--dkim-selector"]),
        (["spf", "--ip", "127.0.0.1", "--sender", "a@"], ["--sender 'a@'"]),
        (["spf", "--ip", "127.0.0.1", "--sender", "a@b c"], ["--sender's domain 'b c'"]),
        (["check", "--host", "256.1.1.1", *NO_AUTH], ["256.1.1.1"]),
        (["check", "--host", "1.2.3.4.5", *NO_AUTH], ["1.2.3.4.5"]),
        (["check", "--host", "127.0.0.1:", *NO_AUTH], ["'127.0.0.1:'"]),
    ],
    ids=[
        "long-domain", "ip-as-domain", "server-space", "helo-control", "empty-selector",
        "sender-no-domain", "sender-domain-space", "ipv4-256", "five-numbers", "empty-port",
    ],
)  # fmt: skip
def test_names_are_checked_before_any_lookup(cli, args: list[str], words: list[str]) -> None:  # type: ignore[no-untyped-def]
    # Once these went to DNS and came back as verdicts (a 300-character domain got an SPF
    # record "to publish"); a name that cannot exist is a usage error, exit 2.
    line = _one_line(
        cli.run(*args, "--nameserver", "127.0.0.1:1", env=ENV)
        if args[0] != "check"
        else cli.run(*args, "--no-egress-lookup", "--no-dns-checks", env=ENV)
    )
    for word in words:
        assert word in line


@pytest.mark.parametrize(
    ("route", "words"),
    [
        ("source:nope", "source: takes an IP address"),
        ("proxy:ftp://x", "use socks5://"),
        # Named --source-address, an option compare does not have (before any probe).
        ("source:192.0.2.55", ": cannot bind 192.0.2.55"),
        ("source:::1", ": cannot bind it"),  # ::1 for 127.0.0.1
    ],
)
def test_compare_names_the_route_the_user_wrote(cli, route: str, words: str) -> None:  # type: ignore[no-untyped-def]
    args = ["compare", "--host", "127.0.0.1", *NO_AUTH, "--route", "direct", "--route", route]
    line = _one_line(cli.run(*args, env=ENV))
    assert f"--route '{route}'" in line and words in line
    assert "--source-address" not in line and "--proxy" not in line


def test_an_ipv6_server_is_shown_in_brackets(cli) -> None:  # type: ignore[no-untyped-def]
    # "::1:1" would read as another address; RFC 3986 section 3.2.2 writes [::1]:1.
    args = ["check", "--host", "::1", "--port", "1", *NO_AUTH, "--no-egress-lookup"]
    result = cli.run(*args, "--no-dns-checks", env=ENV)
    assert result.code == 3, result.both
    assert "smtpprobe → [::1]:1 (starttls)" in result.out
    assert "::1:1" not in result.out


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("name: p\nhost: 127.0.0.1\nport: 587\nport: 25\nsecurity: starttls\n",
         [":4:1:", "the key 'port' is given twice"]),
        ("name: 123\nhost: 127.0.0.1\nport: 587\nsecurity: starttls\n",
         ["'name' must be a word", "123"]),
    ],
    ids=["duplicate-key", "name-not-text"],
)  # fmt: skip
def test_a_profile_says_exactly_what_is_wrong(cli, tmp_path, body: str, words: list[str]) -> None:  # type: ignore[no-untyped-def]
    # YAML keeps the last of two equal keys silently: a second port: would probe another.
    path = tmp_path / "p.yaml"
    path.write_text(body, encoding="utf-8")
    line = _one_line(cli.run("check", "--profile", str(path), "--user", "u@example.jp", env=ENV))
    for word in words:
        assert word in line


def test_a_malformed_ping_url_fails_before_any_probe(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # It once ended the run with exit 4 after every probe had been sent.
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "checks:\n  - name: a\n    host: 127.0.0.1\n    port: 1\n    no_auth: true\n"
        "    from: a@example.jp\n    egress_lookup: false\n",
        encoding="utf-8",
    )
    args = ["run", "--no-history", str(checks), "--ping", "http://[::1"]
    line = _one_line(cli.run(*args, env=ENV))
    assert "--ping: not a valid URL" in line


@pytest.mark.parametrize(
    ("extra", "words"),
    [(["--ping", ""], "--ping ''"), (["--on-change", " "], "--on-change ''")],
    ids=["ping", "on-change"],
)
def test_an_empty_hook_is_refused_not_ignored(cli, tmp_path, extra, words) -> None:  # type: ignore[no-untyped-def]
    # An empty --ping (a variable that was not set) turned the ping off without a word,
    # and the monitoring service then reported the run as missing, not as failed.
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "checks:\n  - {name: a, host: 127.0.0.1, port: 1, no_auth: true, from: a@example.jp,"
        " egress_lookup: false}\n",
        encoding="utf-8",
    )
    line = _one_line(cli.run("run", str(checks), "--history", str(tmp_path / "h"), *extra, env=ENV))
    assert words in line


@pytest.mark.parametrize("name", ["/tmp/no-such-bounce.eml", "bounce.eml", "./x", "~/Mail/b.txt"])
def test_explain_of_a_missing_file_says_so(cli, name: str) -> None:  # type: ignore[no-untyped-def]
    # A mistyped file name was explained as the text itself: "no SMTP reply found".
    line = _one_line(cli.run("explain", name, env=ENV))
    assert f"{name}: no such file" in line


@pytest.mark.parametrize("text", ["https://support.google.com/mail/?p=BadCredentials", "5.7.1"])
def test_explain_of_one_word_that_is_no_file_name_is_a_text(cli, text: str) -> None:  # type: ignore[no-untyped-def]
    result = cli.run("explain", text, env=ENV)
    assert result.code == 1 and "no such file" not in result.both, result.both


def test_explain_with_an_empty_provider_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    line = _one_line(cli.run("explain", "550 5.7.1 x", "--provider", "", env=ENV))
    assert "unknown profile ''" in line


def test_a_checks_file_error_names_the_files_keys_not_flags(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "checks:\n  - {name: p, host: 127.0.0.1, security: plain, user: u@example.jp,"
        " password: {env: SMTPPROBE_PASSWORD}}\n",
        encoding="utf-8",
    )
    line = _one_line(cli.run("run", "--no-history", str(checks), env=ENV))
    assert "allow_plaintext_auth: true" in line and "--allow-plaintext-auth" not in line
    checks.write_text("checks:\n  - {name: q, host: 127.0.0.1, no_auth: true}\n", encoding="utf-8")
    line = _one_line(cli.run("run", "--no-history", str(checks), env=ENV))
    assert "key 'from'" in line and "there is no user name" in line


@pytest.mark.parametrize(
    ("scenario", "mode"), [("tls-required", "implicit-tls"), ("tls-cert-expired", "plain")]
)
def test_a_double_mode_that_hides_the_scenario_is_refused(cli, scenario: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    # Served anyway, each was a healthy server ("ok") under a banner that says otherwise.
    args = ["double", "--scenario", scenario, "--security", mode, "--duration", "0"]
    line = _one_line(cli.run(*args, timeout=10))
    assert f"scenario '{scenario}' would not show here" in line


def test_a_route_error_never_shows_the_proxys_password(cli) -> None:  # type: ignore[no-untyped-def]
    args = ["compare", "--host", "127.0.0.1", *NO_AUTH, "--route", "direct",
            "--route", "proxy:socks5://u:s3cret@127.0.0.1"]  # fmt: skip
    line = _one_line(cli.run(*args, env=ENV))
    assert "--route 'proxy:socks5://***@127.0.0.1'" in line and "s3cret" not in line


def test_a_password_with_a_nul_is_refused_before_any_login(cli) -> None:  # type: ignore[no-untyped-def]
    # AUTH PLAIN splits on NUL: the server would take a broken login against the account.
    args = ["check", "--host", "127.0.0.1", "--port", "1", "--user", "u@example.jp",
            "--password-stdin", "--no-egress-lookup", "--no-dns-checks"]  # fmt: skip
    line = _one_line(cli.run(*args, stdin="ab\0cd\n", env={}))
    assert "NUL" in line and "ab" not in line.split("error:", 1)[1]


def test_an_error_is_one_line_whatever_a_value_held(cli) -> None:  # type: ignore[no-untyped-def]
    line = _one_line(cli.run("check", "a\r\nb", "--user", "u@example.jp", env=ENV))
    assert "unknown profile" in line


def test_a_user_rule_cannot_call_a_refusal_ok_or_match_everything(
    cli, smtp_double, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "ok.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - id: mine\n    category: ok\n    retryable: false\n"
        '    match: {codes: ["5xx"]}\n    cause: {en: "x", ja: "x"}\n'
        '    remedy: {en: "y", ja: "y"}\n'
        '    examples:\n      - {phase: rcpt, reply: "550 5.7.1"}\n',
        encoding="utf-8",
    )
    server = smtp_double("relay-denied-ocn", security="starttls")
    result = cli.probe(server, "--rules", str(rules))
    assert result.code == 1, result.both
    assert '"category": "ok"' not in result.out
    rules.write_text(rules.read_text().replace('match: {codes: ["5xx"]}', "match: {}"))
    line = _one_line(cli.run("rules", "check", str(rules)))
    assert "'match' needs at least one condition" in line


def test_history_reset_of_an_empty_name_is_refused(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from smtpprobe.history import History

    path = tmp_path / "h.sqlite3"
    History.open(path).close()
    line = _one_line(cli.run("history", "--history", str(path), "--reset", ""))
    assert "no history for check ''" in line


def test_egress_resolvers_set_to_nothing_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    # ',' once meant the public defaults: a user who set it to keep queries private was
    # sent to Google's and OpenDNS's servers.
    args = ["check", "--host", "127.0.0.1", "--port", "1", *NO_AUTH, "--no-dns-checks"]
    line = _one_line(cli.run(*args, env={**ENV, "SMTPPROBE_EGRESS_RESOLVERS": ","}))
    assert "SMTPPROBE_EGRESS_RESOLVERS names no server" in line


def test_a_console_that_cannot_show_a_character_gets_a_replacement_not_exit_4() -> None:
    env = environment(**ENV, PYTHONIOENCODING="latin-1")
    proc = subprocess.run(
        [str(BIN), "explain", "550 5.7.1 リレー拒否 Relay access denied"],
        capture_output=True, env=env, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr and b"relay-denied" in proc.stdout


def test_a_bad_nameservers_variable_is_named_as_the_variable(cli) -> None:  # type: ignore[no-untyped-def]
    # It once said "--nameserver 'junk'" though no --nameserver was given.
    args = ["spf", "--ip", "127.0.0.1", "--sender", "a@example.jp"]
    line = _one_line(cli.run(*args, env={**ENV, "SMTPPROBE_NAMESERVERS": "junk"}))
    assert "SMTPPROBE_NAMESERVERS 'junk'" in line and "--nameserver" not in line


def _closed(redirect: str, *args: str) -> Result:
    """The installed smtpprobe started by a shell with one standard stream closed."""
    proc = subprocess.run(
        ["bash", "-c", f'exec "$0" "$@" {redirect}', str(BIN), *args],
        capture_output=redirect != ">&-",
        stdout=subprocess.DEVNULL if redirect == ">&-" else None,
        stderr=subprocess.PIPE if redirect == ">&-" else None,
        text=True,
        env=environment(),  # no SMTPPROBE_PASSWORD: nothing to read the password from
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout or "", proc.stderr or "")


def test_a_closed_standard_input_is_a_usage_error_not_an_internal_one() -> None:
    # A red-team round: exit 4, "AttributeError: 'NoneType' object has no attribute 'readline'".
    common = ("check", "--host", "127.0.0.1", "--port", "9", "--user", "u@example.jp")
    piped = _closed("<&-", *common, "--no-egress-lookup", "--password-stdin")
    assert "standard input is closed" in _one_line(piped)
    asked = _closed("<&-", *common, "--no-egress-lookup")
    assert "no password" in _one_line(asked)


def test_a_closed_standard_output_is_said_not_a_silent_success() -> None:
    # A red-team round: nothing printed, exit 0.
    result = _closed(">&-", "explain", "550 5.7.1 Relay access denied")
    assert result.code == 2, result
    assert "standard output is closed" in result.err


def test_a_fifo_in_the_config_folder_is_skipped_not_waited_on(tmp_path: Path) -> None:
    import os

    for folder in ("profiles", "rules"):
        (tmp_path / folder).mkdir()
        os.mkfifo(tmp_path / folder / "stuck.yaml")
    proc = subprocess.run(
        [str(BIN), "explain", "550 5.7.1 Relay access denied"],
        capture_output=True,
        text=True,
        env=environment(SMTPPROBE_CONFIG_DIR=str(tmp_path)),
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert "relay-denied" in proc.stdout
