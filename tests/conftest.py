"""Shared test settings and the two ways to run the command line.

In CI, a skipped test fails the run (nothing is skipped silently).

``cli`` runs ``smtpprobe`` in this process: ``smtpprobe.cli.main`` (the console script's
own entry point) inside typer's CliRunner isolation, against real servers on loopback
(real sockets, real TLS). ``installed_cli`` runs the installed console script in a real
process, for what only a process shows: start-up, signals, pipes, terminals, exit. Both
give the same environment: no ``SMTPPROBE_*`` variable of the caller, no user
configuration, an egress lookup and DNS checks that go to an unused loopback port,
``LANG=C.UTF-8``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

# Property tests check what comes out, not how fast. tests/core/test_redact.py's prefilter
# property failed on a loaded machine, most likely by Hypothesis's default 200 ms deadline
# per example (each builds a Redactor). Speed is measured in bench/, not in timed tests.
settings.register_profile("smtpprobe", deadline=None)
settings.load_profile("smtpprobe")

BIN = Path(sys.executable).parent / "smtpprobe"
NO_CONFIG = "/nonexistent-smtpprobe-config"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(f"CI: {skipped} test(s) were skipped; every test must run in CI")


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None and config.getoption("numprocesses", None):
        prepare_workers_once(config)


def prepare_workers_once(config: pytest.Config) -> None:
    """Before the workers start: the test modules rewritten and the package compiled, once.

    A clean checkout has neither (under PYTHONDONTWRITEBYTECODE nothing writes them), and
    this is ~1.9 s of work before the first test. On a machine with cores to spare a forked
    child takes half the test modules and the package, and the run starts ~1 s sooner.
    """
    dependencies = _fork()
    if dependencies == 0:
        try:
            compile_dependencies_once()
        finally:
            os._exit(0)
    if dependencies:
        _CHILDREN.append(dependencies)  # not waited for: it only saves later processes work
    child = _fork() if (os.cpu_count() or 1) > 1 else None
    if child == 0:  # the child: every second test module, then the package
        try:
            rewrite_test_modules_once(config, share=(1, 2))
            compile_package_once()
        finally:
            os._exit(0)
    rewrite_test_modules_once(config, share=(0, 2) if child else (0, 1))
    if child:
        os.waitpid(child, 0)
    else:
        compile_package_once()


_CHILDREN: list[int] = []


def pytest_unconfigure(config: pytest.Config) -> None:
    for pid in _CHILDREN:
        with suppress(ChildProcessError):
            os.waitpid(pid, 0)
    _CHILDREN.clear()


def compile_dependencies_once() -> None:
    """Compile the dependencies' modules once, where this virtual environment keeps them.

    Under PYTHONDONTWRITEBYTECODE (set on this host) pip wrote no bytecode either, and each
    worker compiled pytest and its plugins from source, and each of the ~120 real
    subprocesses typer, dnspython or aiosmtpd: ~7 CPU-seconds a run, ~2.5 s of its wall
    time. Run in a forked child, beside the workers: it imports every module of the package
    with writing allowed (Python writes each module it compiles, as it would without the
    variable), then writes the modules pytest had loaded before the fork. Only inside a
    virtual environment, which is the project's own (the README makes one); a system
    Python's folders are left as they are.
    """
    import importlib
    import importlib.util
    import pkgutil
    import py_compile

    if sys.prefix == sys.base_prefix:
        return
    venv = os.path.realpath(sys.prefix) + os.sep
    sys.dont_write_bytecode = False
    import smtpprobe

    for info in pkgutil.walk_packages(smtpprobe.__path__, "smtpprobe."):
        if not info.name.endswith("__main__"):
            try:
                importlib.import_module(info.name)
            except Exception:  # an optional module's missing dependency
                continue
    for name in ("rich.console", "rich.live", "rich.text", "trustme", "prometheus_client"):
        try:
            importlib.import_module(name)
        except Exception:
            continue
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None)
        if not source or not source.endswith(".py"):
            continue
        if not os.path.realpath(source).startswith(venv):
            continue
        cached = importlib.util.cache_from_source(source)
        if not os.path.exists(cached):
            try:
                py_compile.compile(source, cached, doraise=True)
            except (OSError, py_compile.PyCompileError):
                continue


def _fork() -> int | None:
    try:
        return os.fork()
    except (AttributeError, OSError):  # no fork (or no room for one): all of it here
        return None


def compile_package_once() -> None:
    """Compile the package's modules once, for the workers and the real subprocesses.

    Under PYTHONDONTWRITEBYTECODE nothing writes them, and each of the run's ~120 real
    subprocesses (each importing the package: ``smtpprobe check``, ``explain``, the double)
    compiled it from source again: ~50 ms a process, ~6 CPU-seconds a run, for 0.2 s here.
    Written where Python looks for them (its ``__pycache__`` folders, in .gitignore); a
    folder that cannot be written is left as it is.
    """
    import compileall

    import smtpprobe

    compileall.compile_dir(Path(smtpprobe.__file__).parent, quiet=2)


def rewrite_test_modules_once(config: pytest.Config, share: tuple[int, int] = (0, 1)) -> int:
    """Rewrite the test modules' asserts once, for all xdist workers; the count written.

    Each worker imports every test module, and pytest's assertion rewriting (about a
    millisecond an assert, some 2,900 asserts) cost each of the 4 workers ~2.5 CPU-seconds
    before its first test: none finds another's rewritten copy, since the workers of a
    clean checkout start at once and, under PYTHONDONTWRITEBYTECODE, pytest writes none.
    The controller writes pytest's own cached form of each module (the file pytest writes
    when it may, checked against the source's hash), and each worker reads it. This uses
    pytest's private helpers: where they differ, nothing is written and each worker
    rewrites as before. ``share`` = (i, n): only every n-th module from the i-th.
    """
    if config.getoption("assertmode", "rewrite") != "rewrite":
        return 0
    try:
        from _pytest.assertion import rewrite

        state = config.stash[rewrite.assertstate_key]
        patterns = config.getini("python_files")
        written = 0
        modules = [
            path
            for path in sorted(Path(__file__).parent.rglob("*.py"))
            if path.name == "conftest.py" or any(path.match(p) for p in patterns)
        ]
        for path in modules[share[0] :: share[1]]:
            cache_dir = rewrite.get_cache_dir(path)
            pyc = cache_dir / (path.name[:-3] + rewrite.PYC_TAIL)
            if rewrite._read_pyc(path, pyc) is not None or not rewrite.try_makedirs(cache_dir):
                continue
            source_hash, code = rewrite._rewrite_test(path, config)
            written += bool(rewrite._write_pyc(state, code, source_hash, pyc))
        return written
    except (AttributeError, ImportError, KeyError, TypeError, ValueError, OSError):
        return 0


# Tests that share an expensive fixture run on one xdist worker, so that it runs once: the
# fault table (tests/test_faults.py runs every case at once in a module fixture), the
# package's parsed source (tests/core/test_errors_ja.py) and the demo's three runs
# (``demo_runs`` below). pytest-xdist's own grouping (an ``xdist_group`` mark with
# ``--dist loadgroup``) renames each test's node id to carry its group, which pytest 9.2 no
# longer reads: the groups were ignored, and each of the 4 workers ran the whole fault
# table. So the groups are named here by node id, and the scheduler below (the
# ``pytest_xdist_make_scheduler`` hook) keeps each group on one worker; other tests are
# spread one by one, as ``--dist load`` does.
WORKER_GROUPS: dict[str, tuple[str, ...]] = {
    "faults": ("tests/test_faults.py::",),
    # Both explain every signature example to train the guess (~6 s): once, on one worker.
    "guess-training": (
        "tests/core/test_guess.py::test_the_shipped_model_is_the_development_corpus_trained_again",
        "tests/core/test_guess.py::test_no_validation_text_is_counted",
    ),
    # Parse and walk the package's source once (test_errors_ja.collected, ~2.5 s).
    "errors-ja-sources": tuple(
        f"tests/core/test_errors_ja.py::{name}"
        for name in (
            "test_the_collector_finds_the_messages",
            "test_every_error_call_holds_a_template",
            "test_every_message_has_its_japanese",
            "test_every_entry_is_used",
        )
    ),
    "demo": (
        "tests/e2e/test_offline.py::",
        "tests/e2e/test_demo_and_double.py::test_demo_",
        "tests/test_lang_ja.py::test_demo_",
        "tests/test_cli_feel.py::test_demo_",
    ),
    # Modules with a module-scoped fixture (a DNS or fault server, a parsed data set): one
    # worker sets it up once, and the scheduler below need not keep their tests together.
    **{
        f"module:{name}": (f"tests/{name}::",)
        for name in (
            "core/test_dkim.py",
            "e2e/test_dns_cli.py",
            "test_nagios.py",
            "test_resolver.py",
            "test_spf_differential.py",
            "testing/test_dnsserver.py",
            "testing/test_fault_server.py",
        )
    },
}


def worker_group(nodeid: str) -> str:
    """The scope a test is scheduled in: its group's name, or the test itself."""
    for group, prefixes in WORKER_GROUPS.items():
        if nodeid.startswith(prefixes):
            return group
    return nodeid


