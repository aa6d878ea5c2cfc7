"""The network side: runs the plan (``smtpprobe.core.plan``) against a real server.

This is the only module that uses aiosmtplib. It opens the TCP connection
itself (so every address tried is recorded and ``--source-address`` is a
plain bind) or through a proxy (python-socks, ``--proxy``), hands the
connected socket to aiosmtplib, and runs each SMTP
command as its own call so every reply is recorded. Every exception from the
network or from aiosmtplib becomes a ``Failure`` in exactly one place,
``failure_from_exception``; nothing here decides what a reply means.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from aiosmtplib import errors as smtp_errors
from python_socks import (
    ProxyConnectionError,
    ProxyError,
    ProxyTimeoutError,
    ProxyType,
)
from python_socks.async_.asyncio import Proxy

from smtpprobe.core import plan
from smtpprobe.core.auth import Credentials, sasl_exchange
from smtpprobe.core.capabilities import parse_ehlo
from smtpprobe.core.reply import Reply, decode_reply_text, from_code_and_message
from smtpprobe.core.transcript import (
    Failure,
    FailureKind,
    Phase,
    Security,
    Step,
    Target,
    TLSInfo,
    Transcript,
)
from smtpprobe.errors import ConfigError
from smtpprobe.tls import client_context, describe_tls, unverified_context, verify_error

__all__ = ["ProbeRequest", "ProxySpec", "failure_from_exception", "parse_proxy", "run_probe"]

_PROXY_SCHEMES = {
    # scheme: (type, whether the proxy resolves the server's name)
    "socks5": (ProxyType.SOCKS5, False),
    "socks5h": (ProxyType.SOCKS5, True),  # curl's convention: remote DNS
    "socks4": (ProxyType.SOCKS4, False),
    "socks4a": (ProxyType.SOCKS4, True),
    "http": (ProxyType.HTTP, True),  # CONNECT host:port: the proxy always resolves
}


@dataclass(frozen=True, slots=True)
class ProxySpec:
    """A parsed ``--proxy`` URL; ``display`` never holds the credentials."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def remote_dns(self) -> bool:
        return _PROXY_SCHEMES[self.scheme][1]

    @property
    def display(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{host}:{self.port}"

    def __repr__(self) -> str:
        return f"ProxySpec({self.display})"


def parse_proxy(url: str) -> ProxySpec:
    """Parse ``socks5://``, ``socks5h://``, ``socks4://``, ``socks4a://`` or ``http://`` URLs."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"--proxy: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _PROXY_SCHEMES:
        raise ConfigError(
            f"--proxy {parts.scheme or url!r}: use socks5://, socks5h:// (the proxy resolves "
            "the server name), socks4://, socks4a:// or http:// (CONNECT)"
        )
    if not parts.hostname or port is None:
        raise ConfigError(f"--proxy: give the proxy as {scheme}://HOST:PORT")
    return ProxySpec(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """Everything one probe needs; built by ``smtpprobe.api`` from options and a profile."""

    host: str
    port: int
    security: Security
    sender: str
    recipient: str
    credentials: Credentials | None
    preferred_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    profile: str | None = None
    timeout: float = 60.0
    phase_timeout: float = 15.0
    ca_file: Path | None = None
    insecure: bool = False
    source_address: str | None = None
    ehlo_name: str | None = None
    message: bytes | None = None
    family: int = socket.AF_UNSPEC
    proxy: ProxySpec | None = None

    def __repr__(self) -> str:  # the credentials' own repr hides the secret; keep it short
        return f"ProbeRequest({self.host}:{self.port} {self.security.value})"


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _reply(response: aiosmtplib.SMTPResponse | tuple[int, str]) -> Reply:
    code, message = (
        (response.code, response.message)
        if isinstance(response, aiosmtplib.SMTPResponse)
        else response
    )
    # aiosmtplib decodes with surrogateescape; recover the bytes and decode them
    # as what Japanese servers actually send (ISO-2022-JP, Shift_JIS).
    raw = message.encode("utf-8", "surrogateescape")
    return from_code_and_message(code, decode_reply_text(raw))


def failure_from_exception(exc: BaseException) -> Failure:
    """Map any network, TLS or aiosmtplib exception to a Failure. The one table.

    Order matters: the most specific class first. ``tests/test_driver_mapping.py``
    checks that every aiosmtplib exception class has a row.
    """
    # python-socks first: its exceptions are also OSError / TimeoutError, but they
    # are about the route (the proxy), not the server.
    if isinstance(exc, ProxyTimeoutError):
        return Failure(FailureKind.PROXY_TIMEOUT, _clean(str(exc)))
    if isinstance(exc, ProxyConnectionError):
        return Failure(FailureKind.PROXY_REFUSED, _clean(str(exc.args[-1] if exc.args else exc)))
    if isinstance(exc, ProxyError):
        text = _clean(str(exc))
        # SOCKS5 (RFC 1928/1929) and HTTP 407 say "authentication"; anything else the
        # proxy answered is about reaching the target through it.
        if exc.error_code == 407 or "authentication" in text.lower():
            return Failure(FailureKind.PROXY_AUTH_FAILED, text)
        return Failure(FailureKind.PROXY_TARGET_UNREACHABLE, text)
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(cause, ssl.SSLCertVerificationError):
        return Failure(FailureKind.TLS_CERTIFICATE_INVALID, verify_error(cause))
    if isinstance(cause, ssl.SSLError):
        reason = getattr(cause, "reason", None) or getattr(cause, "strerror", None) or str(cause)
        return Failure(FailureKind.TLS_HANDSHAKE_FAILED, _clean(str(reason)))
    if isinstance(exc, smtp_errors.SMTPResponseException) and exc.code < 0:
        return Failure(FailureKind.MALFORMED_REPLY, _clean(exc.message))
    if isinstance(exc, smtp_errors.SMTPConnectTimeoutError | smtp_errors.SMTPTimeoutError):
        return Failure(FailureKind.TIMEOUT, _clean(str(exc)))
    if isinstance(exc, TimeoutError):
        return Failure(FailureKind.TIMEOUT, "no answer within the time limit")
    if isinstance(cause, ConnectionRefusedError):
        return Failure(FailureKind.CONNECT_REFUSED, "connection refused")
    if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return Failure(FailureKind.NETWORK_UNREACHABLE, cause.strerror or str(cause))
    if isinstance(exc, smtp_errors.SMTPServerDisconnected | smtp_errors.SMTPConnectError):
        return Failure(FailureKind.CONNECTION_LOST, _clean(str(cause) or str(exc)))
    if isinstance(cause, ConnectionError | EOFError | asyncio.IncompleteReadError):
        return Failure(FailureKind.CONNECTION_LOST, _clean(str(cause)) or "connection closed")
    if isinstance(exc, smtp_errors.SMTPException):
        return Failure(FailureKind.MALFORMED_REPLY, _clean(str(exc)))
    if isinstance(cause, OSError):
        return Failure(FailureKind.CONNECTION_LOST, cause.strerror or str(cause))
    raise exc


def _dot_stuffed(message: bytes) -> bytes:
    """CRLF line endings, leading dots doubled, and the final ".": RFC 5321 section 4.5.2."""
    lines = message.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    return body + b".\r\n"


def _clean(text: str) -> str:
    return " ".join(text.split())[:300]


class _Session:
    """One probe's mutable state while the plan runs."""

    def __init__(self, request: ProbeRequest, transcript: Transcript) -> None:
        self.request = request
        self.transcript = transcript
        self.smtp: aiosmtplib.SMTP | None = None
        self.address: tuple[object, ...] | None = None
        self.phase = Phase.RESOLVE
        self.context = client_context(ca_file=request.ca_file, insecure=request.insecure)

    def record(self, step: Step) -> Step:
        return self.transcript.add(step)

    # --- open: resolve, connect, implicit TLS, greeting ----------------------------------

    async def open(self) -> plan.Outcome:
        if self.request.proxy is not None:
            return await self._open_via_proxy(self.request.proxy)
        infos = await self._resolve()
        if isinstance(infos, Failure):
            return infos
        return await self._connect_direct(infos)

    async def _resolve(self) -> list[tuple] | Failure:  # type: ignore[type-arg]
        request = self.request
        loop = asyncio.get_running_loop()
        self.phase = Phase.RESOLVE
        start = time.perf_counter()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(
                    request.host, request.port, family=request.family, type=socket.SOCK_STREAM
                ),
                request.phase_timeout,
            )
        except (socket.gaierror, UnicodeError) as exc:
            failure = Failure(FailureKind.DNS_FAILURE, _gai_detail(exc))
            self.record(Step(Phase.RESOLVE, failure=failure, elapsed_ms=_ms(start)))
            return failure
        except TimeoutError:
            failure = Failure(FailureKind.DNS_FAILURE, "the resolver did not answer in time")
            self.record(Step(Phase.RESOLVE, failure=failure, elapsed_ms=_ms(start)))
            return failure
        addresses = list(dict.fromkeys(info[4] for info in infos))
        shown = tuple(str(a[0]) for a in addresses)
        self.transcript.target = replace(self.transcript.target, addresses=shown)
        self.record(Step(Phase.RESOLVE, elapsed_ms=_ms(start), note=" ".join(shown)))
        return infos

    async def _connect_direct(self, infos: list[tuple]) -> plan.Outcome:  # type: ignore[type-arg]
        sock: socket.socket | None = None
        last: Failure | None = None
        self.phase = Phase.CONNECT
        tried: set[tuple[object, ...]] = set()
        for family, *_, address in infos:
            if address in tried:
                continue
            tried.add(address)
            start = time.perf_counter()
            try:
                sock = await self._connect(family, address)
            except OSError as exc:
                last = failure_from_exception(exc)
                self.record(
                    Step(Phase.CONNECT, failure=last, elapsed_ms=_ms(start), note=str(address[0]))
                )
                continue
            except TimeoutError:
                last = Failure(FailureKind.CONNECT_TIMEOUT, f"no answer from {address[0]}")
                self.record(
                    Step(Phase.CONNECT, failure=last, elapsed_ms=_ms(start), note=str(address[0]))
                )
                continue
            local = sock.getsockname()
            self.address = address
            self.transcript.target = replace(
                self.transcript.target, address_used=str(address[0]), source_address=str(local[0])
            )
            self.record(
                Step(
                    Phase.CONNECT,
                    elapsed_ms=_ms(start),
                    note=f"{address[0]} port {address[1]} from {local[0]}",
                )
            )
            break
        if sock is None:
            return last or Failure(FailureKind.DNS_FAILURE, "no address to connect to")
        return await self._greeting(sock)

    async def _open_via_proxy(self, proxy: ProxySpec) -> plan.Outcome:
        """Connect through the proxy; the server's name is resolved here or by the proxy."""
        request = self.request
        destinations: list[str]
        if proxy.remote_dns:
            self.record(Step(Phase.RESOLVE, note=f"(left to the proxy: {proxy.scheme})"))
            destinations = [request.host]
        else:
            infos = await self._resolve()
            if isinstance(infos, Failure):
                return infos
            destinations = list(dict.fromkeys(str(info[4][0]) for info in infos))
        self.phase = Phase.CONNECT
        last: Failure | None = None
        _check_bind(request.source_address, proxy.host)
        kind, _ = _PROXY_SCHEMES[proxy.scheme]
        for destination in destinations:
            start = time.perf_counter()
            connector = Proxy(
                kind,
                proxy.host,
                proxy.port,
                username=proxy.username,
                password=proxy.password,
                rdns=proxy.remote_dns,
            )
            local = (request.source_address, 0) if request.source_address else None
            try:
                sock = await connector.connect(
                    destination, request.port, timeout=request.phase_timeout, local_addr=local
                )
            except (ProxyError, OSError, TimeoutError) as exc:
                last = failure_from_exception(exc)
                note = f"{destination} via {proxy.display}"
                self.record(Step(Phase.CONNECT, failure=last, elapsed_ms=_ms(start), note=note))
                if last.kind is not FailureKind.PROXY_TARGET_UNREACHABLE:
                    break  # the proxy itself failed: another server address will not help
                continue
            local_address = str(sock.getsockname()[0])
            proxy_address = str(sock.getpeername()[0])
            self.transcript.target = replace(
                self.transcript.target,
                address_used=destination,
                source_address=local_address,
                proxy=proxy.display,
                proxy_address=proxy_address,
            )
            self.record(
                Step(
                    Phase.CONNECT,
                    elapsed_ms=_ms(start),
                    note=f"{destination} port {request.port} via {proxy.display} "
                    f"({proxy_address}) from {local_address}",
                )
            )
            # No second, direct connection for the security check (self.address stays
            # None): it would leave the route being probed.
            return await self._greeting(sock)
        self.transcript.target = replace(self.transcript.target, proxy=proxy.display)
        return last or Failure(FailureKind.DNS_FAILURE, "no address to connect to")

    async def _connect(self, family: int, address: tuple[object, ...]) -> socket.socket:
        request = self.request
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if request.source_address is not None:
                try:
                    sock.bind((request.source_address, 0))
                except OSError as exc:
                    raise ConfigError(
                        f"--source-address {request.source_address}: cannot bind it "
                        f"({exc.strerror}); use an address of this machine of the same family "
                        f"as {address[0]}"
                    ) from None
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(loop.sock_connect(sock, address), request.phase_timeout)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _greeting(self, sock: socket.socket) -> plan.Outcome:
        request = self.request
        implicit = request.security is Security.IMPLICIT_TLS
        self.smtp = aiosmtplib.SMTP(
            hostname=request.host,
            sock=sock,
            use_tls=implicit,
            start_tls=False,
            tls_context=self.context if implicit else None,
            timeout=request.phase_timeout,
            local_hostname=request.ehlo_name or _address_literal(sock),
        )
        self.phase = Phase.TLS if implicit else Phase.GREETING
        start = time.perf_counter()
        try:
            response = await self.smtp.connect()
        except smtp_errors.SMTPConnectResponseError as exc:
            if implicit:
                self._record_tls(Phase.TLS)
            reply = _reply((exc.code, exc.message))
            self.record(Step(Phase.GREETING, reply=reply, elapsed_ms=_ms(start)))
            return reply
        except (smtp_errors.SMTPException, OSError, TimeoutError) as exc:
            failure = failure_from_exception(exc)
            phase = self._open_failure_phase(exc, failure, implicit)
            self.record(Step(phase, failure=failure, elapsed_ms=_ms(start)))
            await self._check_security(phase, failure)
            return failure
        if implicit:
            self._record_tls(Phase.TLS)
        self.phase = Phase.GREETING
        reply = _reply(response)
        self.record(Step(Phase.GREETING, reply=reply, elapsed_ms=_ms(start)))
        return reply

    def _open_failure_phase(self, exc: BaseException, failure: Failure, implicit: bool) -> Phase:
        if not implicit:
            return Phase.GREETING
        if failure.kind in (FailureKind.TLS_CERTIFICATE_INVALID, FailureKind.TLS_HANDSHAKE_FAILED):
            return Phase.TLS
        # aiosmtplib words its two timeouts differently: the handshake happens while
        # "connecting", the greeting while "waiting for server ready message".
        message = str(exc)
        if "ready message" in message or isinstance(exc.__cause__, smtp_errors.SMTPException):
            return Phase.GREETING
        if failure.kind is FailureKind.MALFORMED_REPLY:
            return Phase.GREETING
        return Phase.TLS

    def _record_tls(self, phase: Phase, note: str = "") -> None:
        assert self.smtp is not None
        try:
            ssl_object = self.smtp.get_transport_info("ssl_object")
        except smtp_errors.SMTPServerDisconnected:
            # The server closed right after its greeting (e.g. 421): the handshake
            # did complete, but aiosmtplib has already dropped the transport.
            self.record(Step(phase, note=note or "handshake completed; connection closed since"))
            return
        self.transcript.tls = describe_tls(ssl_object, verified=not self.request.insecure)
        info = self.transcript.tls
        self.record(Step(phase, note=note or f"{info.version} {info.cipher}"))

    async def _check_security(self, phase: Phase, failure: Failure) -> None:
        """After a silent or non-TLS port, learn what it really speaks, on a new connection."""
        request = self.request
        if self.address is None:
            return
        wait = min(3.0, request.phase_timeout)
        if failure.kind is FailureKind.TLS_CERTIFICATE_INVALID:
            info = await _peek_certificate(self.address, request.host, wait)
            if info is not None:
                self.transcript.tls = replace(info, verified=False, verify_error=failure.detail)
            return
        silent = failure.kind in (FailureKind.TIMEOUT, FailureKind.CONNECTION_LOST)
        if phase is Phase.GREETING and silent and request.security is not Security.IMPLICIT_TLS:
            start = time.perf_counter()
            info = await _peek_certificate(self.address, request.host, wait)
            self.record(
                Step(
                    Phase.SECURITY_CHECK,
                    command="(new connection: TLS handshake from the first byte)",
                    failure=None if info else Failure(FailureKind.TLS_HANDSHAKE_FAILED, "no TLS"),
                    elapsed_ms=_ms(start),
                    note="port-speaks:implicit-tls" if info else "",
                )
            )
        elif phase is Phase.TLS and failure.kind is not FailureKind.TIMEOUT:
            start = time.perf_counter()
            greeting = await _peek_plaintext_greeting(self.address, wait)
            self.record(
                Step(
                    Phase.SECURITY_CHECK,
                    command="(new connection: plaintext, read the greeting)",
                    reply=greeting,
                    failure=None if greeting else Failure(FailureKind.TIMEOUT, "no greeting"),
                    elapsed_ms=_ms(start),
                    note="port-speaks:plaintext-smtp" if greeting else "",
                )
            )

    # --- the SMTP commands -----------------------------------------------------------------

    async def command(self, phase: Phase, shown: str, *args: bytes) -> plan.Outcome:
        assert self.smtp is not None
        self.phase = phase
        start = time.perf_counter()
        try:
            response = await self.smtp.execute_command(*args)
        except (smtp_errors.SMTPException, OSError, TimeoutError) as exc:
            failure = failure_from_exception(exc)
            self.record(Step(phase, command=shown, failure=failure, elapsed_ms=_ms(start)))
            return failure
        reply = _reply(response)
        self.record(Step(phase, command=shown, reply=reply, elapsed_ms=_ms(start)))
        return reply

    async def ehlo(self, name: str) -> plan.Outcome:
        assert self.smtp is not None
        name = self.request.ehlo_name or self.smtp.local_hostname or name
        outcome = await self.command(Phase.EHLO, f"EHLO {name}", b"EHLO", name.encode("ascii"))
        if isinstance(outcome, Reply) and outcome.code == 250:
            capabilities = parse_ehlo(outcome).keywords
            if self.transcript.tls is None and self.request.security is Security.STARTTLS:
                self.transcript.capabilities_before_tls = capabilities
            self.transcript.capabilities = capabilities
        return outcome

    async def starttls(self) -> plan.Outcome:
        assert self.smtp is not None and self.smtp.protocol is not None
        self.phase = Phase.STARTTLS
        start = time.perf_counter()
        try:
            # protocol.start_tls sends STARTTLS, reads the reply and upgrades; calling it
            # directly keeps aiosmtplib from sending an EHLO of its own first.
            response = await self.smtp.protocol.start_tls(
                self.context, server_hostname=self.request.host, timeout=self.request.phase_timeout
            )
        except smtp_errors.SMTPResponseException as exc:
            if exc.code < 0:
                failure = failure_from_exception(exc)
                self.record(
                    Step(Phase.STARTTLS, "STARTTLS", failure=failure, elapsed_ms=_ms(start))
                )
                return failure
            reply = _reply((exc.code, exc.message))
            self.record(Step(Phase.STARTTLS, "STARTTLS", reply=reply, elapsed_ms=_ms(start)))
            return reply
        except (smtp_errors.SMTPException, OSError, TimeoutError) as exc:
            failure = failure_from_exception(exc)
            handshake = failure.kind in (
                FailureKind.TLS_CERTIFICATE_INVALID,
                FailureKind.TLS_HANDSHAKE_FAILED,
            ) or "upgrading" in str(exc)
            if handshake:
                self.record(
                    Step(Phase.STARTTLS, "STARTTLS", reply=Reply(220, ("(ready to start TLS)",)))
                )
            phase = Phase.TLS if handshake else Phase.STARTTLS
            self.record(Step(phase, failure=failure, elapsed_ms=_ms(start)))
            if failure.kind is FailureKind.TLS_CERTIFICATE_INVALID and self.address:
                info = await _peek_certificate(
                    self.address,
                    self.request.host,
                    min(3.0, self.request.phase_timeout),
                    starttls=True,
                )
                if info is not None:
                    self.transcript.tls = replace(info, verified=False, verify_error=failure.detail)
            self.smtp.close()
            return failure
        self.smtp.transport = self.smtp.protocol.transport
        reply = _reply(response)
        self.record(Step(Phase.STARTTLS, "STARTTLS", reply=reply, elapsed_ms=_ms(start)))
        self._record_tls(Phase.TLS)
        return reply

    async def authenticate(self, mechanism: str) -> plan.Outcome:
        credentials = self.request.credentials
        assert credentials is not None
        self.transcript.auth_mechanism = mechanism
        exchange = sasl_exchange(mechanism, credentials)
        line = next(exchange)
        while True:
            outcome = await self.command(Phase.AUTH, line.shown, line.wire.encode("utf-8"))
            if not (isinstance(outcome, Reply) and outcome.code == 334):
                return outcome
            try:
                line = exchange.send(outcome)
            except StopIteration:
                return outcome

    async def data(self, message: bytes) -> plan.Outcome:
        assert self.smtp is not None
        outcome = await self.command(Phase.DATA, "DATA", b"DATA")
        if not (isinstance(outcome, Reply) and outcome.code == 354):
            return outcome
        start = time.perf_counter()
        protocol = self.smtp.protocol
        try:
            if protocol is None:
                raise smtp_errors.SMTPServerDisconnected("Server not connected")
            # DATA was sent as its own command so its 354 is recorded; aiosmtplib's
            # execute_data_command would send DATA again, so write the body here.
            # aiosmtplib 5 discards replies that arrive while none is expected.
            if hasattr(protocol, "_response_pending"):
                protocol._response_pending = True
            protocol.write(_dot_stuffed(message))
            response = await protocol.read_response(timeout=self.request.phase_timeout)
        except (smtp_errors.SMTPException, OSError, TimeoutError) as exc:
            failure = failure_from_exception(exc)
            self.record(Step(Phase.DATA, "(message)", failure=failure, elapsed_ms=_ms(start)))
            return failure
        reply = _reply(response)
        note = f"{len(message)} bytes"
        self.record(Step(Phase.DATA, "(message)", reply=reply, elapsed_ms=_ms(start), note=note))
        return reply

    async def execute(self, action: plan.Action) -> plan.Outcome | None:
        match action:
            case plan.Open():
                return await self.open()
            case plan.Ehlo(name=name):
                return await self.ehlo(name)
            case plan.StartTLS():
                return await self.starttls()
            case plan.Authenticate(mechanism=mechanism):
                return await self.authenticate(mechanism)
            case plan.Mail(sender=sender):
                arg = f"FROM:<{sender}>"
                return await self.command(Phase.MAIL, f"MAIL {arg}", b"MAIL", arg.encode())
            case plan.Rcpt(recipient=recipient):
                arg = f"TO:<{recipient}>"
                return await self.command(Phase.RCPT, f"RCPT {arg}", b"RCPT", arg.encode())
            case plan.Data(message=message):
                return await self.data(message)
            case plan.Rset():
                return await self.command(Phase.RSET, "RSET", b"RSET")
            case plan.Quit():
                await self.command(Phase.QUIT, "QUIT", b"QUIT")
                return None
            case plan.Stop(phase=phase, failure=failure):
                self.record(Step(phase, failure=failure))
                return None
        raise AssertionError(f"unknown action {action!r}")

    def close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()


