"""pytest plugin (entry point ``smtpprobe``): the ``smtp_double`` and ``socks_proxy`` fixtures.

``smtp_double("ok", security="implicit-tls")`` returns a started ``DoubleServer``;
``socks_proxy(username="u", password="p")`` a started loopback ``SocksProxy``. Every server a
test started is stopped at its teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from smtpprobe.testing.server import DoubleServer, Security
from smtpprobe.testing.socks import SocksProxy


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


class SocksFactory(Protocol):
    """The type of the ``socks_proxy`` fixture."""

    def __call__(
        self,
        *,
        host: str = "127.0.0.1",
        username: str | None = None,
        password: str | None = None,
        exit_address: str | None = None,
    ) -> SocksProxy: ...


@pytest.fixture
def socks_proxy() -> Iterator[SocksFactory]:
    """A factory of started loopback SOCKS5 proxies, all stopped when the test ends."""
    proxies: list[SocksProxy] = []

    def start(
        *,
        host: str = "127.0.0.1",
        username: str | None = None,
        password: str | None = None,
        exit_address: str | None = None,
    ) -> SocksProxy:
        proxy = SocksProxy(host, username=username, password=password, exit_address=exit_address)
        proxies.append(proxy)
        return proxy.start()

    try:
        yield start
    finally:
        for proxy in reversed(proxies):
            proxy.stop()
