"""The dialogue as a generator: it yields the next action and receives its outcome.

This is where every decision of a probe is made (STARTTLS or not, which AUTH
mechanism, what to send in one flight, when to stop, when to look at the port
again), without any I/O, in the style of httpx's ``Auth.auth_flow``.
``smtpprobe.driver`` runs it against a transport; the tests run it against
plain lists of replies.

The order follows RFC 5321 section 3 and RFC 6409 (message submission):
connect, TLS from the first byte (RFC 8314) or greeting, EHLO, STARTTLS, the
handshake and EHLO again (RFC 3207 section 4.2: forget what was learned before
TLS), AUTH (RFC 4954), MAIL, RCPT, then RSET and QUIT. DATA is only sent when
the user asked for a real test message. Every stage goes on only on the reply
it requires (``REQUIRED``).

With PIPELINING (RFC 2920) the commands after the last EHLO go out as one
flight: MAIL, RCPT, RSET and QUIT, led by AUTH PLAIN with its initial response
(RFC 4954 section 4 lets a one-round-trip mechanism without a security layer
be pipelined; LOGIN, CRAM-MD5 and XOAUTH2 need the server's challenges, so
they are not). Each reply is still recorded against its own command, and the
verdict reads the first reply its stage does not allow, exactly as without
pipelining.
"""

from __future__ import annotations

from collections.abc import Generator
from enum import StrEnum

from smtpprobe.core.auth import choose_mechanism
from smtpprobe.core.capabilities import Capabilities, parse_ehlo
from smtpprobe.core.record import record
from smtpprobe.core.reply import Reply
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import REQUIRED, Failure, FailureKind, Phase, Security

__all__ = [
    "Action",
    "Authenticate",
    "CheckPort",
    "Connect",
    "Data",
    "Ehlo",
    "Flight",
    "Greeting",
    "Handshake",
    "Mail",
    "Outcome",
    "PortCheck",
    "Quit",
    "Rcpt",
    "Retry",
    "Rset",
    "StartTLS",
    "Stop",
    "dialogue",
    "probe_message",
]


@record
class Connect:
    """Resolve the server and open a TCP connection (directly or through the proxy)."""


@record
class Handshake:
    """The TLS handshake on the open connection; ``verify=False`` only for ``--insecure``."""

    verify: bool = True


@record
class Greeting:
    """Read the server's greeting."""


@record
class Ehlo:
    """EHLO with this name; None: the local address literal (RFC 5321 section 4.1.3)."""

    name: str | None


@record
class StartTLS:
    """Send STARTTLS (the handshake that follows a 220 is its own action)."""


@record
class Authenticate:
    """Run one SASL mechanism's exchange."""

    mechanism: str


@record
class Mail:
    """MAIL FROM, with the message's size where the server takes it (RFC 1870)."""

    sender: str
    size: int | None = None


@record
class Rcpt:
    """RCPT TO."""

    recipient: str


@record
class Data:
    """DATA, then the message after a 354."""

    message: bytes


@record
class Rset:
    """RSET: abandon the transaction (RFC 5321 section 4.1.1.5)."""


@record
class Quit:
    """QUIT."""


@record
class Flight:
    """Commands written at once, replies read in order (RFC 2920); the outcome is a tuple.

    The tuple is shorter than ``actions`` when the connection failed part-way:
    its last item is then the failure.
    """

    actions: tuple[Authenticate | Mail | Rcpt | Rset | Quit, ...]


@record
class Retry:
    """A flight was cut short by a dropped connection: start over, one command at a time.

    A server that closes (or resets) while pipelined commands are still unread
    makes the kernel discard replies already on their way, so the replies that
    were lost cannot be told; the cut step is marked as retried (never
    decisive) and the dialogue runs again without pipelining.
    """


class PortCheck(StrEnum):
    """What a second, short connection learns about the port after a failure."""

    IMPLICIT_TLS = "implicit-tls"  # a silent plaintext port: does it do TLS from the first byte?
    PLAINTEXT = "plaintext"  # a failed implicit-TLS handshake: does it greet in the clear?
    CERTIFICATE = "certificate"  # an invalid certificate: which one is offered, and its names
    CERTIFICATE_STARTTLS = "certificate-starttls"  # the same, behind STARTTLS


