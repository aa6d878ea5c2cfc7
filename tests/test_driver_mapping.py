"""Every exception the network or aiosmtplib can raise maps to a Failure (one table)."""

from __future__ import annotations

import inspect
import ssl

import aiosmtplib.errors as smtp_errors
import pytest
from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError

from smtpprobe.core.transcript import FailureKind
from smtpprobe.driver import failure_from_exception


def _instance(cls: type[BaseException]) -> BaseException:
    params = [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind is p.POSITIONAL_ONLY
    ]
    if cls is smtp_errors.SMTPRecipientsRefused:
        return cls([smtp_errors.SMTPRecipientRefused(550, "no", "a@b")])
    args: list[object] = []
    for p in params:
        args.append(550 if p.name == "code" else "text")
    return cls(*args)


ALL = sorted(
    (
        c
        for _, c in inspect.getmembers(smtp_errors, inspect.isclass)
        if issubclass(c, smtp_errors.SMTPException)
    ),
    key=lambda c: c.__name__,
)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_aiosmtplib_exception_is_mapped(cls: type[BaseException]) -> None:
    failure = failure_from_exception(_instance(cls))
    assert isinstance(failure.kind, FailureKind)


def _chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), FailureKind.CONNECT_REFUSED),
        (OSError(101, "Network is unreachable"), FailureKind.NETWORK_UNREACHABLE),
        (OSError(113, "No route to host"), FailureKind.NETWORK_UNREACHABLE),
        (TimeoutError(), FailureKind.TIMEOUT),
        (ConnectionResetError(104, "reset"), FailureKind.CONNECTION_LOST),
        (
            _chained(smtp_errors.SMTPConnectError("x"), ssl.SSLCertVerificationError(1, "bad")),
            FailureKind.TLS_CERTIFICATE_INVALID,
        ),
        (
            _chained(smtp_errors.SMTPConnectError("x"), ssl.SSLError(1, "WRONG_VERSION_NUMBER")),
            FailureKind.TLS_HANDSHAKE_FAILED,
        ),
        (
            smtp_errors.SMTPResponseException(-1, "Malformed SMTP response line"),
            FailureKind.MALFORMED_REPLY,
        ),
        (smtp_errors.SMTPReadTimeoutError("Timed out waiting"), FailureKind.TIMEOUT),
        (smtp_errors.SMTPServerDisconnected("lost"), FailureKind.CONNECTION_LOST),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_specific_mappings(exc: BaseException, kind: FailureKind) -> None:
    assert failure_from_exception(exc).kind is kind


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


def test_every_python_socks_exception_is_mapped() -> None:
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
