"""The driver over ``MockTransport``: every failure kind and pipelining, without sockets.

Each case scripts the server with a handler (``smtpprobe.testing.transport``);
the exceptions raised are the real classes of ssl, the socket layer and
python-socks, so the driver's one table maps them exactly as on the network.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import itertools
import socket
import ssl
from collections.abc import Callable
from dataclasses import replace

import pytest
from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError

from smtpprobe.core.auth import Credentials
from smtpprobe.core.classify import ExitCode, Verdict, classify
from smtpprobe.core.spec import ProbeSpec, parse_proxy
from smtpprobe.core.transcript import RETRIED, FailureKind, Phase, Security, Transcript
from smtpprobe.driver import run_probe
from smtpprobe.loading import load_rulebook
from smtpprobe.testing.transport import MockTransport

RULES = load_rulebook()
SPEC = ProbeSpec(
    host="smtp.example.jp",
    port=587,
    security=Security.STARTTLS,
    sender="you@example.jp",
    recipient="postmaster@gmail.com",
    credentials=Credentials("you@example.jp", "pw-mock"),
    phase_timeout=1,
    timeout=5,
)
EHLO_PRE = b"250-mx.example.jp\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
EHLO_POST = b"250-mx.example.jp\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n"


def server(**faults: bytes | BaseException | None) -> Callable[[str], bytes | BaseException | None]:
    """A healthy STARTTLS submission server, except for ``faults`` keyed by event or verb."""
    state = {"tls": False}

    def handle(event: str) -> bytes | BaseException | None:
        key = event.strip("<>").split(" ", 1)[0].lower()
        if key == "connect":
            state["tls"] = False  # a new connection starts in the clear
        if key == "ehlo" and state["tls"]:
            key = "ehlo2"
        if key in faults:
            return faults[key]
        if key == "tls":
            state["tls"] = True
        return {
            "resolve": None,
            "connect": None,
            "tls": None,
            "greeting": b"220 mx.example.jp ESMTP\r\n",
            "ehlo": EHLO_PRE,
            "ehlo2": EHLO_POST,
            "starttls": b"220 2.0.0 Ready to start TLS\r\n",
            "auth": b"235 2.7.0 Authentication successful\r\n",
            "mail": b"250 2.1.0 Ok\r\n",
            "rcpt": b"250 2.1.5 Ok\r\n",
            "rset": b"250 2.0.0 Ok\r\n",
            "quit": b"221 2.0.0 Bye\r\n",
        }.get(key, b"502 5.5.2 Error: command not recognized\r\n")

    return handle


def scripted(
    answers: dict[str, bytes], healthy: Callable[[str], bytes | BaseException | None] | None = None
) -> Callable[[str], bytes | BaseException | None]:
    """``healthy`` (a healthy server by default), except the exact lines ``answers`` names."""
    rest = healthy or server()
    return lambda event: answers.get(event) or rest(event)


def probe(handler: Callable[[str], bytes | BaseException | None], spec: ProbeSpec = SPEC
          ) -> tuple[Transcript, Verdict, MockTransport]:  # fmt: skip
    transport = MockTransport(handler)
    transcript = asyncio.run(run_probe(spec, transport=transport))
    return transcript, classify(transcript, RULES), transport


def test_a_healthy_server_is_ok_in_one_flight() -> None:
    transcript, verdict, transport = probe(server())
    assert verdict.category == "ok"
    # RFC 2920: AUTH PLAIN, MAIL, RCPT, RSET and QUIT written before any reply is read.
    flight = transport.log[transport.log.index("> " + transport.sent[3]) :]
    assert [entry[0] for entry in flight] == [">"] * 5 + ["<"] * 5
    assert transport.sent[3].startswith("AUTH PLAIN ")
    assert transcript.steps[-1].phase is Phase.QUIT


def test_without_pipelining_every_command_waits_for_its_reply() -> None:
    _, verdict, transport = probe(server(), replace(SPEC, pipelining=False))
    assert verdict.category == "ok"
    directions = [entry[0] for entry in transport.log]
    assert all(a != b for a, b in itertools.pairwise(directions))


K = FailureKind
CASES: list[
    tuple[str, dict[str, bytes | BaseException | None], ProbeSpec, str, str, FailureKind]
] = [
    (
        "dns",
        {"resolve": socket.gaierror(socket.EAI_NONAME, "Name or service not known")},
        SPEC,
        "dns-failure",
        "resolve",
        K.DNS_FAILURE,
    ),
    (
        "refused",
        {"connect": ConnectionRefusedError(111, "Connection refused")},
        SPEC,
        "connect-refused",
        "connect",
        K.CONNECT_REFUSED,
    ),
    (
        "connect-timeout",
        {"connect": TimeoutError()},
        SPEC,
        "connect-timeout",
        "connect",
        K.CONNECT_TIMEOUT,
    ),
    (
        "unreachable",
        {"connect": OSError(errno.ENETUNREACH, "Network is unreachable")},
        SPEC,
        "network-unreachable",
        "connect",
        K.NETWORK_UNREACHABLE,
    ),
    (
        "handshake",
        {"tls": ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")},
        SPEC,
        "tls-handshake-failed",
        "tls",
        K.TLS_HANDSHAKE_FAILED,
    ),
    (
        "certificate",
        {"tls": ssl.SSLCertVerificationError(1, "certificate verify failed")},
        SPEC,
        "tls-certificate-invalid",
        "tls",
        K.TLS_CERTIFICATE_INVALID,
    ),
    # The second look (CheckPort) finds no TLS either: a silent server, not a wrong mode.
    (
        "greeting-timeout",
        {"greeting": None, "tls": ssl.SSLError(1, "no TLS here")},
        SPEC,
        "timeout",
        "greeting",
        K.TIMEOUT,
    ),
    (
        "reset-at-mail",
        {"mail": ConnectionResetError(104, "Connection reset by peer")},
        SPEC,
        "connection-lost",
        "mail",
        K.CONNECTION_LOST,
    ),
    (
        "garbage-at-rcpt",
        {"rcpt": b"HTTP/1.1 400 Bad Request\r\n"},
        SPEC,
        "protocol-error",
        "rcpt",
        K.MALFORMED_REPLY,
    ),
    ("999-at-ehlo", {"ehlo": b"999 what\r\n"}, SPEC, "protocol-error", "ehlo", K.MALFORMED_REPLY),
    (
        "no-starttls",
        {"ehlo": b"250-mx\r\n250 AUTH PLAIN\r\n"},
        SPEC,
        "starttls-unavailable",
        "starttls",
        K.STARTTLS_NOT_OFFERED,
    ),
    (
        "no-auth",
        {"ehlo2": b"250-mx\r\n250 SIZE 100\r\n"},
        SPEC,
        "auth-unavailable",
        "auth",
        K.AUTH_NOT_OFFERED,
    ),
    (
        "no-common-mechanism",
        {"ehlo2": b"250-mx\r\n250 AUTH GSSAPI NTLM\r\n"},
        SPEC,
        "auth-mechanism-unsupported",
        "auth",
        K.NO_COMMON_MECHANISM,
    ),
]
_PROXIED = replace(SPEC, proxy=parse_proxy("socks5h://127.0.0.1:1080"))
CASES += [
    ("proxy-refused", {"connect": ProxyConnectionError(111, "Could not connect to proxy")},
     _PROXIED, "proxy-failed", "connect", K.PROXY_REFUSED),
    ("proxy-auth", {"connect": ProxyError("Username and password authentication failure")},
     _PROXIED, "proxy-failed", "connect", K.PROXY_AUTH_FAILED),
    ("proxy-target", {"connect": ProxyError("Host unreachable", 4)},
     _PROXIED, "proxy-failed", "connect", K.PROXY_TARGET_UNREACHABLE),
    ("proxy-timeout", {"connect": ProxyTimeoutError("Proxy connection timed out")},
     _PROXIED, "proxy-failed", "connect", K.PROXY_TIMEOUT),
]  # fmt: skip


@pytest.mark.parametrize(
    ("faults", "spec", "category", "stage", "kind"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_every_failure_kind(
    faults: dict[str, bytes | BaseException | None],
    spec: ProbeSpec,
    category: str,
    stage: str,
    kind: FailureKind,
) -> None:
    transcript, verdict, _ = probe(server(**faults), spec)
    decisive = transcript.decisive_step()
    assert decisive is not None and decisive.failure is not None
    assert decisive.failure.kind is kind
    assert (verdict.category, verdict.stage) == (category, stage)


def test_every_failure_kind_has_a_case() -> None:
    covered = {case[5] for case in CASES}
    # reported-refusal comes only from explain (a program's message), never from the driver.
    assert covered == set(FailureKind) - {FailureKind.REPORTED_REFUSAL}


@pytest.mark.parametrize("pipelining", [True, False])
@pytest.mark.parametrize(
    ("faults", "category", "stage"),
    [
        ({"auth": b"535 5.7.8 Error: authentication failed\r\n"}, "auth-failed", "auth"),
        ({"auth": b"250 2.0.0 Ok\r\n"}, "protocol-error", "auth"),
        ({"auth": b"334 \r\n"}, "protocol-error", "auth"),
        ({"mail": b"550 5.7.1 <you@example.jp>... Command rejected\r\n"}, None, "mail"),
        ({"rcpt": b"554 5.7.1 <postmaster@gmail.com>: Relay access denied\r\n"}, "relay-denied",
         "rcpt"),
        ({"rcpt": ConnectionResetError(104, "reset")}, "connection-lost", "rcpt"),
        ({"rset": None}, "ok", None),
    ],
    ids=["535", "250-to-auth", "second-334", "550-mail", "554-rcpt", "reset-rcpt", "rset-hang"],
)  # fmt: skip
def test_the_verdict_is_the_same_with_and_without_pipelining(
    faults: dict[str, bytes | BaseException | None],
    category: str | None,
    stage: str | None,
    pipelining: bool,
) -> None:
    _, verdict, _ = probe(server(**faults), replace(SPEC, pipelining=pipelining))
    if category is not None:
        assert verdict.category == category
    assert verdict.stage == stage
    reference = probe(server(**faults), replace(SPEC, pipelining=not pipelining))[1]
    assert (verdict.category, verdict.stage, verdict.exit_code) == (
        reference.category,
        reference.stage,
        reference.exit_code,
    )


def test_login_is_not_pipelined_but_the_envelope_is() -> None:
    login = replace(SPEC, preferred_mechanisms=("LOGIN",))
    healthy = server()

    def handler(event: str) -> bytes | BaseException | None:
        if event.startswith("AUTH LOGIN"):
            return b"334 VXNlcm5hbWU6\r\n"
        if event in ("eW91QGV4YW1wbGUuanA=",):
            return b"334 UGFzc3dvcmQ6\r\n"
        if event == "cHctbW9jaw==":
            return b"235 2.7.0 ok\r\n"
        return healthy(event)

    transcript, verdict, transport = probe(handler, login)
    assert verdict.category == "ok" and verdict.exit_code is ExitCode.ACCEPTED
    mail = transport.log.index(next(e for e in transport.log if e.startswith("> MAIL")))
    assert [e[0] for e in transport.log[mail : mail + 8]] == [">"] * 4 + ["<"] * 4
    assert transport.log[mail - 1] == "< 235"  # the LOGIN exchange finished first
    assert "pw-mock" not in " ".join(s.command or "" for s in transcript.steps)


@pytest.mark.parametrize(
    ("mechanism", "answers"),
    [
        # 235 to the user name: the password line was never sent.
        (
            "LOGIN",
            {"AUTH LOGIN": b"334 VXNlcm5hbWU6\r\n", "eW91QGV4YW1wbGUuanA=": b"235 2.7.0 ok\r\n"},
        ),
        # 235 to AUTH LOGIN itself, and to AUTH CRAM-MD5 before the response.
        ("LOGIN", {"AUTH LOGIN": b"235 2.7.0 ok\r\n"}),
        ("CRAM-MD5", {"AUTH CRAM-MD5": b"235 2.7.0 ok\r\n"}),
    ],
)
def test_a_login_accepted_before_the_password_is_never_ok(
    mechanism: str, answers: dict[str, bytes]
) -> None:
    # RFC 4954 section 4: the server says 334 until the client has sent its credentials.
    # A 235 earlier checked no password, so the probe cannot call the account good.
    spec = replace(SPEC, preferred_mechanisms=(mechanism,))
    healthy = server(ehlo2=b"250-mx.example.jp\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n")
    _, verdict, transport = probe(scripted(answers, healthy), spec)
    assert (verdict.category, verdict.stage) == ("protocol-error", "auth")
    assert verdict.rule_id == "auth-accepted-before-credentials"
    assert verdict.exit_code is ExitCode.INCOMPLETE
    assert any("AUTH" in e for e in transport.log)
    assert not any("cHctbW9jaw==" in e for e in transport.log)  # the password never went out
    assert "before the password" in verdict.cause.en and "パスワード" in verdict.cause.ja


def test_a_refusal_of_the_user_name_is_a_refused_login() -> None:
    # A 535 to AUTH LOGIN's user name line is an answer RFC 4954 allows there.
    spec = replace(SPEC, preferred_mechanisms=("LOGIN",))
    answers = {
        "AUTH LOGIN": b"334 VXNlcm5hbWU6\r\n",
        "eW91QGV4YW1wbGUuanA=": b"535 5.7.8 Error: authentication failed\r\n",
    }
    _, verdict, _ = probe(scripted(answers), spec)
    assert (verdict.category, verdict.stage) == ("auth-failed", "auth")


def test_a_flight_cut_by_a_dropped_connection_is_retried_one_by_one() -> None:
    # A server that resets with pipelined commands unread loses replies in the kernel:
    # the cut step is marked and never decisive; the dialogue is run again without
    # pipelining, and that run decides.
    calls = {"mail": 0}
    healthy = server()

    def handler(event: str) -> bytes | BaseException | None:
        if event.startswith("MAIL"):
            calls["mail"] += 1
            if calls["mail"] == 1:
                return ConnectionResetError(104, "Connection reset by peer")
        return healthy(event)

    transcript, verdict, transport = probe(handler)
    assert verdict.category == "ok"
    assert transport.connections == 2
    retried = [s for s in transcript.steps if s.note == RETRIED]
    assert len(retried) == 1 and retried[0].phase is Phase.MAIL


def test_insecure_goes_on_over_a_second_connection() -> None:
    calls = {"tls": 0}
    healthy = server()

    def handler(event: str) -> bytes | BaseException | None:
        if event == "<tls>":
            calls["tls"] += 1
            if calls["tls"] == 1:
                return ssl.SSLCertVerificationError(1, "certificate verify failed")
        return healthy(event)

    transcript, verdict, transport = probe(handler, replace(SPEC, insecure=True))
    assert verdict.category == "tls-certificate-invalid" and verdict.exit_code is ExitCode.REFUSED
    assert transport.connections == 2
    assert transcript.tls is not None and transcript.tls.verified is False
    assert [f.id for f in verdict.findings] == ["insecure-continued"]


# --- one reply too many (RFC 5321 section 4.2: one reply per command) ---------------------
#
# A multi-line reply written without its hyphens is two replies: the next command would read
# the second as its own (RCPT a 250 meant for MAIL) while its real refusal lands on RSET,
# where 421 and 50x are allowed. A reply already waiting when a command is due is caught
# there, and that command is held back.
SURPLUS_MAIL = b"250 2.1.0 Sender ok\r\n250 2.1.0 (authenticated)\r\n"
RCPT_REFUSED = b"421 4.7.0 Too many recipients for this hour, closing connection\r\n"
CLOSED = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")  # after its 421


@pytest.mark.parametrize("pipelining", [False, True], ids=["one", "pipe"])
def test_a_surplus_reply_is_never_read_as_the_next_commands(pipelining: bool) -> None:
    spec = replace(SPEC, pipelining=pipelining)
    handler = server(mail=SURPLUS_MAIL, rcpt=RCPT_REFUSED, rset=CLOSED, quit=CLOSED)
    transcript, verdict, transport = probe(handler, spec)
    assert (verdict.category, verdict.stage, verdict.rule_id) == (
        "protocol-error",
        "rcpt",
        "reply-before-command",
    )
    assert verdict.exit_code is ExitCode.INCOMPLETE
    # Pipelined, the flight cannot tell (RSET got a 421 it may get), so the dialogue is run
    # again one command at a time, where RCPT is held back.
    assert transport.connections == (2 if pipelining else 1)
    held = [s for s in transcript.steps if s.note and "held back" in s.note]
    assert [s.phase for s in held] == [Phase.RCPT]
    assert transport.sent.count("RCPT TO:<postmaster@gmail.com>") == (1 if pipelining else 0)


def test_a_surplus_reply_without_auth_is_no_open_relay() -> None:
    spec = replace(SPEC, credentials=None, pipelining=False)
    refused = b"421 4.7.0 Relaying not permitted, closing connection\r\n"
    handler = server(mail=SURPLUS_MAIL, rcpt=refused, rset=CLOSED, quit=CLOSED)
    _, verdict, _ = probe(handler, spec)
    assert verdict.category == "protocol-error"
    assert not any(f.id == "relay-without-auth" for f in verdict.findings)


def test_a_refused_rset_after_an_accepted_flight_is_looked_at_again() -> None:
    # RSET answered 421 after an accepted flight: the dialogue is run again one command at
    # a time. That cannot show RCPT's 250 was its own either (a copy of MAIL's reply sent
    # after RCPT went out reads the same), so a 421 there again is no "ok".
    _, verdict, transport = probe(server(rset=b"421 4.3.2 Shutting down\r\n"))
    assert sum(1 for e in transport.log if e.startswith("> RCPT")) == 2
    assert (verdict.category, verdict.stage, verdict.rule_id) == (
        "protocol-error",
        "rset",
        "refused-after-acceptance",
    )


def test_a_250_sent_with_354_is_never_the_messages_acceptance() -> None:
    spec = replace(SPEC, send=True, recipient="you@example.jp")
    _, verdict, transport = probe(server(data=b"354 go\r\n250 2.0.0 queued\r\n"), spec)
    assert (verdict.category, verdict.stage, verdict.rule_id) == (
        "protocol-error",
        "data",
        "reply-before-command",
    )
    assert "> <message>" not in transport.log  # the message was never written


def test_a_235_queued_behind_the_password_prompt_is_never_ok() -> None:
    spec = replace(SPEC, preferred_mechanisms=("LOGIN",))
    answers = {
        "AUTH LOGIN": b"334 VXNlcm5hbWU6\r\n",
        "eW91QGV4YW1wbGUuanA=": b"334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n",
    }
    _, verdict, transport = probe(scripted(answers), spec)
    assert (verdict.category, verdict.stage) == ("protocol-error", "auth")
    assert not any("cHctbW9jaw==" in e for e in transport.log)


def test_a_malformed_echo_of_the_password_cut_short_never_shows_its_start() -> None:
    # A server answers AUTH with a garbled line that echoes the login; smtpprobe quotes the
    # line cut at 60 characters, in the middle of the password or of its base64.
    from smtpprobe.api import CheckOptions
    from smtpprobe.api import probe as api_probe
    from smtpprobe.render import format_json, format_text
    from smtpprobe.render.nagios import nagios

    password = "correct-horse-battery-staple"
    blob = base64.b64encode(f"\0you@example.jp\0{password}".encode()).decode()
    echoes = [
        b"Error: " + b"x" * 30 + b" password=" + password.encode() + b"\r\n",
        b"-ERR unknown command AUTH PLAIN " + blob.encode() + b"\r\n",
    ]
    for echo in echoes:
        healthy = server(auth=echo)
        options = CheckOptions(
            host="smtp.example.jp", port=587, security="starttls", user="you@example.jp",
            password=password, egress_lookup=False, dns_checks=False, phase_timeout=1,
        )  # fmt: skip
        report = asyncio.run(api_probe(options, transport=MockTransport(healthy)))
        assert report.verdict.category == "protocol-error"
        shown = format_text(report) + format_text(report, "ja") + format_json(report)
        shown += nagios(report)[0]
        assert password[:5] not in shown and blob[:8] not in shown


@pytest.mark.parametrize(
    ("final", "category"),
    [(b"235 2.7.0 Accepted", "protocol-error"),
     (b"535 5.7.8 Username and Password not accepted", "auth-failed")],
)  # fmt: skip
def test_a_235_after_the_xoauth2_error_challenge_is_never_ok(final: bytes, category: str) -> None:
    # RFC 7628 section 3.2.3: after the 334 error and the client's empty line, a failure.
    spec = replace(
        SPEC,
        credentials=Credentials("you@example.jp", None, "ya29.token-mock"),
        preferred_mechanisms=("XOAUTH2",),
    )
    error = base64.b64encode(b'{"status":"401","schemes":"bearer"}')
    healthy = server(ehlo2=b"250-mx.example.jp\r\n250 AUTH XOAUTH2\r\n")

    def handler(event: str) -> bytes | BaseException | None:
        if event.startswith("AUTH XOAUTH2"):
            return b"334 " + error + b"\r\n"
        if event == "":
            return final + b"\r\n"
        return healthy(event)

    _, verdict, _ = probe(handler, spec)
    assert (verdict.category, verdict.stage) == (category, "auth"), verdict


@pytest.mark.parametrize(
    ("rcpt", "category", "rule"),
    [
        # A success whose last line carries a failure enhanced code (RFC 2034 section 3).
        (b"250-2.1.5 <x> ok\r\n250 5.7.1 <x>: Relay access denied\r\n", "protocol-error",
         "contradictory-reply"),
        # Postfix's text for a recipient missing from relay_recipient_maps: no such user.
        (b"550 5.1.1 <x>: Recipient address rejected: User unknown in relay recipient table\r\n",
         "recipient-unknown", "recipient-unknown"),
        # The probed server refusing this client's address for want of reverse DNS.
        (b"450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]\r\n",
         "client-ip-rejected", "client-ip-rejected-no-ptr"),
    ],
    ids=["contradictory-last-line", "relay-recipient-table", "client-ptr"],
)  # fmt: skip
def test_rcpt_replies_found_by_a_red_team_server(rcpt: bytes, category: str, rule: str) -> None:
    _, verdict, _ = probe(server(rcpt=rcpt))
    assert (verdict.category, verdict.rule_id) == (category, rule)


@pytest.mark.parametrize(
    ("ehlo", "rule"),
    [
        (EHLO_PRE, "wrong-mode-implicit-tls-on-starttls-port"),
        (b"250-mx.example.jp\r\n250 AUTH PLAIN\r\n", "wrong-mode-implicit-tls-on-plain-port"),
    ],
    ids=["offers-starttls", "no-starttls"],
)
def test_implicit_tls_on_a_plaintext_port_says_whether_it_offers_starttls(
    ehlo: bytes, rule: str
) -> None:
    # The second look reads the greeting and the EHLO reply: "expects STARTTLS" only where
    # the port lists it (RFC 3207 section 4); otherwise the port has no encryption at all.
    spec = replace(SPEC, port=2525, security=Security.IMPLICIT_TLS)
    wrong = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    _, verdict, _ = probe(server(tls=wrong, ehlo=ehlo), spec)
    assert (verdict.category, verdict.rule_id) == ("wrong-security-mode", rule)


def test_a_flight_cut_before_auths_reply_is_not_retried() -> None:
    # A server that hangs up on the pipelined AUTH may have refused the login: a retry one
    # command at a time would be a second failed login, which lockouts count.
    handler = server(auth=ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"))
    transcript, verdict, transport = probe(handler)
    assert sum(1 for e in transport.log if e.startswith("> AUTH")) == 1
    assert (verdict.category, verdict.stage) == ("connection-lost", "auth")
    assert transcript.login_refused


@pytest.mark.parametrize(
    ("auth", "refused"),
    [
        (b"535 5.7.8 Too many failed login attempts, account temporarily locked\r\n", True),
        (b"535 5.7.8 Error: authentication failed\r\n", True),
        (b"454 4.7.0 Temporary authentication failure\r\n", False),
        (b"235 2.7.0 ok\r\n", False),
    ],
)
def test_a_refused_login_is_known_whatever_the_rule_calls_it(auth: bytes, refused: bool) -> None:
    transcript, _, _ = probe(server(auth=auth))
    assert transcript.login_refused is refused


def test_a_refused_login_of_another_name_locks_the_credential_out() -> None:
    from smtpprobe.core.timeline import HistoryRow, lockout_tag

    rows = [HistoryRow("c", "2026-01-01T00:00:00Z", "rate-limited", stage="auth", exit_code=1,
                       credential_tag="t1", login_refused=True)]  # fmt: skip
    assert lockout_tag(rows) == "t1"
    rows[0] = replace(rows[0], login_refused=False)
    assert lockout_tag(rows) is None


def test_through_a_proxy_a_closed_connection_is_not_blamed_on_the_server() -> None:
    # The socket's other end is the proxy: either side may have closed it.
    spec = replace(SPEC, proxy=parse_proxy("socks5h://127.0.0.1:1080"))
    _, verdict, _ = probe(server(ehlo=ConnectionResetError(errno.ECONNRESET, "reset")), spec)
    assert (verdict.category, verdict.rule_id) == ("connection-lost", "connection-lost-via-proxy")
    assert "the proxy or smtp.example.jp" in verdict.cause.en


def test_an_address_that_is_no_proxy_is_named_so() -> None:
    # python-socks reading an SMTP greeting as a SOCKS reply ("2" of "220" is 0x32 = 50).
    spec = replace(SPEC, proxy=parse_proxy("socks5h://127.0.0.1:25"))
    failure = ProxyError("Unexpected SOCKS version number: 50")
    _, verdict, _ = probe(server(connect=failure), spec)
    assert (verdict.category, verdict.rule_id) == ("proxy-failed", "proxy-not-a-proxy")


@pytest.mark.parametrize(
    ("security", "no_auth", "category"),
    [
        (Security.STARTTLS, False, "starttls-unavailable"),
        (Security.IMPLICIT_TLS, False, "auth-unavailable"),
        (Security.STARTTLS, True, "protocol-error"),
    ],
)
def test_a_server_that_does_not_know_ehlo(security: Security, no_auth: bool, category: str) -> None:
    # RFC 5321 section 3.2: 500/502 to EHLO is a server without ESMTP: no STARTTLS, no AUTH.
    spec = replace(SPEC, security=security, credentials=None if no_auth else SPEC.credentials)
    refused = b"502 5.5.2 Error: command not recognized\r\n"
    _, verdict, _ = probe(server(ehlo=refused, ehlo2=refused), spec)
    assert (verdict.category, verdict.stage) == (category, "ehlo")


def test_send_declares_the_messages_size_where_the_server_takes_it() -> None:
    # RFC 1870 section 6: a server whose limit the message exceeds refuses it at MAIL (552),
    # before any data; without --send, or without SIZE offered, no SIZE parameter.
    sized = b"250-mx.example.jp\r\n250-SIZE 100\r\n250 AUTH PLAIN LOGIN\r\n"
    spec = replace(SPEC, send=True, recipient="you@example.jp", pipelining=False)
    refused = b"552 5.3.4 Message size exceeds fixed limit\r\n"
    _, verdict, transport = probe(server(ehlo2=sized, mail=refused), spec)
    (mail,) = [e for e in transport.log if e.startswith("> MAIL")]
    assert mail.startswith("> MAIL FROM:<you@example.jp> SIZE=") and int(mail.split("=")[-1]) > 100
    assert (verdict.category, verdict.stage) == ("message-too-large", "mail")
    assert "> <message>" not in transport.log
    _, _, plain = probe(server(ehlo2=sized), replace(SPEC, pipelining=False))
    assert "> MAIL FROM:<you@example.jp>" in plain.log  # no --send: nothing to declare


def test_auth_missing_after_starttls_or_listed_empty_is_said_as_it_is() -> None:
    # A red-team server listed AUTH before STARTTLS only, another "250-AUTH" with nothing
    # after it: both were told "no AUTH in its EHLO reply … probably meant for MX".
    only_before = server(
        ehlo=b"250-mx.example.jp\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n",
        ehlo2=b"250-mx.example.jp\r\n250 PIPELINING\r\n",
    )
    _, verdict, _ = probe(only_before)
    assert (verdict.category, verdict.rule_id) == (
        "auth-unavailable",
        "auth-offered-only-before-tls",
    )
    assert "(PLAIN LOGIN)" in verdict.cause.en and "MX" not in verdict.cause.en
    _, verdict, _ = probe(server(ehlo2=b"250-mx.example.jp\r\n250 AUTH\r\n"))
    assert (verdict.category, verdict.rule_id) == (
        "auth-unavailable",
        "auth-listed-without-mechanisms",
    )
    _, verdict, _ = probe(server(ehlo2=b"250-mx.example.jp\r\n250 PIPELINING\r\n"))
    assert verdict.rule_id == "auth-not-offered"  # never offered: the MX reading stands


def test_a_port_that_closes_at_once_on_the_second_look_is_not_called_silent() -> None:
    # A red-team server closed the plaintext second look at once (1.5 ms); the step said
    # "timeout: no greeting".
    spec = replace(SPEC, port=2525, security=Security.IMPLICIT_TLS)
    wrong = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    reset = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    transcript, _, _ = probe(server(tls=wrong, greeting=reset), spec)
    (look,) = [s for s in transcript.steps if s.phase is Phase.SECURITY_CHECK]
    assert look.failure is not None
    assert look.failure.kind is FailureKind.CONNECTION_LOST
    assert look.failure.detail.startswith("closed before a greeting")


def test_a_server_whose_pipelining_breaks_is_told_apart_from_a_refusal() -> None:
    # A red-team server answered the pipelined MAIL twice; the retry one command at a time
    # was accepted, yet the remedy said "try again with --no-pipelining".
    healthy, connections = server(), {"n": 0}

    def handler(event: str) -> bytes | BaseException | None:
        key = event.strip("<>").split(" ", 1)[0].lower()
        connections["n"] += key == "connect"
        if connections["n"] == 1 and key in ("mail", "rcpt"):
            # One reply too many in the flight: RCPT reads MAIL's copy, RSET RCPT's refusal.
            return {
                "mail": b"250 2.1.0 Ok\r\n250 2.1.0 Ok\r\n",
                "rcpt": b"554 5.7.1 <postmaster@gmail.com>: Relay access denied\r\n",
            }[key]
        return healthy(event)

    _, verdict, _ = probe(handler)
    assert connections["n"] == 2
    assert (verdict.category, verdict.rule_id, verdict.exit_code) == (
        "protocol-error",
        "pipelining-broken",
        ExitCode.INCOMPLETE,
    )
    assert "accepted" in verdict.cause.en and "--no-pipelining" not in verdict.remedy.en
    # Refused one at a time as well: the out-of-step reading stands.
    refusing = server(
        mail=b"250 2.1.0 Ok\r\n250 2.1.0 Ok\r\n",
        rcpt=b"554 5.7.1 <postmaster@gmail.com>: Relay access denied\r\n",
    )
    assert probe(refusing)[1].rule_id != "pipelining-broken"


def test_a_421_sent_unasked_after_a_refusal_leaves_the_refusal() -> None:
    # RFC 5321 section 3.8: a server may send 421 at any time and close. A red-team server
    # sent "535 …" and "421 … closing" together: the 421, read before QUIT, turned an
    # auth-failed into "one reply too many".
    refused = server(
        auth=b"535 5.7.8 Error: authentication failed\r\n421 4.7.0 Too many errors\r\n"
    )
    _, verdict, _ = probe(refused, replace(SPEC, pipelining=False))
    assert (verdict.category, verdict.stage) == ("auth-failed", "auth")
