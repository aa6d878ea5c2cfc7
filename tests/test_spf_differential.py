"""Differential test: our check_host() against pyspf on real-world-shaped SPF records.

Both evaluators ask the same loopback DnsServer: ours through ``DnsResolver`` with
``--nameserver 127.0.0.1:PORT``; pyspf (an oracle in tests only) through dnspython's default
resolver, which pyspf's ``DNSLookup_dnspython`` calls as ``dns.resolver.query(...)`` and which the
fixture replaces with a resolver configured for the loopback server only (``configure=False``:
/etc/resolv.conf is never read). No query leaves loopback.

The records keep the structure of real published ones, moved under test domain names:

- Google: gmail.com's ``v=spf1 redirect=_spf.google.com``, _spf.google.com's three includes
  of _netblocks/_netblocks2/_netblocks3 and their ip4/ip6 lists, as quoted from ``dig`` output
  in https://localhosts.ru/question/258865-gmail-spf-nepravilno-nastroen (a translation of a
  Server Fault question), and Google's own instructions to look them up in
  https://support.google.com/a/answer/60764. Customers publish ``v=spf1 include:_spf.google.com
  ~all`` (the same page).
- Microsoft: spf.protection.outlook.com's shape — ip4 and ip6 lists, ``include:spfd...``,
  ``-all`` — and outlook.com's six includes, as quoted in
  https://vamsoft.com/forum/topic/1023/spf-record (the forum post elides the IPv4 networks;
  40.92.0.0/15 is the range named in
  https://yomotherboard.com/answer/answer-to-issues-with-outlook-com-spf-configuration-and-email-forwarding/;
  the other networks here are documentation ranges).
- Sakura: ``v=spf1 a:www***.sakura.ne.jp mx ~all``, Sakura Internet's advice quoted in the
  user's seed /work/shared/seeds/003_5b431e0b9f9733cf.txt, with a made-up server number.
- Xserver-style "add the server's IP" from seed 004: ``include`` plus ``ip4``.

These are shapes for the comparison, not statements about the providers' current DNS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import dns.nameserver
import dns.resolver
import pytest
import spf  # type: ignore[import-untyped]  # pyspf, the oracle: no type hints

from smtpprobe.core.spf import check_host
from smtpprobe.resolver import DnsResolver
from smtpprobe.testing.dnsserver import DnsServer

# pyspf calls dnspython's deprecated dns.resolver.query(); that is the oracle's business.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NETBLOCKS = (
    "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 "
    "ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ip4:173.194.0.0/16 "
    "ip4:209.85.128.0/17 ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all"
)
NETBLOCKS2 = (
    "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 "
    "ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 ip6:2c0f:fb50:4000::/36 ~all"
)

ZONE: dict[str, Any] = {
    # --- Google's chain, under google.test
    "gmail.test": {"TXT": ["v=spf1 redirect=_spf.google.test"]},
    "_spf.google.test": {
        "TXT": [
            "v=spf1 include:_netblocks.google.test include:_netblocks2.google.test "
            "include:_netblocks3.google.test ~all"
        ]
    },
    "_netblocks.google.test": {"TXT": [NETBLOCKS]},
    "_netblocks2.google.test": {"TXT": [NETBLOCKS2]},
    "_netblocks3.google.test": {"TXT": ["v=spf1 ~all"]},
    "workspace.example.jp": {"TXT": ["v=spf1 include:_spf.google.test ~all"], "A": ["192.0.2.80"]},
    "strict.example.jp": {"TXT": ["v=spf1 include:_spf.google.test -all"]},
    # --- Microsoft's shape, under outlook.test
    "spf.protection.outlook.test": {
        "TXT": [
            "v=spf1 ip4:40.92.0.0/15 ip4:198.51.100.0/24 ip6:2a01:111:f400::/48 "
            "ip6:2a01:111:f403::/49 include:spfd.protection.outlook.test -all"
        ]
    },
    "spfd.protection.outlook.test": {
        "TXT": ["v=spf1 ip4:203.0.113.0/25 ip6:2001:db8:4180::/64 -all"]
    },
    "outlook.test": {
        "TXT": [
            "v=spf1 include:spf-a.outlook.test include:spf-b.outlook.test ip4:192.0.2.157/32 "
            "include:spf.protection.outlook.test include:spf-a.hotmail.test "
            "include:_spf-ssg-b.microsoft.test include:_spf-ssg-c.microsoft.test ~all"
        ]
    },
    "spf-a.outlook.test": {"TXT": ["v=spf1 ip4:198.51.100.128/26 -all"]},
    "spf-b.outlook.test": {"TXT": ["v=spf1 ip4:198.51.100.192/27 -all"]},
    "spf-a.hotmail.test": {"TXT": ["v=spf1 ip4:203.0.113.128/26 -all"]},
    "_spf-ssg-b.microsoft.test": {"TXT": ["v=spf1 ip4:203.0.113.192/27 -all"]},
    "_spf-ssg-c.microsoft.test": {"TXT": ["v=spf1 ip4:203.0.113.224/28 -all"]},
    "m365.example.jp": {"TXT": ["v=spf1 include:spf.protection.outlook.test -all"]},
    # --- Sakura's advice (seed 003): a:wwwNNN.sakura... mx ~all
    "sakura-user.example.jp": {
        "TXT": ["v=spf1 a:www4321.sakura.test mx ~all"],
        "MX": [(10, "sakura-user.example.jp")],
        "A": ["192.0.2.10"],
    },
    "www4321.sakura.test": {"A": ["192.0.2.43"], "AAAA": ["2001:db8:43::1"]},
    "sakura-nospf.example.jp": {"MX": [(10, "mail.sakura-nospf.example.jp")]},
    "mail.sakura-nospf.example.jp": {"A": ["192.0.2.44"]},
    "sakura-hard.example.jp": {"TXT": ["v=spf1 mx -all"], "MX": [(10, "mx.example.net")]},
    "mx.example.net": {"CNAME": ["mx-real.example.net"]},
    "mx-real.example.net": {"A": ["192.0.2.45", "192.0.2.46"]},
    # --- seed 004: include plus the server's own IP
    "xserver-user.example.jp": {
        "TXT": ["v=spf1 +a:sv1234.xserver.test +mx include:spf.sender.test ip4:192.0.2.99 ~all"],
        "MX": [(0, "xserver-user.example.jp")],
        "A": ["192.0.2.98"],
    },
    "sv1234.xserver.test": {"A": ["192.0.2.97"]},
    "spf.sender.test": {"TXT": [["v=spf1 ip4:198.51.100.0/28 ", "ip6:2001:db8:99::/48 -all"]]},
    # --- the corners where checkers disagree
    "cidr.example.jp": {
        "TXT": ["v=spf1 a/24 mx/28//64 -all"],
        "A": ["192.0.2.200"],
        "MX": [(5, "mx6.example.jp")],
    },
    "mx6.example.jp": {"A": ["198.51.100.50"], "AAAA": ["2001:db8:6::1"]},
    "macro.example.jp": {
        "TXT": ["v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all exp=explain.%{d}"],
    },
    "1.2.0.192.user._spf.macro.example.jp": {"A": ["127.0.0.2"]},
    "explain.macro.example.jp": {"TXT": ["%{i} is not one of %{d}'s servers"]},
    "ptr.example.jp": {"TXT": ["v=spf1 ptr -all"]},
    "1.2.0.192.in-addr.arpa": {"PTR": ["host.ptr.example.jp", "elsewhere.example.net"]},
    "host.ptr.example.jp": {"A": ["192.0.2.1"]},
    "elsewhere.example.net": {"A": ["192.0.2.1"]},
    "toomany.example.jp": {
        "TXT": [
            "v=spf1 " + " ".join(f"a:h{n}.example.jp" for n in range(11)) + " ip4:192.0.2.0/24 -all"
        ]
    },
    **{f"h{n}.example.jp": {"A": [f"198.51.100.{n + 1}"]} for n in range(11)},
    "voids.example.jp": {
        "TXT": ["v=spf1 a:gone1.example.jp a:gone2.example.jp a:gone3.example.jp ?all"]
    },
    "twovoids.example.jp": {"TXT": ["v=spf1 a:gone1.example.jp a:gone2.example.jp ?all"]},
    "two-records.example.jp": {"TXT": ["v=spf1 -all", "v=spf1 +all"]},
    "include-none.example.jp": {"TXT": ["v=spf1 include:nothing-here.example.jp -all"]},
    "include-fail.example.jp": {"TXT": ["v=spf1 include:broken-dns.example.jp -all"]},
    "broken-dns.example.jp": "SERVFAIL",
    "redirect-loop.example.jp": {"TXT": ["v=spf1 redirect=redirect-loop.example.jp"]},
    "syntax.example.jp": {"TXT": ["v=spf1 ip4:192.0.2.300 -all"]},
    "unknown-mod.example.jp": {"TXT": ["v=spf1 foo=bar ip4:192.0.2.0/25 ?all"]},
    "plusall.example.jp": {"TXT": ["V=SPF1 +ALL"]},
    "neutral.example.jp": {"TXT": ["v=spf1"]},
    "cname-spf.example.jp": {"CNAME": ["workspace.example.jp"]},
}

DOMAINS = [
    "gmail.test",
    "workspace.example.jp",
    "strict.example.jp",
    "m365.example.jp",
    "outlook.test",
    "sakura-user.example.jp",
    "sakura-nospf.example.jp",
    "sakura-hard.example.jp",
    "xserver-user.example.jp",
    "cidr.example.jp",
    "macro.example.jp",
    "ptr.example.jp",
    "toomany.example.jp",
    "voids.example.jp",
    "twovoids.example.jp",
    "two-records.example.jp",
    "include-none.example.jp",
    "include-fail.example.jp",
    "redirect-loop.example.jp",
    "syntax.example.jp",
    "unknown-mod.example.jp",
    "plusall.example.jp",
    "neutral.example.jp",
    "cname-spf.example.jp",
    "no-such-domain.example.jp",
]

IPS = [
    "209.85.220.41",  # in _netblocks (209.85.128.0/17)
    "172.217.0.1",  # not in these netblocks
    "2607:f8b0:4864:20::32e",  # in _netblocks2
    "40.93.2.68",  # in 40.92.0.0/15
    "203.0.113.5",  # spfd
    "203.0.113.200",  # _spf-ssg-b
    "2001:db8:4180::25",  # spfd ip6
    "192.0.2.1",
    "192.0.2.10",
    "192.0.2.43",
    "2001:db8:43::1",
    "192.0.2.45",
    "192.0.2.46",
    "192.0.2.97",
    "192.0.2.99",
    "192.0.2.250",  # inside cidr.example.jp's a/24
    "198.51.100.55",  # inside mx/28
    "2001:db8:6::ffff",  # inside //64
    "198.51.100.5",
    "2001:db8:99::1",
    "198.51.100.200",
]


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as running:
        yield running


@pytest.fixture(scope="module")
def pyspf_on_loopback(server: DnsServer) -> Iterator[None]:
    """dnspython's default resolver, which pyspf uses, asks only the loopback server."""
    loopback = dns.resolver.Resolver(configure=False)
    loopback.nameservers = [dns.nameserver.Do53Nameserver(server.host, server.port)]
    loopback.lifetime = 5.0
    saved = dns.resolver.default_resolver
    dns.resolver.default_resolver = loopback
    try:
        yield
    finally:
        dns.resolver.default_resolver = saved


