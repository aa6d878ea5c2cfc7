"""``smtpprobe history``: each check's timeline as states, and what changed in the dialogue.

Registered by ``smtpprobe.cli`` (``register(app)``); cheap to import, the work is in
``smtpprobe.history`` and ``smtpprobe.core.timeline``, loaded when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from smtpprobe import cli_params as opt

if TYPE_CHECKING:
    from smtpprobe.core.rules import Text
    from smtpprobe.history import History

__all__ = ["HISTORY_HELP", "register"]

HISTORY_HELP = (
    "Show each check's timeline from the history of `smtpprobe run`: its states "
    "(ok since …; client-ip-rejected since …, reply …) and what changed in the dialogue "
    "(reply text, AUTH mechanisms, certificate, TLS version, banner, egress country). "
    "--reset NAME clears a check's lockout after auth-failed, and its backoff."
)
SCHEMA = "smtpprobe/history/v1"

CheckName = Annotated[
    str | None, typer.Argument(metavar="[NAME]", help="Only this check (default: all).")
]
HistoryPath = Annotated[
    Path | None,
    typer.Option(
        "--history",
        metavar="PATH",
        help="The history database (default: history.sqlite3 in the user's data directory).",
    ),
]
Confirm = Annotated[
    int,
    typer.Option(
        "--confirm",
        metavar="N",
        min=1,
        help="A state changes only after N results in a row agree (default 2: one blip "
        "does not count).",
    ),
]
Reset = Annotated[
    str | None,
    typer.Option(
        "--reset",
        metavar="NAME",
        help="Clear this check's lockout (after auth-failed) and backoff; its results stay.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``history`` command to ``app``."""
    app.command("history", help=HISTORY_HELP)(history)


def history(
    name: CheckName = None,
    history_path: HistoryPath = None,
    confirm: Confirm = 2,
    reset: Reset = None,
    json_output: opt.Json = False,
    lang: opt.Language = None,
    version: opt.Version = False,
) -> None:
    from smtpprobe.cli_support import guard
    from smtpprobe.history import History, HistoryError, default_history_path

    chosen = opt.lang_of(lang)
    with guard(lang=chosen):
        path = history_path if history_path is not None else default_history_path()
        with History.open(path, create=False, read_only=reset is None) as store:
            known = store.names()
            wanted = reset if reset is not None else name  # '' is a name to look for, too
            if wanted is not None and wanted not in known:
                raise HistoryError(_unknown(wanted, path, known, chosen))
            if reset is not None:
                store.reset(reset)
                if not json_output:
                    typer.echo(_say(chosen, *_RESET).format(name=reset))
                    raise typer.Exit(0)
            names = [reset] if reset is not None else [name] if name is not None else known
            if json_output:
                import json

                # After --reset: the same document for that check, now cleared, with
                # "reset" naming it (a script reads JSON, not the sentence).
                document = {
                    "schema": SCHEMA,
                    **({"reset": reset} if reset is not None else {}),
                    "checks": [_check_dict(store, n, confirm) for n in names],
                }
                typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
                raise typer.Exit(0)
            if not names:
                typer.echo(_say(chosen, *_EMPTY).format(path=path))
                raise typer.Exit(0)
            from smtpprobe.render.tone import visible

            blocks = ["\n".join(_check_lines(store, n, confirm, chosen)) for n in names]
            typer.echo(visible("\n\n".join(blocks)))  # stored replies: a server's words


# --------------------------------------------------------------------------- words

_RESET = (
    "{name}: lockout and backoff cleared; the next run tries it again",
    "{name}: ロックアウトと待機を解除しました。次の実行で再び試します",
)
_EMPTY = (
    "no results in {path} yet: `smtpprobe run CHECKS.yaml` stores them",
    "{path} にはまだ結果がありません: `smtpprobe run CHECKS.yaml` が記録します",
)


def _say(lang: str, en: str, ja: str) -> str:
    return ja if lang == "ja" else en


def _unknown(name: str, path: Path, known: list[str], lang: str) -> str:
    listed = ", ".join(known) if known else _say(lang, "none", "なし")
    return _say(
        lang,
        f"no history for check '{name}' in {path} (checks with a history: {listed})",
        f"{path} にチェック '{name}' の履歴がありません（履歴のあるチェック: {listed}）",
    )


