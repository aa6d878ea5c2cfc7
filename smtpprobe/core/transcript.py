"""The transcript: every step of a probe as plain data.

A step is one exchange (a command and its reply) or one transport event
(resolve, connect, TLS handshake). Transport failures are data here, never
exceptions: the classifier reads them exactly like replies.

Commands are stored already redacted: the driver never hands a secret to this
module (see ``smtpprobe.core.auth`` for how AUTH lines are described).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.record import record
from smtpprobe.core.reply import Reply

__all__ = [
    "AFTER_SASL_ERROR",
    "BEFORE_CREDENTIALS",
    "REQUIRED",
    "RETRIED",
    "UNSOLICITED",
    "Failure",
    "FailureKind",
    "Origin",
    "Phase",
    "Security",
    "Step",
    "TLSInfo",
    "Target",
    "Transcript",
    "shown_host",
]


class Security(StrEnum):
    """How the connection is protected."""

    IMPLICIT_TLS = "implicit-tls"  # RFC 8314: TLS from the first byte (port 465)
    STARTTLS = "starttls"  # RFC 3207: plaintext, then upgrade (port 587)
    PLAIN = "plain"  # no TLS at all


class Phase(StrEnum):
    """Where in the dialogue a step happened; the verdict's ``stage`` is one of these."""

    RESOLVE = "resolve"
    CONNECT = "connect"
    TLS = "tls"
    GREETING = "greeting"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    RSET = "rset"
    QUIT = "quit"
    # A second, short connection the driver makes after a handshake failure or
    # a silent port, to learn which security mode the port really speaks.
    SECURITY_CHECK = "security-check"


class FailureKind(StrEnum):
    """Everything that can end a step other than a server reply."""

    DNS_FAILURE = "dns-failure"
    CONNECT_REFUSED = "connect-refused"
    CONNECT_TIMEOUT = "connect-timeout"
    NETWORK_UNREACHABLE = "network-unreachable"
    TLS_HANDSHAKE_FAILED = "tls-handshake-failed"
    TLS_CERTIFICATE_INVALID = "tls-certificate-invalid"
    TIMEOUT = "timeout"
    CONNECTION_LOST = "connection-lost"
    MALFORMED_REPLY = "malformed-reply"
    # Decisions of the probe itself, from what the server advertised.
    STARTTLS_NOT_OFFERED = "starttls-not-offered"
    AUTH_NOT_OFFERED = "auth-not-offered"
    NO_COMMON_MECHANISM = "no-common-mechanism"
    # The route, not the server: a proxy (--proxy) that could not carry the connection.
    PROXY_REFUSED = "proxy-refused"  # the proxy itself could not be reached
    PROXY_AUTH_FAILED = "proxy-auth-failed"  # the proxy refused our user name/password
    PROXY_TARGET_UNREACHABLE = "proxy-target-unreachable"  # the proxy could not reach the server
    PROXY_TIMEOUT = "proxy-timeout"  # the proxy or its connection did not answer in time
    # Only in pasted text (``smtpprobe explain``), never from the driver: a program or mail
    # app said the server refused (a login, a sender, a size) without quoting the reply.
    # The fact ``reported:CATEGORY`` says what it reported (smtpprobe/data/client_errors.yaml).
    REPORTED_REFUSAL = "reported-refusal"

    @property
    def is_transport(self) -> bool:
        """True when the dialogue could not be completed (exit code 3)."""
        return self not in _SERVER_DECISIONS


_SERVER_DECISIONS = frozenset(
    {
        FailureKind.STARTTLS_NOT_OFFERED,
        FailureKind.AUTH_NOT_OFFERED,
        FailureKind.NO_COMMON_MECHANISM,
        FailureKind.REPORTED_REFUSAL,
    }
)


