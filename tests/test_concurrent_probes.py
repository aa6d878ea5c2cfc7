"""Many probes in one process (compare, health checks) must not starve each other.

Loading the rules, profiles and the system trust store is blocking work; done once
per probe it held the event loop long enough for concurrent probes' own steps to
time out. This is a behaviour test (all must pass), not a timing test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from smtpprobe.api import CheckOptions, probe
from smtpprobe.core.transcript import Security
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER


def test_fifty_concurrent_probes_all_pass(smtp_double) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok", security="starttls")
    options = CheckOptions(
        host=server.host,
        port=server.port,
        security=Security.STARTTLS,
        user=DEFAULT_USER,
        password=DEFAULT_PASSWORD,
        ca_file=Path(server.ca_file),
        timeout=20,
        phase_timeout=5,
        egress_lookup=False,
    )

    async def run() -> list[str]:
        reports = await asyncio.gather(*(probe(options) for _ in range(50)))
        return [r.verdict.category for r in reports]

    assert asyncio.run(run()) == ["ok"] * 50