def pyspf_check(ip: str, domain: str) -> tuple[str, str]:
    result, _code, explanation = spf.query(
        i=ip, s=f"user@{domain}", h="mail.example.jp", receiver="receiver.example.jp"
    ).check()
    return result, explanation


async def ours(resolver: DnsResolver, ip: str, domain: str) -> tuple[str, str]:
    outcome = await check_host(
        ip,
        domain,
        f"user@{domain}",
        helo="mail.example.jp",
        resolver=resolver,
        receiver="receiver.example.jp",
    )
    return str(outcome.result), outcome.explanation


def test_the_oracle_asks_the_loopback_server(server: DnsServer, pyspf_on_loopback: None) -> None:
    before = len(server.queries)
    assert pyspf_check("209.85.220.41", "gmail.test")[0] == "pass"
    asked = {q.name for q in server.queries[before:]}
    assert {"gmail.test", "_spf.google.test", "_netblocks.google.test"} <= asked


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_result_as_pyspf_for_every_ip(
    server: DnsServer, pyspf_on_loopback: None, domain: str
) -> None:
    resolver = DnsResolver([server.nameserver], timeout=5)

    async def all_ours() -> list[tuple[str, str]]:
        return [await ours(resolver, ip, domain) for ip in IPS]

    mine = asyncio.run(all_ours())
    differences = []
    for ip, (our_result, our_exp) in zip(IPS, mine, strict=True):
        oracle_result, oracle_exp = pyspf_check(ip, domain)
        if our_result != oracle_result:
            differences.append(f"{ip}: ours {our_result}, pyspf {oracle_result}")
        elif our_result == "fail" and our_exp and our_exp != oracle_exp:
            differences.append(f"{ip}: explanation {our_exp!r} vs pyspf {oracle_exp!r}")
    assert not differences, f"{domain}: " + "; ".join(differences)


def test_same_results_when_every_udp_answer_is_truncated(pyspf_on_loopback: None) -> None:
    # Both evaluators must fall back to TCP (RFC 7766 §6.2.1) and still agree.
    with DnsServer(ZONE, truncate_udp=True) as truncating:
        saved = dns.resolver.default_resolver
        loopback = dns.resolver.Resolver(configure=False)
        loopback.nameservers = [dns.nameserver.Do53Nameserver(truncating.host, truncating.port)]
        dns.resolver.default_resolver = loopback
        try:
            resolver = DnsResolver([truncating.nameserver], timeout=5)
            for domain in ("gmail.test", "outlook.test", "sakura-user.example.jp"):
                for ip in ("209.85.220.41", "40.93.2.68", "192.0.2.43", "192.0.2.250"):
                    assert asyncio.run(ours(resolver, ip, domain))[0] == pyspf_check(ip, domain)[0]
        finally:
            dns.resolver.default_resolver = saved
        assert {q.transport for q in truncating.queries} == {"udp", "tcp"}
