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
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
PASSWORD_ENV = "BENCH_SCALE_PASSWORD"


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
            f"    to: postmaster@{d['host']}",
            f"    password: {{env: {PASSWORD_ENV}}}",
            f"    ca_file: {d['ca_file']}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def measured(command: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """Run ``command``; its exit code, output, error output and its own peak RSS in KB."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (child.returncode, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"), usage.ru_maxrss)  # fmt: skip


def run_smtpprobe(
    path: Path, env: dict[str, str], concurrency: int, per_host: int
) -> dict[str, object]:
    """One ``smtpprobe run`` process over the whole file."""
    exe = shutil.which("smtpprobe") or "smtpprobe"
    started = time.perf_counter()
    code, out, err, peak = measured(
        [exe, "run", str(path), "--json", "--no-history",
         "--concurrency", str(concurrency), "--per-host", str(per_host)],
        env,
    )  # fmt: skip
    wall = time.perf_counter() - started
    categories = Counter(json.loads(line)["verdict"]["category"] for line in out.splitlines())
    return {"wall": wall, "peak_kb": peak, "categories": categories, "exit": code,
            "stderr": err[-500:]}  # fmt: skip


def run_swaks(
    doubles: list[dict[str, object]], n: int, user: str, password: str, jobs: int
) -> dict[str, object]:
    """``n`` swaks processes, ``jobs`` at a time, the same dialogue as a check."""
    swaks = shutil.which("swaks")
    if swaks is None:
        raise SystemExit("swaks is not installed (apt-get install -y swaks libio-socket-ssl-perl)")

    peaks: list[int] = []

    def one(i: int) -> int:
        d = doubles[i % len(doubles)]
        command = [
            swaks, "--server", str(d["host"]), "--port", str(d["port"]), "--tls",
            "--tls-verify", "--tls-ca-path", str(d["ca_file"]),
            "--auth", "PLAIN", "--auth-user", user, "--auth-password", password,
            "--from", user, "--to", f"postmaster@{d['host']}", "--quit-after", "RCPT",
            "--ehlo", "bench.example", "--timeout", "30",
        ]  # fmt: skip
        code, _, _, peak = measured(command)
        peaks.append(peak)
        return code

    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        codes = Counter(pool.map(one, range(n)))
    wall = time.perf_counter() - started
    return {"wall": wall, "peak_kb": max(peaks), "exit_codes": codes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--doubles", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--per-host", type=int, default=8)
    parser.add_argument("--swaks-jobs", type=int, default=8)
    parser.add_argument("--no-swaks", action="store_true")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--security", default="starttls", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.security)
        return 0

    from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.doubles)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    try:
        doubles = json.loads(server.stdout.readline())
        env = {**os.environ, PASSWORD_ENV: DEFAULT_PASSWORD}
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "checks.yaml"
            checks_file(path, doubles, args.checks, DEFAULT_USER)
            ours = run_smtpprobe(path, env, args.concurrency, args.per_host)
        theirs = None
        if not args.no_swaks:
            theirs = run_swaks(
                doubles, args.checks, DEFAULT_USER, DEFAULT_PASSWORD, args.swaks_jobs
            )
    finally:
        server.stdin.close()
        server.wait(timeout=30)

    n = args.checks
    print(
        f"{n} STARTTLS checks to RCPT over {args.doubles} loopback doubles, {os.cpu_count()} cores"
    )
    print(f"smtpprobe verdicts: {dict(ours['categories'])}, exit {ours['exit']}")  # type: ignore[arg-type]
    if ours["exit"] != 0:
        print(f"smtpprobe stderr: {ours['stderr']}")
    print()
    print("| client | how | wall time | checks/s | peak RSS |")
    print("|---|---|---:|---:|---:|")
    wall = float(ours["wall"])  # type: ignore[arg-type]
    print(
        f"| smtpprobe run | one process, --concurrency {args.concurrency} --per-host {args.per_host} "
        f"| {wall:.1f} s | {n / wall:.0f} | {int(ours['peak_kb']) // 1024} MB |"  # type: ignore[call-overload]
    )
    if theirs is not None:
        swall = float(theirs["wall"])  # type: ignore[arg-type]
        print(
            f"| swaks | one process per check, {args.swaks_jobs} at a time "
            f"| {swall:.1f} s | {n / swall:.0f} | {int(theirs['peak_kb']) // 1024} MB (largest) |"  # type: ignore[call-overload]
        )
        print(f"\nswaks exit codes: {dict(theirs['exit_codes'])}")  # type: ignore[arg-type]
        print(f"throughput ratio smtpprobe/swaks: {swall / wall:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
