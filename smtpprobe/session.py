"""The command layer of a probe: one open connection, commands out, steps recorded.

``Session`` holds a probe's state (the spec, the transcript, the secrets sent,
the open connection) and sends SMTP commands on it: one at a time, as a
pipelined flight (RFC 2920), the SASL exchange, DATA. ``smtpprobe.driver``
adds connecting, TLS and the run loop. Every step is recorded with its time;
the command recorded is the shown form, never the wire form of a secret.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

from smtpprobe.core import plan
from smtpprobe.core.auth import Credentials, sasl_exchange
from smtpprobe.core.capabilities import parse_ehlo
from smtpprobe.core.reply import Reply, decode_reply_text, from_code_and_message
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import (
    AFTER_SASL_ERROR,
    BEFORE_CREDENTIALS,
    UNSOLICITED,
    Failure,
    FailureKind,
    Phase,
    Security,
    Step,
    Target,
    Transcript,
)
from smtpprobe.core.wire import WireReply
from smtpprobe.errors import ConfigError
from smtpprobe.failures import failure_from_exception, network_errors
from smtpprobe.transport import Address, Connection, Transport

__all__ = ["PhaseListener", "Session", "elapsed_ms", "reply_of"]

# Told each time the probe starts waiting: (phase, that wait's time limit in seconds).
PhaseListener = Callable[[str, float], None]


def elapsed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a ``time.perf_counter()`` value), to 0.1 ms."""
    return round((time.perf_counter() - start) * 1000, 1)


def reply_of(wire: WireReply) -> Reply:
    """A wire reply as a ``Reply`` value, its text decoded."""
    # RFC 5321 replies are ASCII and RFC 6531 allows UTF-8; Japanese servers still answer
    # in ISO-2022-JP, Shift_JIS or EUC-JP. The whole reply at once makes a surer guess.
    return from_code_and_message(wire.code, decode_reply_text(b"\n".join(wire.lines)))


def _dot_stuffed(message: bytes) -> bytes:
    """CRLF line endings, leading dots doubled, and the final ".": RFC 5321 section 4.5.2."""
    lines = message.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    return body + b".\r\n"


def _address_literal(local: str | None) -> str:
    """An RFC 5321 section 4.1.3 address literal for EHLO when no name is given."""
    address = ipaddress.ip_address((local or "127.0.0.1").split("%")[0])
    return f"[IPv6:{address}]" if address.version == 6 else f"[{address}]"


