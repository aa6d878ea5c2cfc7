"""No output form ever shows the password, the token, or any encoding of them.

The double records every line it received, so the exact AUTH lines that went
over the wire (PLAIN blob, LOGIN's base64 password, the CRAM-MD5 response,
the XOAUTH2 blob) are known and searched for in everything the CLI printed.
"""

from __future__ import annotations

import base64

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
