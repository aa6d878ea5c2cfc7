"""The dialogue as a generator: it yields the next action and receives its outcome.

This is where every decision of a probe is made (STARTTLS or not, which AUTH
mechanism, when to stop), without any I/O, in the style of httpx's
``Auth.auth_flow``. ``smtpprobe.driver`` runs it against a real server; the
tests run it against plain lists of replies.

The order follows RFC 5321 section 3 and RFC 6409 (message submission):
greeting, EHLO, STARTTLS and EHLO again (RFC 3207 section 4.2: forget what
was learned before TLS), AUTH (RFC 4954), MAIL, RCPT, then RSET and QUIT. DATA
is only sent when the user asked for a real test message.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

from smtpprobe.core.auth import choose_mechanism
from smtpprobe.core.capabilities import Capabilities, parse_ehlo
from smtpprobe.core.reply import Reply
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import REQUIRED, Failure, FailureKind, Phase, Security

__all__ = [
    "Action",
    "Authenticate",
    "Data",
    "Ehlo",
    "Mail",
    "Open",
    "Outcome",
    "Quit",
    "Rcpt",
    "Rset",
    "StartTLS",
    "Stop",
    "dialogue",
    "probe_message",
]


@dataclass(frozen=True, slots=True)
class Open:
    """Resolve, connect, implicit TLS when asked, and read the greeting."""


@dataclass(frozen=True, slots=True)
class Ehlo:
    """EHLO with this name; None: the local address literal (RFC 5321 section 4.1.3)."""

    name: str | None


@dataclass(frozen=True, slots=True)
class StartTLS:
    """Send STARTTLS and, on 220, run the TLS handshake."""


@dataclass(frozen=True, slots=True)
class Authenticate:
    mechanism: str


@dataclass(frozen=True, slots=True)
class Mail:
    sender: str


@dataclass(frozen=True, slots=True)
class Rcpt:
    recipient: str


@dataclass(frozen=True, slots=True)
class Data:
    message: bytes


@dataclass(frozen=True, slots=True)
class Rset:
    pass


@dataclass(frozen=True, slots=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True)
class Stop:
    """The probe itself decided to stop: recorded as a failure at ``phase``."""

    phase: Phase
    failure: Failure
    capabilities: Capabilities | None = None


Action = Open | Ehlo | StartTLS | Authenticate | Mail | Rcpt | Data | Rset | Quit | Stop
Outcome = Reply | Failure


def _ok(outcome: Outcome | None, *codes: int) -> bool:
    return isinstance(outcome, Reply) and outcome.code in codes


def dialogue(
    spec: ProbeSpec, message: bytes | None = None
) -> Generator[Action, Outcome | None, None]:
    """Yield actions in order; each ``send`` returns the outcome of the last one.

    ``message`` is sent after DATA, only when the user asked for it
    (``--send``). ``Stop`` and ``Quit`` receive None. After any transport
    failure the connection is finished, so the plan ends without QUIT (there
    is nothing to send it on). Every stage continues only on the exact reply
    it requires (``REQUIRED``); anything else ends the dialogue there.
    """
    greeting = yield Open()
    if not _ok(greeting, *REQUIRED[Phase.GREETING]):
        if isinstance(greeting, Reply):
            yield Quit()
        return

    ehlo = yield Ehlo(spec.ehlo_name)
    if not isinstance(ehlo, Reply) or not _ok(ehlo, *REQUIRED[Phase.EHLO]):
        if isinstance(ehlo, Reply):
            yield Quit()
        return
    capabilities = parse_ehlo(ehlo)

    if spec.security is Security.STARTTLS:
        if not capabilities.starttls:
            yield Stop(
                Phase.STARTTLS,
                Failure(FailureKind.STARTTLS_NOT_OFFERED, "the EHLO reply does not list STARTTLS"),
                capabilities,
            )
            yield Quit()
            return
        started = yield StartTLS()
        if not _ok(started, *REQUIRED[Phase.STARTTLS]):
            if isinstance(started, Reply):
                yield Quit()
            return
        # RFC 3207 section 4.2: discard what was learned before TLS and ask again.
        ehlo = yield Ehlo(spec.ehlo_name)
        if not isinstance(ehlo, Reply) or not _ok(ehlo, *REQUIRED[Phase.EHLO]):
            if isinstance(ehlo, Reply):
                yield Quit()
            return
        capabilities = parse_ehlo(ehlo)

    if spec.credentials is not None:
        if not capabilities.auth_offered:
            yield Stop(
                Phase.AUTH,
                Failure(FailureKind.AUTH_NOT_OFFERED, "the EHLO reply does not list AUTH"),
                capabilities,
            )
            yield Quit()
            return
        mechanism = choose_mechanism(
            capabilities.auth_mechanisms, spec.preferred_mechanisms, spec.credentials
        )
        if mechanism is None:
            offered = " ".join(capabilities.auth_mechanisms)
            yield Stop(
                Phase.AUTH,
                Failure(FailureKind.NO_COMMON_MECHANISM, f"the server offers AUTH {offered}"),
                capabilities,
            )
            yield Quit()
            return
        authenticated = yield Authenticate(mechanism)
        if not _ok(authenticated, *REQUIRED[Phase.AUTH]):
            if isinstance(authenticated, Reply):
                yield Quit()
            return

    for action, phase in ((Mail(spec.sender), Phase.MAIL), (Rcpt(spec.recipient), Phase.RCPT)):
        outcome = yield action
        if not _ok(outcome, *REQUIRED[phase]):
            if isinstance(outcome, Reply):
                yield Rset()
                yield Quit()
            return

    if message is not None:
        sent = yield Data(message)
        if isinstance(sent, Failure):
            return
        yield Quit()
        return

    # Nothing was sent: RSET abandons the transaction (RFC 5321 section 4.1.1.5).
    reset = yield Rset()
    if isinstance(reset, Failure):
        return
    yield Quit()


def probe_message(sender: str, recipient: str, date: str, message_id: str) -> bytes:
    """The smallest RFC 5322 message a server will take, for ``--send``.

    ``date`` is an RFC 5322 date-time; the two required headers are Date and
    From, and a Subject says what this is.
    """
    lines = [
        f"From: <{sender}>",
        f"To: <{recipient}>",
        "Subject: smtpprobe test message",
        f"Date: {date}",
        f"Message-ID: <{message_id}@smtpprobe.invalid>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "This is a test message sent by smtpprobe --send.",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")
