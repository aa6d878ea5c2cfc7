"""A fault-injecting SMTP submission server: well behaved, except at one phase.

``FaultServer(fault, phase, security)`` speaks raw SMTP from ``asyncio`` streams (not aiosmtpd,
so that it can break the protocol below the level a real server library allows) on a loopback
socket, from its own event loop in a daemon thread. It greets, answers EHLO, STARTTLS, AUTH
(PLAIN, LOGIN, CRAM-MD5), MAIL, RCPT, DATA, RSET and QUIT as a submission server should (RFC
5321, 3207, 4954, 6409) — until the dialogue reaches ``phase``, where it applies ``fault``
instead of its normal reply, once per connection, on every connection (so a client's second,
diagnostic connection meets the same server). TLS is done on the open stream in both modes
(``implicit-tls``: at connect; ``starttls``: after the 220), so the handshake is a phase too.

>>> with FaultServer(Hang(), FaultPhase.RCPT, Security.STARTTLS) as server:
...     server.port, server.ca_file  # doctest: +SKIP

AUTH is offered (before TLS too) but never required, and accepts only ``credentials``; a
client that sends AUTH in the clear is served and recorded, so a test can see that it did.
Everything received is recorded as lines (``received``), bounded in number and length; a
message body is counted, never stored. Faults that stream bytes stop when the client goes
away and are bounded in total.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
import socket
import ssl
import struct
import tempfile
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import ClassVar, Protocol

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smtpprobe.core.transcript import Security
from smtpprobe.testing.ca import SERVER_NAMES, CertificateKind, make_tls_material
from smtpprobe.testing.loopback import LineRecorder, LoopbackServer, require_loopback

__all__ = [
    "FAULT_PASSWORD",
    "FAULT_USER",
    "GARBAGE_BYTES",
    "GARBAGE_TEXT",
    "HOSTNAME",
    "JAPANESE_REPLIES",
    "MALFORMED_CODES",
    "OCN_E041",
    "SERVICE_CLOSING",
    "SLOW_DRIP",
    "SLOW_OK",
    "AcceptThenGoAway",
    "AcceptedBeforeMessage",
    "After",
    "BadCertificate",
    "CertificateStore",
    "CertificateVariant",
    "Close",
    "CloseWhenPipelined",
    "Contradictory",
    "DiscardPipelined",
    "EarlyAcceptance",
    "Encoded",
    "EndlessLine",
    "ExtraReply",
    "Fault",
    "FaultPhase",
    "FaultServer",
    "Garbage",
    "Hang",
    "Inconsistent",
    "LateDuplicate",
    "Link",
    "LoginAppliedLate",
    "LongLine",
    "Malformed",
    "MissingReply",
    "MissingReplyThenClose",
    "PlaintextAfterStartTLS",
    "RefusedFirstTime",
    "Reset",
    "SecondChallenge",
    "SendAndClose",
    "ServerCertificate",
    "Slow",
    "UnexpectedPositive",
    "make_certificate",
    "phases_for",
]

HOSTNAME = "fault.test"
FAULT_USER = "user@example.jp"
FAULT_PASSWORD = "pw-for-faults"

#: OCN's relay refusal as a Gmail "Send mail as" bounce quoted it (the user's seed document
#: 001, a blog post on sending through smtp.ocn.ne.jp); a real text, in Japanese.
OCN_E041 = "553 5.7.1 : クライアントホストが拒否されました: リレーアクセスが拒否されました(E041)"

_LINE_LIMIT = 64 * 1024  # StreamReader limit: a longer command line ends the connection
_MAX_RECORDED = 10_000  # received lines kept
_MAX_RECORDED_CHARS = 1_000  # characters kept of each
_CHUNK = 64 * 1024
_HANDSHAKE_TIMEOUT = 10.0
_SETTLE = 0.1
_MECHANISMS = "PLAIN LOGIN CRAM-MD5"


class FaultPhase(StrEnum):
    """Where a fault can be placed: each is one reply of the server, or the TLS handshake."""

    TLS = "tls"  # the handshake: at connect (implicit-tls) or after STARTTLS's 220
    GREETING = "greeting"
    EHLO = "ehlo"  # the first EHLO
    STARTTLS = "starttls"  # the reply to STARTTLS
    EHLO2 = "ehlo2"  # the EHLO after STARTTLS (RFC 3207 section 4.2)
    AUTH = "auth"  # the first reply to AUTH
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the reply to DATA (354)
    MESSAGE = "message"  # the reply after the message's final "." (RFC 5321 section 4.1.1.4)
    RSET = "rset"
    QUIT = "quit"

    @property
    def stage(self) -> str:
        """The stage a client's transcript names for this phase (smtpprobe's ``Phase``)."""
        return {"ehlo2": "ehlo", "message": "data"}.get(self.value, self.value)


_PHASES: dict[Security, tuple[FaultPhase, ...]] = {
    Security.IMPLICIT_TLS: (
        FaultPhase.TLS, FaultPhase.GREETING, FaultPhase.EHLO, FaultPhase.AUTH, FaultPhase.MAIL,
        FaultPhase.RCPT, FaultPhase.DATA, FaultPhase.MESSAGE, FaultPhase.RSET, FaultPhase.QUIT,
    ),
    Security.STARTTLS: (
        FaultPhase.GREETING, FaultPhase.EHLO, FaultPhase.STARTTLS, FaultPhase.TLS,
        FaultPhase.EHLO2, FaultPhase.AUTH, FaultPhase.MAIL, FaultPhase.RCPT, FaultPhase.DATA,
        FaultPhase.MESSAGE, FaultPhase.RSET, FaultPhase.QUIT,
    ),
    Security.PLAIN: (
        FaultPhase.GREETING, FaultPhase.EHLO, FaultPhase.AUTH, FaultPhase.MAIL, FaultPhase.RCPT,
        FaultPhase.DATA, FaultPhase.MESSAGE, FaultPhase.RSET, FaultPhase.QUIT,
    ),
}  # fmt: skip


def phases_for(security: Security | str) -> tuple[FaultPhase, ...]:
    """The phases a dialogue in ``security`` mode goes through, in order."""
    return _PHASES[Security(security)]


# --------------------------------------------------------------------------- certificates


class CertificateVariant(StrEnum):
    """Which certificate the server presents."""

    VALID = "valid"
    EXPIRED = "expired"  # signed by the trusted CA, expired yesterday
    WRONG_NAME = "wrong-name"  # signed by the trusted CA, for another host name only
    UNKNOWN_CA = "unknown-ca"  # signed by a CA the client was never told about
    SELF_SIGNED = "self-signed"  # its own issuer, with the right names


class ServerCertificate(Protocol):
    """A server certificate and the CA file a client should trust (``TLSMaterial``'s shape)."""

    @property
    def ca_file(self) -> Path: ...

    def server_context(self) -> ssl.SSLContext: ...

    def cleanup(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _PemCertificate:
    """A certificate chain and key in one PEM file, with a separate CA file for clients."""

    ca_file: Path
    chain_file: Path
    _tempdir: tempfile.TemporaryDirectory[str] = field(repr=False)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.chain_file))
        return context

    def cleanup(self) -> None:
        self._tempdir.cleanup()


