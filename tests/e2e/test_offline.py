"""The demo and the double stay on loopback, clean up on every way out, and end quietly in pipes.

Proof that nothing leaves loopback, two ways:
(a) a Python audit hook (PEP 578) in the process under test records every address of
    ``socket.connect``, ``sendto``, ``sendmsg``, ``bind``, ``getaddrinfo``, ``gethostbyname``,
    ``gethostbyaddr`` and ``getnameinfo``, and refuses any that is not loopback, so that even a
    regression sends nothing out; the test then asserts that every address was loopback;
(b) ``smtpprobe demo`` in a new network namespace whose only interface is ``lo`` gives the same
    verdicts as outside.
None of these processes is told SMTPPROBE_EGRESS_RESOLVERS: they use their real defaults.
The hook and the demo's two processes (started with the session's in-process demo run, so
that their waits overlap) are in tests/processes.py; everything here needs a real process.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest

from ..processes import BIN, audited, environment, finish

# With the demo tests, on one worker (tests/conftest.py WORKER_GROUPS): they share the
# session's demo runs (demo_runs).
pytestmark = pytest.mark.network

EXIT_BROKEN_PIPE = 141

# Starts smtpprobe with SIGINT and SIGHUP at their defaults even if the test runner's shell
# ignores them (a background job, nohup): the double keeps ignored signals ignored.
WITH_DEFAULT_SIGNALS = r"""
import os, signal, sys
for name in ("SIGINT", "SIGTERM", "SIGHUP"):
    signal.signal(getattr(signal, name), signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])
"""


def records(log: Path) -> list[tuple[str, str, bool]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [tuple(json.loads(line)) for line in lines]  # type: ignore[misc]


def assert_loopback_only(log: Path, *, saw: str = "socket.connect", said: object = None) -> None:
    """Every audited address was loopback (and the hook did see ``saw``: it was working).

    ``said`` is what the process answered, shown when the hook saw nothing (why it did not
    get as far as ``saw``).
    """
    seen = records(log)
    assert any(event == saw for event, _, _ in seen), f"the hook saw no {saw}; it said {said!r}"
    assert [r for r in seen if not r[2]] == [], "left loopback (refused by the hook)"


def read_banner(stream: IO[str]) -> dict[str, str]:
    """The double's lines up to its ``try`` line, by their first word."""
    lines: dict[str, str] = {}
    while "try" not in lines:
        line = stream.readline()
        assert line, f"the double stopped early; it printed {lines}"
        key = "CA file" if line.startswith("CA file") else line.split(" ", 1)[0]
        lines[key] = line[len(key) :].strip()
    return lines


def follow(try_line: str) -> tuple[dict[str, str], list[str]]:
    """The environment and smtpprobe arguments of a printed ``VAR=v smtpprobe …`` line."""
    words = shlex.split(try_line)
    at = words.index("smtpprobe")
    env = dict(word.split("=", 1) for word in words[:at])
    return env, words[at + 1 :]


