"""The checks file's I/O: read and validate it, fetch each check's secret, build its options.

``load_checks(path)`` reads the YAML under the same limits as profiles and rules
(``smtpprobe.loading.MAX_FILE_BYTES``, no control characters, the safe loader), validates
its shape (``smtpprobe.core.checks.parse_checks``) and then every check the way
``check`` validates its options (``smtpprobe.api.resolve``, with a placeholder for the
password that is never sent), so a bad profile name or address fails when the file is
loaded, naming the file and the check, not at 3 a.m. in the middle of a run.

``read_secret`` fetches a password where the file says it is:

- ``{env: VAR}``: the environment variable;
- ``{keyring: SERVICE}``: the OS keyring through the ``keyring`` library (user name:
  ``username:`` or the check's ``user``); a headless Linux machine often has no keyring
  backend, and then the error says to use ``env`` or ``command`` instead;
- ``{command: "pass show ocn"}``: the first line of the command's standard output,
  surrounding whitespace stripped. A line without shell syntax runs as its words
  (``shlex.split``, no shell, so nothing in it is interpreted); a line with shell syntax
  (``|``, ``$``, ``;``, redirections, globs: ``smtpprobe.core.checks.needs_shell``) runs
  through ``/bin/sh -c``; a list runs as those exact arguments. Standard input is
  empty, the time limit ``COMMAND_TIMEOUT`` seconds (then the command and anything it
  started is killed). A command that fails is reported by its exit status only: its
  error output is never shown, as it might hold the secret.

Errors are ``ChecksError`` lines that name the file, the check and where the secret
was looked for; never the secret.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from smtpprobe.core.checks import (
    CheckDef,
    ChecksError,
    ChecksFile,
    SecretRef,
    needs_shell,
    parse_checks,
)
from smtpprobe.loading import read_yaml

if TYPE_CHECKING:
    from smtpprobe.api import CheckOptions

__all__ = [
    "COMMAND_TIMEOUT",
    "credential_tag",
    "load_checks",
    "options_for",
    "read_secret",
    "validate_checks",
]

COMMAND_TIMEOUT = 10.0  # seconds for a password command (`pass` may ask gpg-agent)
_PLACEHOLDER = "placeholder-never-sent"  # lets resolve() validate a check without its secret
# `check`'s option names in smtpprobe.core.spec's messages, as the file's keys.
_OPTION_KEYS = {
    "--from": "from", "--to": "to", "--host": "host", "--port": "port",
    "--security": "security", "--user": "user", "--ehlo": "ehlo", "--proxy": "proxy",
    "--source-address": "source_address", "--timeout": "timeout",
    "--phase-timeout": "phase_timeout", "--expect": "expect", "--ca-file": "ca_file",
}  # fmt: skip


def load_checks(path: Path | str, *, validate: bool = True) -> ChecksFile:
    """Read, parse and (``validate``) check every check of the file. Raises ChecksError."""
    path = Path(path)
    try:
        checks = parse_checks(read_yaml(path, ChecksError, "checks file"), source=str(path))
    except RecursionError:
        raise ChecksError(f"{path}: a value is nested too deeply") from None
    if validate:
        validate_checks(checks)
    return checks


def validate_checks(checks: ChecksFile) -> None:
    """Validate each check as ``check`` would its options; no secret is read or sent."""
    from smtpprobe.api import resolve
    from smtpprobe.errors import SmtpprobeError
    from smtpprobe.loading import load_profiles

    profiles = load_profiles()  # once for the file, not once a check
    for check in checks.checks:
        try:
            options = options_for(check, None if check.no_auth else _PLACEHOLDER)
            resolve(options, profiles=profiles)
        except SmtpprobeError as exc:
            raise ChecksError(f"{check.where()}: {_as_key(str(exc))}") from None


# Flags named inside a message ("… or pass --allow-plaintext-auth"), as the file says them.
_FLAG_KEYS = {
    "--allow-plaintext-auth": "allow_plaintext_auth: true", "--no-auth": "no_auth: true",
    "--insecure": "insecure: true", "--security": "security:",
}  # fmt: skip
_FLAG = re.compile("|".join(re.escape(flag) for flag in _FLAG_KEYS) + r"(?![\w-])")


def _as_key(message: str) -> str:
    """``--from 'x': …`` (spec's words for `check`) as ``key 'from': 'x': …``; a flag the
    message names further on as the file's key (``allow_plaintext_auth: true``)."""
    option = message.split(" ", 1)[0].rstrip(":")
    key = _OPTION_KEYS.get(option)
    if key is not None:
        rest = message[len(option) :]  # " 'x': …" after a value, ": …" without one
        message = f"key '{key}'{rest if rest.startswith(':') else ':' + rest}"
    return _FLAG.sub(lambda m: _FLAG_KEYS[m[0]], message)


def read_secret(ref: SecretRef, check: CheckDef) -> str:
    """The password ``ref`` points at. Raises ChecksError (never holding the secret)."""
    where = check.where("password")
    if ref.kind == "env":
        value = os.environ.get(ref.value)
        if value is None:
            raise ChecksError(f"{where}: environment variable {ref.value} is not set")
        if not value:
            raise ChecksError(f"{where}: environment variable {ref.value} is empty")
        return value
    if ref.kind == "keyring":
        return _from_keyring(ref, check, where)
    return _from_command(ref, where)


def _from_keyring(ref: SecretRef, check: CheckDef, where: str) -> str:
    username = ref.username or check.user or ""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - a dependency, but packagers may drop it
        raise ChecksError(
            f"{where}: the keyring library is not installed; use {{env: VAR}} or "
            "{command: CMD} instead"
        ) from None
    try:
        value = keyring.get_password(ref.value, username)
    except KeyringError as exc:
        # NoKeyringError on a headless machine; the exception's text is the backend's
        # and is not shown (only its kind), whatever it holds.
        raise ChecksError(
            f"{where}: the OS keyring cannot be used here ({type(exc).__name__}); use "
            "{env: VAR} or {command: CMD} instead"
        ) from None
    if value is None:
        raise ChecksError(
            f"{where}: the keyring holds no password for service {ref.value!r}, user "
            f"{username!r} (add it with: keyring set {shlex.quote(ref.value)} "
            f"{shlex.quote(username)})"
        )
    if not value:
        raise ChecksError(f"{where}: the keyring's password for {ref.value!r} is empty")
    return value


def _argv(ref: SecretRef, where: str) -> list[str]:
    if ref.argv:
        return list(ref.argv)
    if needs_shell(ref.value):
        return ["/bin/sh", "-c", ref.value]
    try:
        words = shlex.split(ref.value)
    except ValueError as exc:
        raise ChecksError(f"{where}: command {ref.value!r}: {exc}") from None
    if not words:
        raise ChecksError(f"{where}: the command is empty")
    return words


def _from_command(ref: SecretRef, where: str, timeout: float = COMMAND_TIMEOUT) -> str:
    argv = _argv(ref, where)
    label = f"command {ref.value!r}"
    try:
        # Its own session, so that a timeout kills what it started too (a shell's
        # children keep the pipe open, and communicate() would wait for them).
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ChecksError(f"{where}: {label}: {argv[0]!r} not found") from None
    except OSError as exc:
        raise ChecksError(f"{where}: {label}: cannot run it ({exc.strerror or exc})") from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise ChecksError(f"{where}: {label} did not finish within {timeout:g} s") from None
    if proc.returncode != 0:
        status = (
            f"was killed by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"exited with status {proc.returncode}"
        )
        raise ChecksError(
            f"{where}: {label} {status} (its error output is not shown: it may hold a secret)"
        )
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise ChecksError(f"{where}: {label} printed something that is not UTF-8") from None
    lines = text.splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        raise ChecksError(f"{where}: {label} printed an empty first line")
    return value


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def options_for(check: CheckDef, password: str | None) -> CheckOptions:
    """The ``CheckOptions`` of one check (``password``: the secret ``read_secret`` found)."""
    from smtpprobe.api import CheckOptions

    return CheckOptions(
        profile=check.profile,
        host=check.host,
        port=check.port,
        security=check.security,
        user=check.user,
        password=None if check.no_auth else password,
        sender=check.sender,
        recipient=check.recipient,
        no_auth=check.no_auth,
        timeout=check.timeout,
        phase_timeout=check.phase_timeout,
        ca_file=Path(check.ca_file).expanduser() if check.ca_file else None,
        insecure=check.insecure,
        source_address=check.source_address,
        ehlo_name=check.ehlo,
        allow_plaintext_auth=check.allow_plaintext_auth,
        proxy=check.proxy,
        egress_lookup=check.egress_lookup,
        route=None,
        expect=check.expect,
    )


def credential_tag(secret: str, salt: bytes) -> str:
    """A slow salted hash of the secret (scrypt, RFC 7914), as hex.

    It tells "the same credential as last time" from "a new one" without keeping the
    secret. The salt lives in the history database beside the tags, so the hash must be
    slow: scrypt's memory-hard cost (N=2**14, r=8: 16 MB, tens of milliseconds) makes
    testing guesses against a stolen database expensive; the runner computes it only
    when it decides something (a lockout to compare with, or an auth-failed to keep).
    """
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return digest.hex()
