"""The Prometheus exporter: ``/probe?target=NAME`` runs one named check, ``/metrics`` our own.

blackbox_exporter's multi-target pattern, with one difference that matters: the target
is the *name* of a check in the checks file, never a host, a port or a credential, so a
URL, a Prometheus target list or a proxy log never carries anything secret, and no
request can point the exporter at a server the checks file does not name.

Each ``/probe`` answer is built in a fresh ``CollectorRegistry`` (nothing of one check
leaks into another's answer), with ``probe_success``, ``probe_duration_seconds``,
``probe_phase_duration_seconds{phase}``, ``probe_smtp_info{code,enhanced,category,stage,rule}``,
``probe_smtp_exit_code``, ``probe_ssl_earliest_cert_expiry``,
``probe_ssl_last_chain_info{fingerprint_sha256}``, ``probe_tls_version_info{version}`` and
``probe_result_age_seconds``. A probe's time limit is the smaller of the check's
``timeout`` and Prometheus's ``X-Prometheus-Scrape-Timeout-Seconds`` minus an offset
(blackbox_exporter's ``--timeout-offset``, 0.5 s), so the answer arrives before
Prometheus gives up on the scrape.

The exporter never probes faster than the checks file allows, whatever Prometheus's
scrape interval: a check is probed again only when its last result is older than its
``interval``, and no two probes of one server (``CheckDef.server_key``) start within
``min_interval`` seconds of each other; a scrape that comes sooner is answered from the
last result (``probe_skipped{reason="min-interval"} 1``). A check locked out after
``auth-failed`` (the runner refuses to try the same credential again) is answered from its
last result too, with ``probe_skipped{reason="lockout"} 1``. Concurrent scrapes of one
check share one probe.

The HTTP server is ``smtpprobe.httpd`` (why its own: see there), the metrics are built by
``smtpprobe.metrics``. No endpoint reads the checks file or shows a secret: the metrics
hold names, codes, categories and times, never reply texts or error messages.
"""

from __future__ import annotations

import asyncio
import math
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import choose_encoder

from smtpprobe.core.exitcode import ExitCode
from smtpprobe.httpd import Request, Response, serve, start_http
from smtpprobe.metrics import ResultLike, Snapshot, build_registry

__all__ = [
    "DEFAULT_LISTEN",
    "Exporter",
    "Request",
    "Response",
    "Snapshot",
    "build_registry",
    "parse_listen",
    "serve",
    "start_http",
]

DEFAULT_LISTEN = "127.0.0.1:9325"
DEFAULT_TIMEOUT_OFFSET = 0.5  # blackbox_exporter's --timeout-offset default
NO_HEADER_TIMEOUT = 120.0  # blackbox_exporter's budget when Prometheus sends no header
MIN_BUDGET = 0.5  # below this a probe cannot even connect and greet: answer from the cache
GRACE = 1.0  # the driver's own deadline ends a probe; this only catches a runaway one


# --------------------------------------------------------------------------- what we read


class CheckLike(Protocol):
    """What the exporter reads of a check (``smtpprobe.core.checks.CheckDef``)."""

    @property
    def name(self) -> str: ...
    @property
    def server_key(self) -> str: ...
    @property
    def interval(self) -> float: ...
    @property
    def timeout(self) -> float: ...


C = TypeVar("C", bound=CheckLike)
ProbeFn = Callable[[C, float], Awaitable[ResultLike]]  # (check, seconds it may take) -> result


# --------------------------------------------------------------------------- answers


@dataclass(slots=True)
class _Answer:
    snapshot: Snapshot | None  # the last real result, None when none is known
    at: float  # monotonic: when this answer was made
    skipped: str | None  # why the last attempt did not probe (lockout, backoff)


def _skip_reason(skipped: str) -> str:
    # The runner says "lockout: auth-failed with this credential since …": the label is
    # the first word only, so no free text (and no growing label set) reaches Prometheus.
    word = skipped.split(":", 1)[0].strip().lower()
    return word if re.fullmatch(r"[a-z][a-z-]{0,30}", word) else "other"


