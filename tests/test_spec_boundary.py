"""Options are coerced and checked at every entry point (issue 7, items 2, 6 and 8).

In-process: the CLI through typer's CliRunner and the Python API directly, against
the double on loopback. A bad value is one line on stderr with exit code 2, never a
traceback, never exit 4; a good value written the natural way works.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from typer.testing import CliRunner

from smtpprobe.api import CheckOptions, check
from smtpprobe.cli import app
from smtpprobe.core.auth import Credentials
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import Security
from smtpprobe.driver import run_probe
from smtpprobe.errors import ConfigError
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

ENV = {"SMTPPROBE_PASSWORD": "x", "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config"}


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    runner = CliRunner()
    return runner.invoke(app, list(args), env={**ENV, **(env or {})}, catch_exceptions=False)


def _usage_error(result: Any, *words: str) -> None:
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert "Traceback" not in result.output + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--ehlo", "evil\r\nRSET"], ["--ehlo"]),
        (["--ehlo", "ホスト.example.jp"], ["--ehlo", "ASCII"]),
        (["--ehlo", "two words"], ["--ehlo"]),
        (["--from", "me\r\n@example.jp"], ["--from"]),
        (["--from", "ユーザー@example.jp"], ["--from", "SMTPUTF8"]),
        (["--to", "you@exa mple.jp"], ["--to"]),
        (["--to", "<you@example.jp>"], ["--to"]),
        (["--to", "no-at-sign"], ["--to"]),
        (["--user", "u@example.jp\r\nMAIL FROM:<x@y>"], ["--user", "control"]),
        (["--timeout", "nan"], ["--timeout"]),
        (["--timeout", "inf"], ["--timeout"]),
        (["--timeout", "0"], ["--timeout"]),
        (["--phase-timeout", "nan"], ["--phase-timeout"]),
        (["--phase-timeout", "-1"], ["--phase-timeout"]),
        (["--egress-timeout", "nan"], ["--egress-timeout"]),
        (["--host", "::1", "-4"], ["::1", "-4"]),
        (["--host", "127.0.0.1", "-6"], ["127.0.0.1", "-6"]),
        (["--source-address", "::1", "-4"], ["--source-address"]),
        (["--source-address", "not-an-ip"], ["--source-address"]),
        (["--host", "127.0.0.1:25", "--port", "26"], ["--port"]),
        (["--proxy", "ftp://127.0.0.1:21"], ["--proxy"]),
        (["--proxy", "socks5://a..b:1080"], ["--proxy host", "empty labels"]),
        (["--proxy", ""], ["--proxy ''", "URL"]),
        (["--password-env", ""], ["--password-env ''"]),
        # RFC 5321 section 4.5.3.1 and RFC 4954 section 4: sent, their refusals blamed the server.
        (["--from", "a" * 65 + "@example.jp"], ["--from", "too long", "64 octets"]),
        (["--to", "b@" + "c" * 250 + ".jp"], ["--to", "too long"]),
        (["--user", "u" * 5000], ["--user", "too long", "12288"]),
        (["--expect", "relay-denied,nonsense"], ["--expect", "nonsense"]),
        # An empty value (an unset shell variable) is a mistake, never "use the default":
        # `--expect ''` would pass on any verdict, `--to ''` probe another recipient.
        (["--expect", ""], ["--expect ''", "categories"]),
        (["--expect", " , "], ["--expect ''"]),
        (["--to", ""], ["--to", "mail address"]),
        (["--from", ""], ["--from", "mail address"]),
        (["--ca-file", ""], ["--ca-file ''", "CA file"]),
        (["--rules", ""], ["--rules ''", "give the path"]),
        (["--profile", ""], ["current folder", "give the path"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_values_are_usage_errors(args: list[str], words: list[str]) -> None:
    base = ["check", "--user", "u@example.jp"]
    if "--host" not in args:
        base += ["--host", "127.0.0.1"]
    _usage_error(_run(*base, *args), *words)


def test_an_empty_password_is_never_sent_through_the_api(smtp_double: Any) -> None:
    server = smtp_double("ok")
    for password, token in (("", None), (None, "")):
        with pytest.raises(ConfigError):
            check(
                CheckOptions(
                    host=server.host,
                    port=server.port,
                    user=DEFAULT_USER,
                    password=password,
                    oauth_token=token,
                    egress_lookup=False,
                )
            )
    assert server.received == []


@pytest.mark.parametrize("word", ["starttls", "STARTTLS", "tls"])
def test_security_as_a_string_performs_starttls(smtp_double: Any, word: str) -> None:
    # Issue 7, item 2: the natural call must upgrade before AUTH, never send it in clear.
    server = smtp_double("ok", security="starttls")
    report = check(
        CheckOptions(
            host=server.host,
            port=server.port,
            security=word,
            user=DEFAULT_USER,
            password=DEFAULT_PASSWORD,
            ca_file=server.ca_file,
            egress_lookup=False,
            phase_timeout=2,
            timeout=10,
        )
    )
    assert report.verdict.category == "ok"
    verbs = [line.split()[0].upper() for line in server.received]
    assert verbs.index("STARTTLS") < verbs.index("AUTH")
    assert report.transcript.target.security is Security.STARTTLS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("security", "bogus"),
        ("port", 0),
        ("port", "587x"),
        ("port", True),
        ("timeout", float("nan")),
        ("phase_timeout", -3),
        ("family", "ipv5"),
        ("host", "smtp..example.jp"),
        ("expect", ("nonsense",)),
    ],
)
def test_the_api_refuses_bad_values_before_connecting(
    smtp_double: Any, field: str, value: object
) -> None:
    server = smtp_double("ok")
    options: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "user": DEFAULT_USER,
        "password": DEFAULT_PASSWORD,
        "egress_lookup": False,
        field: value,
    }
    with pytest.raises(ConfigError):
        check(CheckOptions(**options))
    assert server.received == []


def test_the_api_takes_socket_family_constants(smtp_double: Any) -> None:
    server = smtp_double("ok")
    report = check(
        CheckOptions(
            host=server.host,
            port=server.port,
            user=DEFAULT_USER,
            password=DEFAULT_PASSWORD,
            ca_file=server.ca_file,
            family=socket.AF_INET,
            egress_lookup=False,
        )
    )
    assert report.verdict.category == "ok"


def test_the_driver_itself_refuses_auth_in_clear(smtp_double: Any) -> None:
    # Defence in depth: even a spec that skipped validation cannot put the password
    # on an unencrypted wire; the double proves that no AUTH line arrived.
    server = smtp_double("ok", security="plain")
    spec = ProbeSpec(
        host=server.host,
        port=server.port,
        security=Security.PLAIN,
        sender=DEFAULT_USER,
        recipient="postmaster@gmail.com",
        credentials=Credentials(DEFAULT_USER, DEFAULT_PASSWORD),
        phase_timeout=2,
        timeout=10,
    )
    with pytest.raises(ConfigError, match="unencrypted"):
        asyncio.run(run_probe(spec))
    assert not [line for line in server.received if line.upper().startswith("AUTH")]
    assert any(line.upper().startswith("EHLO") for line in server.received)


def test_host_with_port_and_brackets_are_accepted(smtp_double: Any) -> None:
    server = smtp_double("ok")
    result = _run(
        "check",
        "--host",
        f"{server.host}:{server.port}",
        "--user",
        DEFAULT_USER,
        "--ca-file",
        str(server.ca_file),
        "--no-egress-lookup",
        "--json",
        env={"SMTPPROBE_PASSWORD": DEFAULT_PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert f'"port": {server.port}' in result.stdout
    result = _run(
        "check",
        "--host",
        "[::1]",
        "--port",
        "1",
        "--user",
        DEFAULT_USER,
        "--no-egress-lookup",
        "--phase-timeout",
        "2",
        "--json",
    )
    # Nothing listens on [::1]:1 (or IPv6 is off): the dialogue cannot start, exit 3.
    assert result.exit_code == 3, result.output
    assert '"host": "::1"' in result.stdout


@pytest.mark.parametrize("word", ["ssl", "tls"])
def test_gmail_words_for_security_on_the_command_line(smtp_double: Any, word: str) -> None:
    server = smtp_double("ok", security="implicit-tls" if word == "ssl" else "starttls")
    result = _run(
        "check",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--security",
        word,
        "--user",
        DEFAULT_USER,
        "--ca-file",
        str(server.ca_file),
        "--no-egress-lookup",
        env={"SMTPPROBE_PASSWORD": DEFAULT_PASSWORD},
    )
    assert result.exit_code == 0, result.output


def test_a_profile_files_password_env_is_read(smtp_double: Any, tmp_path: Any) -> None:
    # The password is asked for after the profile is chosen, so a --profile FILE's own
    # password_env counts (it used to be looked up among the built-in profiles only).
    server = smtp_double("ok")
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        f"name: mine\nhost: {server.host}\nport: {server.port}\nsecurity: starttls\n"
        "password_env: MINE_PASSWORD\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["check", "--profile", str(profile), "--user", DEFAULT_USER, "--ca-file",
         str(server.ca_file), "--no-egress-lookup"],
        env={"SMTPPROBE_CONFIG_DIR": "/nonexistent", "MINE_PASSWORD": DEFAULT_PASSWORD,
             "SMTPPROBE_PASSWORD": None},
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_scoped_ipv6_address_connects_on_its_interface(smtp_double: Any) -> None:
    # RFC 4007 section 11: `::1%lo` names the interface; the zone goes into the socket
    # address, never into the name the certificate is checked against.
    lo = next(name for _, name in socket.if_nameindex() if name.startswith("lo"))
    server = smtp_double("ok", host="::1", security="starttls")
    result = _run(
        "check", "--host", f"::1%{lo}", "--port", str(server.port), "--security", "starttls",
        "--user", DEFAULT_USER, "--ca-file", str(server.ca_file), "--no-egress-lookup", "--json",
        env={"SMTPPROBE_PASSWORD": DEFAULT_PASSWORD},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"category": "ok"' in result.stdout


def test_a_zone_naming_no_interface_is_a_usage_error() -> None:
    result = _run("check", "--host", "::1%no-such-if0", "--user", "u@example.jp")
    _usage_error(result, "--host", "no network interface 'no-such-if0'")


def test_address_literals_in_brackets_are_addresses_of_either_family() -> None:
    # RFC 5321 section 4.1.3: [192.0.2.1] and [IPv6:2001:db8::1]; URLs write [2001:db8::1].
    from smtpprobe.core.spec import validate_host
    from smtpprobe.errors import ConfigError

    assert validate_host("[192.0.2.1]") == ("192.0.2.1", None)
    assert validate_host("[IPv6:2001:db8::1]:587") == ("2001:db8::1", 587)
    assert validate_host("[2001:db8::1]") == ("2001:db8::1", None)
    with pytest.raises(ConfigError, match=r"brackets hold an IP address, e\.g\. \[192\.0\.2\.1\]"):
        validate_host("[mail.example.jp]", "--helo")


@pytest.mark.parametrize(
    ("value", "host", "without"),
    [
        (
            "smtps://user%40example.jp:hunter2@smtp.example.jp:465",
            "smtp.example.jp:465",
            "smtps://",
        ),
        ("smtp://hunter2@smtp.example.jp", "smtp.example.jp", "smtp://"),
        ("http://smtp.example.com/", "smtp.example.com", "http://"),
        ("user:hunter2@smtp.example.jp", "smtp.example.jp", "'@'"),
        ("you@example.jp", "example.jp", "'@'"),
    ],
)
def test_a_url_or_a_login_for_the_host_names_the_host_and_never_echoes_the_rest(
    value: str, host: str, without: str
) -> None:
    # Mail libraries' settings hold the server as a URL with the login in it (nodemailer's
    # "smtps://user:pass@smtp.example.com"): the message names the host to give instead,
    # and what came before it (a password, perhaps) appears in neither language.
    for lang, words in (("en", ("--host", repr(host), without)), ("ja", ("--host", repr(host)))):
        result = _run(
            "check", "--lang", lang, "--host", value, "--no-auth", "--from", "a@example.jp"
        )
        _usage_error(result, *words)
        assert "hunter2" not in result.output + result.stderr
        assert not any(w in result.stderr for w in ("user%40", "user:", "you@"))
        if lang == "ja":
            assert "ホスト名だけ" in result.stderr
