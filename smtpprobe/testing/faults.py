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
message body is counted, never stored. The faults themselves are in
``smtpprobe.testing.fault_kinds`` and the certificates in ``smtpprobe.testing.certificates``;
this module re-exports both, so ``from smtpprobe.testing.faults import Hang`` keeps working.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import socket
import ssl
import threading
from pathlib import Path
from typing import Protocol

from smtpprobe.core.transcript import Security
from smtpprobe.testing.certificates import (
    HOSTNAME,
    CertificateStore,
    CertificateVariant,
    ServerCertificate,
    make_certificate,
)
from smtpprobe.testing.fault_kinds import (
    GARBAGE_BYTES,
    GARBAGE_TEXT,
    JAPANESE_REPLIES,
    LEGACY_TLS_ONLY,
    MALFORMED_CODES,
    NO_SHARED_CIPHER,
    OCN_E041,
    SERVICE_CLOSING,
    SLOW_DRIP,
    SLOW_OK,
    STREAM_CHUNK,
    UNRECOGNIZED_NAME,
    AcceptedBeforeMessage,
    AcceptThenGoAway,
    After,
    BadCertificate,
    Close,
    CloseWhenPipelined,
    Contradictory,
    DiscardPipelined,
    EarlyAcceptance,
    Encoded,
    EndlessLine,
    ExtraReply,
    Fault,
    FaultPhase,
    Garbage,
    Hang,
    Inconsistent,
    LateDuplicate,
    Link,
    LoginAppliedLate,
    LongLine,
    Malformed,
    MissingReply,
    MissingReplyThenClose,
    PlaintextAfterStartTLS,
    RefusedFirstTime,
    Reset,
    SecondChallenge,
    SendAndClose,
    Slow,
    TLSAlert,
    UnexpectedPositive,
    phases_for,
    reply_bytes,
)
from smtpprobe.testing.loopback import LineRecorder, LoopbackServer, require_loopback

__all__ = [
    "FAULT_PASSWORD",
    "FAULT_USER",
    "GARBAGE_BYTES",
    "GARBAGE_TEXT",
    "HOSTNAME",
    "JAPANESE_REPLIES",
    "LEGACY_TLS_ONLY",
    "MALFORMED_CODES",
    "NO_SHARED_CIPHER",
    "OCN_E041",
    "SERVICE_CLOSING",
    "SLOW_DRIP",
    "SLOW_OK",
    "UNRECOGNIZED_NAME",
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
    "TLSAlert",
    "UnexpectedPositive",
    "make_certificate",
    "phases_for",
]

FAULT_USER = "user@example.jp"
FAULT_PASSWORD = "pw-for-faults"


_LINE_LIMIT = 64 * 1024  # StreamReader limit: a longer command line ends the connection
_MAX_RECORDED = 10_000  # received lines kept
_MAX_RECORDED_CHARS = 1_000  # characters kept of each
_HANDSHAKE_TIMEOUT = 10.0
_MECHANISMS = "PLAIN LOGIN CRAM-MD5"


