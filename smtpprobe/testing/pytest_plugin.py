"""pytest plugin (entry point ``smtpprobe``): the ``smtp_double`` fixture.

``smtp_double("ok", security="implicit-tls")`` returns a started ``DoubleServer``; every server
a test started is stopped at its teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from smtpprobe.testing.server import DoubleServer, Security


class DoubleFactory(Protocol):
    """The type of the ``smtp_double`` fixture."""

    def __call__(
        self,
        scenario: str = "ok",
        *,
        security: Security | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ca_dir: Path | str | None = None,
    ) -> DoubleServer: ...


@pytest.fixture
def smtp_double() -> Iterator[DoubleFactory]:
    """A factory of started test-double servers, all stopped when the test ends."""
    servers: list[DoubleServer] = []

    def start(
        scenario: str = "ok",
        *,
        security: Security | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ca_dir: Path | str | None = None,
    ) -> DoubleServer:
        server = DoubleServer(scenario, security=security, host=host, port=port, ca_dir=ca_dir)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in reversed(servers):
            server.stop()