@record
class CheckPort:
    """Open a second connection to the same address to explain a failure (never via a proxy)."""

    check: PortCheck


@record
class Stop:
    """The probe itself decided to stop: recorded as a failure at ``phase``."""

    phase: Phase
    failure: Failure
    capabilities: Capabilities | None = None


Command = Authenticate | Mail | Rcpt | Rset | Quit
Action = (
    Connect
    | Handshake
    | Greeting
    | Ehlo
    | StartTLS
    | Command
    | Data
    | Flight
    | CheckPort
    | Retry
    | Stop
)
Outcome = Reply | Failure | None | tuple["Reply | Failure", ...]


def _ok(outcome: Outcome, phase: Phase) -> bool:
    return isinstance(outcome, Reply) and outcome.code in REQUIRED[phase]


def _failed(outcome: Outcome) -> Failure | None:
    return outcome if isinstance(outcome, Failure) else None


def dialogue(spec: ProbeSpec, message: bytes | None = None) -> Generator[Action, Outcome, None]:
    """Yield actions in order; each ``send`` returns the outcome of the last one.

    ``message`` is sent after DATA, only when the user asked for it
    (``--send``). With ``spec.insecure``, an invalid certificate is recorded
    and the whole dialogue runs again without verification on a new
    connection, so the later stages are tested too (the verdict still names
    the certificate).
    """
    stopped = yield from _attempt(spec, message, verify=True)
    verify = True
    if (
        stopped is not None
        and stopped.kind is FailureKind.TLS_CERTIFICATE_INVALID
        and spec.insecure
    ):
        verify = False
        stopped = yield from _attempt(spec, message, verify=False)
    if stopped is _CUT:
        yield from _attempt(spec, message, verify=verify, pipelining=False)


# What _attempt returns when a flight was cut short before the stages it needed answered.
_CUT = Failure(FailureKind.CONNECTION_LOST, "a pipelined flight was cut short")
_FLIGHT_PHASES = {Authenticate: Phase.AUTH, Mail: Phase.MAIL, Rcpt: Phase.RCPT}


