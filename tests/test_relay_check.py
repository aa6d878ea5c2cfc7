"""The open-relay check and negative checks (issue 7, item 3).

Accepted without AUTH has two readings (an IP-authorised relay or an open relay);
the report says both and how to tell them apart, and ``--expect`` lets monitoring
say which verdict counts as success: ``--no-auth --expect relay-denied``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from smtpprobe.api import CheckOptions, check
from smtpprobe.cli import app
from smtpprobe.core.compare import RouteOutcome, conclude

ENV = {"SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config"}


def _relay_check(server: Any, *extra: str) -> Any:
    args = [
        "check",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--ca-file",
        str(server.ca_file),
        "--no-auth",
        "--from",
        "someone@example.jp",
        "--no-egress-lookup",
        "--phase-timeout",
        "2",
        *extra,
    ]
    return CliRunner().invoke(app, args, env=ENV, catch_exceptions=False)


def test_a_closed_server_passes_the_open_relay_check(smtp_double: Any) -> None:
    server = smtp_double("ok", security="starttls")
    result = _relay_check(server, "--expect", "relay-denied", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["verdict"]["category"] == "relay-denied"
    assert (document["expect"], document["expect_met"], document["exit_code"]) == (
        ["relay-denied"],
        True,
        0,
    )
    # Without --expect, a refusal is a refusal (exit 1), as for every check.
    assert _relay_check(server).exit_code == 1


def test_an_open_server_fails_the_open_relay_check(smtp_double: Any) -> None:
    server = smtp_double("open-relay", security="starttls")
    result = _relay_check(server, "--expect", "relay-denied", "--json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    verdict = document["verdict"]
    assert verdict["category"] == "ok"
    assert [f["id"] for f in verdict["findings"]] == ["relay-without-auth"]
    # Both readings, and how to tell them apart.
    assert (
        "IP-authorised relay" in verdict["cause"]["en"] and "OPEN RELAY" in verdict["cause"]["en"]
    )
    assert "compare" in verdict["remedy"]["en"]
    assert document["expect_met"] is False
    text = _relay_check(server, "--expect", "relay-denied", "--lang", "ja")
    assert "期待した判定: relay-denied — 不一致" in text.stdout


def test_expect_takes_several_categories_and_keeps_exit_3(smtp_double: Any) -> None:
    server = smtp_double("hang-after-connect", security="starttls")
    result = _relay_check(
        server, "--expect", "relay-denied,client-ip-rejected", "--expect", "ok",
        "--phase-timeout", "0.3",  # never greets: the wait is the point, not its length
    )  # fmt: skip
    # The dialogue could not be completed: 3, whatever was expected.
    assert result.exit_code == 3, result.output


def test_expect_through_the_api(smtp_double: Any) -> None:
    server = smtp_double("ok")
    report = check(
        CheckOptions(
            host=server.host,
            port=server.port,
            ca_file=server.ca_file,
            no_auth=True,
            sender="someone@example.jp",
            expect="relay-denied",
            egress_lookup=False,
        )
    )
    assert (report.verdict.category, report.expect_met, report.exit_code) == (
        "relay-denied",
        True,
        0,
    )


def test_compare_without_auth_says_which_relay(smtp_double: Any) -> None:
    server = smtp_double("open-relay", security="starttls")
    args = [
        "compare",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--ca-file",
        str(server.ca_file),
        "--no-auth",
        "--from",
        "someone@example.jp",
        "--no-egress-lookup",
        "--route",
        "direct",
        "--route",
        "source:127.0.0.2",
        "--json",
    ]
    result = CliRunner().invoke(app, args, env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["conclusion"]["kind"] == "relay-from-every-route"


@pytest.mark.parametrize(
    ("outcomes", "kind"),
    [
        (
            [
                RouteOutcome("direct", "ok", None, 0, "192.0.2.5", "JP", no_auth=True),
                RouteOutcome("proxy:x", "relay-denied", "rcpt", 1, "198.51.100.9", "US", True),
            ],
            "ip-authorised-relay",
        ),
        (
            [
                RouteOutcome("direct", "ok", None, 0, "192.0.2.5", "JP", no_auth=True),
                RouteOutcome("proxy:x", "ok", None, 0, "198.51.100.9", "US", no_auth=True),
            ],
            "relay-from-every-route",
        ),
        (
            [
                RouteOutcome("direct", "relay-denied", "rcpt", 1, "192.0.2.5", "JP", True),
                RouteOutcome("proxy:x", "relay-denied", "rcpt", 1, "198.51.100.9", "US", True),
            ],
            "all-refused",
        ),
    ],
    ids=["ip-authorised", "open-everywhere", "closed"],
)
def test_relay_conclusions(outcomes: list[RouteOutcome], kind: str) -> None:
    conclusion = conclude(outcomes)
    assert conclusion.kind == kind
    assert conclusion.text.en and conclusion.text.ja