def interleaved(scopes: list[str]) -> list[str]:
    """The groups first, then every module's tests spread evenly over the run.

    The pure core's tests keep a core busy; most others wait on sockets, timeouts and
    subprocesses, and a module's tests often wait alike (seven of test_out_of_step's wait
    out a 2 s timeout). In collection order the waiting ones came last, and the 4 workers,
    taking neighbouring tests at once, waited together: for the run's last half-minute the
    2 cores stood a third idle. Spread out, what waits runs beside what computes.
    """
    groups = [s for s in scopes if s in WORKER_GROUPS]
    modules: dict[str, list[str]] = {}
    for nodeid in scopes:
        if nodeid not in WORKER_GROUPS:
            modules.setdefault(nodeid.partition("::")[0], []).append(nodeid)
    spread = sorted(
        ((i + 0.5) / len(tests), n, nodeid)
        for n, tests in enumerate(modules.values())
        for i, nodeid in enumerate(tests)
    )
    return groups + [nodeid for _, _, nodeid in spread]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None  # another --dist asked for on the command line: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        _order: list[str] | None = None
        _index: dict[str, int] | None = None

        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

        def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
            # As xdist's own, but a finished unit leaves the node's assigned work: xdist keeps
            # every unit and counts a node's pending tests over all of them at each report
            # (5,000 reports x 1,250 units a node, 1.4 s of the controller's CPU a run).
            # What reads assigned_work needs only the unfinished units.
            nodeid = self.registered_collections[node][item_index]
            scope = self._split_scope(nodeid)
            assigned = self.assigned_work[node]
            unit = assigned[scope]
            unit[nodeid] = True
            if all(unit.values()):
                del assigned[scope]
            self._reschedule(node)

        def _assign_work_unit(self, node: Any) -> None:
            # As xdist's own, but the next unit in the interleaved order, and each test's
            # place looked up in a dict (xdist searches the list: 5,000 tests x 5,000).
            if self._order is None:
                self._order = interleaved(list(self.workqueue))[::-1]
                collection = self.registered_collections[node]
                self._index = {nodeid: i for i, nodeid in enumerate(collection)}
            while self._order and self._order[-1] not in self.workqueue:
                self._order.pop()  # taken already
            # A crashed worker's tests come back to the queue's end, after the order ran out.
            scope = self._order.pop() if self._order else next(iter(self.workqueue))
            work_unit = self.workqueue.pop(scope)
            self.assigned_work.setdefault(node, {})[scope] = work_unit
            assert self._index is not None
            node.send_runtest_some(
                [self._index[nodeid] for nodeid, done in work_unit.items() if not done]
            )

    return GroupScheduling(config, log)