class Exporter(Generic[C]):
    """Answers scrapes: decides between a fresh probe and the last result, counts, renders."""

    def __init__(
        self,
        lookup: Callable[[str], C | None],
        probe: Callable[[C, float], Awaitable[ResultLike]],
        *,
        last_known: Callable[[str], Snapshot | None] | None = None,
        min_interval: float = 0.0,
        per_host: int = 2,
        concurrency: int = 16,
        timeout_offset: float = DEFAULT_TIMEOUT_OFFSET,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        lang: str = "en",
    ) -> None:
        self._lookup = lookup
        self._probe = probe
        self._last_known = last_known
        self.min_interval = min_interval
        self.per_host = per_host
        self.timeout_offset = timeout_offset
        self._log = log or (lambda line: print(f"smtpprobe serve: {line}", file=sys.stderr))
        self._clock = clock
        self._lang = lang  # of the lines logged on stderr
        # How long past its budget a scrape waits for the probe: within the offset, so that
        # the answer still comes before Prometheus's own timeout (a scrape joining a probe
        # that another, longer scrape started came 0.5 s too late and was discarded).
        self._grace = GRACE if timeout_offset <= 0 else min(GRACE, timeout_offset / 2)
        self._answers: dict[str, _Answer] = {}
        self._inflight: dict[str, asyncio.Task[_Answer]] = {}
        self._host_started: dict[str, float] = {}
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self.registry = CollectorRegistry(auto_describe=True)
        self.probes = Counter(
            "smtpprobe_probes", "Probes run (a scrape answered from the last result is not one)",
            registry=self.registry,
        )  # fmt: skip
        self.errors = Counter(
            "smtpprobe_probe_errors",
            "Probes that could not run as configured (config or secret error, internal error)",
            registry=self.registry,
        )
        self.skipped_lockout = Counter(
            "smtpprobe_probes_skipped_lockout",
            "Scrapes answered from the last result because the credential is locked out",
            registry=self.registry,
        )
        self.cached = Counter(
            "smtpprobe_probes_cached",
            "Scrapes answered from the last result because of the minimum intervals",
            registry=self.registry,
        )
        self.requests = Counter(
            "smtpprobe_http_requests", "HTTP requests by status code", ["code"],
            registry=self.registry,
        )  # fmt: skip
        self.in_flight = Gauge(
            "smtpprobe_probes_in_flight", "Probes running now", registry=self.registry
        )

    # -- HTTP ------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Route one request; count its status."""
        response = await self._route(request)
        self.requests.labels(code=str(response.status)).inc()
        return response

    async def _route(self, request: Request) -> Response:
        if request.method != "GET":
            return Response.text(405, "only GET is served", headers={"Allow": "GET"})
        if request.path == "/probe":
            return await self._probe_endpoint(request)
        if request.path == "/metrics":
            return _exposition(self.registry, request)
        if request.path == "/":
            return Response.text(200, "smtpprobe exporter: /probe?target=CHECK-NAME and /metrics")
        return Response.text(404, "not found: the endpoints are /probe?target=NAME and /metrics")

    async def _probe_endpoint(self, request: Request) -> Response:
        targets = request.query.get("target", [])
        if len(targets) != 1 or not targets[0]:
            return Response.text(400, "give one target: /probe?target=CHECK-NAME")
        check = self._lookup(targets[0])
        if check is None:
            # The name is not echoed: the answer says only what to fix.
            return Response.text(404, "unknown target: not the name of a check in the checks file")
        header = request.headers.get("x-prometheus-scrape-timeout-seconds")
        try:
            budget = self.budget(check, header)
        except ValueError:
            return Response.text(400, "X-Prometheus-Scrape-Timeout-Seconds: not a number")
        registry = await self.answer(check, budget)
        return _exposition(registry, request)

    def budget(self, check: C, header: str | None) -> float:
        """Seconds the probe may take: the check's timeout, or less to fit in the scrape."""
        scrape = NO_HEADER_TIMEOUT
        if header is not None and header.strip():
            scrape = float(header)
            if not math.isfinite(scrape) or scrape <= 0:
                raise ValueError(header)
        return min(check.timeout, scrape - self.timeout_offset)

    # -- the decision ----------------------------------------------------------

    async def answer(self, check: C, budget: float) -> CollectorRegistry:
        """The registry answering one scrape of ``check`` within ``budget`` seconds."""
        name = check.name
        now = self._clock()
        last = self._answers.get(name)
        running = self._inflight.get(name)
        if running is None:
            reason, wait = self._why_not_now(check, last, now, budget)
            if reason is not None:
                if last is not None and last.snapshot is not None:
                    self.cached.inc()
                if last is not None and last.skipped == "lockout":
                    self.skipped_lockout.inc()
                    reason = "lockout"  # still locked out: say so, not "min-interval"
                return build_registry(last.snapshot if last else None, skipped=reason)
            # Reserved now, for when it will start: no second probe of the host sneaks in.
            self._host_started[check.server_key] = now + wait
            task = self._run(check, now + budget, wait)
            running = asyncio.get_running_loop().create_task(task)
            self._inflight[name] = running
            running.add_done_callback(lambda _: self._inflight.pop(name, None))
        try:
            # Shielded: a scrape Prometheus abandons must not cut a probe short (it would
            # drop the connection mid-dialogue instead of ending with QUIT).
            answer = await asyncio.wait_for(asyncio.shield(running), max(budget, 0) + self._grace)
        except TimeoutError:
            last = self._answers.get(name)
            return build_registry(last.snapshot if last else None, skipped="in-progress")
        return build_registry(answer.snapshot, skipped=answer.skipped)

    def _why_not_now(
        self, check: C, last: _Answer | None, now: float, budget: float
    ) -> tuple[str | None, float]:
        """Why this scrape gets the last result (None: probe), and how long to wait first."""
        if last is not None and now - last.at < check.interval:
            return last.skipped or "min-interval", 0.0
        if budget < MIN_BUDGET:
            return "scrape-timeout", 0.0
        started = self._host_started.get(check.server_key)
        wait = 0.0 if started is None else max(0.0, started + self.min_interval - now)
        if wait > 0:
            if last is not None and last.snapshot is not None:
                return "min-interval", 0.0
            # Nothing to answer with yet: wait for the host's turn if the scrape allows it.
            if budget - wait < MIN_BUDGET:
                return "min-interval", 0.0
        return None, wait

    async def _run(self, check: C, deadline: float, wait: float) -> _Answer:
        if wait > 0:
            await asyncio.sleep(wait)  # the per-host minimum interval (RunLimits.min_interval)
        host = self._host_slots.setdefault(check.server_key, asyncio.Semaphore(self.per_host))
        async with self._slots, host:
            budget = deadline - self._clock()
            previous = self._answers.get(check.name)
            if budget < MIN_BUDGET:  # the queue ate the time: no probe that would be cut short
                snapshot = previous.snapshot if previous else None
                return _Answer(snapshot, self._clock(), "scrape-timeout")
            self.in_flight.inc()
            try:
                result = await self._probe(check, budget)
            except Exception as exc:  # a bug: one line, no message (it might quote a secret)
                self.probes.inc()
                self.errors.inc()
                self._log(f"check {check.name!r}: internal error ({type(exc).__name__})")
                answer = _Answer(
                    Snapshot(False, 0.0, "internal-error", int(ExitCode.INTERNAL), time.time()),
                    self._clock(),
                    None,
                )
                self._answers[check.name] = answer
                return answer
            finally:
                self.in_flight.dec()
        if result.skipped is None:  # a check answered from its lockout was not probed
            self.probes.inc()
        return self._remember(check, result, previous)

    def _error_line(self, name: str, category: str, error: str) -> str:
        if self._lang != "ja":
            return f"check {name!r}: {category}: {error}"
        from smtpprobe.render.errors_ja import error_ja
        from smtpprobe.render.labels import category_label

        return f"チェック「{name}」: {category_label(category, 'ja')}: {error_ja(error)}"

    def _remember(self, check: C, result: ResultLike, previous: _Answer | None) -> _Answer:
        if result.skipped is not None:
            reason = _skip_reason(result.skipped)
            if reason == "lockout":
                self.skipped_lockout.inc()
            # The history's last result first: `smtpprobe run` may share the history and
            # have recorded a newer (failing) result than this process remembers, and a
            # skip must show that one, never an older success.
            snapshot = self._last_known(check.name) if self._last_known is not None else None
            if snapshot is None and previous is not None:
                snapshot = previous.snapshot
            answer = _Answer(snapshot, self._clock(), reason)
        else:
            if result.error is not None:
                self.errors.inc()
                self._log(self._error_line(check.name, result.category, result.error))
            answer = _Answer(Snapshot.from_result(result), self._clock(), None)
        self._answers[check.name] = answer
        return answer


