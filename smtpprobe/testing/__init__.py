"""The smtpprobe test double: real providers' SMTP submission behaviours on loopback.

Importable by users' own tests::

    from smtpprobe.testing import DoubleServer
    with DoubleServer("geo-filter-sakura") as server:
        ...  # connect to server.host:server.port, trusting server.ca_file

Scenarios live in ``scenarios.yaml`` next to this file; ``load_scenarios()`` lists them.
"""

from __future__ import annotations

from smtpprobe.testing.ca import (
    CertificateKind,
    TLSMaterial,
    make_expired_material,
    make_tls_material,
)
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

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "CertificateKind",
    "DoubleServer",
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
