"""The ``check`` line that ``smtpprobe double`` prints, and the double's ways out, in process.

Every scenario's printed line is run through the real CLI (typer's CliRunner on
``smtpprobe.cli.app``) against the real double on loopback; its verdict must be what the
scenario is there to show. The subprocess side (the ``double`` command itself, signals,
pipes, audit hooks, a network namespace) is in tests/e2e/test_offline.py.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smtpprobe.cli import app
from smtpprobe.pipes import quiet_on_broken_pipe
from smtpprobe.testing import DoubleServer, load_scenarios
from smtpprobe.testing.commands import CheckCommand, check_command
from smtpprobe.testing.foreground import exit_on_signals, signals_deferred, stop_on_signals
from smtpprobe.testing.pytest_plugin import DoubleFactory

pytestmark = pytest.mark.network

# What each scenario is there to show, read from its summary in scenarios.yaml (not from the
# `check:` lists that commands.py uses, so that a wrong list cannot pass its own test).
POINTS = {
    "ok": "ok",  # healthy server, default credentials accepted
    "auth-failed": "auth-failed",  # every AUTH gets 535
    "relay-denied-ocn": "relay-denied",  # RCPT gets 553 E041 after AUTH
    "geo-filter-sakura": "client-ip-rejected",  # MAIL refused off the allow-list
    "tls-required": "tls-required",  # AUTH before STARTTLS gets 530
    "sender-mismatch": "sender-rejected",  # MAIL FROM another address gets 553
    "no-auth-offered": "auth-unavailable",  # EHLO never offers AUTH
    "open-relay": "ok",  # RCPT to any domain accepted without AUTH
    "greeting-421": "server-busy",  # 421 at the greeting
    "hang-after-connect": "timeout",  # no greeting, ever
    "drop-after-ehlo": "connection-lost",  # dropped after EHLO
    "garbage-reply": "protocol-error",  # non-SMTP bytes to EHLO
    "sjis-reply": "recipient-unknown",  # 550 5.1.1 in Shift_JIS
    "tls-cert-expired": "tls-certificate-invalid",  # expired certificate
    "mailbox-full": "mailbox-full",  # 552 5.2.2
}
FAST = ("--phase-timeout", "1", "--timeout", "5")
# hang-after-connect (STARTTLS) never greets: its line waits out the greeting, then the second
# look at the port; only the connection must open in time.
HANG = ("--phase-timeout", "0.3", "--timeout", "5")


class ResolverSink:
    """A UDP socket on loopback standing in for the public DNS servers of the egress lookup."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.spec = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def queries(self) -> int:
        count = 0
        while True:
            try:
                self.sock.recv(4096)
            except BlockingIOError:
                return count
            count += 1


def run_line(command: CheckCommand, *extra: str) -> tuple[int, dict[str, object], str]:
    """Run the line in process; the exit code, the JSON report (or {}) and the output."""
    sink = ResolverSink()
    try:
        env = {
            **command.environ,
            "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config",
            # If the line looked up the egress address, the queries would land here.
            "SMTPPROBE_EGRESS_RESOLVERS": sink.spec,
        }
        result = CliRunner().invoke(app, [*command.argv, *extra, "--json"], env=env)
        assert sink.queries() == 0, f"the line asked DNS for the egress address: {command}"
    finally:
        sink.sock.close()
    try:
        report = json.loads(result.stdout)
    except ValueError:
        report = {}
    return result.exit_code, report, result.output


def category(report: dict[str, object]) -> object:
    verdict = report.get("verdict")
    return verdict.get("category") if isinstance(verdict, dict) else None


# --------------------------------------------------------------------------- the printed line


def test_every_scenario_has_a_point() -> None:
    assert set(POINTS) == set(load_scenarios()), "add the new scenario's point to POINTS"


@pytest.mark.parametrize("name", list(POINTS))
def test_printed_line_shows_the_scenario_point(smtp_double: DoubleFactory, name: str) -> None:
    server = smtp_double(name)
    fast = HANG if POINTS[name] == "timeout" else FAST
    code, report, output = run_line(check_command(server, *fast))
    assert category(report) == POINTS[name], output
    assert code == report["exit_code"]


