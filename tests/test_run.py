"""`smtpprobe run` and the runner over real doubles on loopback: verdicts, limits, safety."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from smtpprobe.core.checks import CheckDef, ChecksFile, parse_checks
from smtpprobe.runner import CheckResult, Gate, RunLimits, run_check, run_checks, worst_exit_code
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER
from smtpprobe.testing.server import DoubleServer

from .conftest import CLI, InstalledCLI

WRONG = "Zq-distinctive-secret-81773"  # never accepted by the double: must never be shown
ENV = {"H1_RUN_PW": DEFAULT_PASSWORD, "H1_RUN_WRONG": WRONG}

# name: (scenario, extra keys, expected category, expected exit code)
MIXED: dict[str, tuple[str, dict[str, Any], str, int]] = {
    "ok": ("ok", {}, "ok", 0),
    "auth": ("auth-failed", {"password": {"env": "H1_RUN_WRONG"}}, "auth-failed", 1),
    "geo": ("geo-filter-sakura", {"source_address": "127.0.0.2"}, "client-ip-rejected", 1),
    "relay": ("relay-denied-ocn", {}, "relay-denied", 1),
    "hang": ("hang-after-connect", {"phase_timeout": 0.5}, "timeout", 3),
    "tls": ("tls-required", {"security": "plain", "allow_plaintext_auth": True}, "tls-required", 1),
}


def _entry(name: str, server: DoubleServer, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "host": server.host,
        "port": server.port,
        "security": str(server.security),
        "user": DEFAULT_USER,
        "password": {"env": "H1_RUN_PW"},
        "ca_file": str(server.ca_file),
        "labels": {"scenario": server.scenario.name.replace("-", "_")},
    }
    entry.update(extra)
    return entry


def _document(entries: list[dict[str, Any]]) -> dict[str, Any]:
    # egress_lookup: false keeps every probe on loopback (no DNS query to the outside).
    return {"defaults": {"timeout": 10, "phase_timeout": 3, "egress_lookup": False},
            "checks": entries}  # fmt: skip


@pytest.fixture
def mixed(smtp_double: Callable[..., DoubleServer], tmp_path: Path) -> Path:
    entries = [
        _entry(name, smtp_double(scenario), **extra)
        for name, (scenario, extra, _, _) in MIXED.items()
    ]
    path = tmp_path / "checks.yaml"
    path.write_text(yaml.safe_dump(_document(entries)), encoding="utf-8")
    return path


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    yield


def _checks(path: Path) -> ChecksFile:
    return parse_checks(yaml.safe_load(path.read_text(encoding="utf-8")), source=str(path))


# --------------------------------------------------------------------------- the runner


def test_mixed_doubles_each_get_the_right_verdict(mixed: Path, secret_env: None) -> None:
    results = asyncio.run(run_checks(_checks(mixed).checks))
    got = {r.name: (r.category, r.exit_code) for r in results}
    assert got == {name: (category, code) for name, (_, _, category, code) in MIXED.items()}
    assert [r.name for r in results] == list(MIXED)  # the file's order
    assert all(r.error is None and r.skipped is None for r in results)
    assert worst_exit_code([r.exit_code for r in results]) == 3
    auth = results[1]
    assert auth.reply is not None and auth.reply.startswith("535 5.7.8")
    assert auth.stage == "auth"


@pytest.mark.parametrize("per_host", [1, 2])
def test_the_per_host_limit_is_never_exceeded(
    smtp_double: Callable[..., DoubleServer], per_host: int, secret_env: None
) -> None:
    server = smtp_double("ok")
    document = _document([_entry(f"ok-{i}", server) for i in range(6)])
    checks = parse_checks(document, source="test").checks
    limits = RunLimits(concurrency=16, per_host=per_host)
    results = asyncio.run(run_checks(checks, limits=limits))
    assert [r.category for r in results] == ["ok"] * 6
    assert server.connection_count.total == 6
    assert 1 <= server.connection_count.peak <= per_host
    _closed(server)


def _closed(server: DoubleServer) -> None:
    """Wait (a generous bound) for the server to see the last connection's end."""
    deadline = time.monotonic() + 10
    while server.connection_count.current and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.connection_count.current == 0


