"""describe_tls reads a verified certificate from getpeercert() exactly as cryptography would.

Each case is a real TLS handshake between two ``ssl`` objects over memory BIOs (no
socket needed for this), with a CA and a server certificate made here. The client
verifies, so ``getpeercert()`` has the fields; the result must equal what the DER
path (``cryptography``) gives for the same certificate, field by field.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from smtpprobe import tls
from smtpprobe.errors import ConfigError

HOST = "smtp.describe.test"


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def _pem_pair(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey, *, ca: bool, alt: list[x509.GeneralName],
) -> x509.Certificate:  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now.replace(microsecond=0) + dt.timedelta(days=40))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _handshake(subject: x509.Name, alt: list[x509.GeneralName]) -> ssl.SSLObject:
    """A verified client SSLObject after a full handshake with a server using ``subject``."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(
        (NameOID.COMMON_NAME, 'Describe CA, "test"'), (NameOID.ORGANIZATION_NAME, "smtpprobe")
    )
    ca = _pem_pair(ca_name, ca_name, ca_key, ca_key, ca=True, alt=[])
    leaf = _pem_pair(subject, ca_name, key, ca_key, ca=False, alt=alt)
    with tempfile.TemporaryDirectory() as folder:
        chain, ca_file = Path(folder) / "chain.pem", Path(folder) / "ca.pem"
        chain.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + leaf.public_bytes(serialization.Encoding.PEM)
        )  # fmt: skip
        ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(chain)
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.load_verify_locations(cafile=str(ca_file))
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=HOST)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return client
    raise AssertionError("the in-memory handshake did not finish")


