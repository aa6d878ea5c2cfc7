"""``smtpprobe history``: timelines, changes, --reset, --json and --lang ja.

Replies here are synthetic test texts, not any provider's real wording.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.api import CheckOptions, probe
from smtpprobe.cli_history import local_time
from smtpprobe.core.timeline import HistoryRow
from smtpprobe.history import History
from smtpprobe.testing import DEFAULT_USER

REJECTED = "550 5.7.1 <me@example.jp>... Command rejected"


def add(history: History, minute: int, category: str = "ok", **kw: Any) -> None:
    base: dict[str, Any] = {
        "name": "ocn-main",
        "at": f"2026-01-30T10:{minute:02d}:00Z",
        "category": category,
        "exit_code": 0 if category == "ok" else 1,
        "capabilities": ("AUTH PLAIN LOGIN",),
        "auth_mechanisms": ("PLAIN", "LOGIN"),
        "cert_fingerprint": "aa" * 32,
        "tls_version": "TLSv1.3",
    }
    if category != "ok":
        base.update(stage="mail", reply=REJECTED)
    base.update(kw)
    history.add(HistoryRow(**base))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """ok, a blip, ok, then client-ip-rejected twice; a second check; a certificate change."""
    path = tmp_path / "history.sqlite3"
    with History.open(path) as history:
        add(history, 0)
        add(history, 1, "client-ip-rejected")
        add(history, 2, cert_fingerprint="bb" * 32)
        add(history, 3, cert_fingerprint="bb" * 32)
        add(history, 4, "client-ip-rejected", cert_fingerprint="bb" * 32)
        add(history, 5, "client-ip-rejected", cert_fingerprint="bb" * 32)
        add(history, 6, name="sakura")
    return path


def test_timeline_in_english(cli: Any, db: Path) -> None:
    result = cli.run("history", "--history", str(db), "--lang", "en")
    assert result.code == 0, result.err
    since_ok, since_rejected = (
        local_time("2026-01-30T10:00:00Z"),
        local_time("2026-01-30T10:04:00Z"),
    )
    lines = result.out.splitlines()
    assert lines[0] == "ocn-main"
    # The blip is counted in the stretch it interrupted, never hidden (a flapping server).
    assert (
        lines[1] == f"  ok since {since_ok} (3 results; 1 other in between: client-ip-rejected 1)"
    )
    assert lines[2] == (
        f"  client-ip-rejected since {since_rejected}, reply {REJECTED} (2 results)  <- now"
    )
    assert lines[3] == "  changes:"
    assert lines[4].endswith(
        "certificate replaced: SHA-256 aaaaaaaaaaaaaaaa… -> bbbbbbbbbbbbbbbb…, valid until ?"
    )
    assert (
        lines[5]
        == f"    {since_rejected}: state changed from ok to client-ip-rejected, reply {REJECTED}"
    )
    assert "sakura" in lines and result.err == ""


def test_timeline_in_japanese(cli: Any, db: Path) -> None:
    result = cli.run("history", "ocn-main", "--history", str(db), "--lang", "ja")
    assert result.code == 0, result.err
    since = local_time("2026-01-30T10:04:00Z")
    state = "接続元 IP の拒否（client-ip-rejected）"
    assert f"  {since} から {state}、応答「{REJECTED}」（2 回）  ← 現在" in result.out
    assert "  変化:" in result.out and "証明書が替わりました" in result.out
    assert f"状態が 成功（ok） から {state} に変わりました" in result.out
    assert "sakura" not in result.out
    for english in ("since", "changes", "state changed", "results"):
        assert english not in result.out


def test_confirm_option(cli: Any, db: Path) -> None:
    once = cli.run("history", "ocn-main", "--history", str(db), "--confirm", "1", "--json")
    states = [s["category"] for s in once.json()["checks"][0]["states"]]
    assert states == ["ok", "client-ip-rejected", "ok", "client-ip-rejected"]
    thrice = cli.run("history", "ocn-main", "--history", str(db), "--confirm", "3", "--json")
    check = thrice.json()["checks"][0]
    assert [s["category"] for s in check["states"]] == ["ok"]
    assert check["latest"] == {
        "at": "2026-01-30T10:05:00Z",
        "category": "client-ip-rejected",
        "exit_code": 1,
        "confirmed": False,
    }
    text = cli.run("history", "ocn-main", "--history", str(db), "--confirm", "3", "--lang", "en")
    assert "latest: client-ip-rejected at " in text.out and "not yet confirmed (2 of 3)" in text.out
    bad = cli.run("history", "--history", str(db), "--confirm", "0")
    assert bad.code == 2


def test_json_document(cli: Any, db: Path) -> None:
    result = cli.run("history", "--history", str(db), "--json")
    assert result.code == 0
    document = result.json()
    assert document["schema"] == "smtpprobe/history/v1"
    first, second = document["checks"]
    assert (first["name"], first["state"], first["results"]) == (
        "ocn-main",
        "client-ip-rejected",
        6,
    )
    assert [c["kind"] for c in first["changes"]] == ["certificate", "state"]
    assert first["locked_out"] is False and first["backoff_until"] is None
    assert second["name"] == "sakura" and second["changes"] == []


def test_unknown_check_and_missing_file_are_one_line(cli: Any, db: Path, tmp_path: Path) -> None:
    unknown = cli.run("history", "ocn-typo", "--history", str(db), "--lang", "en")
    assert unknown.code == 2 and unknown.out == ""
    assert unknown.err == (
        f"smtpprobe: error: no history for check 'ocn-typo' in {db} "
        "(checks with a history: ocn-main, sakura)\n"
    )
    missing = cli.run("history", "--history", str(tmp_path / "none.sqlite3"))
    assert missing.code == 2 and missing.err.count("\n") == 1
    assert "no such file; run `smtpprobe run CHECKS.yaml` first" in missing.err
    assert not (tmp_path / "none.sqlite3").exists()  # reading never creates one


def test_empty_history(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    History.open(path).close()
    result = cli.run("history", "--history", str(path), "--lang", "ja")
    assert result.code == 0 and "まだ結果がありません" in result.out


def test_lockout_is_shown_and_reset(cli: Any, smtp_double: Any, tmp_path: Path) -> None:
    """A real auth-failed probe in the history; `--reset NAME` clears the lockout."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Check:
        name: str

    @dataclass(frozen=True)
    class Result:
        check: Check
        report: Any
        credential_tag: str = "tag-of-the-old-secret"
        error: None = None
        skipped: None = None
        started_at: str = "2026-01-30T10:02:00Z"
        duration: float = 0.1

        @property
        def exit_code(self) -> int:
            return int(self.report.exit_code)

        @property
        def category(self) -> str:
            return str(self.report.verdict.category)

    server = smtp_double("auth-failed")
    options = CheckOptions(
        host=server.host, port=server.port, security=str(server.security), user=DEFAULT_USER,
        password="wrong-password-here", ca_file=server.ca_file, egress_lookup=False,
        phase_timeout=5, timeout=10,
    )  # fmt: skip
    report = asyncio.run(probe(options))
    path = tmp_path / "history.sqlite3"
    with History.open(path) as history:
        history.record(Result(Check("mail"), report))
    shown = cli.run("history", "--history", str(path), "--lang", "en")
    assert "auth-failed since" in shown.out and "reply 535 5.7.8 " in shown.out
    assert "locked out after auth-failed" in shown.out
    assert "`smtpprobe history --reset mail`" in shown.out
    assert "wrong-password-here" not in shown.out + path.read_bytes().decode("latin-1")
    assert cli.run("history", "--history", str(path), "--json").json()["checks"][0]["locked_out"]
    # --reset with --json printed the sentence; a script gets the cleared check as JSON.
    cleared = cli.run("history", "--history", str(path), "--reset", "mail", "--json").json()
    assert cleared["reset"] == "mail" and [c["name"] for c in cleared["checks"]] == ["mail"]
    assert cleared["checks"][0]["locked_out"] is False
    reset = cli.run("history", "--history", str(path), "--reset", "mail", "--lang", "ja")
    assert reset.code == 0 and reset.out.startswith("mail: ロックアウトと待機を解除しました")
    with History.open(path) as history:
        assert history.lockout("mail") is None and len(history.rows("mail")) == 1
    again = cli.run("history", "--history", str(path), "--lang", "en")
    assert "locked out" not in again.out
    typo = cli.run("history", "--history", str(path), "--reset", "mial")
    assert typo.code == 2 and "no history for check 'mial'" in typo.err