def _wrong_name() -> _PemCertificate:
    tempdir = tempfile.TemporaryDirectory(prefix="smtpprobe-faults-")
    ca = trustme.CA(organization_name="smtpprobe fault server")
    ca_file = Path(tempdir.name) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    chain = Path(tempdir.name) / "server.pem"
    # Valid in every other way: trusted issuer, in date; only the name is not the server's.
    ca.issue_cert("wrong-name.invalid").private_key_and_cert_chain_pem.write_to_path(str(chain))
    return _PemCertificate(ca_file, chain, tempdir)


def _self_signed() -> _PemCertificate:
    tempdir = tempfile.TemporaryDirectory(prefix="smtpprobe-faults-")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)])
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = []
    for entry in SERVER_NAMES:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            alt.append(x509.DNSName(entry))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    chain = Path(tempdir.name) / "server.pem"
    chain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    # The client trusts a CA that has nothing to do with this certificate.
    ca_file = Path(tempdir.name) / "ca.pem"
    trustme.CA(organization_name="smtpprobe fault server").cert_pem.write_to_path(str(ca_file))
    return _PemCertificate(ca_file, chain, tempdir)


def make_certificate(
    variant: CertificateVariant | str = CertificateVariant.VALID,
) -> ServerCertificate:
    """A fresh throwaway CA file and server certificate of ``variant``; ``cleanup()`` removes it."""
    variant = CertificateVariant(variant)
    if variant is CertificateVariant.WRONG_NAME:
        return _wrong_name()
    if variant is CertificateVariant.SELF_SIGNED:
        return _self_signed()
    return make_tls_material(kind=CertificateKind(variant.value))


class CertificateStore:
    """Certificates by variant, made on first use and shared by many servers (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[CertificateVariant, ServerCertificate] = {}

    def get(
        self, variant: CertificateVariant | str = CertificateVariant.VALID
    ) -> ServerCertificate:
        """The certificate of ``variant``, made now if this store has none yet."""
        variant = CertificateVariant(variant)
        with self._lock:
            if variant not in self._made:
                self._made[variant] = make_certificate(variant)
            return self._made[variant]

    def cleanup(self) -> None:
        """Remove every certificate's files."""
        with self._lock:
            for made in self._made.values():
                made.cleanup()
            self._made.clear()


# --------------------------------------------------------------------------- faults


class After(Enum):
    """What the server does once a fault has acted."""

    REPLIED = "replied"  # the client did get the reply the phase needs (slowly, perhaps)
    CONTINUE = "continue"  # something else was sent; go on reading commands
    END = "end"  # the connection is over


