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

from smtpprobe.core.auth import Credentials, choose_mechanism
from smtpprobe.core.capabilities import Capabilities, parse_ehlo
from smtpprobe.core.reply import Reply
from smtpprobe.core.transcript import Failure, FailureKind, Phase, Security

__all__ = [
    "Action",
    "Authenticate",
    "Data",
    "Ehlo",
    "Mail",
    "Open",
    "Outcome",
    "PlanOptions",
    "Quit",
    "Rcpt",
    "Rset",
    "StartTLS",
    "Stop",
    "dialogue",
]


@dataclass(frozen=True, slots=True)
class Open:
    """Resolve, connect, implicit TLS when asked, and read the greeting."""


@dataclass(frozen=True, slots=True)
class Ehlo:
    name: str


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


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Everything the plan decides from; no secrets needed beyond what ``Credentials`` holds."""

    security: Security
    sender: str
    recipient: str
    credentials: Credentials | None  # None: --no-auth
    preferred_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    ehlo_name: str = "smtpprobe.invalid"
    message: bytes | None = None  # set only with --send


def _ok(outcome: Outcome, *codes: int) -> bool:
    return isinstance(outcome, Reply) and outcome.code in codes


def dialogue(options: PlanOptions) -> Generator[Action, Outcome | None, None]:
    """Yield actions in order; each ``send`` returns the outcome of the last one.

    ``Stop`` and ``Quit`` receive None. After any transport failure the
    connection is finished, so the plan ends without QUIT (the driver would
    have nothing to send it on).
    """
    greeting = yield Open()
    if not _ok(greeting, 220):
        if isinstance(greeting, Reply):
            yield Quit()
        return

    ehlo = yield Ehlo(options.ehlo_name)
    if not _ok(ehlo, 250):
        if isinstance(ehlo, Reply):
            yield Quit()
        return
    assert isinstance(ehlo, Reply)
    capabilities = parse_ehlo(ehlo)

    if options.security is Security.STARTTLS:
        if not capabilities.starttls:
            yield Stop(
                Phase.STARTTLS,
                Failure(FailureKind.STARTTLS_NOT_OFFERED, "the EHLO reply does not list STARTTLS"),
                capabilities,
            )
            yield Quit()
            return
        started = yield StartTLS()
        if not _ok(started, 220):
            if isinstance(started, Reply):
                yield Quit()
            return
        if isinstance(started, Failure):
            return
        # RFC 3207 section 4.2: discard what was learned before TLS and ask again.
        ehlo = yield Ehlo(options.ehlo_name)
        if not _ok(ehlo, 250):
            if isinstance(ehlo, Reply):
                yield Quit()
            return
        assert isinstance(ehlo, Reply)
        capabilities = parse_ehlo(ehlo)

    if options.credentials is not None:
        if not capabilities.auth_offered:
            yield Stop(
                Phase.AUTH,
                Failure(FailureKind.AUTH_NOT_OFFERED, "the EHLO reply does not list AUTH"),
                capabilities,
            )
            yield Quit()
            return
        mechanism = choose_mechanism(
            capabilities.auth_mechanisms, options.preferred_mechanisms, options.credentials
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
        if not _ok(authenticated, 235):
            if isinstance(authenticated, Reply):
                yield Quit()
            return

    for action in (Mail(options.sender), Rcpt(options.recipient)):
        outcome = yield action
        if not _ok(outcome, 250, 251):
            if isinstance(outcome, Reply):
                yield Rset()
                yield Quit()
            return

    if options.message is not None:
        sent = yield Data(options.message)
        if isinstance(sent, Failure):
            return
        yield Quit()
        return

    # Nothing was sent: RSET abandons the transaction (RFC 5321 section 4.1.1.5).
    reset = yield Rset()
    if isinstance(reset, Failure):
        return
    yield Quit()