def _exposition(registry: CollectorRegistry, request: Request) -> Response:
    # Prometheus asks for OpenMetrics first in Accept; plain text 0.0.4 otherwise.
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(200, encoder(registry), content_type)


# --------------------------------------------------------------------------- --listen


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` into (host, port); ConfigError naming what to fix."""
    from smtpprobe.errors import ConfigError

    hint = f"--listen {value!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN} or [::1]:9325"
    if value.startswith("["):
        host, sep, port_text = value[1:].partition("]:")
        if not sep or ":" not in host:
            raise ConfigError(hint)
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep or ":" in host:
            raise ConfigError(hint)
    if not host or not re.fullmatch(r"[A-Za-z0-9.:%_-]+", host):
        raise ConfigError(hint)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"--listen {value!r}: the port must be 0-65535")
    return host, int(port_text)


def with_budget(check: C, budget: float) -> C:
    """``check`` with its timeouts cut to ``budget`` seconds (a frozen dataclass copy)."""
    timeout = min(check.timeout, budget)
    changes: dict[str, float] = {"timeout": timeout}
    phase = getattr(check, "phase_timeout", None)
    if isinstance(phase, int | float):
        changes["phase_timeout"] = min(float(phase), timeout)
    return replace(check, **changes)  # type: ignore[type-var]