# The reply each stage needs before the dialogue may go on (RFC 5321 section
# 4.3.2; RFC 3207 section 4 for STARTTLS; RFC 4954 section 4 for AUTH, where
# 334 only continues an exchange and 235 ends it). DATA needs 354, then 250
# after the message. Anything else, positive or not, ends the dialogue there.
REQUIRED: Mapping[Phase, frozenset[int]] = {
    Phase.GREETING: frozenset({220}),
    Phase.EHLO: frozenset({250}),
    Phase.STARTTLS: frozenset({220}),
    Phase.AUTH: frozenset({235}),
    Phase.MAIL: frozenset({250}),
    Phase.RCPT: frozenset({250, 251}),
    Phase.DATA: frozenset({354}),
}
_AFTER_MESSAGE = frozenset({250})
# The only replies RSET and QUIT can get (RFC 5321 section 4.3.2: RSET 250, QUIT 221, and
# the errors any command may get: 421, 500, 501, 502, 504). Neither decides the verdict by
# refusing, but any other reply (QUIT answered 250, RSET answered 221 or 550) shows that the
# replies are out of step with the commands: a reply was missing or one too many, so every
# reply may belong to another command (an "ok" among them too, and RCPT's real refusal
# may be what RSET got). Enhanced codes of the failure classes (RFC 3463 section 3.1) on a
# positive reply contradict it; the greeting and EHLO replies carry none (RFC 2034 section 3).
_CLOSING: Mapping[Phase, frozenset[int]] = {
    Phase.RSET: frozenset({250}),
    Phase.QUIT: frozenset({221}),
}
_ANY_COMMAND = frozenset({421, 500, 501, 502, 504})
_NO_ENHANCED = frozenset({Phase.GREETING, Phase.EHLO})
# Punctuation too: "250 5.1.1: user unknown" is no enhanced code by RFC 2034's grammar
# (a space must follow), but no reader takes it for an acceptance (a red-team server).
_FAILURE_ENHANCED = LazyPattern(r"[45]\.\d{1,3}\.\d{1,3}(?=[\s:;,]|$)")
# The note on a step whose failure cut a pipelined flight short; the dialogue was run
# again one command at a time, so that failure decides nothing (see plan.Retry).
RETRIED = "flight cut short or out of step: retried without pipelining"
# The note on an AUTH step sent before the line that carries the credentials (AUTH LOGIN
# and its user name, AUTH CRAM-MD5): RFC 4954 section 4 lets the server answer it with 334
# (go on) or an error, but a 235 there accepted a login whose password it never saw.
BEFORE_CREDENTIALS = "before the credentials were sent"
# The note on a step whose reply was already there before its command was written (the
# command is then not sent): one reply too many, so every later reply would have been read
# as the answer to the command before it (RFC 5321 section 4.2: one reply per command).
UNSOLICITED = "this reply came before the command was sent; the command was held back"
_CHALLENGE = frozenset({334})
# The note on XOAUTH2's empty line, sent after the server's 334 error challenge: RFC 7628
# section 3.2.3 has the server answer it with a failure, so no reply lets the login go on.
AFTER_SASL_ERROR = "after the server's error challenge"
# Steps that never decide the verdict: RSET and QUIT come after it is decided,
# and the security check only explains an earlier failure.
_NOT_DECISIVE = frozenset({Phase.RSET, Phase.QUIT, Phase.SECURITY_CHECK})


@record
class Failure:
    """A step that ended without a reply: what happened and the low-level reason."""

    kind: FailureKind
    detail: str = ""