@pytest.mark.parametrize("security", ["plain", "implicit-tls", "starttls"])
def test_printed_line_for_ok_in_every_security_mode(
    smtp_double: DoubleFactory, security: str
) -> None:
    server = smtp_double("ok", security=security)
    code, report, output = run_line(check_command(server, *FAST))
    assert (code, category(report)) == (0, "ok"), output


def test_printed_line_for_a_double_on_another_loopback_address(
    smtp_double: DoubleFactory,
) -> None:
    # The certificate names the address the double listens on; before, 127.0.0.5 made
    # the printed line end in tls-certificate-invalid for a healthy server.
    server = smtp_double("ok", host="127.0.0.5")
    code, report, output = run_line(check_command(server, *FAST))
    assert (code, category(report)) == (0, "ok"), output


def test_geo_filter_on_ipv6_says_what_the_line_cannot_show() -> None:
    server = DoubleServer("geo-filter-sakura", host="::1")  # not started: no bind needed
    try:
        command = check_command(server)
    finally:
        server.stop()
    assert "--source-address" not in command.argv
    assert "127.0.0.2" in command.note and "127.0.0.1" in command.note
    assert "\n" not in command.note


def test_shell_line_round_trips_through_a_shell(tmp_path: Path) -> None:
    odd = tmp_path / "a folder with 'quotes' & spaces"
    with DoubleServer("ok", ca_dir=odd) as server:
        command = check_command(server)
        words = shlex.split(command.shell())
    env_words = [w for w in words if "=" in w and not w.startswith("-")]
    assert env_words == [f"{k}={v}" for k, v in command.env]
    assert words[len(env_words)] == "smtpprobe"
    assert tuple(words[len(env_words) + 1 :]) == command.argv
    assert str(odd / "smtpprobe-double-ca.pem") in words


def test_no_auth_line_names_a_sender_and_no_password(smtp_double: DoubleFactory) -> None:
    command = check_command(smtp_double("open-relay"))
    assert "--no-auth" in command.argv and "--user" not in command.argv
    assert command.env == ()
    assert command.argv[command.argv.index("--from") + 1] == "user@example.jp"


# --------------------------------------------------------------------------- cleaning up


def test_an_exception_inside_the_block_removes_the_ca_folder() -> None:
    with pytest.raises(ZeroDivisionError), DoubleServer("ok") as server:
        folder = server.ca_file.parent
        assert folder.is_dir()
        1 / 0  # noqa: B018
    assert not folder.exists()


def test_a_server_that_cannot_bind_removes_its_ca_folder() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = DoubleServer("ok", port=busy.getsockname()[1])
        folder = server.ca_file.parent
        with pytest.raises(OSError) as caught:
            server.start()
    assert caught.value.errno == errno.EADDRINUSE
    assert not folder.exists()


