"""No output form ever shows the password, the token, or any encoding of them.

The double records every line it received, so the exact AUTH lines that went
over the wire (PLAIN blob, LOGIN's base64 password, the CRAM-MD5 response,
the XOAUTH2 blob) are known and searched for in everything the CLI printed.
The CLI runs in process (the ``cli`` fixture); the hidden password prompt needs a real
terminal, so those two tests run the installed script on a pseudo-terminal.
"""

from __future__ import annotations

import base64
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

PASSWORD = "correct-horse-battery-staple"
USER = "user@example.jp"


def _forms(secret: str, wire_lines: list[str]) -> set[str]:
    raw = secret.encode()
    forms = {secret, base64.b64encode(raw).decode(), raw.hex()}
    forms.add(base64.b64encode(f"\0{USER}\0{secret}".encode()).decode())
    # Every AUTH continuation line actually sent, except the (public) user name.
    user_b64 = base64.b64encode(USER.encode()).decode()
    for line in wire_lines:
        parts = line.split()
        if line.upper().startswith("AUTH") and len(parts) >= 3:
            forms.add(parts[2])
        elif (
            parts
            and parts[0] != user_b64
            and not line.upper().startswith(
                ("EHLO", "MAIL", "RCPT", "RSET", "QUIT", "STARTTLS", "AUTH", "DATA", "NOOP")
            )
        ):
            forms.add(parts[0])
    return {f for f in forms if len(f) >= 6}


def _check(outputs: list[str], forms: set[str]) -> None:
    for out in outputs:
        for form in forms:
            assert form not in out, f"secret form {form[:4]}… leaked"


