"""Nagios / Icinga plugin output: a Report as a status line, perfdata and an exit code.

Pure: a Report (and the thresholds) in, text and a code out. It follows the Monitoring
Plugins Development Guidelines (https://www.monitoring-plugins.org/doc/guidelines.html):

- Output: one status line ``SMTP <STATE> - <text> | <perfdata>``, then longer text on
  the following lines (the verdict's cause and remedy). English only: monitoring
  systems parse it. A ``|`` in a server's reply would end the text early, so it is
  replaced; so are control characters.
- Return codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The guidelines keep UNKNOWN
  for invalid command-line arguments and failures internal to the plugin, and say that
  higher-level errors (name resolution, socket timeouts) should NOT be UNKNOWN. So:
  a refusal (530, 535, a rejected RCPT: any verdict with exit code 1) is CRITICAL,
  never OK, and so is a dialogue that could not be completed (exit code 3: DNS,
  connect refused, TLS failure, timeout): the service is down for its users. With
  ``--expect``, a met expectation is OK. Thresholds can only raise OK to WARNING or
  CRITICAL.
- Perfdata: ``'label'=value[UOM];[warn];[crit];[min];[max]``, space-separated. The
  allowed UOMs are none (a plain number), ``s``/``ms``/``us``, ``%``, ``B``/``KB``/``MB``/
  ``TB`` and ``c``: there is no unit for days, so the certificate's days left are a
  plain number labelled ``cert_days``. Times are seconds (``s``): ``time`` for the
  whole probe, one label per phase (``connect``, ``tls``, ``ehlo``, ``auth``, …), the
  phase's steps summed. Numbers use ``.`` as decimal separator, never an exponent.
- Thresholds (``--warning`` / ``--critical``): ``KEY=RANGE[,KEY=RANGE…]`` with KEY
  ``time`` (seconds) or ``cert_days`` (days left). A bare number is a limit in the
  natural direction: ``time=5`` alerts above 5 s (the guidelines' range ``5``, i.e.
  outside 0..5), ``cert_days=21`` below 21 days (the range ``21:``). Anything with
  ``:``, ``~`` or ``@`` is a guidelines range, used as written (``@10:20`` alerts inside
  10..20). Perfdata carries the ranges in the guidelines' form.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING

from smtpprobe.core.errors import ConfigError
from smtpprobe.core.record import record
from smtpprobe.core.transcript import Phase, Step, shown_host

if TYPE_CHECKING:
    from smtpprobe.report import Report

__all__ = [
    "KEYS",
    "Range",
    "State",
    "ThresholdError",
    "Thresholds",
    "nagios",
    "parse_range",
    "parse_thresholds",
    "unknown",
]

KEYS = ("time", "cert_days")  # what --warning / --critical can limit
_MAX_REPLY = 160  # characters of a server reply on the status line


class State(IntEnum):
    """The plugin states and their return codes (guidelines, "Plugin Return Codes")."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class ThresholdError(ConfigError):
    """A ``--warning`` / ``--critical`` value that cannot be read (UNKNOWN in nagios mode)."""


@record
class Range:
    """A guidelines threshold range: alert when the value is outside start..end (ends
    included), or inside it when ``inside`` (a leading ``@``)."""

    start: float = 0.0  # -inf for "~"
    end: float = math.inf  # inf when nothing follows the ":"
    inside: bool = False

    def alerts(self, value: float) -> bool:
        """Whether ``value`` raises the alert this range stands for."""
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        """The guidelines' form, for perfdata: ``10``, ``10:``, ``~:10``, ``@10:20``."""
        start = "~" if self.start == -math.inf else _number(self.start)
        if self.end == math.inf:
            body = f"{start}:"
        elif start == "0":
            body = _number(self.end)
        else:
            body = f"{start}:{_number(self.end)}"
        return ("@" if self.inside else "") + body


@record
class Thresholds:
    """The ranges of one level (``--warning`` or ``--critical``); None: no limit."""

    time: Range | None = None
    cert_days: Range | None = None

    def get(self, key: str) -> Range | None:
        """The range for ``key`` (one of ``KEYS``)."""
        return self.time if key == "time" else self.cert_days


