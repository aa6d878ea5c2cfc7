"""The Prometheus exporter (smtpprobe.exporter): real probes of the double on loopback, the
answers parsed with prometheus_client's own parser, over the exporter's real HTTP server.

Probes go through ``smtpprobe.cli_serve.make_exporter`` (``runner.run_check`` with a real
history in tmp_path) where the runner's behaviour is the subject (lockout); the HTTP and
caching rules are tested with a probe function injected into ``Exporter``, as the
exporter's interface allows, so each test controls exactly what a probe returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.client
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from smtpprobe.api import probe as api_probe
from smtpprobe.checks import load_checks, options_for, read_secret
from smtpprobe.core.checks import CheckDef, ChecksFile
from smtpprobe.errors import ConfigError
from smtpprobe.exporter import (
    Exporter,
    Snapshot,
    build_registry,
    parse_listen,
    start_http,
    with_budget,
)
from smtpprobe.report import Report
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER
from smtpprobe.testing.pytest_plugin import DoubleFactory
from smtpprobe.testing.server import DoubleServer

ENV = "SMTPPROBE_EXPORTER_TEST_PASSWORD"
DISTINCTIVE = "Xq7-distinctive-exporter-secret-4Rb9"  # must appear in no answer


# --------------------------------------------------------------------------- helpers


def check_entry(name: str, server: DoubleServer, *, security: str | None = None) -> str:
    return (
        f"  - name: {name}\n"
        f"    host: {server.host}\n"
        f"    port: {server.port}\n"
        f"    security: {security or server.security}\n"
        f"    ca_file: {server.ca_file}\n"
        f"    user: {DEFAULT_USER}\n"
        f"    password: {{env: {ENV}}}\n"
    )


def write_checks(tmp_path: Path, *entries: str, interval: float = 60, timeout: float = 10) -> Path:
    path = tmp_path / "checks.yaml"
    path.write_text(
        f"defaults: {{timeout: {timeout}, phase_timeout: 3, interval: {interval}, "
        "egress_lookup: false}\nchecks:\n" + "".join(entries),
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True, slots=True)
class Result:
    """The fields of runner.CheckResult the exporter reads, for an injected probe."""

    report: Report | None
    error: str | None = None
    skipped: str | None = None
    started_at: str = ""
    duration: float = 0.0
    exit_code: int = 2
    category: str = "config-error"


async def api_result(check: CheckDef, budget: float) -> Result:
    """One real probe of ``check`` through smtpprobe.api (no runner, no history)."""
    check = with_budget(check, budget)
    secret = read_secret(check.password, check) if check.password is not None else None
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = await api_probe(options_for(check, secret))
    return Result(
        report, None, None, started_at, time.monotonic() - started, report.exit_code,
        report.verdict.category,
    )  # fmt: skip


class Served:
    """An exporter behind its real HTTP server, in an event loop on its own thread."""

    def __init__(self, build: Callable[[], Exporter[Any]], **http: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> asyncio.Server:
            self.exporter = build()
            return await start_http(self.exporter.handle, "127.0.0.1", 0, **http)

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.port = int(self.server.sockets[0].getsockname()[1])

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8")
        finally:
            conn.close()

    def metrics(self, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        status, body = self.get(path, headers)
        assert status == 200, body
        return samples(body)

    def stop(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def samples(text: str) -> dict[str, Any]:
    """``{name: value}`` or ``{name: {labels-tuple: value}}`` for labelled samples."""
    out: dict[str, Any] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels:
                key = tuple(sorted(sample.labels.items()))
                out.setdefault(sample.name, {})[key] = sample.value
            else:
                out[sample.name] = sample.value
    return out


def labels_of(found: dict[str, Any], name: str) -> dict[str, str]:
    (key,) = found[name]
    return dict(key)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(build: Callable[[], Exporter[Any]], **http: Any) -> Served:
        served = Served(build, **http)
        started.append(served)
        return served

    try:
        yield start
    finally:
        for served in started:
            served.stop()


def exporter_over(
    checks: ChecksFile,
    probe: Callable[[CheckDef, float], Awaitable[Any]] = api_result,
    **kw: Any,
) -> Callable[[], Exporter[CheckDef]]:
    return lambda: Exporter(checks.get, probe, **kw)


def connections(server: DoubleServer) -> int:
    """Probes the double saw: each one ends with QUIT (never a drop after STARTTLS or AUTH)."""
    return sum(1 for line in server.received if line.upper().startswith("QUIT"))


# --------------------------------------------------------------------------- metrics


def test_ok_probe_metrics(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    server = smtp_double("ok", security="implicit-tls")
    checks = load_checks(write_checks(tmp_path, check_entry("mail-ok", server)))
    served = serve(exporter_over(checks))
    found = served.metrics("/probe?target=mail-ok&module=smtp")
    assert found["probe_success"] == 1
    assert 0 < found["probe_duration_seconds"] < 10
    assert found["probe_smtp_exit_code"] == 0
    info = labels_of(found, "probe_smtp_info")
    assert (info["category"], info["code"], info["stage"]) == ("ok", "250", "")
    phases = {dict(k)["phase"] for k in found["probe_phase_duration_seconds"]}
    assert {"connect", "ehlo", "auth", "mail", "rcpt"} <= phases
    assert labels_of(found, "probe_tls_version_info")["version"].startswith("TLS")
    assert found["probe_ssl_earliest_cert_expiry"] > time.time()
    fingerprint = labels_of(found, "probe_ssl_last_chain_info")["fingerprint_sha256"]
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0
    assert 0 <= found["probe_result_age_seconds"] < 60
    assert "probe_skipped" not in found


def test_auth_failed_probe_metrics(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV, DISTINCTIVE)
    server = smtp_double("auth-failed", security="starttls")
    checks = load_checks(write_checks(tmp_path, check_entry("mail-bad", server)))
    served = serve(exporter_over(checks))
    found = served.metrics("/probe?target=mail-bad")
    assert found["probe_success"] == 0
    info = labels_of(found, "probe_smtp_info")
    assert (info["category"], info["code"], info["stage"]) == ("auth-failed", "535", "auth")
    assert found["probe_smtp_exit_code"] == 1


def test_openmetrics_when_prometheus_asks_for_it(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om

    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    server = smtp_double("ok", security="implicit-tls")
    checks = load_checks(write_checks(tmp_path, check_entry("mail-ok", server)))
    served = serve(exporter_over(checks))
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    status, body = served.get("/probe?target=mail-ok", {"Accept": accept})
    assert status == 200 and body.endswith("# EOF\n")
    names = {family.name for family in om(body)}  # type: ignore[no-untyped-call]
    assert {"probe_success", "probe_smtp", "probe_tls_version"} <= names


def test_build_registry_without_a_result_says_why() -> None:
    from prometheus_client import generate_latest

    found = samples(generate_latest(build_registry(None, skipped="lockout")).decode())
    assert found["probe_success"] == 0
    assert found["probe_skipped"] == {(("reason", "lockout"),): 1}


def test_snapshot_from_a_history_row() -> None:
    @dataclass
    class Row:
        at: str = "2026-01-30T10:02:00Z"
        category: str = "client-ip-rejected"
        stage: str | None = "mail"
        exit_code: int = 1
        reply: str | None = "550 5.7.1 <me@example.jp>: Sender address rejected"
        phase_ms: Mapping[str, float] = field(default_factory=dict)
        tls_version: str | None = "TLSv1.3"
        cert_not_after: str | None = "2027-01-01T00:00:00Z"
        skipped: str | None = None
        duration_ms: float | None = None
        cert_fingerprint: str | None = "ab" * 32
        rule: str | None = "sakura-foreign-ip"

    snap = Snapshot.from_row(Row(phase_ms={"connect": 12.0, "mail": 30.0}))
    assert (snap.code, snap.enhanced, snap.success) == ("550", "5.7.1", False)
    assert snap.rule == "sakura-foreign-ip"
    assert Snapshot.from_row(Row(rule=None)).rule == ""  # a schema 1 row
    assert (snap.category, snap.stage) == ("client-ip-rejected", "mail")
    assert snap.phases == {"connect": 0.012, "mail": 0.03}
    assert snap.cert_expiry == dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()


# --------------------------------------------------------------------------- HTTP


def test_unknown_target_and_other_paths(tmp_path: Path, serve: Callable[..., Served],
                                        smtp_double: DoubleFactory) -> None:  # fmt: skip
    server = smtp_double("ok")
    checks = load_checks(write_checks(tmp_path, check_entry("mail-ok", server)))
    served = serve(exporter_over(checks))
    status, body = served.get("/probe?target=smtp.example.jp")
    assert status == 404
    assert body.count("\n") == 1 and "smtp.example.jp" not in body
    assert served.get("/probe")[0] == 400
    assert served.get("/probe?target=a&target=b")[0] == 400
    assert served.get("/checks.yaml")[0] == 404
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    conn.request("POST", "/probe?target=mail-ok", body=b"x")
    assert conn.getresponse().status == 405
    conn.close()
    assert connections(server) == 0  # nothing was probed


def test_request_head_size_and_time_are_bounded(serve: Callable[..., Served]) -> None:
    checks = ChecksFile("none.yaml", ())
    served = serve(exporter_over(checks), max_request_bytes=1024, header_timeout=1.0)
    assert served.get("/metrics", {"X-Padding": "a" * 4000})[0] == 431
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # and never the blank line
        started = time.monotonic()
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started < 8  # a generous bound on a 1 s limit


def test_connections_are_bounded(serve: Callable[..., Served]) -> None:
    checks = ChecksFile("none.yaml", ())
    served = serve(exporter_over(checks), max_connections=1, header_timeout=10.0)
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as idle:
        idle.sendall(b"GET /metrics HTTP/1.1\r\n")  # holds the only slot
        time.sleep(0.2)
        status, _ = served.get("/metrics")
        assert status == 503
    deadline = time.monotonic() + 10
    while served.get("/metrics")[0] != 200:  # the slot comes back when the idle one goes
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_scrape_timeout_header_sets_the_probe_budget(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    server = smtp_double("hang-after-connect")
    checks = load_checks(write_checks(tmp_path, check_entry("hangs", server), timeout=30))
    budgets: list[float] = []

    async def probe(check: CheckDef, budget: float) -> Result:
        budgets.append(budget)
        return await api_result(check, budget)

    served = serve(exporter_over(checks, probe))
    started = time.monotonic()
    found = served.metrics("/probe?target=hangs", {"X-Prometheus-Scrape-Timeout-Seconds": "3"})
    elapsed = time.monotonic() - started
    # 3 s minus blackbox_exporter's 0.5 s offset (less what the queue took), not timeout 30
    assert len(budgets) == 1 and 2.0 < budgets[0] <= 2.5
    assert found["probe_success"] == 0
    assert elapsed < 10  # generous: the probe had 2.5 s, not its own 30
    status, body = served.get(
        "/probe?target=hangs", {"X-Prometheus-Scrape-Timeout-Seconds": "soon"}
    )
    assert status == 400 and body.count("\n") == 1


def test_budget_rules() -> None:
    @dataclass(frozen=True)
    class Check:
        name: str = "c"
        server_key: str = "h"
        interval: float = 60
        timeout: float = 30

    exporter: Exporter[Check] = Exporter(lambda _: None, api_result)  # type: ignore[arg-type]
    assert exporter.budget(Check(), None) == 30  # no header: the check's own timeout
    assert exporter.budget(Check(), "10") == 9.5
    assert exporter.budget(Check(), "100") == 30
    for bad in ("x", "-1", "0", "nan", "inf"):
        with pytest.raises(ValueError):
            exporter.budget(Check(), bad)


# --------------------------------------------------------------------------- secrets


def test_no_secret_and_no_checks_file_on_any_endpoint(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV, DISTINCTIVE)
    bad = smtp_double("auth-failed", security="starttls")
    path = write_checks(tmp_path, check_entry("mail-bad", bad))
    checks = load_checks(path)
    served = serve(exporter_over(checks))
    bodies = [
        served.get(p)[1]
        for p in (
            "/probe?target=mail-bad", "/probe?target=mail-bad", "/", "/metrics",
            f"/probe?target={DISTINCTIVE}", "/checks.yaml", f"/{path.name}", str(path),
        )
    ]  # fmt: skip
    assert any("auth-failed" in body for body in bodies)  # the probe really ran
    assert any("AUTH" in line for line in bad.received)
    everything = "\n".join(bodies)
    assert DISTINCTIVE not in everything
    assert ENV not in everything  # nor where the secret lives
    assert str(bad.ca_file) not in everything and str(tmp_path) not in everything


# --------------------------------------------------------------------------- caching


def test_a_faster_scrape_gets_the_last_result(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    server = smtp_double("ok", security="implicit-tls")
    checks = load_checks(write_checks(tmp_path, check_entry("mail-ok", server), interval=3600))
    served = serve(exporter_over(checks))
    first = served.metrics("/probe?target=mail-ok")
    second = served.metrics("/probe?target=mail-ok")
    assert connections(server) == 1
    assert first["probe_success"] == second["probe_success"] == 1
    assert second["probe_skipped"] == {(("reason", "min-interval"),): 1}
    own = served.metrics("/metrics")
    assert own["smtpprobe_probes_total"] == 1
    assert own["smtpprobe_probes_cached_total"] == 1


def test_per_host_minimum_interval_across_checks(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    server = smtp_double("ok", security="implicit-tls")
    path = write_checks(
        tmp_path, check_entry("a", server), check_entry("b", server), check_entry("c", server),
        interval=0.01,
    )  # fmt: skip
    served = serve(exporter_over(load_checks(path), min_interval=3600))
    assert served.metrics("/probe?target=a")["probe_success"] == 1
    time.sleep(0.05)  # past a's own interval, not the host's
    again = served.metrics("/probe?target=a")
    assert again["probe_skipped"] == {(("reason", "min-interval"),): 1}
    assert again["probe_success"] == 1  # the last result, not a failure
    # b has no result yet and cannot wait an hour within the scrape: it says so.
    fresh = served.metrics("/probe?target=b", {"X-Prometheus-Scrape-Timeout-Seconds": "5"})
    assert fresh["probe_success"] == 0
    assert fresh["probe_skipped"] == {(("reason", "min-interval"),): 1}
    assert connections(server) == 1


def test_a_short_host_interval_is_waited_out_when_there_is_no_result(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    server = smtp_double("ok", security="implicit-tls")
    path = write_checks(tmp_path, check_entry("a", server), check_entry("b", server))
    starts: list[float] = []

    async def probe(check: CheckDef, budget: float) -> Result:
        starts.append(time.monotonic())
        return await api_result(check, budget)

    served = serve(exporter_over(load_checks(path), probe, min_interval=1.0))
    assert served.metrics("/probe?target=a")["probe_success"] == 1
    found = served.metrics("/probe?target=b")
    assert found["probe_success"] == 1 and "probe_skipped" not in found
    assert starts[1] - starts[0] >= 1.0  # the host's interval held
    assert connections(server) == 2


def held_until(
    gate: threading.Event, most: float
) -> Callable[[CheckDef, float], Awaitable[Result]]:
    """A real probe that starts only when ``gate`` is set (or after ``most`` seconds)."""

    async def held(check: CheckDef, budget: float) -> Result:
        await asyncio.get_running_loop().run_in_executor(None, gate.wait, most)
        return await api_result(check, budget)

    return held


def test_concurrent_scrapes_of_one_check_share_one_probe(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    server = smtp_double("ok", security="implicit-tls")
    path = write_checks(tmp_path, check_entry("a", server), interval=0.01)
    gate = threading.Event()
    served = serve(exporter_over(load_checks(path), held_until(gate, 10)))
    answers: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: answers.append(served.metrics("/probe?target=a")))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    gate.set()
    for thread in threads:
        thread.join(30)
    assert [a["probe_success"] for a in answers] == [1, 1, 1]
    assert connections(server) == 1


def test_a_scrape_joining_a_longer_probe_answers_before_its_own_timeout(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served]
) -> None:
    # Two Prometheus replicas: one scrape without a timeout header starts a 3 s probe, one
    # with a 1.2 s timeout joins it. It was answered at budget (0.7) + 1.0 = 1.7 s: after
    # Prometheus had given up. It must answer, "in-progress", before 1.2 s.
    server = smtp_double("ok", security="starttls")
    path = write_checks(tmp_path, check_entry("a", server), interval=0.01)
    gate = threading.Event()
    served = serve(exporter_over(load_checks(path), held_until(gate, 3)))
    first = threading.Thread(target=lambda: served.get("/probe?target=a"))
    first.start()
    time.sleep(0.1)
    started = time.monotonic()
    status, body = served.get(
        "/probe?target=a", headers={"X-Prometheus-Scrape-Timeout-Seconds": "1.2"}
    )
    took = time.monotonic() - started
    gate.set()
    first.join(30)
    assert status == 200 and 'probe_skipped{reason="in-progress"}' in body
    assert took < 1.2, took


# --------------------------------------------------------------------------- lockout


def test_lockout_is_answered_from_the_last_result(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The runner's lockout as it reports it (``skipped``); the real one: test_serve_lockout."""
    monkeypatch.setenv(ENV, DISTINCTIVE)
    server = smtp_double("auth-failed", security="starttls")
    path = write_checks(tmp_path, check_entry("bad", server), interval=0.01)
    calls = 0

    async def probe(check: CheckDef, budget: float) -> Result:
        nonlocal calls
        calls += 1
        if calls == 1:
            return await api_result(check, budget)
        return Result(None, skipped="lockout: auth-failed with this credential since 2026-01-30")

    served = serve(exporter_over(load_checks(path), probe))
    assert served.metrics("/probe?target=bad")["probe_success"] == 0
    time.sleep(0.05)
    found = served.metrics("/probe?target=bad")
    assert found["probe_skipped"] == {(("reason", "lockout"),): 1}
    assert labels_of(found, "probe_smtp_info")["category"] == "auth-failed"  # the last result
    assert found["probe_success"] == 0
    assert connections(server) == 1
    own = served.metrics("/metrics")
    assert own["smtpprobe_probes_skipped_lockout_total"] == 1
    # "Probes run (a scrape answered from the last result is not one)": it counted both.
    assert own["smtpprobe_probes_total"] == 1


