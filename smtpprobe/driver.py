"""The network side: runs the plan (``smtpprobe.core.plan``) against a real server.

It opens the TCP connection itself (so every address tried is recorded and
``--source-address`` is a plain bind) or through a proxy (python-socks,
``--proxy``), then speaks SMTP over ``smtpprobe.connection`` one command at a
time so every reply is recorded. Every exception from the network becomes a
``Failure`` through one table, ``failure_from_exception``; nothing here
decides what a reply means.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
from python_socks.async_.asyncio import Proxy

from smtpprobe.connection import (
    ConnectionClosed,
    ReplyTimeout,
    SMTPConnection,
    open_connection,
)
from smtpprobe.core import plan
from smtpprobe.core.auth import sasl_exchange
from smtpprobe.core.capabilities import parse_ehlo
from smtpprobe.core.reply import Reply, decode_reply_text, from_code_and_message, parse_reply
from smtpprobe.core.spec import Family, ProbeSpec, ProxySpec
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
from smtpprobe.core.wire import MalformedReply, WireReply
from smtpprobe.errors import ConfigError
from smtpprobe.tls import client_context, describe_tls, unverified_context, verify_error

__all__ = ["FAILURE_TABLE", "NETWORK_ERRORS", "failure_from_exception", "run_probe"]

_PROXY_TYPES = {
    "socks5": ProxyType.SOCKS5,
    "socks5h": ProxyType.SOCKS5,
    "socks4": ProxyType.SOCKS4,
    "socks4a": ProxyType.SOCKS4,
    "http": ProxyType.HTTP,
}
_FAMILIES = {
    Family.ANY: socket.AF_UNSPEC,
    Family.IPV4: socket.AF_INET,
    Family.IPV6: socket.AF_INET6,
}


def _clean(text: str) -> str:
    return " ".join(text.split())[:300]


def _reason(exc: BaseException) -> str:
    return _clean(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)


def _proxy_failure(exc: BaseException) -> FailureKind:
    # SOCKS5 (RFC 1928/1929) and HTTP 407 say "authentication"; anything else the
    # proxy answered is about reaching the target through it.
    assert isinstance(exc, ProxyError)
    if exc.error_code == 407 or "authentication" in str(exc).lower():
        return FailureKind.PROXY_AUTH_FAILED
    return FailureKind.PROXY_TARGET_UNREACHABLE


def _os_failure(exc: BaseException) -> FailureKind:
    assert isinstance(exc, OSError)
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return FailureKind.NETWORK_UNREACHABLE
    return FailureKind.CONNECTION_LOST


# The one table: exception class → failure kind (or a function of the exception),
# most specific first. python-socks' exceptions are also OSError/TimeoutError, but
# they are about the route (the proxy), not the server, so they come first.
FAILURE_TABLE: tuple[
    tuple[type[BaseException], FailureKind | Callable[[BaseException], FailureKind]], ...
] = (
    (ProxyTimeoutError, FailureKind.PROXY_TIMEOUT),
    (ProxyConnectionError, FailureKind.PROXY_REFUSED),
    (ProxyError, _proxy_failure),
    (ssl.SSLCertVerificationError, FailureKind.TLS_CERTIFICATE_INVALID),
    # An EOF or close_notify during the handshake: the server hung up.
    (ssl.SSLEOFError, FailureKind.CONNECTION_LOST),
    (ssl.SSLZeroReturnError, FailureKind.CONNECTION_LOST),
    (ssl.SSLError, FailureKind.TLS_HANDSHAKE_FAILED),
    (MalformedReply, FailureKind.MALFORMED_REPLY),
    (ConnectionRefusedError, FailureKind.CONNECT_REFUSED),
    (ReplyTimeout, FailureKind.TIMEOUT),
    (TimeoutError, FailureKind.TIMEOUT),
    (ConnectionClosed, FailureKind.CONNECTION_LOST),
    (ConnectionError, FailureKind.CONNECTION_LOST),
    (EOFError, FailureKind.CONNECTION_LOST),
    (OSError, _os_failure),
)
# What may escape a network call; anything else is a bug and is not swallowed.
NETWORK_ERRORS: tuple[type[BaseException], ...] = tuple(cls for cls, _ in FAILURE_TABLE)


def failure_from_exception(exc: BaseException) -> Failure:
    """Map a network, TLS, proxy or protocol exception to a Failure, by ``FAILURE_TABLE``."""
    for cls, kind in FAILURE_TABLE:
        if isinstance(exc, cls):
            resolved = kind if isinstance(kind, FailureKind) else kind(exc)
            if isinstance(exc, ssl.SSLCertVerificationError):
                return Failure(resolved, verify_error(exc))
            if isinstance(exc, ProxyConnectionError) and exc.args:
                return Failure(resolved, _clean(str(exc.args[-1])))
            if isinstance(exc, ssl.SSLError):
                # OpenSSL's short reason ("WRONG_VERSION_NUMBER") where it gave one.
                reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
                return Failure(resolved, _clean(str(reason)))
            if isinstance(exc, TimeoutError) and not str(exc):
                return Failure(resolved, "no answer within the time limit")
            return Failure(resolved, _reason(exc))
    raise exc


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _reply(wire: WireReply) -> Reply:
    # RFC 5321 replies are ASCII and RFC 6531 allows UTF-8; Japanese servers still
    # answer in ISO-2022-JP, Shift_JIS or EUC-JP.
    # The whole reply is decoded at once: more text makes a surer guess of the encoding.
    return from_code_and_message(wire.code, decode_reply_text(b"\n".join(wire.lines)))


def _dot_stuffed(message: bytes) -> bytes:
    """CRLF line endings, leading dots doubled, and the final ".": RFC 5321 section 4.5.2."""
    lines = message.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    return body + b".\r\n"


def _literal_address(host: str, port: int) -> tuple[object, ...] | None:
    """A getaddrinfo-shaped entry for an IP address, or None for a name."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    if address.version == 4:
        return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))
    if "%" in host:
        return None  # a scoped address: let getaddrinfo resolve the interface name
    return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port, 0, 0))


