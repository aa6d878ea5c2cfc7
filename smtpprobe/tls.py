"""TLS: the client context from the user's options, and what a handshake negotiated."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import hashlib
import ipaddress
import os
import ssl
import threading
from pathlib import Path

from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.transcript import TLSInfo
from smtpprobe.errors import ConfigError

__all__ = ["check_ca_file", "client_context", "describe_tls", "verify_error", "warm_client_context"]

# Contexts being loaded ahead of use, by the arguments of _shared_context.
_warming: dict[tuple[str | None, tuple[int, int] | None], threading.Thread] = {}
_warming_lock = threading.Lock()


def _key(ca_file: Path | str | None) -> tuple[str | None, tuple[int, int] | None]:
    stamp = None
    if ca_file is not None:
        try:
            info = Path(ca_file).stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None  # _new_context reports the problem
    return (str(ca_file) if ca_file is not None else None, stamp)


def warm_client_context(ca_file: Path | str | None = None) -> None:
    """Start loading ``client_context(ca_file=…)`` in a thread, to be ready when TLS starts.

    Reading the system trust store takes tens of milliseconds, but OpenSSL releases the
    GIL while it reads, so on another core it overlaps with start-up and the first round
    trips instead of adding to them. A failure is left for ``client_context`` to report.
    """
    key = _key(ca_file)
    with _warming_lock:
        if key in _warming:
            return

        def load() -> None:
            with contextlib.suppress(ConfigError):  # client_context raises it again, to report
                _shared_context(*key)

        thread = threading.Thread(target=load, name="smtpprobe-trust-store", daemon=True)
        if not _warming:
            atexit.register(_finish_warming)
        _warming[key] = thread
    thread.start()


# Long enough for any trust store a disk holds (the system bundle takes tens of ms); a
# store that takes longer is read by a thread the exit may then still race, as before.
_EXIT_WAIT = 10.0


def _finish_warming() -> None:
    """Wait, at exit, for the trust-store reads still running.

    OpenSSL frees its tables when the process exits (its own C ``atexit`` handler, after
    Python's): a thread still reading the store then touches freed memory. A command that
    fails on a bad argument right after starting the read exited with SIGSEGV about one
    time in thirty (``smtpprobe check --format nagios --critical time=fast``).
    """
    with _warming_lock:
        threads = list(_warming.values())
    for thread in threads:
        thread.join(_EXIT_WAIT)


def check_ca_file(ca_file: Path | str) -> None:
    """ConfigError now if ``ca_file`` cannot be read as PEM certificates (a quick load of it
    alone; the system trust store is read when the context is needed)."""
    _load_ca_file(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), Path(ca_file))


def client_context(*, ca_file: Path | str | None = None) -> ssl.SSLContext:
    """A verifying client SSLContext: the system trust store, plus ``ca_file``.

    ``--insecure`` does not change it: the probe verifies first and says what
    failed, and only then goes on with ``unverified_context``.

    Contexts are shared: loading the system trust store takes tens of milliseconds
    of blocking work, which many concurrent probes (compare, health checks) would
    otherwise repeat on the event loop. A changed ``ca_file`` is loaded afresh.
    """
    key = _key(ca_file)
    with _warming_lock:
        warming = _warming.get(key)
    if warming is not None:
        warming.join()  # lru_cache then holds its context (or not, if it failed)
    return _shared_context(*key)


@functools.lru_cache(maxsize=32)
def _shared_context(ca_file: str | None, stamp: tuple[int, int] | None) -> ssl.SSLContext:
    return _new_context(Path(ca_file) if ca_file is not None else None)


def _new_context(ca_file: Path | None) -> ssl.SSLContext:
    # Python's defaults for a verifying client; the system store from its hashed directory
    # where that is the same store (create_default_context reads only what it is given).
    directory = _hashed_store()
    context = ssl.create_default_context(capath=directory)
    # RFC 9525 section 6.3: a name is matched against the certificate's subjectAltName only,
    # never its CN (Python still does by default; Go and browsers refuse CN-only certificates).
    context.hostname_checks_common_name = False
    if ca_file is not None:
        _load_ca_file(context, ca_file)
    return context


def _hashed_store() -> str | None:
    """The system's hashed certificate directory, where it holds exactly the default bundle.

    Debian's update-ca-certificates writes /etc/ssl/certs/ca-certificates.crt from the
    very certificates it links in /etc/ssl/certs under their subject hashes. Reading the
    bundle parses every certificate (~150, 25-30 ms per process); the directory lets
    OpenSSL read only the one a chain names, when it verifies. Anywhere else (another
    bundle, SSL_CERT_FILE naming another file) the default paths are loaded as usual.
    """
    paths = ssl.get_default_verify_paths()
    bundle = os.environ.get(paths.openssl_cafile_env) or paths.openssl_cafile
    directory = os.environ.get(paths.openssl_capath_env) or paths.openssl_capath
    if not bundle or not directory:
        return None
    try:
        real_directory = os.path.realpath(directory)
        if os.path.realpath(bundle) != os.path.join(real_directory, "ca-certificates.crt"):
            return None
        with os.scandir(real_directory) as entries:
            if not any(_HASHED.fullmatch(entry.name) for entry in entries):
                return None
    except OSError:
        return None
    return real_directory


_HASHED = LazyPattern(r"[0-9a-f]{8}\.[0-9]+")


def _load_ca_file(context: ssl.SSLContext, ca_file: Path) -> None:
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"--ca-file {ca_file}: cannot load it as PEM certificates ({reason})"
        ) from None


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


# RFC 4514 §3 short names, under the long names OpenSSL gives ``getpeercert()``;
# attributes without a short name are written by OID (RFC 4519, PKCS #9, CA/B EV).
_RFC4514_KEYS = {
    "commonName": "CN",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
    "emailAddress": "1.2.840.113549.1.9.1",
    "serialNumber": "2.5.4.5",
    "surname": "2.5.4.4",
    "givenName": "2.5.4.42",
    "title": "2.5.4.12",
    "postalCode": "2.5.4.17",
    "businessCategory": "2.5.4.15",
    "organizationIdentifier": "2.5.4.97",
    "jurisdictionLocalityName": "1.3.6.1.4.1.311.60.2.1.1",
    "jurisdictionStateOrProvinceName": "1.3.6.1.4.1.311.60.2.1.2",
    "jurisdictionCountryName": "1.3.6.1.4.1.311.60.2.1.3",
}
_SPECIAL = {c: "\\" + c for c in '\\"+,;<>'} | {"\0": "\\00"}


def _escaped(value: str) -> str:
    """An attribute value escaped as RFC 4514 §2.4 asks."""
    text = "".join(_SPECIAL.get(c, c) for c in value)
    if text[:1] in ("#", " "):
        text = "\\" + text
    if text.endswith(" ") and not text.endswith("\\ "):
        text = text[:-1] + "\\ "
    return text


def _peercert_name(rdns: object) -> str | None:
    """``getpeercert()``'s name as an RFC 4514 string, or None where it cannot say.

    The string is the one ``cryptography`` writes for the same name (tests compare
    them); a multi-valued RDN or an attribute without a known key answers None.
    """
    if not isinstance(rdns, tuple):
        return None
    parts: list[str] = []
    for rdn in reversed(rdns):  # RFC 4514 §2.1: the last RDN first
        if not (isinstance(rdn, tuple) and len(rdn) == 1):
            return None
        key, value = rdn[0]
        short = _RFC4514_KEYS.get(key)
        if short is None or not isinstance(value, str):
            return None
        parts.append(f"{short}={_escaped(value)}")
    return ",".join(parts)


def _from_peercert(cert: dict[str, object]) -> tuple[str, str, tuple[str, ...], str] | None:
    """Subject, issuer, SAN and expiry from a verified certificate, without parsing DER.

    ``getpeercert()`` has them once the chain verified; reading them there keeps
    ``cryptography`` (about 20 ms to import) out of every successful probe.
    """
    subject = _peercert_name(cert.get("subject"))
    issuer = _peercert_name(cert.get("issuer"))
    expiry = cert.get("notAfter")
    if subject is None or issuer is None or not isinstance(expiry, str):
        return None
    dns: list[str] = []
    ips: list[str] = []
    for kind, value in cert.get("subjectAltName", ()):  # type: ignore[attr-defined]
        if kind == "DNS":
            dns.append(f"DNS:{value}")
        elif kind == "IP Address":
            ips.append(f"IP:{ipaddress.ip_address(value.strip())}")
    not_after = _openssl_time(expiry)
    if not_after is None:
        return None
    return subject, issuer, (*dns, *ips), not_after


# OpenSSL's ASN1_TIME_print, which getpeercert() uses: "Jan  1 00:00:00 3000 GMT".
_OPENSSL_TIME = LazyPattern(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _openssl_time(text: str) -> str | None:
    """``text`` as RFC 3339 UTC ("3000-01-01T00:00:00Z"), or None if it is not that format.

    What ``ssl.cert_time_to_seconds`` reads, without its ``time.strptime`` (whose import,
    with ``calendar``'s, cost every probe over TLS about 1.5 ms)."""
    match = _OPENSSL_TIME.fullmatch(text)
    if match is None or match[1] not in _MONTHS:
        return None
    month = _MONTHS.index(match[1]) + 1
    day, hour, minute, second, year = (int(match[i]) for i in (2, 3, 4, 5, 6))
    try:
        when = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:  # "Feb 30", hour 24
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_tls(
    ssl_object: ssl.SSLObject | ssl.SSLSocket | None, *, verified: bool, error: str | None = None
) -> TLSInfo:
    """Version, cipher and the peer certificate's subject, SAN, issuer, expiry, fingerprint.

    A verified certificate is read from ``getpeercert()``; otherwise (verification
    off or failed) the DER form is parsed with ``cryptography``, since
    ``getpeercert()`` then returns nothing. The SHA-256 fingerprint is taken over
    the DER bytes, so it is known even when they cannot be parsed.
    """
    if ssl_object is None:
        return TLSInfo(verified=False, verify_error=error)
    cipher = ssl_object.cipher()
    version = ssl_object.version()
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return TLSInfo(
            version=version,
            cipher=cipher[0] if cipher else None,
            verified=verified,
            verify_error=error,
        )
    fields = _from_peercert(dict(ssl_object.getpeercert() or {})) or _from_der(der)
    subject, issuer, san, not_after = fields or (None, None, (), None)
    return TLSInfo(
        version=version,
        cipher=cipher[0] if cipher else None,
        verified=verified,
        verify_error=error,
        subject=subject,
        issuer=issuer,
        san=san,
        not_after=not_after,
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
    )


def _from_der(der: bytes) -> tuple[str, str, tuple[str, ...], str] | None:
    """Subject, issuer, SAN and expiry parsed from DER; None if it cannot be parsed."""
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
        return _name(cert.subject), _name(cert.issuer), san, not_after
    except Exception:  # a certificate we cannot parse is still a handshake that happened
        return None


def verify_error(exc: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's own words for why the certificate was not trusted."""
    return getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