@record
class Step:
    """One recorded step: exactly one of ``reply`` and ``failure`` is usually set.

    ``command`` is the line as sent, with secrets replaced; None for transport
    steps. ``elapsed_ms`` is None when the step's time cannot be separated from
    its neighbour's (the implicit-TLS handshake and the greeting share one read).
    ``note`` carries transport facts such as the address connected to.
    """

    phase: Phase
    command: str | None = None
    reply: Reply | None = None
    failure: Failure | None = None
    elapsed_ms: float | None = None
    note: str = ""

    @property
    def required(self) -> frozenset[int] | None:
        """The reply codes this step needed to go on, or None for a step without a reply."""
        if self.phase is Phase.DATA and self.command != "DATA":
            return _AFTER_MESSAGE  # the reply to the message itself
        if self.phase is Phase.AUTH and self.note == BEFORE_CREDENTIALS:
            return _CHALLENGE
        if self.phase is Phase.AUTH and self.note == AFTER_SASL_ERROR:
            return frozenset()
        return REQUIRED.get(self.phase) or _CLOSING.get(self.phase)

    @property
    def unexpected(self) -> bool:
        """A reply this stage does not allow, even a positive one (250 to AUTH, say), or a
        positive one whose enhanced code says it failed (``250 5.1.1``)."""
        required = self.required
        if self.reply is None or required is None:
            return False
        return self.reply.code not in required or self.contradictory

    @property
    def contradictory(self) -> bool:
        """A positive reply with an enhanced code of failure (``250 5.1.1``, ``235 5.7.8``),
        on any of its lines: RFC 2034 section 3 puts the enhanced code on every line, and
        ``250-2.1.5 ok`` / ``250 5.7.1 Relay access denied`` says both."""
        reply = self.reply
        if reply is None or reply.code >= 400 or self.phase in _NO_ENHANCED:
            return False
        if reply.enhanced is not None and reply.enhanced[:1] in ("4", "5"):
            return True
        # Lines whose enhanced code differs from the first line's keep it in their text, and
        # so does a first line whose code the parser could not take for one.
        lines = reply.lines if reply.enhanced is None else reply.lines[1:]
        return any(_FAILURE_ENHANCED.match(line) for line in lines)

    @property
    def refused_after_acceptance(self) -> bool:
        """RSET or QUIT answered 4xx or 5xx (``Transcript.decisive_step`` decides whether
        that comes after every stage was accepted). Also in a flight that was run again one
        command at a time: the refusal that made it run again still says something (the
        rerun accepted: the server breaks pipelining; refused again: it is refused)."""
        # Not a 421 that came before the command went out: the server going away, which RFC
        # 5321 section 3.8 lets it do at any moment (a red-team round: "250 queued", then an
        # unsolicited 421, was called an acceptance that cannot be trusted).
        if self.note == UNSOLICITED and self.reply is not None and self.reply.code == 421:
            return False
        return self.phase in _CLOSING and self.reply is not None and self.reply.code >= 400

    @property
    def out_of_step(self) -> bool:
        """A reply RSET or QUIT can never get, or one that came before its command: the
        replies and commands are out of step."""
        if self.note == UNSOLICITED:
            # RFC 5321 section 3.8: a server may send 421 at any time, unasked, and close;
            # that is the server going away, not a reply too many.
            return self.reply is None or self.reply.code != 421
        closing = _CLOSING.get(self.phase)
        return (
            closing is not None
            and self.reply is not None
            and self.reply.code not in closing | _ANY_COMMAND
        )


@record
class TLSInfo:
    """What the TLS handshake negotiated and what the server certificate says."""

    version: str | None = None
    cipher: str | None = None
    verified: bool = False
    verify_error: str | None = None
    subject: str | None = None
    issuer: str | None = None
    san: tuple[str, ...] = ()
    not_after: str | None = None  # ISO 8601, UTC
    # SHA-256 of the certificate's DER form, lower-case hex without colons: what
    # history compares to notice a replaced certificate (any change of the DER changes it).
    fingerprint_sha256: str | None = None