# --------------------------------------------------------------------------- the server


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
        if await self._answer(link, FaultPhase.GREETING, reply_bytes(f"220 {HOSTNAME} ESMTP")) is (
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
            await link.send(reply_bytes(f"250 {HOSTNAME}"))
            return After.REPLIED
        if verb == "STARTTLS":
            return await self._starttls(link)
        if verb == "AUTH":
            return await self._auth(link, arg)
        if verb == "MAIL":
            after = await self._answer(link, FaultPhase.MAIL, reply_bytes("250 2.1.0 Ok"))
            link.sender = link.sender or after is After.REPLIED
            return after
        if verb == "RCPT":
            normal = "250 2.1.5 Ok" if link.sender else "503 5.5.1 Error: need MAIL command"
            after = await self._answer(link, FaultPhase.RCPT, reply_bytes(normal))
            if after is After.REPLIED and link.sender:
                link.rcpts += 1
            return after
        if verb == "DATA":
            return await self._data(link)
        if verb == "RSET":
            link.sender, link.rcpts = False, 0
            return await self._answer(link, FaultPhase.RSET, reply_bytes("250 2.0.0 Ok"))
        if verb == "NOOP":
            await link.send(reply_bytes("250 2.0.0 Ok"))
            return After.REPLIED
        if verb == "QUIT":
            after = await self._answer(link, FaultPhase.QUIT, reply_bytes("221 2.0.0 Bye"))
            if after is After.REPLIED:
                link.close()
                return After.END
            return after
        await link.send(reply_bytes("500 5.5.2 Error: command not recognized"))
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
        return await self._answer(link, phase, reply_bytes(*lines))

    async def _starttls(self, link: Link) -> After:
        if self.security is not Security.STARTTLS or link.tls:
            await link.send(reply_bytes("503 5.5.1 Error: TLS already active or not offered"))
            return After.REPLIED
        after = await self._answer(
            link, FaultPhase.STARTTLS, reply_bytes("220 2.0.0 Ready to start TLS")
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
            if not await link.reader.read(STREAM_CHUNK):
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
            await link.send(reply_bytes("500 5.5.6 Error: line too long"))
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
            after = await self._answer(link, FaultPhase.AUTH, reply_bytes("334 "))
            if after is not After.REPLIED:
                return after
            response = await self._read_line(link)
            return await self._finish_auth(link, response, self._plain)
        if mechanism == "LOGIN":
            if initial:
                user: str | None = initial
                after = await self._answer(link, FaultPhase.AUTH, reply_bytes("334 UGFzc3dvcmQ6"))
            else:
                after = await self._answer(link, FaultPhase.AUTH, reply_bytes("334 VXNlcm5hbWU6"))
                if after is not After.REPLIED:
                    return after
                user = await self._read_line(link)
                if user is None:
                    return After.END
                if user == "*":
                    await link.send(reply_bytes("501 5.7.0 Authentication cancelled"))
                    return After.REPLIED
                await link.send(reply_bytes("334 UGFzc3dvcmQ6"))
            if after is not After.REPLIED:
                return after
            password = await self._read_line(link)
            return await self._finish_auth(link, password, lambda p: self._login(user or "", p))
        if mechanism == "CRAM-MD5":
            challenge = f"<{secrets.randbelow(10**10)}.{secrets.randbelow(10**6)}@{HOSTNAME}>"
            encoded = base64.b64encode(challenge.encode()).decode()
            after = await self._answer(link, FaultPhase.AUTH, reply_bytes(f"334 {encoded}"))
            if after is not After.REPLIED:
                return after
            response = await self._read_line(link)
            return await self._finish_auth(link, response, lambda r: self._cram(challenge, r))
        return await self._answer(
            link, FaultPhase.AUTH, reply_bytes("504 5.5.4 Unrecognized authentication type")
        )

    async def _finish_auth(self, link: Link, response: str | None, check: _Check) -> After:
        if response is None:
            return After.END
        if response == "*":
            await link.send(reply_bytes("501 5.7.0 Authentication cancelled"))
        else:
            await link.send(check(response))
        return After.REPLIED

    def _verdict(self, user: str, password: str) -> bytes:
        if self.credentials is None or (
            hmac.compare_digest(user.encode(), self.credentials[0].encode())
            and hmac.compare_digest(password.encode(), self.credentials[1].encode())
        ):
            return reply_bytes("235 2.7.0 Authentication successful")
        return reply_bytes("535 5.7.8 Error: authentication failed")

    def _plain(self, blob: str) -> bytes:
        # RFC 4616: authzid NUL authcid NUL passwd.
        decoded = _b64decode(blob)
        parts = decoded.split("\0") if decoded is not None else []
        if len(parts) != 3:
            return reply_bytes("501 5.5.2 Error: malformed AUTH PLAIN response")
        return self._verdict(parts[1], parts[2])

    def _login(self, user_b64: str, password_b64: str) -> bytes:
        user, password = _b64decode(user_b64), _b64decode(password_b64)
        if user is None or password is None:
            return reply_bytes("501 5.5.2 Error: malformed AUTH LOGIN response")
        return self._verdict(user, password)

    def _cram(self, challenge: str, response_b64: str) -> bytes:
        # RFC 2195: "user hexdigest", the digest HMAC-MD5 of the challenge keyed by the password.
        decoded = _b64decode(response_b64)
        if decoded is None or " " not in decoded:
            return reply_bytes("501 5.5.2 Error: malformed AUTH CRAM-MD5 response")
        user, _, digest = decoded.rpartition(" ")
        if self.credentials is None:
            return self._verdict(user, "")
        expected = hmac.new(self.credentials[1].encode(), challenge.encode(), hashlib.md5)
        if hmac.compare_digest(digest.lower().encode(), expected.hexdigest().encode()):
            return self._verdict(user, self.credentials[1])
        return reply_bytes("535 5.7.8 Error: authentication failed")

    async def _data(self, link: Link) -> After:
        if not link.rcpts:
            return await self._answer(
                link, FaultPhase.DATA, reply_bytes("503 5.5.1 Error: need RCPT command")
            )
        normal = reply_bytes("354 End data with <CR><LF>.<CR><LF>")
        after = await self._answer(link, FaultPhase.DATA, normal)
        if after is not After.REPLIED:
            return after
        while True:  # RFC 5321 section 4.5.2: the body ends at a line holding only "."
            try:
                line = await link.reader.readline()
            except ValueError:
                await link.send(reply_bytes("500 5.5.6 Error: line too long"))
                return After.END
            if not line:
                return After.END
            if line in (b".\r\n", b".\n"):
                break
        self._count("messages", 1)
        link.sender, link.rcpts = False, 0
        return await self._answer(link, FaultPhase.MESSAGE, reply_bytes("250 2.0.0 Ok: queued"))


class _Check(Protocol):
    def __call__(self, response: str, /) -> bytes: ...


def _b64decode(text: str) -> str | None:
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
