"""Every exception the network layer can raise maps to a Failure through one table.

The expectations below name each class of ``ssl``, the socket layer (``OSError``
and its subclasses), ``smtpprobe.connection`` and python-socks, with the kind it
must map to; removing a row from ``smtpprobe.failures.failure_table()`` makes a case fail, and a
new exception class in those libraries must be given a row here.
"""

from __future__ import annotations

import errno
import inspect
import ssl

import pytest
from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError

from smtpprobe import blocking, connection, transport
from smtpprobe.core.auth import ChallengeError
from smtpprobe.core.transcript import FailureKind
from smtpprobe.core.wire import MalformedReply
from smtpprobe.failures import failure_from_exception, failure_table, network_errors

K = FailureKind
EXPECTED: dict[type[BaseException], tuple[BaseException, FailureKind]] = {
    ssl.SSLCertVerificationError: (
        ssl.SSLCertVerificationError(1, "bad"),
        K.TLS_CERTIFICATE_INVALID,
    ),
    ssl.SSLEOFError: (ssl.SSLEOFError(8, "EOF occurred"), K.CONNECTION_LOST),
    ssl.SSLZeroReturnError: (ssl.SSLZeroReturnError(6, "closed"), K.CONNECTION_LOST),
    ssl.SSLSyscallError: (ssl.SSLSyscallError(5, "syscall"), K.TLS_HANDSHAKE_FAILED),
    ssl.SSLWantReadError: (ssl.SSLWantReadError(2, "want read"), K.TLS_HANDSHAKE_FAILED),
    ssl.SSLWantWriteError: (ssl.SSLWantWriteError(3, "want write"), K.TLS_HANDSHAKE_FAILED),
    ssl.SSLError: (ssl.SSLError(1, "WRONG_VERSION_NUMBER"), K.TLS_HANDSHAKE_FAILED),
    ssl.CertificateError: (ssl.CertificateError(1, "mismatch"), K.TLS_CERTIFICATE_INVALID),
    connection.StartTLSInjection: (
        connection.StartTLSInjection("plaintext after 220"),
        K.TLS_HANDSHAKE_FAILED,
    ),
    transport.EarlyTLSData: (
        transport.EarlyTLSData("TLS data before the handshake"),
        K.TLS_HANDSHAKE_FAILED,
    ),
    connection.ReplyTimeout: (connection.ReplyTimeout("no reply within 2 s"), K.TIMEOUT),
    connection.ConnectionClosed: (connection.ConnectionClosed("closed"), K.CONNECTION_LOST),
    MalformedReply: (MalformedReply("' 250' is not a code"), K.MALFORMED_REPLY),
    ChallengeError: (ChallengeError("the CRAM-MD5 challenge is not base64"), K.MALFORMED_REPLY),
    ConnectionRefusedError: (ConnectionRefusedError(111, "refused"), K.CONNECT_REFUSED),
    ConnectionResetError: (ConnectionResetError(104, "reset"), K.CONNECTION_LOST),
    ConnectionAbortedError: (ConnectionAbortedError(103, "aborted"), K.CONNECTION_LOST),
    BrokenPipeError: (BrokenPipeError(32, "broken pipe"), K.CONNECTION_LOST),
    ConnectionError: (ConnectionError("lost"), K.CONNECTION_LOST),
    TimeoutError: (TimeoutError(), K.TIMEOUT),
    EOFError: (EOFError(), K.CONNECTION_LOST),
    OSError: (OSError(errno.ENETUNREACH, "Network is unreachable"), K.NETWORK_UNREACHABLE),
    ProxyTimeoutError: (ProxyTimeoutError("Proxy connection timed out: 2"), K.PROXY_TIMEOUT),
    ProxyConnectionError: (
        ProxyConnectionError(111, "Could not connect to proxy 127.0.0.1:1"),
        K.PROXY_REFUSED,
    ),
    ProxyError: (ProxyError("Host unreachable", 4), K.PROXY_TARGET_UNREACHABLE),
}


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
def test_each_class_maps_to_its_kind(cls: type[BaseException]) -> None:
    exc, kind = EXPECTED[cls]
    assert type(exc) is cls
    failure = failure_from_exception(exc)
    assert failure.kind is kind
    assert failure.detail


def _exception_classes(module: object) -> set[type[BaseException]]:
    return {
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if issubclass(c, BaseException) and c.__module__.split(".")[0] in ("ssl", "_ssl",
        "python_socks", "smtpprobe")
    }  # fmt: skip


def test_every_library_exception_class_has_an_expectation() -> None:
    import python_socks

    classes = (
        _exception_classes(ssl)
        | _exception_classes(python_socks)
        | _exception_classes(connection)
        | _exception_classes(transport)
        | _exception_classes(blocking)
    )
    # The blocking transport's overall deadline is asyncio's cancellation: no row may catch it.
    # A --source-address this machine lacks is the user's to fix (exit 2), not a failure;
    # Unfinished is a thread's result not yet there, turned into a timeout where it is waited.
    for outside in (blocking.ProbeDeadline, transport.ConfigError, blocking.Unfinished):
        classes.discard(outside)
        assert not any(issubclass(outside, cls) for cls in network_errors())
    missing = sorted(c.__name__ for c in classes if c not in EXPECTED)
    assert not missing, f"give these a row in failure_table() and here: {missing}"