class Session:
    """One probe's state and its SMTP commands on the open connection."""

    def __init__(self, spec: ProbeSpec, transport: Transport, secrets: list[str],
                 on_phase: PhaseListener | None) -> None:  # fmt: skip
        self.spec = spec
        self.transport = transport
        self.secrets = secrets
        self.on_phase = on_phase
        self.transcript = Transcript(
            target=Target(host=spec.host, port=spec.port, security=spec.security),
            profile=spec.profile,
            username=spec.credentials.username if spec.credentials else None,
            sender=spec.sender,
            recipient=spec.recipient,
            no_auth=spec.credentials is None,
            send=spec.send,
        )
        self.conn: Connection | None = None
        self.address: Address | None = None  # where the connection went, for port checks
        self.phase = Phase.RESOLVE
        self.shown: str | None = None  # the command sent whose reply is awaited, as recorded
        self.phase_started = time.perf_counter()  # when ``phase`` began (``enter``)

    def record(self, step: Step) -> None:
        self.transcript.add(step)

    def enter(self, phase: Phase, timeout: float | None = None, shown: str | None = None) -> float:
        self.phase, self.shown = phase, shown
        if self.on_phase is not None:
            self.on_phase(phase.value, timeout or self.spec.phase_timeout)
        self.phase_started = time.perf_counter()
        return self.phase_started

    def failed(self, phase: Phase, exc: BaseException, start: float, shown: str | None = None,
               note: str = "") -> Failure:  # fmt: skip
        failure = failure_from_exception(exc)
        self.record(Step(phase, shown, failure=failure, elapsed_ms=elapsed_ms(start), note=note))
        return failure

    # --- commands ----------------------------------------------------------------------------

    async def exchange(
        self, phase: Phase, shown: str, line: bytes, note: str = ""
    ) -> Reply | Failure:
        """Send one command and read its reply; record ``shown``, never ``line``."""
        assert self.conn is not None
        start = self.enter(phase, shown=shown)
        if early := await self.held_back(phase, shown, start):
            return early
        try:
            self.conn.send(line)
            wire = await self.conn.read_reply(self.spec.phase_timeout)
        except network_errors() as exc:
            return self.failed(phase, exc, start, shown, note)
        reply = reply_of(wire)
        self.record(Step(phase, shown, reply=reply, elapsed_ms=elapsed_ms(start), note=note))
        return reply

    async def held_back(self, phase: Phase, shown: str, start: float) -> Failure | None:
        """When a reply is already waiting before the command goes out (one reply too many,
        RFC 5321 section 4.2), record it on this step, hold the command back and stop: the
        command would read it as its own answer (RCPT a 250 meant for MAIL, while the real
        refusal lands on RSET, where 421 and 50x are allowed)."""
        assert self.conn is not None
        if not await self.conn.unread():
            return None
        try:
            wire = await self.conn.read_reply(self.spec.phase_timeout)
        except network_errors() as exc:
            return self.failed(phase, exc, start, shown)
        self.record(
            Step(phase, shown, reply=reply_of(wire), elapsed_ms=elapsed_ms(start), note=UNSOLICITED)
        )
        return Failure(FailureKind.MALFORMED_REPLY, UNSOLICITED)

    async def ehlo(self, name: str | None) -> plan.Outcome:
        assert self.conn is not None
        name = name or _address_literal(self.conn.local_address)
        line = f"EHLO {name}"
        outcome = await self.exchange(Phase.EHLO, line, line.encode("ascii"))
        if isinstance(outcome, Reply) and outcome.code == 250:
            keywords = parse_ehlo(outcome).keywords
            if not self.conn.encrypted and self.spec.security is Security.STARTTLS:
                self.transcript.capabilities_before_tls = keywords
            self.transcript.capabilities = keywords
        return outcome

    def _command(self, action: plan.Command) -> tuple[Phase, str, bytes]:
        """(phase, shown, wire) of a one-line command; AUTH here is PLAIN's one line."""
        match action:
            case plan.Mail(sender=sender, size=size):
                line = f"MAIL FROM:<{sender}>" + (f" SIZE={size}" if size is not None else "")
                return Phase.MAIL, line, line.encode("ascii")
            case plan.Rcpt(recipient=recipient):
                line = f"RCPT TO:<{recipient}>"
                return Phase.RCPT, line, line.encode("ascii")
            case plan.Rset():
                return Phase.RSET, "RSET", b"RSET"
            case plan.Quit():
                return Phase.QUIT, "QUIT", b"QUIT"
            case plan.Authenticate(mechanism=mechanism):
                first = next(sasl_exchange(mechanism, self._credentials()))
                self.secrets.extend(first.secrets)
                return Phase.AUTH, first.shown, first.wire.encode("utf-8")
        raise AssertionError(f"not a one-line command: {action!r}")

    def _credentials(self) -> Credentials:
        # Defence in depth: the spec refuses this already, but never put a password on
        # an unencrypted wire unless the user said so (RFC 4954 section 4).
        assert self.spec.credentials is not None and self.conn is not None
        if not self.conn.encrypted and not self.spec.allow_plaintext_auth:
            raise ConfigError(
                "refusing to send the password over an unencrypted connection: use --security "
                "starttls or implicit-tls, or pass --allow-plaintext-auth"
            )
        return self.spec.credentials

    async def authenticate(self, mechanism: str) -> plan.Outcome:
        self.transcript.auth_mechanism = mechanism
        exchange = sasl_exchange(mechanism, self._credentials())
        line = next(exchange)
        credentials_sent = False
        while True:
            self.secrets.extend(line.secrets)
            # Until the line that carries the credentials has gone out (LOGIN's third line,
            # CRAM-MD5's second), only 334 may answer: a 235 then checked no password.
            credentials_sent = credentials_sent or bool(line.secrets)
            note = "" if credentials_sent else BEFORE_CREDENTIALS
            if line.after_error:
                note = AFTER_SASL_ERROR
            wire = line.wire.encode("utf-8")
            outcome = await self.exchange(Phase.AUTH, line.shown, wire, note)
            if not (isinstance(outcome, Reply) and outcome.code == 334):
                return outcome
            start = time.perf_counter()
            try:
                line = exchange.send(outcome)
            except StopIteration:
                return outcome  # a 334 that ends the exchange: classify calls it unexpected
            except network_errors() as exc:  # a challenge that cannot be answered
                return self.failed(Phase.AUTH, exc, start)

    async def flight(self, actions: tuple[plan.Command, ...]) -> plan.Outcome:
        """RFC 2920: write every command, then read the replies in order, one step each."""
        assert self.conn is not None
        if any(isinstance(a, plan.Authenticate) for a in actions):
            self.transcript.auth_mechanism = "PLAIN"
        commands = [self._command(action) for action in actions]
        start = self.enter(commands[0][0], shown=commands[0][1])
        if early := await self.held_back(commands[0][0], commands[0][1], start):
            return (early,)
        try:
            # One write, so the flight travels as one TLS record (see send_flight).
            self.conn.send_flight([payload for _, _, payload in commands])
        except network_errors() as exc:
            return (self.failed(commands[0][0], exc, start, commands[0][1]),)
        outcomes: list[Reply | Failure] = []
        for phase, shown, _ in commands:
            start = self.enter(phase, shown=shown)
            try:
                wire = await self.conn.read_reply(self.spec.phase_timeout)
            except network_errors() as exc:
                # "pipelined" on the failed step too: a login cut inside a flight may be the
                # server's refusal of the flight, not of the password (rules read it).
                outcomes.append(self.failed(phase, exc, start, shown, note="pipelined"))
                break
            reply = reply_of(wire)
            outcomes.append(reply)
            self.record(
                Step(phase, shown, reply=reply, elapsed_ms=elapsed_ms(start), note="pipelined")
            )
        return tuple(outcomes)

    async def data(self, message: bytes) -> plan.Outcome:
        outcome = await self.exchange(Phase.DATA, "DATA", b"DATA")
        if not (isinstance(outcome, Reply) and outcome.code == 354):
            return outcome
        assert self.conn is not None
        start = self.enter(Phase.DATA)
        # A 250 already waiting would be read as the message's acceptance, though the server
        # sent it before any of the message (and then reads the message as commands).
        if early := await self.held_back(Phase.DATA, "(message)", start):
            return early
        try:
            self.conn.write(_dot_stuffed(message))
            wire = await self.conn.read_reply(self.spec.phase_timeout)
        except network_errors() as exc:
            return self.failed(Phase.DATA, exc, start, "(message)")
        reply = reply_of(wire)
        note = f"{len(message)} bytes"
        self.record(
            Step(Phase.DATA, "(message)", reply=reply, elapsed_ms=elapsed_ms(start), note=note)
        )
        return reply

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
