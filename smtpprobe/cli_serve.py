"""The ``serve`` command: the Prometheus exporter over a checks file (``smtpprobe.exporter``).

Cheap to import: the exporter, the runner and prometheus_client load inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smtpprobe.cli_params import Language, Version

if TYPE_CHECKING:
    from smtpprobe.core.checks import CheckDef, ChecksFile
    from smtpprobe.exporter import Exporter, Snapshot
    from smtpprobe.history import History

__all__ = ["SERVE_HELP", "make_exporter", "register"]

SERVE_HELP = (
    "Serve a Prometheus exporter over a checks file: /probe?target=NAME runs the check "
    "called NAME (blackbox_exporter's multi-target pattern; the target is a check name, "
    "never a host or a credential), /metrics the exporter's own counters. A check is "
    "probed at most once per its `interval`, and a locked-out check is answered from "
    "its last result."
)

ChecksPath = Annotated[
    Path, typer.Argument(metavar="CHECKS.yaml", help="The checks file (see `smtpprobe run`).")
]
Listen = Annotated[
    str,
    typer.Option(metavar="HOST:PORT", help="Address to listen on ([::1]:9325 for IPv6 loopback)."),
]
HistoryPath = Annotated[
    Path | None,
    typer.Option(
        "--history",
        metavar="PATH",
        help="History database (default: the user's data directory), as for `run`.",
    ),
]
MinInterval = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        min=0,
        help="Least time between two probes of one server host (default: as `run`).",
    ),
]
PerHost = Annotated[
    int | None,
    typer.Option(metavar="N", min=1, help="Probes of one server host at once (default: as `run`)."),
]
TimeoutOffset = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        min=0,
        help="Subtracted from Prometheus's scrape timeout to give the probe's time limit.",
    ),
]


def make_exporter(
    checks: ChecksFile,
    history: History | None,
    *,
    min_interval: float | None = None,
    per_host: int | None = None,
    timeout_offset: float = 0.5,
    lang: str = "en",
) -> Exporter[CheckDef]:
    """The exporter over ``checks``, probing with ``runner.run_check`` and ``history``."""
    import math
    import sys

    from smtpprobe.errors import ConfigError
    from smtpprobe.exporter import Exporter, Snapshot, with_budget
    from smtpprobe.runner import CheckResult, Gate, RunLimits, run_check

    if not (math.isfinite(timeout_offset) and 0 <= timeout_offset < 3600):
        # inf skipped every probe: each scrape answered probe_success 0 for good.
        raise ConfigError(
            f"--timeout-offset {timeout_offset}: give finite seconds, 0 or more and under 3600"
        )
    if min_interval is not None and not (math.isfinite(min_interval) and min_interval >= 0):
        raise ConfigError("--min-interval must be finite, 0 or more seconds")
    defaults = RunLimits()
    per_host = per_host or defaults.per_host
    min_interval = defaults.min_interval if min_interval is None else min_interval
    # The exporter decides when a server may be probed (or a scrape gets the last result)
    # and holds the per-host interval itself; the runner's gate keeps only the slots,
    # so the interval is not waited out twice. One gate for the exporter's lifetime.
    gate = Gate(RunLimits(concurrency=defaults.concurrency, per_host=per_host))

    warned: set[str] = set()

    async def probe(check: CheckDef, budget: float) -> CheckResult:
        result = await run_check(with_budget(check, budget), history=history, gate=gate)
        if history is not None:
            # A result the history could not keep: said once per reason, as `run` does (the
            # lockout still holds, in memory: History.record).
            for problem in history.write_errors:
                if problem not in warned:
                    warned.add(problem)
                    said = (
                        f"警告: 結果を保存できませんでした: {_japanese(problem)}"
                        if lang == "ja"
                        else f"warning: results not saved: {problem}"
                    )
                    print(f"smtpprobe serve: {said}", file=sys.stderr, flush=True)
        return result

    last_known = None
    if history is not None:
        store = history

        def last_known(name: str) -> Snapshot | None:
            row = store.last_result(name)  # the newest real probe, not a skip
            return Snapshot.from_row(row) if row is not None else None

    return Exporter(
        checks.get,
        probe,
        last_known=last_known,
        min_interval=min_interval,
        per_host=per_host,
        concurrency=defaults.concurrency,
        timeout_offset=timeout_offset,
        lang=lang,
    )


def _japanese(message: str) -> str:
    from smtpprobe.render.errors_ja import error_ja

    return error_ja(message)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the command line."""

    @app.command(help=SERVE_HELP)
    def serve(
        checks_file: ChecksPath,
        listen: Listen = "127.0.0.1:9325",
        history: HistoryPath = None,
        min_interval: MinInterval = None,
        per_host: PerHost = None,
        timeout_offset: TimeoutOffset = 0.5,
        lang: Language = None,
        version: Version = False,
    ) -> None:
        import asyncio
        import sys

        from smtpprobe.checks import load_checks
        from smtpprobe.cli_params import lang_of
        from smtpprobe.cli_support import guard
        from smtpprobe.exporter import parse_listen
        from smtpprobe.exporter import serve as serve_http
        from smtpprobe.history import History, default_history_path

        chosen = lang_of(lang)
        with guard(lang=chosen):
            host, port = parse_listen(listen)
            checks = load_checks(checks_file)
            store = History.open(history or default_history_path())

            def announce(url: str) -> None:
                count = len(checks.checks)
                line = (
                    f"{checks_file} のチェック {count} 件; {url} で待ち受けています"
                    if chosen == "ja"
                    else f"{count} checks from {checks_file}; listening on {url}"
                )
                print(f"smtpprobe serve: {line} (/probe?target=NAME, /metrics)",
                      file=sys.stderr, flush=True)  # fmt: skip

            async def main() -> None:
                exporter = make_exporter(
                    checks, store, min_interval=min_interval, per_host=per_host,
                    timeout_offset=timeout_offset, lang=chosen,
                )  # fmt: skip
                await serve_http(exporter.handle, host, port, announce=announce)

            try:
                asyncio.run(main())
            except OSError as exc:
                from smtpprobe.errors import ConfigError

                raise ConfigError(
                    f"--listen {listen}: cannot listen ({exc.strerror or exc})"
                ) from None
            finally:
                store.close()
