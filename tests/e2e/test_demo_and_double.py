"""``smtpprobe demo``, ``smtpprobe double``, ``--help`` and the installed package.

The demo renders the session's one real run in process (``demo_once``); the whole
``smtpprobe demo`` runs for real in two processes in test_offline.py. Start-up time and
``python -m smtpprobe`` need a real process; so does ``smtpprobe double``, which serves
until a signal.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import smtpprobe
from smtpprobe.loading import builtin_profiles_dir, builtin_rules_file


def test_demo_runs_offline_and_shows_each_verdict(cli, demo_once) -> None:  # type: ignore[no-untyped-def]
    result = cli.run("demo", "--lang", "en")
    assert result.code == 0, result.both
    for category in (
        "ok",
        "auth-failed",
        "relay-denied",
        "client-ip-rejected",
        "tls-required",
        "wrong-security-mode",
        "sender-rejected",
        "auth-unavailable",
        "server-busy",
        "timeout",
    ):
        assert re.search(rf"\s{re.escape(category)}\s", result.out), category
    assert "(skipped)" not in result.out


def test_demo_in_japanese(cli, demo_once) -> None:  # type: ignore[no-untyped-def]
    result = cli.run("demo", env={"LANG": "ja_JP.UTF-8"})
    assert result.code == 0
    assert "デモ" in result.out


def test_double_command_serves_a_probe(cli) -> None:  # type: ignore[no-untyped-def]
    from smtpprobe.testing import DEFAULT_PASSWORD

    bin_path = Path(sys.executable).parent / "smtpprobe"
    proc = subprocess.Popen(
        # stopped by the test; --duration only bounds it, long enough for a loaded machine
        [str(bin_path), "double", "--scenario", "relay-denied-ocn", "--duration", "180"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: dict[str, str] = {}
        while "CA file" not in seen:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "double exited"
            key, _, value = line.partition(" ")
            seen["CA file" if line.startswith("CA file") else key] = value.strip()
        host, port = seen["listening"].split()[0].rsplit(":", 1)
        ca_file = seen["CA file"].removeprefix("file").strip()
        result = cli.run(
            "check",
            "ocn",
            "--host",
            host,
            "--port",
            port,
            "--ca-file",
            ca_file,
            "--user",
            "user@example.jp",
            "--json",
            env={"SMTPPROBE_PASSWORD": DEFAULT_PASSWORD},
        )
        assert result.code == 1, result.both
        assert result.json()["verdict"]["category"] == "relay-denied"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_double_lists_scenarios(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli.run("double", "--list")
    assert result.code == 0
    assert "geo-filter-sakura" in result.out and "relay-denied-ocn" in result.out


def test_help_is_fast(installed_cli) -> None:  # type: ignore[no-untyped-def]
    best = min(_timed(installed_cli) for _ in range(3))
    assert installed_cli.run("--help").code == 0
    # Generous bound: the README figure comes from bench/, this only catches regressions
    # such as importing aiosmtplib at start-up.
    assert best < 2.0


def _timed(cli) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    cli.run("--help")
    return time.perf_counter() - start


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smtpprobe", "--help"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0 and "check" in proc.stdout


@pytest.mark.skipif(not os.environ.get("SMTPPROBE_EXPECT_WHEEL"), reason="only in CI's wheel run")
def test_running_from_the_installed_wheel() -> None:
    package = Path(smtpprobe.__file__).resolve().parent
    assert "site-packages" in package.parts
    assert builtin_profiles_dir() == package / "profiles"
    assert (package / "profiles" / "ocn.yaml").is_file()
    assert builtin_rules_file().is_file()
