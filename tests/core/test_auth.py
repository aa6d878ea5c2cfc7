"""SASL encodings are correct on the wire and never shown."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from smtpprobe.core.auth import Credentials, choose_mechanism, sasl_exchange
from smtpprobe.core.reply import Reply

PASSWORD = "pä55-wörd!"
CREDS = Credentials("user@example.jp", PASSWORD)


def _run(mechanism: str, challenges: list[Reply]) -> list[tuple[str, str]]:
    flow = sasl_exchange(
        mechanism,
        CREDS if mechanism != "XOAUTH2" else Credentials("user@example.jp", oauth_token="tok-123"),
    )
    lines = [next(flow)]
    for challenge in challenges:
        try:
            lines.append(flow.send(challenge))
        except StopIteration:
            break
    return [(line.wire, line.shown) for line in lines]


def test_plain_initial_response() -> None:
    [(wire, shown)] = _run("PLAIN", [])
    assert base64.b64decode(wire.split()[2]) == f"\0user@example.jp\0{PASSWORD}".encode()
    assert shown == "AUTH PLAIN ********"


def test_login_three_lines() -> None:
    lines = _run("LOGIN", [Reply(334, ("VXNlcm5hbWU6",)), Reply(334, ("UGFzc3dvcmQ6",))])
    assert next(w for w, _ in lines) == "AUTH LOGIN"
    assert base64.b64decode(lines[2][0]).decode() == PASSWORD
    assert all(PASSWORD not in s and lines[2][0] not in s for _, s in lines)


def test_cram_md5_response() -> None:
    challenge = b"<1896.697170952@postoffice.example.net>"
    lines = _run("CRAM-MD5", [Reply(334, (base64.b64encode(challenge).decode(),))])
    user, digest = base64.b64decode(lines[1][0]).decode().split()
    expected = hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest()
    assert (user, digest) == ("user@example.jp", expected)
    assert digest not in lines[1][1]


def test_xoauth2() -> None:
    lines = _run("XOAUTH2", [Reply(334, ("eyJzdGF0dXMiOiI0MDEifQ==",))])
    assert base64.b64decode(lines[0][0].split()[2]) == (
        b"user=user@example.jp\x01auth=Bearer tok-123\x01\x01"
    )
    assert "tok-123" not in lines[0][1] and lines[1][0] == ""


def test_credentials_repr_hides_secret() -> None:
    assert PASSWORD not in repr(CREDS) and PASSWORD not in str(CREDS)


@pytest.mark.parametrize(
    ("offered", "preferred", "creds", "expected"),
    [
        (("PLAIN", "LOGIN"), ("LOGIN", "PLAIN"), CREDS, "LOGIN"),
        (("CRAM-MD5",), ("PLAIN",), CREDS, "CRAM-MD5"),
        (("XOAUTH2", "PLAIN"), ("XOAUTH2",), CREDS, "PLAIN"),
        (("XOAUTH2",), ("PLAIN",), Credentials("u", oauth_token="t"), "XOAUTH2"),
        (("GSSAPI", "NTLM"), ("PLAIN",), CREDS, None),
    ],
    ids=["profile-order", "only-cram", "no-token-skips-xoauth2", "token", "none-usable"],
)
def test_choose_mechanism(
    offered: tuple[str, ...], preferred: tuple[str, ...], creds: Credentials, expected: str | None
) -> None:
    assert choose_mechanism(offered, preferred, creds) == expected
