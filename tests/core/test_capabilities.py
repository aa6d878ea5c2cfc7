"""EHLO capability parsing."""

from __future__ import annotations

from smtpprobe.core.capabilities import parse_ehlo
from smtpprobe.core.reply import from_code_and_message


def test_parse_postfix_ehlo() -> None:
    reply = from_code_and_message(
        250,
        "smtp.example.jp\nPIPELINING\nSIZE 10240000\nSTARTTLS\nAUTH PLAIN LOGIN\n"
        "AUTH=PLAIN LOGIN\nENHANCEDSTATUSCODES\n8BITMIME\nSMTPUTF8",
    )
    caps = parse_ehlo(reply)
    assert caps.starttls and caps.pipelining and caps.smtputf8
    assert caps.size == 10240000
    assert caps.auth_mechanisms == ("PLAIN", "LOGIN")
    assert caps.auth_offered


def test_old_auth_equals_form_only() -> None:
    caps = parse_ehlo(from_code_and_message(250, "mx\nAUTH=LOGIN CRAM-MD5"))
    assert caps.auth_mechanisms == ("LOGIN", "CRAM-MD5")


def test_no_extensions() -> None:
    caps = parse_ehlo(from_code_and_message(250, "mx.example"))
    assert not caps.starttls and not caps.auth_offered and caps.size is None
