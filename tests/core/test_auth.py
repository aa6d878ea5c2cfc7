"""SASL encodings are correct on the wire, never shown, and handed to the redactor."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from smtpprobe.core.auth import ChallengeError, Credentials, Line, choose_mechanism, sasl_exchange
from smtpprobe.core.redact import Redactor
from smtpprobe.core.reply import Reply

PASSWORD = "pä55-wörd!"
CREDS = Credentials("user@example.jp", PASSWORD)


TOKEN_CREDS = Credentials("user@example.jp", oauth_token="tok-123")
CHALLENGE = b"<1896.697170952@postoffice.example.net>"
# What each mechanism's server says between lines (RFC 4954 section 4).
CHALLENGES = {
    "PLAIN": [],
    "LOGIN": [Reply(334, ("VXNlcm5hbWU6",)), Reply(334, ("UGFzc3dvcmQ6",))],
    "CRAM-MD5": [Reply(334, (base64.b64encode(CHALLENGE).decode(),))],
    "XOAUTH2": [Reply(334, ("eyJzdGF0dXMiOiI0MDEifQ==",))],
}


def _lines(mechanism: str, challenges: list[Reply]) -> list[Line]:
    flow = sasl_exchange(mechanism, CREDS if mechanism != "XOAUTH2" else TOKEN_CREDS)
    lines = [next(flow)]
    for challenge in challenges:
        try:
            lines.append(flow.send(challenge))
        except StopIteration:
            break
    return lines


def _run(mechanism: str, challenges: list[Reply]) -> list[tuple[str, str]]:
    return [(line.wire, line.shown) for line in _lines(mechanism, challenges)]


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
    lines = _run("CRAM-MD5", CHALLENGES["CRAM-MD5"])
    user, digest = base64.b64decode(lines[1][0]).decode().split()
    expected = hmac.new(PASSWORD.encode(), CHALLENGE, hashlib.md5).hexdigest()
    assert (user, digest) == ("user@example.jp", expected)
    assert digest not in lines[1][1]


def test_xoauth2() -> None:
    lines = _run("XOAUTH2", [Reply(334, ("eyJzdGF0dXMiOiI0MDEifQ==",))])
    assert base64.b64decode(lines[0][0].split()[2]) == (
        b"user=user@example.jp\x01auth=Bearer tok-123\x01\x01"
    )
    assert "tok-123" not in lines[0][1] and lines[1][0] == ""


def _payload(wire: str) -> str:
    return wire.split()[2] if wire.startswith("AUTH ") else wire


@pytest.mark.parametrize(
    ("mechanism", "secret_lines"),
    [("PLAIN", [0]), ("LOGIN", [2]), ("CRAM-MD5", [1]), ("XOAUTH2", [0])],
    ids=str,
)
def test_derived_secrets_are_listed(mechanism: str, secret_lines: list[int]) -> None:
    """Each line that carries the secret lists its payload and what it decodes to."""
    lines = _lines(mechanism, CHALLENGES[mechanism])
    for index, line in enumerate(lines):
        if index not in secret_lines:
            assert line.secrets == ()
            continue
        payload = _payload(line.wire)
        assert line.secrets[:2] == (payload, base64.b64decode(payload).decode())
    if mechanism == "CRAM-MD5":
        digest = hmac.new(PASSWORD.encode(), CHALLENGE, hashlib.md5).hexdigest()
        assert lines[1].secrets[2:] == (digest, digest.upper())


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"])
def test_redactor_with_line_secrets_masks_every_wire_line(mechanism: str) -> None:
    creds = CREDS if mechanism != "XOAUTH2" else TOKEN_CREDS
    lines = _lines(mechanism, CHALLENGES[mechanism])
    redact = Redactor([*creds.secrets(), *(s for line in lines for s in line.secrets)])
    for line in lines:
        if line.secrets:
            payload = _payload(line.wire)
            decoded = base64.b64decode(payload)
            echoed = f"535 you sent {line.wire} = {decoded!r} = {decoded.hex().upper()}"
            out = redact(echoed)
            assert payload not in out and decoded.hex().upper() not in out
            assert all(secret not in out for secret in line.secrets)


def test_line_repr_hides_wire_and_secrets() -> None:
    [line] = _lines("PLAIN", [])
    assert line.secrets and all(s not in repr(line) for s in (line.wire, *line.secrets))


@pytest.mark.parametrize(
    "challenge",
    ["not base64!", "PDE4OTY", "====", "日本語のチャレンジ"],
    ids=["punctuation", "bad-padding", "only-padding", "non-ascii"],
)
def test_cram_md5_challenge_not_base64_is_a_challenge_error(challenge: str) -> None:
    flow = sasl_exchange("CRAM-MD5", CREDS)
    next(flow)
    with pytest.raises(ChallengeError, match="the CRAM-MD5 challenge is not base64"):
        flow.send(Reply(334, (challenge,)))
    assert issubclass(ChallengeError, ValueError)


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
