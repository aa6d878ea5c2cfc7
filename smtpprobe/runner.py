"""Run many checks at once, politely: global and per-host limits, jitter, lockout, backoff.

Providers throttle parallel connections from one address and ban clients that log in
with a wrong password too often, so a run of many checks must hold back:

- at most ``RunLimits.concurrency`` probes at a time, and ``per_host`` per server
  (``CheckDef.server_key``: the host, else the profile);
- a random delay of 0 to ``jitter`` seconds before each start, so that timers on many
  machines do not hit a server in the same second;
- at least ``min_interval`` seconds between two connection starts to one server, shared
  by everything that goes through one ``Gate`` (a run, or the exporter's lifetime);
- after ``auth-failed`` a check is not tried again with the same credential (the history
  keeps a salted tag of it, ``smtpprobe.checks.credential_tag``) until the credential
  changes or the user clears it (``smtpprobe history --reset NAME``);
- after a transient failure the history says when to try again (exponential backoff)
  and the check is skipped until then.

Every probe goes through ``smtpprobe.api.resolve`` and ``probe_spec``: the same
validated spec as ``check``, ending with QUIT. A secret never appears in a result:
errors are redacted with it, and only its salted tag is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any, Protocol

from smtpprobe.core.checks import CheckDef
from smtpprobe.core.exitcode import ExitCode
from smtpprobe.core.record import record

if TYPE_CHECKING:
    from smtpprobe.loading import ProfileSet
    from smtpprobe.report import Report
    from smtpprobe.transport import Transport

__all__ = [
    "CheckResult",
    "Gate",
    "History",
    "RunLimits",
    "result_to_dict",
    "run_check",
    "run_checks",
    "worst_exit_code",
]

# From best to worst: what `smtpprobe run` exits with when results differ. A check
# that cannot run at all (2) is the worst news, then one whose dialogue could not be
# completed (3: nothing is known about the server), then a refusal (1).
_SEVERITY = {
    int(ExitCode.ACCEPTED): 0,
    int(ExitCode.REFUSED): 1,
    int(ExitCode.INCOMPLETE): 2,
    int(ExitCode.USAGE): 3,
}


def worst_exit_code(codes: Sequence[int]) -> int:
    """The worst of the results' exit codes: 2 config > 3 incomplete > 1 refused > 0."""
    return max(codes, key=lambda code: _SEVERITY.get(code, 4), default=int(ExitCode.ACCEPTED))


class History(Protocol):
    """What the runner needs of ``smtpprobe.history.History`` (structural: any store will do)."""

    def salt(self) -> bytes: ...

    def lockout(self, name: str) -> str | None: ...

    def refused(self, name: str) -> frozenset[str]: ...

    def backoff_until(self, name: str) -> float | None: ...

    def last_exit_code(self, name: str) -> int | None: ...

    def record(self, result: CheckResult) -> object: ...

    def try_claim(self, name: str) -> bool: ...

    def release(self, name: str) -> None: ...


@record
class RunLimits:
    """How hard a run may press: probes at once, per server, start jitter, gap per server."""

    concurrency: int = 16
    per_host: int = 2
    jitter: float = 0.0  # seconds: a random delay of 0..jitter before each start
    min_interval: float = 0.0  # seconds between two connection starts to one server

    def __post_init__(self) -> None:
        from smtpprobe.errors import ConfigError

        if self.concurrency < 1 or self.per_host < 1:
            raise ConfigError("--concurrency and --per-host must be at least 1")
        # Each named alone: serve has --min-interval but no --jitter.
        if not 0 <= self.jitter < float("inf"):
            raise ConfigError("--jitter must be finite, 0 or more seconds")
        if not 0 <= self.min_interval < float("inf"):
            raise ConfigError("--min-interval must be finite, 0 or more seconds")


@record
class CheckResult:
    """One check's outcome: a report, or why there is none (``error``, ``skipped``)."""

    check: CheckDef
    report: Report | None  # None when the probe did not run
    error: str | None  # one line (config/secret problem), never a secret
    skipped: str | None  # e.g. "lockout: auth-failed with this credential; …"
    started_at: str  # ISO 8601 UTC, "2026-12-01T10:02:00Z"
    duration: float  # seconds
    credential_tag: str | None  # salted tag of the secret used (None without one)
    last_exit_code: int | None = field(default=None)  # a skipped check's: its cause's

    @property
    def name(self) -> str:
        """The check's name."""
        return self.check.name

    @property
    def exit_code(self) -> int:
        """The report's exit code; 2 for an error; a skipped check's last result's."""
        if self.report is not None:
            return self.report.exit_code
        if self.error is not None:
            return int(ExitCode.USAGE)
        return self.last_exit_code if self.last_exit_code is not None else int(ExitCode.REFUSED)

    @property
    def category(self) -> str:
        """The verdict's category, ``config-error`` or ``skipped``."""
        if self.report is not None:
            return self.report.verdict.category
        return "config-error" if self.error is not None else "skipped"

    @property
    def stage(self) -> str | None:
        """Where the dialogue stopped (the verdict's stage), if it ran."""
        return self.report.verdict.stage if self.report is not None else None

    @property
    def reply(self) -> str | None:
        """The decisive reply (or failure) in one line, redacted; None when none decided."""
        if self.report is None:
            return None
        step = self.report.transcript.decisive_step()
        if step is None:
            return None
        if step.reply is not None:
            text = " ".join(step.reply.display().splitlines())
        elif step.failure is not None:
            text = f"{step.failure.kind.value}: {step.failure.detail}".rstrip(": ")
        else:
            return None
        return self.report.redactor(text)


