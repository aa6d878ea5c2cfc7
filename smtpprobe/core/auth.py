"""SASL client responses for AUTH (RFC 4954) and how each line is recorded.

Every function here returns two things per line: what goes on the wire and
what the transcript may show. The wire form is handed to the driver only;
the shown form never contains the secret or any encoding of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Generator
from dataclasses import dataclass

from smtpprobe.core.reply import Reply

__all__ = ["MECHANISMS", "Credentials", "Line", "choose_mechanism", "sasl_exchange"]

MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")
HIDDEN = "********"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Line:
    """One client line of an AUTH exchange: the bytes to send and the text to record."""

    wire: str
    shown: str

    def __repr__(self) -> str:
        return f"Line(shown={self.shown!r})"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


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
    next line only while the server answers 334 (RFC 4954 section 4).
    """
    user = credentials.username
    if mechanism == "PLAIN":
        # RFC 4616: authzid NUL authcid NUL passwd, sent as an initial response.
        blob = _b64(f"\0{user}\0{credentials.password}")
        yield Line(f"AUTH PLAIN {blob}", f"AUTH PLAIN {HIDDEN}")
    elif mechanism == "LOGIN":
        yield Line("AUTH LOGIN", "AUTH LOGIN")
        yield Line(_b64(user), f"{_b64(user)}  (user name {user})")
        yield Line(_b64(credentials.password or ""), f"{HIDDEN}  (password)")
    elif mechanism == "CRAM-MD5":
        challenge_reply = yield Line("AUTH CRAM-MD5", "AUTH CRAM-MD5")
        challenge = base64.b64decode(challenge_reply.text.strip() or "", validate=False)
        digest = hmac.new(
            (credentials.password or "").encode("utf-8"), challenge, hashlib.md5
        ).hexdigest()
        yield Line(_b64(f"{user} {digest}"), f"{HIDDEN}  (CRAM-MD5 response for {user})")
    elif mechanism == "XOAUTH2":
        blob = _b64(f"user={user}\x01auth=Bearer {credentials.oauth_token}\x01\x01")
        yield Line(f"AUTH XOAUTH2 {blob}", f"AUTH XOAUTH2 {HIDDEN}")
        # On failure the server sends a 334 with a JSON error; RFC 7628 section
        # 3.2.3 says the client answers with an empty line to get the final reply.
        yield Line("", "(empty line: ask for the final error)")
    else:
        raise ValueError(f"unsupported AUTH mechanism {mechanism}")
