"""The fault server itself, driven by raw sockets and smtplib (clients other than smtpprobe's).

Each fault must put exactly its bytes on the wire at exactly its phase, once per connection,
and the server must otherwise be a correct submission server, bounded in what it keeps.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Iterator
from typing import Protocol

import pytest

from smtpprobe.core.transcript import Security
from smtpprobe.testing.faults import (
    FAULT_PASSWORD,
    FAULT_USER,
    GARBAGE_BYTES,
    GARBAGE_TEXT,
    JAPANESE_REPLIES,
    MALFORMED_CODES,
    OCN_E041,
    SERVICE_CLOSING,
    BadCertificate,
    CertificateStore,
    CertificateVariant,
    Close,
    EndlessLine,
    Fault,
    FaultPhase,
    FaultServer,
    Garbage,
    Hang,
    Inconsistent,
    LongLine,
    PlaintextAfterStartTLS,
    Reset,
    SecondChallenge,
    Slow,
    UnexpectedPositive,
    phases_for,
)

pytestmark = pytest.mark.network

TIMEOUT = 3.0


class Raw:
    """A line-level SMTP client on a plain socket, TLS on demand."""

    def __init__(self, server: FaultServer, *, implicit: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        self.sock: socket.socket = sock
        if implicit is not None:
            self.sock = implicit.wrap_socket(sock, server_hostname="localhost")
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(self.buffer)
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def reply(self) -> bytes:
        """One whole reply, continuation lines included."""
        data = b""
        while True:
            line = self.line()
            data += line
            if line[3:4] != b"-":
                return data

    def command(self, line: str) -> bytes:
        self.send(line)
        return self.reply()

    def rest(self) -> bytes:
        """Everything until the server closes."""
        data, self.buffer = self.buffer, b""
        while chunk := self.sock.recv(65536):
            data += chunk
        return data

    def starttls(self, context: ssl.SSLContext, hostname: str = "localhost") -> None:
        assert self.command("STARTTLS").startswith(b"220 ")
        self.sock = context.wrap_socket(self.sock, server_hostname=hostname)


@pytest.fixture(scope="module")
def certificates() -> Iterator[CertificateStore]:
    store = CertificateStore()
    yield store
    store.cleanup()


@pytest.fixture
def serve(certificates: CertificateStore) -> Iterator[ServerFactory]:
    started: list[FaultServer] = []

    def start(
        fault: Fault | None = None,
        phase: FaultPhase | None = None,
        security: Security = Security.PLAIN,
        max_recorded: int = 10_000,
    ) -> FaultServer:
        server = FaultServer(
            fault, phase, security, certificates=certificates, max_recorded=max_recorded
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
        assert server.errors == []


class ServerFactory(Protocol):
    """The type of the ``serve`` fixture."""

    def __call__(
        self,
        fault: Fault | None = None,
        phase: FaultPhase | None = None,
        security: Security = Security.PLAIN,
        max_recorded: int = 10_000,
    ) -> FaultServer: ...


def trusting(server: FaultServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_file))


def to_mail(server: FaultServer) -> Raw:
    """A plain connection that has greeted and said EHLO, ready for MAIL."""
    client = Raw(server)
    assert client.reply() == b"220 fault.test ESMTP\r\n"
    assert client.command("EHLO client.test").startswith(b"250-fault.test")
    return client


# --------------------------------------------------------------------------- well behaved


@pytest.mark.parametrize("security", list(Security), ids=str)
def test_a_server_without_a_fault_is_a_correct_submission_server(
    serve: ServerFactory, security: Security
) -> None:
    server = serve(security=security)
    context = trusting(server)
    client: smtplib.SMTP
    if security is Security.IMPLICIT_TLS:
        client = smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=TIMEOUT)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
    with client:
        code, _ = client.ehlo("client.test")
        assert code == 250
        assert client.has_extn("starttls") is (security is Security.STARTTLS)
        if security is Security.STARTTLS:
            client.starttls(context=context)
            client.ehlo("client.test")
            assert not client.has_extn("starttls")
        assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "CRAM-MD5"]
        # smtplib prefers CRAM-MD5: the server checks the HMAC of its own challenge.
        assert client.login(FAULT_USER, FAULT_PASSWORD)[0] == 235
        refused = client.sendmail("a@example.jp", ["b@example.net"], b"Subject: t\r\n\r\n.x\r\n")
        assert refused == {}
    assert server.connections == 1
    assert server.handshakes == (0 if security is Security.PLAIN else 1)
    assert server.messages == 1
    assert server.faults_applied == 0
    verbs = [line.split(" ")[0].upper() for line in server.received]
    assert verbs[-4:] == ["MAIL", "RCPT", "DATA", "QUIT"]  # the body is counted, not recorded


def test_auth_plain_and_login_check_the_credentials(serve: ServerFactory) -> None:
    import base64

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    server = serve()
    client = to_mail(server)
    good = b64(f"\0{FAULT_USER}\0{FAULT_PASSWORD}")
    assert client.command(f"AUTH PLAIN {good}").startswith(b"235 ")
    bad = b64(f"\0{FAULT_USER}\0wrong")
    assert client.command(f"AUTH PLAIN {bad}").startswith(b"535 ")
    assert client.command("AUTH PLAIN") == b"334 \r\n"
    assert client.command(good).startswith(b"235 ")
    assert client.command("AUTH LOGIN") == b"334 VXNlcm5hbWU6\r\n"
    assert client.command(b64(FAULT_USER)) == b"334 UGFzc3dvcmQ6\r\n"
    assert client.command(b64(FAULT_PASSWORD)).startswith(b"235 ")
    assert client.command("AUTH LOGIN").startswith(b"334 ")
    assert client.command("*").startswith(b"501 ")
    assert client.command("AUTH XOAUTH2 x").startswith(b"504 ")
    assert client.command("QUIT") == b"221 2.0.0 Bye\r\n"
    client.close()


def test_received_lines_are_recorded_and_bounded(serve: ServerFactory) -> None:
    server = serve(max_recorded=5)
    client = to_mail(server)
    for i in range(20):
        assert client.command(f"NOOP {i} " + "y" * 5000).startswith(b"250 ")
    client.close()
    received = server.received
    assert received[0] == "EHLO client.test"
    assert len(received) == 5
    assert max(len(line) for line in received) <= 1000


# --------------------------------------------------------------------------- reply faults

REPLY_FAULTS: list[tuple[Fault, bytes]] = [
    (GARBAGE_TEXT, b"hello there\r\n"),
    (GARBAGE_BYTES, b"\x00\xff\xfe\r\n"),
    *((fault, fault.line.encode() + b"\r\n") for fault in MALFORMED_CODES),
    (Inconsistent(), b"250-first\r\n220 second\r\n"),
    (UnexpectedPositive(), b"220 fault.test unexpected reply to mail\r\n"),
    *((fault, OCN_E041.encode(fault.encoding) + b"\r\n") for fault in JAPANESE_REPLIES),
]


@pytest.mark.parametrize(
    ("fault", "wire"), REPLY_FAULTS, ids=[fault.name for fault, _ in REPLY_FAULTS]
)
def test_a_reply_fault_sends_its_bytes_once_per_connection_on_every_connection(
    serve: ServerFactory, fault: Fault, wire: bytes
) -> None:
    server = serve(fault, FaultPhase.MAIL)
    for _ in range(2):
        client = to_mail(server)
        client.send("MAIL FROM:<a@example.jp>")
        data = client.buffer
        while len(data) < len(wire):
            data += client.sock.recv(65536)
        assert data == wire
        client.buffer = b""
        # The fault acts once: the next MAIL gets the normal reply.
        assert client.command("MAIL FROM:<a@example.jp>") == b"250 2.1.0 Ok\r\n"
        client.close()
    assert server.faults_applied == 2


def test_the_japanese_replies_are_the_seed_text_in_four_encodings() -> None:
    assert [fault.encoding for fault in JAPANESE_REPLIES] == [
        "utf-8", "shift_jis", "iso-2022-jp", "euc-jp",
    ]  # fmt: skip
    encoded = {OCN_E041.encode(fault.encoding) for fault in JAPANESE_REPLIES}
    assert len(encoded) == 4  # really four different byte strings
    assert b"\x1b$B" in OCN_E041.encode("iso-2022-jp")


def test_unexpected_positive_is_positive_but_never_what_the_phase_needs() -> None:
    needed = {
        FaultPhase.GREETING: {220}, FaultPhase.EHLO: {250}, FaultPhase.STARTTLS: {220},
        FaultPhase.EHLO2: {250}, FaultPhase.AUTH: {235}, FaultPhase.MAIL: {250},
        FaultPhase.RCPT: {250, 251}, FaultPhase.DATA: {354}, FaultPhase.MESSAGE: {250},
        FaultPhase.RSET: {250}, FaultPhase.QUIT: {221},
    }  # fmt: skip
    for phase, codes in needed.items():
        code = UnexpectedPositive.code_for(phase)
        assert 200 <= code < 400 and code not in codes, phase


def test_second_334_answers_auth_plain_with_another_challenge(serve: ServerFactory) -> None:
    server = serve(SecondChallenge(), FaultPhase.AUTH)
    client = to_mail(server)
    assert client.command("AUTH PLAIN AHVzZXIAcHc=") == b"334 \r\n"
    client.close()


def test_421_is_sent_then_the_connection_closes(serve: ServerFactory) -> None:
    server = serve(SERVICE_CLOSING, FaultPhase.GREETING)
    client = Raw(server)
    assert client.rest() == b"421 4.3.2 Service not available, closing transmission channel\r\n"
    client.close()


@pytest.mark.parametrize("phase", [FaultPhase.EHLO, FaultPhase.RCPT, FaultPhase.QUIT], ids=str)
def test_a_fault_waits_for_its_phase(serve: ServerFactory, phase: FaultPhase) -> None:
    server = serve(GARBAGE_TEXT, phase)
    client = Raw(server)
    assert client.reply() == b"220 fault.test ESMTP\r\n"
    expected = {FaultPhase.EHLO: b"hello there\r\n"}
    assert client.command("EHLO c").startswith(expected.get(phase, b"250-fault.test"))
    if phase is not FaultPhase.EHLO:
        assert client.command("MAIL FROM:<a@b.c>") == b"250 2.1.0 Ok\r\n"
        rcpt = client.command("RCPT TO:<d@e.f>")
        assert rcpt == (b"hello there\r\n" if phase is FaultPhase.RCPT else b"250 2.1.5 Ok\r\n")
        assert client.command("QUIT") == (
            b"hello there\r\n" if phase is FaultPhase.QUIT else b"221 2.0.0 Bye\r\n"
        )
    client.close()


def test_data_and_message_phases(serve: ServerFactory) -> None:
    server = serve(UnexpectedPositive(), FaultPhase.MESSAGE)
    client = to_mail(server)
    assert client.command("DATA").startswith(b"503 ")  # no recipient yet
    client.command("MAIL FROM:<a@b.c>")
    client.command("RCPT TO:<d@e.f>")
    assert client.command("DATA").startswith(b"354 ")
    client.send("Subject: x\r\n\r\nbody")
    assert client.command(".") == b"354 fault.test unexpected reply to message\r\n"
    client.close()
    assert server.messages == 1


# --------------------------------------------------------------------------- the connection


def test_close_sends_fin(serve: ServerFactory) -> None:
    client = to_mail(serve(Close(), FaultPhase.MAIL))
    client.send("MAIL FROM:<a@b.c>")
    assert client.rest() == b""
    client.close()


def test_reset_sends_rst(serve: ServerFactory) -> None:
    client = to_mail(serve(Reset(), FaultPhase.MAIL))
    client.send("MAIL FROM:<a@b.c>")
    with pytest.raises(ConnectionResetError):
        client.rest()
    client.close()


def test_reset_at_greeting_lets_the_connection_open_first(serve: ServerFactory) -> None:
    server = serve(Reset(), FaultPhase.GREETING)
    client = Raw(server)  # connect() itself succeeds
    with pytest.raises(ConnectionResetError):
        client.rest()
    client.close()


def test_hang_reads_and_never_answers_until_stop(serve: ServerFactory) -> None:
    server = serve(Hang(), FaultPhase.MAIL)
    client = to_mail(server)
    client.sock.settimeout(0.3)
    client.send("MAIL FROM:<a@b.c>")
    with pytest.raises(TimeoutError):
        client.sock.recv(1)
    client.send("NOOP")  # still read, still unanswered
    with pytest.raises(TimeoutError):
        client.sock.recv(1)
    client.sock.settimeout(TIMEOUT)
    server.stop()  # closes the hung connection
    server.stop()  # idempotent
    with contextlib.suppress(ConnectionResetError):  # an aborted transport may send RST
        assert client.sock.recv(1) == b""
    client.close()


def test_endless_line_stops_at_its_limit(serve: ServerFactory) -> None:
    limit = 1024 * 1024
    client = to_mail(serve(EndlessLine(limit=limit), FaultPhase.MAIL))
    client.send("MAIL FROM:<a@b.c>")
    data = client.rest()
    assert len(data) == limit
    assert data.startswith(b"250 x") and b"\n" not in data
    client.close()


def test_endless_line_stops_when_the_client_leaves(serve: ServerFactory) -> None:
    server = serve(EndlessLine(), FaultPhase.MAIL)
    client = to_mail(server)
    client.send("MAIL FROM:<a@b.c>")
    received = 0
    while received < 256 * 1024:
        received += len(client.sock.recv(65536))
    client.close()
    # The server is free again: a new connection is served normally.
    other = Raw(server)
    assert other.reply() == b"220 fault.test ESMTP\r\n"
    other.close()


def test_long_line_is_one_line_of_its_size_and_the_dialogue_goes_on(
    serve: ServerFactory,
) -> None:
    size = 2 * 1024 * 1024
    client = to_mail(serve(LongLine(size=size), FaultPhase.MAIL))
    client.send("MAIL FROM:<a@b.c>")
    line = client.line()
    assert len(line) == size
    assert line.startswith(b"250 xxx") and line.endswith(b"x\r\n")
    assert client.command("NOOP") == b"250 2.0.0 Ok\r\n"
    client.close()


def test_slow_sends_the_normal_reply_byte_by_byte(serve: ServerFactory) -> None:
    normal = to_mail(serve())
    normal_ehlo = normal.command("EHLO c")
    normal.close()
    client = Raw(serve(Slow(0.001, "test"), FaultPhase.EHLO))
    client.reply()
    client.send("EHLO c")
    chunks: list[bytes] = []
    while sum(map(len, chunks)) < len(normal_ehlo):
        chunks.append(client.sock.recv(65536))
    assert b"".join(chunks) == normal_ehlo
    assert len(chunks) > 10  # it did trickle (loopback delivers each write on its own)
    client.close()


# --------------------------------------------------------------------------- TLS


SELF_SIGNED = re.compile(r"self[- ]signed")
VERIFY_ERRORS = {
    CertificateVariant.EXPIRED: re.compile("certificate has expired"),
    CertificateVariant.WRONG_NAME: re.compile("Hostname mismatch"),
    CertificateVariant.UNKNOWN_CA: re.compile("unable to get local issuer certificate"),
    CertificateVariant.SELF_SIGNED: SELF_SIGNED,
}


@pytest.mark.parametrize("security", [Security.IMPLICIT_TLS, Security.STARTTLS], ids=str)
@pytest.mark.parametrize("variant", list(VERIFY_ERRORS), ids=str)
def test_bad_certificates_fail_verification_for_their_own_reason(
    serve: ServerFactory, variant: CertificateVariant, security: Security
) -> None:
    server = serve(BadCertificate(variant), FaultPhase.TLS, security)
    context = trusting(server)
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        if security is Security.IMPLICIT_TLS:
            Raw(server, implicit=context)
        else:
            client = to_mail(server)
            client.starttls(context)
    assert VERIFY_ERRORS[variant].search(caught.value.verify_message)


@pytest.mark.parametrize("security", [Security.IMPLICIT_TLS, Security.STARTTLS], ids=str)
def test_a_bad_certificate_accepted_anyway_leads_to_a_normal_dialogue(
    serve: ServerFactory, security: Security
) -> None:
    server = serve(BadCertificate(CertificateVariant.EXPIRED), FaultPhase.TLS, security)
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    if security is Security.IMPLICIT_TLS:
        client = Raw(server, implicit=insecure)
        client.reply()
        client.command("EHLO c")
    else:
        client = to_mail(server)
        client.starttls(insecure)
        assert b"STARTTLS" not in client.command("EHLO c")
    assert client.command("MAIL FROM:<a@b.c>") == b"250 2.1.0 Ok\r\n"
    assert client.command("RCPT TO:<d@e.f>") == b"250 2.1.5 Ok\r\n"
    client.close()


def test_the_valid_certificate_verifies_for_the_loopback_names(serve: ServerFactory) -> None:
    server = serve(security=Security.IMPLICIT_TLS)
    client = Raw(server, implicit=trusting(server))
    assert client.reply() == b"220 fault.test ESMTP\r\n"
    client.close()


def test_plaintext_after_starttls(serve: ServerFactory) -> None:
    server = serve(PlaintextAfterStartTLS(), FaultPhase.TLS, Security.STARTTLS)
    client = to_mail(server)
    assert client.command("STARTTLS") == b"220 2.0.0 Ready to start TLS\r\n"
    client.send("\x16\x03\x01 a client hello, as far as the server cares")
    assert client.line() == b"250 hello\r\n"
    client.close()


@pytest.mark.parametrize("fault", [Close(), Reset(), Garbage(b"nope\r\n", "t")], ids=repr)
def test_a_handshake_fault_waits_for_the_client_hello(serve: ServerFactory, fault: Fault) -> None:
    server = serve(fault, FaultPhase.TLS, Security.IMPLICIT_TLS)
    client = Raw(server)
    client.sock.settimeout(0.3)
    with pytest.raises(TimeoutError):  # nothing happens before the client speaks
        client.sock.recv(1)
    client.sock.settimeout(TIMEOUT)
    client.sock.sendall(b"\x16\x03\x01\x00\x05hello")
    if isinstance(fault, Garbage):
        assert client.line() == fault.data  # then it waits for the client to give up
    elif isinstance(fault, Reset):
        with pytest.raises(ConnectionResetError):
            client.rest()
    else:
        assert client.rest() == b""
    client.close()


# --------------------------------------------------------------------------- the table


def test_phases_follow_each_mode() -> None:
    assert phases_for(Security.IMPLICIT_TLS)[:2] == (FaultPhase.TLS, FaultPhase.GREETING)
    starttls = phases_for(Security.STARTTLS)
    assert starttls.index(FaultPhase.STARTTLS) + 1 == starttls.index(FaultPhase.TLS)
    assert FaultPhase.TLS not in phases_for(Security.PLAIN)
    assert FaultPhase.EHLO2.stage == "ehlo" and FaultPhase.MESSAGE.stage == "data"


@pytest.mark.parametrize(
    ("fault", "phase", "security"),
    [
        (SecondChallenge(), FaultPhase.MAIL, Security.PLAIN),
        (PlaintextAfterStartTLS(), FaultPhase.TLS, Security.IMPLICIT_TLS),
        (BadCertificate(CertificateVariant.EXPIRED), FaultPhase.RCPT, Security.STARTTLS),
        (BadCertificate(CertificateVariant.EXPIRED), FaultPhase.TLS, Security.PLAIN),
        (GARBAGE_TEXT, FaultPhase.STARTTLS, Security.IMPLICIT_TLS),
        (Inconsistent(), FaultPhase.TLS, Security.STARTTLS),
        (Hang(), None, Security.PLAIN),
        (None, FaultPhase.MAIL, Security.PLAIN),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_impossible_combinations_are_refused(
    fault: Fault | None, phase: FaultPhase | None, security: Security
) -> None:
    with pytest.raises(ValueError):
        FaultServer(fault, phase, security)


def test_only_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultServer(host="192.0.2.1")
