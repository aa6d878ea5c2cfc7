"""End-to-end fixtures: run the installed ``smtpprobe`` console script as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

BIN = Path(sys.executable).parent / "smtpprobe"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)

    @property
    def both(self) -> str:
        return self.out + self.err


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> Result:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMTPPROBE_")}
    full_env.update({"LANG": "C.UTF-8", "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config"})
    full_env.pop("LC_ALL", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [str(BIN), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def probe(
    server: Any,
    *args: str,
    password: str = DEFAULT_PASSWORD,
    user: str = DEFAULT_USER,
    security: str | None = None,
    json_out: bool = True,
    **kw: Any,
) -> Result:
    """``smtpprobe check`` against a running double, trusting its CA."""
    argv = [
        "check",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--security",
        security or server.security,
        "--ca-file",
        str(server.ca_file),
        "--phase-timeout",
        "2",
        "--timeout",
        "10",
    ]
    if user:
        argv += ["--user", user]
    if json_out:
        argv.append("--json")
    env = {"SMTPPROBE_PASSWORD": password} if password else {}
    env.update(kw.pop("env", {}))
    return run(*argv, *args, env=env, **kw)


class CLI:
    """The ``cli`` fixture: ``cli.run(...)`` and ``cli.probe(server, ...)``."""

    run = staticmethod(run)
    probe = staticmethod(probe)


@pytest.fixture
def cli() -> CLI:
    return CLI()