def test_the_global_limit_holds_across_servers(
    smtp_double: Callable[..., DoubleServer], secret_env: None
) -> None:
    servers = [smtp_double("ok", host=f"127.0.0.{i}") for i in (1, 3, 4)]
    entries = [_entry(f"c{i}-{j}", s) for i, s in enumerate(servers) for j in range(3)]
    checks = parse_checks(_document(entries), source="test").checks
    assert len({c.server_key for c in checks}) == 3
    limits = RunLimits(concurrency=1, per_host=3)
    results = asyncio.run(run_checks(checks, limits=limits))
    assert [r.category for r in results] == ["ok"] * 9
    assert [s.connection_count.peak for s in servers] == [1, 1, 1]


def test_min_interval_spaces_the_starts_to_one_server() -> None:
    gate = Gate(RunLimits(per_host=4, min_interval=0.2))
    starts: list[float] = []

    async def one() -> None:
        async with gate.slot("smtp.example.jp"):
            starts.append(time.monotonic())

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(3)))

    asyncio.run(main())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.19 for gap in gaps), gaps


def test_jitter_delays_each_start_within_its_bound() -> None:
    gate = Gate(RunLimits(jitter=0.05))

    async def main() -> float:
        start = time.monotonic()
        async with gate.slot("h"):
            return time.monotonic() - start

    assert asyncio.run(main()) < 5  # a generous upper bound: it never waits past the jitter


class MemoryHistory:
    """The runner's History protocol, kept in memory."""

    def __init__(self, locked: dict[str, str] | None = None, until: float | None = None) -> None:
        self.locked = locked or {}
        self.until = until
        self.recorded: list[CheckResult] = []

    def salt(self) -> bytes:
        return b"test-salt"

    def lockout(self, name: str) -> str | None:
        return self.locked.get(name)

    def refused(self, name: str) -> frozenset[str]:
        return frozenset({self.locked[name]}) if name in self.locked else frozenset()

    def backoff_until(self, name: str) -> float | None:
        return self.until

    def last_exit_code(self, name: str) -> int | None:
        return None

    def record(self, result: CheckResult) -> None:
        self.recorded.append(result)

    def try_claim(self, name: str) -> bool:
        return True

    def release(self, name: str) -> None:
        pass


def _auth_check(server: DoubleServer) -> CheckDef:
    document = _document([_entry("auth", server, password={"env": "H1_RUN_WRONG"})])
    return parse_checks(document, source="test").checks[0]