def result_to_dict(result: CheckResult) -> dict[str, Any]:
    """One result as JSON-ready data: the ``smtpprobe/check/v1`` report (or null) plus
    ``name``, ``labels``, ``skipped``, ``error``, ``category``, ``exit_code``,
    ``started_at``, ``duration``. Redact with the report's redactor before printing."""
    from smtpprobe.render.json import report_to_dict

    data: dict[str, Any] = {
        "name": result.name,
        "labels": dict(result.check.labels),
        "category": result.category,
        "exit_code": result.exit_code,
        "skipped": result.skipped,
        "error": result.error,
        "started_at": result.started_at,
        "duration": round(result.duration, 3),
        "report": report_to_dict(result.report) if result.report is not None else None,
    }
    return data


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Gate:
    """The limits every probe through it shares: one global semaphore, one per server,
    and each server's last connection start (for ``min_interval``).

    ``run_checks`` makes one per run; a long-lived caller (the exporter) keeps one so
    that the per-host limits and interval hold across requests. Bound to one event loop.
    """

    def __init__(self, limits: RunLimits = RunLimits()) -> None:
        self.limits = limits
        self._global = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._last_start: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Wait for jitter, a slot on ``key``'s server, its interval and a global slot."""
        limits = self.limits
        if limits.jitter > 0:
            await asyncio.sleep(random.uniform(0, limits.jitter))
        host = self._hosts.setdefault(key, asyncio.Semaphore(limits.per_host))
        lock = self._locks.setdefault(key, asyncio.Lock())
        # The server's slot first: a probe waiting for its server must not hold one of
        # the global slots that probes of other servers could use.
        async with host:
            async with lock:
                # Under the server's lock, so that two probes of one server cannot both
                # see the interval as passed; the global slot is taken last (waiting for
                # it only makes the gap longer), and the start is recorded when it is had.
                last = self._last_start.get(key)
                if last is not None and limits.min_interval > 0:
                    wait = last + limits.min_interval - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                await self._global.acquire()
                self._last_start[key] = time.monotonic()
            try:
                yield
            finally:
                self._global.release()


async def _secret(check: CheckDef) -> str | None:
    from smtpprobe.checks import read_secret

    if check.no_auth or check.password is None:
        return None
    if check.password.kind == "env":
        return read_secret(check.password, check)
    # A keyring or a command may take a while (gpg-agent): not on the event loop.
    return await asyncio.to_thread(read_secret, check.password, check)


def _skip_reason(check: CheckDef, history: History, tag: str | None) -> tuple[str, int] | None:
    """Why not to probe now, and the exit code of the last result it stands for; or None.

    A skipped check counts as its last result (README): an ``expect: [auth-failed]`` check
    that met its expectation stays 0 while it is locked out.
    """
    last = history.last_exit_code(check.name)
    if tag is not None and tag in history.refused(check.name):
        return (
            "lockout: the server refused this credential at the last try; not retried until "
            f"the password changes or `smtpprobe history --reset {check.name}`",
            last if last is not None else int(ExitCode.REFUSED),
        )
    until = history.backoff_until(check.name)
    if until is not None and until > time.time():
        return (
            f"backoff: the last try failed transiently; next try after {_when(until)}",
            last if last is not None else int(ExitCode.INCOMPLETE),
        )
    return None


async def run_check(
    check: CheckDef,
    *,
    history: History | None = None,
    limits: RunLimits = RunLimits(),
    transport: Transport | None = None,
    gate: Gate | None = None,
    profiles: ProfileSet | None = None,
) -> CheckResult:
    """Run one check (reading its secret, honouring lockout, backoff and the limits).

    The result is recorded in ``history`` when one is given. Never raises for the
    check's own problems (they are the result's ``error``); ``transport`` replaces
    the network (``smtpprobe.testing.transport.MockTransport``); ``profiles``, when
    given, are used instead of loading them for this check.
    """
    gate = gate or Gate(limits)
    if history is None:
        return await _run(check, None, gate, transport, profiles)
    # One prober of a check at a time per history, across processes: the lockout read
    # below must see what the other one recorded (``History.try_claim``).
    if not await _claim(check, history, gate.limits.jitter):
        last = history.last_exit_code(check.name)
        code = last if last is not None else int(ExitCode.INCOMPLETE)
        return CheckResult(check, None, None, _BUSY, _now(), 0.0, None, code)
    try:
        result = await _run(check, history, gate, transport, profiles)
        # On a thread: a history another process is writing makes the write wait (up to its
        # busy timeout), and the event loop must not wait with it (other probes' deadlines,
        # serve's scrapes).
        await asyncio.to_thread(history.record, result)
    finally:
        history.release(check.name)
    return result