def local_time(at: str) -> str:
    """An ISO 8601 UTC time as the user's local ``2026-01-30 19:02 JST``."""
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z").rstrip()


def _iso(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(text: Text, lang: str) -> str:
    return text.get(lang)


# --------------------------------------------------------------------------- one check


def _check_lines(store: History, name: str, confirm: int, lang: str) -> list[str]:
    from smtpprobe.core.timeline import changes, states
    from smtpprobe.render.labels import category_names

    named = category_names

    rows = store.rows(name)
    found = states(rows, confirm=confirm)
    lines = [name]
    for index, state in enumerate(found):
        now = index == len(found) - 1
        mark = _say(lang, "  <- now", "  ← 現在") if now else ""
        lines.append("  " + _text(state.text(local_time, named), lang) + mark)
    if not found:
        lines.append(_say(lang, "  no results yet (only skipped runs)", "  まだ結果がありません"))
    lines += [f"  {line}" for line in _status_lines(store, name, rows, found, confirm, lang)]
    found_changes = changes(rows, confirm=confirm)
    if found_changes:
        lines.append(_say(lang, "  changes:", "  変化:"))
        lines += [f"    {_text(c.text(local_time, named), lang)}" for c in found_changes]
    return lines


def _pending(rows: list[Any], current: str | None) -> tuple[Any, int] | None:
    """The newest result when it differs from the state, and how many agree with it."""
    results = [r for r in rows if r.is_result]
    if not results or current is None or results[-1].category == current:
        return None
    newest, count = results[-1], 0
    for row in reversed(results):
        if row.category != newest.category:
            break
        count += 1
    return newest, count


def _status_lines(
    store: History, name: str, rows: list[Any], found: list[Any], confirm: int, lang: str
) -> list[str]:
    import time

    from smtpprobe.render.labels import category_label

    lines: list[str] = []
    pending = _pending(rows, found[-1].category if found else None)
    if pending is not None:
        newest, count = pending
        at = local_time(newest.at)
        lines.append(
            _say(
                lang,
                f"latest: {newest.category} at {at}, not yet confirmed ({count} of {confirm})",
                f"最新: {at} に {category_label(newest.category, 'ja')}"
                f"（未確定: {confirm} 回中 {count} 回）",
            )
        )
    if store.lockout(name) is not None:
        # What the server did to the login: a 535 (auth-failed), or a hang-up or another
        # refusal right after the credentials (README, "lockout").
        last = store.last_result(name)
        why = last.category if last is not None else "auth-failed"
        lines.append(
            _say(
                lang,
                f"locked out after {why} (the server refused the login): not tried with the "
                f"same credential until its secret changes or "
                f"`smtpprobe history --reset {name}`",
                f"{category_label(why, 'ja')}（サーバーがログインを拒否）のためロックアウト中: "
                f"秘密情報を変えるか `smtpprobe history --reset {name}` を実行するまで"
                "同じ認証情報では試しません",
            )
        )
    until = store.backoff_until(name)
    if until is not None and until > time.time():
        when = local_time(_iso(until))
        lines.append(
            _say(
                lang,
                f"backing off after transient failures: next try after {when}",
                f"一時的な失敗が続いたため待機中: 次は {when} 以降に試します",
            )
        )
    return lines


def _check_dict(store: History, name: str, confirm: int) -> dict[str, Any]:
    import time

    from smtpprobe.core.timeline import changes, states
    from smtpprobe.render.labels import category_names

    rows = store.rows(name)
    found = states(rows, confirm=confirm)
    pending = _pending(rows, found[-1].category if found else None)
    until = store.backoff_until(name)
    return {
        "name": name,
        "state": found[-1].category if found else None,
        "results": sum(1 for r in rows if r.is_result),
        "skipped": sum(1 for r in rows if not r.is_result),
        "states": [s.to_dict(category_names) for s in found],
        "changes": [c.to_dict(category_names) for c in changes(rows, confirm=confirm)],
        "latest": None
        if not rows
        else {
            "at": rows[-1].at,
            "category": rows[-1].category,
            "exit_code": rows[-1].exit_code,
            "confirmed": pending is None,
        },
        "locked_out": store.lockout(name) is not None,
        "backoff_until": _iso(until) if until is not None and until > time.time() else None,
    }
