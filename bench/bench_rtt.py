"""smtpprobe against swaks: round trips at an emulated 50 ms RTT, and one process's start-up.

Both clients run as separate processes against the same server, on loopback only:
a private Postfix (``bench/postfix_server.py``; Debian's postfix and sasl2-bin, as root)
when it can run, else the project's test double. Each client probes to RCPT with AUTH
PLAIN, in STARTTLS and implicit-TLS mode, through ``bench/delay_proxy.py`` once with no
delay and once with 25 ms each way; runs are interleaved and the median is taken.
The implied round trips are (median at 50 ms - median without delay) / RTT.

Then, straight to the server (no proxy): one ``smtpprobe check`` process against one
``swaks`` process, ``smtpprobe explain "<one line>"`` and ``smtpprobe --help``; and the
floor any tool on smtpprobe's stack stands on: the interpreter's start, its socket and
ssl imports, and ``floor_client.py`` (the same dialogue on bare blocking sockets, as
``smtpprobe check`` runs it).

smtpprobe runs as an installed wheel would: with its bytecode cached (in a temporary
PYTHONPYCACHEPREFIX, so the work tree is untouched) and its compiled rule cache warm
(a temporary SMTPPROBE_CACHE_DIR; the first, discarded run fills both).

swaks does not verify the server certificate unless told to (``--tls-verify``);
smtpprobe always does, against the system store plus ``--ca-file``. The start-up
table shows swaks both ways.

Run:  python bench/bench_rtt.py [--runs 15] [--server auto|postfix|double]
      (needs: apt-get install swaks libnet-ssleay-perl libio-socket-ssl-perl
       postfix sasl2-bin; prints Markdown tables for README)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script, this folder is first on sys.path: the two helpers import as modules.
from delay_proxy import loopback_only
from postfix_server import (
    BenchServer,
    PostfixUnavailable,
    double_server,
    postfix_server,
    postfix_unavailable,
)

MODES = ("starttls", "implicit-tls")
EXPLAIN_LINE = "550 5.1.1 <a@example.jp>: Recipient address rejected: User unknown"
RECIPIENT = "postmaster@gmail.com"  # only ever named in RCPT to a loopback server
TIMEOUT = 60
FLOOR_CLIENT = Path(__file__).with_name("floor_client.py")
IMPORTS = "import socket, ssl"


@dataclass(frozen=True, slots=True)
class Variant:
    """One client command line, completed with the address to connect to."""

    name: str
    tool: str  # "smtpprobe" or "swaks"
    extra: tuple[str, ...] = ()


@dataclass(slots=True)
class Samples:
    """Wall times (seconds) of one variant, one mode, one delay."""

    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


class Bench:
    """The tools, the environment their processes run in, and the server."""

    def __init__(self, server: BenchServer, scratch: Path) -> None:
        self.server = server
        self.smtpprobe = _smtpprobe()
        self.swaks = shutil.which("swaks")
        if self.swaks is None:
            raise SystemExit(
                "swaks is not installed: apt-get install -y swaks libnet-ssleay-perl "
                "libio-socket-ssl-perl"
            )
        for folder in ("pycache", "cache", "config"):
            (scratch / folder).mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMTPPROBE_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            PYTHONPYCACHEPREFIX=str(scratch / "pycache"),
            SMTPPROBE_CACHE_DIR=str(scratch / "cache"),
            SMTPPROBE_CONFIG_DIR=str(scratch / "config"),  # no user profiles or rules
            SMTPPROBE_PASSWORD=server.password,
            NO_COLOR="1",
        )
        self.env = env
        help_text = self.run([self.smtpprobe, "check", "--help"], check=False).stdout
        self.has_no_pipelining = "--no-pipelining" in help_text

    def run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            argv, capture_output=True, text=True, env=self.env, timeout=TIMEOUT, check=False
        )
        if check and result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-6:]
            raise SystemExit(
                f"failed (exit {result.returncode}): {' '.join(argv)}\n  " + "\n  ".join(tail)
            )
        return result

    def timed(self, argv: list[str]) -> float:
        start = time.perf_counter()
        self.run(argv)
        return time.perf_counter() - start

    def argv(self, variant: Variant, mode: str, port: int) -> list[str]:
        host, server = self.server.host, self.server
        if variant.tool == "smtpprobe":
            return [
                self.smtpprobe,
                "check",
                "--host",
                host,
                "--port",
                str(port),
                "--security",
                mode,
                "--ca-file",
                str(server.ca_files[mode]),
                "--user",
                server.user,
                "--to",
                RECIPIENT,
                "--no-egress-lookup",  # no DNS query may leave this machine
                *variant.extra,
            ]
        assert self.swaks is not None
        return [
            self.swaks,
            "--server",
            host,
            "--port",
            str(port),
            "--tls" if mode == "starttls" else "--tls-on-connect",
            "--auth",
            "PLAIN",
            "--auth-user",
            server.user,
            "--auth-password",
            server.password,
            "--from",
            server.user,
            "--to",
            RECIPIENT,
            "--quit-after",
            "RCPT",
            *variant.extra,
        ]


def _smtpprobe() -> str:
    beside = Path(sys.executable).parent / "smtpprobe"
    found = str(beside) if beside.exists() else shutil.which("smtpprobe")
    if found is None:
        raise SystemExit("smtpprobe is not installed in this environment: pip install -e .")
    return found


@contextlib.contextmanager
def delay_proxy(target: tuple[str, int], delay_ms: float, quickack: bool = False) -> Iterator[int]:
    """``bench/delay_proxy.py`` in its own process (not this one's GIL); yields its port."""
    loopback_only(target[0])
    script = Path(__file__).resolve().parent / "delay_proxy.py"
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "--target",
            f"{target[0]}:{target[1]}",
            "--delay-ms",
            f"{delay_ms}",
            *(["--quickack"] if quickack else []),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"the delay proxy did not start: {line!r}")
        yield int(line.rsplit(":", 1)[1])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _variants(bench: Bench) -> list[Variant]:
    variants = [Variant("smtpprobe", "smtpprobe")]
    if bench.has_no_pipelining:
        variants.append(Variant("smtpprobe --no-pipelining", "smtpprobe", ("--no-pipelining",)))
    variants += [Variant("swaks", "swaks"), Variant("swaks --pipeline", "swaks", ("--pipeline",))]
    return variants


