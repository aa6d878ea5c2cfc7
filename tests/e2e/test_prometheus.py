"""A real Prometheus server scrapes ``smtpprobe serve`` on loopback (issue 10, "Done when").

Debian's ``prometheus`` package (/usr/bin/prometheus; CI installs it with
``apt-get install -y --no-install-recommends prometheus``) runs with a temporary TSDB, on a
free loopback port, with blackbox_exporter's multi-target relabelling: the static targets
are check names, ``__param_target`` carries the name, and ``__address__`` is replaced by the
exporter's address. ``smtpprobe serve`` runs as the installed script. The test reads
``probe_success`` back through Prometheus's HTTP API: 1 for the ok check, 0 for the
auth-failed one. Everything it started is killed at teardown.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER
from smtpprobe.testing.pytest_plugin import DoubleFactory
from smtpprobe.testing.server import DoubleServer

from ..processes import environment

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
BIN = Path(sys.executable).parent / "smtpprobe"
ENV = "SMTPPROBE_E2E_PROMETHEUS_PASSWORD"
DEADLINE = 60.0  # seconds for Prometheus to start, scrape and answer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check(name: str, server: DoubleServer) -> str:
    return (
        f"  - name: {name}\n    host: {server.host}\n    port: {server.port}\n"
        f"    security: {server.security}\n    ca_file: {server.ca_file}\n"
        f"    user: {DEFAULT_USER}\n    password: {{env: {ENV}}}\n"
    )


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for proc in reversed(started):
            _stop(proc)


def _query(port: int, expr: str) -> dict[str, str]:
    """``{instance: value}`` of an instant query through Prometheus's HTTP API."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return {r["metric"].get("instance", ""): r["value"][1] for r in answer["data"]["result"]}


def test_prometheus_scrapes_probe_success(
    tmp_path: Path, smtp_double: DoubleFactory, processes: list[subprocess.Popen[str]]
) -> None:
    assert Path(PROMETHEUS).is_file(), (
        "Debian's prometheus is not installed: apt-get install -y --no-install-recommends "
        "prometheus"
    )
    good = smtp_double("ok", security="implicit-tls")
    bad = smtp_double("auth-failed", security="starttls")
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "defaults: {timeout: 10, phase_timeout: 3, interval: 1, egress_lookup: false}\n"
        "checks:\n" + _check("mail-ok", good) + _check("mail-bad", bad),
        encoding="utf-8",
    )
    exporter_port = _free_port()
    exporter = subprocess.Popen(
        [str(BIN), "serve", str(checks), "--listen", f"127.0.0.1:{exporter_port}",
         "--history", str(tmp_path / "history.sqlite3")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment(tmp_path, **{ENV: DEFAULT_PASSWORD}),
    )  # fmt: skip
    processes.append(exporter)
    assert exporter.stderr is not None
    announced = exporter.stderr.readline()
    assert f"listening on http://127.0.0.1:{exporter_port}/" in announced, announced

    prometheus_port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""\
global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: smtpprobe
    metrics_path: /probe
    params:
      module: [smtp]
    static_configs:
      - targets: [mail-ok, mail-bad]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:{exporter_port}
""",
        encoding="utf-8",
    )
    with (tmp_path / "prometheus.log").open("w", encoding="utf-8") as log:
        prometheus = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, text=True,
            cwd=tmp_path,
        )  # fmt: skip
    processes.append(prometheus)

    wanted = {"mail-ok": "1", "mail-bad": "0"}
    seen: dict[str, str] = {}
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        assert prometheus.poll() is None, (tmp_path / "prometheus.log").read_text()
        assert exporter.poll() is None, exporter.communicate()[1]
        try:
            seen = _query(prometheus_port, "probe_success")
        except OSError:
            seen = {}  # not listening yet
        if all(seen.get(name) == value for name, value in wanted.items()):
            break
        time.sleep(0.2)
    assert seen == wanted, (seen, (tmp_path / "prometheus.log").read_text())

    # What Prometheus stored came from real probes, with the verdict as an info metric.
    info = _query(prometheus_port, 'probe_smtp_info{category="auth-failed",code="535"}')
    assert set(info) == {"mail-bad"}
    assert _query(prometheus_port, "up") == {"mail-ok": "1", "mail-bad": "1"}
    # The exporter's own counters, through its /metrics.
    with urllib.request.urlopen(f"http://127.0.0.1:{exporter_port}/metrics", timeout=5) as r:
        own = r.read().decode()
    assert "smtpprobe_probes_total" in own and DEFAULT_PASSWORD not in own
