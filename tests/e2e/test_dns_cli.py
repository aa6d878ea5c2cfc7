"""``smtpprobe dns`` and ``smtpprobe spf`` end to end, against a real DNS server on loopback.

Every query goes to ``smtpprobe.testing.dnsserver.DnsServer`` on 127.0.0.1 through
``--nameserver``: nothing leaves loopback. The zones are test data (example.jp,
192.0.2.0/24, 2001:db8::/32), shaped after the user's seeds: a Sakura rental server whose
customer domain's SPF names another server (seed 003: ``v=spf1 a:www***.sakura.ne.jp mx
~all``), Gmail's 550-5.7.26 cases (seeds 002, 004).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from smtpprobe.testing.dnsserver import DnsServer

from .conftest import CLI

SERVER = "www1234.sakura.ne.jp"  # the customer's Sakura server (test data)
SERVER_IP = "192.0.2.10"


def _dkim_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def _zone() -> dict[str, Any]:
    chain = {
        f"l{i}.example.net": {"TXT": [f"v=spf1 include:l{i + 1}.example.net -all"]}
        for i in range(12)
    }
    return {
        # SPF names another Sakura server: Gmail's 550-5.7.26 waits for this one.
        "example.jp": {
            "TXT": ["v=spf1 a:www9999.sakura.ne.jp mx ~all"],
            "MX": [(10, "mx.example.jp")],
        },
        "mx.example.jp": {"A": ["192.0.2.25"]},
        # The same domain, fixed as Sakura recommends.
        "fixed.example.jp": {
            "TXT": [f"v=spf1 a:{SERVER} mx ~all"],
            "MX": [(10, "mx.example.jp")],
        },
        # No SPF record at all.
        "bare.example.jp": {"MX": [(10, "mx.example.jp")], "A": ["192.0.2.80"]},
        # p=reject, SPF with -all naming only another address, no DKIM key.
        "strict.example.jp": {"TXT": ["v=spf1 ip4:192.0.2.200 -all"]},
        "_dmarc.strict.example.jp": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@example.jp"]},
        # The same, but a DKIM key is published for the selector given.
        "signed.example.jp": {"TXT": ["v=spf1 ip4:192.0.2.200 -all"]},
        "_dmarc.signed.example.jp": {"TXT": ["v=DMARC1; p=reject"]},
        "s1._domainkey.signed.example.jp": {"TXT": [_dkim_key()]},
        # 12 nested includes: over RFC 7208's limit of 10 DNS-querying terms.
        "deep.example.jp": {"TXT": ["v=spf1 include:l0.example.net -all"]},
        **chain,
        "l12.example.net": {"TXT": ["v=spf1 -all"]},
        # An explanation (exp=, RFC 7208 §6.2).
        "exp.example.jp": {"TXT": ["v=spf1 -all exp=why.example.jp"]},
        "why.example.jp": {"TXT": ["%{i} is not one of our servers"]},
        # DNS failures.
        "broken.example.jp": "SERVFAIL",
        "slow.example.jp": "TIMEOUT",
        # The sending servers.
        SERVER: {"A": [SERVER_IP]},
        "www9999.sakura.ne.jp": {"A": ["192.0.2.99"]},
        "10.2.0.192.in-addr.arpa": {"PTR": [SERVER]},
        # Another sending address with forward and reverse DNS that match.
        "50.2.0.192.in-addr.arpa": {"PTR": ["out.example.jp"]},
        "out.example.jp": {"A": ["192.0.2.50"]},
        # A relay with only an internal address (not the one Gmail sees).
        "relay.example.net": {"A": ["10.0.0.25"]},
    }


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(_zone()) as server:
        yield server


def _run(cli: CLI, server: DnsServer, *args: str) -> Any:
    return cli.run(*args, "--nameserver", server.nameserver, "--dns-timeout", "1")


def test_sakura_domain_without_the_server_is_unauthenticated(
    cli: CLI, dns_server: DnsServer
) -> None:
    result = _run(cli, dns_server, "dns", "example.jp", "--server", SERVER, "--json")
    assert result.code == 1, result.both
    doc = result.json()
    assert doc["schema"] == "smtpprobe/dns/v1"
    assert doc["verdict"]["category"] == "unauthenticated-sender"
    # The existing record kept, the server added by name before the all term.
    want = f"v=spf1 a:www9999.sakura.ne.jp mx a:{SERVER} ~all"
    assert doc["record_to_publish"] == want
    assert want in doc["verdict"]["remedy"]["en"] and want in doc["verdict"]["remedy"]["ja"]
    spf = doc["spf"]["results"][0]
    assert (spf["ip"], spf["host"], spf["result"], spf["mechanism"]) == (
        SERVER_IP, SERVER, "softfail", "~all",
    )  # fmt: skip
    cause = doc["verdict"]["cause"]["en"]
    assert SERVER_IP in cause and "'~all'" in cause
    assert doc["fcrdns"] == [{"ip": SERVER_IP, "status": "pass", "names": [SERVER]}]
    statuses = {r["id"]: r["status"] for r in doc["gmail_requirements"]}
    assert statuses["spf"] == "fail" and statuses["fcrdns"] == "pass"
    assert statuses["spam-rate"] == "not-checkable"
    alignment = next(r for r in doc["gmail_requirements"] if r["id"] == "alignment")
    assert "SPF alignment cannot hold" in json.dumps(alignment), alignment

    text = _run(cli, dns_server, "dns", "example.jp", "--server", SERVER, "--lang", "en")
    assert text.code == 1
    assert f"SPF record to publish: {want}" in text.out
    assert "Verdict: unauthenticated-sender" in text.out
    assert "not checkable from here" in text.out


def test_no_spf_record_gets_sakuras_recommended_shape(cli: CLI, dns_server: DnsServer) -> None:
    result = _run(cli, dns_server, "dns", "bare.example.jp", "--server", SERVER, "--lang", "en")
    assert result.code == 1, result.both
    assert f"SPF record to publish: v=spf1 a:{SERVER} mx ~all" in result.out
    assert "sakura.ad.jp/information/announcements/2023/06/05" in result.out


def test_the_fixed_domain_is_ok(cli: CLI, dns_server: DnsServer) -> None:
    result = _run(cli, dns_server, "dns", "fixed.example.jp", "--server", SERVER, "--json")
    assert result.code == 0, result.both
    doc = result.json()
    assert doc["verdict"]["category"] == "ok"
    assert doc["record_to_publish"] is None
    assert doc["spf"]["results"][0]["result"] == "pass"
    alignment = next(r for r in doc["gmail_requirements"] if r["id"] == "alignment")
    assert alignment["status"] == "pass" and "SPF alignment can hold" in json.dumps(alignment)


def test_reject_policy_without_aligned_spf_or_dkim_is_dmarc_rejected(
    cli: CLI, dns_server: DnsServer
) -> None:
    result = _run(cli, dns_server, "dns", "strict.example.jp", "--ip", "192.0.2.50", "--json")
    assert result.code == 1, result.both
    doc = result.json()
    assert doc["verdict"]["category"] == "dmarc-rejected"
    assert doc["dmarc"]["policy"] == "reject"
    # Not a per-contract server: the address itself.
    assert doc["record_to_publish"] == "v=spf1 ip4:192.0.2.200 ip4:192.0.2.50 -all"
    assert "p=reject" in doc["verdict"]["cause"]["en"]


def test_a_dkim_key_keeps_the_domain_authenticated(cli: CLI, dns_server: DnsServer) -> None:
    result = _run(
        cli, dns_server, "dns", "signed.example.jp", "--ip", "192.0.2.50",
        "--dkim-selector", "s1", "--json",
    )  # fmt: skip
    assert result.code == 0, result.both
    doc = result.json()
    assert doc["verdict"]["category"] == "ok"
    assert doc["dkim"][0]["status"] == "valid" and doc["dkim"][0]["bits"] == 2048
    findings = [f["id"] for f in doc["verdict"]["findings"]]
    assert "spf-not-passing" in findings


def test_lookup_limit_overflow_is_an_explained_permerror(cli: CLI, dns_server: DnsServer) -> None:
    result = _run(cli, dns_server, "dns", "deep.example.jp", "--ip", "192.0.2.50", "--json")
    assert result.code == 1, result.both
    doc = result.json()
    spf = doc["spf"]["results"][0]
    assert spf["result"] == "permerror"
    assert "more than 10 DNS-querying terms" in spf["reason"]
    assert doc["verdict"]["category"] == "unauthenticated-sender"
    assert "permerror" in doc["verdict"]["cause"]["en"]
    assert "at most 10" in doc["verdict"]["remedy"]["en"]
    assert doc["record_to_publish"] is None  # a broken record is repaired first

    spf_run = _run(cli, dns_server, "spf", "--ip", "192.0.2.50", "--sender", "a@deep.example.jp")
    assert spf_run.code == 1
    assert "Result: permerror" in spf_run.out
    assert "more than 10 DNS-querying terms" in spf_run.out
    assert "include:l0.example.net" in spf_run.out  # the chain is shown


def test_spf_json_has_result_explanation_and_reason(cli: CLI, dns_server: DnsServer) -> None:
    result = _run(
        cli, dns_server, "spf", "--ip", "192.0.2.7", "--sender", "x@exp.example.jp", "--json"
    )
    assert result.code == 1, result.both
    doc = result.json()
    assert doc["schema"] == "smtpprobe/spf/v1"
    assert doc["result"] == "fail"
    assert doc["explanation"] == "192.0.2.7 is not one of our servers"
    assert doc["reason"] and doc["reason"] != doc["explanation"]
    assert doc["mechanism"] == "-all"

    passing = _run(
        cli, dns_server, "spf", "--ip", SERVER_IP, "--sender", "x@fixed.example.jp", "--json"
    )
    assert passing.code == 0
    assert (passing.json()["result"], passing.json()["explanation"]) == ("pass", "")


def test_null_sender_is_postmaster_at_helo(cli: CLI, dns_server: DnsServer) -> None:
    result = _run(
        cli, dns_server, "spf", "--ip", SERVER_IP, "--sender", "", "--helo", "fixed.example.jp",
        "--json",
    )  # fmt: skip
    assert result.code == 0, result.both
    doc = result.json()
    assert (doc["sender"], doc["domain"]) == ("postmaster@fixed.example.jp", "fixed.example.jp")

    missing = _run(cli, dns_server, "spf", "--ip", SERVER_IP, "--sender", "")
    assert missing.code == 2
    assert "--helo" in missing.err and "Traceback" not in missing.both


def test_japanese_throughout(cli: CLI, dns_server: DnsServer) -> None:
    result = _run(cli, dns_server, "dns", "example.jp", "--server", SERVER, "--lang", "ja")
    assert result.code == 1
    out = result.out
    assert "判定: 送信ドメイン認証の不足（unauthenticated-sender）" in out
    assert "設定する SPF レコード: v=spf1" in out
    assert "ここからは確認できません" in out
    for english in ("Verdict", "Cause", "Remedy", "not checkable", "matched ~all"):
        assert english not in out

    spf = _run(cli, dns_server, "spf", "--ip", "192.0.2.50", "--sender", "a@deep.example.jp",
               "--lang", "ja")  # fmt: skip
    assert "結果: permerror" in spf.out and "DNS を参照する記述が 10 個を超えています" in spf.out


@pytest.mark.parametrize("domain", ["broken.example.jp", "slow.example.jp"])
def test_dns_failures_are_temperror_never_a_traceback(
    cli: CLI, dns_server: DnsServer, domain: str
) -> None:
    result = _run(cli, dns_server, "dns", domain, "--ip", "192.0.2.50", "--lang", "en")
    assert result.code == 3, result.both
    assert "Traceback" not in result.both
    verdict = [line for line in result.out.splitlines() if line.startswith("Verdict:")]
    assert verdict == ["Verdict: temporary-failure"]
    assert "temperror" in result.out

    doc = json.loads(
        _run(cli, dns_server, "spf", "--ip", "192.0.2.50", "--sender", f"a@{domain}", "--json").out
    )
    assert (doc["result"], doc["exit_code"]) == ("temperror", 3)


def test_unreachable_nameserver_is_temperror(cli: CLI, unused_port: int) -> None:
    result = cli.run(
        "dns", "example.jp", "--ip", "192.0.2.50", "--nameserver", f"127.0.0.1:{unused_port}",
        "--dns-timeout", "0.5", "--json",
    )  # fmt: skip
    assert result.code == 3, result.both
    assert result.json()["verdict"]["category"] == "temporary-failure"


def test_no_server_or_ip_is_a_usage_error_never_ok(cli: CLI, dns_server: DnsServer) -> None:
    # SPF is judged for the address that sends: without one, "ok" would be a false pass.
    for args in (("--json",), ("--server", " ", "--lang", "en")):
        result = _run(cli, dns_server, "dns", "fixed.example.jp", *args)
        assert result.code == 2, result.both
        assert result.out == "" and result.err.count("\n") == 1
        assert "give --server HOST (your submission server) or --ip IP" in result.err
        assert "SPF is judged for the address that sends" in result.err


@pytest.mark.parametrize(
    ("host", "retryable"), [("gone.example.jp", False), ("broken.example.jp", True)]
)
def test_a_server_that_does_not_resolve_is_a_dns_failure(
    cli: CLI, dns_server: DnsServer, host: str, retryable: bool
) -> None:
    result = _run(cli, dns_server, "dns", "fixed.example.jp", "--server", host, "--json")
    assert result.code == 3, result.both
    verdict = result.json()["verdict"]
    assert (verdict["category"], verdict["retryable"]) == ("dns-failure", retryable)
    assert host in verdict["cause"]["en"] and host in verdict["cause"]["ja"]
    assert result.json()["spf"]["results"] == []

    # Beside a server that passes, the one that did not resolve still decides: never ok.
    both = _run(
        cli, dns_server, "dns", "fixed.example.jp", "--server", SERVER, "--server", host,
        "--lang", "en",
    )  # fmt: skip
    assert both.code == 3, both.both
    assert "Verdict: dns-failure" in both.out and host in both.out
    assert f"SPF {SERVER_IP} ({SERVER}): pass" in both.out

    ja = _run(cli, dns_server, "dns", "fixed.example.jp", "--server", host, "--lang", "ja")
    assert ja.code == 3 and "名前解決の失敗（dns-failure）" in ja.out and host in ja.out


@pytest.mark.parametrize(
    "args",
    [
        ("dns", "example.jp", "--ip", "not-an-ip"),
        ("dns", "example.jp", "--ip", "192.0.2.1", "--nameserver", "nameserver.example.jp"),
        ("spf", "--ip", "192.0.2.1", "--sender", "no-at-sign"),
        ("dns", "user@example.jp"),
    ],
)
def test_usage_errors_are_one_line_exit_2(cli: CLI, args: tuple[str, ...]) -> None:
    result = cli.run(*args)
    assert result.code == 2, result.both
    assert result.err.count("\n") == 1 and "Traceback" not in result.both


# --------------------------------------------------------------------------- beside check


def _smtp(event: str) -> bytes | BaseException | None:
    """A healthy STARTTLS submission server (``MockTransport``: no socket, no DNS)."""
    verb = event.strip("<>").split(" ", 1)[0].lower()
    replies: dict[str, bytes | None] = {
        "resolve": None, "connect": None, "tls": None,
        "greeting": b"220 www1234.sakura.ne.jp ESMTP\r\n",
        "ehlo": b"250-www1234.sakura.ne.jp\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n",
        "starttls": b"220 2.0.0 Ready to start TLS\r\n",
        "auth": b"235 2.7.0 Authentication successful\r\n",
        "mail": b"250 2.1.0 Ok\r\n", "rcpt": b"250 2.1.5 Ok\r\n",
        "rset": b"250 2.0.0 Ok\r\n", "quit": b"221 2.0.0 Bye\r\n",
    }  # fmt: skip
    return replies.get(verb, b"502 5.5.2 Error: command not recognized\r\n")


def _check(dns_server: DnsServer, **options: Any) -> Any:
    import asyncio
    import socket

    from smtpprobe.api import CheckOptions, probe
    from smtpprobe.testing.transport import MockTransport

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))  # the egress lookup: an unused loopback port
        egress = f"127.0.0.1:{sock.getsockname()[1]}"
    values: dict[str, Any] = {
        "profile": "sakura", "host": SERVER, "user": "you@example.jp", "password": "pw-mock",
        "recipient": "postmaster@example.net", "phase_timeout": 2.0, "timeout": 10.0,
        "egress_resolvers": egress, "egress_timeout": 0.5,
        "nameservers": (dns_server.nameserver,),
    }  # fmt: skip
    values.update(options)
    return asyncio.run(probe(CheckOptions(**values), transport=MockTransport(_smtp)))


def test_check_adds_the_dns_verdict_for_a_custom_domain(dns_server: DnsServer) -> None:
    from smtpprobe.render import format_json

    report = _check(dns_server)
    assert report.verdict.category == "ok" and report.exit_code == 0  # the probe's own verdict
    assert report.dns_auth is not None
    assert report.dns_auth.verdict.category == "unauthenticated-sender"
    finding = next(f for f in report.verdict.findings if f.id == "dns-auth")
    assert f"v=spf1 a:www9999.sakura.ne.jp mx a:{SERVER} ~all" in finding.message.en
    doc = json.loads(format_json(report))
    assert doc["dns_auth"]["verdict"]["category"] == "unauthenticated-sender"
    assert doc["dns_auth"]["spf"]["results"][0]["ip"] == SERVER_IP

    fixed = _check(dns_server, user="you@fixed.example.jp")
    assert fixed.dns_auth.verdict.category == "ok"
    assert not [f for f in fixed.verdict.findings if f.id == "dns-auth"]


@pytest.mark.parametrize(
    "options",
    [
        {"dns_checks": False},  # --no-dns-checks
        {"egress_lookup": False},  # offline: --no-egress-lookup
        {"user": "you@www1234.sakura.ne.jp"},  # the provider's own domain
        {"nameservers": ()},  # an example domain, no nameserver given: never the public DNS
    ],
)
def test_check_leaves_dns_alone_when_it_does_not_apply(
    dns_server: DnsServer, options: dict[str, Any]
) -> None:
    before = len(dns_server.queries)
    report = _check(dns_server, **options)
    assert report.dns_auth is None
    assert len(dns_server.queries) == before


@pytest.mark.parametrize("host", ["relay.example.net", "gone.example.net"])
def test_check_gives_no_dns_verdict_without_an_address(dns_server: DnsServer, host: str) -> None:
    # The DNS checks ran (queries were sent) but judged no address: no verdict, never "ok".
    before = len(dns_server.queries)
    report = _check(dns_server, profile=None, host=host)
    assert len(dns_server.queries) > before
    assert report.dns_auth is None
    assert not [f for f in report.verdict.findings if f.id == "dns-auth"]