def test_lockout_skips_the_same_credential_and_retries_a_new_one(
    smtp_double: Callable[..., DoubleServer], secret_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtpprobe.checks import credential_tag

    server = smtp_double("auth-failed")
    check = _auth_check(server)
    history = MemoryHistory({"auth": credential_tag(WRONG, b"test-salt")})
    skipped = asyncio.run(run_check(check, history=history))
    assert skipped.report is None and skipped.skipped is not None
    assert skipped.skipped.startswith("lockout:")
    assert (skipped.category, skipped.exit_code) == ("skipped", 1)
    assert server.connection_count.total == 0  # not even a connection
    assert history.recorded == [skipped]

    monkeypatch.setenv("H1_RUN_WRONG", WRONG + "-changed")
    retried = asyncio.run(run_check(check, history=history))
    assert retried.category == "auth-failed" and server.connection_count.total == 1
    assert retried.credential_tag == credential_tag(WRONG + "-changed", b"test-salt")


def test_backoff_skips_until_its_time(
    smtp_double: Callable[..., DoubleServer], secret_env: None
) -> None:
    server = smtp_double("auth-failed")
    check = _auth_check(server)
    result = asyncio.run(run_check(check, history=MemoryHistory(until=time.time() + 3600)))
    assert result.skipped is not None and result.skipped.startswith("backoff:")
    assert result.exit_code == 3
    result = asyncio.run(run_check(check, history=MemoryHistory(until=time.time() - 1)))
    assert result.category == "auth-failed"


def test_a_secret_that_cannot_be_read_is_a_one_line_error(
    smtp_double: Callable[..., DoubleServer],
) -> None:
    server = smtp_double("ok")
    check = _auth_check(server)  # H1_RUN_WRONG is not set here
    result = asyncio.run(run_check(check))
    assert result.error is not None and "H1_RUN_WRONG is not set" in result.error
    assert (result.category, result.exit_code) == ("config-error", 2)
    assert server.connection_count.total == 0


@pytest.mark.parametrize(
    ("codes", "worst"),
    [([], 0), ([0, 0], 0), ([0, 1], 1), ([1, 3, 0], 3), ([3, 2, 1], 2), ([2, 0], 2)],
)
def test_worst_exit_code_order(codes: list[int], worst: int) -> None:
    assert worst_exit_code(codes) == worst


# --------------------------------------------------------------------------- the command


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert WRONG not in text
        assert DEFAULT_PASSWORD not in text


def test_run_prints_a_summary_and_exits_with_the_worst(cli: CLI, mixed: Path) -> None:
    result = cli.run("run", str(mixed), "--no-history", env=ENV)
    assert result.code == 3, result.both
    lines = result.out.splitlines()
    assert lines[0].split() == ["check", "verdict", "stage", "time"]
    assert max(len(line) for line in lines) <= 80
    rows: dict[str, str] = {}  # each row with the indented line(s) under it
    name = ""
    for line in lines[2:]:
        if not line.startswith(" "):
            name = line.split()[0]
        rows[name] = rows.get(name, "") + line + "\n"
    for name, (_, _, category, _) in MIXED.items():
        assert category in rows[name]
    assert "535 5.7.8" in rows["auth"]
    _no_secret(result.out, result.err)


def test_run_json_is_one_document_per_check_and_line(cli: CLI, mixed: Path) -> None:
    result = cli.run("run", str(mixed), "--json", "--no-history", env=ENV)
    assert result.code == 3, result.both
    documents = [json.loads(line) for line in result.out.splitlines()]
    assert sorted(d["name"] for d in documents) == sorted(MIXED)
    for doc in documents:
        _, _, category, code = MIXED[doc["name"]]
        assert (doc["category"], doc["exit_code"]) == (category, code)
        assert doc["report"]["schema"] == "smtpprobe/check/v1"
        assert doc["report"]["verdict"]["category"] == category
        assert doc["skipped"] is None and doc["error"] is None
        assert doc["labels"]["scenario"]
    assert result.err == ""
    _no_secret(result.out, result.err)


def test_run_only_some_checks(cli: CLI, mixed: Path) -> None:
    result = cli.run("run", str(mixed), "--only", "ok", "--only", "relay,geo", "--json",
                     "--no-history", env=ENV)  # fmt: skip
    assert result.code == 1, result.both
    assert {json.loads(line)["name"] for line in result.out.splitlines()} == {"ok", "relay", "geo"}
    result = cli.run("run", str(mixed), "--only", "ok", "--no-history", "--lang", "ja", env=ENV)
    assert result.code == 0, result.both
    assert result.out.splitlines()[0].split()[:2] == ["チェック", "判定"]


def test_run_usage_errors_are_one_line_and_exit_2(cli: CLI, mixed: Path, tmp_path: Path) -> None:
    result = cli.run("run", str(mixed), "--only", "nope", "--no-history", env=ENV)
    assert result.code == 2
    assert result.err.startswith("smtpprobe: error: --only nope: no such check")
    assert len(result.err.splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("checks:\n  - name: x\n    host: h\n    password: hunter2-literal\n")
    result = cli.run("run", str(bad), "--no-history")
    assert result.code == 2
    assert "check 'x': key 'password': a password never goes in the checks file" in result.err
    assert "hunter2-literal" not in result.both


def test_a_check_that_cannot_run_makes_the_run_exit_2(cli: CLI, mixed: Path) -> None:
    result = cli.run("run", str(mixed), "--json", "--no-history",
                     env={"H1_RUN_PW": DEFAULT_PASSWORD})  # fmt: skip
    assert result.code == 2, result.both
    docs = {d["name"]: d for d in map(json.loads, result.out.splitlines())}
    assert docs["auth"]["category"] == "config-error"
    assert "H1_RUN_WRONG is not set" in docs["auth"]["error"]
    assert docs["ok"]["category"] == "ok"


def test_history_locks_out_the_failed_credential(
    cli: CLI, smtp_double: Callable[..., DoubleServer], tmp_path: Path
) -> None:
    server = smtp_double("auth-failed")
    path = tmp_path / "checks.yaml"
    document = _document([_entry("auth", server, password={"env": "H1_RUN_WRONG"})])
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    history = tmp_path / "history.sqlite3"
    first = cli.run("run", str(path), "--json", "--history", str(history), env=ENV)
    second = cli.run("run", str(path), "--json", "--history", str(history), env=ENV)
    assert (first.code, second.code) == (1, 1), second.both
    assert json.loads(first.out)["category"] == "auth-failed"
    assert json.loads(second.out)["skipped"].startswith("lockout:")
    assert server.connection_count.total == 1  # the second run did not try it again
    _no_secret(first.out, first.err, second.out, second.err)
    assert WRONG.encode() not in history.read_bytes()


def test_installed_smtpprobe_run(installed_cli: InstalledCLI, mixed: Path) -> None:
    result = installed_cli.run("run", str(mixed), "--json", "--no-history", "--per-host", "3",
                               env=ENV)  # fmt: skip
    assert result.code == 3, result.both
    got = {d["name"]: d["category"] for d in map(json.loads, result.out.splitlines())}
    assert got == {name: category for name, (_, _, category, _) in MIXED.items()}
    _no_secret(result.out, result.err)


def test_a_state_change_fires_on_change(
    cli: CLI, smtp_double: Callable[..., DoubleServer], tmp_path: Path
) -> None:
    path, history, out = tmp_path / "checks.yaml", tmp_path / "h.sqlite3", tmp_path / "changes"
    common = ("--history", str(history), "--confirm", "1", "--on-change", f"cat >> {out}")
    for scenario, extra in (("ok", {}), ("geo-filter-sakura", {"source_address": "127.0.0.2"})):
        server = smtp_double(scenario)
        document = _document([_entry("mail", server, **extra)])
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        result = cli.run("run", str(path), "--json", *common, env=ENV)
        assert result.err == "", result.err
    changes = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert any("client-ip-rejected" in json.dumps(c) for c in changes), changes
    _no_secret(out.read_text(encoding="utf-8"))
    shown = cli.run("history", "mail", "--history", str(history), "--confirm", "1")
    assert shown.code == 0, shown.err
    assert "state changed from ok to client-ip-rejected" in shown.out, shown.out
    assert "client-ip-rejected since" in shown.out and "<- now" in shown.out, shown.out


def test_the_hook_never_sees_a_password_variable_of_any_check(
    cli: CLI, smtp_double: Callable[..., DoubleServer], tmp_path: Path
) -> None:
    # With --only, the checks left out kept their password variables in the hook's
    # environment (a red-team round): every check's {env: VAR} is dropped.
    path, history, out = tmp_path / "checks.yaml", tmp_path / "h.sqlite3", tmp_path / "env"
    other_secret = "other-check-secret-5678"
    env = {**ENV, "OTHER_CHECK_PW": other_secret}
    common = ("--history", str(history), "--confirm", "1", "--on-change", f"env >> {out}")
    for scenario, extra in (("ok", {}), ("geo-filter-sakura", {"source_address": "127.0.0.2"})):
        server = smtp_double(scenario)
        other = _entry("other", server, password={"env": "OTHER_CHECK_PW"})
        path.write_text(yaml.safe_dump(_document([_entry("mail", server, **extra), other])))
        result = cli.run("run", str(path), "--only", "mail", *common, env=env)
        assert result.code in (0, 1), result.both
    seen = out.read_text(encoding="utf-8")
    assert "PATH=" in seen  # the hook ran, with an environment
    assert other_secret not in seen and DEFAULT_PASSWORD not in seen


def test_ping_says_fail_when_a_check_failed(cli: CLI, mixed: Path) -> None:
    import http.server
    import threading

    seen: list[tuple[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append((self.path, body.decode("utf-8")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/ping/abc"
        result = cli.run("run", str(mixed), "--only", "ok,auth", "--no-history",
                         "--ping", url, env=ENV)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == 1, result.both
    assert [path for path, _ in seen] == ["/ping/abc/fail"]
    assert "1 auth-failed" in seen[0][1] and "1 ok" in seen[0][1]
    _no_secret(seen[0][1], result.out, result.err)


def test_skip_reasons_read_in_japanese() -> None:
    from smtpprobe.cli_run import skipped_text

    lockout = "lockout: the server refused this credential at the last try; not retried until …"
    backoff = "backoff: the last try failed transiently; next try after 2026-12-01T10:00:00Z"
    assert "ロックアウト中" in skipped_text(lockout, "ocn-main", "ja")
    assert "smtpprobe history --reset ocn-main" in skipped_text(lockout, "ocn-main", "ja")
    assert skipped_text(backoff, "x", "ja").endswith("2026-12-01T10:00:00Z 以降です")
    assert skipped_text(backoff, "x", "en") == backoff


def test_a_skipped_check_counts_as_its_last_result(
    smtp_double: Callable[..., DoubleServer], secret_env: None, tmp_path: Path
) -> None:
    # A negative check that met its expectation (auth-failed, expected) is then locked out:
    # the skip must stay exit 0, as the result it stands for, and start no backoff.
    from smtpprobe.history import History

    server = smtp_double("auth-failed")
    entry = _entry("neg", server, password={"env": "H1_RUN_WRONG"}, expect=["auth-failed"])
    check = parse_checks(_document([entry]), source="test").checks[0]
    with History.open(tmp_path / "h.db") as history:
        first = asyncio.run(run_check(check, history=history))
        assert (first.category, first.exit_code) == ("auth-failed", 0)
        second = asyncio.run(run_check(check, history=history))
        assert second.skipped is not None and second.skipped.startswith("lockout:")
        assert second.exit_code == 0
        assert history.backoff_until("neg") is None
    assert server.connection_count.total == 1


def test_a_history_without_its_salt_sends_no_password(
    smtp_double: Callable[..., DoubleServer], secret_env: None
) -> None:
    # A red-team round: the salt was read only after a refused login, so a history that had
    # lost it let every run (and every scrape) send the refused password again, and serve
    # reported exit 4. It is read before anything is sent: a config error for the check.
    from smtpprobe.history import HistoryError

    class Saltless(MemoryHistory):
        def salt(self) -> bytes:
            raise HistoryError(
                "history h.sqlite3: not a usable smtpprobe history database (its salt is missing)"
            )

    server = smtp_double("auth-failed")
    history = Saltless()
    result = asyncio.run(run_check(_auth_check(server), history=history))
    assert result.report is None and result.error is not None and "salt is missing" in result.error
    assert server.connection_count.total == 0
    assert history.recorded == [result]


def test_a_password_refused_before_another_is_not_sent_again(
    smtp_double: Callable[..., DoubleServer], secret_env: None, tmp_path: Path
) -> None:
    # Cron's secrets file and serve's environment held two different wrong passwords over
    # one history: each run sent its refused password again (a red-team round).
    from smtpprobe.checks import credential_tag
    from smtpprobe.history import History

    server = smtp_double("auth-failed")
    check = _auth_check(server)
    with History.open(tmp_path / "h.sqlite3") as history:
        first = asyncio.run(run_check(check, history=history))
        assert first.category == "auth-failed"
        salt = history.salt()
        # Another wrong password refused since then, recorded as a run with it would be.
        history.add(
            replace(
                history.rows(check.name)[-1], id=None, credential_tag=credential_tag("other", salt)
            )
        )
        assert history.lockout(check.name) == credential_tag("other", salt)
        again = asyncio.run(run_check(check, history=history))
    assert again.skipped is not None and again.skipped.startswith("lockout:")
    assert server.connection_count.total == 1


def test_a_refused_password_the_history_cannot_keep_is_said_to_be_sent_again(
    cli: CLI, smtp_double: Callable[..., DoubleServer], tmp_path: Path
) -> None:
    # A history that cannot be written keeps no lockout for the next run (a red-team round:
    # three runs sent the refused password three times, warned only "results not saved").
    import sqlite3

    from smtpprobe.history import History

    checks = tmp_path / "checks.yaml"
    entry = _entry("auth", smtp_double("auth-failed"), password={"env": "H1_RUN_WRONG"})
    checks.write_text(yaml.safe_dump(_document([entry])), encoding="utf-8")
    history = tmp_path / "h.sqlite3"
    History.open(history).close()
    with sqlite3.connect(history) as db:  # every write refused, at once
        db.execute(
            "CREATE TRIGGER no_writes BEFORE INSERT ON results "
            "BEGIN SELECT RAISE(ABORT, 'writes refused'); END"
        )
    result = cli.run("run", str(checks), "--history", str(history), env=ENV)
    assert result.code == 2, result.both
    assert "results not saved" in result.err
    assert "the refused password of auth could not be recorded" in result.err
    _no_secret(result.out, result.err)


def test_a_second_process_waits_for_the_first_and_does_not_resend_a_refused_password(
    smtp_double: Callable[..., DoubleServer], secret_env: None, tmp_path: Path
) -> None:
    # Two runs at once over one history (a timer overlapping the last run, a run beside
    # serve) both read "not refused" before either recorded, and both sent the refused
    # password (a red-team round). This process probes the check while an installed
    # `smtpprobe run` starts beside it: that one waits for this one's claim, then reads
    # the refusal and skips. The server sees one login.
    import subprocess

    from smtpprobe.history import History

    from .conftest import BIN, process_environment

    server = smtp_double("auth-failed")
    check = _auth_check(server)
    checks = tmp_path / "checks.yaml"
    entry = _entry("auth", server, password={"env": "H1_RUN_WRONG"})
    checks.write_text(yaml.safe_dump(_document([entry])), encoding="utf-8")
    path = tmp_path / "h.sqlite3"
    with History.open(path) as history:
        assert history.try_claim("auth")
        other = subprocess.Popen(
            [str(BIN), "run", str(checks), "--history", str(path), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=process_environment(ENV),
        )
        try:
            time.sleep(1.5)  # started, and waiting for the claim
            assert other.poll() is None, other.communicate()
            first = asyncio.run(run_check(check, history=history))
            assert first.category == "auth-failed"
        finally:
            history.release("auth")
        out, err = other.communicate(timeout=60)
    (line,) = out.splitlines()
    document = json.loads(line)
    assert document["category"] == "skipped", (out, err)
    assert "lockout" in json.dumps(document), document
    assert server.connection_count.total == 1
    _no_secret(out, err)


def test_a_check_another_process_keeps_probing_is_said_busy(
    smtp_double: Callable[..., DoubleServer], secret_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smtpprobe.runner as runner

    class Held(MemoryHistory):
        def try_claim(self, name: str) -> bool:
            return False  # another process holds it throughout

    monkeypatch.setattr(runner, "_CLAIM_SLACK", 0.3)
    server = smtp_double("ok")
    check = replace(_auth_check(server), timeout=0.2)
    history = Held()
    began = time.monotonic()
    result = asyncio.run(run_check(check, history=history))
    assert 0.4 < time.monotonic() - began < 5
    assert result.skipped is not None and result.skipped.startswith("busy:")
    assert result.exit_code == 3  # no result of its own yet: incomplete
    assert history.recorded == []  # the other process records the real one
    assert server.connection_count.total == 0
