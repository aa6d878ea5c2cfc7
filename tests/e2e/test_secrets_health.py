"""Health checks leak no secret either: `run`, `history`, Nagios output, the exporter, the database.

The same echoing server and the same independently computed forms as
``test_secrets_echo.py`` (the password, its encodings, every derived AUTH secret), searched
for in everything the health-check commands print, in the history database's raw bytes,
in the `--on-change` hook's input and in every endpoint of a real `smtpprobe serve`.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from .test_secrets_echo import PASSWORD, USER, assert_no_leak, echo_server, invoke

__all__ = ["echo_server"]  # the fixture, imported for pytest

PASSWORD_ENV = "SMTPPROBE_TEST_HEALTH_PASSWORD"


def checks_file(tmp_path: Path, server: Any, name: str = "echoed", port: int | None = None) -> Path:
    path = tmp_path / "checks.yaml"
    path.write_text(
        "defaults: {timeout: 10, phase_timeout: 2, egress_lookup: false}\n"
        "checks:\n"
        f"  - name: {name}\n"
        "    host: 127.0.0.1\n"
        f"    port: {port or server.port}\n"
        f"    security: {server.security}\n"
        f"    user: {USER}\n"
        f"    password: {{env: {PASSWORD_ENV}}}\n"
        f"    ca_file: {server.ca_file}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
@pytest.mark.parametrize("auth_ok", [False, True], ids=["echo-at-auth", "echo-at-rcpt"])
def test_run_history_and_nagios(
    tmp_path: Path, echo_server: Any, mechanism: str, auth_ok: bool
) -> None:
    server = echo_server(mechanism, auth_ok=auth_ok, rcpt_ok=False)
    history = tmp_path / "history.sqlite3"
    hook_input = tmp_path / "hook-input"
    env = {PASSWORD_ENV: PASSWORD}
    outputs: list[str] = []
    store = ["--history", str(history)]
    # First a port where nothing listens (connect-refused), then the echo server: a state
    # change, so that the --on-change hook runs with the echoed reply in its input.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        unused = closed.getsockname()[1]
    checks = checks_file(tmp_path, server, port=unused)
    code, out = invoke(["run", str(checks), *store], env)
    assert code == 3, out
    code, out = invoke(["history", *store, "--reset", "echoed"], {})  # and its backoff
    assert code == 0, out
    checks = checks_file(tmp_path, server)
    for extra in (["--lang", "en"], ["--lang", "ja"], ["--json"]):
        code, out = invoke(
            ["run", str(checks), *store, "--confirm", "1",
             "--on-change", f"cat >> {hook_input}", *extra],
            env,
        )  # fmt: skip
        assert code == 1, out
        outputs.append(out)
    for extra in ([], ["--lang", "ja"], ["--json"]):
        code, out = invoke(["history", *store, *extra], {})
        assert code == 0, out
        outputs.append(out)
    target = [
        "--host", "127.0.0.1", "--port", str(server.port), "--security", str(server.security),
        "--ca-file", str(server.ca_file), "--no-egress-lookup", "--phase-timeout", "2",
        "--timeout", "10", "--user", USER, "--format", "nagios",
    ]  # fmt: skip
    code, out = invoke(["check", *target], {"SMTPPROBE_PASSWORD": PASSWORD})
    assert code == 2 and out.startswith("SMTP CRITICAL - "), out
    outputs.append(out)
    assert hook_input.exists(), "the --on-change hook never ran"
    outputs.append(hook_input.read_text(encoding="utf-8"))
    # The database's own bytes: texts are stored as UTF-8 (SQLite's default encoding).
    for path in tmp_path.glob("history.sqlite3*"):
        outputs.append(path.read_bytes().decode("utf-8", errors="replace"))
    assert server.auth_lines, "AUTH was never sent"
    assert_no_leak(outputs, PASSWORD, server.auth_lines)


def _get(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return f"{response.status} {response.read().decode('utf-8', errors='replace')}"
    finally:
        conn.close()


def test_exporter_endpoints(tmp_path: Path, echo_server: Any) -> None:
    server = echo_server("PLAIN", auth_ok=False)
    checks = checks_file(tmp_path, server)
    env = {**os.environ, PASSWORD_ENV: PASSWORD, "SMTPPROBE_CONFIG_DIR": str(tmp_path / "none")}
    serve = subprocess.Popen(
        [sys.executable, "-m", "smtpprobe", "serve", str(checks), "--listen", "127.0.0.1:0",
         "--history", str(tmp_path / "history.sqlite3")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stderr is not None
        line = serve.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert found, line
        port = int(found.group(1))
        answers = [
            _get(port, path)
            for path in ("/probe?target=echoed", "/probe?target=echoed", "/metrics", "/",
                         "/probe?target=nosuch", "/probe?target=" + urllib.parse.quote(PASSWORD))
        ]  # fmt: skip
        assert answers[0].startswith("200 ") and "probe_success 0.0" in answers[0], answers[0]
    finally:
        serve.terminate()
        out, err = serve.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while serve.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.auth_lines, "AUTH was never sent"
    assert_no_leak([*answers, out, err], PASSWORD, server.auth_lines)