def _profile(tmp_path, mechanism: str) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / f"p-{mechanism.lower()}.yaml"
    path.write_text(
        f"name: p{mechanism.lower().replace('-', '')}\nhost: 127.0.0.1\nport: 587\n"
        f"security: starttls\nauth_mechanisms: [{mechanism}]\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
@pytest.mark.parametrize("scenario", ["ok", "auth-failed", "relay-denied-ocn", "drop-after-ehlo"])
def test_password_never_printed(smtp_double, cli, tmp_path, mechanism, scenario) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double(scenario, security="starttls")
    profile = _profile(tmp_path, mechanism)
    outputs: list[str] = []
    for extra in (["--json"], [], ["--lang", "ja"]):
        result = cli.probe(server, "--profile", profile, *extra, json_out=False, password=PASSWORD)
        outputs += [result.out, result.err]
    # A usage error after the password was read (--send without --to).
    err = cli.probe(server, "--profile", profile, "--send", password=PASSWORD)
    assert err.code == 2
    outputs += [err.out, err.err]
    # The password also arrives on stdin.
    piped = cli.run(
        "check",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--ca-file",
        str(server.ca_file),
        "--user",
        USER,
        "--password-stdin",
        "--profile",
        profile,
        stdin=PASSWORD + "\n",
    )
    outputs += [piped.out, piped.err]
    auth_lines = [c for c in server.received if c.upper().startswith("AUTH")]
    if scenario != "drop-after-ehlo":
        assert auth_lines, "the probe must really have authenticated"
    _check(outputs, _forms(PASSWORD, server.received))


def test_token_never_printed(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    from smtpprobe.testing import DEFAULT_TOKEN

    server = smtp_double("ok")
    outputs = []
    for token in (DEFAULT_TOKEN, "ya29.wrong-token-value"):
        for extra in (["--json"], []):
            result = cli.probe(
                server,
                "--oauth-token-env",
                "TOK",
                *extra,
                password="",
                json_out=False,
                env={"TOK": token},
            )
            outputs += [result.out, result.err]
        _check(outputs, _forms(token, server.received))


def test_password_is_not_a_command_line_option(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli.run("check", "--host", "127.0.0.1", "--user", "u@x.jp", "--password", "hunter22")
    assert result.code == 2
    assert "hunter22" not in result.both


def test_missing_password_non_interactive_is_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli.run("check", "--host", "127.0.0.1", "--user", "u@x.jp")
    assert result.code == 2
    assert "--password-env" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_compare_never_prints_the_password(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("geo-filter-sakura", security="starttls")
    outputs: list[str] = []
    for extra in (["--json"], [], ["--lang", "ja"]):
        result = cli.run(
            "compare",
            "--host",
            server.host,
            "--port",
            str(server.port),
            "--security",
            "starttls",
            "--ca-file",
            str(server.ca_file),
            "--user",
            USER,
            "--route",
            "direct",
            "--route",
            "source:127.0.0.2",
            *extra,
            env={"SMTPPROBE_PASSWORD": PASSWORD},
        )
        assert result.code == 1, result.both
        outputs += [result.out, result.err]
    assert [c for c in server.received if c.upper().startswith("AUTH")]
    _check(outputs, _forms(PASSWORD, server.received))


# --------------------------------------------------------------------------- empty passwords

LOOPBACK = ["--host", "127.0.0.1", "--port", "1", "--no-egress-lookup", "--user", USER]


@pytest.mark.parametrize(
    ("args", "env", "stdin", "named"),
    [
        (["--password-env", "MY_PW"], {"MY_PW": ""}, None, "--password-env MY_PW"),
        ([], {"SMTPPROBE_PASSWORD": ""}, None, "SMTPPROBE_PASSWORD"),
        (["--password-stdin"], {}, "\n", "--password-stdin"),
        (["--password-stdin"], {}, "\r\nsecond line\n", "--password-stdin"),
        (["ocn"], {"OCN_MAIL_PASSWORD": "", "SMTPPROBE_PASSWORD": "x"}, None, "OCN_MAIL_PASSWORD"),
    ],
    ids=["password-env", "smtpprobe-password", "stdin", "stdin-crlf", "profile-password-env"],
)
def test_empty_password_is_a_usage_error(cli, args, env, stdin, named) -> None:  # type: ignore[no-untyped-def]
    """An empty password is never sent: a one-line usage error names where it came from."""
    result = cli.run("check", *LOOPBACK, *args, env=env, stdin=stdin)
    assert result.code == 2, result.both
    assert result.out == "" and len(result.err.strip().splitlines()) == 1
    assert named in result.err and "empty" in result.err and "Traceback" not in result.err


def _spawn_on_pty(argv: list[str], env: dict[str, str]) -> tuple[int, subprocess.Popen[bytes]]:
    """Run ``argv`` with a pseudo-terminal as stdin, stdout and stderr.

    A new session has no controlling terminal, so getpass cannot open the test
    runner's /dev/tty and reads the pty (its stdin) with echo turned off.
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    return master, proc


def _read_until(master: int, seen: bytearray, marker: bytes, count: int, timeout: float) -> None:
    """Read the pty into ``seen`` until ``marker`` occurs ``count`` times (or EOF)."""
    deadline = time.monotonic() + timeout
    while seen.count(marker) < count and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            seen += chunk


def _pty_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTPPROBE_")}
    env.update({"LANG": "C.UTF-8", "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config"})
    env.pop("LC_ALL", None)
    return env


def _check_argv(server) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        str(Path(sys.executable).parent / "smtpprobe"), "check", "--host", server.host,
        "--port", str(server.port), "--security", "starttls", "--ca-file", str(server.ca_file),
        "--no-egress-lookup", "--phase-timeout", "2", "--timeout", "10", "--user", USER, "--json",
    ]  # fmt: skip


def test_prompt_asks_again_after_an_empty_answer(smtp_double) -> None:  # type: ignore[no-untyped-def]
    from smtpprobe.testing import DEFAULT_PASSWORD

    server = smtp_double("ok", security="starttls")
    master, proc = _spawn_on_pty(_check_argv(server), _pty_env())
    seen = bytearray()
    try:
        _read_until(master, seen, b"Password for", 1, 20)
        os.write(master, b"\n")  # an empty answer: asked again, nothing sent
        _read_until(master, seen, b"Password for", 2, 20)
        assert seen.count(b"Password for") == 2, seen
        os.write(master, DEFAULT_PASSWORD.encode() + b"\n")
        _read_until(master, seen, b"\x00never\x00", 1, 20)  # to the end of the output
        assert proc.wait(20) == 0, seen
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    auth = [line for line in server.received if line.upper().startswith("AUTH")]
    assert len(auth) == 1  # one login, with the password typed the second time
    assert base64.b64decode(auth[0].split()[2]).split(b"\0")[2] == DEFAULT_PASSWORD.encode()
    assert DEFAULT_PASSWORD.encode() not in seen  # not echoed, not printed


def test_prompt_gives_up_after_three_empty_answers(smtp_double) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok", security="starttls")
    master, proc = _spawn_on_pty(_check_argv(server), _pty_env())
    seen = bytearray()
    try:
        for count in (1, 2, 3):
            _read_until(master, seen, b"Password for", count, 20)
            os.write(master, b"\n")
        _read_until(master, seen, b"\x00never\x00", 1, 20)
        assert proc.wait(20) == 2, seen
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert seen.count(b"Password for") == 3
    assert b"no password entered" in seen and b"Traceback" not in seen
    assert server.received == []  # the probe never started