SUBJECTS = {
    "plain": _name((NameOID.COMMON_NAME, HOST)),
    "full": _name(
        (NameOID.COUNTRY_NAME, "JP"), (NameOID.STATE_OR_PROVINCE_NAME, "Osaka"),
        (NameOID.LOCALITY_NAME, "Osaka-shi"), (NameOID.ORGANIZATION_NAME, "SAKURA internet Inc."),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Mail"), (NameOID.COMMON_NAME, HOST),
    ),
    "specials": _name(
        (NameOID.ORGANIZATION_NAME, 'a,b+c;d<e>f"g\\h'), (NameOID.COMMON_NAME, HOST),
    ),
    "leading-hash-and-spaces": _name(
        (NameOID.ORGANIZATION_NAME, "#1 mail "), (NameOID.ORGANIZATIONAL_UNIT_NAME, " x"),
        (NameOID.COMMON_NAME, HOST),
    ),
    "unicode": _name(
        (NameOID.ORGANIZATION_NAME, "さくらインターネット株式会社"), (NameOID.COMMON_NAME, HOST)
    ),
    "ev-style": _name(
        (NameOID.JURISDICTION_COUNTRY_NAME, "JP"),
        (NameOID.BUSINESS_CATEGORY, "Private Organization"),
        (NameOID.SERIAL_NUMBER, "1200-01-123456"),
        (NameOID.EMAIL_ADDRESS, "postmaster@describe.test"),
        (NameOID.DOMAIN_COMPONENT, "test"), (NameOID.COMMON_NAME, HOST),
    ),
}  # fmt: skip
ALTS = {
    "dns-and-ips": [
        x509.DNSName(HOST), x509.DNSName("*.describe.test"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::25")),
    ],
    "dns-only": [x509.DNSName(HOST)],
    "ip-first": [x509.IPAddress(ipaddress.ip_address("192.0.2.25")), x509.DNSName(HOST)],
}  # fmt: skip


@pytest.mark.parametrize("alt", sorted(ALTS))
@pytest.mark.parametrize("subject", sorted(SUBJECTS))
def test_verified_certificate_reads_as_cryptography_reads_it(subject: str, alt: str) -> None:
    client = _handshake(SUBJECTS[subject], ALTS[alt])
    peercert = client.getpeercert()
    assert peercert, "a verified handshake has getpeercert() fields"
    fast = tls._from_peercert(dict(peercert))
    assert fast is not None, "every attribute here has a key the fast path knows"
    der = client.getpeercert(binary_form=True)
    assert der is not None
    assert fast == tls._from_der(der)
    info = tls.describe_tls(client, verified=True)
    assert (info.subject, info.issuer, info.san, info.not_after) == fast


def test_unknown_attribute_falls_back_to_the_der_reading() -> None:
    private = x509.ObjectIdentifier("1.3.6.1.4.1.99999.1")
    subject = _name((private, "x"), (NameOID.COMMON_NAME, HOST))
    client = _handshake(subject, [x509.DNSName(HOST)])
    der = client.getpeercert(binary_form=True)
    assert der is not None
    info = tls.describe_tls(client, verified=True)
    expected = tls._from_der(der)
    assert expected is not None and "1.3.6.1.4.1.99999.1=x" in expected[0]
    assert (info.subject, info.issuer, info.san, info.not_after) == expected


# --- the context loaded ahead of use (start-up overlaps the trust store's load) -------------


def test_a_warmed_context_is_the_one_the_probe_gets(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name((NameOID.COMMON_NAME, "warm test CA"))
    certificate = _pem_pair(name, name, key, key, ca=True, alt=[])
    ca_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    tls.warm_client_context(ca_file)
    tls.warm_client_context(ca_file)  # a second call starts no second load
    context = tls.client_context(ca_file=ca_file)
    assert context is tls.client_context(ca_file=ca_file)
    assert any(
        dict(item[0] for item in cert["subject"]).get("commonName") == "warm test CA"
        for cert in context.get_ca_certs()
    )


def test_a_bad_ca_file_warmed_is_reported_by_client_context_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    tls.warm_client_context(bad)
    with pytest.raises(ConfigError, match="cannot load it as PEM") as info:
        tls.client_context(ca_file=bad)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot load it as PEM"):
        tls.check_ca_file(bad)
    assert capsys.readouterr().err == ""  # the thread's failure printed nothing


def test_a_certificate_with_only_a_common_name_is_not_verified(tmp_path: Path) -> None:
    # RFC 9525 section 6.3: the name is matched against subjectAltName, never the CN. A
    # certificate that names the host only in its CN fails, as in Go and the browsers.
    import datetime as dt
    import socket
    import ssl
    import threading

    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from smtpprobe.tls import client_context

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    now = dt.datetime.now(dt.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(serialization.load_pem_private_key(ca.private_key_pem.bytes(), None), hashes.SHA256())
    )
    pem = tmp_path / "leaf.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + leaf.public_bytes(serialization.Encoding.PEM)
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(str(pem))
    ours, theirs = socket.socketpair()

    def serve() -> None:
        try:
            with server_context.wrap_socket(theirs, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass  # the client refused the certificate

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ours.settimeout(10)
    with pytest.raises(ssl.SSLCertVerificationError, match=r"Hostname mismatch|doesn't match"):
        client_context(ca_file=ca_file).wrap_socket(ours, server_hostname="localhost")
    ours.close()
    thread.join(10)


@given(st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(9999, 12, 31)))
def test_the_expiry_reads_as_ssl_reads_it(when: dt.datetime) -> None:
    # The format OpenSSL's ASN1_TIME_print gives getpeercert() (the day padded with a space).
    text = f"{when:%b} {when.day:2d} {when:%H:%M:%S} {when.year} GMT"
    expected = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(text), dt.UTC)
    assert tls._openssl_time(text) == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "text", ["", "Jan  1 00:00:00 2030 UTC", "Foo  1 00:00:00 2030 GMT", "Feb 30 00:00:00 2030 GMT"]
)
def test_an_expiry_in_another_form_is_none(text: str) -> None:
    assert tls._openssl_time(text) is None
