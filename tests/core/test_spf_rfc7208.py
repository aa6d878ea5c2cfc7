"""The openspf RFC 7208 test suite (tests/data/spf/rfc7208-tests.yml, from pyspf) through our
own ``Resolver`` interface: every scenario's zone data served by ``ZoneResolver``.

Zone data follows the suite's own conventions (its header and pyspf's driver, test/testspf.py):
records of type SPF (99) are not queried, since RFC 7208 §3.1 removed them, but a name that has
SPF records and no TXT records gets them as TXT ("auto-magic duplication of SPF to TXT records
by test suite drivers"); ``TXT: NONE`` suppresses that. ``TIMEOUT`` makes every query type the
name has no records for time out. ``explanation: DEFAULT`` means the implementation's default
explanation, which for smtpprobe is the empty string (no exp= text).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from smtpprobe.core.spf import check_host, spf_domain
from smtpprobe.testing.zone import ZoneResolver

SUITE = Path(__file__).parent.parent / "data" / "spf" / "rfc7208-tests.yml"
_TYPES = ("TXT", "A", "AAAA", "MX", "PTR")


def _zone(zonedata: dict[str, list[Any]]) -> dict[str, Any]:
    zone: dict[str, Any] = {}
    for name, rrs in zonedata.items():
        entry: dict[str, Any] = {}
        spf: list[Any] = []
        txt_none = timeout = False
        for rr in rrs:
            if rr == "TIMEOUT":
                timeout = True
                continue
            ((rtype, value),) = rr.items()
            if rtype == "SPF":
                spf.append(value)
            elif rtype == "TXT" and value == "NONE":
                txt_none = True
            elif rtype == "CNAME":
                entry["CNAME"] = [value]
            else:
                entry.setdefault(rtype, []).append(value)
        if spf and "TXT" not in entry and not txt_none:
            entry["TXT"] = spf
        if timeout:
            for rtype in _TYPES:
                entry.setdefault(rtype, "TIMEOUT")
        zone[name] = entry
    return zone


def _cases() -> list[Any]:
    with SUITE.open("rb") as fh:
        # The C loader where PyYAML has it: every test worker reads this suite at collection.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        scenarios = list(yaml.load_all(fh, Loader=loader))
    cases = []
    for scenario in scenarios:
        zone = _zone(scenario.get("zonedata") or {})
        for name, test in scenario["tests"].items():
            cases.append(pytest.param(zone, test, id=f"{scenario['description']}/{name}"))
    return cases


CASES = _cases()


def test_suite_size() -> None:
    """The suite as shipped: 203 tests, of which 22 compare the explanation text."""
    assert len(CASES) == 203
    assert sum(1 for c in CASES if "explanation" in c.values[1]) == 22


@pytest.mark.parametrize(("zone", "test"), CASES)
def test_rfc7208(zone: dict[str, Any], test: dict[str, Any]) -> None:
    sender, domain = spf_domain(test["mailfrom"], test["helo"])
    outcome = asyncio.run(
        check_host(test["host"], domain, sender, helo=test["helo"], resolver=ZoneResolver(zone))
    )
    expected = test["result"]
    allowed = expected if isinstance(expected, list) else [expected]
    assert outcome.result.value in allowed, outcome.reason
    if "explanation" in test:
        want = "" if test["explanation"] == "DEFAULT" else test["explanation"]
        assert outcome.explanation == want