class Link:
    """One client connection, as a fault sees it."""

    __slots__ = ("faulted", "rcpts", "reader", "sender", "tls", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.tls = False
        self.faulted = False
        self.sender = False
        self.rcpts = 0

    async def send(self, data: bytes) -> None:
        """Write and wait until the transport has taken it (raises once the client is gone)."""
        if self.writer.transport.is_closing():
            raise ConnectionResetError("the client has gone")
        self.writer.write(data)
        await self.writer.drain()
        # drain() returns at once while the transport is not paused, and a TLS transport
        # whose socket died still takes writes: yield, so that connection_lost() can arrive
        # before the next write of a streaming fault.
        await asyncio.sleep(0)

    async def swallow(self) -> None:
        """Read and discard until the client closes (or the server stops)."""
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while await self.reader.read(_CHUNK):
                pass

    def close(self) -> None:
        """An orderly close: FIN (after close_notify on TLS)."""
        self.writer.close()

    def reset(self) -> None:
        """An abortive close: SO_LINGER 0 makes close() send RST instead of FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


class Fault(ABC):
    """One misbehaviour, applied instead of the normal reply (or the TLS handshake)."""

    __slots__ = ()

    #: Whether it can stand in for the TLS handshake (phase ``tls``).
    at_handshake: ClassVar[bool] = False
    #: Whether it can replace a reply (every phase but ``tls``).
    at_reply: ClassVar[bool] = True

    @property
    @abstractmethod
    def name(self) -> str:
        """A short id for tables and test names."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        """Whether this fault means something at ``phase`` of a ``security`` dialogue."""
        phase = FaultPhase(phase)
        if phase not in phases_for(security):
            return False
        return self.at_handshake if phase is FaultPhase.TLS else self.at_reply

    @property
    def certificate(self) -> CertificateVariant:
        """The certificate the server presents while this fault is active."""
        return CertificateVariant.VALID

    @abstractmethod
    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        """Misbehave on ``link`` where ``normal`` (empty at ``tls``) would have been sent."""


@dataclass(frozen=True, slots=True)
class Hang(Fault):
    """Read what the client sends and never answer."""

    at_handshake: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return "hang"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.swallow()
        return After.END


@dataclass(frozen=True, slots=True)
class Close(Fault):
    """Close the connection in good order (FIN) after reading the command."""

    at_handshake: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return "close"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        link.close()
        return After.END


@dataclass(frozen=True, slots=True)
class Reset(Fault):
    """Abort the connection (RST) after reading the command."""

    at_handshake: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return "reset"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        if phase is FaultPhase.GREETING:
            # Nothing to read first: give the client a moment to see the connection open,
            # or the RST may reach it while connect() is still being confirmed.
            await asyncio.sleep(_SETTLE)
        link.reset()
        return After.END


@dataclass(frozen=True, slots=True)
class Garbage(Fault):
    """Send bytes that are no SMTP reply at all (in place of a handshake at ``tls``)."""

    data: bytes
    label: str
    at_handshake: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return f"garbage-{self.label}"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(self.data)
        return After.CONTINUE


@dataclass(frozen=True, slots=True)
class Malformed(Fault):
    """One reply line whose code breaks RFC 5321 section 4.2 (three digits, 2-5 then 0-5)."""

    line: str
    label: str

    @property
    def name(self) -> str:
        return f"code-{self.label}"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(self.line.encode("ascii") + b"\r\n")
        return After.CONTINUE


@dataclass(frozen=True, slots=True)
class Inconsistent(Fault):
    """A multiline reply whose lines carry different codes (RFC 5321 section 4.2.1)."""

    @property
    def name(self) -> str:
        return "inconsistent-continuation"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(b"250-first\r\n220 second\r\n")
        return After.CONTINUE


# A success code, but not the one the phase needs (RFC 5321 section 4.3.2, RFC 3207, RFC 4954).
_UNEXPECTED_POSITIVE: dict[FaultPhase, int] = {
    FaultPhase.GREETING: 250,  # needs 220
    FaultPhase.EHLO: 334,  # needs 250
    FaultPhase.STARTTLS: 250,  # needs 220
    FaultPhase.EHLO2: 334,  # needs 250
    FaultPhase.AUTH: 250,  # needs 235
    FaultPhase.MAIL: 220,  # needs 250
    FaultPhase.RCPT: 354,  # needs 250 or 251
    FaultPhase.DATA: 250,  # needs 354
    FaultPhase.MESSAGE: 354,  # needs 250
    FaultPhase.RSET: 354,  # needs 250
    FaultPhase.QUIT: 250,  # needs 221
}


@dataclass(frozen=True, slots=True)
class UnexpectedPositive(Fault):
    """A positive reply with the wrong code for the phase (250 to AUTH, 220 to MAIL, ...)."""

    @property
    def name(self) -> str:
        return "unexpected-positive"

    @staticmethod
    def code_for(phase: FaultPhase) -> int:
        """The wrong success code sent at ``phase``."""
        return _UNEXPECTED_POSITIVE[phase]

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        code = self.code_for(phase)
        await link.send(f"{code} {HOSTNAME} unexpected reply to {phase.value}\r\n".encode())
        return After.CONTINUE


@dataclass(frozen=True, slots=True)
class ExtraReply(Fault):
    """The normal reply, then one more (``250 2.0.0 Ok``) that no command asked for: from
    here on every reply the client reads is the previous command's."""

    @property
    def name(self) -> str:
        return "extra-reply"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(normal + b"250 2.0.0 Ok\r\n")
        return After.REPLIED


@dataclass(frozen=True, slots=True)
class LateDuplicate(Fault):
    """The normal reply, then the same reply again once the next command has arrived (so
    the client has already sent it and reads the copy as its answer), then, once the
    command after it has arrived too, the real answer to the first: ``421 … too many
    errors``, and the connection closed."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) in (FaultPhase.MAIL, FaultPhase.AUTH)

    @property
    def name(self) -> str:
        return "late-duplicate"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(normal)
        if not await link.reader.readline():  # the next command: it reads the copy
            return After.END
        await link.send(normal)
        if not await link.reader.readline():  # the one after: it reads the real answer
            return After.END
        await link.send(f"421 4.7.0 {HOSTNAME} Error: too many errors\r\n".encode())
        link.close()
        return After.END


@dataclass(frozen=True, slots=True)
class EarlyAcceptance(Fault):
    """354, then ``250 … queued`` as soon as the message's first line arrives, before its
    end; the command after the message then gets ``500``, the answer to a line of the
    message read as a command."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) is FaultPhase.DATA

    @property
    def name(self) -> str:
        return "early-acceptance"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(normal)
        if not await link.reader.readline():
            return After.END
        await link.send(b"250 2.0.0 Ok: queued as 1234\r\n")
        link.sender, link.rcpts = False, 0
        # The rest of the message, then the next command: the reply it gets is the one the
        # server gave to a line of the message, read as a command.
        while (line := await link.reader.readline()) not in (b".\r\n", b".\n"):
            if not line:
                return After.END
        if not await link.reader.readline():
            return After.END
        await link.send(b"500 5.5.2 Error: command not recognized\r\n")
        return After.CONTINUE


@dataclass(frozen=True, slots=True)
class AcceptedBeforeMessage(Fault):
    """354, then in a second write, before any of the message came, ``250 … queued``; every
    line of the message is then read as a command and answered ``500``, and QUIT ``221``.
    The client reads the early 250 as the message's reply, and a 500 as QUIT's."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) is FaultPhase.DATA

    @property
    def name(self) -> str:
        return "accepted-before-message"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(normal)
        await link.send(b"250 2.0.0 Ok: queued as 1234\r\n")
        link.sender, link.rcpts = False, 0
        while line := await link.reader.readline():
            if line.upper().startswith(b"QUIT"):
                await link.send(b"221 2.0.0 Bye\r\n")
                break
            await link.send(b"500 5.5.2 Error: command not recognized\r\n")
        return After.END


@dataclass(frozen=True, slots=True)
class CloseWhenPipelined(Fault):
    """A close, without a reply, when more commands came with this one (a server unfit for
    PIPELINING though it advertises it); sent alone, the command gets its normal reply."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) in (FaultPhase.AUTH, FaultPhase.MAIL)

    @property
    def name(self) -> str:
        return "close-when-pipelined"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        if getattr(link.reader, "_buffer", None):  # StreamReader's unread bytes (private)
            link.close()
            return After.END
        await link.send(normal)
        return After.REPLIED


@dataclass(frozen=True, slots=True)
class LoginAppliedLate(Fault):
    """``530 5.7.0 Authentication required`` (RFC 4954 section 6) to MAIL when it came in
    one flight with the AUTH before it (a server that reads ahead of its login taking
    effect); sent alone, MAIL gets its normal reply."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) is FaultPhase.MAIL

    @property
    def name(self) -> str:
        return "login-applied-late"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        if getattr(link.reader, "_buffer", None):  # RCPT came with it: a flight
            await link.send(b"530 5.7.0 Authentication required\r\n")
            return After.CONTINUE
        await link.send(normal)
        return After.REPLIED


@dataclass(frozen=True, slots=True)
class AcceptThenGoAway(Fault):
    """The normal reply, then at once, before the next command, ``421 … closing
    transmission channel`` and a close: a server shutting down, as RFC 5321 section 3.8
    lets it at any moment."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) in (FaultPhase.RCPT, FaultPhase.MESSAGE)

    @property
    def name(self) -> str:
        return "accept-then-go-away"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        # One write: the 421 is waiting before the client can send its next command, however
        # busy the machine (two writes raced the client's QUIT under load).
        going = f"421 4.3.2 {HOSTNAME} Service not available, closing transmission channel\r\n"
        await link.send(normal + going.encode())
        link.close()
        return After.END


@dataclass(frozen=True, slots=True)
class DiscardPipelined(Fault):
    """The normal reply, then whatever the client sent after the command is thrown away
    (a server that empties its input buffer after AUTH, unfit for PIPELINING): pipelined
    commands go unanswered; sent one at a time, they are answered."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) in (FaultPhase.AUTH, FaultPhase.MAIL)

    @property
    def name(self) -> str:
        return "discard-pipelined"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        # What came with the command is in the reader's buffer already (a flight is one
        # write); a command sent after this reply is not. (StreamReader's private buffer:
        # as good as a test server needs.)
        buffered = getattr(link.reader, "_buffer", None)
        if buffered:
            buffered.clear()
        await link.send(normal)
        return After.REPLIED


@dataclass(slots=True)
class RefusedFirstTime(Fault):
    """Postfix's ``421 … Error: too many errors`` and a close on the first connection only;
    later connections get the normal reply (a server whose trouble is the first dialogue's:
    a pipelined flight refused, the same commands one at a time accepted)."""

    connections: int = 0

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) in (FaultPhase.RSET, FaultPhase.QUIT)

    @property
    def name(self) -> str:
        return "refused-first-time"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        self.connections += 1
        if self.connections > 1:
            await link.send(normal)
            return After.REPLIED
        await link.send(f"421 4.7.0 {HOSTNAME} Error: too many errors\r\n".encode())
        link.close()
        return After.END


@dataclass(frozen=True, slots=True)
class MissingReplyThenClose(Fault):
    """No reply to this command; the next one (RSET) gets its normal ``250``, and the
    connection is closed before the one after it (QUIT) is answered. Pipelined, the
    client reads RSET's 250 as this command's and never sees a reply out of step (a
    red-team round: "ok" for a RCPT never answered)."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) in (FaultPhase.MAIL, FaultPhase.RCPT)

    @property
    def name(self) -> str:
        return "missing-reply-then-close"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        if not await link.reader.readline():  # the next command, answered as if it were ok
            return After.END
        await link.send(b"250 2.0.0 Ok\r\n")
        link.close()
        return After.END


@dataclass(frozen=True, slots=True)
class MissingReply(Fault):
    """No reply at all, though the command is carried out: from here on every reply the
    client reads is the next command's (with pipelining; without, the client waits)."""

    @property
    def name(self) -> str:
        return "missing-reply"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        return After.REPLIED  # as far as the server's state goes, the command succeeded


@dataclass(frozen=True, slots=True)
class Contradictory(Fault):
    """The normal reply's code with an enhanced code of failure (``250 5.1.1``)."""

    @property
    def name(self) -> str:
        return "contradictory"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(normal[:3] + b" 5.1.1 contradictory reply\r\n")
        return After.REPLIED


@dataclass(frozen=True, slots=True)
class SecondChallenge(Fault):
    """After AUTH PLAIN with its initial response, ask again (``334 ``) instead of 235."""

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) is FaultPhase.AUTH

    @property
    def name(self) -> str:
        return "second-334"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(b"334 \r\n")
        return After.CONTINUE


