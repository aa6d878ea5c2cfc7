"""Hooks for health checks: ``--on-change CMD`` and ``--ping URL``.

``--on-change CMD`` runs the user's command through the shell, once per change,
with the change as one JSON document (``smtpprobe/change/v1``,
``smtpprobe.core.timeline.Change.to_dict``) on its standard input. The command
line is the user's own and no value is ever put into it; the JSON holds only
redacted texts and never a secret, and the command's environment loses the
variables that carry secrets.

``--ping URL`` follows healthchecks.io's convention: a request to ``URL`` says the
run went well, one to ``URL/fail`` that it did not; with a body, it is a POST whose
text the service shows in its log. A ping URL is itself a credential (anyone who
knows it can ping), so messages name only its scheme and host.

A hook that fails is reported (``HookOutcome``), never raised: monitoring goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from smtpprobe import __version__
from smtpprobe.core.record import record

if TYPE_CHECKING:
    from smtpprobe.core.timeline import Change
    from smtpprobe.history import History, ResultLike

__all__ = [
    "SECRET_VARIABLES",
    "HookOutcome",
    "fail_url",
    "ping",
    "record_and_notify",
    "run_on_change",
]

# The CLI's own secret variables; the runner adds those its checks file names ({env: …}).
SECRET_VARIABLES = ("SMTPPROBE_PASSWORD", "SMTPPROBE_OAUTH_TOKEN")
_OUTPUT_LIMIT = 400  # characters of the hook's stderr kept for the message


@record
class HookOutcome:
    """What a hook did: ``ok``, and one line saying what went wrong when it did not."""

    ok: bool
    message: str = ""


def _environment(drop: Iterable[str], extra: Mapping[str, str]) -> dict[str, str]:
    dropped = {*SECRET_VARIABLES, *drop}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(extra)
    return env


def run_on_change(
    command: str,
    change: Change,
    *,
    timeout: float = 30.0,
    drop_env: Iterable[str] = (),
) -> HookOutcome:
    """Run ``command`` (a shell command line) with ``change`` as JSON on its stdin.

    The command also finds ``SMTPPROBE_CHECK`` and ``SMTPPROBE_CHANGE`` (the kind)
    in its environment; ``drop_env`` names more variables to leave out (the
    checks file's ``{env: …}`` secrets). After ``timeout`` seconds the command
    and its children are killed.
    """
    from smtpprobe.render.labels import category_names  # "状態が 成功（ok） から …"

    document = json.dumps(change.to_dict(category_names), ensure_ascii=False) + "\n"
    env = _environment(
        drop_env, {"SMTPPROBE_CHECK": change.name, "SMTPPROBE_CHANGE": change.kind.value}
    )
    try:
        proc = subprocess.Popen(
            command,
            shell=True,  # the user's own command line, like a cron entry; data goes to stdin
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group, killed as one on timeout
        )
    except OSError as exc:
        return HookOutcome(False, f"--on-change: cannot start the command ({exc.strerror})")
    try:
        _, err = proc.communicate(document.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return HookOutcome(
            False, f"--on-change: the command did not finish within {timeout:g} s; it was killed"
        )
    if proc.returncode != 0:
        said = " ".join(err.decode("utf-8", "replace").split())[:_OUTPUT_LIMIT]
        if said:
            return HookOutcome(
                False, f"--on-change: the command exited with {proc.returncode}: {said}"
            )
        return HookOutcome(False, f"--on-change: the command exited with {proc.returncode}")
    return HookOutcome(True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def fail_url(url: str) -> str:
    """``URL`` + ``/fail`` in its path (healthchecks.io), keeping any query string."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/fail"))


def _where(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}"


def ping_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be pinged (checked before a run sends anything), or None.

    The URL itself is never repeated: a ping URL's path is often its secret token.
    """
    if not url.strip():
        return "--ping '': give the http:// or https:// URL to ping"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "--ping: not a valid URL (check its brackets and port)"
    if parts.scheme not in ("http", "https"):
        given = f"a {parts.scheme}:// URL" if parts.scheme else "a URL without http:// or https://"
        return f"--ping: give an http:// or https:// URL, not {given}"
    if not parts.hostname:
        return "--ping: the URL names no host"
    return None


def ping(url: str, *, ok: bool, body: str | None = None, timeout: float = 10.0) -> HookOutcome:
    """Tell a healthchecks-style service how the run went: ``URL`` or ``URL/fail``.

    A GET without ``body``; a POST of ``body`` (UTF-8 text, shown in the service's
    log: a summary, never a secret) with one. Only http and https URLs. The whole
    exchange takes at most ``timeout`` seconds (urllib's own limit is per read, so a
    server that trickles bytes could hold a timer-started run for ever).
    """
    problem = ping_url_problem(url)
    if problem is not None:
        return HookOutcome(False, problem)
    target = url if ok else fail_url(url)
    data = body.encode("utf-8") if body is not None else None
    request = urllib.request.Request(
        target,
        data=data,
        method="POST" if data is not None else "GET",
        headers={
            "User-Agent": f"smtpprobe/{__version__}",
            "Content-Type": "text/plain; charset=utf-8",
        },
    )
    outcome: list[HookOutcome] = []

    def send() -> None:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            outcome.append(HookOutcome(False, f"--ping: {_where(url)} answered HTTP {exc.code}"))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            outcome.append(HookOutcome(False, f"--ping: cannot reach {_where(url)} ({reason})"))
        else:
            outcome.append(HookOutcome(True))

    # A daemon thread: a server that never finishes cannot keep the process from exiting.
    worker = threading.Thread(target=send, name="smtpprobe-ping", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        return HookOutcome(False, f"--ping: {_where(url)} did not answer within {timeout:g} s")
    return outcome[0]


def record_and_notify(
    history: History,
    result: ResultLike,
    *,
    confirm: int = 2,
    on_change: str | None = None,
    timeout: float = 30.0,
    drop_env: Iterable[str] = (),
    window: int = 200,
) -> tuple[list[Change], list[HookOutcome]]:
    """Store one result, find what it changed, and run ``on_change`` once per change.

    What the runner calls instead of ``History.record`` when changes matter. The
    changes are judged over the check's newest ``window`` rows before this one
    (enough: both readings start at the same row).
    """
    from smtpprobe.core.timeline import new_changes

    before = history.rows(result.check.name, limit=window)
    row = history.record(result)
    found = new_changes(before, [row], confirm=confirm)
    outcomes: Sequence[HookOutcome] = ()
    if on_change:
        outcomes = [
            run_on_change(on_change, change, timeout=timeout, drop_env=drop_env) for change in found
        ]
    return found, list(outcomes)
