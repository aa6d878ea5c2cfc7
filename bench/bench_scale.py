"""Health checks at scale (issue 10): 1,000 checks against test doubles on loopback.

    python bench/bench_scale.py                      # 1,000 checks, smtpprobe run vs swaks
    python bench/bench_scale.py --checks 200 --no-swaks

The same workload two ways, in one run, against the same doubles:

* ``smtpprobe run CHECKS.yaml --json --no-history`` — one process, every check in it,
  under its global and per-host limits;
* swaks (Debian's package), one process per check, as a cron-driven monitor would run it,
  ``--swaks-jobs`` of them at a time.

Each check is a full STARTTLS submission probe to RCPT (EHLO, STARTTLS, EHLO, AUTH PLAIN,
MAIL, RCPT, then QUIT), the doubles spread over ``--doubles`` loopback addresses
(127.0.0.2, 127.0.0.3, ...) because the runner limits parallel connections per server
host, as providers throttle them. The doubles run in a child process of their own so
that the clients' CPU is what is compared. Wall time, checks per second and the peak
resident memory of the client processes (``RUSAGE_CHILDREN``: the largest of them) are
printed as a Markdown table for README. Loopback only; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PASSWORD_ENV = "BENCH_SCALE_PASSWORD"
# An outside recipient, as a real check asks for (bench_rtt.py's): the doubles accept it,
# and the private Postfix relays for authenticated clients (it never delivers: the probes
# stop after RCPT and nothing is queued).
RECIPIENT = "postmaster@gmail.com"


def serve(count: int, security: str) -> None:
    """Child mode: start ``count`` doubles, print their addresses as JSON, wait for stdin EOF."""
    from smtpprobe.testing.server import DoubleServer

    servers = [
        DoubleServer("ok", security=security, host=f"127.0.0.{i + 2}").start() for i in range(count)
    ]
    print(
        json.dumps([{"host": s.host, "port": s.port, "ca_file": str(s.ca_file)} for s in servers]),
        flush=True,
    )
    sys.stdin.read()
    for server in servers:
        server.stop()


def checks_file(path: Path, doubles: list[dict[str, object]], n: int, user: str) -> None:
    """Write a checks file of ``n`` checks spread round-robin over the doubles."""
    lines = [
        "defaults: {timeout: 30, phase_timeout: 15, egress_lookup: false}",
        "checks:",
    ]
    for i in range(n):
        d = doubles[i % len(doubles)]
        lines += [
            f"  - name: c{i:04d}",
            f"    host: {d['host']}",
            f"    port: {d['port']}",
            "    security: starttls",
            f"    user: {user}",
            f"    to: {RECIPIENT}",
            f"    password: {{env: {PASSWORD_ENV}}}",
            f"    ca_file: {d['ca_file']}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def measured(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[int, str, str, int, float]:
    """Run ``command``: its exit code, output, error output, peak RSS in KB and CPU seconds."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (child.returncode, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"), usage.ru_maxrss,
                usage.ru_utime + usage.ru_stime)  # fmt: skip


@dataclass
class Outcome:
    """One client's run over the whole workload."""

    wall: float
    peak_kb: int
    cpu: float  # user + system seconds of the client processes
    verdicts: Counter[str] = field(default_factory=Counter)

    def row(self, client: str, how: str, n: int) -> str:
        return (
            f"| {client} | {how} | {self.wall:.1f} s | {n / self.wall:.0f} "
            f"| {1000 * self.cpu / n:.1f} ms | {self.peak_kb // 1024} MB |"
        )


