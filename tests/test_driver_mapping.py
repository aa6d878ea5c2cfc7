"""Every exception the network or aiosmtplib can raise maps to a Failure (one table)."""

from __future__ import annotations

import inspect
import ssl

import aiosmtplib.errors as smtp_errors
import pytest

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
