"""The smtpprobe test double: real providers' SMTP submission behaviours on loopback.

Importable by users' own tests::

    from smtpprobe.testing import DoubleServer
    with DoubleServer("geo-filter-sakura") as server:
        ...  # connect to server.host:server.port, trusting server.ca_file

Scenarios live in ``scenarios.yaml`` next to this file; ``load_scenarios()`` lists them.
``FaultServer`` (one fault at one phase), ``EchoServer`` (echoes secrets back, to prove none
leaks) and ``SocksProxy`` (a loopback SOCKS5 proxy) are served on loopback the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtpprobe.testing.ca import (
    CertificateKind,
    TLSMaterial,
    make_expired_material,
    make_tls_material,
)
from smtpprobe.testing.echo import EchoServer
from smtpprobe.testing.server import (
    DEFAULT_PASSWORD,
    DEFAULT_TOKEN,
    DEFAULT_USER,
    DoubleServer,
    Rule,
    Scenario,
    ScriptStep,
    Security,
    load_scenarios,
)
from smtpprobe.testing.socks import SocksProxy

if TYPE_CHECKING:
    from smtpprobe.testing.faults import FaultServer

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "CertificateKind",
    "DoubleServer",
    "EchoServer",
    "FaultServer",
    "Rule",
    "Scenario",
    "ScriptStep",
    "Security",
    "SocksProxy",
    "TLSMaterial",
    "load_scenarios",
    "make_expired_material",
    "make_tls_material",
]


def __getattr__(name: str) -> object:
    # FaultServer brings cryptography's x509 (10 ms); `smtpprobe double` and the pytest
    # plugin import this package without needing it.
    if name == "FaultServer":
        from smtpprobe.testing.faults import FaultServer

        return FaultServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