@dataclass(frozen=True, slots=True)
class EndlessLine(Fault):
    """Stream a reply line that never ends, until the client leaves or ``limit`` bytes."""

    limit: int = 50 * 1024 * 1024

    @property
    def name(self) -> str:
        return "endless-line"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        data = _code_prefix(normal)
        sent = 0
        chunk = b"x" * _CHUNK
        try:
            while sent < self.limit:
                piece = data or chunk[: self.limit - sent]
                await link.send(piece)
                sent += len(piece)
                data = b""
        except OSError:
            return After.END
        link.close()
        return After.END


@dataclass(frozen=True, slots=True)
class LongLine(Fault):
    """One reply line of ``size`` bytes (CRLF included), with the phase's own code in front."""

    size: int = 10 * 1024 * 1024

    @property
    def name(self) -> str:
        return "long-line"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        head = _code_prefix(normal)
        remaining = self.size - len(head) - 2
        await link.send(head)
        chunk = b"x" * _CHUNK
        while remaining > 0:
            piece = chunk[:remaining]
            await link.send(piece)
            remaining -= len(piece)
        await link.send(b"\r\n")
        return After.CONTINUE


def _code_prefix(normal: bytes) -> bytes:
    return normal[:4] if normal[:3].isdigit() else b"250 "


