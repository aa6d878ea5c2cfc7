"""``smtpprobe demo``: the test double against the real probe, offline, in a few seconds.

Each row starts one double scenario on loopback, probes it with the same code
path as ``smtpprobe check`` (real sockets, real TLS with a CA made just now),
and shows the verdict. All rows run concurrently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smtpprobe.api import CheckOptions, Report, probe
from smtpprobe.core.transcript import Security

__all__ = ["DEMO_CASES", "DemoCase", "DemoRow", "format_demo", "run_demo"]


@dataclass(frozen=True, slots=True)
class DemoCase:
    """One demo row: which scenario to serve and how to probe it."""

    label: str
    scenario: str
    served_as: str | None = None  # the double's security mode (None: the scenario's)
    probe_as: str | None = None  # the probe's security mode (None: same as served)
    options: dict[str, Any] = field(default_factory=dict)


DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase("credentials accepted, STARTTLS on 587", "ok", "starttls"),
    DemoCase("credentials accepted, SSL on 465", "ok", "implicit-tls"),
    DemoCase("wrong password", "auth-failed"),
    DemoCase("OCN E041 relay denied", "relay-denied-ocn", options={"profile": "ocn"}),
    DemoCase(
        "Sakura, client in Japan (127.0.0.1)",
        "geo-filter-sakura",
        options={"profile": "sakura", "source_address": "127.0.0.1"},
    ),
    DemoCase(
        "Sakura, client abroad (127.0.0.2)",
        "geo-filter-sakura",
        options={"profile": "sakura", "source_address": "127.0.0.2"},
    ),
    DemoCase(
        "AUTH sent before STARTTLS",
        "tls-required",
        "plain",
        options={"allow_plaintext_auth": True},
    ),
    DemoCase("SSL chosen for a STARTTLS port", "ok", "starttls", "implicit-tls"),
    DemoCase("STARTTLS chosen for an SSL port", "ok", "implicit-tls", "starttls"),
    DemoCase(
        "sender not owned by the login", "sender-mismatch", options={"sender": "boss@example.jp"}
    ),
    DemoCase("server offers no AUTH", "no-auth-offered"),
    DemoCase("server busy at greeting", "greeting-421"),
    DemoCase("server hangs after connect", "hang-after-connect"),
)


@dataclass(frozen=True, slots=True)
class DemoRow:
    """One finished demo case."""

    case: DemoCase
    report: Report | None
    error: str | None = None


async def _run_case(case: DemoCase, ca_file: Path, port: int, security: str) -> DemoRow:
    from smtpprobe.errors import SmtpprobeError
    from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

    extra = dict(case.options)
    options = CheckOptions(
        host="127.0.0.1",
        port=port,
        security=Security(case.probe_as or security),
        user=DEFAULT_USER,
        password=DEFAULT_PASSWORD,
        ca_file=ca_file,
        timeout=6.0,
        phase_timeout=2.0,
        # The demo talks to loopback only: no public-address lookup leaves the machine.
        egress_lookup=False,
        **extra,
    )
    try:
        return DemoRow(case, await probe(options))
    except SmtpprobeError as exc:
        return DemoRow(case, None, str(exc))


async def _run_all(cases: tuple[DemoCase, ...]) -> list[DemoRow]:
    from smtpprobe.testing import DoubleServer

    servers: list[DoubleServer] = []
    try:  # each server made is stopped, which removes its temporary CA folder
        for case in cases:
            servers.append(DoubleServer(case.scenario, security=case.served_as))
        for server in servers:
            server.start()
        return list(
            await asyncio.gather(
                *(
                    _run_case(case, Path(server.ca_file), server.port, server.security)
                    for case, server in zip(cases, servers, strict=True)
                )
            )
        )
    finally:
        for server in servers:
            server.stop()


def run_demo(cases: tuple[DemoCase, ...] = DEMO_CASES) -> list[DemoRow]:
    """Serve each case's scenario, probe it, and return the rows in order.

    Ctrl-C, SIGTERM and SIGHUP end it with every server stopped and its CA folder removed
    (exit 130, 143, 129).
    """
    from smtpprobe.testing.foreground import exit_on_signals

    with exit_on_signals():
        return asyncio.run(_run_all(cases))


def format_demo(rows: list[DemoRow], lang: str = "en") -> str:
    """A short table: what was probed, the verdict category and stage, exit code, cause."""
    header = ("case", "verdict", "stage", "exit")
    table: list[tuple[str, str, str, str, str]] = []
    for row in rows:
        if row.report is None:
            table.append((row.case.label, "(skipped)", "-", "-", row.error or ""))
            continue
        v = row.report.verdict
        cause = v.cause.get(lang).split("\n")[0]
        if len(cause) > 90:
            cause = cause[:89] + "…"
        table.append((row.case.label, v.category, v.stage or "-", str(int(v.exit_code)), cause))
    widths = [max(len(header[i]), *(len(r[i]) for r in table)) for i in range(4)]
    title = (
        "smtpprobe demo: the test double on loopback, probed for real (TLS with a CA made now)"
        if lang == "en"
        else "smtpprobe デモ: ループバック上のテスト用サーバーに実際に接続して判定します"
    )
    lines = [title, ""]
    lines.append("  ".join(h.ljust(widths[i]) for i, h in enumerate(header)) + "  cause")
    lines.append("  ".join("-" * w for w in widths) + "  -----")
    for r in table:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    lines.append("")
    lines.append(
        "Run one yourself: smtpprobe double --scenario geo-filter-sakura, then the 'try' line."
        if lang == "en"
        else "個別に試すには: smtpprobe double --scenario geo-filter-sakura を実行し、"
        "表示される try の行を実行します。"
    )
    return "\n".join(lines)