def demo_verdicts(out: str) -> list[tuple[str, ...]]:
    """(case, verdict, stage, exit) per row of ``smtpprobe demo``'s table."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("-----"))
    spans, start = [], 0
    for dashes in lines[rule].split("  ")[:4]:
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 2
    rows = []
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        rows.append(tuple(line[a:b].strip() for a, b in spans))
    return rows


# --------------------------------------------------------------------------- (a) audit hook


# Scenario -> the verdict its printed line must give ("ok" is what the brief's example runs;
# geo-filter-sakura is the one whose line needs a source address off the allow-list).
FOLLOWED = {"ok": "ok", "geo-filter-sakura": "client-ip-rejected"}


def test_double_and_its_printed_line_stay_on_loopback(tmp_path: Path) -> None:
    # The test stops the doubles itself; --duration only bounds them should it die. Long
    # enough for a loaded machine: a double that ended by itself had removed its CA file
    # before a check started (a CI run on a machine busy with other jobs, 2026-12-07).
    doubles = {
        name: audited(
            ["double", "--scenario", name, "--duration", "180"], tmp_path / f"double-{name}"
        )
        for name in FOLLOWED
    }
    try:
        checks = {}
        for name, double in doubles.items():
            assert double.stdout is not None
            env, argv = follow(read_banner(double.stdout)["try"])
            checks[name] = audited(
                [*argv, "--json"], tmp_path / f"check-{name}", env=environment(**env)
            )
        verdicts = {}
        for name, check in checks.items():
            _, out, err = finish(check)
            verdicts[name] = json.loads(out)["verdict"]["category"] if out else err
        for double in doubles.values():
            double.send_signal(signal.SIGTERM)
        ended = {name: finish(double)[::2] for name, double in doubles.items()}
    finally:
        for double in doubles.values():
            if double.poll() is None:
                double.kill()
                double.wait()
    for name in FOLLOWED:
        assert_loopback_only(tmp_path / f"double-{name}", saw="socket.bind")
        assert_loopback_only(tmp_path / f"check-{name}", said=verdicts[name])
    assert verdicts == FOLLOWED
    assert ended == dict.fromkeys(FOLLOWED, (0, ""))


def test_demo_stays_on_loopback_and_gives_the_same_verdicts_in_a_namespace(
    demo_runs: Any,
) -> None:
    # demo_runs (tests/conftest.py) started both processes (tests/processes.py) together
    # with the session's in-process demo run, so that their waits overlap.
    out_code, out_text, out_err = finish(demo_runs.audited, timeout=60)
    in_code, in_text, in_err = finish(demo_runs.namespaced, timeout=60)
    assert (out_code, out_err) == (0, ""), out_err
    assert (in_code, in_err) == (0, ""), in_err
    assert_loopback_only(demo_runs.log)
    rows = demo_verdicts(out_text)
    assert len(rows) >= 10 and all(row[1] != "(skipped)" for row in rows), out_text
    assert demo_verdicts(in_text) == rows


# --------------------------------------------------------------------------- ways out


def spawn(args: list[str], tmpdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WITH_DEFAULT_SIGNALS, str(BIN), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(tmpdir),
    )


WAYS_OUT = ("SIGTERM", "SIGINT", "SIGHUP", "--duration")


def test_double_removes_its_ca_folder_on_every_way_out(tmp_path: Path) -> None:
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for way in WAYS_OUT:  # all at once: each waits on its own signal
            (tmp_path / way).mkdir()
            # Long enough that its CA file is still there when the banner is read on a busy
            # host (0.5 s once ended first, in a CI-like run beside other work).
            duration = ["--duration", "3"] if way == "--duration" else []
            procs[way] = spawn(["double", "--scenario", "ok", *duration], tmp_path / way)
        folders = {}
        for way, proc in procs.items():
            assert proc.stdout is not None
            ca_file = Path(read_banner(proc.stdout)["CA file"])
            assert ca_file.is_file() and ca_file.parent.parent == tmp_path / way
            folders[way] = ca_file.parent
            if way != "--duration":
                proc.send_signal(getattr(signal, way))
        ended = {way: finish(proc)[::2] for way, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # Exit 0 and nothing on stderr: for the double, a signal is the normal way to stop
    # (`smtpprobe double --help` says so).
    assert ended == dict.fromkeys(WAYS_OUT, (0, ""))
    assert [way for way, folder in folders.items() if folder.exists()] == []
    # Nor anything else, such as the file the server key passes through.
    assert [path for way in WAYS_OUT for path in (tmp_path / way).iterdir()] == []


def test_demo_cut_short_by_sigterm_removes_every_ca_folder(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = spawn(["demo"], tmpdir)
    try:
        deadline = time.monotonic() + 20
        while not any(tmpdir.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(tmpdir.iterdir()), "the demo made no CA folder"
        proc.send_signal(signal.SIGTERM)
        code, _, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (code, err) == (128 + signal.SIGTERM, "")
    assert list(tmpdir.iterdir()) == []


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_demo_cut_short_while_its_probes_run_ends_quietly(tmp_path: Path, name: str) -> None:
    # A signal while the event loop runs once raised SystemExit inside a task: "exception was
    # never retrieved" tracebacks, and once a loop that waited for ever. It cancels the work.
    signum = getattr(signal, name)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = spawn(["demo"], tmpdir)
    try:
        deadline = time.monotonic() + 20
        while len(list(tmpdir.iterdir())) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # several servers made: the probes are starting or running
        proc.send_signal(signum)
        code, _, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (code, err) == (128 + signum, "")
    assert list(tmpdir.iterdir()) == []


def test_double_help_says_how_it_stops(cli) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(cli.run("double", "--help").out.split())  # whatever the wrapping
    assert "Ctrl-C, SIGTERM or SIGHUP" in text and "exits 0" in text


# --------------------------------------------------------------------------- closed pipes


def closed_stdout(args: list[str], tmpdir: Path | None = None) -> tuple[int, str]:
    """Run smtpprobe with a stdout whose reader has already gone: every write is EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [str(BIN), *args],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(tmpdir),
            timeout=30,
        )
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr


