"""What the fault server can do wrong at a phase: the ``Fault`` kinds and the phases.

Each ``Fault`` acts once at the phase it is placed at (``FaultPhase``), through the ``Link``
to one client, instead of the server's normal reply (``smtpprobe.testing.faults.FaultServer``
runs them). Streamed bytes stop when the client goes away and are bounded in total.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import ClassVar

from smtpprobe.core.transcript import Security
from smtpprobe.testing.certificates import HOSTNAME, CertificateVariant

__all__ = [
    "GARBAGE_BYTES",
    "GARBAGE_TEXT",
    "JAPANESE_REPLIES",
    "LEGACY_TLS_ONLY",
    "MALFORMED_CODES",
    "NO_SHARED_CIPHER",
    "OCN_E041",
    "SERVICE_CLOSING",
    "SLOW_DRIP",
    "SLOW_OK",
    "STREAM_CHUNK",
    "UNRECOGNIZED_NAME",
    "AcceptThenGoAway",
    "AcceptedBeforeMessage",
    "After",
    "BadCertificate",
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
    "Slow",
    "TLSAlert",
    "UnexpectedPositive",
    "phases_for",
    "reply_bytes",
]

#: OCN's relay refusal as a Gmail "Send mail as" bounce quoted it (the user's seed document
#: 001, a blog post on sending through smtp.ocn.ne.jp); a real text, in Japanese.
OCN_E041 = "553 5.7.1 : クライアントホストが拒否されました: リレーアクセスが拒否されました(E041)"

STREAM_CHUNK = 64 * 1024  # bytes read or sent at a time by streaming faults and the server
_SETTLE = 0.1


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


def reply_bytes(*lines: str) -> bytes:
    """A reply of one or more lines, each ``"NNN text"``, as the wire carries it."""
    last = len(lines) - 1
    return b"".join(
        f"{line[:3]}{' ' if i == last else '-'}{line[4:]}\r\n".encode()
        for i, line in enumerate(lines)
    )


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
            while await self.reader.read(STREAM_CHUNK):
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
        chunk = b"x" * STREAM_CHUNK
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
        chunk = b"x" * STREAM_CHUNK
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


@dataclass(frozen=True, slots=True)
class TLSAlert(Fault):
    """Answer the ClientHello with a fatal TLS alert, then close, as a server whose TLS
    settings rule the client out does (RFC 8446 section 6.2): ``LEGACY_TLS_ONLY``'s
    protocol_version (70), a server that speaks only TLS 1.0 and 1.1, which RFC 8996
    deprecated; ``NO_SHARED_CIPHER``'s handshake_failure (40), one that offers only ciphers
    the client does not; ``UNRECOGNIZED_NAME``'s unrecognized_name (112), one that serves
    no certificate for the name the client asked for (RFC 6066 section 3). The record's
    version is TLS 1.0's, 3.1 (RFC 5246 appendix E.1)."""

    description: int
    label: str
    at_handshake: ClassVar[bool] = True
    at_reply: ClassVar[bool] = False

    def allowed_at(self, phase: FaultPhase | str, security: Security | str) -> bool:
        return FaultPhase(phase) is FaultPhase.TLS and Security(security) is not Security.PLAIN

    @property
    def name(self) -> str:
        return self.label

    async def act(self, link: Link, phase: FaultPhase, normal: bytes) -> After:
        # An alert record: type 21, version 3.1, length 2; level fatal (2), the description.
        await link.send(bytes((21, 3, 1, 0, 2, 2, self.description)))
        return After.END


LEGACY_TLS_ONLY = TLSAlert(70, "legacy-tls-only")
NO_SHARED_CIPHER = TLSAlert(40, "no-shared-cipher")
UNRECOGNIZED_NAME = TLSAlert(112, "unrecognized-name")  # SNI, RFC 6066 section 3


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
