"""The blocking transport (``smtpprobe.blocking``): what tests/test_faults.py's table does not
show on its own. That table runs every fault through ``check`` (this transport) and its
STARTTLS cases through ``probe`` on an event loop too, and wants the same transcript; here:
the overall deadline, the coroutine runner, the resolver thread, and replies read before a
close. Every socket is on loopback.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

from smtpprobe.api import CheckOptions, Report, check, probe
from smtpprobe.blocking import BlockingConnection, BlockingTransport, ProbeDeadline, drive
from smtpprobe.core.spec import Family
from smtpprobe.core.transcript import FailureKind, Phase, Security
from smtpprobe.testing.faults import FAULT_PASSWORD, FAULT_USER, FaultPhase, FaultServer, Hang
from smtpprobe.transport import ConnectionClosed, ReplyTimeout, literal_address

pytestmark = pytest.mark.network


def _options(server: FaultServer, **values: object) -> CheckOptions:
    base: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": Security.PLAIN,
        "user": FAULT_USER,
        "password": FAULT_PASSWORD,
        "allow_plaintext_auth": True,
        "egress_lookup": False,
        "ca_file": Path(server.ca_file),
    }
    return CheckOptions(**(base | values))  # type: ignore[arg-type]


def _last_failure(report: Report) -> tuple[Phase, FailureKind, str]:
    step = report.transcript.steps[-1]
    assert step.failure is not None
    return step.phase, step.failure.kind, step.failure.detail


def test_the_overall_deadline_ends_a_wait_as_the_event_loop_does() -> None:
    # The phase would wait 5 s; the whole probe may take 0.6 s.
    with FaultServer(Hang(), FaultPhase.GREETING, Security.PLAIN) as server:
        options = _options(server, phase_timeout=5.0, timeout=0.6)
        start = time.monotonic()
        blocking = check(options)
        took = time.monotonic() - start
        loop = asyncio.run(probe(options))
    assert took < 2.0
    expected = (
        Phase.GREETING,
        FailureKind.TIMEOUT,
        "the whole probe took longer than --timeout 0.6 s",
    )
    assert _last_failure(blocking) == _last_failure(loop) == expected
    assert blocking.verdict.category == loop.verdict.category == "timeout"


def test_a_phase_timeout_is_the_phase_s_own() -> None:
    with FaultServer(Hang(), FaultPhase.EHLO, Security.PLAIN) as server:
        report = check(_options(server, phase_timeout=0.4, timeout=10.0))
    phase, kind, detail = _last_failure(report)
    assert (phase, kind) == (Phase.EHLO, FailureKind.TIMEOUT)
    assert "whole probe" not in detail


def test_drive_refuses_a_coroutine_that_waits_for_an_event_loop() -> None:
    async def suspends() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="event loop"):
        drive(suspends())


def test_drive_returns_the_result() -> None:
    async def answer() -> int:
        return 42

    assert drive(answer()) == 42


def test_a_name_is_resolved_on_a_thread_and_a_literal_without_one() -> None:
    transport = BlockingTransport(time.monotonic() + 5)
    threads = threading.active_count()
    assert drive(transport.resolve("127.0.0.1", 25, Family.ANY, 2.0)) == [
        literal_address("127.0.0.1", 25)
    ]
    assert threading.active_count() == threads
    hosts = {a.host for a in drive(transport.resolve("localhost", 25, Family.IPV4, 2.0))}
    assert hosts == {"127.0.0.1"}


def test_a_spent_deadline_is_not_a_network_error() -> None:
    transport = BlockingTransport(time.monotonic() - 1)
    with pytest.raises(ProbeDeadline):
        drive(transport.resolve("localhost", 25, Family.ANY, 2.0))
    assert not issubclass(ProbeDeadline, Exception)  # no `except Exception` swallows it


def _connect(port: int) -> BlockingConnection:
    transport = BlockingTransport(time.monotonic() + 5)
    address = literal_address("127.0.0.1", port)
    assert address is not None
    return drive(transport.connect(address, source=None, proxy=None, timeout=2.0))


def test_replies_before_a_close_are_read_first_then_the_close() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"220 ready\r\n554-go\r\n")
            time.sleep(0.05)
            conn.sendall(b"554 away\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        conn = _connect(listener.getsockname()[1])
        first = drive(conn.read_reply(2.0))
        second = drive(conn.read_reply(2.0))
        assert (first.code, second.code) == (220, 554)
        assert second.lines == (b"go", b"away")
        conn.send(b"QUIT")  # a write after the server's close does not raise
        with pytest.raises(ConnectionClosed):
            drive(conn.read_reply(2.0))
        conn.close()
    finally:
        listener.close()


def test_silence_is_a_reply_timeout() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        conn = _connect(listener.getsockname()[1])  # accepted by the kernel, never answered
        with pytest.raises(ReplyTimeout, match=r"no reply within 0\.2 s"):
            drive(conn.read_reply(0.2))
        conn.close()
    finally:
        listener.close()


def test_background_hands_over_the_result_the_error_or_unfinished() -> None:
    from smtpprobe.blocking import Background, Unfinished

    assert Background(lambda: 7, "t").result(2.0) == 7

    def fails() -> int:
        raise ValueError("from the thread")

    with pytest.raises(ValueError, match="from the thread"):
        Background(fails, "t").result(2.0)
    release = threading.Event()
    slow = Background(lambda: release.wait(5.0), "t")
    with pytest.raises(Unfinished):
        slow.result(0.05)
    release.set()
    assert slow.result(2.0) is True


def test_the_overall_deadline_keeps_the_command_it_cut_short() -> None:
    # EHLO was sent and its reply never came before --timeout: the step shows the command
    # (it once showed none), on both transports, and the cause says the whole probe ran over.
    with FaultServer(Hang(), FaultPhase.EHLO, Security.PLAIN) as server:
        options = _options(server, phase_timeout=5.0, timeout=0.6)
        reports = [check(options), asyncio.run(probe(options))]
    for report in reports:
        step = report.transcript.steps[-1]
        assert step.phase is Phase.EHLO and step.command is not None
        assert step.command.startswith("EHLO ")
        assert report.verdict.rule_id == "timeout-whole-probe"
        assert "time limit" in report.verdict.cause.en


def test_a_reply_begun_and_not_finished_is_not_called_silence() -> None:
    # A greeting that trickles in byte by byte: the server was sending, so the verdict must
    # not say it "sent no greeting"; the detail counts the bytes of the unfinished reply.
    from smtpprobe.testing.faults import SLOW_DRIP

    with FaultServer(SLOW_DRIP, FaultPhase.GREETING, Security.PLAIN) as server:
        # A byte every 0.5 s: at 1.2 s two have come, on a busy machine at least one.
        options = _options(server, phase_timeout=1.2, timeout=10.0)
        reports = [check(options), asyncio.run(probe(options))]
    for report in reports:
        # (After it, a second connection looks at what the port speaks: the security check.)
        step = next(s for s in report.transcript.steps if s.phase is Phase.GREETING)
        assert step.failure is not None and step.failure.kind is FailureKind.TIMEOUT
        assert "bytes of an unfinished reply" in step.failure.detail, step.failure.detail
        assert report.verdict.rule_id == "timeout-unfinished-reply"
        assert "no greeting" not in report.verdict.cause.en
