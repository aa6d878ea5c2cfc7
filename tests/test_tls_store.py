"""The system trust store read from its hashed directory (tls._hashed_store).

Where Debian's update-ca-certificates made both the bundle and the hashed directory
from the same certificates, smtpprobe lets OpenSSL read only the CA a chain names;
verification must be exactly as strict as with the bundle. Real handshakes over
memory BIOs, with CAs made here; the directory is hashed by the openssl command, as
update-ca-certificates does.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
import trustme

from smtpprobe import tls

HOST = "smtp.store.test"


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> None:
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=HOST)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = 0
        for side, out, peer_in in ((c, c_out, s_in), (s, s_out, c_in)):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
            peer_in.write(out.read())
        if done == 2:
            return
    raise AssertionError("handshake did not finish")


def _store(tmp_path: Path, ca: trustme.CA) -> Path:
    """A directory laid out as update-ca-certificates lays out /etc/ssl/certs."""
    directory = tmp_path / "certs"
    directory.mkdir()
    ca.cert_pem.write_to_path(str(directory / "test-ca.pem"))
    subject_hash = subprocess.run(
        ["openssl", "x509", "-subject_hash", "-noout", "-in", str(directory / "test-ca.pem")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (directory / f"{subject_hash}.0").symlink_to("test-ca.pem")
    shutil.copy(directory / "test-ca.pem", directory / "ca-certificates.crt")
    return directory


def _server(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST).configure_cert(context)
    return context


def test_the_hashed_directory_trusts_its_ca_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trusted, stranger = trustme.CA(), trustme.CA()
    directory = _store(tmp_path, trusted)
    monkeypatch.setenv("SSL_CERT_FILE", str(directory / "ca-certificates.crt"))
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    assert tls._hashed_store() == str(directory.resolve())
    context = tls._new_context(None)
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing parsed up front
    _handshake(context, _server(trusted))
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls._new_context(None), _server(stranger))


def test_another_bundle_is_read_as_the_default_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SSL_CERT_FILE naming a file that is not the directory's own bundle: the bundle is
    # what the user chose, and it is read whole.
    trusted = trustme.CA()
    directory = _store(tmp_path, trustme.CA())
    bundle = tmp_path / "mine.pem"
    trusted.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    assert tls._hashed_store() is None
    context = tls._new_context(None)
    assert context.cert_store_stats()["x509_ca"] >= 1
    _handshake(context, _server(trusted))


def test_a_directory_without_hashed_names_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _store(tmp_path, trustme.CA())
    for link in directory.glob("*.0"):
        link.unlink()
    monkeypatch.setenv("SSL_CERT_FILE", str(directory / "ca-certificates.crt"))
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    assert tls._hashed_store() is None