def test_backoff_is_shown(cli: Any, tmp_path: Path) -> None:
    import datetime as dt

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "history.sqlite3"
    with History.open(path) as history:
        history.add(HistoryRow(name="slow", at=now, category="timeout", exit_code=3))
    shown = cli.run("history", "--history", str(path), "--lang", "en")
    assert "backing off after transient failures: next try after " in shown.out
    assert cli.run("history", "--history", str(path), "--json").json()["checks"][0]["backoff_until"]


def test_a_lockout_after_a_hang_up_says_so_and_japanese_names_categories(
    cli: Any, tmp_path: Path
) -> None:
    # A hang-up right after the credentials locks out too (login_refused), but the line
    # said "locked out after auth-failed"; the Japanese lines and JSON messages showed bare
    # category ids ("状態が ok から …").
    path = tmp_path / "history.sqlite3"
    with History.open(path) as history:
        history.add(HistoryRow(name="drop", at="2026-01-30T10:00:00Z", category="ok"))
        history.add(
            HistoryRow(name="drop", at="2026-01-30T10:05:00Z", category="connection-lost",
                       exit_code=3, credential_tag="t", login_refused=True)
        )  # fmt: skip
    shown = cli.run("history", "--history", str(path), "--confirm", "1", "--lang", "en")
    assert "locked out after connection-lost (the server refused the login)" in shown.out
    shown = cli.run("history", "--history", str(path), "--confirm", "1", "--lang", "ja")
    assert "接続の切断（connection-lost）（サーバーがログインを拒否）のためロックアウト中" in (
        shown.out
    ), shown.out
    data = cli.run("history", "--history", str(path), "--confirm", "1", "--json").json()
    message = data["checks"][0]["changes"][-1]["message"]["ja"]
    assert "状態が 成功（ok） から 接続の切断（connection-lost） に変わりました" in message


def test_installed_command(installed_cli: Any, db: Path) -> None:
    result = installed_cli.run("history", "--history", str(db), env={"TZ": "UTC"})
    assert result.code == 0, result.err
    assert "  client-ip-rejected since 2026-01-30 10:04 UTC, reply " in result.out
