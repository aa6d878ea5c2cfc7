"""``smtpprobe demo``: the test double against the real probe, offline, in a few seconds.

Each row starts one double scenario on loopback, probes it with the same code
path as ``smtpprobe check`` (real sockets, real TLS with a CA made just now),
and shows the verdict. All rows run concurrently.
"""

from __future__ import annotations

import asyncio
from dataclasses import field
from pathlib import Path
from typing import Any

from smtpprobe.api import CheckOptions, Report, probe
from smtpprobe.core.record import record
from smtpprobe.core.rules import Text
from smtpprobe.core.transcript import Security
from smtpprobe.render.columns import clip, table
from smtpprobe.render.labels import category_label, note, stage_label
from smtpprobe.render.text import localized
from smtpprobe.render.tone import Line, Tone, exit_tone, join, redact

__all__ = ["DEMO_CASES", "DemoCase", "DemoRow", "demo_lines", "format_demo", "run_demo"]


@record
class DemoCase:
    """One demo row: which scenario to serve and how to probe it."""

    label: Text
    scenario: str
    served_as: str | None = None  # the double's security mode (None: the scenario's)
    probe_as: str | None = None  # the probe's security mode (None: same as served)
    options: dict[str, Any] = field(default_factory=dict)


DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase(
        Text("credentials accepted, STARTTLS 587", "認証成功（STARTTLS、587）"), "ok", "starttls"
    ),
    DemoCase(Text("credentials accepted, SSL 465", "認証成功（SSL、465）"), "ok", "implicit-tls"),
    DemoCase(Text("wrong password", "パスワードの誤り"), "auth-failed"),
    DemoCase(
        Text("OCN E041 relay denied", "OCN の E041 中継拒否"),
        "relay-denied-ocn",
        options={"profile": "ocn"},
    ),
    DemoCase(
        Text("Sakura, client in Japan", "さくら、国内から"),
        "geo-filter-sakura",
        options={"profile": "sakura", "source_address": "127.0.0.1"},
    ),
    DemoCase(
        Text("Sakura, client abroad (.0.2)", "さくら、国外から（.0.2）"),
        "geo-filter-sakura",
        options={"profile": "sakura", "source_address": "127.0.0.2"},
    ),
    DemoCase(
        Text("AUTH sent before STARTTLS", "STARTTLS の前に AUTH"),
        "tls-required",
        "plain",
        options={"allow_plaintext_auth": True},
    ),
    DemoCase(
        Text("SSL chosen for a STARTTLS port", "STARTTLS のポートに SSL"),
        "ok",
        "starttls",
        "implicit-tls",
    ),
    DemoCase(
        Text("STARTTLS chosen for an SSL port", "SSL のポートに STARTTLS"),
        "ok",
        "implicit-tls",
        "starttls",
        # The greeting never comes (the port waits for TLS): this row waits out its limit.
        options={"phase_timeout": 1.0},
    ),
    DemoCase(
        Text("sender not owned by the login", "ログインと違う送信者"),
        "sender-mismatch",
        options={"sender": "boss@example.jp"},
    ),
    DemoCase(Text("server offers no AUTH", "サーバーが AUTH を提示しない"), "no-auth-offered"),
    DemoCase(Text("server busy at greeting", "接続直後にサーバーが混雑"), "greeting-421"),
    DemoCase(
        Text("server hangs after connect", "接続後にサーバーが無応答"),
        "hang-after-connect",
        # Its greeting wait, then the second look at the port: the row the demo waits for.
        options={"phase_timeout": 1.0},
    ),
)


@record
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
        timeout=extra.pop("timeout", 6.0),
        # Loopback answers in milliseconds, but fourteen probes, their servers' TLS and a
        # first start's cache building share the machine: 4 s a step leaves room for a busy
        # one; only the hung-server row waits out its (1 s) limit.
        phase_timeout=extra.pop("phase_timeout", 4.0),
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
    from smtpprobe.testing.foreground import cancelled_by_signals, exit_on_signals

    # Before and after the event loop a signal raises SystemExit at once; while it runs, it
    # cancels the work, which stops every server on the way out.
    with exit_on_signals():
        return asyncio.run(cancelled_by_signals(_run_all(cases)))


_TITLE = {
    "en": "smtpprobe demo: a test double on loopback, probed for real (TLS, a fresh CA)",
    "ja": "smtpprobe デモ: ループバック上のテスト用サーバーに実際に接続して判定します",
}
_HEADER = {
    "en": ("case", "verdict", "stage", "exit"),
    "ja": ("ケース", "判定", "段階", "終了コード"),
}
_SKIPPED = {"en": "(skipped)", "ja": "（実行できず）"}
_FOOTER = {
    "en": (
        "Run one yourself: smtpprobe double --scenario geo-filter-sakura,",
        "then run the 'try' line it prints.",
    ),
    "ja": (
        "個別に試すには「smtpprobe double --lang ja --scenario geo-filter-sakura」",
        "を実行し、表示される「試す」の行のコマンドを実行します。",
    ),
}
WIDTH = 80  # the table fits a standard terminal


def demo_lines(rows: list[DemoRow], lang: str = "en") -> list[Line]:
    """The table: each case, its verdict, stage and exit code, and under it the remedy.

    Every line fits ``WIDTH`` columns (wide characters count two); the remedy is the
    first line of the verdict's remedy, cut with "…".
    """
    key = "ja" if lang == "ja" else "en"
    table_rows: list[tuple[str, ...]] = [_HEADER[key]]
    tones = [Tone.PLAIN, Tone.PLAIN]
    remedies: list[str] = []
    for row in rows:
        label = row.case.label.get(key)
        if row.report is None:
            table_rows.append((label, _SKIPPED[key], "-", "-"))
            tones.append(Tone.WARN)
            remedies.append(note(row.error or "", key))
            continue
        v = row.report.verdict
        verdict = category_label(v.category, key, short=True)
        stage = stage_label(v.stage, key, short=True) if v.stage else "-"
        table_rows.append((label, verdict, stage, str(int(v.exit_code))))
        tones.append(exit_tone(v.exit_code))
        remedies.append(localized(v.remedy.get(key), row.report.transcript, key))
    lines = [Line(clip(_TITLE[key], WIDTH)), Line("")]
    aligned = table(table_rows)
    lines += [Line(clip(text, WIDTH), tone) for text, tone in zip(aligned[:2], tones, strict=False)]
    for text, tone, remedy in zip(aligned[2:], tones[2:], remedies, strict=True):
        lines.append(Line(clip(text, WIDTH), tone))
        lines.append(Line(clip(f"    → {remedy}", WIDTH)))
    lines.append(Line(""))
    lines += [Line(text) for text in _FOOTER[key]]
    return redact(lines, *(row.report.redactor for row in rows if row.report is not None))


def format_demo(rows: list[DemoRow], lang: str = "en") -> str:
    """``demo_lines`` as plain text."""
    return join(demo_lines(rows, lang))
