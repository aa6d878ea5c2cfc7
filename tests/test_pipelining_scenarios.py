"""Every scenario of the double gives the same verdict with and without pipelining (RFC 2920).

In-process through the Python API, real sockets and TLS on loopback. The double
(aiosmtpd) offers PIPELINING, so with it on the commands after the last EHLO go
out in one flight; the verdict must not depend on that.
"""

from __future__ import annotations

from typing import Any

import pytest

from smtpprobe.api import CheckOptions, check
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER, load_scenarios

SCENARIOS = sorted(load_scenarios())


def _verdict(server: Any, pipelining: bool, **extra: Any) -> tuple[str, str | None, int]:
    # hang-after-connect never greets: each probe waits out the greeting, then the second look
    # at the port (STARTTLS: only the connection must open in time).
    hangs = server.scenario.name == "hang-after-connect"
    options = CheckOptions(
        host=server.host,
        port=server.port,
        security=server.security,
        user=None if extra.get("no_auth") else DEFAULT_USER,
        password=DEFAULT_PASSWORD,
        sender=extra.pop("sender", DEFAULT_USER),
        ca_file=server.ca_file,
        egress_lookup=False,
        phase_timeout=0.3 if hangs else 0.5,
        timeout=5,
        allow_plaintext_auth=server.security == "plain",
        pipelining=pipelining,
        **extra,
    )
    report = check(options)
    return report.verdict.category, report.verdict.stage, report.exit_code


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_verdict_with_and_without_pipelining(smtp_double: Any, scenario: str) -> None:
    server = smtp_double(scenario)
    extra: dict[str, Any] = {}
    if scenario == "open-relay":
        extra["no_auth"] = True
    if scenario == "sender-mismatch":
        extra["sender"] = "boss@example.jp"
    if scenario == "geo-filter-sakura":
        extra["source_address"] = "127.0.0.2"
    with_flight = _verdict(server, True, **dict(extra))
    one_by_one = _verdict(server, False, **dict(extra))
    assert with_flight == one_by_one


def test_the_double_really_pipelines(smtp_double: Any) -> None:
    # Otherwise the comparison above would compare one path with itself.
    server = smtp_double("ok", security="implicit-tls")
    report = check(
        CheckOptions(
            host=server.host,
            port=server.port,
            security="implicit-tls",
            user=DEFAULT_USER,
            password=DEFAULT_PASSWORD,
            ca_file=server.ca_file,
            egress_lookup=False,
        )
    )
    assert report.verdict.category == "ok"
    assert [s.phase.value for s in report.transcript.steps if s.note == "pipelined"] == [
        "auth",
        "mail",
        "rcpt",
        "rset",
        "quit",
    ]