def shown_host(host: str) -> str:
    """``host`` as written before ``:port``: an IPv6 address in brackets (RFC 3986
    section 3.2.2), so that ``[::1]:587`` cannot be read as the address ``::1:587``."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@record
class Target:
    """What was probed: host, port, security mode, and every address tried."""

    host: str
    port: int
    security: Security
    addresses: tuple[str, ...] = ()
    address_used: str | None = None
    source_address: str | None = None
    proxy: str | None = None  # the proxy URL without its credentials (--proxy)
    proxy_address: str | None = None  # the proxy's own address, as connected to


@record
class Origin:
    """Where the probe came from, as the server saw it, and how that was learned.

    ``method`` names the source of ``public_address``: ``dns:<name>`` (an egress
    query), ``smtp-greeting`` (the server echoed our address), ``proxy`` (the
    proxy's own address), ``local-address`` (no NAT) or ``unknown``. ``country``
    is an ISO 3166-1 alpha-2 code from an offline data set dated ``data_date``.
    """

    local_address: str | None = None
    public_address: str | None = None
    method: str = "unknown"
    country: str | None = None
    data_date: str | None = None
    echoed_address: str | None = None
    route: str = "direct"
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class Transcript:
    """The record of one probe, filled by the driver and read by the classifier."""

    target: Target
    profile: str | None = None
    username: str | None = None
    sender: str | None = None
    recipient: str | None = None
    auth_mechanism: str | None = None
    no_auth: bool = False
    send: bool = False
    tls: TLSInfo | None = None
    steps: list[Step] = field(default_factory=list)
    capabilities_before_tls: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    origin: Origin | None = None

    def add(self, step: Step) -> Step:
        """Append a step and return it."""
        self.steps.append(step)
        return step

    def decisive_step(self) -> Step | None:
        """The first step that stopped the dialogue: a failure, or a reply its stage forbids.

        RSET, QUIT and the security check never decide (``_NOT_DECISIVE``), except that
        a positive reply RSET or QUIT can never get (``Step.out_of_step``) decides over any
        reply before it and any decision drawn from one: the replies were out of step, so
        none can be trusted as its command's. A 334 to AUTH decides nothing while the
        exchange goes on (the next step is AUTH too); one that ends it is a reply AUTH forbids.
        """
        first = self._first_stop()
        # Out of step decides over an "ok", a refusal, or a decision drawn from a reply; not
        # over a failure of the transport, nor over a positive reply the stage forbids (a
        # 334 that ended AUTH is already the protocol error, and the server then read QUIT
        # as the next SASL line).
        trusted = first is not None and (
            (first.failure is not None and first.failure.kind.is_transport)
            or (first.reply is not None and first.reply.code < 400)
        )
        if not trusted:
            shifted = next((s for s in self.steps if s.out_of_step and s.note != RETRIED), None)
            if shifted is not None:
                return shifted
        if first is None and self.complete:
            # Everything was accepted, yet RSET or QUIT was refused: a server that really
            # accepted the recipient (and the message) has no reason to. More likely a
            # reply was read by the wrong command — a reply written twice, or a 250 sent
            # before the message arrived — and this refusal was the real answer to an
            # earlier one. Then no "ok" can be trusted (``Step.refused_after_acceptance``).
            refused = next((s for s in self.steps if s.refused_after_acceptance), None)
            if refused is not None:
                return refused
        return first

    def _first_stop(self) -> Step | None:
        steps = self.steps
        # A flight run again one command at a time is decided by the second run: the
        # first one's replies could not be matched to their commands, or were given before
        # the server's state caught up with them (a login applied late).
        again = max((i for i, s in enumerate(steps) if s.note == RETRIED), default=-1)
        for index, step in enumerate(steps):
            if step.phase in _NOT_DECISIVE or index <= again:
                continue
            if step.phase is Phase.CONNECT and step.failure is not None and self._connected(index):
                # One address failed but another one answered (RFC 5321 section 5.1).
                continue
            if step.failure is not None:
                return step
            if not step.unexpected:
                continue
            assert step.reply is not None
            following = steps[index + 1] if index + 1 < len(steps) else None
            if (
                step.phase is Phase.AUTH
                and step.reply.code == 334
                and following is not None
                and following.phase is Phase.AUTH
            ):
                continue
            return step
        return None

    @property
    def complete(self) -> bool:
        """Whether RCPT was accepted (and, with ``--send``, the message): "ok" needs this."""
        accepted = any(
            s.phase is Phase.RCPT and s.reply is not None and s.reply.code in REQUIRED[Phase.RCPT]
            for s in self.steps
        )
        if not self.send:
            return accepted
        return accepted and any(
            s.phase is Phase.DATA and s.command != "DATA" and s.reply is not None
            and s.reply.code in _AFTER_MESSAGE
            for s in self.steps
        )  # fmt: skip

    @property
    def login_refused(self) -> bool:
        """Whether the server answered the credentials with a refusal, whatever a rule calls
        it: a 535 to AUTH (RFC 4954 section 6: "Authentication credentials invalid"; also
        "535 … account temporarily locked", a rate limit by its words), or the connection
        dropped at AUTH after the credentials went out (some servers hang up on a wrong
        login). Health checks do not send the same credential again after one (lockouts)."""
        for step in self.steps:
            if step.phase is not Phase.AUTH or step.note == BEFORE_CREDENTIALS:
                continue
            if step.reply is not None and step.reply.code == 535:
                return True
            if step.failure is not None and step.failure.kind is FailureKind.CONNECTION_LOST:
                return True
        return False

    def _connected(self, after: int = -1) -> bool:
        """Whether a connection was made (after step ``after``: a retry's refused connect
        is the answer even though the first attempt had connected)."""
        return any(s.phase is Phase.CONNECT and s.failure is None for s in self.steps[after + 1 :])

    def reached(self, phase: Phase) -> bool:
        """Whether any step of ``phase`` was recorded."""
        return any(step.phase is phase for step in self.steps)
