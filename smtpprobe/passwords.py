"""Where the command line finds a password or token: never on the command line itself.

In order: ``--password-env NAME``, ``--password-stdin``, the chosen profile's
``password_env``, ``SMTPPROBE_PASSWORD``, then a hidden prompt when standard input
and standard error are a terminal. An empty value is a usage error naming where it
came from, never an attempt: AUTH with an empty password only counts as a failed
login (and can lock the account). Every secret found is appended to the caller's
``secrets`` list, which scrubs error messages.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from smtpprobe.errors import ConfigError

if TYPE_CHECKING:
    from smtpprobe.core.profile import Profile
    from smtpprobe.core.spec import PasswordSource

__all__ = ["ENV_PASSWORD", "lookup_password", "password_source", "read_secret", "read_token"]

ENV_PASSWORD = "SMTPPROBE_PASSWORD"
_PROMPT = {"en": "Password for {}: ", "ja": "{} のパスワード: "}


def read_secret(env_name: str | None, from_stdin: bool) -> str | None:
    """The password from ``--password-env`` or ``--password-stdin``; never an empty one."""
    if env_name is not None and not env_name.strip():
        raise ConfigError("--password-env '': give the name of the environment variable")
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise ConfigError(f"--password-env {env_name}: that environment variable is not set")
        if not value:
            raise ConfigError(
                f"--password-env {env_name}: that environment variable is empty; "
                "set it to the password"
            )
        return value
    if from_stdin:
        if sys.stdin is None:  # started with standard input closed
            raise ConfigError(
                "--password-stdin: standard input is closed; pipe the password into smtpprobe"
            )
        try:
            line = sys.stdin.readline()
        except UnicodeDecodeError:
            raise ConfigError(
                "--password-stdin: the first line is not UTF-8 text; give the password in UTF-8"
            ) from None
        if not line:
            raise ConfigError("--password-stdin: standard input was empty")
        password = line.rstrip("\r\n")
        if not password:
            raise ConfigError(
                "--password-stdin: the first line of standard input is empty; "
                "put the password on it"
            )
        return password
    return None


def lookup_password(
    password_env: str | None,
    password_stdin: bool,
    profile: Profile | None,
    user: str | None,
    lang: str = "en",
) -> str | None:
    """The password from the options, the environment or a hidden prompt; never empty."""
    if password_env and password_stdin:
        raise ConfigError("use only one of --password-env and --password-stdin")
    password = read_secret(password_env, password_stdin)
    if password is not None:
        return password
    candidates = [(ENV_PASSWORD, "")]
    if profile is not None and profile.password_env:
        # The chosen profile (built in, the user's, or --profile FILE) may name its own.
        source = f" (the password_env of profile {profile.name})"
        candidates.insert(0, (str(profile.password_env), source))
    for name, source in candidates:
        value = os.environ.get(name)
        if value is not None:
            if not value:
                raise ConfigError(
                    f"{name}{source} is set but empty; set it to the password or unset it"
                )
            return value
    stdin, stderr = sys.stdin, sys.stderr  # None where the process started with one closed
    if stdin is not None and stderr is not None and stdin.isatty() and stderr.isatty():
        import getpass

        prompt = _PROMPT["ja" if lang == "ja" else "en"].format(user)
        tries = 3  # an empty answer is asked again: an empty password is never sent
        for _ in range(tries):
            try:
                answer = getpass.getpass(prompt, stream=sys.stderr)
            except EOFError:  # Ctrl-D: the user gave up
                raise ConfigError("no password entered (end of input at the prompt)") from None
            except UnicodeDecodeError:
                raise ConfigError(
                    "the password typed at the prompt is not UTF-8 text; set the terminal to UTF-8"
                ) from None
            if answer:
                return answer
        raise ConfigError(f"no password entered ({tries} empty answers at the prompt)")
    return None


def read_token(env_name: str | None, secrets: list[str]) -> str | None:
    """The XOAUTH2 token from ``--oauth-token-env NAME`` (added to ``secrets``)."""
    if not env_name:
        return None
    token = os.environ.get(env_name)
    if token is None:
        raise ConfigError(f"--oauth-token-env {env_name}: that environment variable is not set")
    secrets.append(token)
    return token


def password_source(
    password_env: str | None,
    password_stdin: bool,
    user: str | None,
    secrets: list[str],
    lang: str = "en",
) -> PasswordSource:
    """A ``PasswordSource`` for ``smtpprobe.api``: asked once the profile is chosen."""

    def source(chosen: Profile | None) -> str | None:
        password = lookup_password(password_env, password_stdin, chosen, user, lang)
        if password:
            secrets.append(password)
        return password

    return source
