"""The checks file's schema (smtpprobe.core.checks), on plain data: defaults, keys, errors."""

from __future__ import annotations

from typing import Any

import pytest

from smtpprobe.core.checks import (
    CheckDef,
    ChecksError,
    SecretRef,
    needs_shell,
    parse_checks,
)
from smtpprobe.errors import ConfigError

SOURCE = "checks.yaml"


def _one(**keys: Any) -> dict[str, Any]:
    check: dict[str, Any] = {
        "name": "ocn-main",
        "host": "smtp.ocn.ne.jp",
        "user": "you@example.ocn.ne.jp",
        "password": {"env": "OCN_PASSWORD"},
    }
    check.update(keys)
    return {"checks": [{k: v for k, v in check.items() if v is not None}]}


def test_the_issue_example_parses_with_every_key() -> None:
    data = {
        "defaults": {"timeout": 30, "phase_timeout": 10, "interval": 300},
        "checks": [
            {
                "name": "ocn-main",
                "profile": "ocn",
                "host": "smtp.ocn.ne.jp",
                "port": 465,
                "security": "implicit-tls",
                "user": "you@example.ocn.ne.jp",
                "from": "you@example.ocn.ne.jp",
                "to": "postmaster@gmail.com",
                "password": {"env": "OCN_PASSWORD"},
                "ca_file": "/path/ca.pem",
                "source_address": "192.0.2.10",
                "labels": {"team": "mail"},
            }
        ],
    }
    checks = parse_checks(data, source=SOURCE)
    (check,) = checks.checks
    assert check == CheckDef(
        name="ocn-main",
        profile="ocn",
        host="smtp.ocn.ne.jp",
        port=465,
        security="implicit-tls",
        user="you@example.ocn.ne.jp",
        sender="you@example.ocn.ne.jp",
        recipient="postmaster@gmail.com",
        password=SecretRef("env", "OCN_PASSWORD"),
        ca_file="/path/ca.pem",
        source_address="192.0.2.10",
        labels={"team": "mail"},
        interval=300.0,
        timeout=30.0,
        phase_timeout=10.0,
        source=SOURCE,
    )
    assert checks.get("ocn-main") is check
    assert checks.get("other") is None
    assert check.server_key == "smtp.ocn.ne.jp"