@dataclass(frozen=True, slots=True)
class Slow(Fault):
    """Send the correct reply one byte every ``interval`` seconds."""

    interval: float
    label: str

    @property
    def name(self) -> str:
        return f"slow-{self.label}"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        for i in range(len(normal)):
            if i:
                await asyncio.sleep(self.interval)
            await link.send(normal[i : i + 1])
        # No pause after the last byte: after a 220 to STARTTLS the client's handshake
        # follows at once, and bytes read before start_tls() would be lost to it.
        return After.REPLIED


@dataclass(frozen=True, slots=True)
class SendAndClose(Fault):
    """Send ``line`` and close, as a server does with 421 (RFC 5321 section 3.8)."""

    line: str
    label: str

    @property
    def name(self) -> str:
        return self.label

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(self.line.encode("ascii") + b"\r\n")
        link.close()
        return After.END


@dataclass(frozen=True, slots=True)
class Encoded(Fault):
    """A reply line sent in ``encoding`` (servers in Japan still use the legacy ones)."""

    line: str
    encoding: str
    label: str = "ja"

    @property
    def name(self) -> str:
        return f"{self.label}-{self.encoding}"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(self.line.encode(self.encoding) + b"\r\n")
        return After.CONTINUE


@dataclass(frozen=True, slots=True)
class PlaintextAfterStartTLS(Fault):
    """Answer 220 to STARTTLS, then send ``250 hello`` in the clear instead of a handshake."""

    at_handshake: ClassVar[bool] = True
    at_reply: ClassVar[bool] = False

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) is FaultPhase.TLS and Security(security) is Security.STARTTLS

    @property
    def name(self) -> str:
        return "plaintext-after-starttls"

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        await link.send(b"250 hello\r\n")
        return After.CONTINUE


@dataclass(frozen=True, slots=True)
class BadCertificate(Fault):
    """Present a certificate the client must refuse; the handshake itself is the fault."""

    variant: CertificateVariant
    at_reply: ClassVar[bool] = False

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) is FaultPhase.TLS and Security(security) is not Security.PLAIN

    @property
    def name(self) -> str:
        return f"cert-{self.variant.value}"

    @property
    def certificate(self) -> CertificateVariant:
        return self.variant

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        return After.REPLIED  # never called: the server hands over the certificate instead


