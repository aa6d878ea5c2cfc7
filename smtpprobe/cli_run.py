"""``smtpprobe run CHECKS.yaml``: every check of a checks file, concurrently, politely.

Wiring only: the checks file (``smtpprobe.checks``) → the runner (``smtpprobe.runner``)
→ a summary table or NDJSON; the history, ``--on-change`` and ``--ping`` through
``smtpprobe.history`` and ``smtpprobe.notify`` when they are there. Cheap to import:
everything heavy loads inside the command.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from smtpprobe import cli_params as opt

if TYPE_CHECKING:
    from smtpprobe.core.checks import CheckDef
    from smtpprobe.render.tone import Line
    from smtpprobe.runner import CheckResult

__all__ = ["RUN_HELP", "register", "summary_lines"]

RUN_HELP = """Run the checks of a checks file concurrently and print a summary (or NDJSON).

Probes at most --concurrency servers at once and --per-host connections to one
server (providers throttle parallel connections from one address), each start
delayed by a random 0..--jitter seconds. A check whose last try was auth-failed is
not tried again with the same password (lockout safety) until the password
changes or 'smtpprobe history --reset NAME'; a transient failure backs off.

\b
Examples:
  smtpprobe run checks.yaml
  smtpprobe run checks.yaml --only ocn-main --json
  smtpprobe run checks.yaml --jitter 30 --on-change 'mail -s smtpprobe ops@example.jp'

