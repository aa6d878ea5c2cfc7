"""The history store: real probes against the double, real SQLite files, a real kill -9."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.api import CheckOptions, probe
from smtpprobe.core.timeline import BACKOFF_BASE, HistoryRow
from smtpprobe.history import (
    SCHEMA_VERSION,
    History,
    HistoryError,
    default_history_path,
    row_from_result,
)
from smtpprobe.render.json import report_to_dict
from smtpprobe.report import Report
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER


@dataclass(frozen=True)
class Check:
    name: str


@dataclass(frozen=True)
class Result:
    """What smtpprobe.runner.CheckResult carries, for tests that do not need the runner."""

    check: Check
    report: Report | None
    error: str | None = None
    skipped: str | None = None
    started_at: str = "2026-01-30T10:02:00Z"
    duration: float = 0.25
    credential_tag: str | None = None

    @property
    def exit_code(self) -> int:
        return self.report.exit_code if self.report else 2

    @property
    def category(self) -> str:
        if self.skipped:
            return "skipped"
        return self.report.verdict.category if self.report else "config-error"


def run_probe(server: Any, password: str = DEFAULT_PASSWORD, **kw: Any) -> Report:
    options = CheckOptions(
        host=server.host,
        port=server.port,
        security=str(server.security),
        user=DEFAULT_USER,
        password=password,
        ca_file=server.ca_file,
        phase_timeout=5,
        timeout=10,
        egress_lookup=False,
        **kw,
    )
    return asyncio.run(probe(options))


def result(report: Report | None, name: str = "main", **kw: Any) -> Result:
    return Result(Check(name), report, **kw)


def synthetic(minute: int, category: str = "ok", **kw: Any) -> HistoryRow:
    base: dict[str, Any] = {"name": "main", "at": f"2026-01-30T10:{minute:02d}:00Z"}
    base.update(category=category, **kw)
    return HistoryRow(**base)


@pytest.fixture
def history(tmp_path: Path) -> Any:
    with History.open(tmp_path / "h" / "history.sqlite3") as opened:
        yield opened


# --------------------------------------------------------------------------- rows from probes


def test_a_passing_probe_is_stored_with_its_dialogue(smtp_double: Any, history: History) -> None:
    report = run_probe(smtp_double("ok", security="starttls"))
    stored = history.record(result(report, credential_tag="tag-1"))
    [row] = history.rows("main")
    assert row == stored and row.id is not None
    assert (row.category, row.stage, row.exit_code, row.reply) == ("ok", None, 0, None)
    assert row.at == "2026-01-30T10:02:00Z" and row.duration_ms == 250.0
    assert row.tls_version is not None and row.tls_version.startswith("TLSv1")
    assert row.cert_fingerprint is not None and re.fullmatch(r"[0-9a-f]{64}", row.cert_fingerprint)
    document = report_to_dict(report)
    assert document["tls"]["certificate"]["fingerprint_sha256"] == row.cert_fingerprint
    assert row.cert_not_after == document["tls"]["certificate"]["not_after"]
    assert "PLAIN" in row.auth_mechanisms and any(c.startswith("AUTH") for c in row.capabilities)
    assert row.banner is not None and row.banner.startswith("220 ")
    assert {"connect", "ehlo", "auth", "mail", "rcpt"} <= set(row.phase_ms)
    assert row.credential_tag == "tag-1" and row.egress_address == "127.0.0.1"  # no NAT
    assert history.last("main") == row


def test_the_certificate_fingerprint_is_the_sha256_of_its_der(smtp_double: Any) -> None:
    import ssl

    server = smtp_double("ok", security="implicit-tls")
    report = run_probe(server)
    pem = ssl.get_server_certificate((server.host, server.port))
    der = ssl.PEM_cert_to_DER_cert(pem)
    assert report.transcript.tls is not None
    assert report.transcript.tls.fingerprint_sha256 == hashlib.sha256(der).hexdigest()


def test_auth_failed_keeps_the_reply_and_locks_out_the_tag(
    smtp_double: Any, history: History
) -> None:
    server = smtp_double("auth-failed")
    history.record(result(run_probe(server), credential_tag="old"))
    row = history.last("main")
    assert row is not None and row.category == "auth-failed" and row.stage == "auth"
    assert row.reply is not None and row.reply.startswith("535 5.7.8 ")
    assert history.lockout("main") == "old"
    history.reset("main")
    assert history.lockout("main") is None
    history.record(result(run_probe(server), credential_tag="old"))
    assert history.lockout("main") == "old"
    ok = smtp_double("ok")
    history.record(result(run_probe(ok), credential_tag="new", started_at="2026-01-30T10:03:00Z"))
    assert history.lockout("main") is None
    assert history.lockout("another-check") is None


def test_no_secret_reaches_the_database(smtp_double: Any, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    secret = "s3cret-Pässword-for-history"
    with History.open(path) as history:
        report = run_probe(smtp_double("auth-failed"), password=secret)
        # An error or skip text that quotes the secret (a bug elsewhere) is masked too.
        history.record(result(report, error=f"oops {secret}", skipped=f"why {secret}"))
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for form in (secret.encode(), secret.encode("utf-16-le"), secret.encode().hex().encode()):
        assert form not in data
    with History.open(path) as history:
        row = history.last("main")
    assert row is not None and row.error is not None and "********" in row.error


def test_a_result_without_a_report(history: History) -> None:
    history.record(result(None, error="check 'main': OCN_PASSWORD is not set"))
    history.record(result(None, skipped="lockout: auth-failed with this credential"))
    first, second = history.rows("main")
    assert (first.category, first.exit_code, first.error) == (
        "config-error",
        2,
        "check 'main': OCN_PASSWORD is not set",
    )
    assert second.category == "skipped" and second.skipped is not None
    assert history.last_result("main") == first


def test_row_from_result_is_what_record_stores(smtp_double: Any, history: History) -> None:
    one = result(run_probe(smtp_double("ok")))
    assert replace(history.record(one), id=None) == row_from_result(one)


# --------------------------------------------------------------------------- the file


def test_schema_wal_and_salt(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with History.open(path) as history:
        salt = history.salt()
    assert len(salt) == 32
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    with History.open(path) as history:
        assert history.salt() == salt  # kept in the database
    with History.open(tmp_path / "other.sqlite3") as other:
        assert other.salt() != salt  # random per database
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_unusable_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no such file; run `smtpprobe run"):
        History.open(tmp_path / "missing.sqlite3", create=False)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all, just some text " * 100)
    with pytest.raises(HistoryError, match="not a usable smtpprobe history database"):
        History.open(junk)
    foreign = tmp_path / "foreign.sqlite3"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="not smtpprobe's history"):
        History.open(foreign)
    newer = tmp_path / "newer.sqlite3"
    History.open(newer).close()
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="written by a newer smtpprobe") as caught:
        History.open(newer)
    assert "\n" not in str(caught.value)


def test_a_schema_1_history_is_upgraded_in_place(tmp_path: Path) -> None:
    # Schema 1 had no `rule` column: its rows stay, the column comes, the version moves on.
    path = tmp_path / "old.sqlite3"
    History.open(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE results DROP COLUMN rule")
    db.execute("ALTER TABLE results DROP COLUMN login_refused")
    db.execute(
        "INSERT INTO results (name, at, category, exit_code) VALUES ('c1', '2026-01-01T00:00:00Z', "
        "'auth-failed', 1)"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with History.open(path) as history:
        row = history.last("c1")
        assert row is not None
        assert (row.category, row.rule, row.login_refused) == ("auth-failed", None, False)
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert "rule" in [r[1] for r in db.execute("PRAGMA table_info(results)")]
    finally:
        db.close()


def test_default_path_is_in_the_user_data_directory() -> None:
    import platformdirs

    path = default_history_path()
    assert path.name == "history.sqlite3"
    assert path.parent == platformdirs.user_data_path("smtpprobe")


# --------------------------------------------------------------------------- reading


def test_rows_names_and_limits(history: History) -> None:
    for minute in range(5):
        history.add(synthetic(minute))
        history.add(synthetic(minute, name="second"))
    assert history.names() == ["main", "second"]
    assert [r.at[14:16] for r in history.rows("main", limit=2)] == ["03", "04"]
    assert len(history.rows()) == 10
    assert history.rows("nobody") == [] and history.last("nobody") is None


def test_backoff_grows_with_transient_failures_and_reset_clears_it(history: History) -> None:
    history.add(synthetic(0))
    assert history.backoff_until("main") is None
    history.add(synthetic(1, "timeout", exit_code=3))
    at1 = 1769767260.0  # 2026-01-30T10:01:00Z
    assert history.backoff_until("main") == at1 + BACKOFF_BASE
    history.add(synthetic(2, "server-busy", exit_code=1, retryable=True))
    assert history.backoff_until("main") == at1 + 60 + 2 * BACKOFF_BASE
    assert history.backoff_until("main", base=10, cap=15) == at1 + 60 + 15
    history.reset("main")
    assert history.backoff_until("main") is None
    assert set(history.resets()) == {"main"}
    history.add(synthetic(3))
    assert history.backoff_until("main") is None


def test_threads_may_share_one_history(history: History) -> None:
    def write(name: str) -> None:
        for minute in range(40):
            history.add(synthetic(minute, name=name))

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(history.rows()) == 160


# --------------------------------------------------------------------------- kill -9

_WRITER = textwrap.dedent(
    """
    import sys
    from smtpprobe.core.timeline import HistoryRow
    from smtpprobe.history import History

    history = History.open(sys.argv[1])
    n = 0
    while True:
        n += 1
        history.add(HistoryRow(
            name=f"check-{n % 3}", at="2026-01-30T10:02:00Z", category="ok",
            reply="250 2.0.0 " + "x" * 200, phase_ms={"connect": 1.5},
        ))
        print(n, flush=True)  # after the commit returned: this row must survive
    """
)


def test_kill_9_loses_no_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        committed = 0
        for line in proc.stdout:
            committed = int(line)
            if committed >= 300:
                break
        os.kill(proc.pid, signal.SIGKILL)  # in the middle of writing the next rows
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL and committed >= 300
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    with History.open(path) as history:
        rows = history.rows()
        assert len(rows) >= committed  # the printed ones, and maybe one more
        assert [r.id for r in rows] == list(range(1, len(rows) + 1))
        assert rows[0].phase_ms == {"connect": 1.5}
        history.add(synthetic(5))  # and it is still writable
    assert json.dumps([r.name for r in rows[:3]]) == '["check-1", "check-2", "check-0"]'


def test_a_result_that_cannot_be_saved_is_kept_and_said_once(tmp_path: Path) -> None:
    # Another program holds the file (an exclusive transaction): the run's result still
    # stands, and the reason is kept for the run to say (exit 2) instead of exit 4.
    path = tmp_path / "h.sqlite3"
    History.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    with History.open(path, create=False, busy_timeout=0.1) as history:
        holder.execute("BEGIN EXCLUSIVE")
        try:
            result = Result(Check("c"), None, error="config: x")
            row = history.record(result)
            history.record(result)
            assert row.name == "c" and row.id is None
            assert len(history.write_errors) == 1
            assert "locked" in history.write_errors[0]
            assert "another program holds the file" in history.write_errors[0]
        finally:
            holder.execute("ROLLBACK")
            holder.close()


def test_a_refused_password_stays_locked_out_when_the_history_cannot_keep_it(
    smtp_double: Any, tmp_path: Path
) -> None:
    # A red-team round: with a history that could not be written, `serve` sent the same
    # refused password on every scrape. The unsaved row still decides the lockout.
    path = tmp_path / "h.sqlite3"
    History.open(path).close()
    report = run_probe(smtp_double("auth-failed"))
    holder = sqlite3.connect(path, isolation_level=None)
    with History.open(path, create=False, busy_timeout=0.1) as history:
        holder.execute("BEGIN IMMEDIATE")  # writers wait; readers (WAL) still read
        try:
            history.record(result(report, credential_tag="old"))
            assert history.write_errors and history.lockout("main") == "old"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        history.reset("main")  # `history --reset` clears it, as for a saved row
        assert history.lockout("main") is None


@pytest.mark.parametrize(
    "damage",
    ["phase_ms = '{'", "capabilities = 'null'", "at = 'yesterday'", "phase_ms = '[1]'"],
)
def test_a_damaged_row_is_one_line_not_an_internal_error(tmp_path: Path, damage: str) -> None:
    # Rows edited by another program gave exit 4 (JSONDecodeError, TypeError).
    path = tmp_path / "h.sqlite3"
    with History.open(path) as history:
        history.add(synthetic(1))
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE results SET {damage}")
    damaged = r"row 1 is damaged .*give another --history"
    with History.open(path, create=False) as history, pytest.raises(HistoryError, match=damaged):
        history.rows("main")


def test_a_history_another_program_is_writing_opens_and_reads(tmp_path: Path) -> None:
    # Opening took a write lock to check the schema, so a run started while another run
    # was writing lost every result (HistoryError before the first probe). A current
    # schema is now only read: the file opens, reads, and a write that waits too long is
    # the run's one-line write error, its results still reported.
    path = tmp_path / "h.sqlite3"
    with History.open(path) as history:
        history.add(synthetic(1))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # WAL: a writer's lock; readers still read
    try:
        with History.open(path, create=False, busy_timeout=0.1) as history:
            assert [r.name for r in history.rows()] == ["main"]
            history.record(Result(Check("c"), None, error="config: x"))
            assert "another program holds the file" in history.write_errors[0]
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_opening_a_busy_history_says_it_is_busy_not_unusable(tmp_path: Path) -> None:
    # A file another program has locked before it was ever a history (no WAL yet: its
    # lock keeps readers out too) cannot be made one now: one line that says why.
    path = tmp_path / "h.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE other (x)")
    try:
        with pytest.raises(HistoryError, match="another program holds the file"):
            History.open(path, busy_timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_history_without_its_salt_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    History.open(path).close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM meta WHERE key = 'salt'")
    db.commit()
    db.close()
    with History.open(path) as history, pytest.raises(HistoryError, match="salt is missing"):
        history.salt()


def test_one_wait_in_vain_makes_the_next_writes_brief(tmp_path: Path) -> None:
    # A red-team round: with the file held by another program, every result of a run waited
    # the whole busy timeout (6 checks: 60 s). One wait tells; the next ones are brief, and
    # once a write goes through the full wait is back.
    path = tmp_path / "h.sqlite3"
    History.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)

    def wait_ms(history: History) -> int:
        return int(history._db.execute("PRAGMA busy_timeout").fetchone()[0])

    with History.open(path, create=False, busy_timeout=0.3) as history:
        assert wait_ms(history) == 300
        holder.execute("BEGIN EXCLUSIVE")
        history.record(Result(Check("c"), None, error="config: x"))
        assert wait_ms(history) == 200 and len(history.write_errors) == 1
        holder.execute("ROLLBACK")
        holder.close()
        history.record(Result(Check("c"), None, error="config: x"))
        assert wait_ms(history) == 300 and [r.name for r in history.rows()] == ["c"]


def test_bytes_in_a_text_column_is_a_damaged_row_not_an_internal_error(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with History.open(path) as history:
        history.add(synthetic(1))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE results SET reply = x'ff00fe'")
    with (
        History.open(path, create=False) as history,
        pytest.raises(HistoryError, match="row 1 is damaged"),
    ):
        history.rows("main")


_OPEN_AT = """
import sys, time
from pathlib import Path
from smtpprobe.history import History, HistoryError
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
try:
    History.open(Path(sys.argv[1])).close()
    print("ok")
