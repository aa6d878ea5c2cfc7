"""An SMTP server that echoes what it receives, to prove that no output leaks a secret.

A server may quote the client's lines back in its replies ("you sent: …"), and
a probe prints replies. This one does so on purpose, in every encoding a
careless or hostile server might use: it records every line it receives and
puts the AUTH lines, encoded as the test chooses (``EchoVariant``), into the
final AUTH reply, into the XOAUTH2 error challenge, and into the MAIL and RCPT
replies. Raw asyncio on loopback only; STARTTLS (RFC 3207) or implicit TLS
(RFC 8314) with throwaway certificates; AUTH PLAIN, LOGIN, CRAM-MD5, XOAUTH2.

>>> with EchoServer(variants=(EchoVariant.VERBATIM, EchoVariant.HEX_UPPER)) as server:
...     server.port  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import socket
import urllib.parse
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from smtpprobe.core.transcript import Security
from smtpprobe.testing.ca import TLSMaterial, make_tls_material
from smtpprobe.testing.loopback import LineRecorder, LoopbackServer, require_loopback

__all__ = ["ALL_VARIANTS", "MECHANISMS", "EchoServer", "EchoVariant", "echo_lines"]

MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")
HOSTNAME = "echo.double.test"
_LINE_LIMIT = 4096
_IDLE_TIMEOUT = 30.0


class EchoVariant(StrEnum):
    """One way of echoing a received AUTH line; each becomes its own reply line."""

    VERBATIM = "verbatim"  # the line exactly as received
    DECODED = "decoded"  # its base64 payload decoded (NUL and \x01 kept)
    HEX_LOWER = "hex-lower"  # the line and the decoded payload in lower-case hex
    HEX_UPPER = "hex-upper"  # the same in upper-case hex
    HEX_MIXED = "hex-mixed"  # the same with alternating letter case
    URL = "url"  # urllib's quote(safe="") of the line and the decoded payload
    URL_PLUS = "url-plus"  # quote_plus: "+" for a space
    URL_LOWER = "url-lower"  # quote with lower-case escapes
    BASE64_SHIFTED = "base64-shifted"  # the decoded payload re-encoded 1 and 2 bytes in
    BASE64_URLSAFE = "base64-urlsafe"  # the decoded payload in URL-safe base64, no padding
    REPR = "repr"  # Python reprs of the decoded payload: as text, as ascii(), as bytes


ALL_VARIANTS: tuple[EchoVariant, ...] = tuple(EchoVariant)


def _payload(line: str) -> str:
    """The base64 part of an AUTH line: the initial response, or the whole line."""
    parts = line.split()
    if parts and parts[0].upper() == "AUTH":
        return parts[2] if len(parts) > 2 else ""
    return line.strip()


def _decoded(line: str) -> bytes:
    try:
        return base64.b64decode(_payload(line), validate=True)
    except (binascii.Error, ValueError):
        return b""


def _mixed_case(text: str) -> str:
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))


def echo_lines(line: str, variants: Iterable[EchoVariant]) -> list[str]:
    """Every chosen encoding of one received line, one reply line each."""
    raw = line.encode("utf-8", "surrogateescape")
    decoded = _decoded(line)
    text = decoded.decode("utf-8", "replace")
    out: list[str] = []
    for variant in variants:
        if variant is EchoVariant.VERBATIM:
            out.append(f"you sent: {line}")
        elif variant is EchoVariant.DECODED:
            if decoded:
                out.append(f"decoded: {text}")
        elif variant in (EchoVariant.HEX_LOWER, EchoVariant.HEX_UPPER, EchoVariant.HEX_MIXED):
            change = {
                EchoVariant.HEX_LOWER: str.lower,
                EchoVariant.HEX_UPPER: str.upper,
                EchoVariant.HEX_MIXED: _mixed_case,
            }[variant]
            out.append(f"hex: {change(raw.hex())}")
            if decoded:
                out.append(f"hex of decoded: {change(decoded.hex())}")
        elif variant in (EchoVariant.URL, EchoVariant.URL_PLUS, EchoVariant.URL_LOWER):
            for value in (raw, decoded) if decoded else (raw,):
                if variant is EchoVariant.URL_PLUS:
                    quoted = urllib.parse.quote_plus(value, safe="")
                else:
                    quoted = urllib.parse.quote(value, safe="")
                if variant is EchoVariant.URL_LOWER:
                    quoted = _lower_escapes(quoted)
                out.append(f"url: {quoted}")
        elif variant is EchoVariant.BASE64_SHIFTED:
            if decoded:
                for shift in (b"\xff", b"\xff\xfe"):
                    out.append(f"re-encoded: {base64.b64encode(shift + decoded).decode()}")
        elif variant is EchoVariant.REPR:
            if decoded:
                out += [f"repr: {text!r}", f"ascii: {text!a}", f"bytes: {decoded!r}"]
        elif decoded:  # BASE64_URLSAFE
            out.append(f"url-safe: {base64.urlsafe_b64encode(decoded).decode().rstrip('=')}")
    return out


def _lower_escapes(quoted: str) -> str:
    """``%2B`` → ``%2b``: the escapes in lower case, the rest untouched."""
    pieces = quoted.split("%")
    return pieces[0] + "".join("%" + p[:2].lower() + p[2:] for p in pieces[1:])


class EchoServer(LoopbackServer):
    """An echoing SMTP submission server on a loopback address, in its own thread.

    ``received`` holds every line received (all connections, in order);
    ``auth_lines`` only those of AUTH exchanges (the AUTH command and every
    continuation line). ``auth_ok`` chooses 235 or 535 for AUTH; ``rcpt_ok``
    250 or 550 for RCPT. ``variants`` chooses the echo encodings. DATA is not
    offered (502): a probe without ``--send`` never gets that far.
    """

    def __init__(
        self,
        *,
        security: Security | str = Security.STARTTLS,
        mechanisms: Iterable[str] = MECHANISMS,
        variants: Iterable[EchoVariant | str] = ALL_VARIANTS,
        auth_ok: bool = False,
        rcpt_ok: bool = True,
        host: str = "127.0.0.1",
        ca_dir: Path | str | None = None,
    ) -> None:
        require_loopback("EchoServer", "host", host)
        self.security = Security(security)
        self.mechanisms = tuple(m.upper() for m in mechanisms)
        unknown = set(self.mechanisms) - set(MECHANISMS)
        if unknown:
            raise ValueError(f"EchoServer cannot offer {', '.join(sorted(unknown))}")
        self.variants = tuple(EchoVariant(v) for v in variants)
        self.auth_ok = auth_ok
        self.rcpt_ok = rcpt_ok
        super().__init__(host, 0)
        self._material: TLSMaterial = make_tls_material(ca_dir)
        self._received = LineRecorder()
        self._auth_lines = LineRecorder()

    def __repr__(self) -> str:
        return f"EchoServer(security={str(self.security)!r}, host={self.host!r}, port={self.port})"

    @property
    def ca_file(self) -> Path:
        """The PEM of the throwaway CA that signed the server certificate."""
        return self._material.ca_file

    @property
    def received(self) -> list[str]:
        """Every line received so far, without its CRLF."""
        return self._received.snapshot()

    @property
    def auth_lines(self) -> list[str]:
        """The lines of every AUTH exchange: the AUTH command and its continuations."""
        return self._auth_lines.snapshot()

    # ---- serving

    def _cleanup(self) -> None:
        self._material.cleanup()

    async def _listen(self, sock: socket.socket) -> asyncio.Server:
        implicit = self.security is Security.IMPLICIT_TLS
        return await asyncio.start_server(
            self._on_client, sock=sock, limit=_LINE_LIMIT,
            ssl=self._material.server_context() if implicit else None,
            ssl_handshake_timeout=10 if implicit else None,
        )  # fmt: skip

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _Session(self, reader, writer).run()
        except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went away, or sent a line over the limit: drop it
        finally:
            writer.close()

    def _record(self, line: str, *, auth: bool) -> None:
        self._received.add(line)
        if auth:
            self._auth_lines.add(line)


class _Session:
    """One client connection."""

    def __init__(
        self, server: EchoServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.tls = server.security is Security.IMPLICIT_TLS
        self.auth_lines: list[str] = []  # this connection's, echoed at MAIL and RCPT

    async def run(self) -> None:
        await self.send(220, [f"{HOSTNAME} ESMTP echo server (test double)"])
        while (line := await self.read(auth=False)) is not None:
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                await self.ehlo(verb)
            elif verb == "STARTTLS" and not self.tls and self.server.security is Security.STARTTLS:
                await self.send(220, ["ready to start TLS"], "2.0.0")
                await self.writer.start_tls(self.server._material.server_context())
                self.tls = True
            elif verb == "AUTH":
                self.server._record(line, auth=True)
                self.auth_lines.append(line)
                await self.auth(line)
            elif verb == "MAIL":
                await self.send(250, [*self.echoes(line), "sender ok"], "2.1.0")
            elif verb == "RCPT":
                if self.server.rcpt_ok:
                    await self.send(250, [*self.echoes(line), "recipient ok"], "2.1.5")
                else:
                    await self.send(550, [*self.echoes(line), "relaying denied (echo)"], "5.7.1")
            elif verb in ("RSET", "NOOP"):
                await self.send(250, ["ok"], "2.0.0")
            elif verb == "QUIT":
                await self.send(221, ["bye"], "2.0.0")
                return
            else:
                await self.send(502, [f"not implemented: {line}"], "5.5.2")

    async def read(self, *, auth: bool) -> str | None:
        """One line without its CRLF, recorded; None at end of stream."""
        async with asyncio.timeout(_IDLE_TIMEOUT):
            raw = await self.reader.readline()
        if not raw:
            return None
        line = raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
        if not (auth or line.upper().startswith("AUTH")):
            self.server._record(line, auth=False)
        return line

    async def send(self, code: int, lines: list[str], enhanced: str = "") -> None:
        # RFC 5321 section 4.2.1: "code-text" on every line but the last, "code text" on
        # it; RFC 2034 section 3: the enhanced status code starts every line.
        prefix = f"{enhanced} " if enhanced else ""
        text = "".join(
            f"{code}{'-' if i < len(lines) - 1 else ' '}{prefix}{line}\r\n"
            for i, line in enumerate(lines)
        )
        self.writer.write(text.encode("utf-8", "surrogateescape"))
        await self.writer.drain()

    def echoes(self, line: str | None = None) -> list[str]:
        """The echo lines: every AUTH line of this connection (and ``line``), every variant."""
        lines = [*self.auth_lines, *([line] if line else [])]
        return [echo for received in lines for echo in echo_lines(received, self.server.variants)]

    async def ehlo(self, verb: str) -> None:
        if verb == "HELO":
            await self.send(250, [HOSTNAME])
            return
        keywords = [HOSTNAME, "SIZE 10240000", "8BITMIME"]
        if self.server.security is Security.STARTTLS and not self.tls:
            keywords.append("STARTTLS")
        else:
            keywords.append("AUTH " + " ".join(self.server.mechanisms))
        await self.send(250, keywords)

    async def continuation(self, challenge: str) -> str | None:
        """Send a 334 challenge (base64 text) and read the client's answer, recorded."""
        await self.send(334, [challenge])
        line = await self.read(auth=True)
        if line is not None:
            self.server._record(line, auth=True)
            self.auth_lines.append(line)
        return line

    async def auth(self, line: str) -> None:
        parts = line.split()
        mechanism = parts[1].upper() if len(parts) > 1 else ""
        if mechanism not in self.server.mechanisms:
            await self.send(504, ["unrecognized authentication type"], "5.5.4")
            return
        if mechanism == "PLAIN" and len(parts) < 3:
            if await self.continuation("") is None:
                return
        elif mechanism == "LOGIN":
            user = await self.continuation(_b64("Username:"))
            if user is None:
                return
            # The password prompt echoes the user-name line, as base64 (RFC 4954 section 4).
            if await self.continuation(_b64(f"Password: (you sent {user})")) is None:
                return
        elif mechanism == "CRAM-MD5":
            challenge = f"<{id(self)}.echo@{HOSTNAME}>"
            if await self.continuation(_b64(challenge)) is None:
                return
        elif mechanism == "XOAUTH2" and not self.server.auth_ok:
            # RFC 7628 section 3.2.2: the error is a 334 with base64 JSON; echo in it too.
            error = {"status": "401", "schemes": "bearer", "echo": self.echoes()}
            if await self.continuation(_b64(json.dumps(error))) is None:
                return
        if self.server.auth_ok:
            await self.send(235, [*self.echoes(), "authentication succeeded"], "2.7.0")
        else:
            await self.send(535, [*self.echoes(), "authentication failed (echo)"], "5.7.8")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