async def _peek_certificate(
    address: tuple[object, ...], host: str, wait: float, *, starttls: bool = False
) -> TLSInfo | None:
    """Complete a TLS handshake without verification and describe what was offered."""
    writer = None
    try:
        async with asyncio.timeout(wait):
            if starttls:
                reader, writer = await asyncio.open_connection(str(address[0]), int(address[1]))
                await _read_reply(reader)
                writer.write(b"EHLO smtpprobe.invalid\r\n")
                await _read_reply(reader)
                writer.write(b"STARTTLS\r\n")
                await _read_reply(reader)
                await writer.start_tls(unverified_context(), server_hostname=host)
            else:
                reader, writer = await asyncio.open_connection(
                    str(address[0]),
                    int(address[1]),
                    ssl=unverified_context(),
                    server_hostname=host,
                )
            return describe_tls(writer.get_extra_info("ssl_object"), verified=False)
    except (OSError, TimeoutError, ssl.SSLError, EOFError, ValueError):
        return None
    finally:
        if writer is not None:
            writer.transport.abort()


async def _read_reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await reader.readline()
        if not line or line[3:4] != b"-":
            return line


async def _peek_plaintext_greeting(address: tuple[object, ...], wait: float) -> Reply | None:
    """Connect in plaintext and read the first line: does this port greet in the clear?"""
    writer = None
    try:
        async with asyncio.timeout(wait):
            reader, writer = await asyncio.open_connection(str(address[0]), int(address[1]))
            line = await reader.readline()
    except (OSError, TimeoutError):
        return None
    finally:
        if writer is not None:
            writer.transport.abort()
    text = decode_reply_text(line).strip()
    if not text.startswith("220"):
        return None
    from smtpprobe.core.reply import parse_reply

    return parse_reply(text)