except HistoryError as exc:
    print(exc)
"""


def test_two_processes_making_one_history_at_once_both_open_it(tmp_path: Path) -> None:
    # SQLite answers "PRAGMA journal_mode = WAL" with "database is locked" at once, without
    # its busy handler, while another process switches the same new file: two runs started
    # together on a new history lost one of them (a red-team round: 24 of 30 pairs). It now
    # waits, as a write does. Two interpreters (not multiprocessing: under importlib import
    # mode a spawned child cannot import this module) open one new file at an agreed moment.
    import subprocess
    import sys
    import time

    for attempt in range(4):
        path = str(tmp_path / f"h{attempt}.sqlite3")
        moment = str(time.time() + 0.8)  # both interpreters started and imported by then
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AT, path, moment],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outcomes = [worker.communicate(timeout=60)[0].strip() for worker in workers]
        assert outcomes == ["ok", "ok"], outcomes


# --------------------------------------------------------------------------- read-only storage


@pytest.fixture
def read_only_copy(tmp_path: Path) -> Any:
    """A history with two checks on a read-only file system (a tmpfs remounted read-only,
    which binds root too); skipped only where this process may not mount."""
    source = tmp_path / "h.sqlite3"
    with History.open(source) as history:
        history.add(synthetic(1))
        history.add(synthetic(2, "auth-failed", stage="auth"))
    mount = tmp_path / "ro"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], capture_output=True)
    if made.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace').strip()}")
    try:
        (mount / "h.sqlite3").write_bytes(source.read_bytes())
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield mount / "h.sqlite3"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_history_on_a_read_only_file_system_is_read(read_only_copy: Path, cli: Any) -> None:
    # Red-team C7: a history that cannot be written (a read-only medium, a copy, another
    # user's file) could not even be shown ("unable to open database file").
    shown = cli.run("history", "--history", str(read_only_copy), "main")
    assert shown.code == 0, shown.err
    assert "auth-failed" in shown.out
    # --reset must write: one line saying so, exit 2, never a traceback.
    reset = cli.run("history", "--history", str(read_only_copy), "--reset", "main")
    assert reset.code == 2
    assert "cannot be written; give a writable --history file" in reset.err
    assert "Traceback" not in reset.both


def test_the_read_only_open_reads_and_writes_nothing(tmp_path: Path) -> None:
    # The path a reader takes when it cannot write: it sees every row and leaves the folder
    # as it was (no -wal or -shm file made, the file untouched).
    path = tmp_path / "h.sqlite3"
    with History.open(path) as history:
        history.add(synthetic(1))
        history.add(synthetic(2, "client-ip-rejected", stage="mail"))
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    with History._open_read_only(path) as history:
        assert [r.category for r in history.rows("main")] == ["ok", "client-ip-rejected"]
        assert history.lockout("main") is None
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
