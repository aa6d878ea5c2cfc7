"""Hooks: ``--on-change CMD`` (real shell commands) and ``--ping URL`` (a loopback server)."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.core.timeline import Change, ChangeKind, HistoryRow
from smtpprobe.history import History
from smtpprobe.notify import fail_url, ping, record_and_notify, run_on_change

CHANGE = Change(
    kind=ChangeKind.STATE,
    name="ocn-main",
    at="2026-01-30T10:02:00Z",
    before="ok",
    after="client-ip-rejected",
    reply="550 5.7.1 <me@example.jp>... Command rejected",  # a synthetic test reply
    category="client-ip-rejected",
)
PY = sys.executable


def test_the_change_arrives_as_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    outcome = run_on_change(
        f"cat > {out}; echo $SMTPPROBE_CHECK $SMTPPROBE_CHANGE >> {out}", CHANGE
    )
    assert outcome.ok and outcome.message == ""
    document, names = out.read_text(encoding="utf-8").split("\n", 1)
    data = json.loads(document)
    from smtpprobe.render.labels import category_names

    assert data == CHANGE.to_dict(category_names)
    assert data["schema"] == "smtpprobe/change/v1" and data["kind"] == "state"
    # Categories by their Japanese names (they were bare ids in the Japanese message).
    assert data["message"]["ja"].endswith(
        "状態が 成功（ok） から 接続元 IP の拒否（client-ip-rejected） に変わりました、"
        "応答「550 5.7.1 <me@example.jp>... Command rejected」"
    )
    assert names.strip() == "ocn-main state"


def test_secret_variables_are_not_passed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTPPROBE_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("OCN_PASSWORD", "another-secret")
    monkeypatch.setenv("HARMLESS", "kept")
    out = tmp_path / "env.txt"
    assert run_on_change(f"env > {out}", CHANGE, drop_env=["OCN_PASSWORD"]).ok
    env = out.read_text(encoding="utf-8")
    assert "hunter2-secret" not in env and "another-secret" not in env
    assert "HARMLESS=kept" in env


def test_a_failing_command_is_one_line(tmp_path: Path) -> None:
    outcome = run_on_change("echo 'no mail\nserver' >&2; exit 3", CHANGE)
    assert not outcome.ok
    assert outcome.message == "--on-change: the command exited with 3: no mail server"
    missing = run_on_change("/nonexistent/notify-me", CHANGE)
    assert not missing.ok and "exited with 127" in missing.message


def test_a_hanging_command_is_killed_with_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    started = time.monotonic()
    outcome = run_on_change(f"(sleep 30; touch {marker}) & sleep 30", CHANGE, timeout=0.5)
    assert time.monotonic() - started < 20  # a generous bound: not the 30 s of the command
    assert not outcome.ok and "did not finish within 0.5 s" in outcome.message
    time.sleep(0.2)
    assert not marker.exists()


# --------------------------------------------------------------------------- ping


@dataclass
class Seen:
    requests: list[tuple[str, str, bytes, str]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def hc() -> Iterator[tuple[str, Seen]]:
    """A loopback stand-in for a healthchecks-style service, recording each request."""
    seen = Seen()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            agent = self.headers.get("User-Agent", "")
            seen.requests.append((self.command, self.path, body, agent))
            self.send_response(seen.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ping/abc-123", seen
    finally:
        server.shutdown()
        server.server_close()


def test_ping_success_and_failure(hc: tuple[str, Seen]) -> None:
    url, seen = hc
    assert ping(url, ok=True).ok
    assert ping(url, ok=False, body="ocn-main: auth-failed").ok
    assert [(m, p, b) for m, p, b, _ in seen.requests] == [
        ("GET", "/ping/abc-123", b""),
        ("POST", "/ping/abc-123/fail", b"ocn-main: auth-failed"),
    ]
    assert seen.requests[0][3].startswith("smtpprobe/")


def test_ping_problems_do_not_show_the_url(hc: tuple[str, Seen], unused_port: int) -> None:
    url, seen = hc
    seen.status = 404
    outcome = ping(url, ok=True)
    assert not outcome.ok and outcome.message == "--ping: http://127.0.0.1 answered HTTP 404"
    down = ping(f"http://127.0.0.1:{unused_port}/ping/abc-123", ok=True, timeout=5)
    assert not down.ok and down.message.startswith("--ping: cannot reach http://127.0.0.1 (")
    assert "abc-123" not in outcome.message + down.message
    assert not ping("file:///etc/passwd", ok=True).ok


def test_a_ping_that_trickles_is_cut_at_its_time_limit() -> None:
    # A server that sends its status line a byte at a time: urllib's timeout is per read,
    # so without a whole-exchange limit a timer-started run would never end.
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            for byte in b"HTTP/1.1 200 OK\r\n":
                if stop.wait(0.3):
                    return
                conn.sendall(bytes([byte]))

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/ping/abc-123"
        start = time.monotonic()
        outcome = ping(url, ok=True, timeout=1.0)
        assert time.monotonic() - start < 2.5
        assert not outcome.ok and "did not answer within 1 s" in outcome.message
        assert "abc-123" not in outcome.message
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://[::1", "not a valid URL"),
        ("http://example.net:port/x", "not a valid URL"),
        ("ftp://example.net/x", "not a ftp:// URL"),
        ("http:///x", "names no host"),
    ],
)
def test_a_ping_url_that_cannot_work_is_named_before_anything_is_sent(url: str, words: str) -> None:
    from smtpprobe.notify import ping_url_problem

    problem = ping_url_problem(url)
    assert problem is not None and words in problem


def test_fail_url_keeps_the_query() -> None:
    assert fail_url("https://hc-ping.com/uuid") == "https://hc-ping.com/uuid/fail"
    assert fail_url("https://hc-ping.com/key/slug/?create=1") == (
        "https://hc-ping.com/key/slug/fail?create=1"
    )


# --------------------------------------------------------------------------- with the history


@dataclass(frozen=True)
class _Check:
    name: str


@dataclass(frozen=True)
class _Result:
    check: _Check
    category: str
    started_at: str
    report: None = None
    error: str | None = None
    skipped: str | None = None
    duration: float = 0.1
    credential_tag: str | None = None
    exit_code: int = 1


def test_record_and_notify_fires_once_per_confirmed_change(tmp_path: Path) -> None:
    log = tmp_path / "changes.jsonl"
    with History.open(tmp_path / "h.sqlite3") as history:
        history.add(HistoryRow(name="a", at="2026-01-30T10:00:00Z", category="ok"))
        fired: list[list[Change]] = []
        for minute in (1, 2, 3):
            found, outcomes = record_and_notify(
                history,
                _Result(_Check("a"), "config-error", f"2026-01-30T10:0{minute}:00Z", error="x"),
                on_change=f"cat >> {log}; echo >> {log}",
            )
            fired.append(found)
            assert all(o.ok for o in outcomes)
    assert [len(f) for f in fired] == [0, 1, 0]  # confirmed by the second result only
    [line] = [text for text in log.read_text(encoding="utf-8").splitlines() if text]
    assert json.loads(line)["after"] == "config-error"