_WATCHED_SIGNALS = (signal.SIGALRM, signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


@pytest.fixture(autouse=True)
def _nothing_leaks_between_tests() -> Iterator[None]:
    """Commands run in this process: each test must leave the environment, the standard
    streams and the signal handlers as it found them (torn down after monkeypatch)."""
    environ = dict(os.environ)
    streams = (sys.stdin, sys.stdout, sys.stderr)
    handlers = {signum: signal.getsignal(signum) for signum in _WATCHED_SIGNALS}
    yield
    names = (environ.keys() | os.environ.keys()) - {"PYTEST_CURRENT_TEST"}  # pytest's own
    changed = sorted(k for k in names if environ.get(k) != os.environ.get(k))
    assert changed == [], f"environment variables changed by the test: {changed}"
    assert (sys.stdin, sys.stdout, sys.stderr) == streams, "standard streams not restored"
    moved = [s.name for s in _WATCHED_SIGNALS if signal.getsignal(s) != handlers[s]]
    assert moved == [], f"signal handlers not restored: {moved}"


@pytest.fixture
def unused_port() -> int:
    """A loopback port with nothing listening on it (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unused_udp_port() -> int:
    """A loopback UDP port with nothing listening on it (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    """What one command line produced: exit code, standard output, standard error."""

    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)  # type: ignore[no-any-return]

    @property
    def both(self) -> str:
        return self.out + self.err


def isolated_environment(env: dict[str, str] | None = None) -> dict[str, str | None]:
    """The variables a test run sets (a value) or removes (None), over the caller's."""
    wanted: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SMTPPROBE_")}
    wanted.update(
        {
            "LANG": "C.UTF-8",
            "LC_ALL": None,
            "SMTPPROBE_CONFIG_DIR": NO_CONFIG,
            # Never ask Google's or OpenDNS's servers from a test: an unused loopback port
            # answers with ICMP "port unreachable", so the lookup ends at once.
            "SMTPPROBE_EGRESS_RESOLVERS": f"127.0.0.1:{unused_udp_port()}",
            # The same for the DNS checks (dns, spf, check): no lookup leaves loopback unless
            # a test names its own --nameserver, which is a loopback DnsServer.
            "SMTPPROBE_NAMESERVERS": f"127.0.0.1:{unused_udp_port()}",
        }
    )
    wanted.update(env or {})
    return wanted


def probe_args(
    server: Any,
    *args: str,
    user: str = DEFAULT_USER,
    security: str | None = None,
    json_out: bool = True,
    phase_timeout: str = "2",
) -> list[str]:
    """``check`` against a running double, trusting its CA."""
    argv = [
        "check", "--host", server.host, "--port", str(server.port),
        "--security", security or server.security, "--ca-file", str(server.ca_file),
        "--phase-timeout", phase_timeout, "--timeout", "10",
    ]  # fmt: skip
    if user:
        argv += ["--user", user]
    if json_out:
        argv.append("--json")
    return [*argv, *args]


# --------------------------------------------------------------------------- in process


class Hung(BaseException):
    """Raised in the main thread when an in-process command outlasts its time limit.

    A BaseException, so that no ``except Exception`` of the command turns it into a verdict.
    """


@contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (what a subprocess's timeout did)."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hung

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> Result:
    """``smtpprobe ARGS`` through ``smtpprobe.cli.main`` in this process.

    Standard input is ``stdin`` (empty when None, never a terminal); the environment is
    ``isolated_environment(env)``, restored afterwards. An exception that escapes ``main``
    is printed as the interpreter would ("Traceback …", exit 1), so a test that checks
    for tracebacks sees it.
    """
    from typer.testing import CliRunner

    from smtpprobe.cli import main

    runner = CliRunner()
    with runner.isolation(input=stdin or "", env=isolated_environment(env)) as (out, err, _):
        try:
            with hang_guard(timeout):
                main(list(args))
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = int(exc.code or 0)
            else:  # sys.exit("message"), as the interpreter reports it
                print(exc.code, file=sys.stderr)
                code = 1
        except Hung:
            pytest.fail(f"smtpprobe {' '.join(args)} ran for more than {timeout:g} s")
        except Exception:  # KeyboardInterrupt still stops the test run
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue(), err.getvalue()
    return Result(code, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))


def _secret_env(password: str, kw: dict[str, Any]) -> dict[str, Any]:
    env = {"SMTPPROBE_PASSWORD": password} if password else {}
    env.update(kw.pop("env", {}))
    return env


class CLI:
    """The ``cli`` fixture: ``cli.run(...)`` and ``cli.probe(server, ...)``, in process."""

    @staticmethod
    def run(
        *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        timeout: float = 60,
    ) -> Result:  # fmt: skip
        return run_in_process(*args, env=env, stdin=stdin, timeout=timeout)

    @staticmethod
    def probe(
        server: Any, *args: str, password: str = DEFAULT_PASSWORD, user: str = DEFAULT_USER,
        security: str | None = None, json_out: bool = True, phase_timeout: str = "2", **kw: Any,
    ) -> Result:  # fmt: skip
        env = _secret_env(password, kw)
        argv = probe_args(
            server, *args, user=user, security=security, json_out=json_out,
            phase_timeout=phase_timeout,
        )  # fmt: skip
        return run_in_process(*argv, env=env, **kw)


@pytest.fixture
def cli() -> CLI:
    return CLI()


# --------------------------------------------------------------------------- a real process


def process_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment of an installed-script run (``isolated_environment`` applied)."""
    full = dict(os.environ)
    for key, value in isolated_environment(env).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return full


def run_installed(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> Result:
    """``smtpprobe ARGS`` as a user runs it: the installed console script, a new process."""
    proc = subprocess.run(
        [str(BIN), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=process_environment(env),
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


class InstalledCLI:
    """The ``installed_cli`` fixture: the same interface as ``cli``, in a real process."""

    @staticmethod
    def run(
        *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        timeout: float = 60,
    ) -> Result:  # fmt: skip
        return run_installed(*args, env=env, stdin=stdin, timeout=timeout)

    @staticmethod
    def probe(
        server: Any, *args: str, password: str = DEFAULT_PASSWORD, user: str = DEFAULT_USER,
        security: str | None = None, json_out: bool = True, phase_timeout: str = "2", **kw: Any,
    ) -> Result:  # fmt: skip
        env = _secret_env(password, kw)
        argv = probe_args(
            server, *args, user=user, security=security, json_out=json_out,
            phase_timeout=phase_timeout,
        )  # fmt: skip
        return run_installed(*argv, env=env, **kw)


@pytest.fixture
def installed_cli() -> InstalledCLI:
    return InstalledCLI()


# --------------------------------------------------------------------------- the demo


@dataclass
class DemoRuns:
    """``smtpprobe demo``, run once per session three ways at the same time.

    A run takes about 4 s whatever the machine: its hang case waits out the demo's 2 s
    phase timeout, then 2 s more for the second look at the port. Run one after the
    other, the three would cost 12 s of waiting; together, one run's.
    """

    rows: list[Any]  # in this process (``run_demo()``): what the rendering tests show
    audited: subprocess.Popen[str]  # the installed script under the loopback audit hook
    log: Path  # the audit hook's records
    namespaced: subprocess.Popen[str]  # the installed script in a namespace with only lo


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRuns]:
    """The demo's three runs (tests/e2e/test_offline.py finishes and checks the processes)."""
    from smtpprobe.demo import run_demo

    from .processes import finish, start_demo_processes

    log = tmp_path_factory.mktemp("demo-audit") / "demo.jsonl"
    audited, namespaced = start_demo_processes(log)
    try:
        yield DemoRuns(run_demo(), audited, log, namespaced)
    finally:
        for proc in (audited, namespaced):
            if proc.returncode is None:
                finish(proc, timeout=60)


@pytest.fixture
def demo_rows(demo_runs: DemoRuns) -> list[Any]:
    """The rows of the session's one in-process run of the demo's probes.

    The verdicts do not depend on the language they are shown in.
    """
    return demo_runs.rows


@pytest.fixture
def demo_once(demo_rows: list[Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """``smtpprobe demo`` in process renders the session's one real run (``demo_rows``).

    The whole command runs for real in two processes: tests/e2e/test_offline.py.
    """
    monkeypatch.setattr("smtpprobe.demo.run_demo", lambda: demo_rows)
    return demo_rows