Exit codes (the worst result wins, in this order): 2 a check could not run
(configuration, password source) or usage error, 3 a dialogue could not be
completed, 1 a server refused, 0 every check passed. A check skipped for lockout
or backoff counts as its last result (1 or 3).
"""

Checks = Annotated[
    Path, typer.Argument(metavar="CHECKS.yaml", help="The checks file (see README).")
]
Only = Annotated[
    list[str] | None,
    typer.Option("--only", metavar="NAME", help="Run only this check (repeatable, or a,b)."),
]
RunJson = Annotated[
    bool, typer.Option("--json", help="One JSON document per check and line (NDJSON).")
]
Concurrency = Annotated[
    int, typer.Option(metavar="N", min=1, max=1024, help="Probes at the same time.")
]
PerHost = Annotated[
    int, typer.Option(metavar="N", min=1, max=64, help="Connections to one server at a time.")
]
Jitter = Annotated[
    float,
    typer.Option(metavar="SECONDS", min=0, max=3600, help="Random delay 0..S before each start."),
]
MinInterval = Annotated[
    float,
    typer.Option(
        metavar="SECONDS", min=0, max=3600, help="Least time between two starts to one server."
    ),
]
HistoryPath = Annotated[
    Path | None,
    typer.Option(
        "--history", metavar="PATH", help="The history database (default: your data folder)."
    ),
]
NoHistory = Annotated[
    bool, typer.Option("--no-history", help="Keep no history (and so no lockout or backoff).")
]
Confirm = Annotated[
    int,
    typer.Option(metavar="N", min=1, max=100, help="Results in a row before a state changes."),
]
OnChange = Annotated[
    str | None,
    typer.Option(metavar="CMD", help="Run CMD with each change as JSON on its standard input."),
]
Ping = Annotated[
    str | None,
    typer.Option(metavar="URL", help="Ping this URL after the run (healthchecks.io style)."),
]

_HEADERS = {
    "en": ("check", "verdict", "stage", "time"),
    "ja": ("チェック", "判定", "段階", "時間"),
}
_SKIPPED = {"en": "skipped", "ja": "スキップ"}
_ERROR = {"en": "config-error", "ja": "設定エラー（config-error）"}
_COLUMNS = 80  # the table and the lines under its rows fit a classic terminal


def skipped_text(reason: str, name: str, lang: str) -> str:
    """Why a check was skipped, in ``lang`` (the runner's reasons are kept in English)."""
    if lang != "ja":
        return reason
    if reason.startswith("lockout:"):
        return (
            "ロックアウト中: 前回この認証情報はサーバーに拒否されました。パスワードを"
            f"変えるか `smtpprobe history --reset {name}` を実行するまで再試行しません"
        )
    if reason.startswith("backoff:"):
        when = reason.rpartition(" after ")[2]
        return f"待機中（バックオフ）: 前回は一時的な失敗でした。次の試行は {when} 以降です"
    if reason.startswith("busy:"):
        return (
            "使用中: 同じ履歴で別の smtpprobe がこのチェックを実行し続けていました。"
            "記録されるのはそちらの結果です"
        )
    return reason


def summary_lines(results: list[CheckResult], lang: str = "en") -> list[Line]:
    """The summary table (one row per check, toned by its exit code); not yet redacted.

    Under each row, indented: the decisive reply (cut to one line) or the error or reason
    for a skip (whole, wrapped: it says what to fix). In a column of its own, the reply
    made the table 140 columns wide.
    """
    from smtpprobe.render.columns import clip, table, wrap
    from smtpprobe.render.labels import category_label, stage_label
    from smtpprobe.render.tone import Line, Tone, exit_tone

    key = "ja" if lang == "ja" else "en"
    rows: list[tuple[str, ...]] = [_HEADERS[key]]
    tones = [Tone.PLAIN, Tone.PLAIN]
    under: list[tuple[str, bool]] = []
    for result in results:
        if result.report is not None:
            verdict = category_label(result.category, lang)
            reply = _reply_in(result, lang)
        elif result.error is not None:
            verdict, reply = _ERROR[key], _error_in(result.error, lang)
        else:
            verdict, reply = _SKIPPED[key], skipped_text(result.skipped or "", result.name, key)
        seconds = f"{result.duration:.2f}s" if result.report is not None else "-"
        stage = stage_label(result.stage, lang, short=True) if result.stage else "-"
        rows.append((result.name, verdict, stage, seconds))
        tones.append(exit_tone(result.exit_code))
        under.append((reply, result.report is None))
    lines = [Line(text, tone) for text, tone in zip(table(rows), tones, strict=True)]
    indent = "    "
    out = lines[:2]
    for row, (text, whole) in zip(lines[2:], under, strict=True):
        out.append(row)
        room = _COLUMNS - len(indent)
        shown = wrap(text, room) if whole else [clip(text, room)] if text else []
        out += [Line(indent + part, row.tone) for part in shown]
    return out


def _reply_in(result: CheckResult, lang: str) -> str:
    """The decisive reply, or the failure in ``lang`` (a server's words stay as they are)."""
    assert result.report is not None
    step = result.report.transcript.decisive_step()
    if lang != "ja" or step is None or step.failure is None:
        return result.reply or ""
    from smtpprobe.render.labels import failure_label, note

    kind, detail = step.failure.kind.value, step.failure.detail
    if kind == "connect-refused" and detail == os.strerror(errno.ECONNREFUSED):
        detail = ""  # "接続が拒否された: 接続が拒否されました" says it twice
    text = (
        f"{failure_label(kind, 'ja')}: {note(detail, 'ja')}"
        if detail
        else failure_label(kind, "ja")
    )
    return result.report.redactor(text)


def _error_in(message: str, lang: str) -> str:
    if lang != "ja":
        return message
    from smtpprobe.render.errors_ja import error_ja

    return error_ja(message)


def _redact(result: CheckResult, text: str) -> str:
    return result.report.redactor(text) if result.report is not None else text


def _select(checks: tuple[CheckDef, ...], only: list[str] | None, path: Path) -> list[CheckDef]:
    from smtpprobe.core.checks import ChecksError

    if not only:
        return list(checks)
    wanted = [n.strip() for item in only for n in item.split(",") if n.strip()]
    names = {c.name for c in checks}
    if not wanted:
        # An empty value (an unset variable in a cron line) must not run nothing and pass.
        raise ChecksError(f"--only names no check: give one or more of {', '.join(sorted(names))}")
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise ChecksError(
            f"--only {', '.join(unknown)}: no such check in {path}; its checks: "
            f"{', '.join(sorted(names))}"
        )
    return [c for c in checks if c.name in set(wanted)]


def _open_history(path: Path | None, off: bool) -> Any:
    """The history store, or None with --no-history (or where this build has none)."""
    if off:
        return None
    try:
        from smtpprobe.history import History, default_history_path
    except ImportError:
        if path is not None:
            from smtpprobe.errors import ConfigError

            raise ConfigError("--history: this smtpprobe has no history store") from None
        return None
    return History.open(path or default_history_path())


_WINDOW = 500  # rows before the run that the change detection reads (plenty for --confirm)


def _changes(store: Any, before: dict[str, list[Any]], confirm: int) -> list[Any]:
    """What this run changed, per check (``smtpprobe.core.timeline.new_changes``)."""
    from smtpprobe.core.timeline import new_changes

    found: list[Any] = []
    for name, rows in before.items():
        after = store.rows(name, after_id=rows[-1].id if rows else 0)
        found.extend(new_changes(rows, after, confirm=confirm))
    return found


def _notify(
    changes: list[Any],
    on_change: str | None,
    ping: str | None,
    results: list[CheckResult],
    every: tuple[CheckDef, ...],
    code: int,
    lang: str = "en",
) -> None:
    """``--on-change`` once per change and ``--ping`` once per run (``smtpprobe.notify``).

    A hook that fails is a warning on stderr, never a failed run.
    """
    if not on_change and not ping:
        return
    from smtpprobe import notify

    # Every check's own {env: VAR} secret stays out of the hook's environment, not only
    # the checks of this run (--only): the hook can read its environment.
    secret_vars = [
        check.password.value
        for check in every
        if check.password is not None and check.password.kind == "env"
    ]
    outcomes = []
    if on_change:
        outcomes += [
            notify.run_on_change(on_change, change, drop_env=secret_vars) for change in changes
        ]
    if ping:
        counts: dict[str, int] = {}
        for result in results:
            counts[result.category] = counts.get(result.category, 0) + 1
        body = ", ".join(f"{n} {category}" for category, n in sorted(counts.items()))
        outcomes.append(notify.ping(ping, ok=code == 0, body=f"smtpprobe run: {body}"))
    for outcome in outcomes:
        if not outcome.ok:
            if lang == "ja":  # the hook's own words, where the table does not know them, quoted
                said = _error_in(outcome.message, lang)
                typer.echo(f"smtpprobe: 警告: 通知に失敗しました: {said}", err=True)
            else:
                typer.echo(f"smtpprobe: warning: {outcome.message}", err=True)


def _run(
    path: Path,
    only: list[str] | None,
    json_output: bool,
    limits: Any,
    store: Any,
    lang: str,
) -> tuple[list[CheckResult], dict[str, list[Any]], tuple[CheckDef, ...]]:
    import asyncio
    import json

    from smtpprobe.checks import load_checks
    from smtpprobe.runner import result_to_dict, run_checks

    every = load_checks(path).checks
    selected = _select(every, only, path)
    before = (
        {c.name: store.rows(c.name, limit=_WINDOW) for c in selected} if store is not None else {}
    )

    def emit(result: CheckResult) -> None:
        data = result_to_dict(result)
        if result.report is not None:
            data = result.report.redactor.data(data)  # masked before it is JSON (scrub_data)
        typer.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    progress = None
    if not json_output and _is_terminal(sys.stderr):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        progress = Progress(
            TextColumn("smtpprobe run"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
            transient=True,
        )
    if progress is None:
        on_result = emit if json_output else None
        results = asyncio.run(
            run_checks(selected, history=store, limits=limits, on_result=on_result)
        )
        return results, before, every
    with progress:
        task = progress.add_task("", total=len(selected))

        def advance(result: CheckResult) -> None:
            progress.update(task, advance=1, description=f"{result.name}: {result.category}")

        results = asyncio.run(run_checks(selected, history=store, limits=limits, on_result=advance))
    return results, before, every


def _is_terminal(stream: Any) -> bool:
    from smtpprobe.render.terminal import is_terminal

    return is_terminal(stream)


def run(
    checks: Checks,
    only: Only = None,
    json_output: RunJson = False,
    concurrency: Concurrency = 16,
    per_host: PerHost = 2,
    jitter: Jitter = 0.0,
    min_interval: MinInterval = 0.0,
    history: HistoryPath = None,
    no_history: NoHistory = False,
    confirm: Confirm = 2,
    on_change: OnChange = None,
    ping: Ping = None,
    lang: opt.Language = None,
    version: opt.Version = False,
) -> None:
    from smtpprobe.cli_support import guard
    from smtpprobe.core.exitcode import ExitCode
    from smtpprobe.errors import ConfigError
    from smtpprobe.render.terminal import for_stream
    from smtpprobe.runner import RunLimits, worst_exit_code

    chosen = opt.lang_of(lang)
    with guard(lang=chosen):
        if no_history and history is not None:
            raise ConfigError("use only one of --history and --no-history")
        if no_history and on_change:
            raise ConfigError("--on-change needs the history to see changes; drop --no-history")
        if on_change is not None and not on_change.strip():
            raise ConfigError("--on-change '': give the command to run with each change")
        if ping is not None:  # '' too: an empty URL silently turned the ping off
            from smtpprobe.notify import ping_url_problem

            if (problem := ping_url_problem(ping)) is not None:
                raise ConfigError(problem)  # before any probe, not after the run
        limits = RunLimits(concurrency, per_host, jitter, min_interval)
        store = _open_history(history, no_history)
        unsaved: list[str] = []
        try:
            results, before, every = _run(checks, only, json_output, limits, store, chosen)
            code = worst_exit_code([r.exit_code for r in results])
            changes = _changes(store, before, confirm) if store is not None else []
        finally:
            if store is not None:
                unsaved = list(store.write_errors)
                store.close()
        if unsaved:  # the results stand and are shown; the history must be fixed: exit 2
            code = worst_exit_code([code, int(ExitCode.USAGE)])
        if not json_output:
            lines = summary_lines(results, chosen)
            text = for_stream(lines, sys.stdout)
            for result in results:
                text = _redact(result, text)
            typer.echo(text, color=True)
        for problem in unsaved:
            if chosen == "ja":
                said = _error_in(problem, chosen)
                typer.echo(f"smtpprobe: 警告: 結果を保存できませんでした: {said}", err=True)
            else:
                typer.echo(f"smtpprobe: warning: results not saved: {problem}", err=True)
        refused = [r.check.name for r in results if _login_refused(r)]
        if unsaved and refused:
            # The lockout lives in the history: a refused password it could not keep would be
            # sent again by the next run (serve keeps it in memory; separate runs cannot).
            names = ", ".join(refused)
            typer.echo(
                "smtpprobe: 警告: 拒否されたパスワードを記録できなかったため、次回の実行で"
                f"再び送信されます（{names}）。履歴を直すまで、これらのチェックを外してください"
                if chosen == "ja"
                else f"smtpprobe: warning: the refused password of {names} could not be recorded, "
                "so the next run would send it again: fix the history, or leave these checks out "
                "until then",
                err=True,
            )
        _notify(changes, on_change, ping, results, every, code, chosen)
    raise typer.Exit(code)


def _login_refused(result: Any) -> bool:
    report = result.report
    return report is not None and (
        report.verdict.category == "auth-failed" or report.transcript.login_refused
    )


def register(app: typer.Typer) -> None:
    """Add ``run`` to the ``smtpprobe`` command line."""
    app.command("run", help=RUN_HELP)(run)
