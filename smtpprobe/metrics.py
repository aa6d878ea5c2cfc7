"""Prometheus metrics of one check's result: what ``/probe?target=NAME`` answers.

Pure apart from ``prometheus_client``'s in-memory registry: a result (or a history row,
after a restart) becomes a ``Snapshot``, and a snapshot a fresh ``CollectorRegistry`` with
``probe_success``, ``probe_duration_seconds``, ``probe_phase_duration_seconds{phase}``,
``probe_smtp_info{code,enhanced,category,stage,rule}``, ``probe_smtp_exit_code``,
``probe_ssl_earliest_cert_expiry``, ``probe_ssl_last_chain_info{fingerprint_sha256}``,
``probe_tls_version_info{version}`` and ``probe_result_age_seconds`` (blackbox_exporter's
names where it has one). No metric holds a reply text or an error message.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Gauge, Info

from smtpprobe.core.record import record

if TYPE_CHECKING:
    from smtpprobe.report import Report

__all__ = ["ResultLike", "RowLike", "Snapshot", "build_registry"]


class ResultLike(Protocol):
    """What the exporter reads of a result (``smtpprobe.runner.CheckResult``)."""

    @property
    def report(self) -> Report | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def skipped(self) -> str | None: ...
    @property
    def started_at(self) -> str: ...
    @property
    def duration(self) -> float: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def category(self) -> str: ...


class RowLike(Protocol):
    """What the exporter reads of a stored result (``smtpprobe.core.timeline.HistoryRow``)."""

    @property
    def at(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def reply(self) -> str | None: ...
    @property
    def rule(self) -> str | None: ...
    @property
    def phase_ms(self) -> Mapping[str, float]: ...
    @property
    def tls_version(self) -> str | None: ...
    @property
    def cert_not_after(self) -> str | None: ...
    @property
    def skipped(self) -> str | None: ...
    @property
    def duration_ms(self) -> float | None: ...
    @property
    def cert_fingerprint(self) -> str | None: ...


@record
class Snapshot:
    """One result reduced to what the metrics show (from a live result or a history row)."""

    success: bool
    duration: float
    category: str
    exit_code: int
    taken_at: float  # epoch seconds when the probe started
    stage: str | None = None
    code: str = ""
    enhanced: str = ""
    rule: str = ""
    phases: Mapping[str, float] = field(default_factory=dict)  # seconds per phase
    tls_version: str | None = None
    cert_expiry: float | None = None  # epoch seconds
    cert_fingerprint: str | None = None  # SHA-256 of the DER, hex

    @classmethod
    def from_result(cls, result: ResultLike) -> Snapshot:
        """A live result: its report's verdict, decisive reply, phase times and TLS."""
        taken_at = _epoch(result.started_at) or time.time()
        report = result.report
        if report is None:
            return cls(
                success=False,
                duration=result.duration,
                category=result.category,
                exit_code=result.exit_code,
                taken_at=taken_at,
            )
        from smtpprobe.core.classify import situation_of

        transcript = report.transcript
        situation = situation_of(transcript)
        phases: dict[str, float] = {}
        for step in transcript.steps:
            if step.elapsed_ms is not None:
                phases[step.phase.value] = phases.get(step.phase.value, 0.0) + step.elapsed_ms
        tls = transcript.tls
        verdict = report.verdict
        return cls(
            success=report.exit_code == 0,
            duration=result.duration,
            category=verdict.category,
            exit_code=report.exit_code,
            taken_at=taken_at,
            stage=verdict.stage,
            code=str(situation.code) if situation.code is not None else "",
            enhanced=situation.enhanced or "",
            rule=verdict.rule_id,
            phases={name: ms / 1000 for name, ms in phases.items()},
            tls_version=tls.version if tls is not None else None,
            cert_expiry=_epoch(tls.not_after) if tls is not None else None,
            cert_fingerprint=tls.fingerprint_sha256 if tls is not None else None,
        )

    @classmethod
    def from_row(cls, row: RowLike) -> Snapshot:
        """A stored result (after a restart, the exporter's memory is empty)."""
        match = _REPLY.match(row.reply or "")
        phases = {name: ms / 1000 for name, ms in (row.phase_ms or {}).items()}
        return cls(
            success=row.exit_code == 0,
            duration=(
                row.duration_ms / 1000 if row.duration_ms is not None else sum(phases.values())
            ),
            category=row.category,
            exit_code=row.exit_code,
            taken_at=_epoch(row.at) or 0.0,
            stage=row.stage,
            code=match.group(1) if match else "",
            enhanced=(match.group(2) or "") if match else "",
            rule=row.rule or "",
            phases=phases,
            tls_version=row.tls_version,
            cert_expiry=_epoch(row.cert_not_after),
            cert_fingerprint=row.cert_fingerprint,
        )


