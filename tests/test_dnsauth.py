"""``smtpprobe.dnsauth`` over the in-memory ``ZoneResolver``; ``core.dnsverdict`` on plain data."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smtpprobe.core.dnsverdict import DkimCheck, DmarcCheck, decide
from smtpprobe.dnsauth import (
    DnsAuth,
    Sender,
    check_domain,
    is_custom_domain,
    known_selectors,
    mechanism_for,
    per_contract_server,
    record_to_publish,
)
from smtpprobe.loading import load_profiles
from smtpprobe.psl import organizational_domain_psl
from smtpprobe.testing.zone import ZoneResolver

PROFILES = load_profiles(())


@pytest.mark.parametrize(
    ("existing", "adding", "has_mx", "want"),
    [
        # Sakura's recommended shape when there is no record (seed 003).
        (None, ["a:www1234.sakura.ne.jp"], True, "v=spf1 a:www1234.sakura.ne.jp mx ~all"),
        (None, ["ip4:192.0.2.10"], False, "v=spf1 ip4:192.0.2.10 ~all"),
        # Existing terms kept, the new one before the all term, its qualifier untouched.
        ("v=spf1 mx -all", ["ip4:192.0.2.10"], True, "v=spf1 mx ip4:192.0.2.10 -all"),
        (
            "v=spf1 +a:sv1.xserver.jp +mx include:spf.sender.xserver.jp ~all",
            ["ip6:2001:db8::25"],
            True,
            "v=spf1 +a:sv1.xserver.jp +mx include:spf.sender.xserver.jp ip6:2001:db8::25 ~all",
        ),
        # No all term: before redirect= (mechanisms are tried first), else at the end.
        ("v=spf1 mx redirect=_spf.example.jp", ["ip4:192.0.2.1"], True,
         "v=spf1 mx ip4:192.0.2.1 redirect=_spf.example.jp"),
        ("v=spf1 mx", ["ip4:192.0.2.1"], True, "v=spf1 mx ip4:192.0.2.1"),
        # Already there: nothing to publish.
        ("v=spf1 ip4:192.0.2.1 -all", ["ip4:192.0.2.1"], True, None),
    ],
)  # fmt: skip
def test_record_to_publish(
    existing: str | None, adding: list[str], has_mx: bool, want: str | None
) -> None:
    assert record_to_publish(existing, adding, has_mx=has_mx) == want


def test_mechanism_by_name_only_for_per_contract_servers() -> None:
    sakura = PROFILES.for_host("www1234.sakura.ne.jp")
    assert per_contract_server(sakura, "www1234.sakura.ne.jp")
    assert not per_contract_server(PROFILES.get("ocn"), "smtp.ocn.ne.jp")
    named = Sender("192.0.2.10", "www1234.sakura.ne.jp", by_name=True)
    assert mechanism_for(named) == "a:www1234.sakura.ne.jp"
    assert mechanism_for(Sender("192.0.2.10", "smtp.example.jp")) == "ip4:192.0.2.10"
    assert mechanism_for(Sender("2001:db8::25")) == "ip6:2001:db8::25"


def test_custom_domain_and_known_selectors() -> None:
    org = organizational_domain_psl
    ocn, gmail = PROFILES.get("ocn"), PROFILES.get("gmail")
    assert not is_custom_domain("example.ocn.ne.jp", "smtp.ocn.ne.jp", ocn, org)
    assert not is_custom_domain("gmail.com", "smtp.gmail.com", gmail, org)
    assert is_custom_domain("example.jp", "smtp.gmail.com", gmail, org)
    assert not is_custom_domain("www1234.sakura.ne.jp", "www1234.sakura.ne.jp", None, org)
    assert is_custom_domain("example.jp", "www1234.sakura.ne.jp", None, org)
    assert known_selectors(gmail) == ("google",)  # Google's "DKIM selectors" page
    assert known_selectors(ocn) == ()


def _check(zone: dict[str, Any], **kw: Any) -> DnsAuth:
    return asyncio.run(check_domain("example.jp", ZoneResolver(zone), **kw))


BASE = {
    "www1234.sakura.ne.jp": {"A": ["192.0.2.10"], "AAAA": ["2001:db8::10"]},
    # Its reverse names (Gmail refuses a sender without them: 550-5.7.25).
    "10.2.0.192.in-addr.arpa": {"PTR": ["www1234.sakura.ne.jp"]},
    "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": {
        "PTR": ["www1234.sakura.ne.jp"]
    },
    "mx.example.jp": {"A": ["192.0.2.25"]},
}


def test_both_addresses_of_a_server_are_judged_and_added_once() -> None:
    auth = _check(
        {**BASE, "example.jp": {"TXT": ["v=spf1 mx -all"], "MX": [[10, "mx.example.jp"]]}},
        servers=[("www1234.sakura.ne.jp", True)],
    )
    assert [c.sender.ip for c in auth.spf] == ["192.0.2.10", "2001:db8::10"]
    assert {c.result for c in auth.spf} == {"fail"}
    assert auth.record_to_publish == "v=spf1 mx a:www1234.sakura.ne.jp -all"
    assert auth.verdict.category == "unauthenticated-sender"
    assert auth.verdict.exit_code == 1


def test_a_named_server_at_the_lookup_limit_is_published_by_address() -> None:
    includes = " ".join(f"include:i{n}.example.jp" for n in range(9))
    zone: dict[str, Any] = {**BASE, "example.jp": {"TXT": [f"v=spf1 {includes} -all"]}}
    zone.update({f"i{n}.example.jp": {"TXT": ["v=spf1 -all"]} for n in range(9)})
    auth = _check(zone, servers=[("www1234.sakura.ne.jp", True)])
    assert auth.record_to_publish is not None
    assert "a:www1234.sakura.ne.jp" not in auth.record_to_publish
    assert "ip4:192.0.2.10 ip6:2001:db8::10 -all" in auth.record_to_publish


def test_two_spf_records_are_repaired_first() -> None:
    auth = _check(
        {**BASE, "example.jp": {"TXT": ["v=spf1 mx -all", "v=spf1 a -all"]}},
        ips=["192.0.2.10"],
    )
    assert auth.spf_records == 2 and auth.record_to_publish is None
    assert auth.spf[0].result == "permerror"
    assert "Repair the SPF record" in auth.verdict.remedy.en


def test_quarantine_is_dmarc_rejected_and_testing_mode_is_not() -> None:
    zone = {**BASE, "example.jp": {"TXT": ["v=spf1 -all"]},
            "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=quarantine"]}}  # fmt: skip
    assert _check(zone, ips=["192.0.2.10"]).verdict.category == "dmarc-rejected"
    zone["_dmarc.example.jp"] = {"TXT": ["v=DMARC1; p=quarantine; t=y"]}
    # t=y (RFC 9989 §4.7): receivers apply the next lower policy, none; SPF still fails.
    assert _check(zone, ips=["192.0.2.10"]).verdict.category == "unauthenticated-sender"


def test_no_address_given_is_never_ok() -> None:
    # SPF is judged for the address that sends: without one, nothing shows the mail passes.
    auth = _check({**BASE, "example.jp": {"MX": [[10, "mx.example.jp"]]}})
    assert (auth.verdict.category, auth.verdict.exit_code) == ("dns-failure", 3)
    assert auth.verdict.rule_id == "dns-no-address"
    assert "--server HOST" in auth.verdict.remedy.en and "--ip IP" in auth.verdict.remedy.ja
    assert [f.id for f in auth.verdict.findings] == ["dmarc-missing", "spf-missing"]
    statuses = {r.id: r.status for r in auth.requirements}
    assert statuses["spf"] == "unknown" and statuses["tls"] == "not-checkable"


@pytest.mark.parametrize(
    ("zone", "retryable", "why"),
    [
        ({}, False, "no A or AAAA record"),
        ({"gone.example.net": "SERVFAIL"}, True, "temporary DNS failure"),
        ({"gone.example.net": {"MX": [[10, "mx.example.jp"]]}}, False, "no A or AAAA record"),
    ],
)
def test_a_server_without_an_address_is_a_dns_failure_naming_it(
    zone: dict[str, Any], retryable: bool, why: str
) -> None:
    spf = {"example.jp": {"TXT": ["v=spf1 a:www1234.sakura.ne.jp -all"]}}
    auth = _check({**BASE, **spf, **zone}, servers=[("gone.example.net", False)])
    v = auth.verdict
    assert (v.category, v.exit_code, v.retryable) == ("dns-failure", 3, retryable)
    assert "gone.example.net" in v.cause.en and "gone.example.net" in v.cause.ja
    assert why in v.cause.en and v.evidence == "gone.example.net"
    assert auth.spf == () and auth.record_to_publish is None


def test_one_unresolved_server_is_not_hidden_by_another_that_passes() -> None:
    zone = {**BASE, "example.jp": {"TXT": ["v=spf1 a:www1234.sakura.ne.jp -all"]}}
    passing = _check(zone, servers=[("www1234.sakura.ne.jp", True)])
    assert passing.verdict.category == "ok" and {c.result for c in passing.spf} == {"pass"}
    both = _check(zone, servers=[("www1234.sakura.ne.jp", True), ("gone.example.net", False)])
    assert both.verdict.category == "dns-failure"
    assert "gone.example.net" in both.verdict.cause.en
    assert "www1234.sakura.ne.jp" not in both.verdict.evidence


def test_a_failed_lookup_of_one_address_family_is_never_hidden() -> None:
    # A red-team zone: the server's A record answered and its AAAA lookup failed (SERVFAIL);
    # only the IPv4 address was judged and the verdict said SPF passes for every sending
    # address (exit 0). RFC 7208 section 2.6.6: a transient error is temperror.
    zone = {
        **BASE,
        "example.jp": {"TXT": ["v=spf1 ip4:192.0.2.10 -all"]},
        "mail.example.jp": {"A": ["192.0.2.10"], "AAAA": "SERVFAIL"},
    }
    auth = _check(zone, servers=[("mail.example.jp", True)])
    v = auth.verdict
    assert (v.category, v.exit_code, v.retryable) == ("dns-failure", 3, True)
    assert "AAAA" in v.cause.en and "AAAA" in v.cause.ja


def test_private_addresses_only_are_not_an_ok() -> None:
    # ``check``'s embedded checks (public_only): an internal address is not the one Gmail
    # sees, so it is not evaluated; with nothing evaluated the verdict is never "ok".
    zone = {**BASE, "relay.example.net": {"A": ["10.0.0.25"]},
            "example.jp": {"TXT": ["v=spf1 -all"]}}  # fmt: skip
    auth = _check(zone, servers=[("relay.example.net", False)], public_only=True)
    assert auth.spf == () and auth.verdict.category == "dns-failure"
    assert any("10.0.0.25" in note.en for note in auth.notes)


def test_a_dkim_key_alone_may_establish_authentication() -> None:
    # Pure: no address evaluated, but a usable key (the current logic: DKIM can sign instead).
    key = DkimCheck(selector="google", status="valid", key_type="rsa", bits=2048)
    none = DmarcCheck(status="none")
    verdict = decide("example.jp", (), (key,), none, publish=None, spf_record="v=spf1 -all")
    assert verdict.category == "ok"
    assert "spf-not-evaluated" in [f.id for f in verdict.findings]
    missing = DkimCheck(selector="google", status="missing")
    verdict = decide("example.jp", (), (missing,), none, publish=None, spf_record=None)
    assert (verdict.category, verdict.rule_id) == ("dns-failure", "dns-no-address")


def test_a_dkim_temporary_failure_leaves_the_verdict_open() -> None:
    zone = {**BASE, "example.jp": {"TXT": ["v=spf1 -all"]}, "s._domainkey.example.jp": "SERVFAIL"}
    auth = _check(zone, ips=["192.0.2.10"], selectors=["s"])
    assert auth.verdict.category == "temporary-failure"
    assert auth.verdict.exit_code == 3


def test_a_dmarc_record_receivers_ignore_meets_no_requirement() -> None:
    # "v=DMARC1; p=rejected" with no rua: receivers apply no DMARC (RFC 9989 section 4.10.1),
    # yet the Gmail checklist said "[pass] a DMARC record is published" (a red-team zone).
    from smtpprobe.core.gmailreq import gmail_requirements

    zone = {**BASE, "example.jp": {"TXT": ["v=spf1 ip4:192.0.2.10 -all"]},
            "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=rejected"]}}  # fmt: skip
    auth = _check(zone, ips=["192.0.2.10"])
    assert auth.dmarc.policy is None
    assert "dmarc-missing" in [f.id for f in auth.verdict.findings]
    states = {r.id: r.status for r in gmail_requirements(auth.spf, auth.dkim, auth.dmarc, ())}
    assert states["dmarc"] == "fail"


def test_a_sender_without_forward_and_reverse_dns_is_never_ok() -> None:
    # A red-team zone: "[FAIL] PTR" in Gmail's checklist beside "Verdict: ok, Nothing to change
    # in DNS". Gmail refuses such mail (550-5.7.25) whatever SPF says.
    zone = {"example.jp": {"TXT": ["v=spf1 ip4:192.0.2.77 -all"]},
            "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=none"]}}  # fmt: skip
    v = _check(zone, ips=["192.0.2.77"]).verdict
    assert (v.category, v.exit_code, v.rule_id) == ("unauthenticated-sender", 1, "dns-ptr-missing")
    assert "192.0.2.77" in v.cause.en and "550-5.7.25" in v.cause.ja
    refused = _check({**zone, "example.jp": {"TXT": ["v=spf1 -all"]}}, ips=["192.0.2.77"]).verdict
    assert "ptr-missing" in [f.id for f in refused.findings]  # beside a refusal: a finding


def test_an_ipv4_mapped_address_is_judged_as_the_ipv4_address_it_is() -> None:
    # A red-team round: "::ffff:192.0.2.10" got an ip6: record to publish that can never
    # pass (SPF evaluates it as IPv4, RFC 7208 section 5) and a false "no reverse DNS"
    # (its PTR was looked for under ip6.arpa).
    zone = {**BASE, "example.jp": {"TXT": ["v=spf1 ip4:192.0.2.10 -all"]},
            "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=none"]}}  # fmt: skip
    auth = _check(zone, ips=["::ffff:192.0.2.10"])
    assert [c.sender.ip for c in auth.spf] == ["192.0.2.10"]
    assert [c.result for c in auth.spf] == ["pass"]
    assert "ptr-missing" not in [f.id for f in auth.verdict.findings]
    assert auth.verdict.rule_id != "dns-ptr-missing"


def test_a_dkim_key_in_testing_mode_authenticates_nothing() -> None:
    # RFC 6376 section 3.6.1, t=y: "Verifiers MUST NOT treat messages from Signers in testing
    # mode differently from unsigned email". With SPF failing and DMARC p=reject, such a key
    # made the verdict "ok" (a red-team zone); the same key without t=y does.
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = base64.b64encode(der).decode()
    zone = {**BASE, "example.jp": {"TXT": ["v=spf1 -all"]},
            "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=reject"]}}  # fmt: skip
    signed = _check({**zone, "s._domainkey.example.jp": {"TXT": [f"v=DKIM1; p={key}"]}},
                    ips=["192.0.2.10"], selectors=["s"])  # fmt: skip
    testing = _check({**zone, "s._domainkey.example.jp": {"TXT": [f"v=DKIM1; t=y; p={key}"]}},
                     ips=["192.0.2.10"], selectors=["s"])  # fmt: skip
    assert signed.verdict.category == "ok"
    assert testing.verdict.category != "ok" and testing.verdict.exit_code != 0
    assert testing.dkim[0].status == "valid" and not testing.dkim[0].usable


def test_a_failed_spf_lookup_is_not_a_missing_record() -> None:
    # SERVFAIL for the domain's TXT was shown as "SPF record: none" with the finding
    # spf-missing and a record to publish: published while DNS was failing, there would be
    # two records once it answers again, a permerror (RFC 7208 section 4.5).
    zone = {**BASE, "example.jp": "SERVFAIL", "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=none"]}}
    auth = _check(zone, ips=["192.0.2.10"])
    assert auth.spf_lookup == "temperror" and auth.record_to_publish is None
    assert "spf-missing" not in [f.id for f in auth.verdict.findings]
    assert auth.verdict.exit_code == 3
    from smtpprobe.render.dnsauth import dns_lines

    shown = "\n".join(line.text for line in dns_lines(auth, "en"))
    assert "SPF record: temporary DNS failure" in shown, shown


def test_a_failed_dmarc_query_at_the_from_domain_is_not_replaced_by_its_parents_policy() -> None:
    # _dmarc.sub.example.jp timed out and _dmarc.example.jp said p=none: the verdict used
    # p=none as if it were the From domain's (RFC 7489 section 6.6.3 falls back only where
    # there is no record, "as opposed to a transient DNS error").
    zone = {**BASE, "sub.example.jp": {"TXT": ["v=spf1 -all"]},
            "_dmarc.sub.example.jp": "SERVFAIL",
            "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=none"]}}  # fmt: skip
    auth = asyncio.run(check_domain("sub.example.jp", ZoneResolver(zone), ips=["192.0.2.10"]))
    assert auth.dmarc.status == "temperror"
    assert auth.verdict.exit_code == 3


def test_two_dmarc_records_are_named_as_such_not_as_none_published() -> None:
    # RFC 9989 §4.10: several DMARC records at one name are all discarded. The answer was
    # "no record ... publish 'v=DMARC1; p=none'" — advice that makes three records. Asked of
    # a real DNS server on loopback, through the command.
    import json

    from typer.testing import CliRunner

    from smtpprobe.cli import app
    from smtpprobe.testing.dnsserver import DnsServer

    zone = {**BASE, "example.jp": {"TXT": ["v=spf1 ip4:192.0.2.10 -all"]},
            "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=reject", "v=DMARC1; p=none"]}}  # fmt: skip
    runner = CliRunner()
    with DnsServer(zone) as server:
        base = ["dns", "example.jp", "--ip", "192.0.2.10", "--nameserver", server.nameserver]
        document = json.loads(runner.invoke(app, [*base, "--json"]).stdout)
        english = runner.invoke(app, base).stdout
        japanese = runner.invoke(app, [*base, "--lang", "ja"]).stdout
    dmarc = document["dmarc"]
    assert (dmarc["status"], dmarc["discarded"]) == ("none", ["_dmarc.example.jp"])
    findings = [f["id"] for f in document["verdict"]["findings"]]
    assert "dmarc-multiple" in findings and "dmarc-missing" not in findings
    assert "several DMARC records at _dmarc.example.jp" in english
    assert "delete all but one" in english and "publishes no DMARC record" not in english
    assert "複数のレコード" in japanese and "一つだけを残して" in japanese


def test_a_refused_query_is_not_called_a_server_that_does_not_answer() -> None:
    # RFC 1035 §4.1.1: REFUSED is an answer given "for policy reasons", not silence.
    from typer.testing import CliRunner

    from smtpprobe.cli import app
    from smtpprobe.testing.dnsserver import DnsServer

    with DnsServer({**BASE, "refused.jp": "REFUSED"}) as server:
        base = ["dns", "refused.jp", "--ip", "192.0.2.10", "--nameserver", server.nameserver]
        english = CliRunner().invoke(app, base)
        japanese = CliRunner().invoke(app, [*base, "--lang", "ja"])
    assert english.exit_code == 3
    assert "refused the query (REFUSED)" in english.stdout
    assert "not answering" not in english.stdout
    assert "拒否しました（REFUSED）" in japanese.stdout