def round_trips(bench: Bench, runs: int, rtt_ms: float, quickack: bool = False) -> list[str]:
    """The round-trip table: every variant, mode and delay, runs interleaved."""
    variants = _variants(bench)
    samples: dict[tuple[str, str, float], Samples] = {}
    delays = (0.0, rtt_ms / 2)
    for mode in MODES:
        target = (bench.server.host, bench.server.ports[mode])
        with contextlib.ExitStack() as stack:
            # Both proxies at once, so that runs with and without delay alternate and a
            # busy moment of the machine falls on both alike.
            ports = {d: stack.enter_context(delay_proxy(target, d, quickack)) for d in delays}
            for index in range(runs + 1):  # the first round warms caches: not counted
                for variant in variants:
                    for delay in delays:
                        elapsed = bench.timed(bench.argv(variant, mode, ports[delay]))
                        if index:
                            samples.setdefault((variant.name, mode, delay), Samples())
                            samples[variant.name, mode, delay].times.append(elapsed)
    rows = [
        f"| client | security | median, no delay | median at {rtt_ms:g} ms RTT "
        "| implied round trips | median of paired differences |",
        "|---|---|---|---|---|---|",
    ]
    for mode in MODES:
        for variant in variants:
            fast_runs = samples[variant.name, mode, 0.0]
            slow_runs = samples[variant.name, mode, rtt_ms / 2]
            fast, slow = fast_runs.median, slow_runs.median
            trips = (slow - fast) / (rtt_ms / 1000)
            # The runs of one round ran back to back: their difference leaves out the start-up
            # noise that a busy moment adds to both, which the difference of medians keeps.
            pairs = [b - a for a, b in zip(fast_runs.times, slow_runs.times, strict=True)]
            paired = statistics.median(pairs) / (rtt_ms / 1000)
            rows.append(
                f"| {variant.name} | {mode} | {fast * 1000:.0f} ms | {slow * 1000:.0f} ms "
                f"| {trips:.1f} | {paired:.1f} |"
            )
    if quickack:
        rows += ["", "(the proxy acknowledged every read at once: --quickack)"]
    if not bench.has_no_pipelining:
        rows.append("")
        rows.append("(`smtpprobe check --no-pipelining` does not exist yet: row left out)")
    return rows