_BUSY = (
    "busy: another smtpprobe process kept probing this check with the same history; "
    "its result is the one recorded"
)
_CLAIM_POLL = 0.1  # seconds between two looks at another process's claim
# Seconds past the check's timeout and jitter: the other process's wait for its server's
# slot and its write (a history another process writes waits up to 10 s).
_CLAIM_SLACK = 60.0


async def _claim(check: CheckDef, history: History, jitter: float) -> bool:
    """Wait for ``check``'s claim on ``history``: as long as another process's probe of it
    may take (its timeout and jitter, as this run's), then give up (False)."""
    deadline = time.monotonic() + check.timeout + jitter + _CLAIM_SLACK
    while not history.try_claim(check.name):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_CLAIM_POLL)
    return True


async def _run(
    check: CheckDef,
    history: History | None,
    gate: Gate,
    transport: Transport | None,
    profiles: ProfileSet | None = None,
) -> CheckResult:
    from smtpprobe.api import probe_spec, resolve
    from smtpprobe.checks import credential_tag, options_for
    from smtpprobe.core.redact import Redactor
    from smtpprobe.errors import SmtpprobeError

    secrets: list[str] = []
    tag: str | None = None

    def failed(message: str, started_at: str, duration: float = 0.0) -> CheckResult:
        text = Redactor(secrets)(" ".join(message.split()))
        return CheckResult(check, None, text, None, started_at, duration, tag)

    try:
        secret = await _secret(check)
        if secret is not None:
            secrets.append(secret)
        options = options_for(check, secret)
        if options.proxy:
            from smtpprobe.core.spec import parse_proxy

            if proxy_password := parse_proxy(options.proxy).password:
                secrets.append(proxy_password)
        # The salt is read before anything is sent: a history that has lost it could not
        # keep a refused password from being sent again.
        salt = history.salt() if history is not None and secret is not None else b""
        if history is not None and secret is not None and history.lockout(check.name):
            # A slow hash, so only when it decides something: here, and after auth-failed.
            tag = await asyncio.to_thread(credential_tag, secret, salt)
        if history is not None:
            reason = _skip_reason(check, history, tag)
            if reason is not None:
                return CheckResult(check, None, None, reason[0], _now(), 0.0, tag, reason[1])
        spec, profile = resolve(options, profiles=profiles)
    except SmtpprobeError as exc:
        return failed(str(exc), _now())
    async with gate.slot(check.server_key):
        started_at, start = _now(), time.monotonic()
        try:
            report = await probe_spec(spec, profile, options, transport=transport)
        except SmtpprobeError as exc:
            return failed(str(exc), started_at, time.monotonic() - start)
        except Exception as exc:  # a bug: one check's must not end the others
            message = f"internal error, please report it: {type(exc).__name__}: {exc}"
            return failed(message, started_at, time.monotonic() - start)
    duration = time.monotonic() - start
    # Refused credentials, whatever a rule calls them ("535 … account locked" is a rate limit
    # by its words): the tag is kept, and they are not sent again.
    failed_auth = report.verdict.category == "auth-failed" or report.transcript.login_refused
    if history is not None and secret is not None and tag is None and failed_auth:
        tag = await asyncio.to_thread(credential_tag, secret, salt)
    return CheckResult(check, report, None, None, started_at, duration, tag)


async def run_checks(
    checks: Sequence[CheckDef],
    *,
    history: History | None = None,
    limits: RunLimits = RunLimits(),
    on_result: Callable[[CheckResult], None] | None = None,
    transport: Transport | None = None,
) -> list[CheckResult]:
    """Run every check concurrently under ``limits``; the results in the checks' order.

    ``on_result`` hears each result as it comes (for a progress display).
    """
    from smtpprobe.errors import SmtpprobeError
    from smtpprobe.loading import load_profiles

    gate = Gate(limits)
    try:
        profiles: ProfileSet | None = load_profiles()  # once a run, not once a check
    except SmtpprobeError:
        profiles = None  # each check then says what is wrong, as its own result

    async def one(check: CheckDef) -> CheckResult:
        result = await run_check(
            check, history=history, transport=transport, gate=gate, profiles=profiles
        )
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(check) for check in checks)))
