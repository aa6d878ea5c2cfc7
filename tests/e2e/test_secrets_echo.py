"""Against a server that echoes every AUTH line in every encoding, no output shows a secret.

The echo server (``smtpprobe.testing.echo``) records the exact lines it received and
quotes them back verbatim, decoded, in hex (lower, upper, mixed case), URL-encoded
(``quote``, ``quote_plus``, lower-case escapes) and re-encoded in base64 at other
alignments, in the AUTH, MAIL and RCPT replies. The forms searched for are computed
here, independently of the redactor, from the password or token and from those
received lines (the blobs, what they decode to, the CRAM-MD5 response and digest), and
searched for in everything ``check`` and ``compare`` print, in every output and with
the password from every source.

Most runs are in-process (typer's CliRunner) to keep the file fast; a few go through
the installed console script in a real process (the ``installed_cli`` fixture).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from smtpprobe.cli import app
from smtpprobe.testing.echo import EchoServer

# A space, "/", "+", a quote and non-ASCII: every encoding of it differs from the text.
PASSWORD = 'correct horse/battery+"staple" ä'
TOKEN = "ya29.echo-oauth-token/+x"
TOKEN_ENV = "SMTPPROBE_TEST_ECHO_TOKEN"
USER = "user@example.jp"
MECHANISMS = ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"]
RUNNER = CliRunner()
MIN_FORM = 6  # shorter forms could occur by chance


# --------------------------------------------------------------------------- forms


def _lower_escapes(quoted: str) -> str:
    head, *rest = quoted.split("%")
    return head + "".join("%" + p[:2].lower() + p[2:] for p in rest)


def _base64_forms(raw: bytes) -> set[str]:
    """Whole base64 (both alphabets, padded or not) and, at each alignment, the digits
    that carry only ``raw``'s bits: those appear inside any longer blob holding it."""
    forms: set[str] = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        start, end = -(-8 * pad // 6), 8 * (pad + len(raw)) // 6
        forms.add(encoded[start:end])
        if pad == 0:
            forms.update({encoded, encoded.rstrip("=")})
    return forms | {f.replace("+", "-").replace("/", "_") for f in forms}


def forms_of(value: str) -> set[str]:
    """Every form README promises to mask, except hex (searched case-insensitively)."""
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    for quote in (urllib.parse.quote, urllib.parse.quote_plus):
        for quoted in (quote(value, safe=""), quote(value)):
            forms.update({quoted, _lower_escapes(quoted)})
    forms |= _base64_forms(value.encode())
    # Python reprs (a reply quoted in an error message or a bytes value), also in JSON.
    reprs = {repr(value)[1:-1], ascii(value)[1:-1], repr(value.encode())[2:-1]}
    forms |= reprs | {json.dumps(r)[1:-1] for r in reprs}
    # Nagios output: "|" (it starts perfdata) and control characters become spaces.
    forms.add(" ".join(re.sub(r"[\x00-\x1f\x7f|]+", " ", value).split()))
    return {f for f in forms if len(f) >= MIN_FORM}


def derived_values(auth_lines: Iterable[str]) -> set[str]:
    """The secrets the exchange put on the wire: each base64 payload that is not the
    user name, what it decodes to, and the CRAM-MD5 digest."""
    user_line = base64.b64encode(USER.encode()).decode()
    values: set[str] = set()
    for line in auth_lines:
        parts = line.split()
        payload = (parts[2] if len(parts) > 2 else "") if line.upper().startswith("AUTH") else line
        if not payload or payload == user_line:
            continue
        decoded = base64.b64decode(payload).decode()
        values |= {payload, decoded}
        if decoded.startswith(f"{USER} "):  # CRAM-MD5: "user hexdigest" (RFC 2195)
            digest = decoded.split(" ", 1)[1]
            values |= {digest, digest.upper()}
    return values


def assert_no_leak(outputs: list[str], secret: str, auth_lines: list[str]) -> None:
    """No form of the secret, then no form of any derived secret, in any output."""
    text = "\n".join(outputs)
    folded = text.lower()

    def check(values: Iterable[str], what: str) -> None:
        # pytest.fail, not assert: the report names the form without printing the output.
        for value in values:
            for form in forms_of(value):
                if form in text:
                    pytest.fail(f"{what}: a form of {value[:3]!r}… leaked: {form[:6]!r}…")
            if value.encode().hex() in folded:
                pytest.fail(f"{what}: hex of {value[:3]!r}… leaked (in some letter case)")

    check([secret], "the password or token")
    # These need the driver to add every Line.secrets of the exchange to the redactor.
    check(sorted(derived_values(auth_lines)), "a derived secret (an AUTH line)")


# --------------------------------------------------------------------------- running


@pytest.fixture
def echo_server() -> Iterator[Any]:
    """A factory of started echo servers, all stopped when the test ends."""
    servers: list[EchoServer] = []

    def start(mechanism: str, **kw: Any) -> EchoServer:
        server = EchoServer(mechanisms=[mechanism], **kw)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


def target(server: EchoServer) -> list[str]:
    return [
        "--host", "127.0.0.1", "--port", str(server.port), "--security", str(server.security),
        "--ca-file", str(server.ca_file), "--no-egress-lookup", "--phase-timeout", "2",
        "--timeout", "10", "--user", USER,
    ]  # fmt: skip


def secret_args(mechanism: str) -> tuple[list[str], dict[str, str], str]:
    """Options, environment and the secret itself: a token for XOAUTH2, else a password."""
    if mechanism == "XOAUTH2":
        return ["--oauth-token-env", TOKEN_ENV], {TOKEN_ENV: TOKEN}, TOKEN
    return [], {"SMTPPROBE_PASSWORD": PASSWORD}, PASSWORD


def invoke(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    """Run the CLI in-process; return the exit code and stdout + stderr."""
    full_env: dict[str, str | None] = {
        "SMTPPROBE_PASSWORD": None,
        "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config",
        "LANG": "C.UTF-8",
        "LC_ALL": None,
        **env,
    }
    result = RUNNER.invoke(app, args, env=full_env, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout + result.stderr


OUTPUTS = [["--lang", "en"], ["--lang", "ja"], ["--json"]]


def assert_authenticated(server: EchoServer, mechanism: str) -> None:
    lines = server.auth_lines
    assert lines and lines[0].upper().startswith(f"AUTH {mechanism}"), "AUTH was never sent"
    assert len(lines) > 1 or mechanism == "PLAIN" or server.auth_ok


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize(
    ("auth_ok", "rcpt_ok", "expected"),
    [(False, True, 1), (True, False, 1)],
    ids=["echo-at-auth", "echo-at-mail-and-rcpt"],
)
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_check_every_output(
    echo_server: Any, mechanism: str, auth_ok: bool, rcpt_ok: bool, expected: int
) -> None:
    server = echo_server(mechanism, auth_ok=auth_ok, rcpt_ok=rcpt_ok)
    options, env, secret = secret_args(mechanism)
    outputs = []
    for output in OUTPUTS:
        code, out = invoke(["check", *target(server), *options, *output], env)
        assert code == expected, out
        outputs.append(out)
    assert_authenticated(server, mechanism)
    if rcpt_ok is False:
        assert any(line.upper().startswith("RCPT") for line in server.received)
    assert_no_leak(outputs, secret, server.auth_lines)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_every_password_source(echo_server: Any, mechanism: str) -> None:
    server = echo_server(mechanism)
    outputs = []
    code, out = invoke(
        ["check", *target(server), "--password-env", "MY_SMTP_PASSWORD", "--json"],
        {"MY_SMTP_PASSWORD": PASSWORD},
    )
    assert code == 1, out
    outputs.append(out)
    code, out = invoke(["check", *target(server), "--password-stdin"], {}, stdin=PASSWORD + "\n")
    assert code == 1, out
    outputs.append(out)
    # A usage error found after the password was read (--send without --to).
    code, out = invoke(["check", *target(server), "--send"], {"SMTPPROBE_PASSWORD": PASSWORD})
    assert code == 2 and "--to" in out, out
    outputs.append(out)
    assert_authenticated(server, mechanism)
    assert len([line for line in server.auth_lines if line.upper().startswith("AUTH")]) == 2
    assert_no_leak(outputs, PASSWORD, server.auth_lines)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_compare_two_routes(echo_server: Any, mechanism: str) -> None:
    server = echo_server(mechanism, auth_ok=True, rcpt_ok=False)
    options, env, secret = secret_args(mechanism)
    routes = ["--route", "direct", "--route", "source:127.0.0.2"]
    outputs = []
    for output in OUTPUTS:
        code, out = invoke(["compare", *target(server), *options, *routes, *output], env)
        assert code == 1, out
        outputs.append(out)
    assert_authenticated(server, mechanism)
    assert len([line for line in server.auth_lines if line.upper().startswith("AUTH")]) == 6
    assert_no_leak(outputs, secret, server.auth_lines)


@pytest.mark.parametrize(
    ("mechanism", "output"),
    [("PLAIN", "--json"), ("LOGIN", "--lang=ja"), ("CRAM-MD5", "--json"), ("XOAUTH2", "--lang=en")],
)
def test_installed_command(
    echo_server: Any, installed_cli: Any, mechanism: str, output: str
) -> None:
    """The same through the console script in a real process (stdout and stderr apart)."""
    server = echo_server(mechanism)
    options, env, secret = secret_args(mechanism)
    result = installed_cli.run("check", *target(server), *options, output, env=env)
    assert result.code == 1, result.both
    assert_authenticated(server, mechanism)
    assert_no_leak([result.out, result.err], secret, server.auth_lines)


# A quote of each kind, a backslash, "|" and non-ASCII: a repr escapes the first three and
# the last, Nagios output replaces "|" (masking must come before either).
HARD_PASSWORD = 'it\'s a \\ pipe | "x" パス'


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_quotes_backslash_and_pipe_in_every_output(echo_server: Any, mechanism: str) -> None:
    server = echo_server(mechanism)
    outputs = []
    for output in [*OUTPUTS, ["--format", "nagios"]]:
        code, out = invoke(
            ["check", *target(server), *output], {"SMTPPROBE_PASSWORD": HARD_PASSWORD}
        )
        assert code in (1, 2), out  # 2: Nagios CRITICAL
        outputs.append(out)
    assert_authenticated(server, mechanism)
    assert_no_leak(outputs, HARD_PASSWORD, server.auth_lines)


_PERFDATA = re.compile(
    r"^SMTP [A-Z]+ - .* \| time=[0-9.]+s;;;0( [a-z_]+=[0-9.]+s?(;[0-9:@~.]*){0,4})*$"
)


@pytest.mark.parametrize("password", [":", '"', "1", "0", "ok", "true"])
def test_a_short_password_never_breaks_json_or_perfdata(echo_server: Any, password: str) -> None:
    # A secret of 1-3 characters is masked only where it stands alone (README), and its
    # masking must leave machine output parseable: the data is masked, then serialised.
    server = echo_server("PLAIN")
    env: dict[str, str | None] = {
        "SMTPPROBE_PASSWORD": password,
        "SMTPPROBE_CONFIG_DIR": "/nonexistent",
    }
    result = RUNNER.invoke(app, ["check", *target(server), "--json"], env=env)
    document = json.loads(result.stdout)
    assert document["schema"] == "smtpprobe/check/v1"
    assert document["exit_code"] == result.exit_code == 1
    result = RUNNER.invoke(app, ["check", *target(server), "--format", "nagios"], env=env)
    first = result.stdout.splitlines()[0]
    assert _PERFDATA.match(first), first


def test_echo_server_really_echoes() -> None:
    """Guard against a vacuous pass: unredacted, the echo holds the forms searched for."""
    from smtpprobe.testing.echo import ALL_VARIANTS, echo_lines

    raw = PASSWORD.encode()
    blob = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    echoed = "\n".join(echo_lines(f"AUTH PLAIN {blob}", ALL_VARIANTS))
    quoted = urllib.parse.quote(PASSWORD, safe="")
    expected = [
        blob, PASSWORD, raw.hex(), raw.hex().upper(), blob.encode().hex().upper(), quoted,
        _lower_escapes(quoted), urllib.parse.quote_plus(PASSWORD, safe=""),
        ascii(PASSWORD)[1:-1], repr(raw)[2:-1],
        *(f for f in _base64_forms(raw) if "-" not in f and "_" not in f),  # all 3 alignments
    ]  # fmt: skip
    assert [form for form in expected if form not in echoed] == []