def _address_literal(local: str | None) -> str:
    """An RFC 5321 section 4.1.3 address literal for EHLO when no name is given."""
    if local is None:
        return "[127.0.0.1]"
    address = ipaddress.ip_address(local.split("%")[0])
    return f"[IPv6:{address}]" if address.version == 6 else f"[{address}]"


class _Session:
    """One probe's mutable state while the plan runs."""

    def __init__(self, spec: ProbeSpec, transcript: Transcript, secrets: list[str]) -> None:
        self.spec = spec
        self.transcript = transcript
        self.secrets = secrets
        self.conn: SMTPConnection | None = None
        self.address: tuple[object, ...] | None = None  # for a direct second connection
        self.reopen: Callable[[], Awaitable[socket.socket]] | None = None
        self.phase = Phase.RESOLVE
        self.context = client_context(ca_file=spec.ca_file)

    def record(self, step: Step) -> Step:
        return self.transcript.add(step)

    # --- open: resolve, connect, implicit TLS, greeting ----------------------------------

    async def open(self) -> plan.Outcome:
        if self.spec.proxy is not None:
            sock = await self._open_via_proxy(self.spec.proxy)
        else:
            infos = await self._resolve()
            if isinstance(infos, Failure):
                return infos
            sock = await self._connect_direct(infos)
        if isinstance(sock, Failure):
            return sock
        return await self._greeting(sock)

    async def _resolve(self) -> list[tuple[object, ...]] | Failure:
        spec = self.spec
        loop = asyncio.get_running_loop()
        self.phase = Phase.RESOLVE
        start = time.perf_counter()
        literal = _literal_address(spec.host, spec.port)
        if literal is not None:
            # An IP address needs no lookup: no resolver thread that could time out
            # under load and turn a literal into a "dns-failure".
            self.record(Step(Phase.RESOLVE, elapsed_ms=_ms(start), note=spec.host))
            self.transcript.target = replace(self.transcript.target, addresses=(spec.host,))
            return [literal]
        try:
            async with asyncio.timeout(spec.phase_timeout):
                infos = await loop.getaddrinfo(
                    spec.host, spec.port, family=_FAMILIES[spec.family], type=socket.SOCK_STREAM
                )
        except (socket.gaierror, UnicodeError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                detail = "the resolver did not answer in time"
            elif isinstance(exc, socket.gaierror):
                detail = exc.strerror or str(exc)
            else:
                detail = f"not a valid host name ({exc})"
            failure = Failure(FailureKind.DNS_FAILURE, detail)
            self.record(Step(Phase.RESOLVE, failure=failure, elapsed_ms=_ms(start)))
            return failure
        addresses = list(dict.fromkeys(info[4] for info in infos))
        shown = tuple(str(a[0]) for a in addresses)
        self.transcript.target = replace(self.transcript.target, addresses=shown)
        self.record(Step(Phase.RESOLVE, elapsed_ms=_ms(start), note=" ".join(shown)))
        return list(infos)

    async def _connect_direct(self, infos: list[tuple[object, ...]]) -> socket.socket | Failure:
        last: Failure | None = None
        self.phase = Phase.CONNECT
        tried: set[object] = set()
        for info in infos:
            family, address = info[0], info[4]
            if address in tried:
                continue
            tried.add(address)
            assert isinstance(family, int) and isinstance(address, tuple)
            start = time.perf_counter()
            try:
                sock = await self._connect(family, address)
            except NETWORK_ERRORS as exc:
                last = failure_from_exception(exc)
                if last.kind is FailureKind.TIMEOUT:
                    last = Failure(FailureKind.CONNECT_TIMEOUT, f"no answer from {address[0]}")
                note = str(address[0])
                self.record(Step(Phase.CONNECT, failure=last, elapsed_ms=_ms(start), note=note))
                continue
            local = sock.getsockname()
            self.address = address
            self.reopen = lambda family=family, address=address: self._connect(family, address)
            self.transcript.target = replace(
                self.transcript.target, address_used=str(address[0]), source_address=str(local[0])
            )
            note = f"{address[0]} port {address[1]} from {local[0]}"
            self.record(Step(Phase.CONNECT, elapsed_ms=_ms(start), note=note))
            return sock
        return last or Failure(FailureKind.DNS_FAILURE, "no address to connect to")

    async def _connect(self, family: int, address: tuple[object, ...]) -> socket.socket:
        spec = self.spec
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if spec.source_address is not None:
                try:
                    sock.bind((spec.source_address, 0))
                except OSError as exc:
                    raise ConfigError(
                        f"--source-address {spec.source_address}: cannot bind it "
                        f"({exc.strerror}); use an address of this machine of the same family "
                        f"as {address[0]}"
                    ) from None
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(spec.phase_timeout):
                await loop.sock_connect(sock, address)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _open_via_proxy(self, proxy: ProxySpec) -> socket.socket | Failure:
        """Connect through the proxy; the server's name is resolved here or by the proxy."""
        spec = self.spec
        destinations: list[str]
        if proxy.remote_dns:
            self.record(Step(Phase.RESOLVE, note=f"(left to the proxy: {proxy.scheme})"))
            destinations = [spec.host]
        else:
            infos = await self._resolve()
            if isinstance(infos, Failure):
                return infos
            destinations = list(dict.fromkeys(str(info[4][0]) for info in infos))  # type: ignore[index]
        self.phase = Phase.CONNECT
        last: Failure | None = None
        _check_bind(spec.source_address, proxy.host)
        self.transcript.target = replace(self.transcript.target, proxy=proxy.display)
        for destination in destinations:
            start = time.perf_counter()
            try:
                sock = await self._through_proxy(proxy, destination)
            except NETWORK_ERRORS as exc:
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
                proxy_address=proxy_address,
            )
            self.record(
                Step(
                    Phase.CONNECT,
                    elapsed_ms=_ms(start),
                    note=f"{destination} port {spec.port} via {proxy.display} "
                    f"({proxy_address}) from {local_address}",
                )
            )
            # No direct second connection for the security check (self.address stays
            # None): it would leave the route being probed. A reconnect keeps the route.
            self.reopen = lambda destination=destination: self._through_proxy(proxy, destination)
            return sock
        return last or Failure(FailureKind.DNS_FAILURE, "no address to connect to")

    async def _through_proxy(self, proxy: ProxySpec, destination: str) -> socket.socket:
        spec = self.spec
        connector = Proxy(
            _PROXY_TYPES[proxy.scheme],
            proxy.host,
            proxy.port,
            username=proxy.username,
            password=proxy.password,
            rdns=proxy.remote_dns,
        )
        local = (spec.source_address, 0) if spec.source_address else None
        sock: socket.socket = await connector.connect(
            destination, spec.port, timeout=spec.phase_timeout, local_addr=local
        )
        return sock

    async def _greeting(self, sock: socket.socket, *, verify: bool = True) -> plan.Outcome:
        """Wrap the socket (TLS first for implicit TLS) and read the server's greeting."""
        spec = self.spec
        implicit = spec.security is Security.IMPLICIT_TLS
        start = time.perf_counter()
        if implicit:
            self.phase = Phase.TLS
            context = self.context if verify else unverified_context()
            try:
                self.conn = await open_connection(
                    sock, context=context, server_hostname=spec.host, timeout=spec.phase_timeout
                )
            except NETWORK_ERRORS as exc:
                failure = failure_from_exception(exc)
                self.record(Step(Phase.TLS, failure=failure, elapsed_ms=_ms(start)))
                if failure.kind is FailureKind.TLS_CERTIFICATE_INVALID and spec.insecure:
                    return await self._continue_unverified(failure)
                await self._check_security(Phase.TLS, failure)
                return failure
            self._record_tls(verified=verify, elapsed_ms=_ms(start))
            start = time.perf_counter()
        else:
            try:
                self.conn = await open_connection(
                    sock, context=None, server_hostname=spec.host, timeout=spec.phase_timeout
                )
            except NETWORK_ERRORS as exc:
                failure = failure_from_exception(exc)
                self.record(Step(Phase.GREETING, failure=failure, elapsed_ms=_ms(start)))
                return failure
        self.phase = Phase.GREETING
        try:
            wire = await self.conn.read_reply(spec.phase_timeout)
        except NETWORK_ERRORS as exc:
            failure = failure_from_exception(exc)
            self.record(Step(Phase.GREETING, failure=failure, elapsed_ms=_ms(start)))
            await self._check_security(Phase.GREETING, failure)
            return failure
        reply = _reply(wire)
        self.record(Step(Phase.GREETING, reply=reply, elapsed_ms=_ms(start)))
        return reply

    async def _continue_unverified(self, failure: Failure) -> plan.Outcome:
        """``--insecure``: record the invalid certificate, then go on without verification.

        The verdict still names the certificate (``classify``); the rest of the
        dialogue runs on a new connection so the later stages are tested too.
        """
        self.close()
        if self.reopen is None:
            return failure
        start = time.perf_counter()
        self.phase = Phase.CONNECT
        try:
            sock = await self.reopen()
        except NETWORK_ERRORS as exc:
            again = failure_from_exception(exc)
            self.record(Step(Phase.CONNECT, failure=again, elapsed_ms=_ms(start)))
            return again
        peer, local = sock.getpeername(), sock.getsockname()
        note = (
            f"{peer[0]} port {peer[1]} from {local[0]} again, certificate checking off (--insecure)"
        )
        self.record(Step(Phase.CONNECT, elapsed_ms=_ms(start), note=note))
        self.transcript.tls = TLSInfo(verified=False, verify_error=failure.detail)
        if self.spec.security is Security.IMPLICIT_TLS:
            return await self._greeting(sock, verify=False)
        greeting = await self._greeting(sock)
        if not (isinstance(greeting, Reply) and greeting.code == 220):
            return greeting
        ehlo = await self.ehlo(self.spec.ehlo_name)
        if not (isinstance(ehlo, Reply) and ehlo.code == 250):
            return ehlo
        return await self.starttls(verify=False)

    def _record_tls(self, *, verified: bool, elapsed_ms: float | None) -> None:
        assert self.conn is not None
        previous = self.transcript.tls
        error = previous.verify_error if previous is not None and not verified else None
        info = describe_tls(self.conn.ssl_object, verified=verified, error=error)
        self.transcript.tls = info
        self.record(Step(Phase.TLS, elapsed_ms=elapsed_ms, note=f"{info.version} {info.cipher}"))

    async def _check_security(self, phase: Phase, failure: Failure) -> None:
        """After a silent or non-TLS port, learn what it really speaks, on a new connection."""
        spec = self.spec
        if self.address is None:
            return
        wait = min(3.0, spec.phase_timeout)
        if failure.kind is FailureKind.TLS_CERTIFICATE_INVALID:
            starttls = phase is not Phase.TLS or spec.security is Security.STARTTLS
            info = await _peek_certificate(self.address, spec.host, wait, starttls=starttls)
            if info is not None:
                self.transcript.tls = replace(info, verified=False, verify_error=failure.detail)
            return
        silent = failure.kind in (FailureKind.TIMEOUT, FailureKind.CONNECTION_LOST)
        if phase is Phase.GREETING and silent and spec.security is not Security.IMPLICIT_TLS:
            start = time.perf_counter()
            info = await _peek_certificate(self.address, spec.host, wait)
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

    async def exchange(self, phase: Phase, shown: str, line: bytes) -> plan.Outcome:
        """Send one command line and read its reply; record both (``shown``, never ``line``)."""
        assert self.conn is not None
        self.phase = phase
        start = time.perf_counter()
        try:
            self.conn.send(line)
            wire = await self.conn.read_reply(self.spec.phase_timeout)
        except NETWORK_ERRORS as exc:
            failure = failure_from_exception(exc)
            self.record(Step(phase, command=shown, failure=failure, elapsed_ms=_ms(start)))
            return failure
        reply = _reply(wire)
        self.record(Step(phase, command=shown, reply=reply, elapsed_ms=_ms(start)))
        return reply

    async def ehlo(self, name: str | None) -> plan.Outcome:
        assert self.conn is not None
        name = name or _address_literal(self.conn.local_address)
        outcome = await self.exchange(Phase.EHLO, f"EHLO {name}", f"EHLO {name}".encode("ascii"))
        if isinstance(outcome, Reply) and outcome.code == 250:
            capabilities = parse_ehlo(outcome).keywords
            if not self.conn.encrypted and self.spec.security is Security.STARTTLS:
                self.transcript.capabilities_before_tls = capabilities
            self.transcript.capabilities = capabilities
        return outcome

    async def starttls(self, *, verify: bool = True) -> plan.Outcome:
        outcome = await self.exchange(Phase.STARTTLS, "STARTTLS", b"STARTTLS")
        if not (isinstance(outcome, Reply) and outcome.code == 220):
            return outcome
        assert self.conn is not None
        self.phase = Phase.TLS
        start = time.perf_counter()
        context = self.context if verify else unverified_context()
        try:
            await self.conn.start_tls(context, self.spec.host, self.spec.phase_timeout)
        except NETWORK_ERRORS as exc:
            failure = failure_from_exception(exc)
            self.record(Step(Phase.TLS, failure=failure, elapsed_ms=_ms(start)))
            self.close()
            if failure.kind is FailureKind.TLS_CERTIFICATE_INVALID:
                if self.spec.insecure and verify:
                    return await self._continue_unverified(failure)
                await self._check_security(Phase.STARTTLS, failure)
            return failure
        self._record_tls(verified=verify, elapsed_ms=_ms(start))
        return outcome

    async def authenticate(self, mechanism: str) -> plan.Outcome:
        spec = self.spec
        assert spec.credentials is not None and self.conn is not None
        # Defence in depth: the spec already refuses this, but never put a password
        # on an unencrypted wire unless the user said so (RFC 4954 section 4).
        if not self.conn.encrypted and not spec.allow_plaintext_auth:
            raise ConfigError(
                "refusing to send the password over an unencrypted connection: use --security "
                "starttls or implicit-tls, or pass --allow-plaintext-auth"
            )
        self.transcript.auth_mechanism = mechanism
        exchange = sasl_exchange(mechanism, spec.credentials)
        line = next(exchange)
        while True:
            self.secrets.extend(getattr(line, "secrets", ()))
            outcome = await self.exchange(Phase.AUTH, line.shown, line.wire.encode("utf-8"))
            if not (isinstance(outcome, Reply) and outcome.code == 334):
                return outcome
            try:
                line = exchange.send(outcome)
            except StopIteration:
                return outcome  # a 334 that ends the exchange: classify calls it unexpected
            except ValueError as exc:  # a challenge that cannot be answered (not base64)
                failure = Failure(FailureKind.MALFORMED_REPLY, _clean(str(exc)))
                self.record(Step(Phase.AUTH, failure=failure))
                return failure

    async def data(self, message: bytes) -> plan.Outcome:
        outcome = await self.exchange(Phase.DATA, "DATA", b"DATA")
        if not (isinstance(outcome, Reply) and outcome.code == 354):
            return outcome
        assert self.conn is not None
        start = time.perf_counter()
        try:
            self.conn.write(_dot_stuffed(message))
            wire = await self.conn.read_reply(self.spec.phase_timeout)
        except NETWORK_ERRORS as exc:
            failure = failure_from_exception(exc)
            self.record(Step(Phase.DATA, "(message)", failure=failure, elapsed_ms=_ms(start)))
            return failure
        reply = _reply(wire)
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
                line = f"MAIL FROM:<{sender}>"
                return await self.exchange(Phase.MAIL, line, line.encode("ascii"))
            case plan.Rcpt(recipient=recipient):
                line = f"RCPT TO:<{recipient}>"
                return await self.exchange(Phase.RCPT, line, line.encode("ascii"))
            case plan.Data(message=message):
                return await self.data(message)
            case plan.Rset():
                return await self.exchange(Phase.RSET, "RSET", b"RSET")
            case plan.Quit():
                await self.exchange(Phase.QUIT, "QUIT", b"QUIT")
                return None
            case plan.Stop(phase=phase, failure=failure):
                self.record(Step(phase, failure=failure))
                return None
        raise AssertionError(f"unknown action {action!r}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


async def _peek_certificate(
    address: tuple[object, ...], host: str, wait: float, *, starttls: bool = False
) -> TLSInfo | None:
    """Complete a TLS handshake without verification and describe what was offered."""
    writer = None
    try:
        async with asyncio.timeout(wait):
            if starttls:
                reader, writer = await asyncio.open_connection(str(address[0]), int(address[1]))  # type: ignore[call-overload]
                await _read_reply(reader)
                writer.write(b"EHLO smtpprobe.invalid\r\n")
                await _read_reply(reader)
                writer.write(b"STARTTLS\r\n")
                await _read_reply(reader)
                await writer.start_tls(unverified_context(), server_hostname=host)
            else:
                reader, writer = await asyncio.open_connection(
                    str(address[0]),
                    int(address[1]),  # type: ignore[call-overload]
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
    for _ in range(100):  # a bounded number of continuation lines
        line = await reader.readline()
        if not line or line[3:4] != b"-":
            return line
    return b""


async def _peek_plaintext_greeting(address: tuple[object, ...], wait: float) -> Reply | None:
    """Connect in plaintext and read the first line: does this port greet in the clear?"""
    writer = None
    try:
        async with asyncio.timeout(wait):
            reader, writer = await asyncio.open_connection(str(address[0]), int(address[1]))  # type: ignore[call-overload]
            line = await reader.readline()
    except (OSError, TimeoutError, ValueError):
        return None
    finally:
        if writer is not None:
            writer.transport.abort()
    text = decode_reply_text(line).strip()
    if not text.startswith("220"):
        return None
    try:
        return parse_reply(text)
    except ValueError:
        return None


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


async def run_probe(spec: ProbeSpec, secrets: list[str] | None = None) -> Transcript:
    """Run one probe and return its transcript. Never raises for anything the server does.

    Raises ``ConfigError`` for problems on this side (a source address that
    cannot be bound). The overall ``spec.timeout`` bounds the whole probe.
    ``secrets`` receives the derived secrets sent on the wire (the AUTH
    payloads), for the redactor.
    """
    transcript = Transcript(
        target=Target(host=spec.host, port=spec.port, security=spec.security),
        profile=spec.profile,
        username=spec.credentials.username if spec.credentials else None,
        sender=spec.sender,
        recipient=spec.recipient,
        no_auth=spec.credentials is None,
        send=spec.send,
    )
    session = _Session(spec, transcript, secrets if secrets is not None else [])
    message = None
    if spec.send:
        now = dt.datetime.now(dt.UTC)
        message = plan.probe_message(
            spec.sender,
            spec.recipient,
            date=now.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            message_id=f"smtpprobe.{now.strftime('%Y%m%dT%H%M%S.%f')}",
        )
    steps = plan.dialogue(spec, message)
    try:
        async with asyncio.timeout(spec.timeout):
            action = next(steps)
            while True:
                outcome = await session.execute(action)
                action = steps.send(outcome)
    except StopIteration:
        pass
    except TimeoutError:
        detail = f"the whole probe took longer than --timeout {spec.timeout:g} s"
        transcript.add(Step(session.phase, failure=Failure(FailureKind.TIMEOUT, detail)))
    finally:
        session.close()
    return transcript