def start_up(bench: Bench, runs: int) -> list[str]:
    """One process each, straight to the server: wall time, median of ``runs``."""
    server = bench.server
    commands: list[tuple[str, list[str], str]] = []
    for mode in MODES:
        port = server.ports[mode]
        swaks = bench.argv(Variant("swaks", "swaks"), mode, port)
        commands.append(
            (
                f"`smtpprobe check`, {mode}",
                bench.argv(Variant("", "smtpprobe"), mode, port),
                f"swaks {mode}",
            )
        )
        commands.append((f"`swaks`, {mode} (no verification)", swaks, f"swaks {mode}"))
        commands.append(
            (
                f"`swaks --tls-verify`, {mode} (trusts only the CA file)",
                [*swaks, "--tls-verify", "--tls-ca-path", str(server.ca_files[mode])],
                f"swaks {mode}",
            )
        )
        floor = [sys.executable, str(FLOOR_CLIENT), server.host, str(port), mode]
        commands.append(
            (
                f"floor: bare socket client, {mode} (same dialogue, no CLI or rules)",
                [*floor, str(server.ca_files[mode]), server.user, RECIPIENT],
                f"swaks {mode}",
            )
        )
    commands.append(
        ('`smtpprobe explain "<one line>"`', [bench.smtpprobe, "explain", EXPLAIN_LINE], "150 ms")
    )
    commands.append(("`smtpprobe --help`", [bench.smtpprobe, "--help"], "100 ms"))
    commands.append(("floor: `python -c pass`", [sys.executable, "-c", "pass"], ""))
    commands.append(
        ("floor: `python -c 'import socket, ssl'`", [sys.executable, "-c", IMPORTS], "")
    )
    times: dict[str, Samples] = {name: Samples() for name, _, _ in commands}
    for index in range(runs + 1):
        for name, argv, _ in commands:
            elapsed = bench.timed(argv)
            if index:
                times[name].times.append(elapsed)
    rows = [
        f"| process (straight to the server, median of {runs}) | wall time | compared with |",
        "|---|---|---|",
    ]
    for name, _, against in commands:
        median = times[name].median
        if against.startswith("swaks "):
            mode = against.split()[1]
            base = times[f"`swaks`, {mode} (no verification)"].median
            note = "" if name.startswith("`swaks`") else f"{median / base:.2f}× swaks"
        elif not against:
            note = ""
        else:
            limit = float(against.split()[0]) / 1000
            note = f"target ≤ {against}: {'met' if median <= limit else 'not met'}"
        rows.append(f"| {name} | {median * 1000:.0f} ms | {note} |")
    return rows


def _versions(bench: Bench) -> str:
    swaks = bench.run([bench.swaks or "swaks", "--version"], check=False).stdout.split("\n")[0]
    code = "import smtpprobe, typer; print(smtpprobe.__version__, typer.__version__)"
    probe = [*bench.run([sys.executable, "-c", code], check=False).stdout.split(), "?", "?"]
    return (
        f"server: {bench.server.description}; {swaks.strip()}; smtpprobe {probe[0]} "
        f"(typer {probe[1]}); Python {platform.python_version()}; {os.cpu_count()} CPUs"
    )


@contextlib.contextmanager
def _server(choice: str) -> Iterator[BenchServer]:
    if choice in ("auto", "postfix"):
        reason = postfix_unavailable()
        if reason is None:
            try:
                with postfix_server() as server:
                    yield server
                return
            except PostfixUnavailable as exc:
                reason = str(exc)
        if choice == "postfix":
            raise SystemExit(f"Postfix cannot run here: {reason}")
        print(f"(Postfix cannot run here: {reason}; using the test double)", file=sys.stderr)
    with double_server() as server:
        yield server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per case (median)")
    parser.add_argument("--rtt-ms", type=float, default=50.0, help="emulated round trip")
    parser.add_argument("--server", choices=("auto", "postfix", "double"), default="auto")
    parser.add_argument("--only", choices=("rtt", "startup"), help="run one table only")
    parser.add_argument(
        "--quickack", action="store_true", help="the proxy ACKs at once (see delay_proxy.py)"
    )
    args = parser.parse_args(argv)
    with (
        _server(args.server) as server,
        tempfile.TemporaryDirectory(prefix="smtpprobe-bench-") as scratch,
    ):
        bench = Bench(server, Path(scratch))
        print(_versions(bench))
        print()
        if args.only in (None, "rtt"):
            print("\n".join(round_trips(bench, args.runs, args.rtt_ms, args.quickack)))
            print()
        if args.only in (None, "startup"):
            print("\n".join(start_up(bench, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
