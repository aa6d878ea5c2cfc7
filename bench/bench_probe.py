"""Benchmarks: start-up time, probe latency and throughput against the double, classifier
speed, and memory. Loopback only; every loop is bounded in count.

Run:  python bench/bench_probe.py            (prints a Markdown table for README)
"""

from __future__ import annotations

import asyncio
import gc
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from smtpprobe.api import CheckOptions, check, explain, probe
from smtpprobe.core.classify import classify
from smtpprobe.core.transcript import Security
from smtpprobe.loading import load_profiles, load_rulebook
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER, DoubleServer

SEQUENTIAL = 100
CONCURRENT = 50
CLASSIFY = 5000
STARTUPS = 10
EXPLAINS = 200
SEED_004 = (
    Path(__file__).resolve().parents[1] / "tests" / "data" / "seeds" / "004_9ccd392cdc10da84.txt"
)


def _startup() -> float:
    exe = Path(sys.executable).parent / "smtpprobe"
    times = []
    for _ in range(STARTUPS):
        start = time.perf_counter()
        subprocess.run([str(exe), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _options(server: DoubleServer) -> CheckOptions:
    return CheckOptions(
        host=server.host,
        port=server.port,
        security=Security(server.security),
        user=DEFAULT_USER,
        password=DEFAULT_PASSWORD,
        ca_file=Path(server.ca_file),
        timeout=10,
        phase_timeout=5,
        egress_lookup=False,  # loopback only: no query may leave this machine
    )


async def _sequential(server: DoubleServer) -> list[float]:
    options = _options(server)
    times = []
    for _ in range(SEQUENTIAL):
        start = time.perf_counter()
        report = await probe(options)
        times.append(time.perf_counter() - start)
        assert report.verdict.ok, report.verdict
    return times


def _sequential_blocking(server: DoubleServer) -> list[float]:
    """The same probes by ``check``: blocking sockets, no event loop (``smtpprobe check``)."""
    options = _options(server)
    times = []
    for _ in range(SEQUENTIAL):
        start = time.perf_counter()
        report = check(options)
        times.append(time.perf_counter() - start)
        assert report.verdict.ok, report.verdict
    return times


def _median_p95(times: list[float]) -> str:
    return (
        f"{statistics.median(times) * 1000:.1f} ms / "
        f"{sorted(times)[int(len(times) * 0.95)] * 1000:.1f} ms"
    )


async def _concurrent(server: DoubleServer) -> float:
    options = _options(server)
    start = time.perf_counter()
    reports = await asyncio.gather(*(probe(options) for _ in range(CONCURRENT)))
    assert all(r.verdict.ok for r in reports)
    return time.perf_counter() - start


def main() -> None:
    rows: list[tuple[str, str]] = []
    rows.append(("`smtpprobe --help` start-up (median of 10)", f"{_startup():.0f} ms"))
    for security in ("starttls", "implicit-tls"):
        with DoubleServer("ok", security=security) as server:
            times = asyncio.run(_sequential(server))
            rows.append(
                (
                    f"full probe, {security}, {SEQUENTIAL} sequential: median / p95",
                    _median_p95(times),
                )
            )
            rows.append(
                (
                    f"the same by `check` (blocking sockets), {security}: median / p95",
                    _median_p95(_sequential_blocking(server)),
                )
            )
            total = asyncio.run(_concurrent(server))
            rows.append(
                (
                    f"{CONCURRENT} concurrent probes, {security}: wall time",
                    f"{total * 1000:.0f} ms ({CONCURRENT / total:.0f} probes/s)",
                )
            )
    with DoubleServer("ok", security="starttls") as server:
        report = asyncio.run(probe(_options(server)))
        gc.collect()
        tracemalloc.start()
        asyncio.run(probe(_options(server)))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rows.append(("Python heap peak during one probe (tracemalloc)", f"{peak / 1024:.0f} KiB"))
    rules = load_rulebook(load_profiles().get("sakura"))
    start = time.perf_counter()
    for _ in range(CLASSIFY):
        classify(report.transcript, rules)
    per = (time.perf_counter() - start) / CLASSIFY
    rows.append((f"classify one transcript ({len(rules)} rules)", f"{per * 1e6:.0f} µs"))
    seed = SEED_004.read_bytes()
    explain(seed)  # load rules and profiles once, as a long-running caller would
    start = time.perf_counter()
    for _ in range(EXPLAINS):
        explain(seed)
    per = (time.perf_counter() - start) / EXPLAINS
    rows.append(
        ("explain a whole bounce post (seed 004, incl. loading rules)", f"{per * 1000:.1f} ms")
    )
    filler = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit 12345.\n" * 170_000
    paste = filler + b"550 5.1.1 <a@example.jp>: Recipient address rejected: User unknown\n"
    start = time.perf_counter()
    found = explain(paste)
    assert found.explanations, "the reply at the end of the paste was not found"
    rows.append(
        (f"explain a {len(paste) / 1e6:.1f} MB paste", f"{(time.perf_counter() - start):.2f} s")
    )
    # One line of 2.6 MB without a line break, all reply-like words ("550", "5.7.1",
    # "relay", "denied"…): the finder stops at its 200 replies, and each reply's context
    # must not mean searching the whole line again (it did: 41 s before 2026-12-07).
    pick = random.Random(1)
    words = ["550", "relay", "denied", "the", "server", "said", "timeout", "5.7.1", "mail"]
    line = " ".join(pick.choice(words) for _ in range(450_000)).encode()
    start = time.perf_counter()
    found = explain(line)
    assert found.explanations, "no reply found in the reply-like line"
    rows.append(
        (
            f"explain a {len(line) / 1e6:.1f} MB line of reply-like words (200 replies)",
            f"{(time.perf_counter() - start):.2f} s",
        )
    )
    # A mail log given whole: 60,000 deliveries in the form Postfix's smtp(8) logs them
    # (postfix src/global/log_adhoc.c: "to=<…>, relay=…, delay=…, dsn=…, status=sent (…)",
    # with the "250 2.0.0 Ok" the benchmark Postfix answers), one bounce among them. Every
    # line holds a reply, and queue ids and numbers hold by chance the literal anchors of
    # signatures ("10061", "11001"): the cost of a real log, not of prose.
    lines = [
        f"Dec  4 03:{i // 1000 % 60:02d}:{i % 60:02d} mx postfix/smtp[{2000 + i % 997}]: "
        f"{0x4B1D000 + i:X}: to=<u{i}@example.net>, relay=mx.example.net[192.0.2.1]:25, "
        f"delay=0.{i % 10}, delays=0/0/0.1/0.{i % 10}, dsn=2.0.0, status=sent (250 2.0.0 Ok)"
        for i in range(60_000)
    ]
    lines.insert(
        30_000,
        "Dec  4 03:30:00 mx postfix/smtp[2345]: 4B24530: to=<a@example.jp>, relay=mx.example.jp"
        "[192.0.2.2]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=5.1.1, status=bounced (host "
        "mx.example.jp[192.0.2.2] said: 550 5.1.1 <a@example.jp>: Recipient address rejected: "
        "User unknown (in reply to RCPT TO command))",
    )
    log = "\n".join(lines).encode()
    start = time.perf_counter()
    found = explain(log)
    assert found.explanations[0].verdict.category == "recipient-unknown", "the bounce was missed"
    rows.append(
        (
            f"explain a {len(log) / 1e6:.1f} MB mail log (60,000 deliveries, one bounce)",
            f"{(time.perf_counter() - start):.2f} s",
        )
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows.append(("peak RSS of this whole benchmark process", f"{rss / 1024:.0f} MiB"))
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
