"""The public API is what README documents; a change to it is deliberate."""

from __future__ import annotations

import dataclasses
import re

import pytest

import smtpprobe


def test_all_is_pinned_and_sorted() -> None:
    assert smtpprobe.__all__ == [
        "CheckOptions",
        "Report",
        "Security",
        "Verdict",
        "__version__",
        "check",
        "classify",
        "explain",
        "probe",
    ]
    assert smtpprobe.__all__ == sorted(smtpprobe.__all__)


def test_every_name_resolves() -> None:
    for name in smtpprobe.__all__:
        assert getattr(smtpprobe, name) is not None


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("password", b"s3cret", "give the secret as a str, not bytes"),
        ("oauth_token", 12345, "give the secret as a str, not int"),
        ("no_auth", "no", "give True or False"),
        ("pipelining", "false", "give True or False"),
        ("expect", 5, "give category names"),
        ("proxy", 5, "proxy=a value: give a str"),
        ("egress_timeout", "soon", "give seconds"),
    ],
)
def test_wrong_types_are_config_errors_before_anything_is_sent(
    field: str, value: object, words: str
) -> None:
    # password=b"..." once went on the wire as the text "b'...'" (a wrong password that
    # counts against the account); nothing may be sent here: port 1 on loopback is closed.
    from smtpprobe.api import CheckOptions, check
    from smtpprobe.errors import ConfigError

    options = CheckOptions(host="127.0.0.1", port=1, user="u@example.jp", password="pw",
                           egress_lookup=False, dns_checks=False)  # fmt: skip
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        check(dataclasses.replace(options, **{field: value}))
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("bad", [None, {}, "smtp.example.jp"])
def test_check_wants_check_options(bad: object) -> None:
    from smtpprobe.api import check

    with pytest.raises(TypeError, match="give a CheckOptions"):
        check(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("family", None, "use any, ipv4 or ipv6"),
        ("family", [], "use any, ipv4 or ipv6"),
        ("ca_file", True, "give the path of a CA file"),
        ("ca_file", "", "give the path of a CA file"),
        ("rule_files", ("",), "--rules '': give the path of a YAML file"),
        ("profile_files", "", "--profile '': give the path of a YAML file"),
        ("expect", "", "--expect ''"),
        ("recipient", "", "--to"),
        ("sender", "", "--from"),
        ("profile_files", "\0", "NUL"),
    ],
)
def test_more_wrong_types_are_config_errors(field: str, value: object, words: str) -> None:
    from smtpprobe.api import CheckOptions, check
    from smtpprobe.errors import ConfigError

    options = CheckOptions(host="127.0.0.1", port=1, no_auth=True, sender="a@example.jp",
                           egress_lookup=False, dns_checks=False)  # fmt: skip
    with pytest.raises(ConfigError, match=re.escape(words)):
        check(dataclasses.replace(options, **{field: value}))


def test_a_double_refuses_a_port_the_kernel_would_wrap() -> None:
    from smtpprobe.testing import DoubleServer

    for port in (70000, 131097, -1):
        with pytest.raises(ValueError, match="from 0"):
            DoubleServer("ok", port=port)


@pytest.mark.parametrize("field", ["password", "oauth_token"])
def test_a_secret_that_is_not_utf8_is_refused_before_connecting(field: str) -> None:
    # Undecodable bytes from an environment variable arrive as lone surrogates: a red-team
    # run crashed mid-dialogue (after STARTTLS, no QUIT) while building AUTH.
    from smtpprobe.api import CheckOptions, check
    from smtpprobe.core.redact import Redactor
    from smtpprobe.errors import ConfigError

    secret = "secr\udcffet"
    options = CheckOptions(host="127.0.0.1", port=1, user="u@example.jp", egress_lookup=False,
                           dns_checks=False, **{field: secret})  # fmt: skip
    with pytest.raises(ConfigError, match="not UTF-8 text") as caught:
        check(options)
    assert "ff" not in str(caught.value)  # nothing of the secret, not even its bad byte
    assert Redactor([secret])("echo: secr\udcffet") == "echo: ********"  # no crash either