GARBAGE_TEXT = Garbage(b"hello there\r\n", "text")
GARBAGE_BYTES = Garbage(b"\x00\xff\xfe\r\n", "bytes")
MALFORMED_CODES: tuple[Malformed, ...] = (
    Malformed(" 250 ok", "leading-space"),
    Malformed("-50 ok", "minus-50"),
    Malformed("25 ok", "two-digits"),
    Malformed("2500 ok", "four-digits"),
    Malformed("250x ok", "letter"),
    Malformed("199 ok", "199"),  # first digit 1: no such class in SMTP
    Malformed("260 ok", "260"),  # second digit 6: RFC 5321 section 4.2.1 stops at 5
    Malformed("999 ok", "999"),
)
SLOW_OK = Slow(0.002, "ok")  # a 100-byte EHLO reply in a fifth of a second
SLOW_DRIP = Slow(0.5, "drip")  # the shortest reply (15 bytes) takes seven seconds
SERVICE_CLOSING = SendAndClose(
    "421 4.3.2 Service not available, closing transmission channel", "421"
)
JAPANESE_REPLIES: tuple[Encoded, ...] = tuple(
    Encoded(OCN_E041, encoding) for encoding in ("utf-8", "shift_jis", "iso-2022-jp", "euc-jp")
)


# --------------------------------------------------------------------------- the server


def _reply(*lines: str) -> bytes:
    last = len(lines) - 1
    return b"".join(
        f"{line[:3]}{' ' if i == last else '-'}{line[4:]}\r\n".encode()
        for i, line in enumerate(lines)
    )


