"""The console script ends as soon as its work is done, and nothing is lost by it.

``smtpprobe.entry`` ends the process with ``os._exit`` once the command has returned, its
output flushed and the ``atexit`` handlers run; with a thread that is not a daemon still
running it leaves the exit to the interpreter, which waits for it. The scripts below run
``smtpprobe.entry.main`` in a new interpreter, as the console script does, with something
of their own for the exit to keep or skip: an ``atexit`` handler (always run), a non-daemon
thread (always waited for), and an object whose ``__del__`` speaks only in the
interpreter's teardown (skipped by the fast exit, run by the normal one).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from smtpprobe import entry

from ..conftest import process_environment

_SCRIPT = """
import atexit, sys, threading, time

class Teardown:
    def __del__(self):
        sys.stderr.write("teardown ran\\n")

KEEP = Teardown()
atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
import smtpprobe.entry as entry
if {thread!r}:
    def late():
        time.sleep(0.3)
        sys.stderr.write("thread finished\\n")
    # Started as main() reaches its end, so that it is still running there however long
    # the command took (started before it, on a busy machine it had ended first).
    end = entry._end
    def _end(code):
        threading.Thread(target=late).start()
        end(code)
    entry._end = _end
sys.argv = ["smtpprobe", *{args!r}]
entry.main()
sys.stderr.write("main returned\\n")
"""


def _run(*args: str, thread: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(args=list(args), thread=thread)],
        capture_output=True, text=True, timeout=60, env=process_environment(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "status", "said"),
    [
        (("explain", "550 5.7.1 Command rejected"), 0, "client-ip-rejected"),
        (("--version",), 0, "smtpprobe "),
        (("check", "--port", "99999"), 2, ""),  # a usage error: its line on stderr
    ],
    ids=["explain", "version", "usage-error"],
)
def test_the_fast_exit_keeps_the_status_the_output_and_atexit(
    args: tuple[str, ...], status: int, said: str
) -> None:
    proc = _run(*args)
    assert proc.returncode == status, proc.stderr
    assert said in proc.stdout
    assert "atexit ran" in proc.stderr
    assert "main returned" not in proc.stderr  # main ends the process
    assert "teardown ran" not in proc.stderr  # the interpreter's teardown is skipped
    assert "Traceback" not in proc.stderr


def test_a_thread_still_running_is_waited_for() -> None:
    proc = _run("--version", thread=True)
    assert proc.returncode == 0, proc.stderr
    assert "smtpprobe " in proc.stdout
    lines = proc.stderr.splitlines()
    # The interpreter's own exit: it waits for the thread, then runs atexit and the teardown.
    assert lines.index("thread finished") < lines.index("atexit ran"), lines
    assert "teardown ran" in lines


def test_output_into_a_closed_pipe_still_ends_with_141() -> None:
    # The reader of standard output has gone before the command wrote: pipes.py's 141, which
    # the fast exit keeps (its flush meets the output pointed at /dev/null).
    proc = subprocess.run(
        f"{sys.executable} -c 'from smtpprobe.entry import main; main()' "
        "explain '550 5.7.1 Command rejected' | true; echo \"${PIPESTATUS[0]}\"",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60,
        env=process_environment(),
    )  # fmt: skip
    assert proc.stdout.strip() in {"0", "141"}, proc.stderr  # 0 when it wrote before true exited
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


@pytest.mark.parametrize(
    ("code", "status", "printed"),
    [(None, 0, ""), (3, 3, ""), (True, 1, ""), (256, 0, ""), ("a message", 1, "a message\n")],
)
def test_the_status_is_the_one_sys_exit_gives(
    code: object,
    status: int,
    printed: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In process, with os._exit and the atexit run replaced: pytest's own handlers must not run.
    import atexit
    import os

    ran: list[str] = []
    ended: list[int] = []

    class Ended(Exception):
        pass

    def fake_exit(value: int) -> None:
        ended.append(value)
        raise Ended

    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: ran.append("atexit"))
    monkeypatch.setattr(os, "_exit", fake_exit)
    with pytest.raises(Ended):
        entry._end(code)
    assert ended == [status] and ran == ["atexit"]
    assert capsys.readouterr().err == printed


# An interrupt the interpreter cannot raise where it lands (in a __del__, or a weakref
# callback of the import system's module locks) is "unraisable": it printed "Exception
# ignored in: …" and carried on. Here one lands while the command line is imported.
_SWALLOWED = """
import sys
import smtpprobe.entry as entry

class Interrupted:
    def __del__(self):
        raise KeyboardInterrupt

class Finder:  # drops one as smtpprobe.cli begins to load, then lets the import go on
    def find_spec(self, name, path=None, target=None):
        if name == "smtpprobe.cli":
            sys.meta_path.remove(self)
            Interrupted()
        return None

sys.meta_path.insert(0, Finder())
sys.argv = ["smtpprobe", "explain", "-"]
entry.main()
"""


def test_an_interrupt_the_interpreter_swallows_still_ends_with_130() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SWALLOWED], input="550 5.7.1 Relay access denied\n",
        capture_output=True, text=True, timeout=60, env=process_environment(),
    )  # fmt: skip
    assert proc.returncode == entry._INTERRUPTED, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_other_unraisable_exceptions_are_still_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Only an interrupt is taken over; anything else goes to the interpreter's own hook.
    class Failing:
        def __del__(self) -> None:
            raise ValueError("from a __del__")

    previous = sys.unraisablehook
    sys.unraisablehook = entry._unraisable
    try:
        Failing()
    finally:
        sys.unraisablehook = previous
    assert "ValueError: from a __del__" in capsys.readouterr().err
    assert entry._swallowed == []