def test_a_server_never_stopped_loses_its_folder_at_exit(tmp_path: Path) -> None:
    script = (
        "from smtpprobe.testing import DoubleServer\n"
        "server = DoubleServer('ok').start()\n"
        "print(server.ca_file.parent, flush=True)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert Path(proc.stdout.strip()).parent == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_a_script_stopped_mid_step_logs_nothing(
    smtp_double: DoubleFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # garbage-reply sleeps a second after its junk; stopping then used to make Python 3.11's
    # streams log "Exception in callback … CancelledError" on the terminal.
    caplog.set_level(logging.DEBUG, logger="asyncio")
    server = smtp_double("garbage-reply")
    with socket.create_connection((server.host, server.port), timeout=3) as client:
        client.recv(1024)  # greeting
        client.sendall(b"EHLO client\r\n")
        deadline = time.monotonic() + 3
        while b"garbage" not in client.recv(1024) and time.monotonic() < deadline:
            pass
        server.stop()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# --------------------------------------------------------------------------- signals, pipes


def test_stop_on_signals_records_and_restores() -> None:
    # From a handler of the test's own: a run under `nohup` inherits SIGHUP ignored, which
    # stop_on_signals rightly keeps (the test below), and this test would wait in vain.
    def before(signum: int, frame: object) -> None:
        raise AssertionError("the block's handler should have had the signal")

    inherited = signal.signal(signal.SIGHUP, before)
    try:
        with stop_on_signals() as stop:
            os.kill(os.getpid(), signal.SIGHUP)
            assert stop.wait(5) is signal.SIGHUP
        assert signal.getsignal(signal.SIGHUP) is before
    finally:
        signal.signal(signal.SIGHUP, inherited)


def test_stop_on_signals_wait_returns_none_after_the_duration() -> None:
    with stop_on_signals() as stop:
        assert stop.wait(0.05) is None


def test_an_ignored_signal_stays_ignored() -> None:
    # `nohup smtpprobe double &`: SIGHUP is ignored and must not stop the double.
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with stop_on_signals() as stop:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            assert stop.wait(0.2) is None
    finally:
        signal.signal(signal.SIGHUP, before)


def test_exit_on_signals_raises_system_exit_128_plus_signal() -> None:
    with pytest.raises(SystemExit) as caught, exit_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises here
    assert caught.value.code == 128 + signal.SIGTERM


def test_a_signal_inside_signals_deferred_waits_for_the_block_to_end(tmp_path: Path) -> None:
    # The window the demo's SIGTERM test once hit: the CA folder made, its removal not yet
    # registered. The signal must neither cut the step nor be lost.
    done = []
    with pytest.raises(SystemExit) as caught, exit_on_signals():
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # a handler that raised would have raised here
            done.append("step")
        time.sleep(5)  # never reached: the block's end raises
    assert caught.value.code == 128 + signal.SIGTERM and done == ["step"]


def test_tls_material_is_made_whole_even_when_a_signal_arrives(tmp_path: Path) -> None:
    from smtpprobe.testing.ca import make_tls_material

    tempdirs = []
    real = tempfile.TemporaryDirectory

    def with_signal(*args: object, **kwargs: object) -> tempfile.TemporaryDirectory[str]:
        made = real(dir=tmp_path, prefix="x-")
        os.kill(os.getpid(), signal.SIGTERM)  # right after the folder exists
        tempdirs.append(made)
        return made

    with pytest.MonkeyPatch.context() as mp, exit_on_signals():
        mp.setattr(tempfile, "TemporaryDirectory", with_signal)
        with pytest.raises(SystemExit):
            make_tls_material()
    # The object that owns the folder came back whole, so its cleanup is registered.
    assert len(tempdirs) == 1 and tempdirs[0]._finalizer.alive  # type: ignore[attr-defined]
    tempdirs[0].cleanup()
    assert list(tmp_path.iterdir()) == []


def test_a_broken_pipe_that_is_not_stdout_is_not_swallowed() -> None:
    # Under pytest, stdout is a file or a terminal, not a pipe without a reader: a
    # BrokenPipeError then comes from something else (a socket) and must surface.
    with pytest.raises(BrokenPipeError), quiet_on_broken_pipe():
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_double_refuses_a_host_off_loopback() -> None:
    result = CliRunner().invoke(app, ["double", "--host", "10.0.0.1"])
    assert result.exit_code == 2
    assert "only listens on loopback" in result.output


def test_double_on_a_busy_port_says_so_and_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = CliRunner().invoke(app, ["double", "--port", port, "--duration", "0"])
    assert result.exit_code == 2
    assert "cannot listen on 127.0.0.1:" in result.output
    assert list(tmp_path.iterdir()) == []


def test_double_list_in_process_is_unchanged() -> None:
    result = CliRunner().invoke(app, ["double", "--list"])
    assert result.exit_code == 0
    named = [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert named == list(POINTS)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_double_list_fits_80_columns(lang: str) -> None:
    # The summaries made lines of 124 (English) and 138 (Japanese) columns; they wrap
    # under themselves, and every word of each summary is still there.
    from smtpprobe.render.columns import width
    from smtpprobe.testing import load_scenarios

    result = CliRunner().invoke(app, ["double", "--list", "--lang", lang])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(width(line) for line in lines) <= 80
    joined = "".join("".join(line[35:].split()) for line in lines)
    for s in load_scenarios().values():
        summary = s.summary_ja if lang == "ja" else s.summary
        assert "".join(summary.split()) in joined, s.name