class FaultServer(LoopbackServer):
    """A submission server on loopback that misbehaves in one way at one phase.

    ``fault`` and ``phase`` are both None for a server that never misbehaves. ``certificates``
    lets many servers share their throwaway CAs; without it the server makes its own and
    removes it at ``stop()``. ``credentials`` is the one user AUTH accepts (None: anyone).
    """

    def __init__(
        self,
        fault: Fault | None = None,
        phase: FaultPhase | str | None = None,
        security: Security | str = Security.STARTTLS,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        certificates: CertificateStore | None = None,
        credentials: tuple[str, str] | None = (FAULT_USER, FAULT_PASSWORD),
        max_recorded: int = _MAX_RECORDED,
    ) -> None:
        self.security = Security(security)
        self.phase = FaultPhase(phase) if phase is not None else None
        if (fault is None) != (self.phase is None):
            raise ValueError("give both a fault and its phase, or neither")
        if (
            fault is not None
            and self.phase is not None
            and not fault.allowed_at(self.phase, self.security)
        ):
            raise ValueError(
                f"fault {fault.name} cannot happen at phase {self.phase.value} in "
                f"{self.security.value} mode (phases: "
                f"{', '.join(p.value for p in phases_for(self.security))})"
            )
        require_loopback("FaultServer", "host", host)
        super().__init__(host, port)
        self.fault = fault
        self.credentials = credentials
        self._owns_certificates = certificates is None
        self._certificates = certificates if certificates is not None else CertificateStore()
        variant = fault.certificate if fault is not None else CertificateVariant.VALID
        self._certificate = self._certificates.get(variant)
        self._recorder = LineRecorder(max_recorded, _MAX_RECORDED_CHARS)
        self._counts_lock = threading.Lock()
        self._counts = {"connections": 0, "handshakes": 0, "faults": 0, "messages": 0}
        self._errors: list[str] = []
        self._links: set[Link] = set()
        self._context: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        fault = f"{self.fault.name}@{self.phase}" if self.fault and self.phase else "no fault"
        return f"FaultServer({fault}, {self.security.value}, {self.host}:{self.port})"

    # ---- what tests look at

    @property
    def ca_file(self) -> Path:
        """The CA file a client should trust (it does not vouch for a bad certificate)."""
        return self._certificate.ca_file

    @property
    def received(self) -> list[str]:
        """Every command and SASL line received, over all connections, in order (bounded)."""
        return self._recorder.snapshot()

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        return self._count("connections")

    @property
    def handshakes(self) -> int:
        """TLS handshakes completed so far."""
        return self._count("handshakes")

    @property
    def faults_applied(self) -> int:
        """How many times the fault acted (at most once per connection)."""
        return self._count("faults")

    @property
    def messages(self) -> int:
        """Message bodies received after DATA (counted, never stored)."""
        return self._count("messages")

    @property
    def errors(self) -> list[str]:
        """Unexpected exceptions inside the server (a bug in it, not in the client)."""
        with self._counts_lock:
            return list(self._errors)

    def _count(self, key: str, add: int = 0) -> int:
        with self._counts_lock:
            self._counts[key] += add
            return self._counts[key]

    # ---- lifecycle

    def _cleanup(self) -> None:
        """Remove the certificates this server made (a shared ``CertificateStore`` stays)."""
        if self._owns_certificates:
            self._certificates.cleanup()

    async def _listen(self, sock: socket.socket) -> asyncio.Server:
        self._context = self._certificate.server_context()
        return await asyncio.start_server(self._on_client, sock=sock, limit=_LINE_LIMIT)

    def _close_connections(self) -> None:
        for link in list(self._links):
            link.writer.transport.abort()

    # ---- one connection

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = Link(reader, writer)
        self._links.add(link)
        self._count("connections", 1)
        try:
            await self._dialogue(link)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client went away: its business
        except asyncio.CancelledError:
            # stop() cancels connections still open. Ending normally matters on 3.11:
            # start_server's done-callback calls exception() on the task and would log
            # a CancelledError traceback for every connection a fault kept open.
            pass
        except Exception as error:  # a bug in this server: make it visible to tests
            with self._counts_lock:
                self._errors.append(f"{type(error).__name__}: {error}")
        finally:
            self._links.discard(link)
            if not writer.transport.is_closing():
                writer.close()

    async def _dialogue(self, link: Link) -> None:
        if self.security is Security.IMPLICIT_TLS and not await self._handshake(link):
            return
        if await self._answer(link, FaultPhase.GREETING, _reply(f"220 {HOSTNAME} ESMTP")) is (
            After.END
        ):
            return
        while True:
            line = await self._read_line(link)
            if line is None:
                return
            verb, _, arg = line.partition(" ")
            after = await self._command(link, verb.upper(), arg.strip())
            if after is After.END:
                return

    async def _command(self, link: Link, verb: str, arg: str) -> After:
        if verb == "EHLO":
            return await self._ehlo(link)
        if verb == "HELO":
            await link.send(_reply(f"250 {HOSTNAME}"))
            return After.REPLIED
        if verb == "STARTTLS":
            return await self._starttls(link)
        if verb == "AUTH":
            return await self._auth(link, arg)
        if verb == "MAIL":
            after = await self._answer(link, FaultPhase.MAIL, _reply("250 2.1.0 Ok"))
            link.sender = link.sender or after is After.REPLIED
            return after
        if verb == "RCPT":
            normal = "250 2.1.5 Ok" if link.sender else "503 5.5.1 Error: need MAIL command"
            after = await self._answer(link, FaultPhase.RCPT, _reply(normal))
            if after is After.REPLIED and link.sender:
                link.rcpts += 1
            return after
        if verb == "DATA":
            return await self._data(link)
        if verb == "RSET":
            link.sender, link.rcpts = False, 0
            return await self._answer(link, FaultPhase.RSET, _reply("250 2.0.0 Ok"))
        if verb == "NOOP":
            await link.send(_reply("250 2.0.0 Ok"))
            return After.REPLIED
        if verb == "QUIT":
            after = await self._answer(link, FaultPhase.QUIT, _reply("221 2.0.0 Bye"))
            if after is After.REPLIED:
                link.close()
                return After.END
            return after
        await link.send(_reply("500 5.5.2 Error: command not recognized"))
        return After.REPLIED

    async def _ehlo(self, link: Link) -> After:
        offer_starttls = self.security is Security.STARTTLS and not link.tls
        phase = (
            FaultPhase.EHLO2 if self.security is Security.STARTTLS and link.tls else FaultPhase.EHLO
        )
        lines = [f"250 {HOSTNAME}"]
        if offer_starttls:
            lines.append("250 STARTTLS")
        lines += [f"250 AUTH {_MECHANISMS}", "250 ENHANCEDSTATUSCODES", "250 PIPELINING"]
        return await self._answer(link, phase, _reply(*lines))

    async def _starttls(self, link: Link) -> After:
        if self.security is not Security.STARTTLS or link.tls:
            await link.send(_reply("503 5.5.1 Error: TLS already active or not offered"))
            return After.REPLIED
        after = await self._answer(
            link, FaultPhase.STARTTLS, _reply("220 2.0.0 Ready to start TLS")
        )
        if after is not After.REPLIED:
            return after
        if not await self._handshake(link):
            return After.END
        # RFC 3207 section 4.2: the server forgets everything learned before TLS.
        link.sender, link.rcpts = False, 0
        return After.REPLIED

    async def _handshake(self, link: Link) -> bool:
        fault = self.fault
        if self.phase is FaultPhase.TLS and fault is not None and fault.at_handshake:
            link.faulted = True
            self._count("faults", 1)
            # The ClientHello is the "command" here: waiting for it means the client has
            # seen the connection open, so a close or reset is a TLS failure, never one of
            # TCP's connect.
            if not await link.reader.read(_CHUNK):
                return False
            if await fault.act(link, FaultPhase.TLS, b"") is not After.END:
                await link.swallow()  # no TLS will follow: wait for the client to give up
            return False
        if isinstance(fault, BadCertificate):
            self._count("faults", 1)
        assert self._context is not None
        try:
            await link.writer.start_tls(self._context, ssl_handshake_timeout=_HANDSHAKE_TIMEOUT)
        except (OSError, TimeoutError):  # ssl.SSLError is an OSError: the client refused us
            return False
        link.tls = True
        self._count("handshakes", 1)
        return True

    async def _answer(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        """Send ``normal``, or apply the fault if this is its phase (once per connection)."""
        fault = self.fault
        if fault is not None and phase is self.phase and not link.faulted:
            link.faulted = True
            self._count("faults", 1)
            return await fault.act(link, phase, normal)
        await link.send(normal)
        return After.REPLIED

    async def _read_line(self, link: Link) -> str | None:
        try:
            raw = await link.reader.readline()
        except ValueError:  # over _LINE_LIMIT (RFC 5321 section 4.5.3.1.4 allows 512)
            await link.send(_reply("500 5.5.6 Error: line too long"))
            return None
        if not raw:
            return None
        line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
        self._recorder.add(line)
        return line

    # ---- AUTH (RFC 4954) and DATA

    async def _auth(self, link: Link, arg: str) -> After:
        mechanism, _, initial = arg.partition(" ")
        mechanism = mechanism.upper()
        if mechanism == "PLAIN":
            if initial:
                return await self._answer(link, FaultPhase.AUTH, self._plain(initial))
            after = await self._answer(link, FaultPhase.AUTH, _reply("334 "))
            if after is not After.REPLIED:
                return after
            response = await self._read_line(link)
            return await self._finish_auth(link, response, self._plain)
        if mechanism == "LOGIN":
            if initial:
                user: str | None = initial
                after = await self._answer(link, FaultPhase.AUTH, _reply("334 UGFzc3dvcmQ6"))
            else:
                after = await self._answer(link, FaultPhase.AUTH, _reply("334 VXNlcm5hbWU6"))
                if after is not After.REPLIED:
                    return after
                user = await self._read_line(link)
                if user is None:
                    return After.END
                if user == "*":
                    await link.send(_reply("501 5.7.0 Authentication cancelled"))
                    return After.REPLIED
                await link.send(_reply("334 UGFzc3dvcmQ6"))
            if after is not After.REPLIED:
                return after
            password = await self._read_line(link)
            return await self._finish_auth(link, password, lambda p: self._login(user or "", p))
        if mechanism == "CRAM-MD5":
            challenge = f"<{secrets.randbelow(10**10)}.{secrets.randbelow(10**6)}@{HOSTNAME}>"
            encoded = base64.b64encode(challenge.encode()).decode()
            after = await self._answer(link, FaultPhase.AUTH, _reply(f"334 {encoded}"))
            if after is not After.REPLIED:
                return after
            response = await self._read_line(link)
            return await self._finish_auth(link, response, lambda r: self._cram(challenge, r))
        return await self._answer(
            link, FaultPhase.AUTH, _reply("504 5.5.4 Unrecognized authentication type")
        )

    async def _finish_auth(self, link: Link, response: str | None, check: _Check) -> After:
        if response is None:
            return After.END
        if response == "*":
            await link.send(_reply("501 5.7.0 Authentication cancelled"))
        else:
            await link.send(check(response))
        return After.REPLIED

    def _verdict(self, user: str, password: str) -> bytes:
        if self.credentials is None or (
            hmac.compare_digest(user.encode(), self.credentials[0].encode())
            and hmac.compare_digest(password.encode(), self.credentials[1].encode())
        ):
            return _reply("235 2.7.0 Authentication successful")
        return _reply("535 5.7.8 Error: authentication failed")

    def _plain(self, blob: str) -> bytes:
        # RFC 4616: authzid NUL authcid NUL passwd.
        decoded = _b64decode(blob)
        parts = decoded.split("\0") if decoded is not None else []
        if len(parts) != 3:
            return _reply("501 5.5.2 Error: malformed AUTH PLAIN response")
        return self._verdict(parts[1], parts[2])

    def _login(self, user_b64: str, password_b64: str) -> bytes:
        user, password = _b64decode(user_b64), _b64decode(password_b64)
        if user is None or password is None:
            return _reply("501 5.5.2 Error: malformed AUTH LOGIN response")
        return self._verdict(user, password)

    def _cram(self, challenge: str, response_b64: str) -> bytes:
        # RFC 2195: "user hexdigest", the digest HMAC-MD5 of the challenge keyed by the password.
        decoded = _b64decode(response_b64)
        if decoded is None or " " not in decoded:
            return _reply("501 5.5.2 Error: malformed AUTH CRAM-MD5 response")
        user, _, digest = decoded.rpartition(" ")
        if self.credentials is None:
            return self._verdict(user, "")
        expected = hmac.new(self.credentials[1].encode(), challenge.encode(), hashlib.md5)
        if hmac.compare_digest(digest.lower().encode(), expected.hexdigest().encode()):
            return self._verdict(user, self.credentials[1])
        return _reply("535 5.7.8 Error: authentication failed")

    async def _data(self, link: Link) -> After:
        if not link.rcpts:
            return await self._answer(
                link, FaultPhase.DATA, _reply("503 5.5.1 Error: need RCPT command")
            )
        normal = _reply("354 End data with <CR><LF>.<CR><LF>")
        after = await self._answer(link, FaultPhase.DATA, normal)
        if after is not After.REPLIED:
            return after
        while True:  # RFC 5321 section 4.5.2: the body ends at a line holding only "."
            try:
                line = await link.reader.readline()
            except ValueError:
                await link.send(_reply("500 5.5.6 Error: line too long"))
                return After.END
            if not line:
                return After.END
            if line in (b".\r\n", b".\n"):
                break
        self._count("messages", 1)
        link.sender, link.rcpts = False, 0
        return await self._answer(link, FaultPhase.MESSAGE, _reply("250 2.0.0 Ok: queued"))


class _Check(Protocol):
    def __call__(self, response: str, /) -> bytes: ...


def _b64decode(text: str) -> str | None:
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