# The rows the table must have: removing one (even one whose parent would give the same
# kind, like ConnectionClosed) fails here, and a new row must be named.
ROWS = {
    ProxyTimeoutError, ProxyConnectionError, ProxyError, ssl.SSLCertVerificationError,
    ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLError, MalformedReply, ChallengeError,
    ConnectionRefusedError, connection.ReplyTimeout, TimeoutError, connection.ConnectionClosed,
    ConnectionError, EOFError, OSError,
}  # fmt: skip


def test_every_table_row_is_needed() -> None:
    assert {cls for cls, _ in failure_table()} == ROWS
    # Each row's class is reached by at least one expectation whose first match it is.
    first_rows = set()
    for exc, _ in EXPECTED.values():
        first_rows.add(next(cls for cls, _ in failure_table() if isinstance(exc, cls)))
    assert first_rows == ROWS
    assert set(network_errors()) == ROWS


def test_specific_mappings() -> None:
    assert failure_from_exception(OSError(errno.EHOSTUNREACH, "no route")).kind is (
        K.NETWORK_UNREACHABLE
    )
    assert failure_from_exception(OSError(errno.EPIPE, "pipe")).kind is K.CONNECTION_LOST
    assert failure_from_exception(TimeoutError()).detail == "no answer within the time limit"


def test_programmer_errors_are_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError):
        failure_from_exception(ZeroDivisionError("bug"))


# python-socks (--proxy): every public exception has a row, and each says which part failed.
@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (
            ProxyConnectionError(111, "Could not connect to proxy 127.0.0.1:1 [Connect refused]"),
            FailureKind.PROXY_REFUSED,
        ),
        (ProxyTimeoutError("Proxy connection timed out: 2"), FailureKind.PROXY_TIMEOUT),
        (
            ProxyError("Username and password authentication failure"),
            FailureKind.PROXY_AUTH_FAILED,
        ),
        (
            ProxyError("No acceptable authentication methods were offered"),
            FailureKind.PROXY_AUTH_FAILED,
        ),
        (ProxyError("407 Proxy Authentication Required", 407), FailureKind.PROXY_AUTH_FAILED),
        (
            ProxyError("Connection refused by destination host", 5),
            FailureKind.PROXY_TARGET_UNREACHABLE,
        ),
        (ProxyError("Host unreachable", 4), FailureKind.PROXY_TARGET_UNREACHABLE),
        (ProxyError("Request rejected or failed", 91), FailureKind.PROXY_TARGET_UNREACHABLE),
        (ProxyError("502 Bad Gateway", 502), FailureKind.PROXY_TARGET_UNREACHABLE),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, BaseException) else str(v),
)
def test_proxy_mappings(exc: BaseException, kind: FailureKind) -> None:
    failure = failure_from_exception(exc)
    assert failure.kind is kind
    assert failure.kind.is_transport  # the route failed: exit code 3


def test_every_python_socks_exception_maps_to_a_proxy_kind() -> None:
    import python_socks

    public = [
        getattr(python_socks, name)
        for name in python_socks.__all__
        if isinstance(getattr(python_socks, name), type)
        and issubclass(getattr(python_socks, name), BaseException)
    ]
    assert public
    for cls in public:
        assert failure_from_exception(cls("x")).kind.value.startswith("proxy-")


def test_tls_records_before_the_handshake_are_not_called_plaintext() -> None:
    # A server that takes no modern TLS answers with an alert (21, version 3.x) as soon as
    # STARTTLS's 220 is out; read with the 220, it once made the verdict "plaintext after
    # STARTTLS" on some runs and a TLS failure on others.
    with pytest.raises(transport.EarlyTLSData) as info:
        transport.check_nothing_pending(True, b"\x15\x03\x03\x00\x02\x02\x28")
    assert not isinstance(info.value, transport.StartTLSInjection)
    assert str(info.value) == "the server sent TLS data (an alert) before the handshake began"
    with pytest.raises(transport.StartTLSInjection):
        transport.check_nothing_pending(True, b"220 mx")
    transport.check_nothing_pending(False)


def test_the_probe_s_modules_do_not_import_python_socks() -> None:
    # The table imports it when first needed: a probe without --proxy that never fails
    # does not pay its 2 ms of start-up (bench/bench_rtt.py measures the start-up).
    import subprocess
    import sys

    code = (
        "import sys, smtpprobe.cli, smtpprobe.api, smtpprobe.driver, smtpprobe.session, "
        "smtpprobe.portcheck, smtpprobe.failures; print('python_socks' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