def test_double_list_into_a_closed_pipe_ends_quietly() -> None:
    assert closed_stdout(["double", "--list"]) == (EXIT_BROKEN_PIPE, "")


def test_double_serving_into_a_closed_pipe_ends_quietly_and_cleans_up(tmp_path: Path) -> None:
    assert closed_stdout(["double", "--scenario", "ok"], tmp_path) == (EXIT_BROKEN_PIPE, "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [["explain", "550 5.1.1 <a@example.jp>: Recipient address rejected"], ["profiles"]],
    ids=["explain", "profiles"],
)
def test_other_commands_into_a_closed_pipe_end_quietly(args: list[str]) -> None:
    # These go through typer's own EPIPE handling (exit 1, a failed check's code) until
    # cli.main runs under smtpprobe.pipes.run_quietly_on_broken_pipe.
    assert closed_stdout(args) == (EXIT_BROKEN_PIPE, "")


@pytest.mark.parametrize(
    "args",
    [
        ["double", "--list"],
        ["explain", "550 5.1.1 <a@example.jp>: Recipient address rejected"],
        ["profiles"],
    ],
    ids=["double-list", "explain", "profiles"],
)
def test_piped_into_head(args: list[str]) -> None:
    # Whether the writer meets EPIPE depends on timing; either way the pipeline is quiet.
    proc = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" | head -1', "bash", str(BIN), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment(),
        timeout=30,
    )
    assert proc.stderr == ""
    assert proc.returncode in (0, EXIT_BROKEN_PIPE)
    assert len(proc.stdout.splitlines()) == 1


# The wrapper runs the installed script in its own interpreter once CPython's start-up is
# over and says so on stderr; the delay counts from there. (Counting from Popen made the
# test depend on the machine's speed: on a loaded machine 0.15 s still fell in CPython's
# own start-up, where only the interpreter decides what is printed.) The script is read and
# compiled, and smtpprobe.entry imported (0.4 ms, nothing at its top), before "started", so
# what is left of the wrapper after it is a few bytecodes.
RUN_AFTER_START_UP = r"""
import re, signal, sys
import smtpprobe.entry
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv = sys.argv[1:]
with open(sys.argv[0], encoding="utf-8") as script:
    code = compile(script.read(), sys.argv[0], "exec")
sys.stderr.write("started\n"); sys.stderr.flush()
exec(code, {"__name__": "__main__", "__file__": sys.argv[0]})
"""


def _interrupted(tmp_path: Path, delay: float) -> tuple[int, str]:
    """Run `explain -` under the wrapper, interrupt it `delay` s after "started"."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_AFTER_START_UP, str(BIN), "explain", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment(tmp_path),
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline() == "started\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def _fell_in_the_wrapper(err: str) -> bool:
    # With other jobs on both cores the child can lose the CPU right after writing
    # "started" for longer than the delay; the signal then lands in the wrapper's last
    # bytecodes, before the installed script's first line, and the traceback says so.
    frames = [line for line in err.splitlines() if line.lstrip().startswith("File ")]
    return bool(frames) and all('"<string>"' in frame for frame in frames)


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 1.0])
def test_ctrl_c_at_any_moment_ends_quietly(tmp_path: Path, delay: float) -> None:
    # A red-team round: Ctrl-C while the command line was still being imported printed a
    # KeyboardInterrupt traceback. `explain -` waits on its standard input, so the signal
    # comes at start-up or while it waits; either way: 130 and no traceback.
    for _ in range(5):
        code, err = _interrupted(tmp_path, delay)
        if not _fell_in_the_wrapper(err):
            break
    assert code == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err


def test_the_entry_points_interrupt_code_is_the_documented_one() -> None:
    # smtpprobe.entry keeps the code as a number, not ExitCode's import, so that as little
    # as possible loads before its handler is set up.
    from smtpprobe import entry
    from smtpprobe.core.exitcode import ExitCode

    assert entry._INTERRUPTED == ExitCode.INTERRUPTED
    checked = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import smtpprobe.entry"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert " typing" not in checked.stderr and "exitcode" not in checked.stderr