def _attempt(
    spec: ProbeSpec, message: bytes | None, *, verify: bool, pipelining: bool = True
) -> Generator[Action, Outcome, Failure | None]:
    """One connection's dialogue; returns the failure that ended it, if any."""
    implicit = spec.security is Security.IMPLICIT_TLS
    connected = yield Connect()
    if failure := _failed(connected):
        return failure
    if implicit:
        handshake = yield Handshake(verify)
        if failure := _failed(handshake):
            yield from _explain_tls_failure(spec, failure)
            return failure
    greeting = yield Greeting()
    if failure := _failed(greeting):
        if not implicit and failure.kind in (FailureKind.TIMEOUT, FailureKind.CONNECTION_LOST):
            # A silent plaintext port may be one that expects TLS from the first byte.
            yield CheckPort(PortCheck.IMPLICIT_TLS)
        return failure
    if not _ok(greeting, Phase.GREETING):
        yield Quit()
        return None

    ehlo = yield Ehlo(spec.ehlo_name)
    if not isinstance(ehlo, Reply) or not _ok(ehlo, Phase.EHLO):
        if isinstance(ehlo, Reply):
            yield Quit()
        return _failed(ehlo)
    capabilities = parse_ehlo(ehlo)
    before_tls = capabilities

    if spec.security is Security.STARTTLS:
        if not capabilities.starttls:
            yield Stop(
                Phase.STARTTLS,
                Failure(FailureKind.STARTTLS_NOT_OFFERED, "the EHLO reply does not list STARTTLS"),
                capabilities,
            )
            yield Quit()
            return None
        started = yield StartTLS()
        if not _ok(started, Phase.STARTTLS):
            if isinstance(started, Reply):
                yield Quit()
            return _failed(started)
        handshake = yield Handshake(verify)
        if failure := _failed(handshake):
            yield from _explain_tls_failure(spec, failure)
            return failure
        # RFC 3207 section 4.2: discard what was learned before TLS and ask again.
        ehlo = yield Ehlo(spec.ehlo_name)
        if not isinstance(ehlo, Reply) or not _ok(ehlo, Phase.EHLO):
            if isinstance(ehlo, Reply):
                yield Quit()
            return _failed(ehlo)
        capabilities = parse_ehlo(ehlo)

    mechanism: str | None = None
    if spec.credentials is not None:
        if not capabilities.auth_offered:
            yield Stop(
                Phase.AUTH,
                Failure(FailureKind.AUTH_NOT_OFFERED, _no_auth_detail(capabilities, before_tls)),
                capabilities,
            )
            yield Quit()
            return None
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
            return None

    # RFC 1870 section 6: with --send, declare the message's size to a server that offers
    # SIZE, so that one whose limit it exceeds refuses it at MAIL (552) before any data.
    sized = message is not None and any(k.split()[:1] == ["SIZE"] for k in capabilities.keywords)
    mail = Mail(spec.sender, size=len(message) if sized and message is not None else None)
    envelope: tuple[Command, ...] = (mail, Rcpt(spec.recipient))
    if pipelining and spec.pipelining and capabilities.pipelining and message is None:
        # One flight to the end: the replies decide the verdict just as one by one.
        lead: tuple[Command, ...] = ()
        if mechanism == "PLAIN":
            lead = (Authenticate(mechanism),)
        elif mechanism is not None:
            authenticated = yield Authenticate(mechanism)
            if not _ok(authenticated, Phase.AUTH):
                if isinstance(authenticated, Reply):
                    yield Quit()
                return _failed(authenticated)
        flight = Flight((*lead, *envelope, Rset(), Quit()))
        outcomes = yield flight
        if (
            _cut_short(flight, outcomes)
            or _refusal_after_acceptance(flight, outcomes)
            or _reset_unanswered(flight, outcomes)
            or _login_applied_late(flight, outcomes)
        ):
            yield Retry()
            return _CUT
        return None

    if mechanism is not None:
        authenticated = yield Authenticate(mechanism)
        if not _ok(authenticated, Phase.AUTH):
            if isinstance(authenticated, Reply):
                yield Quit()
            return _failed(authenticated)

    for action, phase in zip(envelope, (Phase.MAIL, Phase.RCPT), strict=True):
        outcome = yield action
        if not _ok(outcome, phase):
            if isinstance(outcome, Reply):
                yield Rset()
                yield Quit()
            return _failed(outcome)

    if message is not None:
        sent = yield Data(message)
        if failure := _failed(sent):
            return failure
        yield Quit()
        return None

    # Nothing was sent: RSET abandons the transaction (RFC 5321 section 4.1.1.5).
    reset = yield Rset()
    if failure := _failed(reset):
        return failure
    yield Quit()
    return None


def _no_auth_detail(capabilities: Capabilities, before_tls: Capabilities) -> str:
    """Why no login can be tried, in the words the rules read."""
    if any(k.split()[0] in ("AUTH", "AUTH=") for k in capabilities.keywords):
        return "the EHLO reply lists AUTH without any mechanism"
    if before_tls is not capabilities and before_tls.auth_offered:
        offered = " ".join(before_tls.auth_mechanisms)
        return (
            f"the EHLO reply after STARTTLS does not list AUTH; the one before it did ({offered})"
        )
    return "the EHLO reply does not list AUTH"


def _refusal_after_acceptance(flight: Flight, outcomes: Outcome) -> bool:
    """Every stage accepted, but RSET or QUIT refused (421, 50x): in a flight, that cannot
    be told from replies shifted by one (a surplus 250 read by RCPT, RCPT's real refusal
    by RSET). One command at a time can: the surplus is then waiting before the next
    command goes out. A refusal of a stage needs no second look: it decides either way."""
    if not isinstance(outcomes, tuple):
        return False
    needed = [_FLIGHT_PHASES[type(a)] for a in flight.actions if type(a) in _FLIGHT_PHASES]
    if len(outcomes) < len(needed) or not all(
        _ok(o, phase) for o, phase in zip(outcomes, needed, strict=False)
    ):
        return False
    # A positive reply other than 250/221 there is already out of step and decides; a 4xx
    # or 5xx is one RSET and QUIT may get (RFC 5321 section 4.3.2), so only a second look
    # can tell whether it was theirs.
    return any(isinstance(o, Reply) and o.code >= 400 for o in outcomes[len(needed) :])