def test_defaults_apply_and_a_check_overrides_them() -> None:
    pw = {"env": "PW"}
    data = {
        "defaults": {
            "timeout": 20,
            "user": "u@example.jp",
            "labels": {"team": "mail", "site": "tokyo"},
            "egress_lookup": False,
        },
        "checks": [
            {"name": "a", "profile": "sakura", "host": "www1.sakura.ne.jp", "password": pw},
            {"name": "b", "host": "SMTP.Example.JP", "timeout": 5, "labels": {"site": "osaka"},
             "password": pw},
            {"name": "c", "profile": "OCN", "no_auth": True, "from": "probe@example.jp",
             "expect": "relay-denied"},
        ],
    }  # fmt: skip
    a, b, c = parse_checks(data, source=SOURCE).checks
    assert (a.timeout, b.timeout) == (20.0, 5.0)
    assert a.labels == {"team": "mail", "site": "tokyo"}
    assert b.labels == {"team": "mail", "site": "osaka"}
    assert not a.egress_lookup and not c.egress_lookup
    assert b.server_key == "smtp.example.jp"
    assert c.server_key == "ocn"
    assert c.no_auth and c.password is None and c.expect == ("relay-denied",)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ({"env": "X_PW"}, SecretRef("env", "X_PW")),
        ({"keyring": "smtp-ocn"}, SecretRef("keyring", "smtp-ocn", username="you@example.jp")),
        (
            {"keyring": "smtp-ocn", "username": "other"},
            SecretRef("keyring", "smtp-ocn", username="other"),
        ),
        ({"command": "pass show ocn"}, SecretRef("command", "pass show ocn")),
        (
            {"command": ["pass", "show", "my entry"]},
            SecretRef("command", "pass show my entry", argv=("pass", "show", "my entry")),
        ),
    ],
    ids=["env", "keyring", "keyring-username", "command", "command-list"],
)
def test_secret_references(password: dict[str, Any], expected: SecretRef) -> None:
    data = _one(user="you@example.jp", password=password)
    assert parse_checks(data, source=SOURCE).checks[0].password == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "checks.yaml: expected a mapping"),
        ({"check": []}, "checks.yaml: key 'check': unknown (did you mean 'checks'?)"),
        ({"checks": []}, "checks.yaml: key 'checks': must be a non-empty list"),
        ({"defaults": {"name": "x"}, "checks": [{}]}, "key 'defaults.name': unknown"),
        ({"defaults": {"secuirty": "ssl"}, "checks": [{}]}, "did you mean 'security'"),
        ({"checks": ["ocn"]}, "checks.yaml: checks[0]: each check is a mapping"),
        ({"checks": [{"host": "h"}]}, "checks.yaml: checks[0]: key 'name': required"),
        ({"checks": [{"name": "a b"}]}, "key 'name': 'a b'; a name is 1-64 letters"),
        (_one(secuirty="ssl"), "check 'ocn-main': key 'secuirty': unknown (did you mean"),
        (_one(port=0), "check 'ocn-main': key 'port': must be a number from 1 to 65535"),
        (_one(port="465"), "key 'port': must be a number from 1 to 65535, not '465'"),
        (_one(port=True), "key 'port': must be a number"),
        (_one(security="tls1.3"), "key 'security': 'tls1.3': use implicit-tls"),
        (_one(timeout=0), "key 'timeout': must be a positive, finite number"),
        (_one(timeout=float("nan")), "key 'timeout': must be a positive, finite number"),
        (_one(interval="5m"), "key 'interval': must be a number of seconds"),
        (_one(host="smtp..example.jp"), "key 'host':"),
        (_one(host=None), "check 'ocn-main': give a profile or a host"),
        (_one(user=None), "key 'user': required (or no_auth: true"),
        (_one(password=None), "key 'password': required: {env: VAR}"),
        (_one(password="hunter2"), "key 'password': a password never goes in the checks file"),
        (_one(password=1234), "a password never goes in the checks file"),
        (_one(password={"env": "A", "command": "b"}), "give exactly one of env"),
        (_one(password={"file": "/x"}), "key 'password': unknown key 'file'"),
        (_one(password={"env": "A-B"}), "key 'password.env': 'A-B' is not an environment"),
        (_one(password={"command": ""}), "key 'password.command': must be a non-empty string"),
        (_one(password={"command": []}), "key 'password.command': a command given as a list"),
        (_one(password={"env": "A", "username": "u"}), "'username' goes only with keyring"),
        (_one(user=None, no_auth=True, password={"keyring": "s"}), "keyring needs a user name"),
        (_one(no_auth=True), "key 'password': no_auth: true sends no password"),
        (_one(no_auth="yes"), "key 'no_auth': must be true or false"),
        (_one(egress_lookup=0), "key 'egress_lookup': must be true or false"),
        (_one(labels=["team"]), "key 'labels': must be a mapping"),
        (_one(labels={"team-name": "x"}), "label name 'team-name'"),
        (_one(labels={"__x": "x"}), "label name '__x'"),
        (_one(labels={"team": None}), "label 'team': the value must be a string"),
        (_one(expect="relay-refused"), "key 'expect': relay-refused: not a category"),
        (_one(expect=[1]), "key 'expect': must be a category or a list"),
        (_one(ehlo="a\nb"), "key 'ehlo': must not contain control characters"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_errors_name_the_file_the_check_and_the_key(data: object, message: str) -> None:
    with pytest.raises(ChecksError) as caught:
        parse_checks(data, source=SOURCE)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    assert isinstance(caught.value, ConfigError)


def test_names_are_unique() -> None:
    data = {"checks": [_one()["checks"][0], _one()["checks"][0]]}
    with pytest.raises(ChecksError, match="check 'ocn-main': key 'name': used twice"):
        parse_checks(data, source=SOURCE)


def test_a_literal_password_is_never_quoted_in_the_error() -> None:
    with pytest.raises(ChecksError) as caught:
        parse_checks(_one(password="Zq-literal-secret-5521"), source=SOURCE)
    assert "Zq-literal-secret-5521" not in str(caught.value)


def test_phase_timeout_never_exceeds_timeout() -> None:
    check = parse_checks(_one(timeout=5, phase_timeout=30), source=SOURCE).checks[0]
    assert (check.timeout, check.phase_timeout) == (5.0, 5.0)


@pytest.mark.parametrize(
    ("command", "shell"),
    [
        ("pass show ocn", False),
        ("pass show 'my entry'", False),
        ("/usr/bin/secret-tool lookup service smtp", False),
        ("pass show ocn | head -1", True),
        ("cat $HOME/pw", True),
        ("cat ~/pw", True),
        ("a; b", True),
        ("cat < pw", True),
    ],
)
def test_needs_shell(command: str, shell: bool) -> None:
    assert needs_shell(command) is shell