def test_a_check_that_cannot_run_is_logged_in_japanese_under_lang_ja(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served]
) -> None:
    # `serve --lang ja` logged "check 'x': config-error: … environment variable … is not set".
    server = smtp_double("ok", security="starttls")
    path = write_checks(tmp_path, check_entry("miss", server))
    logged: list[str] = []

    async def probe(check: CheckDef, budget: float) -> Result:
        return Result(None, error=f"{path}: check 'miss': key 'password': environment "
                      "variable NOPE_UNSET is not set")  # fmt: skip

    served = serve(exporter_over(load_checks(path), probe, log=logged.append, lang="ja"))
    assert served.metrics("/probe?target=miss")["probe_success"] == 0
    assert logged == [
        f"チェック「miss」: 設定エラー（config-error）: {path}: "
        "チェック「miss」のキー「password」: 環境変数 NOPE_UNSET が設定されていません"
    ]


# --------------------------------------------------------------------------- --listen


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:9325", ("127.0.0.1", 9325)),
        ("[::1]:9325", ("::1", 9325)),
        ("localhost:0", ("localhost", 0)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_listen_values(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize(
    "value", ["9325", "127.0.0.1", ":9325", "::1:9325", "[::1]9325", "[127.0.0.1]:1",
              "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:http", "a b:1", "[::1]:"],
)  # fmt: skip
def test_bad_listen_values(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_listen(value)
    assert "\n" not in str(caught.value) and "--listen" in str(caught.value)


# --------------------------------------------------------------------------- the real runner


def test_serve_lockout_with_the_runner_and_history(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """auth-failed once: later scrapes (and a restarted exporter) answer from the last result
    without logging in again; a changed password is tried."""
    from smtpprobe.cli_serve import make_exporter
    from smtpprobe.history import History

    monkeypatch.setenv(ENV, DISTINCTIVE)
    server = smtp_double("auth-failed", security="starttls")
    checks = load_checks(write_checks(tmp_path, check_entry("bad", server), interval=0.01))
    history = History.open(tmp_path / "history.sqlite3")
    try:
        served = serve(lambda: make_exporter(checks, history))
        first = served.metrics("/probe?target=bad")
        assert first["probe_success"] == 0 and "probe_skipped" not in first
        for _ in range(3):
            time.sleep(0.05)  # past the check's interval: only the lockout holds it back
            found = served.metrics("/probe?target=bad")
            assert found["probe_skipped"] == {(("reason", "lockout"),): 1}
            assert labels_of(found, "probe_smtp_info")["category"] == "auth-failed"
            # The same series as the result it stands for: every label, the rule too.
            assert labels_of(found, "probe_smtp_info") == labels_of(first, "probe_smtp_info")
            assert found["probe_success"] == 0
        assert connections(server) == 1
        own = served.metrics("/metrics")
        assert own["smtpprobe_probes_skipped_lockout_total"] == 3

        # A new exporter knows nothing in memory: the history's last result answers.
        again = serve(lambda: make_exporter(checks, history))
        found = again.metrics("/probe?target=bad")
        assert found["probe_skipped"] == {(("reason", "lockout"),): 1}
        assert labels_of(found, "probe_smtp_info")["code"] == "535"
        # The rule too, as before the restart (history schema 2 keeps it).
        assert (
            labels_of(found, "probe_smtp_info")["rule"]
            == labels_of(first, "probe_smtp_info")["rule"]
        )
        assert labels_of(found, "probe_smtp_info")["rule"]
        assert connections(server) == 1

        monkeypatch.setenv(ENV, DISTINCTIVE + "-changed")  # a new credential is tried
        time.sleep(0.05)
        found = again.metrics("/probe?target=bad")
        assert "probe_skipped" not in found
        assert connections(server) == 2
        for path in ("/metrics", "/probe?target=bad"):
            assert DISTINCTIVE not in again.get(path)[1]
    finally:
        history.close()


def test_serve_answers_a_backoff_with_the_shared_historys_newer_failure(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """`serve` and `run` share one history (README): a failure `run` recorded after the
    exporter's own success is what a backoff skip shows, never the older success."""
    import asyncio

    from smtpprobe.cli_serve import make_exporter
    from smtpprobe.history import History
    from smtpprobe.runner import run_check

    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    good, busy = smtp_double("ok", security="starttls"), smtp_double("greeting-421")
    checks = load_checks(write_checks(tmp_path, check_entry("flip", good), interval=0.01))
    (tmp_path / "run").mkdir()
    run_checks = load_checks(write_checks(tmp_path / "run", check_entry("flip", busy)))
    history = History.open(tmp_path / "history.sqlite3")
    try:
        served = serve(lambda: make_exporter(checks, history))
        assert served.metrics("/probe?target=flip")["probe_success"] == 1
        result = asyncio.run(run_check(run_checks.checks[0], history=history))
        assert result.exit_code != 0 and history.backoff_until("flip") is not None
        time.sleep(0.05)  # past the interval: only the backoff holds the exporter back
        found = served.metrics("/probe?target=flip")
        assert found["probe_skipped"] == {(("reason", "backoff"),): 1}
        assert found["probe_success"] == 0
        assert labels_of(found, "probe_smtp_info")["category"] == "server-busy"
        assert connections(good) == 1
    finally:
        history.close()


def test_serve_ok_with_the_runner(
    tmp_path: Path, smtp_double: DoubleFactory, serve: Callable[..., Served],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from smtpprobe.cli_serve import make_exporter
    from smtpprobe.history import History

    monkeypatch.setenv(ENV, DEFAULT_PASSWORD)
    server = smtp_double("ok", security="implicit-tls")
    checks = load_checks(write_checks(tmp_path, check_entry("good", server)))
    with History.open(tmp_path / "history.sqlite3") as history:
        served = serve(lambda: make_exporter(checks, history))
        found = served.metrics("/probe?target=good")
        assert found["probe_success"] == 1
        assert labels_of(found, "probe_smtp_info")["category"] == "ok"
        assert [row.category for row in history.rows("good")] == ["ok"]  # recorded once


# --------------------------------------------------------------------------- the command


def test_serve_command_bad_listen(cli: Any, tmp_path: Path, smtp_double: DoubleFactory) -> None:
    path = write_checks(tmp_path, check_entry("good", smtp_double("ok")))
    for value in ("9325", "[::1]9325", "127.0.0.1:99999", "::1:9325"):
        result = cli.run("serve", str(path), "--listen", value, "--history",
                         str(tmp_path / "h.sqlite3"))  # fmt: skip
        assert result.code == 2, result.both
        assert result.out == "" and result.err.count("\n") == 1
        assert result.err.startswith("smtpprobe: error: --listen")


def test_serve_command_in_a_real_process(tmp_path: Path, smtp_double: DoubleFactory) -> None:
    """``smtpprobe serve`` as a user runs it: IPv6 loopback, a real scrape, SIGTERM ends it."""
    import signal
    import subprocess
    import sys

    from tests.processes import environment

    server = smtp_double("ok", security="implicit-tls")
    hanging = smtp_double("hang-after-connect", security="implicit-tls")
    path = write_checks(tmp_path, check_entry("good", server), check_entry("slow", hanging))
    bin_ = Path(sys.executable).parent / "smtpprobe"
    proc = subprocess.Popen(
        [str(bin_), "serve", str(path), "--listen", "[::1]:0",
         "--history", str(tmp_path / "h.sqlite3")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment(tmp_path, **{ENV: DEFAULT_PASSWORD}),
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on http://[::1]:" in line, line
        port = int(line.split("http://[::1]:")[1].split("/")[0])
        conn = http.client.HTTPConnection("::1", port, timeout=30)
        conn.request("GET", "/probe?target=good")
        body = conn.getresponse().read().decode()
        conn.close()
        assert samples(body)["probe_success"] == 1

        # SIGTERM while a scrape waits on a probe (a restart lands mid-scrape): it printed
        # asyncio's "Exception in callback … CancelledError" traceback.
        def scrape_slow() -> None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                slow = http.client.HTTPConnection("::1", port, timeout=30)
                slow.request("GET", "/probe?target=slow")
                slow.getresponse().read()

        waiting = threading.Thread(target=scrape_slow, daemon=True)
        waiting.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        waiting.join(timeout=10)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "Exception in callback" not in err, err
        assert DEFAULT_PASSWORD not in out + err + line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