def _reset_unanswered(flight: Flight, outcomes: Outcome) -> bool:
    """Every stage accepted, but RSET got no reply (a lost connection, a timeout): in a
    flight, a reply left out earlier looks just so — RSET's 250 read as RCPT's, then
    nothing for RSET (a red-team round: "ok" for a RCPT never answered). One command at a
    time shows which command went unanswered. RSET follows the stages that decide, so no
    login is repeated that was refused."""
    if not isinstance(outcomes, tuple):
        return False
    needed = [_FLIGHT_PHASES[type(a)] for a in flight.actions if type(a) in _FLIGHT_PHASES]
    if len(outcomes) <= len(needed) or not all(
        _ok(o, phase) for o, phase in zip(outcomes, needed, strict=False)
    ):
        return False
    return isinstance(outcomes[len(needed)], Failure)


def _login_applied_late(flight: Flight, outcomes: Outcome) -> bool:
    """AUTH accepted in the flight, then a stage behind it told to log in first (530, or
    words of authentication): a server that read the flight's commands before the login
    took effect (a red-team round: "auth-required" under a 235). One command at a time
    settles it: that repeats a login that succeeded, never one that failed."""
    if not isinstance(outcomes, tuple) or not flight.actions:
        return False
    if not isinstance(flight.actions[0], Authenticate) or not _ok(outcomes[0], Phase.AUTH):
        return False
    for action, outcome in zip(flight.actions[1:], outcomes[1:], strict=False):
        if type(action) not in _FLIGHT_PHASES:
            break
        if isinstance(outcome, Reply) and outcome.code >= 400:
            return outcome.code == 530 or "auth" in outcome.text.lower()
    return False


def _cut_short(flight: Flight, outcomes: Outcome) -> bool:
    """A dropped connection, or a stage left unanswered in time, before every stage that
    decides the verdict had its reply."""
    if not isinstance(outcomes, tuple) or not outcomes:
        return False
    last = outcomes[-1]
    # A lost connection, or no reply in time: a server that discards what follows a command
    # in its input (a flight after AUTH) leaves the next stage unanswered (a red-team round:
    # "timeout at MAIL" pipelined, "ok" one command at a time).
    cut = (FailureKind.CONNECTION_LOST, FailureKind.TIMEOUT)
    if not (isinstance(last, Failure) and last.kind in cut):
        return False
    needed = [_FLIGHT_PHASES[type(a)] for a in flight.actions if type(a) in _FLIGHT_PHASES]
    answered = outcomes[:-1]
    if len(answered) >= len(needed):
        return False  # RCPT was answered: the verdict is decided, RSET/QUIT do not matter
    if needed[:1] == [Phase.AUTH] and not answered:
        # Cut before AUTH's own reply: the server may have hung up on a wrong login, and a
        # second try would be a second failed login (lockouts count them). Not retried.
        return False
    return all(_ok(o, phase) for o, phase in zip(answered, needed, strict=False))


def _explain_tls_failure(spec: ProbeSpec, failure: Failure) -> Generator[Action, Outcome, None]:
    """After a failed handshake, look again on a second connection to say why."""
    if failure.kind is FailureKind.TLS_CERTIFICATE_INVALID:
        if not spec.insecure:  # with --insecure the next attempt shows the certificate
            starttls = spec.security is Security.STARTTLS
            yield CheckPort(PortCheck.CERTIFICATE_STARTTLS if starttls else PortCheck.CERTIFICATE)
    elif spec.security is Security.IMPLICIT_TLS and failure.kind is not FailureKind.TIMEOUT:
        # A port that answers TLS with plaintext is a STARTTLS (or plain) port.
        yield CheckPort(PortCheck.PLAINTEXT)


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