def _median(runs: list[Outcome]) -> Outcome:
    """The run with the median wall time."""
    return sorted(runs, key=lambda o: o.wall)[len(runs) // 2]


def run_smtpprobe(
    path: Path, env: dict[str, str], concurrency: int, per_host: int, history: Path | None
) -> Outcome:
    """One ``smtpprobe run`` process over the whole file."""
    exe = shutil.which("smtpprobe") or "smtpprobe"
    store = ["--history", str(history)] if history is not None else ["--no-history"]
    started = time.perf_counter()
    code, out, err, peak, cpu = measured(
        [exe, "run", str(path), "--json", *store,
         "--concurrency", str(concurrency), "--per-host", str(per_host)],
        env,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if code != 0:
        print(f"smtpprobe run exited {code}: {err[-500:]}", file=sys.stderr)
    verdicts = Counter(str(json.loads(line)["category"]) for line in out.splitlines())
    return Outcome(wall, peak, cpu, verdicts)


def run_swaks(
    doubles: list[dict[str, object]], n: int, user: str, password: str, jobs: int
) -> Outcome:
    """``n`` swaks processes, ``jobs`` at a time, the same dialogue as a check."""
    swaks = shutil.which("swaks")
    if swaks is None:
        raise SystemExit("swaks is not installed (apt-get install -y swaks libio-socket-ssl-perl)")
    peaks: list[int] = []
    cpus: list[float] = []

    def one(i: int) -> str:
        d = doubles[i % len(doubles)]
        command = [
            swaks, "--server", str(d["host"]), "--port", str(d["port"]), "--tls",
            "--tls-verify", "--tls-ca-path", str(d["ca_file"]),
            "--auth", "PLAIN", "--auth-user", user, "--auth-password", password,
            "--from", user, "--to", RECIPIENT, "--quit-after", "RCPT",
            "--ehlo", "bench.example", "--timeout", "30",
        ]  # fmt: skip
        code, _, _, peak, cpu = measured(command)
        peaks.append(peak)
        cpus.append(cpu)
        return f"exit {code}"

    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        verdicts = Counter(pool.map(one, range(n)))
    wall = time.perf_counter() - started
    return Outcome(wall, max(peaks), sum(cpus), verdicts)


@contextlib.contextmanager
def _servers(
    args: argparse.Namespace,
) -> Iterator[tuple[list[dict[str, object]], str, str, str]]:
    """The targets, user, password and a description: doubles in a child process, or Postfix."""
    if args.server == "postfix":
        sys.path.insert(0, str(HERE))
        from postfix_server import postfix_server

        with postfix_server() as bench:
            target = {
                "host": bench.host,
                "port": bench.ports["starttls"],
                "ca_file": str(bench.ca_files["starttls"]),
            }
            yield [target], bench.user, bench.password, bench.description
        return
    from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.doubles)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    try:
        doubles = json.loads(server.stdout.readline())
        yield doubles, DEFAULT_USER, DEFAULT_PASSWORD, f"{args.doubles} loopback test doubles"
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--doubles", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--per-host", type=int, default=8)
    parser.add_argument("--swaks-jobs", type=int, default=8)
    parser.add_argument("--no-swaks", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each client (median)")
    parser.add_argument(
        "--server",
        choices=("double", "postfix"),
        default="double",
        help="test doubles (default), or a private Postfix (root, Debian's postfix + sasl2-bin)",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--security", default="starttls", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.security)
        return 0

    with _servers(args) as (targets, user, password, described):
        n, rows = args.checks, []
        how = f"one process, --concurrency {args.concurrency} --per-host {args.per_host}"
        env = {**os.environ, PASSWORD_ENV: password}
        bares: list[Outcome] = []
        keeps: list[Outcome] = []
        swakses: list[Outcome] = []
        # The clients alternate, run after run, so that a slow moment of the machine (a
        # shared VM's neighbours) falls on all of them alike; the median run is reported.
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "checks.yaml"
                checks_file(path, targets, n, user)
                bares.append(run_smtpprobe(path, env, args.concurrency, args.per_host, None))
                history = Path(folder) / "history.sqlite3"
                keeps.append(run_smtpprobe(path, env, args.concurrency, args.per_host, history))
            if not args.no_swaks:
                swakses.append(run_swaks(targets, n, user, password, args.swaks_jobs))
        bare, kept = _median(bares), _median(keeps)
        rows.append(bare.row("smtpprobe run --no-history", how, n))
        rows.append(kept.row("smtpprobe run (history in SQLite)", how, n))
        swaks = _median(swakses) if swakses else None
        if swaks is not None:
            rows.append(
                swaks.row("swaks", f"one process per check, {args.swaks_jobs} at a time", n)
            )
        spread = [
            f"{name} {min(o.wall for o in runs):.1f}-{max(o.wall for o in runs):.1f} s"
            for name, runs in (("no-history", bares), ("history", keeps), ("swaks", swakses))
            if runs
        ]

    print(f"{n} STARTTLS checks to RCPT against {described}, {os.cpu_count()} cores")
    print(f"smtpprobe verdicts: {dict(bare.verdicts)} / {dict(kept.verdicts)}")
    if swaks is not None:
        print(f"swaks: {dict(swaks.verdicts)}")
    print()
    print("| client | how | wall time | checks/s | CPU per check | peak RSS |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nmedian of {args.repeat} runs each; wall-time range: {', '.join(spread)}")
    if swaks is not None:
        print(f"\nthroughput smtpprobe/swaks: {swaks.wall / bare.wall:.1f}x without history, "
              f"{swaks.wall / kept.wall:.1f}x with it")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
