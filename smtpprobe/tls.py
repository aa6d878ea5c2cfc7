"""TLS: the client context from the user's options, and what a handshake negotiated."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ssl
from pathlib import Path

from smtpprobe.core.transcript import TLSInfo
from smtpprobe.errors import ConfigError

__all__ = ["client_context", "describe_tls", "verify_error"]


def client_context(*, ca_file: Path | str | None = None) -> ssl.SSLContext:
    """A verifying client SSLContext: the system trust store, plus ``ca_file``.

    ``--insecure`` does not change it: the probe verifies first and says what
    failed, and only then goes on with ``unverified_context``.

    Contexts are shared: loading the system trust store takes tens of milliseconds
    of blocking work, which many concurrent probes (compare, health checks) would
    otherwise repeat on the event loop. A changed ``ca_file`` is loaded afresh.
    """
    stamp = None
    if ca_file is not None:
        try:
            info = Path(ca_file).stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None  # _new_context reports the problem
    return _shared_context(str(ca_file) if ca_file is not None else None, stamp)


@functools.lru_cache(maxsize=32)
def _shared_context(ca_file: str | None, stamp: tuple[int, int] | None) -> ssl.SSLContext:
    return _new_context(Path(ca_file) if ca_file is not None else None)


def _new_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(
                f"--ca-file {ca_file}: cannot load it as PEM certificates ({reason})"
            ) from None
    return context


def unverified_context() -> ssl.SSLContext:
    """A context that completes any handshake: only to look at a certificate or a port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _name(name: object) -> str:
    from cryptography import x509

    assert isinstance(name, x509.Name)
    return name.rfc4514_string()


def describe_tls(
    ssl_object: ssl.SSLObject | ssl.SSLSocket | None, *, verified: bool, error: str | None = None
) -> TLSInfo:
    """Version, cipher and the peer certificate's subject, SAN, issuer, expiry, fingerprint.

    The DER form is parsed with ``cryptography`` because ``getpeercert()``
    returns nothing useful when verification is off. The SHA-256 fingerprint is
    taken over the DER bytes, so it is known even when they cannot be parsed.
    """
    if ssl_object is None:
        return TLSInfo(verified=False, verify_error=error)
    cipher = ssl_object.cipher()
    info = TLSInfo(
        version=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        verified=verified,
        verify_error=error,
    )
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return info
    fingerprint = hashlib.sha256(der).hexdigest()
    info = TLSInfo(
        version=info.version,
        cipher=info.cipher,
        verified=verified,
        verify_error=error,
        fingerprint_sha256=fingerprint,
    )
    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        try:
            ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            san = tuple(
                [f"DNS:{n}" for n in ext.value.get_values_for_type(x509.DNSName)]
                + [f"IP:{a}" for a in ext.value.get_values_for_type(x509.IPAddress)]
            )
        except x509.ExtensionNotFound:
            san = ()
        not_after = cert.not_valid_after_utc.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return TLSInfo(
            version=info.version,
            cipher=info.cipher,
            verified=verified,
            verify_error=error,
            subject=_name(cert.subject),
            issuer=_name(cert.issuer),
            san=san,
            not_after=not_after,
            fingerprint_sha256=fingerprint,
        )
    except Exception:  # a certificate we cannot parse is still a handshake that happened
        return info


def verify_error(exc: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's own words for why the certificate was not trusted."""
    return getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
