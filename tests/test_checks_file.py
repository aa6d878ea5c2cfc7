"""The checks file's I/O (smtpprobe.checks): reading, validation, secrets, options, tags."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from smtpprobe.checks import (
    credential_tag,
    load_checks,
    options_for,
    read_secret,
)
from smtpprobe.core.checks import CheckDef, ChecksError, SecretRef
from smtpprobe.core.transcript import Security
from smtpprobe.loading import MAX_FILE_BYTES

SECRET = "Zq-distinctive-secret-81773"

GOOD = """\
defaults: {timeout: 30, phase_timeout: 10, interval: 300, egress_lookup: false}
checks:
  - name: ocn-main
    profile: ocn
    user: you@example.ocn.ne.jp
    password: {env: OCN_PASSWORD}
    labels: {team: mail}
  - name: relay
    host: 127.0.0.1
    port: 2525
    security: plain
    no_auth: true
    from: probe@example.jp
    expect: relay-denied
"""


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "checks.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_load_a_good_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    checks = load_checks(path)
    assert checks.names == ("ocn-main", "relay")
    main = checks.checks[0]
    assert main.source == str(path)
    assert (main.timeout, main.egress_lookup, main.labels) == (30.0, False, {"team": "mail"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("checks: [\n  - name: a\n  - {", ":2:3: malformed YAML"),
        (b"\xff\xfe", "not UTF-8 text"),
        ("checks:\n  - name: a\x07\n", ":2: 'name' holds a control character (U+0007)"),
        ("[" * 5000, "malformed YAML"),
        (GOOD.replace("profile: ocn", "profile: no-such-provider"), "check 'ocn-main': "),
        (GOOD.replace("from: probe@example.jp", "from: 'not an address'"),
         "check 'relay': key 'from': 'not an address'"),
        (GOOD.replace("port: 2525", "port: 2525\n    ca_file: /nonexistent/ca.pem"),
         "check 'relay': "),
        (GOOD.replace("expect: relay-denied", "expect: ''"),
         "check 'relay': key 'expect': is empty"),
    ],
    ids=["yaml", "encoding", "control", "deep", "profile", "address", "ca-file", "expect"],
)  # fmt: skip
def test_load_errors_name_the_file(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ChecksError) as caught:
        load_checks(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(ChecksError, match="no such file"):
        load_checks(tmp_path / "absent.yaml")
    with pytest.raises(ChecksError, match="is a folder"):
        load_checks(tmp_path)
    big = _write(tmp_path, b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ChecksError, match="over the 1 MB limit"):
        load_checks(big)


def _check(ref: SecretRef, **kw: object) -> CheckDef:
    return CheckDef(name="c1", host="127.0.0.1", user="u@example.jp", password=ref,
                    source="checks.yaml", **kw)  # type: ignore[arg-type]  # fmt: skip


# --------------------------------------------------------------------------- env


def test_env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("H1_TEST_PW", SECRET)
    ref = SecretRef("env", "H1_TEST_PW")
    assert read_secret(ref, _check(ref)) == SECRET
    monkeypatch.setenv("H1_TEST_PW", "")
    with pytest.raises(ChecksError, match=r"check 'c1': key 'password': .* is empty"):
        read_secret(ref, _check(ref))
    monkeypatch.delenv("H1_TEST_PW")
    with pytest.raises(ChecksError, match="environment variable H1_TEST_PW is not set"):
        read_secret(ref, _check(ref))


# --------------------------------------------------------------------------- keyring


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps its passwords in a dict."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_keyring_secret(memory_keyring: MemoryKeyring) -> None:
    keyring.set_password("smtp-ocn", "u@example.jp", SECRET)
    ref = SecretRef("keyring", "smtp-ocn", username="u@example.jp")
    assert read_secret(ref, _check(ref)) == SECRET
    missing = SecretRef("keyring", "smtp-other", username="u@example.jp")
    with pytest.raises(ChecksError, match="holds no password for service 'smtp-other'"):
        read_secret(missing, _check(missing))


def test_keyring_without_a_backend_says_what_to_use() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        ref = SecretRef("keyring", "smtp-ocn", username="u@example.jp")
        with pytest.raises(ChecksError) as caught:
            read_secret(ref, _check(ref))
    finally:
        keyring.set_keyring(previous)
    text = str(caught.value)
    assert "cannot be used here (NoKeyringError)" in text
    assert "{env: VAR} or {command: CMD}" in text
    assert "\n" not in text


# --------------------------------------------------------------------------- command


def test_command_secret_first_line_stripped() -> None:
    code = f"print('  {SECRET}  '); print('second line')"
    ref = SecretRef("command", "x", argv=(sys.executable, "-c", code))
    assert read_secret(ref, _check(ref)) == SECRET


def test_command_line_without_shell_syntax_runs_without_a_shell(tmp_path: Path) -> None:
    script = tmp_path / "pw"
    script.write_text(f"#!/bin/sh\necho {SECRET}\n", encoding="utf-8")
    script.chmod(0o700)
    # "$0" would be expanded by a shell; run as words, it is the argument itself.
    ref = SecretRef("command", f"{script} 'two words'")
    assert read_secret(ref, _check(ref)) == SECRET


def test_command_line_with_shell_syntax_runs_in_a_shell() -> None:
    ref = SecretRef("command", f"echo first-{SECRET} | tr - _ ; echo ignored")
    assert read_secret(ref, _check(ref)) == f"first_{SECRET.replace('-', '_')}"


def test_failing_command_says_its_status_never_its_error_output() -> None:
    code = f"import sys; sys.stderr.write('{SECRET}'); sys.exit(3)"
    ref = SecretRef("command", "x", argv=(sys.executable, "-c", code))
    with pytest.raises(ChecksError) as caught:
        read_secret(ref, _check(ref))
    assert "exited with status 3" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (SecretRef("command", "/nonexistent/pass show x"), "'/nonexistent/pass' not found"),
        (SecretRef("command", "echo"), "printed an empty first line"),
        (SecretRef("command", "pass 'unbalanced"), "No closing quotation"),
    ],
    ids=["not-found", "empty", "quoting"],
)
def test_command_errors(ref: SecretRef, message: str) -> None:
    with pytest.raises(ChecksError, match=message):
        read_secret(ref, _check(ref))


def test_command_that_hangs_is_killed_with_what_it_started() -> None:
    import smtpprobe.checks as checks

    ref = SecretRef("command", "sleep 30 | cat")  # a shell and two children
    with pytest.raises(ChecksError, match=r"did not finish within 0\.5 s"):
        checks._from_command(ref, "checks.yaml: check 'c1': key 'password'", timeout=0.5)


# --------------------------------------------------------------------------- options, tags


def test_options_for_maps_every_key() -> None:
    check = CheckDef(
        name="c1", profile="ocn", host="smtp.example.jp", port=465, security="implicit-tls",
        user="u@example.jp", sender="s@example.jp", recipient="r@example.net",
        password=SecretRef("env", "X"), ca_file="~/ca.pem", source_address="192.0.2.1",
        proxy="socks5h://127.0.0.1:1080", timeout=9, phase_timeout=3, expect=("ok",),
        ehlo="probe.example.jp", insecure=True, egress_lookup=False, allow_plaintext_auth=True,
    )  # fmt: skip
    options = options_for(check, SECRET)
    assert (options.profile, options.host, options.port) == ("ocn", "smtp.example.jp", 465)
    assert options.security == Security.IMPLICIT_TLS.value
    assert (options.user, options.password) == ("u@example.jp", SECRET)
    assert (options.sender, options.recipient) == ("s@example.jp", "r@example.net")
    assert options.ca_file == Path("~/ca.pem").expanduser()
    assert (options.timeout, options.phase_timeout, options.expect) == (9, 3, ("ok",))
    assert options.insecure and options.allow_plaintext_auth and not options.egress_lookup
    assert options.ehlo_name == "probe.example.jp"
    assert options.proxy == "socks5h://127.0.0.1:1080"
    assert SECRET not in repr(options)


def test_credential_tag_is_salted_scrypt() -> None:
    tag = credential_tag(SECRET, b"salt-one")
    expected = hashlib.scrypt(SECRET.encode(), salt=b"salt-one", n=2**14, r=8, p=1, dklen=32)
    assert tag == expected.hex() and SECRET not in tag
    assert tag != credential_tag(SECRET, b"salt-two")
    assert tag != credential_tag(SECRET + "x", b"salt-one")
    assert SECRET not in tag


def test_an_options_message_without_a_value_reads_as_its_key() -> None:
    from smtpprobe.checks import _as_key

    # "--proxy: …" became "key 'proxy':: …" (two colons).
    assert _as_key("--proxy: the URL names no host") == "key 'proxy': the URL names no host"
    assert _as_key("--from 'x': give a mail address") == "key 'from': 'x': give a mail address"
