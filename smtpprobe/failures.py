"""Every exception the network can raise, as a failure kind: the one table.

``failure_table()`` maps the classes of ``ssl``, the socket layer (``OSError``
and its subclasses), the transport seam's (``ReplyTimeout``, ``ConnectionClosed``,
``StartTLSInjection``), ``MalformedReply`` and
python-socks, most specific first; ``tests/test_failures.py`` names
every class with the kind it must map to, so a missing row fails a test.
A reply is never an exception: replies are data, read by the driver.

The table is made on first use. Its python-socks rows import python-socks (2 ms, a
fiftieth of a ``check`` process), which a probe without ``--proxy`` never needs unless
something fails; ``except network_errors()`` evaluates its tuple only when an exception
is raised.
"""

from __future__ import annotations

import errno
import os
import ssl
from collections.abc import Callable
from typing import TypeAlias

from smtpprobe.core.auth import ChallengeError
from smtpprobe.core.transcript import Failure, FailureKind
from smtpprobe.core.wire import MalformedReply
from smtpprobe.tls import verify_error
from smtpprobe.transport import ConnectionClosed, ReplyTimeout

__all__ = ["FailureTable", "failure_from_exception", "failure_table", "network_errors"]

FailureTable: TypeAlias = tuple[
    tuple[type[BaseException], FailureKind | Callable[[BaseException], FailureKind]], ...
]


def _clean(text: str) -> str:
    # A cut is marked, so that the redactor can mask a secret the cut left half of.
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:299] + "…"


def _reason(exc: BaseException) -> str:
    # asyncio's create_connection words a refused connect "Connect call failed (ADDRESS)"
    # in strerror; the system's own words for the errno are the same on every path.
    code = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and isinstance(code, int) and code > 0:
        return _clean(os.strerror(code))
    return _clean(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)


def _proxy_failure(exc: BaseException) -> FailureKind:
    # SOCKS5 (RFC 1928/1929) and HTTP 407 say "authentication"; anything else the
    # proxy answered is about reaching the target through it.
    from python_socks import ProxyError

    assert isinstance(exc, ProxyError)
    if exc.error_code == 407 or "authentication" in str(exc).lower():
        return FailureKind.PROXY_AUTH_FAILED
    return FailureKind.PROXY_TARGET_UNREACHABLE


def _os_failure(exc: BaseException) -> FailureKind:
    assert isinstance(exc, OSError)
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return FailureKind.NETWORK_UNREACHABLE
    return FailureKind.CONNECTION_LOST


_table: FailureTable | None = None
_errors: tuple[type[BaseException], ...] = ()


def failure_table() -> FailureTable:
    """The one table: exception class → failure kind (or a function of the exception),
    most specific first."""
    global _table, _errors
    if _table is None:
        from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError

        # python-socks' exceptions are also OSError/TimeoutError, but they are about the
        # route (the proxy), not the server, so they come first.
        table: FailureTable = (
            (ProxyTimeoutError, FailureKind.PROXY_TIMEOUT),
            (ProxyConnectionError, FailureKind.PROXY_REFUSED),
            (ProxyError, _proxy_failure),
            (ssl.SSLCertVerificationError, FailureKind.TLS_CERTIFICATE_INVALID),
            # An EOF or close_notify during the handshake: the server hung up.
            (ssl.SSLEOFError, FailureKind.CONNECTION_LOST),
            (ssl.SSLZeroReturnError, FailureKind.CONNECTION_LOST),
            (ssl.SSLError, FailureKind.TLS_HANDSHAKE_FAILED),
            (MalformedReply, FailureKind.MALFORMED_REPLY),
            # A SASL challenge that cannot be answered.
            (ChallengeError, FailureKind.MALFORMED_REPLY),
            (ConnectionRefusedError, FailureKind.CONNECT_REFUSED),
            (ReplyTimeout, FailureKind.TIMEOUT),
            (TimeoutError, FailureKind.TIMEOUT),
            (ConnectionClosed, FailureKind.CONNECTION_LOST),
            (ConnectionError, FailureKind.CONNECTION_LOST),
            (EOFError, FailureKind.CONNECTION_LOST),
            (OSError, _os_failure),
        )
        # Set together, the tuple last: a thread that sees the table sees its classes.
        _errors = tuple(cls for cls, _ in table)
        _table = table
    return _table


def network_errors() -> tuple[type[BaseException], ...]:
    """What may escape a network call: the table's classes. Anything else is a bug and is
    not swallowed."""
    if _table is None:
        failure_table()
    return _errors


def failure_from_exception(exc: BaseException) -> Failure:
    """Map a network, TLS, proxy or protocol exception to a Failure, by ``failure_table()``."""
    from python_socks import ProxyConnectionError

    for cls, kind in failure_table():
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
