"""A second, short look at a port, to explain why the first connection failed.

A plaintext probe that meets silence may have reached a port that expects TLS
from the first byte; an implicit-TLS handshake that fails may have met a
plaintext SMTP port; an invalid certificate is worth describing (its names,
issuer, expiry). The plan asks for these (``plan.CheckPort``); each opens a new
connection over the same transport, never sends credentials, and is recorded
as a ``security-check`` step whose note (``port-speaks:…``) the rules read.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from smtpprobe.core.capabilities import parse_ehlo
from smtpprobe.core.plan import PortCheck
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import Failure, FailureKind, Phase, Step, TLSInfo
from smtpprobe.failures import network_errors
from smtpprobe.session import reply_of
from smtpprobe.tls import unverified_context
from smtpprobe.transport import Address, Connection, Transport

__all__ = ["look_again"]

_COMMANDS = {
    PortCheck.IMPLICIT_TLS: "(new connection: TLS handshake from the first byte)",
    PortCheck.PLAINTEXT: "(new connection: plaintext, read the greeting and EHLO)",
    PortCheck.CERTIFICATE: "(new connection: read the certificate, without verification)",
    PortCheck.CERTIFICATE_STARTTLS: "(new connection: STARTTLS, read the certificate)",
}


async def look_again(
    transport: Transport, spec: ProbeSpec, address: Address, check: PortCheck, wait: float
) -> tuple[Step, TLSInfo | None]:
    """Run one check within ``wait`` seconds; returns its step and any certificate seen."""
    command = _COMMANDS[check]
    conn: Connection | None = None
    end = time.monotonic() + wait

    def left() -> float:
        """What is left of ``wait``: every step waits at most that (no event loop needed)."""
        seconds = end - time.monotonic()
        if seconds <= 0:
            raise TimeoutError(f"no answer within {wait:g} s")
        return seconds

    try:
        conn = await transport.connect(
            address, source=spec.source_address, proxy=None, timeout=left()
        )
        if check is PortCheck.PLAINTEXT:
            wire = await conn.read_reply(left())
            if wire.code != 220:
                return _no(command, FailureKind.MALFORMED_REPLY, f"a {wire.code} reply"), None
            return Step(Phase.SECURITY_CHECK, command, note=await _plaintext_kind(conn, left)), None
        if check is PortCheck.CERTIFICATE_STARTTLS:
            for line in (None, b"EHLO smtpprobe.invalid", b"STARTTLS"):
                if line is not None:
                    conn.send(line)
                await conn.read_reply(left())
        await conn.start_tls(unverified_context(), spec.host.partition("%")[0], left())
        tls = conn.describe_tls(verified=False)
    except network_errors() as exc:  # includes the TimeoutError of ``wait``
        if check is PortCheck.PLAINTEXT:
            if isinstance(exc, TimeoutError):
                return _no(command, FailureKind.TIMEOUT, "no greeting"), None
            # Closed or reset at once: no silence to call a timeout.
            return _no(
                command,
                FailureKind.CONNECTION_LOST,
                f"closed before a greeting ({type(exc).__name__})",
            ), None
        return _no(
            command, FailureKind.TLS_HANDSHAKE_FAILED, f"no TLS ({type(exc).__name__})"
        ), None
    finally:
        if conn is not None:
            conn.close()
    if check is PortCheck.IMPLICIT_TLS:
        return Step(Phase.SECURITY_CHECK, command, note="port-speaks:implicit-tls"), None
    return Step(Phase.SECURITY_CHECK, command, note=f"certificate: {tls.subject}"), tls


async def _plaintext_kind(conn: Connection, left: Callable[[], float]) -> str:
    """After a plaintext greeting: does the port offer STARTTLS? RFC 3207 section 4 offers
    it only in the EHLO reply, so "expects STARTTLS" is said only where EHLO lists it."""
    try:
        conn.send(b"EHLO smtpprobe.invalid")
        wire = await conn.read_reply(left())
    except network_errors():
        return "port-speaks:plaintext-smtp"  # a greeting, but no EHLO to tell: as before
    if wire.code == 250 and not parse_ehlo(reply_of(wire)).starttls:
        return "port-speaks:plaintext-smtp-without-starttls"
    return "port-speaks:plaintext-smtp"


def _no(command: str, kind: FailureKind, detail: str) -> Step:
    return Step(Phase.SECURITY_CHECK, command, failure=Failure(kind, detail))
