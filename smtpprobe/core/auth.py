"""SASL client responses for AUTH (RFC 4954) and how each line is recorded.

Every line carries what goes on the wire, what the transcript may show, and
the secrets derived from the password or token for that line (the base64
payload and what it decodes to; for CRAM-MD5 also the digest). The wire form
is handed to the driver only; the shown form never contains a secret or any
encoding of one; the derived secrets go to the report's redactor, because a
server that echoes the line would otherwise make it printable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Generator

from smtpprobe.core.record import record
from smtpprobe.core.reply import Reply

__all__ = [
    "MECHANISMS",
    "ChallengeError",
    "Credentials",
    "Line",
    "choose_mechanism",
    "sasl_exchange",
]

MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")
HIDDEN = "********"


@record
class Credentials:
    """A user name and either a password or an OAuth 2.0 bearer token."""

    username: str
    password: str | None = None
    oauth_token: str | None = None

    def __repr__(self) -> str:  # never show the secret, even in a debugger or traceback
        return f"Credentials(username={self.username!r}, secret=<hidden>)"

    def secrets(self) -> tuple[str, ...]:
        """The raw secrets, for the redactor's last line of defence."""
        return tuple(s for s in (self.password, self.oauth_token) if s)


class ChallengeError(ValueError):
    """The server's SASL challenge cannot be read (a protocol error, not a bug of ours)."""


@record
class Line:
    """One client line of an AUTH exchange: the bytes to send and the text to record.

    ``secrets`` are the strings derived from the password or token that this
    line puts on the wire, to be masked in every output like the password.
    """

    wire: str
    shown: str
    secrets: tuple[str, ...] = ()
    # Sent only to hear a failure the server announced in its challenge (XOAUTH2's empty
    # line, RFC 7628 section 3.2.3): its reply may not be a success.
    after_error: bool = False

    def __repr__(self) -> str:
        return f"Line(shown={self.shown!r})"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _secret_line(wire: str, shown: str, payload: str, *more: str) -> Line:
    """A line whose base64 ``payload`` carries a secret: mask it and what it decodes to."""
    return Line(wire, shown, (payload, base64.b64decode(payload).decode("utf-8"), *more))


def _cram_challenge(reply: Reply) -> bytes:
    # RFC 2195 section 2: the 334 text is the base64 of the server's challenge. A
    # server that sends anything else breaks the protocol; say so instead of crashing.
    try:
        return base64.b64decode(reply.text.strip(), validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        raise ChallengeError("the CRAM-MD5 challenge is not base64") from None


def choose_mechanism(
    offered: tuple[str, ...], preferred: tuple[str, ...], credentials: Credentials
) -> str | None:
    """Pick one mechanism the server offers, in the profile's order of preference.

    Only one is ever tried: trying several in turn (as aiosmtplib's login()
    does) multiplies failed attempts and can lock the account.
    """
    usable = [m for m in preferred if m in MECHANISMS] + [
        m for m in MECHANISMS if m not in preferred
    ]
    for mech in usable:
        if mech not in offered:
            continue
        if mech == "XOAUTH2" and credentials.oauth_token is None:
            continue
        if mech != "XOAUTH2" and credentials.password is None:
            continue
        return mech
    return None


def sasl_exchange(mechanism: str, credentials: Credentials) -> Generator[Line, Reply, None]:
    """Yield client lines; receive each 334 challenge reply; stop when done.

    The first line yielded is the AUTH command itself. The driver sends the
    next line only while the server answers 334 (RFC 4954 section 4), and adds
    every line's ``secrets`` to the redactor.

    Raises ``ChallengeError`` (a ``ValueError``) when a CRAM-MD5 challenge is not
    base64, and ``ValueError`` for a mechanism not in ``MECHANISMS``.
    """
    user = credentials.username
    if mechanism == "PLAIN":
        # RFC 4616: authzid NUL authcid NUL passwd, sent as an initial response.
        blob = _b64(f"\0{user}\0{credentials.password}")
        yield _secret_line(f"AUTH PLAIN {blob}", f"AUTH PLAIN {HIDDEN}", blob)
    elif mechanism == "LOGIN":
        yield Line("AUTH LOGIN", "AUTH LOGIN")
        yield Line(_b64(user), f"{_b64(user)}  (user name {user})")
        password_line = _b64(credentials.password or "")
        yield _secret_line(password_line, f"{HIDDEN}  (password)", password_line)
    elif mechanism == "CRAM-MD5":
        challenge_reply = yield Line("AUTH CRAM-MD5", "AUTH CRAM-MD5")
        challenge = _cram_challenge(challenge_reply)
        digest = hmac.new(
            (credentials.password or "").encode("utf-8"), challenge, hashlib.md5
        ).hexdigest()
        # With the challenge (which the transcript shows) the digest allows guessing
        # the password offline: it is a secret too.
        response = _b64(f"{user} {digest}")
        shown = f"{HIDDEN}  (CRAM-MD5 response for {user})"
        yield _secret_line(response, shown, response, digest, digest.upper())
    elif mechanism == "XOAUTH2":
        blob = _b64(f"user={user}\x01auth=Bearer {credentials.oauth_token}\x01\x01")
        yield _secret_line(f"AUTH XOAUTH2 {blob}", f"AUTH XOAUTH2 {HIDDEN}", blob)
        # On failure the server sends a 334 with a JSON error; RFC 7628 section
        # 3.2.3 says the client answers with an empty line to get the final reply.
        yield Line("", "(empty line: ask for the final error)", after_error=True)
    else:
        raise ValueError(f"unsupported AUTH mechanism {mechanism}")