_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def _float(text: str, what: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ThresholdError(f"{what}: {text!r} is not a number")
    return float(text)


def parse_range(text: str, key: str = "time", *, option: str = "--warning") -> Range:
    """A threshold value: a bare number in ``key``'s natural direction, or a guidelines range.

    A bare ``N`` is "above N" for ``time`` and "below N" for ``cert_days``; ``[@]start:end``
    (``~`` for minus infinity, nothing after ``:`` for infinity) is read as the
    guidelines define it. Raises ThresholdError naming ``option`` and ``key``.
    """
    what = f"{option} {key}"
    body = text.strip()
    if not body:
        raise ThresholdError(f"{what}: empty value; e.g. {key}={_EXAMPLE[key]}")
    if not any(mark in body for mark in ":~@"):
        limit = _float(body, what)
        if limit < 0:
            raise ThresholdError(f"{what}: {body} is negative")
        return Range(0.0, limit) if key == "time" else Range(limit, math.inf)
    inside = body.startswith("@")
    body = body.removeprefix("@")
    if ":" not in body:
        start, end = "0", body
    else:
        start, end = body.split(":", 1)
    low = -math.inf if start == "~" else _float(start or "0", what)
    high = math.inf if end == "" else _float(end, what)
    if low > high:
        raise ThresholdError(f"{what}: range {text!r} starts above its end")
    return Range(low, high, inside)


_EXAMPLE = {"time": "10", "cert_days": "14"}


def parse_thresholds(values: Iterable[str], *, option: str = "--warning") -> Thresholds | None:
    """``--warning`` / ``--critical`` values (``time=5,cert_days=21``; repeatable) → Thresholds.

    None when nothing was given. Unknown keys, repeated keys and bad ranges raise
    ThresholdError with one line naming the option and what to write instead.
    """
    ranges: dict[str, Range] = {}
    for value in values:
        for item in value.split(","):
            key, sep, text = item.strip().partition("=")
            key = key.strip()
            if not sep:
                example = f"{option} time=10,cert_days=14"
                raise ThresholdError(f"{option}: {item.strip()!r} is not KEY=VALUE; e.g. {example}")
            if key not in KEYS:
                raise ThresholdError(f"{option}: unknown key {key!r}; use time or cert_days")
            if key in ranges:
                raise ThresholdError(f"{option}: {key} is given twice")
            ranges[key] = parse_range(text, key, option=option)
    if not ranges:
        return None
    return Thresholds(time=ranges.get("time"), cert_days=ranges.get("cert_days"))


# --------------------------------------------------------------------------- measures


def _phase_seconds(steps: Sequence[Step]) -> dict[str, float]:
    """Seconds per phase, in order of first appearance; a phase without any time is left out
    (the implicit-TLS handshake may share its time with the greeting: see Step)."""
    seconds: dict[str, float] = {}
    for step in steps:
        if step.elapsed_ms is not None:
            key = step.phase.value
            seconds[key] = seconds.get(key, 0.0) + step.elapsed_ms / 1000
    return seconds


def _cert_days(report: Report) -> int | None:
    """Whole days from the probe's start to the certificate's notAfter (negative: expired)."""
    tls = report.transcript.tls
    if tls is None or not tls.not_after:
        return None
    try:
        not_after = dt.datetime.fromisoformat(tls.not_after)
        now = dt.datetime.fromisoformat(report.started_at)
    except ValueError:
        return None
    if not_after.tzinfo is None:
        not_after = not_after.replace(tzinfo=dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return math.floor((not_after - now).total_seconds() / 86400)


def _number(value: float) -> str:
    """A number in the POSIX form the guidelines ask for: digits, '-', '.', no exponent."""
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _perf(
    label: str, value: str, uom: str, warn: Range | None, crit: Range | None, low: str = ""
) -> str:
    fields = [f"{label}={value}{uom}", str(warn or ""), str(crit or ""), low, ""]
    return ";".join(fields).rstrip(";")


# --------------------------------------------------------------------------- text


_UNSAFE = re.compile(r"[\x00-\x1f\x7f|]+")


def _clean(text: str, limit: int | None = None) -> str:
    """One line without '|' (it starts perfdata) or control characters."""
    line = " ".join(_UNSAFE.sub(" ", text).split())
    if limit is not None and len(line) > limit:
        line = line[: limit - 3].rstrip() + "..."
    return line


def _outcome(report: Report) -> tuple[str, str]:
    """The stage and the decisive reply (or failure) as words: ``("rcpt", "250 2.1.5 Ok")``."""
    transcript = report.transcript
    step = transcript.decisive_step()
    if step is None:  # ok, or stopped short: the last step that was not RSET or QUIT
        step = next(
            (s for s in reversed(transcript.steps) if s.phase not in (Phase.RSET, Phase.QUIT)),
            None,
        )
    stage = report.verdict.stage or (step.phase.value if step else "-")
    if step is None:
        return stage, "no step recorded"
    # Masked before '|' is replaced and the line cut: either could break up a secret.
    scrub = report.redactor
    if step.reply is not None:
        reply = step.reply
        words = [str(reply.code), reply.enhanced or "", reply.lines[0] if reply.lines else ""]
        return stage, _clean(scrub(" ".join(w for w in words if w)), _MAX_REPLY)
    if step.failure is not None:
        detail = f" ({step.failure.detail})" if step.failure.detail else ""
        return stage, _clean(scrub(f"{step.failure.kind.value}{detail}"), _MAX_REPLY)
    return stage, "no reply"


def _breach(key: str, value: float, limit: Range, level: str) -> str:
    unit = " s" if key == "time" else ""
    shown = f"{value:.3f}{unit}" if key == "time" else f"{_number(value)}"
    if not limit.inside and limit.end == math.inf:
        rule = f"< {_number(limit.start)}"
    elif not limit.inside and limit.start in (0.0, -math.inf):
        rule = f"> {_number(limit.end)}"
    else:
        low = "-inf" if limit.start == -math.inf else _number(limit.start)
        high = "inf" if limit.end == math.inf else _number(limit.end)
        rule = f"{'inside' if limit.inside else 'outside'} {low}..{high}"
    return f"{key} {shown} {rule} ({level})"


def unknown(message: str) -> tuple[str, int]:
    """The UNKNOWN line for a usage or configuration error: ``SMTP UNKNOWN - <one line>``."""
    return f"SMTP UNKNOWN - {_clean(message) or 'error'}", int(State.UNKNOWN)


def nagios(
    report: Report, *, warning: Thresholds | None = None, critical: Thresholds | None = None
) -> tuple[str, int]:
    """The plugin output of ``report`` and its return code (0 OK … 3 UNKNOWN).

    The verdict decides first: exit code 0 (accepted, or ``--expect`` met) is OK, any
    other is CRITICAL. Then the thresholds: on total ``time`` and on ``cert_days``, the
    worst level reached wins. A ``cert_days`` threshold with no certificate to read
    (a plain connection) is UNKNOWN when the verdict is otherwise OK: the check cannot
    do what it was asked.
    """
    verdict, transcript = report.verdict, report.transcript
    phases = _phase_seconds(transcript.steps)
    total = sum(phases.values())
    days = _cert_days(report)
    measured: dict[str, float | None] = {"time": total, "cert_days": days}

    state = State.OK if report.exit_code == 0 else State.CRITICAL
    notes: list[str] = []
    for level, limits in ((State.CRITICAL, critical), (State.WARNING, warning)):
        for key in KEYS:
            limit = limits.get(key) if limits else None
            value = measured[key]
            if limit is None or value is None or not limit.alerts(value):
                continue
            notes.append(_breach(key, value, limit, level.name.lower()))
            state = max(state, level)
    wants_cert = any(t is not None and t.cert_days is not None for t in (warning, critical))
    if wants_cert and days is None and state is State.OK:
        state = State.UNKNOWN
        notes.append("cert_days threshold given, but no TLS certificate was seen")

    stage, outcome = _outcome(report)
    expect = ""
    if report.expect:
        expect = " (expected)" if report.expect_met else f" (expected {'/'.join(report.expect)})"
    target = transcript.target
    where = f"{shown_host(target.host)}:{target.port} {target.security.value}, {total:.3f} s"
    if days is not None:
        where += f", certificate {days} days left"
    text = f"{verdict.category}{expect} at {stage}: {outcome}"
    if notes:
        text += "; " + ", ".join(notes)

    perf = [_perf("time", f"{total:.6f}", "s", _get(warning, "time"), _get(critical, "time"), "0")]
    perf += [_perf(label, f"{value:.6f}", "s", None, None, "0") for label, value in phases.items()]
    if days is not None:
        warn, crit = _get(warning, "cert_days"), _get(critical, "cert_days")
        perf.append(_perf("cert_days", str(days), "", warn, crit))

    # Each text is masked before it is cleaned; where the probe went (host, port, time) and
    # the perfdata (labels and numbers of our own) are not, so that a short secret cannot
    # break their syntax.
    scrub = report.redactor
    head = f"SMTP {state.name} - {_clean(scrub(text))} ({_clean(where)})"
    lines = [f"{head} | {' '.join(perf)}"]
    lines += [f"{name}: {_clean(scrub(words))}" for name, words in _long_text(report) if words]
    return "\n".join(lines), int(state)


def _get(limits: Thresholds | None, key: str) -> Range | None:
    return limits.get(key) if limits else None


def _long_text(report: Report) -> list[tuple[str, str]]:
    """The lines after the status line: the verdict's cause and remedy, and any finding."""
    verdict = report.verdict
    rows = [("cause", verdict.cause.en), ("remedy", verdict.remedy.en)]
    rows += [(f"finding {f.id}", f.message.en) for f in verdict.findings]
    return rows
