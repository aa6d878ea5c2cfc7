"""The transcript: every step of a probe as plain data.

A step is one exchange (a command and its reply) or one transport event
(resolve, connect, TLS handshake). Transport failures are data here, never
exceptions: the classifier reads them exactly like replies.

Commands are stored already redacted: the driver never hands a secret to this
module (see ``smtpprobe.core.auth`` for how AUTH lines are described).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from smtpprobe.core.reply import Reply

__all__ = [
    "Failure",
    "FailureKind",
    "Origin",
    "Phase",
    "Security",
    "Step",
    "TLSInfo",
    "Target",
    "Transcript",
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

    @property
    def is_transport(self) -> bool:
        """True when the dialogue could not be completed (exit code 3)."""
        return self not in _SERVER_DECISIONS


_SERVER_DECISIONS = frozenset(
    {
        FailureKind.STARTTLS_NOT_OFFERED,
        FailureKind.AUTH_NOT_OFFERED,
        FailureKind.NO_COMMON_MECHANISM,
    }
)


@dataclass(frozen=True, slots=True)
class Failure:
    """A step that ended without a reply: what happened and the low-level reason."""

    kind: FailureKind
    detail: str = ""


@dataclass(frozen=True, slots=True)
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
    def is_negative(self) -> bool:
        """Whether this step ended the dialogue's useful part."""
        if self.failure is not None:
            return True
        return self.reply is not None and self.reply.code >= 400


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
        """The first step that stopped the dialogue, ignoring RSET/QUIT and checks.

        RSET and QUIT happen after the verdict is decided, and the security
        check only explains an earlier failure, so neither decides anything.
        """
        for step in self.steps:
            if step.phase in (Phase.RSET, Phase.QUIT, Phase.SECURITY_CHECK):
                continue
            if step.phase is Phase.CONNECT and step.failure is not None and self._connected():
                # One address failed but another one answered (RFC 5321 section 5.1).
                continue
            if step.is_negative:
                return step
        return None

    def _connected(self) -> bool:
        return any(s.phase is Phase.CONNECT and s.failure is None for s in self.steps)

    def reached(self, phase: Phase) -> bool:
        """Whether any step of ``phase`` was recorded."""
        return any(step.phase is phase for step in self.steps)