def _check_bind(source: str | None, proxy_host: str) -> None:
    """Fail early and clearly on a --source-address this machine does not have."""
    if source is None:
        return
    family = socket.AF_INET6 if ":" in source else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((source, 0))
    except OSError as exc:
        raise ConfigError(
            f"--source-address {source}: cannot bind it ({exc.strerror}); use an address of "
            f"this machine from which the proxy {proxy_host} can be reached"
        ) from None


def _address_literal(sock: socket.socket) -> str:
    """An RFC 5321 section 4.1.3 address literal for EHLO when no name is given."""
    local = sock.getsockname()[0]
    if ipaddress.ip_address(local).version == 6:
        return f"[IPv6:{local}]"
    return f"[{local}]"


def _gai_detail(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    return f"not a valid host name ({exc})"


async def run_probe(request: ProbeRequest) -> Transcript:
    """Run one probe and return its transcript. Never raises for anything the server does.

    Raises ``ConfigError`` for problems on this side (a source address that
    cannot be bound). The overall ``request.timeout`` bounds the whole probe.
    """
    transcript = Transcript(
        target=Target(host=request.host, port=request.port, security=request.security),
        profile=request.profile,
        username=request.credentials.username if request.credentials else None,
        sender=request.sender,
        recipient=request.recipient,
        no_auth=request.credentials is None,
        send=request.message is not None,
    )
    session = _Session(request, transcript)
    steps = plan.dialogue(
        plan.PlanOptions(
            security=request.security,
            sender=request.sender,
            recipient=request.recipient,
            credentials=request.credentials,
            preferred_mechanisms=request.preferred_mechanisms,
            message=request.message,
        )
    )
    try:
        async with asyncio.timeout(request.timeout):
            action = next(steps)
            while True:
                outcome = await session.execute(action)
                action = steps.send(outcome)
    except StopIteration:
        pass
    except TimeoutError:
        detail = f"the whole probe took longer than --timeout {request.timeout:g} s"
        transcript.add(Step(session.phase, failure=Failure(FailureKind.TIMEOUT, detail)))
    finally:
        session.close()
    return transcript
