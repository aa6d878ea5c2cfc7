"""Throwaway TLS material for the test double: a trustme CA and a server certificate.

The CA's PEM is written to a file so that any client (smtpprobe, smtplib, openssl s_client)
can be pointed at it. Three certificate kinds exist so that the double can also reproduce
certificate failures: ``valid``, ``expired`` (signed by the same CA, expired yesterday) and
``unknown-ca`` (signed by a second CA whose certificate is never written anywhere).
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import trustme

from smtpprobe.testing.foreground import signals_deferred

__all__ = [
    "SERVER_NAMES",
    "CertificateKind",
    "TLSMaterial",
    "make_expired_material",
    "make_tls_material",
]

#: The names and addresses the server certificate is valid for.
SERVER_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1", "smtp.double.test")

CA_FILENAME = "smtpprobe-double-ca.pem"


class CertificateKind(StrEnum):
    """Which server certificate to issue."""

    VALID = "valid"
    EXPIRED = "expired"
    UNKNOWN_CA = "unknown-ca"


@dataclass(frozen=True, slots=True)
class TLSMaterial:
    """A CA file for clients and the server certificate signed for the double."""

    ca_file: Path
    kind: CertificateKind
    _leaf: trustme.LeafCert = field(repr=False)
    _tempdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def server_context(self) -> ssl.SSLContext:
        """A fresh server-side SSLContext presenting the certificate (TLS 1.2 or later)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain() reads only files, so the server key passes through one for a
        # moment. Put it in our own private (0700) directory when we made one, not loose in
        # /tmp as trustme does by default: whatever happens, it goes when the directory goes.
        pem = self._leaf.private_key_and_cert_chain_pem
        with pem.tempfile(dir=self._tempdir.name if self._tempdir else None) as path:
            context.load_cert_chain(path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client-side SSLContext that trusts the CA file (a convenience for tests)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def cleanup(self) -> None:
        """Remove the temporary directory, if this material made one."""
        if self._tempdir is not None:
            # TemporaryDirectory.cleanup detaches its exit-time finalizer before removing the
            # tree; a signal in the middle would leave the rest of it for good.
            with signals_deferred():
                self._tempdir.cleanup()


def make_tls_material(
    directory: Path | str | None = None,
    kind: CertificateKind | str = CertificateKind.VALID,
    names: Sequence[str] = (),
) -> TLSMaterial:
    """Create a CA and a server certificate of ``kind``; write the CA PEM into ``directory``.

    The certificate names ``SERVER_NAMES`` plus ``names`` (e.g. the address the double
    listens on, so that a client verifying ``127.0.0.5`` accepts it). With no directory,
    a temporary one is made and removed by ``cleanup()`` (or at interpreter exit).
    """
    kind = CertificateKind(kind)
    all_names = (*SERVER_NAMES, *(n for n in dict.fromkeys(names) if n not in SERVER_NAMES))
    tempdir: tempfile.TemporaryDirectory[str] | None = None
    if directory is None:
        # A signal between making the folder and registering its removal would orphan it.
        with signals_deferred():
            tempdir = tempfile.TemporaryDirectory(prefix="smtpprobe-double-")
        directory = tempdir.name
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)

    ca = trustme.CA(organization_name="smtpprobe test double")
    ca_file = path / CA_FILENAME
    ca.cert_pem.write_to_path(str(ca_file))

    now = datetime.datetime.now(datetime.UTC)
    if kind is CertificateKind.EXPIRED:
        leaf = ca.issue_cert(
            *all_names,
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        )
    elif kind is CertificateKind.UNKNOWN_CA:
        # Signed by a CA nobody was told about: verification fails with "unable to get
        # local issuer certificate", the same as a self-signed or private-CA server.
        stranger = trustme.CA(organization_name="smtpprobe unknown CA")
        leaf = stranger.issue_cert(*all_names)
    else:
        leaf = ca.issue_cert(*all_names)
    return TLSMaterial(ca_file=ca_file, kind=kind, _leaf=leaf, _tempdir=tempdir)


def make_expired_material(directory: Path | str | None = None) -> TLSMaterial:
    """Like ``make_tls_material`` but the server certificate expired yesterday."""
    return make_tls_material(directory, CertificateKind.EXPIRED)