_REPLY = re.compile(r"\s*([2-5]\d\d)(?:[ -]([245]\.\d{1,3}\.\d{1,3}))?")


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def build_registry(
    snapshot: Snapshot | None, *, skipped: str | None = None, now: float | None = None
) -> CollectorRegistry:
    """A fresh registry holding one answer to ``/probe``.

    ``snapshot`` None: no result exists yet (the first scrape of a locked-out check
    after a restart with an empty history): ``probe_success 0`` and the reason.
    ``skipped`` names why this answer is an earlier result (``lockout``, ``min-interval``,
    ``backoff``): ``probe_skipped{reason} 1``.
    """
    registry = CollectorRegistry(auto_describe=True)
    success = Gauge(
        "probe_success", "Whether the check passed (its exit code was 0)", registry=registry
    )
    duration = Gauge(
        "probe_duration_seconds", "How long the probe took, in seconds", registry=registry
    )
    if skipped is not None:
        Gauge(
            "probe_skipped",
            "1: this answer is the last result; the probe was not run (reason)",
            ["reason"],
            registry=registry,
        ).labels(reason=skipped).set(1)
    if snapshot is None:
        success.set(0)
        duration.set(0)
        return registry
    success.set(1 if snapshot.success else 0)
    duration.set(snapshot.duration)
    Gauge(
        "probe_result_age_seconds",
        "Seconds since the probe behind this answer started",
        registry=registry,
    ).set(max(0.0, (time.time() if now is None else now) - snapshot.taken_at))
    Gauge("probe_smtp_exit_code", "The check's exit code (0-3)", registry=registry).set(
        snapshot.exit_code
    )
    phases = Gauge(
        "probe_phase_duration_seconds",
        "Time spent in each phase of the SMTP dialogue, in seconds",
        ["phase"],
        registry=registry,
    )
    for phase, seconds in snapshot.phases.items():
        phases.labels(phase=phase).set(seconds)
    Info(
        "probe_smtp",
        "The decisive reply code and the verdict (category, stage, rule)",
        registry=registry,
    ).info(
        {
            "code": snapshot.code,
            "enhanced": snapshot.enhanced,
            "category": snapshot.category,
            "stage": snapshot.stage or "",
            "rule": snapshot.rule,
        }
    )
    if snapshot.tls_version:
        Info("probe_tls_version", "The negotiated TLS version", registry=registry).info(
            {"version": snapshot.tls_version}
        )
    if snapshot.cert_expiry is not None and math.isfinite(snapshot.cert_expiry):
        Gauge(
            "probe_ssl_earliest_cert_expiry",
            "The server certificate's notAfter, in Unix seconds",
            registry=registry,
        ).set(snapshot.cert_expiry)
    if snapshot.cert_fingerprint:
        # blackbox_exporter's name: a replaced certificate shows as a new series.
        Info(
            "probe_ssl_last_chain",
            "The server certificate's SHA-256 fingerprint",
            registry=registry,
        ).info({"fingerprint_sha256": snapshot.cert_fingerprint})
    return registry


# --------------------------------------------------------------------------- the exporter
