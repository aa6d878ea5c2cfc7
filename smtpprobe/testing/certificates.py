"""Server certificates for the fault server: valid, expired, for another name, from an
unknown CA, or self-signed, each with the CA file a client should trust (made at test time,
never reused across runs)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smtpprobe.testing.ca import SERVER_NAMES, CertificateKind, make_tls_material

__all__ = [
    "HOSTNAME",
    "CertificateStore",
    "CertificateVariant",
    "ServerCertificate",
    "make_certificate",
]

HOSTNAME = "fault.test"  # the fault server's name, in its replies and its certificates


class CertificateVariant(StrEnum):
    """Which certificate the server presents."""

    VALID = "valid"
    EXPIRED = "expired"  # signed by the trusted CA, expired yesterday
    WRONG_NAME = "wrong-name"  # signed by the trusted CA, for another host name only
    UNKNOWN_CA = "unknown-ca"  # signed by a CA the client was never told about
    SELF_SIGNED = "self-signed"  # its own issuer, with the right names


class ServerCertificate(Protocol):
    """A server certificate and the CA file a client should trust (``TLSMaterial``'s shape)."""

    @property
    def ca_file(self) -> Path: ...

    def server_context(self) -> ssl.SSLContext: ...

    def cleanup(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _PemCertificate:
    """A certificate chain and key in one PEM file, with a separate CA file for clients."""

    ca_file: Path
    chain_file: Path
    _tempdir: tempfile.TemporaryDirectory[str] = field(repr=False)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.chain_file))
        return context

    def cleanup(self) -> None:
        self._tempdir.cleanup()


def _wrong_name() -> _PemCertificate:
    tempdir = tempfile.TemporaryDirectory(prefix="smtpprobe-faults-")
    ca = trustme.CA(organization_name="smtpprobe fault server")
    ca_file = Path(tempdir.name) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    chain = Path(tempdir.name) / "server.pem"
    # Valid in every other way: trusted issuer, in date; only the name is not the server's.
    ca.issue_cert("wrong-name.invalid").private_key_and_cert_chain_pem.write_to_path(str(chain))
    return _PemCertificate(ca_file, chain, tempdir)


def _self_signed() -> _PemCertificate:
    tempdir = tempfile.TemporaryDirectory(prefix="smtpprobe-faults-")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)])
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = []
    for entry in SERVER_NAMES:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            alt.append(x509.DNSName(entry))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    chain = Path(tempdir.name) / "server.pem"
    chain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    # The client trusts a CA that has nothing to do with this certificate.
    ca_file = Path(tempdir.name) / "ca.pem"
    trustme.CA(organization_name="smtpprobe fault server").cert_pem.write_to_path(str(ca_file))
    return _PemCertificate(ca_file, chain, tempdir)


def make_certificate(
    variant: CertificateVariant | str = CertificateVariant.VALID,
) -> ServerCertificate:
    """A fresh throwaway CA file and server certificate of ``variant``; ``cleanup()`` removes it."""
    variant = CertificateVariant(variant)
    if variant is CertificateVariant.WRONG_NAME:
        return _wrong_name()
    if variant is CertificateVariant.SELF_SIGNED:
        return _self_signed()
    return make_tls_material(kind=CertificateKind(variant.value))


class CertificateStore:
    """Certificates by variant, made on first use and shared by many servers (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[CertificateVariant, ServerCertificate] = {}

    def get(
        self, variant: CertificateVariant | str = CertificateVariant.VALID
    ) -> ServerCertificate:
        """The certificate of ``variant``, made now if this store has none yet."""
        variant = CertificateVariant(variant)
        with self._lock:
            if variant not in self._made:
                self._made[variant] = make_certificate(variant)
            return self._made[variant]

    def cleanup(self) -> None:
        """Remove every certificate's files."""
        with self._lock:
            for made in self._made.values():
                made.cleanup()
            self._made.clear()
